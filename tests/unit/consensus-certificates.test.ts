import { describe, expect, it } from 'vitest';
import { verifySignature } from '../../chain/ed25519.js';
import { checkCommitCertificate, checkEvidence, checkPreparedCertificate, verifyCommitCertificate } from '../../consensus/certificates.js';
import { ConsensusCode, ConsensusError } from '../../consensus/errors.js';
import { faultTolerance, leaderIndex, makeValidatorSet, quorumSize, weakQuorumSize } from '../../consensus/leader.js';
import { MsgType, type CommitCertificate, type Evidence, type PreparedCertificate } from '../../consensus/types.js';
import { block, CHAIN_ID, commit, hashBlock, hashOf, OTHER_CHAIN_ID, prepare, preparedCert, signerAt, signers } from './consensus-fixtures.js';

const V = signers(4);
const set = makeValidatorSet(V.map((s) => s.publicKey));
const ctx = { chainId: CHAIN_ID, verify: verifySignature, hashBlock };
const H = 3;

describe('quorum and leader rule', () => {
  it('f and quorum for the usual sizes (2f + 1 whenever n = 3f + 1)', () => {
    const table = [1, 2, 3, 4, 5, 6, 7, 10, 100].map((n) => [n, faultTolerance(n), quorumSize(n)]);
    expect(table).toEqual([[1, 0, 1], [2, 0, 2], [3, 0, 3], [4, 1, 3], [5, 1, 4], [6, 1, 5], [7, 2, 5], [10, 3, 7], [100, 33, 67]]);
    for (const f of [1, 2, 3, 10, 333]) expect(quorumSize(3 * f + 1)).toBe(2 * f + 1);
    expect(weakQuorumSize(4)).toBe(2);
    expect(weakQuorumSize(7)).toBe(3);
  });

  it('any two quorums share more than f validators, and n − f honest validators reach a quorum', () => {
    for (let n = 1; n <= 1000; n++) {
      const q = quorumSize(n);
      const f = faultTolerance(n);
      expect(2 * q - n).toBeGreaterThan(f);
      expect(q).toBeLessThanOrEqual(n - f);
    }
  });

  it('leader = validators[(height + view) mod n], exact even near 2^53', () => {
    expect(leaderIndex(1, 0, 4)).toBe(1);
    expect(leaderIndex(1, 3, 4)).toBe(0);
    expect(leaderIndex(10, 7, 7)).toBe(3);
    const h = Number.MAX_SAFE_INTEGER;
    const v = 0xffff_ffff;
    expect(leaderIndex(h, v, 7)).toBe(Number((BigInt(h) + BigInt(v)) % 7n));
    expect(() => leaderIndex(1, 0, 0)).toThrow(RangeError);
  });

  it('makeValidatorSet refuses empty, duplicated or malformed sets', () => {
    expect(() => makeValidatorSet([])).toThrow(RangeError);
    expect(() => makeValidatorSet([V[0]!.publicKey, V[0]!.publicKey])).toThrow(RangeError);
    expect(() => makeValidatorSet([new Uint8Array(31)])).toThrow(RangeError);
    expect(makeValidatorSet(V.map((s) => s.publicKey))).toMatchObject({ quorum: 3, f: 1 });
  });
});

describe('prepared certificates', () => {
  const good = preparedCert([V[0]!, V[1]!, V[2]!], H, 1, 'a');
  const cases: [string, PreparedCertificate][] = [
    ['2f votes', preparedCert([V[0]!, V[1]!], H, 1, 'a')],
    ['a duplicated signer', { ...good, prepares: [good.prepares[0]!, good.prepares[0]!, good.prepares[1]!] }],
    ['a non-validator', preparedCert([V[0]!, V[1]!, signerAt(9, 'x')], H, 1, 'a')],
    ['a vote for another view', { ...good, prepares: [...good.prepares.slice(0, 2), prepare(V[3]!, H, 2, 'a')] }],
    ['a vote for another hash', { ...good, prepares: [...good.prepares.slice(0, 2), prepare(V[3]!, H, 1, 'b')] }],
    ['a COMMIT among the PREPAREs', { ...good, prepares: [...good.prepares.slice(0, 2), commit(V[3]!, H, 1, 'a')] }],
    ['a vote signed for another chain', { ...good, prepares: [...good.prepares.slice(0, 2), prepare(V[3]!, H, 1, 'a', OTHER_CHAIN_ID)] }],
    ['a forged signature', { ...good, prepares: [...good.prepares.slice(0, 2), { ...good.prepares[2]!, signature: good.prepares[0]!.signature }] }],
    ['block bytes that do not hash to blockHash', { ...good, block: block('b') }],
    ['more votes than validators', { ...good, prepares: [...good.prepares, ...good.prepares] }],
  ];

  it('accepts a quorum of matching, distinct, valid PREPAREs', () => {
    expect(checkPreparedCertificate(ctx, set, good, H)).toBeNull();
    expect(checkPreparedCertificate(ctx, set, preparedCert(V, H, 1, 'a'), H)).toBeNull();
  });

  it.each(cases)('rejects %s', (_name, cert) => {
    expect(checkPreparedCertificate(ctx, set, cert, H)?.code).toBe(ConsensusCode.BadCertificate);
  });

  it('rejects a certificate for another height', () => {
    expect(checkPreparedCertificate(ctx, set, good, H + 1)?.code).toBe(ConsensusCode.BadCertificate);
  });
});

describe('commit certificates', () => {
  const good: CommitCertificate = { height: H, view: 0, blockHash: hashOf('a'), commits: [1, 2, 3].map((i) => commit(V[i]!, H, 0, 'a')) };

  it('accepts a quorum; rejects short, mixed, foreign and mis-heighted ones', () => {
    expect(checkCommitCertificate(ctx, set, good, H)).toBeNull();
    const bad: CommitCertificate[] = [
      { ...good, commits: good.commits.slice(0, 2) },
      { ...good, commits: [...good.commits.slice(0, 2), prepare(V[0]!, H, 0, 'a')] },
      { ...good, commits: [...good.commits.slice(0, 2), commit(signerAt(5, 'y'), H, 0, 'a')] },
      { ...good, view: 1 },
    ];
    for (const c of bad) expect(checkCommitCertificate(ctx, set, c, H)?.code).toBe(ConsensusCode.BadCertificate);
    expect(checkCommitCertificate(ctx, set, good, H + 1)?.code).toBe(ConsensusCode.BadCertificate);
    expect(checkCommitCertificate(ctx, makeValidatorSet(signers(7).map((s) => s.publicKey)), good, H)?.code).toBe(ConsensusCode.BadCertificate);
  });

  it('verifyCommitCertificate throws a ConsensusError with the code', () => {
    expect(() => verifyCommitCertificate(ctx, set, good, H)).not.toThrow();
    try {
      verifyCommitCertificate(ctx, set, { ...good, commits: [] }, H);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConsensusError);
      expect((e as ConsensusError).code).toBe(ConsensusCode.BadCertificate);
    }
  });
});

describe('evidence', () => {
  const ev: Evidence = {
    kind: 'equivocation', offender: V[1]!.publicKey, height: H, view: 2, msgType: MsgType.Prepare,
    first: prepare(V[1]!, H, 2, 'a'), second: prepare(V[1]!, H, 2, 'b'),
  };
  it('accepts two validly signed conflicting statements and nothing less', () => {
    expect(checkEvidence(ctx, set, ev)).toBeNull();
    expect(checkEvidence(ctx, set, { ...ev, second: prepare(V[1]!, H, 2, 'a') })?.code).toBe(ConsensusCode.BadMessage);
    expect(checkEvidence(ctx, set, { ...ev, second: prepare(V[2]!, H, 2, 'b') })?.code).toBe(ConsensusCode.BadMessage);
    expect(checkEvidence(ctx, set, { ...ev, second: { ...ev.second, signature: ev.first.signature } })?.code).toBe(ConsensusCode.BadSignature);
    const outsider = signerAt(3, 'z');
    expect(checkEvidence(ctx, set, { ...ev, offender: outsider.publicKey, first: prepare(outsider, H, 2, 'a'), second: prepare(outsider, H, 2, 'b') })?.code).toBe(ConsensusCode.UnknownSigner);
  });
});

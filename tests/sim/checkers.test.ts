/**
 * The checkers must be able to fail: each is shown a synthetic history that breaks its property
 * (with real signatures where it checks signatures), and a sound history that does not.
 */
import { describe, expect, it } from 'vitest';
import { createSigner } from '../../chain/ed25519.js';
import { signVote, voteSignedBytes } from '../../consensus/messages.js';
import { MsgType, type CommitCertificate, type Vote } from '../../consensus/types.js';
import { SafetyChecker } from './checkers.js';
import { Rng } from './prng.js';
import { certificateCheck, commitSignedBytes, makeVerifier, statementCheck } from './signatures.js';
import { toHex } from '../../chain/hash.js';

const rng = new Rng(2024);
const chainId = rng.bytes(32);
const signers = Array.from({ length: 4 }, () => createSigner(rng.bytes(32)));
const validators = signers.map((s) => s.publicKey);
const outsider = createSigner(rng.bytes(32));
const A = rng.bytes(32);
const B = rng.bytes(32);

function cert(height: number, hash: Uint8Array, by = signers.slice(0, 3), view = 0): CommitCertificate {
  return { height, view, blockHash: hash, commits: by.map((s) => signVote(s, chainId, MsgType.Commit, height, view, hash)) };
}

function fresh(correct = validators) {
  const verify = makeVerifier('real');
  return new SafetyChecker(new Set(correct.map(toHex)), certificateCheck(chainId, validators, verify), () => 0, statementCheck(chainId, verify));
}

describe('SafetyChecker', () => {
  it('accepts a sound history', () => {
    const c = fresh();
    c.onValidated(A, true);
    c.onCommit(0, 1, A, cert(1, A));
    c.onCommit(1, 1, A, cert(1, A, signers.slice(1)));
    expect(c.violations).toEqual([]);
  });

  it('reports agreement when two instances finalize different blocks at one height', () => {
    const c = fresh();
    c.onValidated(A, true);
    c.onValidated(B, true);
    c.onCommit(0, 1, A, cert(1, A));
    c.onCommit(1, 1, B, cert(1, B));
    expect(c.violations.map((v) => v.kind)).toEqual(['agreement']);
  });

  it('reports validity for a block no honest instance validated (or validated as invalid)', () => {
    const c = fresh();
    c.onValidated(A, false);
    c.onCommit(0, 1, A, cert(1, A));
    expect(c.violations.map((v) => v.kind)).toEqual(['validity']);
  });

  it('reports commit order gaps and repeats', () => {
    const c = fresh();
    c.onValidated(A, true);
    c.onCommit(0, 2, A, cert(2, A));
    c.onCommit(0, 2, A, cert(2, A));
    expect(c.violations.map((v) => v.kind)).toEqual(['commit-order', 'commit-order']);
  });

  it.each([
    ['too few signers', () => cert(1, A, signers.slice(0, 2)), /quorum/],
    ['a repeated signer', () => ({ ...cert(1, A), commits: [...cert(1, A, signers.slice(0, 2)).commits, cert(1, A, signers.slice(0, 1)).commits[0]!] }), /twice/],
    ['a non-validator', () => cert(1, A, [signers[0]!, signers[1]!, outsider]), /non-validator/],
    ['a garbage signature', () => ({ ...cert(1, A), commits: cert(1, A).commits.map((v, i): Vote => (i === 2 ? { ...v, signature: rng.bytes(64) } : v)) }), /bad signature/],
    ['votes for another hash', () => ({ ...cert(1, B), blockHash: A }), /another slot|certificate/],
    ['a vote from another view', () => ({ ...cert(1, A), view: 1 }), /another slot/],
  ])('reports a certificate with %s', (_name, make, why) => {
    const c = fresh();
    c.onValidated(A, true);
    c.onCommit(0, 1, A, make());
    expect(c.violations.length).toBeGreaterThan(0);
    expect(c.violations.every((v) => v.kind === 'certificate')).toBe(true);
    expect(c.violations.map((v) => v.detail).join(' ')).toMatch(why);
  });

  it('signs the documented bytes: its own COMMIT layout equals consensus/messages.ts', () => {
    expect(toHex(commitSignedBytes(chainId, 77, 3, A))).toBe(toHex(voteSignedBytes(chainId, MsgType.Commit, 77, 3, A)));
  });

  it('reports a correct key signing two different votes for one slot, but not a Byzantine key', () => {
    const c = fresh(validators.slice(1));
    c.onSigned(signVote(signers[0]!, chainId, MsgType.Prepare, 1, 0, A));
    c.onSigned(signVote(signers[0]!, chainId, MsgType.Prepare, 1, 0, B));
    expect(c.violations).toEqual([]);
    c.onSigned(signVote(signers[1]!, chainId, MsgType.Commit, 1, 0, A));
    c.onSigned(signVote(signers[1]!, chainId, MsgType.Commit, 1, 0, A)); // the same again is fine
    c.onSigned(signVote(signers[1]!, chainId, MsgType.Commit, 1, 1, B)); // another view is fine
    expect(c.violations).toEqual([]);
    c.onSigned(signVote(signers[1]!, chainId, MsgType.Commit, 1, 0, B));
    expect(c.violations.map((v) => v.kind)).toEqual(['honest-equivocation']);
  });

  it('reports evidence against a correct key, and evidence that does not conflict', () => {
    const c = fresh(validators.slice(1));
    const v = (s: number, hash: Uint8Array, view = 0) => signVote(signers[s]!, chainId, MsgType.Prepare, 1, view, hash);
    const ev = (s: number, a: Vote, b: Vote) => ({ kind: 'equivocation' as const, offender: validators[s]!, height: 1, view: 0, msgType: MsgType.Prepare, first: a, second: b });
    c.onEvidence(0, ev(0, v(0, A), v(0, B)));
    expect(c.violations).toEqual([]);
    c.onEvidence(0, ev(1, v(1, A), v(1, B)));
    c.onEvidence(0, ev(0, v(0, A), v(0, A)));
    c.onEvidence(0, ev(0, v(0, A), v(0, B, 1)));
    c.onEvidence(0, ev(0, v(0, A), { ...v(0, B), signature: rng.bytes(64) }));
    expect(c.violations.map((x) => x.kind)).toEqual(['false-evidence', 'false-evidence', 'false-evidence', 'false-evidence']);
  });
});

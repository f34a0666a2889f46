import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeCode, DecodeError } from '../../chain/errors.js';
import { verifySignature } from '../../chain/ed25519.js';
import { sha256 } from '../../chain/hash.js';
import { MAX_BLOCK_SIZE } from '../../chain/constants.js';
import {
  decodeCommitCertificate,
  decodeEvidence,
  decodeMessage,
  decodePreparedCertificate,
  encodeCommitCertificate,
  encodeEvidence,
  encodeMessage,
  encodePreparedCertificate,
  newViewSignedBytes,
  PBFT_SIGN_DOMAIN,
  signedBytesOf,
  verifyMessageSignature,
  viewChangeSignedBytes,
  voteSignedBytes,
} from '../../consensus/messages.js';
import { MsgType, type CommitCertificate, type ConsensusMessage, type Decision, type Evidence, type Vote } from '../../consensus/types.js';
import { CHAIN_ID, commit, hashOf, newView, OTHER_CHAIN_ID, prePrepare, prepare, preparedCert, signers, viewChange } from './consensus-fixtures.js';

const V = signers(4);
const H = 7;
const ctx = { chainId: CHAIN_ID, verify: verifySignature };

const cert = preparedCert([V[0]!, V[1]!, V[2]!], H, 0, 'a');
const commitCert: CommitCertificate = { height: H, view: 0, blockHash: hashOf('a'), commits: [0, 1, 2].map((i) => commit(V[i]!, H, 0, 'a')) };
const samples: ConsensusMessage[] = [
  prePrepare(V[1]!, H, 0, 'a'),
  prepare(V[2]!, H, 0, 'a'),
  commit(V[3]!, H, 3, 'a'),
  viewChange(V[0]!, H, 1),
  viewChange(V[0]!, H, 1, cert),
  newView(V[0]!, H, 1, [viewChange(V[1]!, H, 1, cert), viewChange(V[2]!, H, 1), viewChange(V[3]!, H, 1)], 'a'),
  { type: MsgType.Decision, height: H, block: cert.block, certificate: commitCert } satisfies Decision,
];
const evidence: Evidence = {
  kind: 'equivocation', offender: V[2]!.publicKey, height: H, view: 0, msgType: MsgType.Prepare,
  first: prepare(V[2]!, H, 0, 'a'), second: prepare(V[2]!, H, 0, 'b'),
};

/** Deep copy with every byte array as hex, so Buffer and Uint8Array compare by content. */
function norm(x: unknown): unknown {
  if (x instanceof Uint8Array) return Buffer.from(x).toString('hex');
  if (Array.isArray(x)) return x.map(norm);
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, norm(v)]));
  return x;
}

function isDecodeError(e: unknown): boolean {
  return e instanceof DecodeError && Object.values(DecodeCode).includes(e.code);
}
function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return e.code;
    throw e;
  }
  return undefined;
}

describe('signed bytes', () => {
  it('votes sign domain || chainId || u8 type || u64 height || u32 view || hash, little-endian', () => {
    const b = voteSignedBytes(CHAIN_ID, MsgType.Commit, 0x0102030405, 0x0a0b, hashOf('a'));
    expect(b.length).toBe(16 + 32 + 1 + 8 + 4 + 32);
    expect(Buffer.from(b.subarray(0, 16)).toString('ascii')).toBe('TIMECOIN-PBFT-V1');
    expect(norm(b.subarray(0, 16))).toEqual(norm(PBFT_SIGN_DOMAIN));
    expect(norm(b.subarray(16, 48))).toEqual(norm(CHAIN_ID));
    expect(b[48]).toBe(MsgType.Commit);
    expect([...b.subarray(49, 57)]).toEqual([5, 4, 3, 2, 1, 0, 0, 0]);
    expect([...b.subarray(57, 61)]).toEqual([0x0b, 0x0a, 0, 0]);
    expect(norm(b.subarray(61))).toEqual(norm(hashOf('a')));
  });

  it('a VIEW-CHANGE binds its certificate\'s view and hash; a NEW-VIEW binds its view changes', () => {
    const none = viewChangeSignedBytes(CHAIN_ID, H, 2, null);
    const some = viewChangeSignedBytes(CHAIN_ID, H, 2, cert);
    expect(none.length).toBe(93 + 37);
    expect(norm(none.subarray(61, 93))).toEqual('00'.repeat(32));
    expect(some[93]).toBe(1);
    expect(norm(some.subarray(98))).toEqual(norm(cert.blockHash));
    expect(norm(none)).not.toEqual(norm(some));
    const vcs = [viewChange(V[1]!, H, 1), viewChange(V[2]!, H, 1)];
    const a = newViewSignedBytes(CHAIN_ID, H, 1, hashOf('a'), vcs);
    const b = newViewSignedBytes(CHAIN_ID, H, 1, hashOf('a'), [vcs[1]!, vcs[0]!]);
    expect(a.length).toBe(93 + 32);
    expect(norm(a)).not.toEqual(norm(b));
    expect(norm(a.subarray(93))).toEqual(norm(sha256(V[1]!.publicKey, vcs[0]!.signature, V[2]!.publicKey, vcs[1]!.signature)));
  });

  it('signatures verify under our chainId only, and every field is bound', () => {
    for (const m of samples) if (m.type !== MsgType.Decision) expect(verifyMessageSignature(ctx, m)).toBe(true);
    const v = prepare(V[0]!, H, 0, 'a');
    expect(verifyMessageSignature({ ...ctx, chainId: OTHER_CHAIN_ID }, v)).toBe(false);
    for (const changed of [{ ...v, height: H + 1 }, { ...v, view: 1 }, { ...v, blockHash: hashOf('b') }, { ...v, type: MsgType.Commit } as Vote]) {
      expect(verifyMessageSignature(ctx, changed)).toBe(false);
    }
    const vc = viewChange(V[0]!, H, 1, cert);
    expect(verifyMessageSignature(ctx, { ...vc, prepared: null })).toBe(false);
    expect(verifyMessageSignature(ctx, { ...vc, prepared: { ...cert, view: 1 } })).toBe(false);
    expect(norm(signedBytesOf(CHAIN_ID, vc))).toEqual(norm(viewChangeSignedBytes(CHAIN_ID, H, 1, cert)));
  });
});

describe('wire codec', () => {
  it('round-trips every message type, certificates and evidence exactly', () => {
    for (const m of samples) {
      const bytes = encodeMessage(m);
      expect(bytes[0]).toBe(m.type);
      const back = decodeMessage(bytes);
      expect(norm(back)).toEqual(norm(m));
      expect(norm(encodeMessage(back))).toEqual(norm(bytes));
    }
    expect(norm(decodePreparedCertificate(encodePreparedCertificate(cert)))).toEqual(norm(cert));
    expect(norm(decodeCommitCertificate(encodeCommitCertificate(commitCert)))).toEqual(norm(commitCert));
    expect(norm(decodeEvidence(encodeEvidence(evidence)))).toEqual(norm(evidence));
  });

  it('rejects trailing bytes, truncation, unknown types and bad flags with typed codes', () => {
    const vote = encodeMessage(samples[1]!);
    expect(codeOf(() => decodeMessage(Buffer.concat([vote, Buffer.from([0])])))).toBe(DecodeCode.TrailingBytes);
    expect(codeOf(() => decodeMessage(vote.subarray(0, vote.length - 1)))).toBe(DecodeCode.Truncated);
    expect(codeOf(() => decodeMessage(new Uint8Array(0)))).toBe(DecodeCode.Truncated);
    expect(codeOf(() => decodeMessage(Uint8Array.of(9)))).toBe(DecodeCode.BadKind);
    const vc = Buffer.from(encodeMessage(samples[3]!));
    vc[vc.length - 1] = 2; // has-prepared flag
    expect(codeOf(() => decodeMessage(vc))).toBe(DecodeCode.BadValue);
    const ev = Buffer.from(encodeEvidence(evidence));
    ev[0] = 2;
    expect(codeOf(() => decodeEvidence(ev))).toBe(DecodeCode.BadKind);
  });

  it('checks lengths and counts against limits and the remaining input before allocating', () => {
    // a PRE-PREPARE header claiming a block one byte over MAX_BLOCK_SIZE
    const pp = Buffer.from(encodeMessage(samples[0]!));
    const lenAt = 1 + 8 + 4 + 32 + 32 + 64;
    pp.writeUInt32LE(MAX_BLOCK_SIZE + 1, lenAt);
    expect(codeOf(() => decodeMessage(pp))).toBe(DecodeCode.CountOutOfRange);
    pp.writeUInt32LE(0xffff_ffff, lenAt);
    expect(codeOf(() => decodeMessage(pp))).toBe(DecodeCode.CountOutOfRange);
    pp.writeUInt32LE(MAX_BLOCK_SIZE, lenAt); // allowed size but absent bytes
    expect(codeOf(() => decodeMessage(pp))).toBe(DecodeCode.Truncated);
    // a commit certificate claiming 1001 votes, and one claiming 1000 with no bytes behind
    const cc = Buffer.from(encodeCommitCertificate(commitCert));
    cc.writeUInt32LE(1001, 8 + 4 + 32);
    expect(codeOf(() => decodeCommitCertificate(cc))).toBe(DecodeCode.CountOutOfRange);
    cc.writeUInt32LE(1000, 8 + 4 + 32);
    expect(codeOf(() => decodeCommitCertificate(cc))).toBe(DecodeCode.Truncated);
    // height beyond 2^53
    const v = Buffer.from(encodeMessage(samples[1]!));
    v.writeBigUInt64LE(1n << 60n, 1);
    expect(codeOf(() => decodeMessage(v))).toBe(DecodeCode.BadValue);
  });

  it('fuzz: random bytes never throw anything but DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 6 }), (bytes, lead) => {
        const input = Uint8Array.of(lead, ...bytes);
        for (const decode of [decodeMessage, decodePreparedCertificate, decodeCommitCertificate, decodeEvidence]) {
          try {
            decode(input);
          } catch (e) {
            if (!isDecodeError(e)) throw e;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: mutated valid encodings decode to canonical values or throw DecodeError', () => {
    const encodings = [...samples.map(encodeMessage), encodeEvidence(evidence)];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: encodings.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: -3, max: 3 }),
        (which, edits, resize) => {
          const src = encodings[which]!;
          let bytes = Buffer.from(src);
          for (const [pos, val] of edits) bytes[pos % bytes.length] = val;
          if (resize < 0) bytes = bytes.subarray(0, Math.max(0, bytes.length + resize));
          if (resize > 0) bytes = Buffer.concat([bytes, Buffer.alloc(resize, 0x5a)]);
          const isEvidence = which === encodings.length - 1;
          try {
            const again = isEvidence ? encodeEvidence(decodeEvidence(bytes)) : encodeMessage(decodeMessage(bytes));
            expect(again.equals(bytes)).toBe(true);
          } catch (e) {
            if (!isDecodeError(e)) throw e;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('fuzz: arbitrary well-formed votes round-trip', () => {
    const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
    fc.assert(
      fc.property(
        fc.constantFrom(MsgType.Prepare, MsgType.Commit),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        bytes(32), bytes(32), bytes(64),
        (type, height, view, blockHash, signer, signature) => {
          const v: Vote = { type, height, view, blockHash: Buffer.from(blockHash), signer: Buffer.from(signer), signature: Buffer.from(signature) };
          expect(norm(decodeMessage(encodeMessage(v)))).toEqual(norm(v));
        },
      ),
      { numRuns: 500 },
    );
  });
});

/**
 * The decoder table of tests/unit/p2p-decoders-fuzz.test.ts: every decoder a peer's bytes reach,
 * keyed by protocol, with its typed errors, valid encodings and canonical re-encoding; the checker
 * (`decodeOrTypedError`) and the frame mutations.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { createBlock, decodeBlock, encodeHeader } from '../../chain/block.js';
import { MAX_TX_SIZE, TxKind } from '../../chain/constants.js';
import { DecodeCode, DecodeError } from '../../chain/errors.js';
import { createTransaction, decodeTransaction, type TransactionFields } from '../../chain/transaction.js';
import { decodeTxBatch, encodeTxBatches } from '../../p2p/tx-batch.js';
import { decodeCommitCertificate, decodeMessage, encodeCommitCertificate, encodeMessage } from '../../consensus/codec.js';

import {
  decodeAttestation,
  decodeHeartbeat,
  decodeHeartbeatPair,
  encodeAttestation,
  encodeHeartbeat,
  heartbeatId,
  signAttestation,
  signHeartbeat,
} from '../../consensus/heartbeat-codec.js';
import { MsgType, type CommitCertificate, type ConsensusMessage } from '../../consensus/types.js';
import { openEnvelope, sealEnvelope, verifyEnvelope } from '../../p2p/envelope.js';
import { P2pCode, P2pError } from '../../p2p/errors.js';
import { encodeFrames, FrameDecoder } from '../../p2p/framing.js';
import { protocolByName, type ProtocolName } from '../../p2p/protocols.js';
import { decodeSyncRequest, decodeSyncResponse, encodeSyncRequest, encodeSyncResponse, SYNC_MAX_COUNT } from '../../src/block-sync.js';
import { decodeForkPollRequest, decodeForkPollResponse, encodeForkPollRequest, encodeForkPollResponse } from '../../src/fork-poll.js';
import { decodeDigestRequest, decodeDigestResponse, encodeDigestRequest, encodeDigestResponse } from '../../src/mempool-sync.js';
import { CHAIN_ID, commit, hashOf, newView, prePrepare, prepare, preparedCert, signers, viewChange } from './consensus-fixtures.js';

// ---------------------------------------------------------------------------------------------
// Valid values

const u32le = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });
const txFields: fc.Arbitrary<TransactionFields> = fc.record({
  kind: fc.constantFrom(TxKind.Transfer, TxKind.Coinbase, TxKind.MasternodeRegistration),
  inputs: fc.array(fc.record({ prevTxid: bytes(32), prevIndex: fc.nat({ max: 0xffffffff }), signature: bytes(64) }), { maxLength: 3 }),
  outputs: fc.array(fc.record({ amount: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), publicKey: bytes(32) }), { maxLength: 3 }),
  payload: fc.uint8Array({ maxLength: 40 }),
});
export const txArb = txFields.map((f) => createTransaction(f));
const blockArb = fc
  .record({ height: fc.nat({ max: 2 ** 40 }), prevHash: bytes(32), timestampMs: fc.nat({ max: 2 ** 50 }), proposer: bytes(32), view: fc.nat({ max: 0xffffffff }), txs: fc.array(txArb, { maxLength: 3 }) })
  .map((f) => createBlock(f));

const V = signers(4);
const H = 7;
const cert = preparedCert([V[0]!, V[1]!, V[2]!], H, 0, 'a');
const commitCert: CommitCertificate = { height: H, view: 0, blockHash: hashOf('a'), commits: [0, 1, 2].map((i) => commit(V[i]!, H, 0, 'a')) };
/** One of each consensus message type (signed, so they are what an honest peer sends). */
const CONSENSUS_SAMPLES: ConsensusMessage[] = [
  prePrepare(V[1]!, H, 0, 'a'),
  prepare(V[2]!, H, 0, 'a'),
  commit(V[3]!, H, 3, 'a'),
  viewChange(V[0]!, H, 1),
  viewChange(V[0]!, H, 1, cert),
  newView(V[0]!, H, 1, [viewChange(V[1]!, H, 1, cert), viewChange(V[2]!, H, 1), viewChange(V[3]!, H, 1)], 'a'),
  { type: MsgType.Decision, height: H, block: cert.block, certificate: commitCert },
];
const heartbeatArb = fc
  .record({ signer: fc.constantFrom(...V), sequence: fc.nat(), prevId: bytes(32), height: fc.nat(), timeMs: fc.nat({ max: 2 ** 50 }) })
  .map(({ signer, ...f }) => signHeartbeat(signer, CHAIN_ID, f));
const attestationArb = fc.tuple(fc.constantFrom(...V), heartbeatArb).map(([s, hb]) => signAttestation(s, CHAIN_ID, heartbeatId(CHAIN_ID, hb)));
const ENVELOPE_SIGNER = V[0]!;

// ---------------------------------------------------------------------------------------------
// The table

/** A typed error class and the codes it may carry. */
export interface Allowed {
  readonly cls: typeof DecodeError | typeof P2pError;
  readonly codes: readonly string[];
}
const DECODE: Allowed = { cls: DecodeError, codes: Object.values(DecodeCode) };
const P2P_DECODE: Allowed = { cls: P2pError, codes: [P2pCode.DecodeFailed] };

export interface DecoderCase {
  /** The protocol whose frames reach this decoder (`*` for every protocol: framing). */
  readonly protocol: ProtocolName | '*';
  readonly name: string;
  readonly decode: (b: Uint8Array) => unknown;
  /** The typed errors this decoder may throw; anything else is a bug. */
  readonly errors: readonly Allowed[];
  /** Valid encodings (an honest peer's frames). */
  readonly valid: fc.Arbitrary<Uint8Array>;
  /** Re-encode a decoded value: must give the same bytes (one encoding per value). */
  readonly reencode: (v: never) => Uint8Array;
  /** Longest random frame tried (decoders refuse long garbage early; more costs time only). */
  readonly maxRandom: number;
}

export const digestTxids = fc.array(bytes(32), { maxLength: 20 });
export const SALT = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);

/** Every decoder of peer bytes, by protocol. */
export const CASES: readonly DecoderCase[] = [
  {
    protocol: '*',
    name: 'framing (FrameDecoder, u32 BE length prefix)',
    decode: (b) => {
      const d = new FrameDecoder(256);
      const frames = d.push(b);
      return { frames, idle: d.idle };
    },
    errors: [{ cls: P2pError, codes: [P2pCode.FrameTooLarge, P2pCode.DecodeFailed] }],
    valid: fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { minLength: 1, maxLength: 5 }).map((f) => encodeFrames(f)),
    reencode: (v: { frames: Uint8Array[]; idle: boolean }) => (v.idle ? encodeFrames(v.frames) : Uint8Array.of()),
    maxRandom: 300,
  },
  {
    protocol: 'consensus',
    name: 'signed envelope (openEnvelope), consensus and heartbeat frames',
    decode: (b) => openEnvelope(b),
    errors: [P2P_DECODE],
    valid: fc
      .tuple(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.nat({ max: 2 ** 50 }), fc.uint8Array({ minLength: 1, maxLength: 80 }))
      .map(([nonce, ts, payload]) => sealEnvelope(ENVELOPE_SIGNER, 'dev', protocolByName('consensus').id, nonce, ts, payload)),
    reencode: (env: ReturnType<typeof openEnvelope>) => {
      // Re-sealing with the same fields must give the same bytes, and the signature verifies.
      expect(verifyEnvelope(env, 'dev', protocolByName('consensus').id)).toBe(true);
      return sealEnvelope(ENVELOPE_SIGNER, 'dev', protocolByName('consensus').id, env.nonce, env.timestampMs, env.payload);
    },
    maxRandom: 300,
  },
  {
    protocol: 'tx',
    name: 'transaction batch (decodeTxBatch)',
    decode: (b) => decodeTxBatch(b),
    errors: [P2P_DECODE],
    valid: fc.array(txArb, { minLength: 1, maxLength: 3 }).map((ts) => encodeTxBatches(ts.map((t) => t.bytes))[0]!),
    reencode: (txs: ReturnType<typeof decodeTxBatch>) => encodeTxBatches(txs.map((t) => createTransaction(t).bytes))[0]!,
    maxRandom: 400,
  },
  {
    protocol: 'consensus',
    name: 'consensus message (decodeMessage)',
    decode: (b) => decodeMessage(b),
    errors: [DECODE],
    valid: fc.constantFrom(...CONSENSUS_SAMPLES).map(encodeMessage),
    reencode: (m: ConsensusMessage) => encodeMessage(m),
    maxRandom: 600,
  },
  {
    protocol: 'heartbeat',
    name: 'heartbeat (decodeHeartbeat)',
    decode: (b) => decodeHeartbeat(b),
    errors: [DECODE],
    valid: heartbeatArb.map(encodeHeartbeat),
    reencode: (h: ReturnType<typeof decodeHeartbeat>) => encodeHeartbeat(h),
    maxRandom: 400,
  },
  {
    protocol: 'heartbeat',
    name: 'attestation (decodeAttestation)',
    decode: (b) => decodeAttestation(b),
    errors: [DECODE],
    valid: attestationArb.map(encodeAttestation),
    reencode: (a: ReturnType<typeof decodeAttestation>) => encodeAttestation(a),
    maxRandom: 300,
  },
  {
    protocol: 'heartbeat',
    name: 'heartbeat pair (decodeHeartbeatPair)',
    decode: (b) => decodeHeartbeatPair(b),
    errors: [DECODE],
    valid: fc.tuple(heartbeatArb, heartbeatArb).map(([a, b]) => Buffer.concat([encodeHeartbeat(a), encodeHeartbeat(b)])),
    reencode: ([a, b]: ReturnType<typeof decodeHeartbeatPair>) => Buffer.concat([encodeHeartbeat(a), encodeHeartbeat(b)]),
    maxRandom: 400,
  },
  {
    protocol: 'block',
    name: 'block (decodeBlock)',
    decode: (b) => decodeBlock(b),
    errors: [DECODE],
    valid: blockArb.map((b) => b.bytes),
    // SPEC §4 by hand (createBlock would recompute a mutated txRoot, which the codec does not judge).
    reencode: (b: ReturnType<typeof decodeBlock>) =>
      Buffer.concat([encodeHeader(b.header), u32le(b.txs.length), ...b.txs.flatMap((t) => [u32le(t.bytes.length), t.bytes])]),
    maxRandom: 600,
  },
  {
    protocol: 'block',
    name: 'commit certificate (decodeCommitCertificate)',
    decode: (b) => decodeCommitCertificate(b),
    errors: [DECODE],
    valid: fc.constant(encodeCommitCertificate(commitCert)),
    reencode: (c: CommitCertificate) => encodeCommitCertificate(c),
    maxRandom: 600,
  },
  {
    protocol: 'sync',
    name: 'sync request (decodeSyncRequest)',
    decode: (b) => decodeSyncRequest(b),
    errors: [P2P_DECODE],
    valid: fc.tuple(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: SYNC_MAX_COUNT })).map(([h, n]) => encodeSyncRequest(h, n)),
    reencode: (r: { fromHeight: number; count: number }) => encodeSyncRequest(r.fromHeight, r.count),
    maxRandom: 40,
  },
  {
    protocol: 'sync',
    name: 'sync response (decodeSyncResponse)',
    decode: (b) => decodeSyncResponse(b),
    errors: [P2P_DECODE],
    valid: fc
      .tuple(fc.nat(), fc.array(fc.record({ block: fc.uint8Array({ maxLength: 40 }), cert: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 4 }))
      .map(([h, e]) => encodeSyncResponse(h, e)),
    reencode: (r: ReturnType<typeof decodeSyncResponse>) => encodeSyncResponse(r.finalHeight, r.entries),
    maxRandom: 400,
  },
  {
    protocol: 'forkpoll',
    name: 'fork poll request (decodeForkPollRequest)',
    decode: (b) => decodeForkPollRequest(b),
    errors: [P2P_DECODE],
    valid: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map(encodeForkPollRequest),
    reencode: (h: number) => encodeForkPollRequest(h),
    maxRandom: 40,
  },
  {
    protocol: 'forkpoll',
    name: 'fork poll response (decodeForkPollResponse)',
    decode: (b) => decodeForkPollResponse(b),
    errors: [P2P_DECODE],
    valid: fc.option(bytes(32)).map(encodeForkPollResponse),
    reencode: (h: Uint8Array | null) => encodeForkPollResponse(h),
    maxRandom: 80,
  },
  {
    protocol: 'mempool-digest',
    name: 'mempool digest request (decodeDigestRequest)',
    decode: (b) => decodeDigestRequest(b),
    errors: [P2P_DECODE],
    valid: digestTxids.map((t) => encodeDigestRequest(SALT, t)),
    // Short ids are a set: compare as the sorted set re-encoded (a duplicate id is legal on the wire).
    reencode: (r: ReturnType<typeof decodeDigestRequest>) => Buffer.from([...r.ids].sort().map((i) => i.toString(16)).join(','), 'utf8'),
    maxRandom: 300,
  },
  {
    protocol: 'mempool-digest',
    name: 'mempool digest response (decodeDigestResponse)',
    decode: (b) => decodeDigestResponse(b),
    errors: [P2P_DECODE],
    valid: fc.tuple(fc.array(txArb, { maxLength: 3 }), fc.boolean()).map(([t, more]) => encodeDigestResponse(t, more)),
    reencode: (r: ReturnType<typeof decodeDigestResponse>) => encodeDigestResponse(r.txs, r.more),
    maxRandom: 400,
  },
];

/** Run `decode`; it returns a value or throws one of `errors` with a documented code. */
export function decodeOrTypedError(c: DecoderCase, input: Uint8Array): { ok: true; value: unknown } | { ok: false; code: string } {
  try {
    return { ok: true, value: c.decode(input) };
  } catch (err) {
    const allowed = c.errors.find((a) => err instanceof a.cls);
    if (allowed === undefined) throw new Error(`${c.name} threw ${(err as Error)?.constructor?.name}: ${String(err)} on ${Buffer.from(input).toString('hex').slice(0, 200)}`);
    const code = (err as DecodeError | P2pError).code;
    expect(allowed.codes, `${c.name}: code ${code}`).toContain(code);
    return { ok: false, code };
  }
}

/** One mutation of a valid frame: bit flip, byte set, truncation, extension, splice, or a large u32 written anywhere. */
export const mutationArb = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), v: fc.nat({ max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('splice' as const), at: fc.nat(), del: fc.nat(8), ins: fc.uint8Array({ maxLength: 8 }) }),
  fc.record({ op: fc.constant('u32' as const), at: fc.nat(), v: fc.constantFrom(0, 1, 0x7fff_ffff, 0xffff_ffff, 65, 10_001, 1_000_065), le: fc.boolean() }),
);
export type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

export function mutate(src: Uint8Array, m: Mutation): Uint8Array {
  const out = Buffer.from(src);
  const at = (n: number): number => (out.length === 0 ? 0 : n % out.length);
  switch (m.op) {
    case 'flip':
      if (out.length > 0) out[at(m.at)]! ^= 1 << m.bit;
      return out;
    case 'set':
      if (out.length > 0) out[at(m.at)] = m.v;
      return out;
    case 'truncate':
      return out.subarray(0, at(m.at));
    case 'extend':
      return Buffer.concat([out, m.extra]);
    case 'splice':
      return Buffer.concat([out.subarray(0, at(m.at)), m.ins, out.subarray(at(m.at) + m.del)]);
    case 'u32': {
      if (out.length < 4) return out;
      const p = m.at % (out.length - 3);
      if (m.le) out.writeUInt32LE(m.v, p);
      else out.writeUInt32BE(m.v, p);
      return out;
    }
  }
}

/** Lowercase hex (for messages and byte comparisons). */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

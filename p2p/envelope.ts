/**
 * The signed envelope of masternode-only protocols: who sent it, a nonce that never repeats
 * for that sender, and when. The signature covers a domain tag, the network name and the
 * protocol id too, so an envelope cannot be replayed on another network or as another
 * protocol's message. Verified with the project's one verifier (chain/ed25519.ts).
 *
 * Layout: `u8 version=1 | 32 sender | u64 nonce | u64 timestampMs | payload | 64 signature`
 * Signed: `"TIMECOIN-P2P-V1" | u8 len | network | u8 len | protocolId | envelope without signature`
 */
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, verifySignature, type Signer } from '../chain/ed25519.js';
import { bytesEqual, toHex } from '../chain/hash.js';
import { P2pCode, P2pError } from './errors.js';
import type { ProtocolSpec } from './protocols.js';
import type { ReplayGuard } from './replay-guard.js';

export const ENVELOPE_VERSION = 1;
const HEADER = 1 + PUBLIC_KEY_LENGTH + 8 + 8;
/** Smallest valid envelope: header, one payload byte, signature. */
export const MIN_ENVELOPE_BYTES = HEADER + 1 + SIGNATURE_LENGTH;
const DOMAIN = Buffer.from('TIMECOIN-P2P-V1');

export interface Envelope {
  readonly sender: Uint8Array;
  readonly nonce: bigint;
  readonly timestampMs: number;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  /** The envelope bytes without the signature (what was signed, after the context). */
  readonly body: Uint8Array;
}

function context(network: string, protocolId: string): Buffer {
  const n = Buffer.from(network);
  const p = Buffer.from(protocolId);
  if (n.length > 255 || p.length > 255) throw new RangeError('network or protocol id too long');
  return Buffer.concat([DOMAIN, Buffer.of(n.length), n, Buffer.of(p.length), p]);
}

/** Build and sign an envelope around `payload`. */
export function sealEnvelope(signer: Signer, network: string, protocolId: string, nonce: bigint, timestampMs: number, payload: Uint8Array): Uint8Array {
  if (payload.length === 0) throw new RangeError('empty payload');
  const body = Buffer.allocUnsafe(HEADER + payload.length);
  body[0] = ENVELOPE_VERSION;
  body.set(signer.publicKey, 1);
  body.writeBigUInt64BE(nonce, 1 + PUBLIC_KEY_LENGTH);
  body.writeBigUInt64BE(BigInt(timestampMs), 1 + PUBLIC_KEY_LENGTH + 8);
  body.set(payload, HEADER);
  const signature = signer.sign(Buffer.concat([context(network, protocolId), body]));
  return Buffer.concat([body, signature]);
}

/** Parse an envelope (no signature check); throws `decode-failed`. */
export function openEnvelope(bytes: Uint8Array): Envelope {
  if (bytes.length < MIN_ENVELOPE_BYTES) throw new P2pError(P2pCode.DecodeFailed, `envelope of ${bytes.length} bytes is too short`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b[0] !== ENVELOPE_VERSION) throw new P2pError(P2pCode.DecodeFailed, `envelope version ${b[0]}`);
  const ts = b.readBigUInt64BE(1 + PUBLIC_KEY_LENGTH + 8);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) throw new P2pError(P2pCode.DecodeFailed, 'envelope timestamp out of range');
  const sigAt = b.length - SIGNATURE_LENGTH;
  return {
    sender: b.subarray(1, 1 + PUBLIC_KEY_LENGTH),
    nonce: b.readBigUInt64BE(1 + PUBLIC_KEY_LENGTH),
    timestampMs: Number(ts),
    payload: b.subarray(HEADER, sigAt),
    signature: b.subarray(sigAt),
    body: b.subarray(0, sigAt),
  };
}

/** True iff the envelope's signature is valid for this network and protocol. */
export function verifyEnvelope(env: Envelope, network: string, protocolId: string): boolean {
  return verifySignature(env.sender, Buffer.concat([context(network, protocolId), env.body]), env.signature);
}

export interface AdmitContext {
  /** The operator key in the connected peer's id (noise proved it), or null. */
  readonly peerKey: Uint8Array | null;
  readonly network: string;
  readonly spec: ProtocolSpec;
  readonly isActiveMasternode: (key: Uint8Array) => boolean;
  readonly replay: ReplayGuard;
  readonly now: number;
}

/**
 * The envelope checks of an inbound frame, cheapest first; returns the payload or throws a
 * `P2pError` (decode-failed, bad-signature, not-masternode, replay). The nonce is recorded
 * only after the signature verifies, so forged envelopes cannot fill the seen-set.
 */
export function admitEnvelope(frame: Uint8Array, c: AdmitContext): Uint8Array {
  const env = openEnvelope(frame);
  // No relaying yet: the sender must be the peer noise authenticated.
  if (c.peerKey === null || !bytesEqual(env.sender, c.peerKey)) throw new P2pError(P2pCode.BadSignature, 'envelope sender is not the connected peer');
  if (c.spec.masternodeOnly && !c.isActiveMasternode(env.sender)) throw new P2pError(P2pCode.NotMasternode, 'sender is not an active masternode');
  const hex = toHex(env.sender);
  c.replay.check(hex, env.nonce, env.timestampMs, c.now);
  if (!verifyEnvelope(env, c.network, c.spec.id)) throw new P2pError(P2pCode.BadSignature, 'envelope signature');
  c.replay.record(hex, env.nonce, env.timestampMs, c.now);
  return env.payload;
}

/**
 * Heartbeats and attestations: values, signed bytes and wire codec (docs/masternodes.md).
 *
 *   heartbeat   := operator(32) | u64 sequence | prevId(32) | u64 height | u64 timeMs | signature(64)   (152 bytes)
 *   attestation := attester(32) | heartbeatId(32) | signature(64)                                        (128 bytes)
 *
 *   heartbeat signed bytes   = "TIMECOIN-HB-V1"  || chainId || heartbeat without its signature
 *   heartbeatId              = SHA-256(heartbeat signed bytes)
 *   attestation signed bytes = "TIMECOIN-ATT-V1" || chainId || attester || heartbeatId
 *
 * The id covers the chainId and every field but the signature, so one (operator, sequence) with
 * two different contents has two ids (a conflict), and `prevId` links each heartbeat to the one
 * before it. Integers little-endian; decoders throw only DecodeError and refuse trailing bytes.
 */
import { ByteReader, ByteWriter } from '../chain/bytes.js';
import { ATT_SIGN_DOMAIN, HB_SIGN_DOMAIN } from '../chain/constants.js';
import { sha256 } from '../chain/hash.js';
import type { Signer } from '../chain/ed25519.js';
import type { Bytes } from './types.js';

export interface Heartbeat {
  readonly operator: Bytes;
  readonly sequence: number;
  /** heartbeatId of the previous heartbeat (32 zero bytes before sequence 0). */
  readonly prevId: Bytes;
  /** The sender's chain height when it signed. */
  readonly height: number;
  readonly timeMs: number;
  readonly signature: Bytes;
}

export interface Attestation {
  readonly attester: Bytes;
  readonly heartbeatId: Bytes;
  readonly signature: Bytes;
}

export const HEARTBEAT_SIZE = 152;
export const ATTESTATION_SIZE = 128;
const BODY_SIZE = HEARTBEAT_SIZE - 64;

function body(h: Omit<Heartbeat, 'signature'>): Buffer {
  return new ByteWriter(BODY_SIZE).bytes(h.operator).u64(BigInt(h.sequence)).bytes(h.prevId).u64(BigInt(h.height)).u64(BigInt(h.timeMs)).finish();
}

/** The bytes a heartbeat's signature covers. */
export function heartbeatSignedBytes(chainId: Bytes, h: Omit<Heartbeat, 'signature'>): Bytes {
  return Buffer.concat([HB_SIGN_DOMAIN, chainId, body(h)]);
}

/** heartbeatId = SHA-256(signed bytes): what attestations and the next heartbeat point at. */
export function heartbeatId(chainId: Bytes, h: Omit<Heartbeat, 'signature'>): Bytes {
  return sha256(heartbeatSignedBytes(chainId, h));
}

/** The bytes an attestation's signature covers. */
export function attestationSignedBytes(chainId: Bytes, attester: Bytes, id: Bytes): Bytes {
  return Buffer.concat([ATT_SIGN_DOMAIN, chainId, attester, id]);
}

/** Sign a heartbeat with the operator key. */
export function signHeartbeat(signer: Signer, chainId: Bytes, f: Omit<Heartbeat, 'signature' | 'operator'>): Heartbeat {
  const unsigned = { ...f, operator: signer.publicKey };
  return { ...unsigned, signature: signer.sign(heartbeatSignedBytes(chainId, unsigned)) };
}

/** Attest a heartbeat (by id) with the attester's operator key. */
export function signAttestation(signer: Signer, chainId: Bytes, id: Bytes): Attestation {
  return { attester: signer.publicKey, heartbeatId: id, signature: signer.sign(attestationSignedBytes(chainId, signer.publicKey, id)) };
}

/** Encode a heartbeat (152 bytes). */
export function encodeHeartbeat(h: Heartbeat): Buffer {
  return Buffer.concat([body(h), h.signature]);
}

function readHeartbeat(r: ByteReader): Heartbeat {
  return {
    operator: r.bytes(32, 'operator'),
    sequence: r.u64Number('sequence'),
    prevId: r.bytes(32, 'prevId'),
    height: r.u64Number('height'),
    timeMs: r.u64Number('timeMs'),
    signature: r.bytes(64, 'signature'),
  };
}

/** Decode a heartbeat that spans `bytes` exactly. */
export function decodeHeartbeat(bytes: Uint8Array): Heartbeat {
  const r = new ByteReader(bytes);
  const h = readHeartbeat(r);
  r.end('heartbeat');
  return h;
}

/** Encode an attestation (128 bytes). */
export function encodeAttestation(a: Attestation): Buffer {
  return new ByteWriter(ATTESTATION_SIZE).bytes(a.attester).bytes(a.heartbeatId).bytes(a.signature).finish();
}

/** Decode an attestation that spans `bytes` exactly. */
export function decodeAttestation(bytes: Uint8Array): Attestation {
  const r = new ByteReader(bytes);
  const a = { attester: r.bytes(32, 'attester'), heartbeatId: r.bytes(32, 'heartbeatId'), signature: r.bytes(64, 'signature') };
  r.end('attestation');
  return a;
}

/** Decode two heartbeats back to back (a conflicting-heartbeat proof). */
export function decodeHeartbeatPair(bytes: Uint8Array): [Heartbeat, Heartbeat] {
  const r = new ByteReader(bytes);
  const a = readHeartbeat(r);
  const b = readHeartbeat(r);
  r.end('heartbeat pair');
  return [a, b];
}

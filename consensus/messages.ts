/**
 * The bytes each consensus message signs, signing and verification helpers, and structural checks.
 *
 * Signed bytes (all integers little-endian):
 *   ascii("TIMECOIN-PBFT-V1") || chainId(32) || u8 type || u64 height || u32 view || blockHash(32) || suffix
 * - PRE-PREPARE, PREPARE, COMMIT: blockHash is the proposed/voted hash, no suffix.
 * - VIEW-CHANGE: blockHash is 32 zero bytes; suffix = u8 hasPrepared || u32 preparedView || preparedHash(32)
 *   (zeros when there is no prepared certificate), so a relay cannot swap the certificate for another.
 * - NEW-VIEW: blockHash is the re-proposal's hash; suffix = SHA-256 over the included VIEW-CHANGEs in
 *   order, each contributing signer(32) || signature(64), so a relay cannot swap the proof.
 * - DECISION is unsigned: its commit certificate authenticates it.
 * chainId is inside the signed bytes, never on the wire: a message signed for another chain simply
 * fails verification (reported as `bad-signature`).
 *
 * The wire codec lives in codec.ts and is re-exported here.
 */
import type { Signer } from '../chain/ed25519.js';
import { ByteWriter } from '../chain/bytes.js';
import { sha256 } from '../chain/hash.js';
import { ConsensusCode, reject, type Rejection } from './errors.js';
import {
  MsgType,
  type Bytes,
  type ConsensusMessage,
  type NewView,
  type PreparedCertificate,
  type PrePrepare,
  type ViewChange,
  type Vote,
} from './types.js';

export * from './codec.js';

/** Domain separator of every consensus signature. */
export const PBFT_SIGN_DOMAIN = new TextEncoder().encode('TIMECOIN-PBFT-V1');
export const HASH_LENGTH = 32;
export const KEY_LENGTH = 32;
export const SIG_LENGTH = 64;
/** Views are u32 on the wire and in signed bytes. */
export const MAX_VIEW = 0xffff_ffff;

const ZERO_HASH = new Uint8Array(HASH_LENGTH);
const BASE_LENGTH = PBFT_SIGN_DOMAIN.length + HASH_LENGTH + 1 + 8 + 4 + HASH_LENGTH;

/** What signature checks need: the chain a message must be bound to and the SPEC §2 verifier. */
export interface VerifyContext {
  readonly chainId: Bytes;
  readonly verify: (publicKey: Bytes, message: Bytes, signature: Bytes) => boolean;
}

type SignedType = typeof MsgType.PrePrepare | typeof MsgType.Prepare | typeof MsgType.Commit | typeof MsgType.ViewChange | typeof MsgType.NewView;

function baseBytes(chainId: Bytes, type: SignedType, height: number, view: number, hash: Bytes, suffix: number): ByteWriter {
  if (chainId.length !== HASH_LENGTH) throw new TypeError('chainId must be 32 bytes');
  return new ByteWriter(BASE_LENGTH + suffix)
    .bytes(PBFT_SIGN_DOMAIN)
    .bytes(chainId)
    .u8(type)
    .u64(BigInt(height))
    .u32(view)
    .bytes(hash);
}

/** Signed bytes of a PRE-PREPARE, PREPARE or COMMIT for (height, view, blockHash). */
export function voteSignedBytes(chainId: Bytes, type: SignedType, height: number, view: number, blockHash: Bytes): Bytes {
  return baseBytes(chainId, type, height, view, blockHash, 0).finish();
}

/** Signed bytes of a VIEW-CHANGE: binds the carried prepared certificate's view and hash. */
export function viewChangeSignedBytes(chainId: Bytes, height: number, view: number, prepared: PreparedCertificate | null): Bytes {
  const w = baseBytes(chainId, MsgType.ViewChange, height, view, ZERO_HASH, 1 + 4 + HASH_LENGTH);
  if (prepared === null) return w.u8(0).u32(0).bytes(ZERO_HASH).finish();
  return w.u8(1).u32(prepared.view).bytes(prepared.blockHash).finish();
}

/** SHA-256 over signer || signature of each VIEW-CHANGE, in order: what a NEW-VIEW signature binds. */
export function viewChangesDigest(viewChanges: readonly ViewChange[]): Bytes {
  const parts: Bytes[] = [];
  for (const vc of viewChanges) parts.push(vc.signer, vc.signature);
  return sha256(...parts);
}

/** Signed bytes of a NEW-VIEW: its re-proposal's hash and the digest of its view changes. */
export function newViewSignedBytes(chainId: Bytes, height: number, view: number, prePrepareHash: Bytes, viewChanges: readonly ViewChange[]): Bytes {
  return baseBytes(chainId, MsgType.NewView, height, view, prePrepareHash, HASH_LENGTH).bytes(viewChangesDigest(viewChanges)).finish();
}

/** The bytes a signed message's signature covers under chainId. */
export function signedBytesOf(chainId: Bytes, msg: PrePrepare | Vote | ViewChange | NewView): Bytes {
  switch (msg.type) {
    case MsgType.PrePrepare:
    case MsgType.Prepare:
    case MsgType.Commit:
      return voteSignedBytes(chainId, msg.type, msg.height, msg.view, msg.blockHash);
    case MsgType.ViewChange:
      return viewChangeSignedBytes(chainId, msg.height, msg.view, msg.prepared);
    case MsgType.NewView:
      return newViewSignedBytes(chainId, msg.height, msg.view, msg.prePrepare.blockHash, msg.viewChanges);
  }
}

/** True iff the message's signature is valid for its signer under ctx.chainId. */
export function verifyMessageSignature(ctx: VerifyContext, msg: PrePrepare | Vote | ViewChange | NewView): boolean {
  return ctx.verify(msg.signer, signedBytesOf(ctx.chainId, msg), msg.signature);
}

/** A signed PREPARE or COMMIT. */
export function signVote(signer: Signer, chainId: Bytes, type: Vote['type'], height: number, view: number, blockHash: Bytes): Vote {
  const signature = signer.sign(voteSignedBytes(chainId, type, height, view, blockHash));
  return { type, height, view, blockHash, signer: signer.publicKey, signature };
}

/** A signed PRE-PREPARE of `block` whose hash is `blockHash`. */
export function signPrePrepare(signer: Signer, chainId: Bytes, height: number, view: number, blockHash: Bytes, block: Bytes): PrePrepare {
  const signature = signer.sign(voteSignedBytes(chainId, MsgType.PrePrepare, height, view, blockHash));
  return { type: MsgType.PrePrepare, height, view, blockHash, block, signer: signer.publicKey, signature };
}

/** A signed VIEW-CHANGE to `view` carrying `prepared`. */
export function signViewChange(signer: Signer, chainId: Bytes, height: number, view: number, prepared: PreparedCertificate | null): ViewChange {
  const signature = signer.sign(viewChangeSignedBytes(chainId, height, view, prepared));
  return { type: MsgType.ViewChange, height, view, prepared, signer: signer.publicKey, signature };
}

/** A signed NEW-VIEW for `view` with its proof and re-proposal. */
export function signNewView(signer: Signer, chainId: Bytes, height: number, view: number, viewChanges: readonly ViewChange[], prePrepare: PrePrepare): NewView {
  const signature = signer.sign(newViewSignedBytes(chainId, height, view, prePrepare.blockHash, viewChanges));
  return { type: MsgType.NewView, height, view, viewChanges, prePrepare, signer: signer.publicKey, signature };
}

function isBytes(b: unknown, len?: number): b is Bytes {
  return b instanceof Uint8Array && (len === undefined || b.length === len);
}

function isHeightView(height: unknown, view: unknown): boolean {
  return Number.isSafeInteger(height) && (height as number) >= 0 && Number.isInteger(view) && (view as number) >= 0 && (view as number) <= MAX_VIEW;
}

function signedShape(m: { height: unknown; view: unknown; signer: unknown; signature: unknown }): boolean {
  return isHeightView(m.height, m.view) && isBytes(m.signer, KEY_LENGTH) && isBytes(m.signature, SIG_LENGTH);
}

/** Structural check of a prepared certificate's fields (not its signatures). */
export function preparedShape(c: PreparedCertificate): boolean {
  return (
    typeof c === 'object' && c !== null && isHeightView(c.height, c.view) && isBytes(c.blockHash, HASH_LENGTH) &&
    isBytes(c.block) && Array.isArray(c.prepares) && c.prepares.every((v) => voteShape(v))
  );
}

function voteShape(v: Vote): boolean {
  return typeof v === 'object' && v !== null && (v.type === MsgType.Prepare || v.type === MsgType.Commit) && signedShape(v) && isBytes(v.blockHash, HASH_LENGTH);
}

function prePrepareShape(p: PrePrepare): boolean {
  return typeof p === 'object' && p !== null && p.type === MsgType.PrePrepare && signedShape(p) && isBytes(p.blockHash, HASH_LENGTH) && isBytes(p.block);
}

function viewChangeShape(vc: ViewChange): boolean {
  return typeof vc === 'object' && vc !== null && vc.type === MsgType.ViewChange && signedShape(vc) && (vc.prepared === null || preparedShape(vc.prepared));
}

/**
 * Field ranges and byte lengths of an in-memory message (the simulator and the decoder hand the
 * engine typed objects, but a Byzantine peer's object may still carry nonsense).
 */
export function checkShape(msg: ConsensusMessage): Rejection | null {
  let ok: boolean;
  switch (msg?.type) {
    case MsgType.PrePrepare:
      ok = prePrepareShape(msg);
      break;
    case MsgType.Prepare:
    case MsgType.Commit:
      ok = voteShape(msg);
      break;
    case MsgType.ViewChange:
      ok = viewChangeShape(msg);
      break;
    case MsgType.NewView:
      ok = signedShape(msg) && Array.isArray(msg.viewChanges) && msg.viewChanges.every(viewChangeShape) && prePrepareShape(msg.prePrepare);
      break;
    case MsgType.Decision:
      ok = isHeightView(msg.height, 0) && isBytes(msg.block) && typeof msg.certificate === 'object' && msg.certificate !== null &&
        isHeightView(msg.certificate.height, msg.certificate.view) && isBytes(msg.certificate.blockHash, HASH_LENGTH) &&
        Array.isArray(msg.certificate.commits) && msg.certificate.commits.every(voteShape);
      break;
    default:
      ok = false;
  }
  return ok ? null : reject(ConsensusCode.BadMessage, `malformed message of type ${String((msg as { type?: unknown })?.type)}`);
}

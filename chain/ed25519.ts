/**
 * The one ed25519 signature rule of SPEC §2, used by every path (mempool, block, consensus
 * message, heartbeat): RFC 8032 cofactorless verification as OpenSSL computes it (Node's
 * crypto.verify: S < L, R compared as the given bytes), plus two key checks OpenSSL does not
 * make: the key encoding must be canonical (y < p) and the key must not be one of the eight
 * small-order points. @noble/curves derives keys; it never verifies (its modes differ on edges).
 * The equation is computed by libsodium (sodium-native), with OpenSSL for the one edge where
 * libsodium is stricter than the rule (`verifySignature`).
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import sodium from 'sodium-native';
import { OldestFirst } from './oldest-first.js';

export const PUBLIC_KEY_LENGTH = 32;
export const SECRET_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

/**
 * Encodings of the small-order points (orders 1, 2, 4, 8), including the x = 0 sign-bit
 * variants that RFC 8032 decoding refuses anyway. tests/unit/ed25519.test.ts re-derives this
 * list from curve arithmetic, so it cannot silently drift.
 */
export const SMALL_ORDER_ENCODINGS: readonly string[] = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
];
const smallOrder = new Set(SMALL_ORDER_ENCODINGS);

/** True when y (the key with its sign bit cleared, little-endian) is < p = 2^255 - 19. */
function isCanonicalY(pk: Uint8Array): boolean {
  if ((pk[31]! & 0x7f) !== 0x7f) return true;
  for (let i = 30; i >= 1; i--) if (pk[i] !== 0xff) return true;
  return pk[0]! < 0xed;
}

/** SPEC §2 key rule: 32 bytes, canonical encoding, not a small-order point. */
export function isValidPublicKey(pk: Uint8Array): boolean {
  if (pk.length !== PUBLIC_KEY_LENGTH) return false;
  if (!isCanonicalY(pk)) return false;
  return !smallOrder.has(Buffer.from(pk.buffer, pk.byteOffset, pk.byteLength).toString('hex'));
}

/**
 * libsodium refuses a signature whose R is a small-order point (any sign bit), a check the rule
 * above does not make: RFC 8032 with R compared as bytes accepts one whenever the equation holds,
 * which only the key's owner (or a mixed-order key) can arrange. True for such an R.
 */
function isSmallOrderR(signature: Uint8Array): boolean {
  const r = Buffer.from(signature.subarray(0, 32));
  r[31]! &= 0x7f;
  return smallOrder.has(r.toString('hex'));
}

/** The rule as OpenSSL computes it (Node's crypto.verify); only consulted for a small-order R. */
function opensslVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const x = Buffer.from(publicKey).toString('base64url');
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    return nodeVerify(null, message, key, signature);
  } catch {
    return false; // not a point on the curve
  }
}

/**
 * SPEC §2: true iff `signature` is a valid signature of `message` under `publicKey`. Never throws.
 * libsodium computes the same equation ~2x faster than OpenSSL on raw keys (no key import, no
 * KeyObject to cache or collect) and refuses everything the rule refuses; the one case it refuses
 * beyond the rule (a small-order R) is answered by OpenSSL. tests/unit/ed25519.test.ts holds the
 * two to each other on random, mutated and crafted edge signatures.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH || !isValidPublicKey(publicKey)) return false;
  try {
    if (sodium.crypto_sign_verify_detached(signature, message, publicKey)) return true;
  } catch {
    return false;
  }
  return isSmallOrderR(signature) && opensslVerify(publicKey, message, signature);
}

/** A fresh random 32-byte secret key (RFC 8032 seed). */
export function generateSecretKey(): Uint8Array {
  return ed25519.utils.randomSecretKey();
}

/** The public key of a 32-byte secret key. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey);
}

/** Something that signs messages with one key; the secret stays inside the closure. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/**
 * A signer for a 32-byte secret key. Ed25519 signatures are deterministic, so Node's
 * crypto.sign (≈15x faster than @noble) produces the very bytes @noble would.
 */
export function createSigner(secretKey: Uint8Array): Signer {
  if (secretKey.length !== SECRET_KEY_LENGTH) throw new TypeError('secret key must be 32 bytes');
  const publicKey = publicKeyOf(secretKey);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64(secretKey), x: b64(publicKey) }, format: 'jwk' });
  return {
    publicKey,
    sign: (message) => nodeSign(null, message, key),
  };
}

/**
 * Default SignatureCache capacity. An entry costs ~190 bytes of heap (a 132-byte key in a Map), so
 * 50,000 is ~9 MB, where the earlier 200,000 grew to ~37 MB of a validator's 300 MB budget under
 * sustained load. 50,000 is five full 10,000-transaction mempools of single-input transactions and
 * ~26 s of history at the cluster benchmark's ~1,900 tx/s, while a transaction waits seconds
 * between admission and its block; an evicted entry only costs one verification again.
 */
export const DEFAULT_SIGNATURE_CACHE_ENTRIES = 50_000;

/**
 * Bounded memo of signatures already found valid, so a transaction checked at mempool entry is
 * not verified again when its block connects. Only successes are remembered. The key must name
 * everything the verdict depends on (e.g. txid, input index, public key and signature bytes).
 */
export class SignatureCache {
  private readonly seen = new Map<string, true>();
  private readonly oldest = new OldestFirst(this.seen);
  constructor(readonly maxEntries = DEFAULT_SIGNATURE_CACHE_ENTRIES) {}
  has(key: string): boolean {
    return this.seen.has(key);
  }
  add(key: string): void {
    if (this.seen.has(key)) return;
    this.oldest.trimTo(this.maxEntries - 1);
    this.seen.set(key, true);
  }
  get size(): number {
    return this.seen.size;
  }
  /**
   * Verify through the cache: a remembered key skips the curve work. `message` may be a thunk
   * so a hit does not even build the signed bytes (block connect after mempool admission).
   */
  verify(key: string, publicKey: Uint8Array, message: Uint8Array | (() => Uint8Array), signature: Uint8Array): boolean {
    if (this.seen.has(key)) return true;
    const ok = verifySignature(publicKey, typeof message === 'function' ? message() : message, signature);
    if (ok) this.add(key);
    return ok;
  }
}

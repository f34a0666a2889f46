/**
 * The bytes a batch of signature checks travels in between src/verify-pool.ts and its workers:
 * one ArrayBuffer per batch (transferred, so the items are never copied twice or posted one by one).
 *
 *   batch := u32 count | count × (u32 pkLen | pk | u32 msgLen | msg | u32 sigLen | sig)   (little-endian)
 *
 * Lengths are carried as given: a key or signature of the wrong length reaches `verifySignature`
 * unchanged and gets its answer (false), exactly as on the calling thread.
 */
import { verifySignature } from '../chain/ed25519.js';

/** One signature check. */
export interface VerifyItem {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/** Encode `items` into one fresh ArrayBuffer (its owner may transfer it). */
export function encodeVerifyBatch(items: readonly VerifyItem[]): ArrayBuffer {
  let size = 4;
  for (const it of items) size += 12 + it.publicKey.length + it.message.length + it.signature.length;
  const buf = new ArrayBuffer(size);
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  view.setUint32(0, items.length, true);
  let off = 4;
  const put = (b: Uint8Array): void => {
    view.setUint32(off, b.length, true);
    bytes.set(b, off + 4);
    off += 4 + b.length;
  };
  for (const it of items) {
    put(it.publicKey);
    put(it.message);
    put(it.signature);
  }
  return buf;
}

/** Decode a batch (views into `buf`, no copies); throws RangeError on a malformed one. */
export function decodeVerifyBatch(buf: ArrayBuffer): VerifyItem[] {
  const view = new DataView(buf);
  if (buf.byteLength < 4) throw new RangeError('verify batch: short header');
  const count = view.getUint32(0, true);
  let off = 4;
  const take = (): Uint8Array => {
    if (off + 4 > buf.byteLength) throw new RangeError('verify batch: truncated');
    const len = view.getUint32(off, true);
    if (off + 4 + len > buf.byteLength) throw new RangeError('verify batch: truncated');
    const out = new Uint8Array(buf, off + 4, len);
    off += 4 + len;
    return out;
  };
  const items: VerifyItem[] = [];
  for (let i = 0; i < count; i++) items.push({ publicKey: take(), message: take(), signature: take() });
  if (off !== buf.byteLength) throw new RangeError('verify batch: trailing bytes');
  return items;
}

/** The worker's job: one byte per item of an encoded batch, 1 iff `verifySignature` holds. */
export function verifyBatch(buf: ArrayBuffer): Uint8Array<ArrayBuffer> {
  const items = decodeVerifyBatch(buf);
  const ok = new Uint8Array(new ArrayBuffer(items.length));
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    ok[i] = verifySignature(it.publicKey, it.message, it.signature) ? 1 : 0;
  }
  return ok;
}

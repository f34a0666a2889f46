/**
 * The `/timecoin/tx/2` gossip frame: a batch of transactions in one message (docs/p2p.md
 * "Transaction gossip").
 *
 *   frame := u16 count (1 … TX_BATCH_MAX_COUNT) | count × (u32 length | transaction bytes)
 *
 * Why batches: the per-peer quota counts messages (50/s, from TIME Coin's node). With one
 * transaction per message every relay passes the quota of its peers as soon as the network
 * carries more than ~50 tx/s, and honest nodes ban each other (seen in the cluster benchmark).
 * A relay flushes what it accepted at most every TX_BATCH_FLUSH_MS, so an honest peer sends
 * ≤ 25 messages per second whatever the load, and a flood of messages is still a flood.
 */
import { MAX_TX_SIZE } from '../chain/constants.js';
import { decodeTransaction, type Transaction } from '../chain/transaction.js';
import { P2pCode, P2pError } from './errors.js';

/** Most transactions in one gossip message. */
export const TX_BATCH_MAX_COUNT = 1_000;
/** Largest frame body; one transaction of MAX_TX_SIZE always fits. */
export const TX_BATCH_MAX_BYTES = 1024 * 1024;
/** A relay gossips what it accepted at most this often (per peer: ≤ 25 messages/s). */
export const TX_BATCH_FLUSH_MS = 40;

const HEADER = 2;
const PER_TX = 4;

/**
 * Split encoded transactions into frames within both limits, in order (parents before
 * children stay in order). Throws if one transaction alone cannot fit.
 */
export function encodeTxBatches(txs: readonly Uint8Array[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let part: Uint8Array[] = [];
  let size = HEADER;
  const flush = (): void => {
    if (part.length === 0) return;
    const b = Buffer.allocUnsafe(size);
    b.writeUInt16BE(part.length, 0);
    let off = HEADER;
    for (const t of part) {
      b.writeUInt32BE(t.length, off);
      b.set(t, off + PER_TX);
      off += PER_TX + t.length;
    }
    frames.push(b);
    part = [];
    size = HEADER;
  };
  for (const t of txs) {
    if (t.length > MAX_TX_SIZE) throw new P2pError(P2pCode.FrameTooLarge, `transaction of ${t.length} bytes exceeds MAX_TX_SIZE`);
    if (part.length === TX_BATCH_MAX_COUNT || size + PER_TX + t.length > TX_BATCH_MAX_BYTES) flush();
    part.push(t);
    size += PER_TX + t.length;
  }
  flush();
  return frames;
}

/** Decode a frame into transactions; any fault is `decode-failed` (the sender is charged). */
export function decodeTxBatch(bytes: Uint8Array): Transaction[] {
  const bad = (why: string): never => {
    throw new P2pError(P2pCode.DecodeFailed, `tx batch: ${why}`);
  };
  if (bytes.length < HEADER) bad('short header');
  if (bytes.length > TX_BATCH_MAX_BYTES) bad(`${bytes.length} bytes`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const count = b.readUInt16BE(0);
  if (count < 1 || count > TX_BATCH_MAX_COUNT) bad(`count ${count} not in 1..${TX_BATCH_MAX_COUNT}`);
  // Each entry needs at least its length prefix: refuse an impossible count before decoding any.
  if (HEADER + count * PER_TX > b.length) bad('truncated');
  const txs: Transaction[] = new Array(count);
  let off = HEADER;
  for (let i = 0; i < count; i++) {
    if (off + PER_TX > b.length) bad('truncated');
    const len = b.readUInt32BE(off);
    off += PER_TX;
    if (len > MAX_TX_SIZE || off + len > b.length) bad('truncated');
    try {
      // A copy: a pooled transaction must not keep the whole frame's buffer alive.
      txs[i] = decodeTransaction(new Uint8Array(b.subarray(off, off + len)), MAX_TX_SIZE);
    } catch (err) {
      bad(`transaction ${i}: ${(err as Error).message}`);
    }
    off += len;
  }
  if (off !== b.length) bad('trailing bytes');
  return txs;
}

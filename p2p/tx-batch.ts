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
import { decodeTransaction, txidHexOfEncoding, type Transaction } from '../chain/transaction.js';
import { P2pCode, P2pError } from './errors.js';

/** Most transactions in one gossip message. */
export const TX_BATCH_MAX_COUNT = 1_000;
/** Largest frame body; one transaction of MAX_TX_SIZE always fits. */
export const TX_BATCH_MAX_BYTES = 1024 * 1024;
/** A relay gossips what it accepted at most this often (per peer: ≤ 25 messages/s). */
export const TX_BATCH_FLUSH_MS = 40;

const HEADER = 2;
const PER_TX = 4;

/** Write `txs` as `u32 length | bytes` entries into `b` from `at`; returns the offset after them. */
export function writeTxList(b: Buffer, at: number, txs: readonly Uint8Array[]): number {
  for (const t of txs) {
    b.writeUInt32BE(t.length, at);
    b.set(t, at + PER_TX);
    at += PER_TX + t.length;
  }
  return at;
}

/**
 * Read `count` `u32 length | transaction` entries from `b` at `at`, which must end exactly at
 * `b`'s end; every fault is `decode-failed` naming `what`. Each transaction is a copy: a pooled
 * transaction must not keep the whole frame's buffer alive. The copy comes from Node's shared
 * Buffer pool (`Buffer.allocUnsafe`, as every small Buffer the node makes, RPC's hex decoding
 * included): a fresh ArrayBuffer per transaction cost ~2 µs of CPU with its GC against ~0.4 µs,
 * and a pooled transaction keeps at most one 8 KiB pool slab alive, never a frame. With `wanted`,
 * an entry whose txid it refuses is skipped undecoded (see decodeTxBatch).
 */
export function readTxList(b: Buffer, at: number, count: number, what: string, wanted?: (txidHex: string, bytes: Uint8Array) => boolean): Transaction[] {
  const bad = (why: string): never => {
    throw new P2pError(P2pCode.DecodeFailed, `${what}: ${why}`);
  };
  // Each entry needs at least its length prefix: refuse an impossible count before decoding any.
  if (at + count * PER_TX > b.length) bad(`${count} transactions cannot fit in ${b.length} bytes`);
  const txs: Transaction[] = [];
  for (let i = 0; i < count; i++) {
    if (at + PER_TX > b.length) bad('truncated');
    const len = b.readUInt32BE(at);
    at += PER_TX;
    if (len === 0 || len > MAX_TX_SIZE || at + len > b.length) bad(`transaction ${i} of ${len} bytes does not fit (truncated)`);
    const entry = b.subarray(at, at + len);
    const id = wanted === undefined ? null : txidHexOfEncoding(entry);
    if (id === null || wanted!(id, entry)) {
      try {
        const copy = Buffer.allocUnsafe(len);
        b.copy(copy, 0, at, at + len);
        txs.push(decodeTransaction(copy, MAX_TX_SIZE));
      } catch (err) {
        bad(`transaction ${i}: ${(err as Error).message}`);
      }
    }
    at += len;
  }
  if (at !== b.length) bad(`${b.length - at} trailing bytes`);
  return txs;
}

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
    writeTxList(b, HEADER, part);
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

/**
 * Decode a frame into transactions; any fault is `decode-failed` (the sender is charged). With
 * `wanted`, a transaction whose txid (or encoding, its second argument) it refuses is skipped
 * without being decoded (its entry's framing is still checked; an undecodable one is always
 * decoded, to be refused).
 */
export function decodeTxBatch(bytes: Uint8Array, wanted?: (txidHex: string, bytes: Uint8Array) => boolean): Transaction[] {
  const bad = (why: string): never => {
    throw new P2pError(P2pCode.DecodeFailed, `tx batch: ${why}`);
  };
  if (bytes.length < HEADER) bad('short header');
  if (bytes.length > TX_BATCH_MAX_BYTES) bad(`${bytes.length} bytes`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const count = b.readUInt16BE(0);
  if (count < 1 || count > TX_BATCH_MAX_COUNT) bad(`count ${count} not in 1..${TX_BATCH_MAX_COUNT}`);
  return readTxList(b, HEADER, count, 'tx batch', wanted);
}

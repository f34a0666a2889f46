/**
 * Blocks (SPEC §4): header and body encoding, block hash, txRoot. Decoding checks every count
 * and length against the remaining bytes before allocating and throws only DecodeError.
 */
import { hash } from 'node:crypto';
import { ByteReader, ByteWriter } from './bytes.js';
import { BLOCK_VERSION, MAX_BLOCK_SIZE } from './constants.js';
import { DecodeCode, DecodeError } from './errors.js';
import { sha256 } from './hash.js';
import { MIN_TX_SIZE, decodeTransaction, type Transaction } from './transaction.js';

export interface BlockHeader {
  readonly version: number;
  readonly height: number;
  readonly prevHash: Uint8Array;
  readonly txRoot: Uint8Array;
  readonly timestampMs: number;
  /** Operator public key of the proposer. */
  readonly proposer: Uint8Array;
  readonly view: number;
}

export interface Block {
  readonly header: BlockHeader;
  readonly txs: readonly Transaction[];
  /** SHA-256 of the encoded header. */
  readonly hash: Uint8Array;
  /** The canonical encoding (header then body). */
  readonly bytes: Uint8Array;
}

export const HEADER_SIZE = 1 + 8 + 32 + 32 + 8 + 32 + 4;
export const ZERO_HASH: Uint8Array = new Uint8Array(32);

/** Encode a header (117 bytes). */
export function encodeHeader(h: BlockHeader): Buffer {
  return new ByteWriter(HEADER_SIZE)
    .u8(h.version)
    .u64(BigInt(h.height))
    .bytes(h.prevHash)
    .bytes(h.txRoot)
    .u64(BigInt(h.timestampMs))
    .bytes(h.proposer)
    .u32(h.view)
    .finish();
}

/** Block hash = SHA-256(header). */
export function blockHash(h: BlockHeader): Uint8Array {
  return sha256(encodeHeader(h));
}

const LEAF = 0x00;
const NODE = 0x01;

/**
 * SPEC §4 txRoot: leaves H(0x00||txid), nodes H(0x01||l||r), odd last node carried up.
 * Every node computes it for every block (the leader twice), ~2 hashes per transaction: each hash
 * is one one-shot call over a reused 65-byte scratch buffer, and the digests in between are
 * 32-character latin1 ('binary') strings (one byte per character), not Buffers — a Buffer digest is a fresh
 * ArrayBuffer each time, and the Hash-object version cost ~8 µs of CPU per transaction against
 * ~2.2 µs (docs/performance.md).
 */
export function computeTxRoot(txids: readonly Uint8Array[]): Uint8Array {
  if (txids.length === 0) return ZERO_HASH;
  const scratch = Buffer.allocUnsafe(65);
  const leafInput = scratch.subarray(0, 33);
  let level: string[] = new Array<string>(txids.length);
  scratch[0] = LEAF;
  for (let i = 0; i < txids.length; i++) {
    const id = txids[i]!;
    if (id.length !== 32) throw new TypeError(`txid must be 32 bytes, got ${id.length}`);
    scratch.set(id, 1);
    level[i] = hash('sha256', leafInput, 'binary');
  }
  scratch[0] = NODE;
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      scratch.write(level[i]!, 1, 'latin1');
      scratch.write(level[i + 1]!, 33, 'latin1');
      next.push(hash('sha256', scratch, 'binary'));
    }
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return Buffer.from(level[0]!, 'latin1');
}

/** Exact encoded size of a block holding these transactions. */
export function encodedBlockSize(txs: readonly Transaction[]): number {
  let size = HEADER_SIZE + 4;
  for (const tx of txs) size += 4 + tx.bytes.length;
  return size;
}

export interface BlockFields {
  readonly height: number;
  readonly prevHash: Uint8Array;
  readonly timestampMs: number;
  readonly proposer: Uint8Array;
  readonly view: number;
  readonly txs: readonly Transaction[];
}

/** Build a block, computing its txRoot, encoding and hash. */
export function createBlock(f: BlockFields): Block {
  const header: BlockHeader = Object.freeze({
    version: BLOCK_VERSION,
    height: f.height,
    prevHash: f.prevHash,
    txRoot: computeTxRoot(f.txs.map((t) => t.txid)),
    timestampMs: f.timestampMs,
    proposer: f.proposer,
    view: f.view,
  });
  return assemble(header, [...f.txs]);
}

function assemble(header: BlockHeader, txs: Transaction[]): Block {
  const headerBytes = encodeHeader(header);
  const w = new ByteWriter(encodedBlockSize(txs)).bytes(headerBytes).u32(txs.length);
  for (const tx of txs) w.u32(tx.bytes.length).bytes(tx.bytes);
  return Object.freeze({ header, txs: Object.freeze(txs), hash: sha256(headerBytes), bytes: w.finish() });
}

/** Decode a header from exactly HEADER_SIZE bytes or from the front of a reader. */
export function readHeader(r: ByteReader): BlockHeader {
  const version = r.u8('block version');
  if (version !== BLOCK_VERSION) throw new DecodeError(DecodeCode.BadVersion, `unknown block version ${version}`);
  return Object.freeze({
    version,
    height: r.u64Number('height'),
    prevHash: r.bytes(32, 'prevHash'),
    txRoot: r.bytes(32, 'txRoot'),
    timestampMs: r.u64Number('timestamp'),
    proposer: r.bytes(32, 'proposer'),
    view: r.u32('view'),
  });
}

/**
 * A transaction already decoded from exactly these bytes, or undefined (decodeBlock's `known`):
 * the mempool answers it for a proposal's transactions, most of which it holds.
 */
export type KnownTransaction = (encoding: Uint8Array) => Transaction | undefined;

/**
 * Decode one block that must span `bytes` exactly (≤ MAX_BLOCK_SIZE). A transaction `known`
 * returns is used as it is instead of being decoded again: a value decoded from the same bytes is
 * the same value, and a replica's proposal repeats its pool (on a loaded validator each decoded
 * block was ~1.2 KB of heap per transaction living through the round, docs/performance.md).
 */
export function decodeBlock(bytes: Uint8Array, known?: KnownTransaction): Block {
  if (bytes.length > MAX_BLOCK_SIZE) throw new DecodeError(DecodeCode.TooLarge, `block of ${bytes.length} bytes exceeds ${MAX_BLOCK_SIZE}`);
  const r = new ByteReader(bytes);
  const header = readHeader(r);
  const txCount = r.count(4 + MIN_TX_SIZE, Number.MAX_SAFE_INTEGER, 'txCount');
  const txs: Transaction[] = new Array(txCount);
  for (let i = 0; i < txCount; i++) {
    const len = r.count(1, MAX_BLOCK_SIZE, 'transaction length');
    const encoding = r.bytes(len, 'transaction');
    txs[i] = known?.(encoding) ?? decodeTransaction(encoding);
  }
  r.end('block');
  const headerBytes = bytes.subarray(0, HEADER_SIZE);
  return Object.freeze({ header, txs: Object.freeze(txs), hash: sha256(headerBytes), bytes });
}

/** Decode just the header of encoded block bytes (cheap: for hashing and sync). */
export function decodeBlockHeader(bytes: Uint8Array): BlockHeader {
  const r = new ByteReader(bytes.subarray(0, HEADER_SIZE));
  return readHeader(r);
}

/** Hash of encoded block bytes without decoding the body (consensus's hashBlock). */
export function hashBlockBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.length < HEADER_SIZE) throw new DecodeError(DecodeCode.Truncated, 'block shorter than its header');
  return sha256(bytes.subarray(0, HEADER_SIZE));
}

/**
 * Read-only queries over the chain database (blocks, transactions, address index, whole-set
 * scans). They take the raw LevelDB handle so ChainStore stays about writes and caches.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Level } from 'level';
import { decodeBlock, type Block } from './block.js';
import { DecodeError, StoreCode, StoreError } from './errors.js';
import { bytesEqual, toHex } from './hash.js';
import {
  Prefix,
  TIP_KEY,
  addressRange,
  blockKey,
  certificateKey,
  decodeAddressEntry,
  decodePointer,
  decodeTxLocation,
  decodeMasternode,
  decodeUtxo,
  heightKey,
  parseAddressKey,
  parseUtxoKey,
  prefixRange,
  txKey,
} from './layout.js';
import { createHash } from 'node:crypto';
import { decodeTransaction, outpointKey, type Transaction } from './transaction.js';
import type { UtxoEntry, UtxoView } from './utxo.js';
import { MasternodeRegistry } from './masternode.js';

export type ChainDb = Level<Buffer, Buffer>;

/** Single-key reads (the store's, which look through held connects first). */
export interface KeyReader {
  get(key: Buffer): Promise<Buffer | undefined>;
}

/** A confirmed transaction and where it is. */
export interface TxRecord {
  readonly tx: Transaction;
  readonly blockHash: Uint8Array;
  readonly height: number;
  /** Index of the transaction inside its block (0 = coinbase). */
  readonly position: number;
}

/** One unspent output of an address, as listunspent reports it. */
export interface AddressUtxo {
  readonly txid: Uint8Array;
  readonly index: number;
  readonly amount: bigint;
  readonly height: number;
}

/** Summary of the whole UTXO set at one consistent moment (gettxoutsetinfo). */
export interface UtxoSetInfo {
  /** Tip the scan saw. */
  readonly height: number;
  readonly bestHash: Uint8Array;
  readonly count: number;
  readonly totalAmount: bigint;
  /** SHA-256 over every entry in key order: txid 32 · index u32BE · UTXO value 49 (docs/storage.md). */
  readonly hash: Uint8Array;
}

const ITER_BATCH = 1000;

/**
 * A synchronous UTXO view over one getMany prefetch. Outpoints that were not prefetched (e.g. a
 * registration's collateral) fall through to a live getSync read rather than reading as spent.
 */
export class PrefetchedView implements UtxoView {
  constructor(
    private readonly entries: Map<string, UtxoEntry | undefined>,
    private readonly fallback: (txid: Uint8Array, index: number) => UtxoEntry | undefined,
    private readonly penalties: (txid: Uint8Array, index: number, key?: string) => bigint,
  ) {}
  penaltyOf(txid: Uint8Array, index: number, key?: string): bigint {
    return this.penalties(txid, index, key);
  }
  /** The prefetched entries by outpointKey (undefined: not in the UTXO set). */
  get loaded(): ReadonlyMap<string, UtxoEntry | undefined> {
    return this.entries;
  }
  getUtxo(txid: Uint8Array, index: number, key = outpointKey(txid, index)): UtxoEntry | undefined {
    if (this.entries.has(key)) return this.entries.get(key);
    return this.fallback(txid, index);
  }
}

/** Decode stored block bytes; a failure means the database is damaged. */
export function decodeStoredBlock(bytes: Uint8Array, expectedHash: Uint8Array): Block {
  let block: Block;
  try {
    block = decodeBlock(bytes);
  } catch (e) {
    if (e instanceof DecodeError) throw new StoreError(StoreCode.Corrupt, `stored block ${toHex(expectedHash)} does not decode`, { cause: e });
    throw e;
  }
  if (!bytesEqual(block.hash, expectedHash)) throw new StoreError(StoreCode.Corrupt, `stored block ${toHex(expectedHash)} hashes to ${toHex(block.hash)}`);
  return block;
}

/** The block with this hash, if stored. */
export async function getBlock(db: KeyReader, hash: Uint8Array): Promise<Block | undefined> {
  const bytes = await db.get(blockKey(hash));
  return bytes === undefined ? undefined : decodeStoredBlock(bytes, hash);
}

/** Hash of the best-chain block at `height`, if any. */
export async function getBlockHash(db: KeyReader, height: number): Promise<Uint8Array | undefined> {
  if (!Number.isSafeInteger(height) || height < 0) return undefined;
  const v = await db.get(heightKey(height));
  if (v !== undefined && v.length !== 32) throw new StoreError(StoreCode.Corrupt, `height index ${height} is damaged`);
  return v;
}

/** Whether `txid` is in a connected block: the txid index alone, no block read. */
export async function hasTransaction(db: KeyReader, txid: Uint8Array): Promise<boolean> {
  return (await db.get(txKey(txid))) !== undefined;
}

/** A confirmed transaction by txid, decoding only its byte range of the block. */
export async function getTransaction(db: KeyReader, txid: Uint8Array): Promise<TxRecord | undefined> {
  const raw = await db.get(txKey(txid));
  if (raw === undefined) return undefined;
  const loc = decodeTxLocation(raw);
  const block = await db.get(blockKey(loc.blockHash));
  if (block === undefined || loc.offset + loc.length > block.length) {
    throw new StoreError(StoreCode.Corrupt, `txid index of ${toHex(txid)} points outside its block`);
  }
  let tx: Transaction;
  try {
    tx = decodeTransaction(block.subarray(loc.offset, loc.offset + loc.length));
  } catch (e) {
    throw new StoreError(StoreCode.Corrupt, `indexed transaction ${toHex(txid)} does not decode`, { cause: e });
  }
  if (!bytesEqual(tx.txid, txid)) throw new StoreError(StoreCode.Corrupt, `txid index of ${toHex(txid)} points at another transaction`);
  return { tx, blockHash: loc.blockHash, height: loc.height, position: loc.position };
}

/** Every unspent output locked to `publicKey`, ordered by (txid, index). */
export async function getAddressUtxos(db: ChainDb, publicKey: Uint8Array): Promise<AddressUtxo[]> {
  if (publicKey.length !== 32) throw new TypeError('public key must be 32 bytes');
  const out: AddressUtxo[] = [];
  const it = db.iterator(addressRange(publicKey));
  try {
    for (;;) {
      const batch = await it.nextv(ITER_BATCH);
      if (batch.length === 0) break;
      for (const [k, v] of batch) {
        const { txid, index } = parseAddressKey(k);
        const { amount, height } = decodeAddressEntry(v);
        out.push({ txid, index, amount, height });
      }
    }
  } finally {
    await it.close();
  }
  return out;
}

/**
 * Scan the whole UTXO set under one LevelDB snapshot, so the tip, count, total and hash all
 * describe the same instant even while blocks keep connecting.
 */
export async function scanUtxoSet(db: ChainDb): Promise<UtxoSetInfo> {
  const snapshot = db.snapshot();
  try {
    const tipRaw = await db.get(TIP_KEY, { snapshot });
    if (tipRaw === undefined) throw new StoreError(StoreCode.NotInitialized, 'the chain database holds no chain yet');
    const tip = decodePointer(tipRaw);
    const h = createHash('sha256');
    let count = 0;
    let totalAmount = 0n;
    const it = db.iterator({ ...prefixRange(Prefix.Utxo), snapshot });
    try {
      for (;;) {
        const batch = await it.nextv(ITER_BATCH);
        if (batch.length === 0) break;
        for (const [k, v] of batch) {
          parseUtxoKey(k); // validates the key shape
          totalAmount += decodeUtxo(v).amount; // validates the value
          h.update(k.subarray(1));
          h.update(v);
          count++;
        }
      }
    } finally {
      await it.close();
    }
    return { height: tip.height, bestHash: tip.hash, count, totalAmount, hash: h.digest() };
  } finally {
    await snapshot.close();
  }
}

/** Bytes the database directory occupies on disk (tables, logs, manifest). */
export async function directorySizeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    try {
      const s = await stat(join(dir, name));
      if (s.isFile()) total += s.size;
    } catch {
      // A table file removed by a concurrent compaction: it no longer counts.
    }
  }
  return total;
}

/** Load the whole masternode registry (`n` records and `e` evidence keys) into memory. */
export async function loadRegistry(db: ChainDb): Promise<MasternodeRegistry> {
  const reg = new MasternodeRegistry();
  for await (const [k, v] of db.iterator(prefixRange(Prefix.Masternode))) {
    const r = decodeMasternode(v);
    if (k.length !== 33 || !bytesEqual(k.subarray(1), r.operator)) throw new StoreError(StoreCode.Corrupt, 'masternode record under the wrong key');
    reg.put(r);
  }
  for await (const [k] of db.iterator(prefixRange(Prefix.Evidence))) {
    if (k.length !== 66) throw new StoreError(StoreCode.Corrupt, 'evidence index key of the wrong length');
    reg.addEvidence(k.subarray(1));
  }
  return reg;
}

/** One final block as stored, with its commit certificate (the bytes block sync serves). */
export interface RawFinalBlock {
  readonly block: Buffer;
  readonly cert: Buffer;
}

/**
 * The stored bytes of best-chain blocks `from`, `from + 1`, … up to `finalHeight` (at most `count`,
 * stopping before their sizes plus 8 framing bytes each would pass `maxBytes`, or at a block
 * without a certificate), for serving block sync. Reads in chunks sized from the blocks seen so
 * far: a range of small blocks costs a few reads, one of 2 MB blocks never loads more than fits.
 * Blocks are served as stored (the receiver verifies everything); only a damaged index is refused.
 */
export async function readFinalRange(
  readMany: (keys: Buffer[]) => Promise<(Buffer | undefined)[]>,
  finalHeight: number,
  from: number,
  count: number,
  maxBytes: number,
): Promise<RawFinalBlock[]> {
  const last = Math.min(finalHeight, from + count - 1);
  if (!Number.isSafeInteger(from) || from < 0 || last < from) return [];
  const hashes = await readMany(Array.from({ length: last - from + 1 }, (_, i) => heightKey(from + i)));
  const out: RawFinalBlock[] = [];
  let bytes = 0;
  let chunk = 8;
  for (let i = 0; i < hashes.length; ) {
    const part: Buffer[] = [];
    for (const h of hashes.slice(i, i + chunk)) {
      if (h === undefined) break;
      if (h.length !== 32) throw new StoreError(StoreCode.Corrupt, `height index ${from + i + part.length} is damaged`);
      part.push(h);
    }
    if (part.length === 0) break;
    const values = await readMany([...part.map((h) => blockKey(h)), ...part.map((h) => certificateKey(h))]);
    for (let j = 0; j < part.length; j++) {
      const block = values[j];
      const cert = values[part.length + j];
      if (block === undefined || cert === undefined) return out;
      const add = 8 + block.length + cert.length;
      if (bytes + add > maxBytes) return out;
      bytes += add;
      out.push({ block, cert });
    }
    if (part.length < chunk) break;
    i += part.length;
    chunk = Math.max(1, Math.min(64, Math.floor((maxBytes - bytes) / (bytes / out.length))));
  }
  return out;
}

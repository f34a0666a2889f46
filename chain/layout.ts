/**
 * The whole LevelDB key layout of the chain store, in one place (bcoin layout.js style).
 * Every key is a one-byte ASCII prefix followed by fixed-width fields; integers inside keys are
 * big-endian so that LevelDB's byte order is numeric order. Values use the project's
 * little-endian codec (chain/bytes.ts). docs/storage.md carries the same table.
 *
 * | key                                   | value                                                      |
 * | ------------------------------------- | ---------------------------------------------------------- |
 * | `u` txid(32) index(u32BE)             | UTXO: amount u64 · pubkey 32 · height u64 · flags u8       |
 * | `U` blockHash(32)                     | undo: u32 n · n × (txid 32 · index u32 · UTXO value)      |
 * | `b` blockHash(32)                     | encoded block (SPEC §4)                                    |
 * | `h` height(u64BE)                     | blockHash 32                                               |
 * | `m` blockHash(32)                     | meta: height u64 · txCount u32 · utxoCount u64 · utxoTotal u64 (after the block) |
 * | `t` txid(32)                          | blockHash 32 · height u64 · position u32 · offset u32 · length u32 |
 * | `a` pubkey(32) txid(32) index(u32BE)  | amount u64 · height u64                                   |
 * | `c` blockHash(32)                     | commit certificate (opaque bytes)                         |
 * | `T`                                   | tip: blockHash 32 · height u64                             |
 * | `F`                                   | finalized: blockHash 32 · height u64                       |
 * | `M`                                   | chain meta: schema u8 · chainId 32 · u8 len · network (ASCII) |
 * | `S`                                   | UTXO stats: count u64 · totalAmount u64                   |
 * | `n` operator(32)                      | masternode record (encodeMasternode)                       |
 * | `k` collateralTxid(32) index(u32BE)   | operator 32 (collateral → registration index)              |
 * | `e` evidenceKey(65)                   | height u64 of the block that recorded the offence          |
 * | `R` blockHash(32)                     | registry undo: before-images of touched records, added evidence keys |
 *
 * Every decoder checks the exact length and throws StoreError(Corrupt) on anything else: a
 * value that does not decode means the database is damaged, never that a peer sent bad data.
 */
import { ByteReader, ByteWriter } from './bytes.js';
import { MAX_U64 } from './constants.js';
import { DecodeError, StoreCode, StoreError } from './errors.js';
import type { UtxoEntry } from './utxo.js';
import type { MasternodeRecord } from './masternode.js';

/** Version of this layout, stored under `M`; a database with another version is refused. */
export const SCHEMA_VERSION = 2;

export const Prefix = {
  Utxo: 0x75, // 'u'
  Undo: 0x55, // 'U'
  Block: 0x62, // 'b'
  Height: 0x68, // 'h'
  BlockMeta: 0x6d, // 'm'
  Tx: 0x74, // 't'
  Address: 0x61, // 'a'
  Certificate: 0x63, // 'c'
  Tip: 0x54, // 'T'
  Finalized: 0x46, // 'F'
  ChainMeta: 0x4d, // 'M'
  Stats: 0x53, // 'S'
  Masternode: 0x6e, // 'n'
  Collateral: 0x6b, // 'k'
  Evidence: 0x65, // 'e'
  RegistryUndo: 0x52, // 'R'
} as const;

// ---------------------------------------------------------------- keys

function hashKey(prefix: number, hash: Uint8Array): Buffer {
  if (hash.length !== 32) throw new TypeError(`key hash must be 32 bytes, got ${hash.length}`);
  const k = Buffer.allocUnsafe(33);
  k[0] = prefix;
  k.set(hash, 1);
  return k;
}

/** `u` txid index → UTXO entry. */
export function utxoKey(txid: Uint8Array, index: number): Buffer {
  const k = Buffer.allocUnsafe(37);
  k[0] = Prefix.Utxo;
  k.set(txid, 1);
  k.writeUInt32BE(index, 33);
  return k;
}

/** Split a `u` key back into its outpoint. */
export function parseUtxoKey(key: Uint8Array): { txid: Uint8Array; index: number } {
  if (key.length !== 37 || key[0] !== Prefix.Utxo) throw corrupt('utxo key');
  const b = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return { txid: b.subarray(1, 33), index: b.readUInt32BE(33) };
}

export const undoKey = (hash: Uint8Array): Buffer => hashKey(Prefix.Undo, hash);
export const blockKey = (hash: Uint8Array): Buffer => hashKey(Prefix.Block, hash);
export const blockMetaKey = (hash: Uint8Array): Buffer => hashKey(Prefix.BlockMeta, hash);
export const txKey = (txid: Uint8Array): Buffer => hashKey(Prefix.Tx, txid);
export const certificateKey = (hash: Uint8Array): Buffer => hashKey(Prefix.Certificate, hash);
export const TIP_KEY: Buffer = Buffer.of(Prefix.Tip);
export const FINALIZED_KEY: Buffer = Buffer.of(Prefix.Finalized);
export const CHAIN_META_KEY: Buffer = Buffer.of(Prefix.ChainMeta);
export const STATS_KEY: Buffer = Buffer.of(Prefix.Stats);

/** `h` height → block hash. */
export function heightKey(height: number): Buffer {
  const k = Buffer.allocUnsafe(9);
  k[0] = Prefix.Height;
  k.writeBigUInt64BE(BigInt(height), 1);
  return k;
}

/** `a` pubkey txid index → amount, height. */
export function addressKey(publicKey: Uint8Array, txid: Uint8Array, index: number): Buffer {
  const k = Buffer.allocUnsafe(69);
  k[0] = Prefix.Address;
  k.set(publicKey, 1);
  k.set(txid, 33);
  k.writeUInt32BE(index, 65);
  return k;
}

/** Split an `a` key into its public key and outpoint. */
export function parseAddressKey(key: Uint8Array): { publicKey: Uint8Array; txid: Uint8Array; index: number } {
  if (key.length !== 69 || key[0] !== Prefix.Address) throw corrupt('address key');
  const b = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return { publicKey: b.subarray(1, 33), txid: b.subarray(33, 65), index: b.readUInt32BE(65) };
}

/** [gte, lt) bounds covering every key of a one-byte prefix. */
export function prefixRange(prefix: number): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.of(prefix), lt: Buffer.of(prefix + 1) };
}

/** [gte, lt) bounds covering every `a` key of one public key. */
export function addressRange(publicKey: Uint8Array): { gte: Buffer; lt: Buffer } {
  const gte = hashKey(Prefix.Address, publicKey);
  // 33 bytes of prefix+pubkey followed by 0xff.. sorts after every 69-byte key under it.
  const lt = Buffer.concat([gte, Buffer.alloc(37, 0xff)]);
  return { gte, lt };
}

// ---------------------------------------------------------------- values

function corrupt(what: string, cause?: unknown): StoreError {
  return new StoreError(StoreCode.Corrupt, `corrupt ${what} in the chain database`, cause === undefined ? undefined : { cause });
}

/** Run a decoder, turning any decode failure (truncation, trailing bytes, range) into Corrupt. */
function decodeWith<T>(bytes: Uint8Array, what: string, fn: (r: ByteReader) => T): T {
  try {
    const r = new ByteReader(bytes);
    const v = fn(r);
    r.end(what);
    return v;
  } catch (e) {
    if (e instanceof StoreError) throw e;
    if (e instanceof DecodeError) throw corrupt(what, e);
    throw e;
  }
}

function checkU64(v: bigint, what: string): bigint {
  if (v < 0n || v > MAX_U64) throw new RangeError(`${what} ${v} does not fit a u64`);
  return v;
}

export const UTXO_VALUE_SIZE = 8 + 32 + 8 + 1;
const FLAG_COINBASE = 0x01;

function writeUtxo(w: ByteWriter, e: UtxoEntry): void {
  w.u64(checkU64(e.amount, 'amount')).bytes(e.publicKey).u64(BigInt(e.height)).u8(e.coinbase ? FLAG_COINBASE : 0);
}

function readUtxo(r: ByteReader): UtxoEntry {
  const amount = r.u64();
  const publicKey = r.bytes(32);
  const height = r.u64Number('utxo height');
  const flags = r.u8();
  if ((flags & ~FLAG_COINBASE) !== 0) throw corrupt('utxo flags');
  return { amount, publicKey, height, coinbase: (flags & FLAG_COINBASE) !== 0 };
}

/** Encode a UTXO entry (49 bytes). */
export function encodeUtxo(e: UtxoEntry): Buffer {
  const w = new ByteWriter(UTXO_VALUE_SIZE);
  writeUtxo(w, e);
  return w.finish();
}

/** Decode a UTXO entry. */
export function decodeUtxo(bytes: Uint8Array): UtxoEntry {
  return decodeWith(bytes, 'utxo entry', readUtxo);
}

/** One entry a block spent, as the undo record keeps it. */
export interface UndoEntry {
  readonly txid: Uint8Array;
  readonly index: number;
  readonly entry: UtxoEntry;
}

const UNDO_ITEM_SIZE = 32 + 4 + UTXO_VALUE_SIZE;

/** Encode an undo record: the pre-existing entries a block spent, in input order. */
export function encodeUndo(items: readonly UndoEntry[]): Buffer {
  const w = new ByteWriter(4 + items.length * UNDO_ITEM_SIZE).u32(items.length);
  for (const it of items) {
    w.bytes(it.txid).u32(it.index);
    writeUtxo(w, it.entry);
  }
  return w.finish();
}

/** Decode an undo record. */
export function decodeUndo(bytes: Uint8Array): UndoEntry[] {
  return decodeWith(bytes, 'undo record', (r) => {
    const n = r.count(UNDO_ITEM_SIZE, Number.MAX_SAFE_INTEGER, 'undo count');
    const items: UndoEntry[] = new Array(n);
    for (let i = 0; i < n; i++) items[i] = { txid: r.bytes(32), index: r.u32(), entry: readUtxo(r) };
    return items;
  });
}

/** Per-block metadata; the stats are those of the UTXO set right after the block connected. */
export interface BlockMeta {
  readonly height: number;
  readonly txCount: number;
  readonly utxoCount: number;
  readonly utxoTotal: bigint;
}

/** Encode block meta (28 bytes). */
export function encodeBlockMeta(m: BlockMeta): Buffer {
  return new ByteWriter(28).u64(BigInt(m.height)).u32(m.txCount).u64(BigInt(m.utxoCount)).u64(checkU64(m.utxoTotal, 'utxo total')).finish();
}

/** Decode block meta. */
export function decodeBlockMeta(bytes: Uint8Array): BlockMeta {
  return decodeWith(bytes, 'block meta', (r) => ({
    height: r.u64Number('meta height'),
    txCount: r.u32(),
    utxoCount: r.u64Number('meta utxo count'),
    utxoTotal: r.u64(),
  }));
}

/** Where a transaction lives: its block, the block's height, its position and byte range in the block. */
export interface TxLocation {
  readonly blockHash: Uint8Array;
  readonly height: number;
  readonly position: number;
  readonly offset: number;
  readonly length: number;
}

/** Encode a txid-index value (52 bytes). */
export function encodeTxLocation(l: TxLocation): Buffer {
  return new ByteWriter(52).bytes(l.blockHash).u64(BigInt(l.height)).u32(l.position).u32(l.offset).u32(l.length).finish();
}

/** Decode a txid-index value. */
export function decodeTxLocation(bytes: Uint8Array): TxLocation {
  return decodeWith(bytes, 'tx location', (r) => ({
    blockHash: r.bytes(32),
    height: r.u64Number('tx height'),
    position: r.u32(),
    offset: r.u32(),
    length: r.u32(),
  }));
}

/** Value of an address-index entry. */
export interface AddressEntry {
  readonly amount: bigint;
  readonly height: number;
}

/** Encode an address-index value (16 bytes). */
export function encodeAddressEntry(e: AddressEntry): Buffer {
  return new ByteWriter(16).u64(checkU64(e.amount, 'amount')).u64(BigInt(e.height)).finish();
}

/** Decode an address-index value. */
export function decodeAddressEntry(bytes: Uint8Array): AddressEntry {
  return decodeWith(bytes, 'address entry', (r) => ({ amount: r.u64(), height: r.u64Number('address height') }));
}

/** A (hash, height) pointer: the tip and the finalized block. */
export interface ChainPointer {
  readonly height: number;
  readonly hash: Uint8Array;
}

/** Encode a chain pointer (40 bytes). */
export function encodePointer(p: ChainPointer): Buffer {
  return new ByteWriter(40).bytes(p.hash).u64(BigInt(p.height)).finish();
}

/** Decode a chain pointer. */
export function decodePointer(bytes: Uint8Array): ChainPointer {
  return decodeWith(bytes, 'chain pointer', (r) => {
    const hash = r.bytes(32);
    return { hash, height: r.u64Number('pointer height') };
  });
}

/** Identity of the chain a database belongs to. */
export interface ChainMeta {
  readonly schemaVersion: number;
  readonly chainId: Uint8Array;
  readonly network: string;
}

/** Encode chain meta. */
export function encodeChainMeta(m: ChainMeta): Buffer {
  const name = Buffer.from(m.network, 'ascii');
  if (name.length > 255) throw new RangeError('network name too long');
  return new ByteWriter(1 + 32 + 1 + name.length).u8(m.schemaVersion).bytes(m.chainId).u8(name.length).bytes(name).finish();
}

/** Decode chain meta. */
export function decodeChainMeta(bytes: Uint8Array): ChainMeta {
  return decodeWith(bytes, 'chain meta', (r) => {
    const schemaVersion = r.u8();
    const chainId = r.bytes(32);
    const network = r.bytes(r.u8()).toString('ascii');
    return { schemaVersion, chainId, network };
  });
}

/** Size and value of the UTXO set. */
export interface UtxoStats {
  readonly count: number;
  readonly totalAmount: bigint;
}

/** Encode UTXO stats (16 bytes). */
export function encodeStats(s: UtxoStats): Buffer {
  return new ByteWriter(16).u64(BigInt(s.count)).u64(checkU64(s.totalAmount, 'utxo total')).finish();
}

/** Decode UTXO stats. */
export function decodeStats(bytes: Uint8Array): UtxoStats {
  return decodeWith(bytes, 'utxo stats', (r) => ({ count: r.u64Number('utxo count'), totalAmount: r.u64() }));
}

// ---------------------------------------------------------------- masternode registry

export const masternodeKey = (operator: Uint8Array): Buffer => hashKey(Prefix.Masternode, operator);
export const registryUndoKey = (hash: Uint8Array): Buffer => hashKey(Prefix.RegistryUndo, hash);

/** `k` collateral outpoint → operator. */
export function collateralKey(txid: Uint8Array, index: number): Buffer {
  const k = utxoKey(txid, index);
  k[0] = Prefix.Collateral;
  return k;
}

/** `e` evidence dedup key (chain/evidence.ts evidenceKey, 65 bytes) → recording height. */
export function evidenceIndexKey(key: Uint8Array): Buffer {
  if (key.length !== 65) throw new TypeError('evidence key must be 65 bytes');
  const k = Buffer.allocUnsafe(66);
  k[0] = Prefix.Evidence;
  k.set(key, 1);
  return k;
}

const NO_HEIGHT = (1n << 64n) - 1n;

function writeMasternode(w: ByteWriter, m: MasternodeRecord): void {
  const addr = Buffer.from(m.addr, 'utf8');
  w.bytes(m.operator).bytes(m.owner).bytes(m.collateralTxid).u32(m.collateralIndex).u64(checkU64(m.collateralAmount, 'collateral'))
    .u64(BigInt(m.registeredHeight))
    .u64(m.spentHeight === null ? NO_HEIGHT : BigInt(m.spentHeight))
    .u64(m.bannedHeight === null ? NO_HEIGHT : BigInt(m.bannedHeight))
    .u64(checkU64(m.penalty, 'penalty')).u32(m.offences).u16(addr.length).bytes(addr);
}

function readOptHeight(r: ByteReader, what: string): number | null {
  const v = r.u64(what);
  if (v === NO_HEIGHT) return null;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(what);
  return Number(v);
}

function readMasternode(r: ByteReader): MasternodeRecord {
  const operator = r.bytes(32);
  const owner = r.bytes(32);
  const collateralTxid = r.bytes(32);
  const collateralIndex = r.u32();
  const collateralAmount = r.u64();
  const registeredHeight = r.u64Number('registered height');
  const spentHeight = readOptHeight(r, 'spent height');
  const bannedHeight = readOptHeight(r, 'banned height');
  const penalty = r.u64();
  const offences = r.u32();
  const addr = r.bytes(r.u16()).toString('utf8');
  return { operator, owner, collateralTxid, collateralIndex, collateralAmount, addr, registeredHeight, spentHeight, bannedHeight, penalty, offences };
}

const MN_FIXED = 32 + 32 + 32 + 4 + 8 + 8 + 8 + 8 + 8 + 4 + 2;

/** Encode a masternode record. */
export function encodeMasternode(m: MasternodeRecord): Buffer {
  const w = new ByteWriter(MN_FIXED + Buffer.byteLength(m.addr, 'utf8'));
  writeMasternode(w, m);
  return w.finish();
}

/** Decode a masternode record. */
export function decodeMasternode(bytes: Uint8Array): MasternodeRecord {
  return decodeWith(bytes, 'masternode record', readMasternode);
}

/** What connecting a block did to the registry, so disconnecting it can undo exactly that. */
export interface RegistryUndo {
  /** Each touched operator with its record before the block (null: the block registered it). */
  readonly before: readonly { readonly operator: Uint8Array; readonly record: MasternodeRecord | null }[];
  /** Evidence dedup keys the block recorded. */
  readonly evidence: readonly Uint8Array[];
}

/** Encode registry undo: u32 n · n × (operator 32 · u8 present · [u32 len · record]) · u32 m · m × key 65. */
export function encodeRegistryUndo(u: RegistryUndo): Buffer {
  const recs = u.before.map((b) => (b.record === null ? null : encodeMasternode(b.record)));
  let size = 8 + u.evidence.length * 65;
  for (const r of recs) size += 33 + (r === null ? 0 : 4 + r.length);
  const w = new ByteWriter(size).u32(u.before.length);
  u.before.forEach((b, i) => {
    const r = recs[i];
    w.bytes(b.operator).u8(r === null || r === undefined ? 0 : 1);
    if (r != null) w.u32(r.length).bytes(r);
  });
  w.u32(u.evidence.length);
  for (const k of u.evidence) w.bytes(k);
  return w.finish();
}

/** Decode registry undo. */
export function decodeRegistryUndo(bytes: Uint8Array): RegistryUndo {
  return decodeWith(bytes, 'registry undo', (r) => {
    const n = r.count(33, Number.MAX_SAFE_INTEGER, 'registry undo count');
    const before: { operator: Uint8Array; record: MasternodeRecord | null }[] = [];
    for (let i = 0; i < n; i++) {
      const operator = r.bytes(32);
      const present = r.u8();
      if (present > 1) throw corrupt('registry undo flag');
      before.push({ operator, record: present === 1 ? decodeMasternode(r.bytes(r.u32())) : null });
    }
    const m = r.count(65, Number.MAX_SAFE_INTEGER, 'registry undo evidence count');
    const evidence: Uint8Array[] = [];
    for (let i = 0; i < m; i++) evidence.push(r.bytes(65));
    return { before, evidence };
  });
}

/**
 * Pure planning of the one LevelDB batch that connects or disconnects a block. Nothing here
 * touches the database: the store reads what a plan asks for (one getMany), then hands the
 * results back and receives the complete operation list. Keeping the planner pure means every
 * check (missing input, duplicate txid, u64 overflow, undo mismatch) runs before the first byte
 * is written, so a refused block leaves the database untouched.
 */
import { HEADER_SIZE, type Block } from './block.js';
import { MAX_U64, TxKind } from './constants.js';
import { StoreCode, StoreError } from './errors.js';
import { toHex, bytesEqual } from './hash.js';
import {
  TIP_KEY,
  STATS_KEY,
  addressKey,
  blockKey,
  blockMetaKey,
  certificateKey,
  decodeUtxo,
  encodeAddressEntry,
  encodeBlockMeta,
  encodePointer,
  encodeStats,
  encodeTxLocation,
  encodeUndo,
  encodeUtxo,
  heightKey,
  txKey,
  undoKey,
  utxoKey,
  type BlockMeta,
  type ChainPointer,
  type UndoEntry,
  type UtxoStats,
} from './layout.js';
import { outputKey, type Transaction } from './transaction.js';
import type { UtxoEntry } from './utxo.js';

/** One operation of a LevelDB batch (keys and values are raw bytes). */
export type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export interface Outpoint {
  readonly txid: Uint8Array;
  readonly index: number;
}

/** An output the block leaves in the UTXO set (created and not spent within the same block). */
interface Created {
  readonly txid: Uint8Array;
  readonly index: number;
  readonly entry: UtxoEntry;
}

/** How a block changes the UTXO set, derived from the block alone. */
export interface BlockDelta {
  /** Inputs that spend outputs existing before the block, in block input order. */
  readonly external: readonly Outpoint[];
  /** Outputs the block adds to the UTXO set (outputs spent later in the same block excluded). */
  readonly created: readonly Created[];
}

/**
 * Walk the block in order. An input spending an output created earlier in the same block is
 * resolved in memory and appears in neither list; spending one outpoint twice, or repeating a
 * txid inside the block, is refused here (codes MissingInput / DuplicateTx).
 */
export function blockDelta(block: Block): BlockDelta {
  const height = block.header.height;
  const createdAt = new Map<string, Created>();
  const spent = new Set<string>();
  const txids = new Set<string>();
  const external: Outpoint[] = [];
  for (const tx of block.txs) {
    for (const input of tx.inputs) {
      const k = input.outpoint;
      if (spent.has(k)) {
        throw new StoreError(StoreCode.MissingInput, `input ${toHex(input.prevTxid)}:${input.prevIndex} spent twice in block ${height}`, {
          txid: tx.txidHex,
        });
      }
      spent.add(k);
      if (!createdAt.has(k)) external.push({ txid: input.prevTxid, index: input.prevIndex });
    }
    const id = tx.txidHex;
    if (txids.has(id)) throw new StoreError(StoreCode.DuplicateTx, `transaction ${id} appears twice in block ${height}`);
    txids.add(id);
    const coinbase = tx.kind === TxKind.Coinbase;
    tx.outputs.forEach((o, n) => {
      createdAt.set(outputKey(tx.txidHex, n), { txid: tx.txid, index: n, entry: { amount: o.amount, publicKey: o.publicKey, height, coinbase } });
    });
  }
  const created: Created[] = [];
  for (const [k, c] of createdAt) if (!spent.has(k)) created.push(c);
  return { external, created };
}

/** blockDelta of a block read back from the database: a failure there means damage. */
export function storedBlockDelta(block: Block): BlockDelta {
  try {
    return blockDelta(block);
  } catch (e) {
    throw new StoreError(StoreCode.Corrupt, `stored block ${block.header.height} does not replay`, { cause: e });
  }
}

/** Keys of the outputs a block left in the UTXO set (read back before disconnecting it). */
export function createdKeys(delta: BlockDelta): Buffer[] {
  return delta.created.map((c) => utxoKey(c.txid, c.index));
}

/** Keys the store must read before connecting: every external input, then the txids of txidIndexChecked. */
export function connectReadKeys(block: Block, delta: BlockDelta): Buffer[] {
  const keys = delta.external.map((o) => utxoKey(o.txid, o.index));
  for (const tx of txidIndexChecked(block)) keys.push(txKey(tx.txid));
  return keys;
}

/**
 * The transactions whose txid connect looks up in the index to refuse a repeat of one already in
 * the chain (the BIP30 problem: a repeat would overwrite its index entry and outputs): those
 * without inputs (the coinbase). A transaction with inputs cannot repeat a chain txid and get
 * this far: its inputs are the chain copy's, spent when that copy connected, so it is refused
 * MissingInput; an input created earlier in the same block comes from a transaction that would
 * itself be a repeat, refused the same way, down to an input-less one checked here. Reading the
 * index for every transaction cost a 2,000-transaction block 2,000 LevelDB reads on the commit
 * path (docs/performance.md, fifth session).
 */
export function txidIndexChecked(block: Block): Transaction[] {
  return block.txs.filter((tx) => tx.inputs.length === 0);
}

export interface ConnectPlan {
  readonly ops: BatchOp[];
  readonly tip: ChainPointer;
  readonly stats: UtxoStats;
}

function addStats(stats: UtxoStats, spent: readonly UtxoEntry[], created: readonly Created[]): UtxoStats {
  let total = stats.totalAmount;
  for (const e of spent) total -= e.amount;
  for (const c of created) total += c.entry.amount;
  const count = stats.count - spent.length + created.length;
  if (total < 0n || count < 0) throw new StoreError(StoreCode.Corrupt, 'UTXO stats would go negative: the stored stats are damaged');
  if (total > MAX_U64) throw new StoreError(StoreCode.ValueOutOfRange, `UTXO total ${total} exceeds the u64 range`);
  return { count, totalAmount: total };
}

/**
 * The complete batch for connecting `block` on top of the current state. `values` are the
 * getMany results for connectReadKeys(block, delta), in the same order.
 */
export function planConnect(
  block: Block,
  delta: BlockDelta,
  values: readonly (Buffer | undefined)[],
  stats: UtxoStats,
  certificate: Uint8Array | undefined,
): ConnectPlan {
  const { hash } = block;
  const height = block.header.height;
  const undo: UndoEntry[] = [];
  const ops: BatchOp[] = [];
  delta.external.forEach((o, i) => {
    const raw = values[i];
    if (raw === undefined) {
      throw new StoreError(StoreCode.MissingInput, `input ${toHex(o.txid)}:${o.index} is not in the UTXO set`, { txid: toHex(o.txid), index: o.index });
    }
    const entry = decodeUtxo(raw);
    undo.push({ txid: o.txid, index: o.index, entry });
    ops.push({ type: 'del', key: utxoKey(o.txid, o.index) });
    ops.push({ type: 'del', key: addressKey(entry.publicKey, o.txid, o.index) });
  });
  txidIndexChecked(block).forEach((tx, i) => {
    if (values[delta.external.length + i] !== undefined) {
      throw new StoreError(StoreCode.DuplicateTx, `transaction ${tx.txidHex} is already in the chain`, { txid: tx.txidHex });
    }
  });
  for (const c of delta.created) {
    if (c.entry.amount > MAX_U64) throw new StoreError(StoreCode.ValueOutOfRange, 'output amount exceeds the u64 range');
    ops.push({ type: 'put', key: utxoKey(c.txid, c.index), value: encodeUtxo(c.entry) });
    ops.push({ type: 'put', key: addressKey(c.entry.publicKey, c.txid, c.index), value: encodeAddressEntry(c.entry) });
  }
  // Byte offsets of each transaction inside the encoded block, so a txid lookup decodes one tx.
  let offset = HEADER_SIZE + 4;
  block.txs.forEach((tx, position) => {
    const length = tx.bytes.length;
    offset += 4;
    ops.push({ type: 'put', key: txKey(tx.txid), value: encodeTxLocation({ blockHash: hash, height, position, offset, length }) });
    offset += length;
  });
  const next = addStats(stats, undo.map((u) => u.entry), delta.created);
  const meta: BlockMeta = { height, txCount: block.txs.length, utxoCount: next.count, utxoTotal: next.totalAmount };
  const tip = { height, hash };
  ops.push(
    { type: 'put', key: undoKey(hash), value: encodeUndo(undo) },
    { type: 'put', key: blockKey(hash), value: Buffer.from(block.bytes) },
    { type: 'put', key: heightKey(height), value: Buffer.from(hash) },
    { type: 'put', key: blockMetaKey(hash), value: encodeBlockMeta(meta) },
    { type: 'put', key: STATS_KEY, value: encodeStats(next) },
    { type: 'put', key: TIP_KEY, value: encodePointer(tip) },
  );
  if (certificate !== undefined) ops.push({ type: 'put', key: certificateKey(hash), value: Buffer.from(certificate) });
  return { ops, tip, stats: next };
}

/**
 * The complete batch for disconnecting the tip `block`, given its undo record and the meta of
 * its parent (whose stored stats must equal the result: a cross-check against a damaged undo).
 */
export function planDisconnect(
  block: Block,
  delta: BlockDelta,
  createdValues: readonly (Buffer | undefined)[],
  undo: readonly UndoEntry[],
  stats: UtxoStats,
  parentMeta: BlockMeta,
): ConnectPlan {
  const { hash } = block;
  const height = block.header.height;
  // Every output the block left in the set must still be there, exactly as created.
  delta.created.forEach((c, i) => {
    const raw = createdValues[i];
    if (raw === undefined || !raw.equals(encodeUtxo(c.entry))) {
      throw new StoreError(StoreCode.Corrupt, `output ${toHex(c.txid)}:${c.index} of tip block ${height} is missing or altered`);
    }
  });
  if (undo.length !== delta.external.length) {
    throw new StoreError(StoreCode.Corrupt, `undo record of block ${height} holds ${undo.length} entries, the block spends ${delta.external.length}`);
  }
  const ops: BatchOp[] = [];
  for (const c of delta.created) {
    ops.push({ type: 'del', key: utxoKey(c.txid, c.index) });
    ops.push({ type: 'del', key: addressKey(c.entry.publicKey, c.txid, c.index) });
  }
  undo.forEach((u, i) => {
    const o = delta.external[i]!;
    if (!bytesEqual(o.txid, u.txid) || o.index !== u.index) {
      throw new StoreError(StoreCode.Corrupt, `undo record of block ${height} does not match input ${i}`);
    }
    ops.push({ type: 'put', key: utxoKey(u.txid, u.index), value: encodeUtxo(u.entry) });
    ops.push({ type: 'put', key: addressKey(u.entry.publicKey, u.txid, u.index), value: encodeAddressEntry(u.entry) });
  });
  // Reverse of connect: spent entries come back, created ones leave.
  let total = stats.totalAmount;
  for (const c of delta.created) total -= c.entry.amount;
  for (const u of undo) total += u.entry.amount;
  const next: UtxoStats = { count: stats.count - delta.created.length + undo.length, totalAmount: total };
  if (next.count !== parentMeta.utxoCount || next.totalAmount !== parentMeta.utxoTotal) {
    throw new StoreError(StoreCode.Corrupt, `UTXO stats after undoing block ${height} disagree with the parent's record`);
  }
  for (const tx of block.txs) ops.push({ type: 'del', key: txKey(tx.txid) });
  const tip = { height: height - 1, hash: block.header.prevHash };
  ops.push(
    { type: 'del', key: undoKey(hash) },
    { type: 'del', key: blockKey(hash) },
    { type: 'del', key: heightKey(height) },
    { type: 'del', key: blockMetaKey(hash) },
    { type: 'del', key: certificateKey(hash) },
    { type: 'put', key: STATS_KEY, value: encodeStats(next) },
    { type: 'put', key: TIP_KEY, value: encodePointer(tip) },
  );
  return { ops, tip, stats: next };
}

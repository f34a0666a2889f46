/**
 * ChainStore: the LevelDB-backed best chain. Every state change (connect, disconnect,
 * initialize) is exactly one db.batch() built in full before it is written (chain/store-batch.ts),
 * so a kill -9 at any instant leaves the old or the new tip, never a mix (docs/storage.md).
 * In-memory caches (tip, finalized, stats) change only after the batch has resolved, and
 * writes are serialized through one queue so two connects cannot both build on the same tip.
 * The one exception is a non-durable connect (ConnectOptions.durable = false, block sync): its
 * batch is held in memory (chain/store-pending.ts) and landed with the next write, every read
 * looking through it meanwhile; a kill loses a suffix of whole held blocks (docs/storage.md).
 */
import { mkdir } from 'node:fs/promises';
import { Level } from 'level';
import { ZERO_HASH, type Block } from './block.js';
import { StoreCode, StoreError } from './errors.js';
import { bytesEqual, toHex } from './hash.js';
import {
  CHAIN_META_KEY,
  FINALIZED_KEY,
  SCHEMA_VERSION,
  STATS_KEY,
  TIP_KEY,
  blockKey,
  blockMetaKey,
  certificateKey,
  decodeBlockMeta,
  decodeChainMeta,
  decodePointer,
  decodeStats,
  decodeUndo,
  decodeUtxo,
  encodeChainMeta,
  encodeUtxo,
  encodePointer,
  decodeRegistryUndo,
  heightKey,
  registryUndoKey,
  undoKey,
  utxoKey,
  type BlockMeta,
  type ChainMeta,
  type ChainPointer,
  type UtxoStats,
} from './layout.js';
import { ReusableBatch } from './level-batch.js';
import { blockDelta, connectReadKeys, createdKeys, planConnect, planDisconnect, storedBlockDelta, type BatchOp, type BlockDelta, type Outpoint } from './store-batch.js';
import { MasternodeRegistry, type MasternodeRecord, type RegistryView } from './masternode.js';
import { planRegistryDisconnect, readAndPlanRegistry } from './store-registry.js';
import { PendingWrites, overlayValue } from './store-pending.js';
import {
  loadRegistry,
  decodeStoredBlock,
  directorySizeBytes,
  getAddressUtxos,
  getBlock,
  getBlockHash,
  getTransaction,
  hasTransaction,
  readFinalRange,
  scanUtxoSet,
  type RawFinalBlock,
  type AddressUtxo,
  PrefetchedView,
  type ChainDb,
  type TxRecord,
  type UtxoSetInfo,
} from './store-queries.js';
import { outpointKey, type Transaction } from './transaction.js';
import type { UtxoEntry, UtxoView } from './utxo.js';

export type { AddressUtxo, TxRecord, UtxoSetInfo } from './store-queries.js';
export type { BlockMeta, ChainPointer, UtxoStats } from './layout.js';
export type { Outpoint } from './store-batch.js';

export interface StoreOptions {
  /** fsync every block batch (default true): survives power loss, not just a process kill. */
  readonly sync?: boolean;
  /**
   * Snappy-compress LevelDB's tables (default false). What the store holds is mostly hashes, keys
   * and signatures, which do not compress: with compression on, every compaction and every read
   * ran snappy for ~8 % less disk, at ~10 % more store CPU per transaction (bench/store.ts;
   * Bitcoin Core turns it off for its chainstate for the same reason). LevelDB marks each table
   * block with its own compression, so a database written either way opens with either setting.
   */
  readonly compression?: boolean;
}

export interface ConnectOptions {
  /** Also mark the block finalized, in the same batch. */
  readonly final?: boolean;
  /**
   * false: hold this block's batch in memory and land it with the next write (one LevelDB batch
   * for a run of blocks, ended by `flush()`); reads see it at once. For blocks that can be
   * fetched again: a kill before the run lands loses a suffix of whole blocks, never part of one
   * (block sync: ~0.26 ms per block for its own write → one write per range on this VM).
   */
  readonly durable?: boolean;
  /**
   * The block's input entries as loaded at tip `at` (block validation's view, keyed by
   * outpointKey). Used instead of reading them again only while the tip is still `at` — the same
   * tip means the same UTXO set — and only if every input of the block is among them.
   */
  readonly inputs?: LoadedInputs | undefined;
}

/** UTXO entries loaded at one tip (see ConnectOptions.inputs). */
export interface LoadedInputs {
  readonly at: Uint8Array;
  readonly entries: ReadonlyMap<string, UtxoEntry | undefined>;
}

/** Held non-durable connects are landed early once their keys and values pass this many bytes. */
export const PENDING_MAX_BYTES = 16 * 1024 * 1024;

/** At most this many keys are read with getSync instead of one async getMany. */
const SYNC_READ_MAX = 16;

/** classic-level's synchronous read, typed locally because `level`'s typings omit it. */
interface SyncGet {
  getSync?(key: Buffer): Buffer | undefined;
}

function isLockError(e: unknown): boolean {
  const err = e as { code?: string; cause?: { code?: string } };
  return err?.code === 'LEVEL_LOCKED' || err?.cause?.code === 'LEVEL_LOCKED';
}

export class ChainStore {
  private closed = false;
  private writes: Promise<unknown> = Promise.resolve();
  private meta: ChainMeta | undefined;
  private tipPtr: ChainPointer | undefined;
  private finalPtr: ChainPointer | undefined;
  private stats: UtxoStats = { count: 0, totalAmount: 0n };
  private reg = new MasternodeRegistry();
  /** Non-durable connects not yet handed to LevelDB. */
  private pending = new PendingWrites();
  /** The held connects inside the batch being written right now (reads still look through it). */
  private landing: PendingWrites | null = null;
  /** Reads through the held connects, for the query and planning helpers. */
  private readonly reader = { get: (key: Buffer) => this.readOne(key), getMany: (keys: Buffer[]) => this.readMany(keys) };

  /** Every write goes through this one batch (chain/level-batch.ts). */
  private readonly batch: ReusableBatch;

  private constructor(
    private readonly db: ChainDb,
    private readonly dir: string,
    private readonly sync: boolean,
  ) {
    this.batch = new ReusableBatch(db);
  }

  /** Open (creating if needed) the store in `dir` and verify the stored tip is consistent. */
  static async open(dir: string, options: StoreOptions = {}): Promise<ChainStore> {
    await mkdir(dir, { recursive: true });
    const db: ChainDb = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', compression: options.compression ?? false });
    try {
      await db.open();
    } catch (e) {
      if (isLockError(e)) throw new StoreError(StoreCode.Locked, `chain database ${dir} is in use by another process`, { cause: e });
      throw e;
    }
    const store = new ChainStore(db, dir, options.sync ?? true);
    try {
      await store.load();
    } catch (e) {
      await db.close();
      throw e;
    }
    return store;
  }

  /** Read and cross-check the chain pointers: the tip's block, height index and stats must agree. */
  private async load(): Promise<void> {
    const [metaRaw, tipRaw, finRaw, statsRaw] = await this.db.getMany([CHAIN_META_KEY, TIP_KEY, FINALIZED_KEY, STATS_KEY]);
    if (metaRaw === undefined) {
      if (tipRaw !== undefined || finRaw !== undefined || statsRaw !== undefined) throw new StoreError(StoreCode.Corrupt, 'chain pointers without chain meta');
      return;
    }
    const meta = decodeChainMeta(metaRaw);
    if (meta.schemaVersion !== SCHEMA_VERSION) {
      throw new StoreError(StoreCode.SchemaMismatch, `database schema ${meta.schemaVersion}, this node reads ${SCHEMA_VERSION}`);
    }
    if (tipRaw === undefined || finRaw === undefined || statsRaw === undefined) throw new StoreError(StoreCode.Corrupt, 'chain meta without tip, finalized or stats');
    const tip = decodePointer(tipRaw);
    const fin = decodePointer(finRaw);
    const stats = decodeStats(statsRaw);
    const [tipHashAtHeight, tipMetaRaw, tipBlock, finHashAtHeight] = await this.db.getMany([
      heightKey(tip.height),
      blockMetaKey(tip.hash),
      blockKey(tip.hash),
      heightKey(fin.height),
    ]);
    if (tipHashAtHeight === undefined || !bytesEqual(tipHashAtHeight, tip.hash) || tipMetaRaw === undefined || tipBlock === undefined) {
      throw new StoreError(StoreCode.Corrupt, `stored tip ${tip.height} ${toHex(tip.hash)} is not indexed`);
    }
    const tipMeta = decodeBlockMeta(tipMetaRaw);
    if (tipMeta.height !== tip.height || tipMeta.utxoCount !== stats.count || tipMeta.utxoTotal !== stats.totalAmount) {
      throw new StoreError(StoreCode.Corrupt, 'UTXO stats disagree with the tip block record');
    }
    if (await this.db.get(heightKey(tip.height + 1)) !== undefined) throw new StoreError(StoreCode.Corrupt, 'height index runs past the tip');
    if (fin.height > tip.height || finHashAtHeight === undefined || !bytesEqual(finHashAtHeight, fin.hash)) {
      throw new StoreError(StoreCode.Corrupt, 'finalized block is not on the stored best chain');
    }
    this.reg = await loadRegistry(this.db);
    this.meta = meta;
    this.tipPtr = tip;
    this.finalPtr = fin;
    this.stats = stats;
  }

  /** Wait for queued writes, then close the database; later calls fail with NotOpen. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writes;
    try {
      if (!this.pending.empty) await this.write([], true);
    } finally {
      await this.db.close();
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreError(StoreCode.NotOpen, 'the chain store is closed');
  }

  /** Run `fn` after every earlier write has settled (success or failure). */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.ensureOpen();
    // A write accepted before close() still runs: close() waits for this queue.
    const run = this.writes.then(fn);
    this.writes = run.catch(() => undefined);
    return run;
  }

  private requireTip(): ChainPointer {
    this.ensureOpen();
    if (this.tipPtr === undefined) throw new StoreError(StoreCode.NotInitialized, 'the chain store holds no chain yet; call initialize(genesis)');
    return this.tipPtr;
  }

  /** Write one atomic batch (chain/level-batch.ts: one reused LevelDB WriteBatch). */
  private async write(ops: BatchOp[], durable = true): Promise<void> {
    // Held connects go first, in the same batch: LevelDB applies it whole or not at all.
    const held = this.pending.empty ? null : this.pending;
    if (held !== null) {
      this.pending = new PendingWrites();
      this.landing = held;
    }
    const all = held === null ? ops : [...held.operations, ...ops];
    try {
      await this.batch.write(all, this.sync && durable);
    } catch (e) {
      // The in-memory chain already includes the held blocks the disk refused: re-read it.
      if (held !== null) await this.reloadAfterFailedWrite();
      throw e;
    } finally {
      this.landing = null;
    }
  }

  /** After a failed batch that held deferred connects: the disk is the truth (else refuse all use). */
  private async reloadAfterFailedWrite(): Promise<void> {
    try {
      await this.load();
    } catch {
      this.closed = true;
    }
  }

  /** Land held connects (inside the write queue) so LevelDB alone answers the next reads. */
  private async drain(): Promise<void> {
    if (!this.pending.empty) await this.write([], false);
  }

  /** Wait until every held connect is in LevelDB (for whole-database scans, which cannot look through them). */
  private async settle(): Promise<void> {
    if (!this.pending.empty || this.landing !== null) await this.exclusive(() => this.drain());
  }

  /** The held batches readers must look through, newest first. */
  private heldLayers(): PendingWrites[] {
    const layers: PendingWrites[] = [];
    if (!this.pending.empty) layers.push(this.pending);
    if (this.landing !== null) layers.push(this.landing);
    return layers;
  }

  /** One key, looking through held connects first. */
  private async readOne(key: Buffer): Promise<Buffer | undefined> {
    const held = overlayValue(this.heldLayers(), key);
    if (held !== undefined) return held ?? undefined;
    return this.db.get(key);
  }

  /** Make every connect so far durable: lands held ones and fsyncs (ends a run of `{durable: false}` connects). */
  flush(): Promise<void> {
    return this.exclusive(async () => {
      // A synced rewrite of the unchanged tip pointer fsyncs the log, and with it every earlier batch.
      await this.write([{ type: 'put', key: TIP_KEY, value: encodePointer(this.requireTip()) }]);
    });
  }

  /**
   * getMany, but a handful of keys are read synchronously: each async read is a hop through
   * libuv's thread pool (~0.25 ms measured per small connect; 13% of a loaded node's CPU in
   * per-transaction mempool views), while getSync of a cached key costs a few µs. Nothing on
   * the main thread can observe a half-finished read: the tip pointer only moves after a
   * write's promise resolves, which cannot happen inside this synchronous loop.
   */
  private async readMany(keys: Buffer[]): Promise<(Buffer | undefined)[]> {
    // Captured before any await: a held batch that lands meanwhile still overrides what was read.
    const layers = this.heldLayers();
    const db = this.db as unknown as SyncGet;
    if (keys.length <= SYNC_READ_MAX && typeof db.getSync === 'function') return keys.map((k) => this.readSync(db, layers, k));
    const values = await this.db.getMany(keys);
    if (layers.length === 0) return values;
    return values.map((v, i) => {
      const held = overlayValue(layers, keys[i]!);
      return held === undefined ? v : (held ?? undefined);
    });
  }

  /** One key read synchronously, looking through `layers` (the held connects) first. */
  private readSync(db: SyncGet, layers: readonly PendingWrites[], key: Buffer): Buffer | undefined {
    const held = layers.length === 0 ? undefined : overlayValue(layers, key);
    return held === undefined ? db.getSync!(key) : (held ?? undefined);
  }

  /** True once a genesis block is stored. */
  get initialized(): boolean {
    return this.meta !== undefined;
  }

  /** Hash of the genesis block (SPEC §4 chainId). */
  get chainId(): Uint8Array {
    this.requireTip();
    return this.meta!.chainId;
  }

  /** Network name recorded at initialize ('' when none was given). */
  get network(): string {
    this.requireTip();
    return this.meta!.network;
  }

  /** Best-chain tip (cached; changes only after a batch is on disk). */
  tip(): ChainPointer {
    return this.requireTip();
  }

  /** Highest finalized block (genesis until something else is finalized). */
  finalized(): ChainPointer {
    this.requireTip();
    return this.finalPtr!;
  }

  /** Count and total value of the UTXO set at the tip (cached, kept in the block batches). */
  utxoStats(): UtxoStats {
    this.requireTip();
    return this.stats;
  }

  /**
   * Store `genesis` as block 0 (finalized by definition) in one batch. Idempotent for the same
   * genesis; refuses a database that holds another chain or network (GenesisMismatch).
   */
  initialize(genesis: Block, network = ''): Promise<void> {
    return this.exclusive(async () => {
      if (this.meta !== undefined) {
        if (bytesEqual(this.meta.chainId, genesis.hash) && this.meta.network === network) return;
        throw new StoreError(StoreCode.GenesisMismatch, `database holds chain ${toHex(this.meta.chainId)} (${this.meta.network || 'no network'})`);
      }
      if (genesis.header.height !== 0 || !bytesEqual(genesis.header.prevHash, ZERO_HASH)) {
        throw new StoreError(StoreCode.BadGenesis, 'a genesis block has height 0 and an all-zero prevHash');
      }
      const delta = blockDelta(genesis);
      const keys = connectReadKeys(genesis, delta);
      const plan = planConnect(genesis, delta, await this.db.getMany(keys), { count: 0, totalAmount: 0n }, undefined);
      const registry = await readAndPlanRegistry(this.db, genesis, this.reg);
      plan.ops.push(...registry.ops);
      const meta: ChainMeta = { schemaVersion: SCHEMA_VERSION, chainId: genesis.hash, network };
      plan.ops.push({ type: 'put', key: CHAIN_META_KEY, value: encodeChainMeta(meta) }, { type: 'put', key: FINALIZED_KEY, value: encodePointer(plan.tip) });
      await this.write(plan.ops);
      registry.apply(this.reg);
      this.meta = meta;
      this.tipPtr = plan.tip;
      this.finalPtr = plan.tip;
      this.stats = plan.stats;
    });
  }

  /**
   * Connect `block` on top of the tip in one batch: spend inputs, write undo, outputs, indexes,
   * block, certificate, stats and tip. Refuses (writing nothing) with NotTip, MissingInput,
   * DuplicateTx or ValueOutOfRange. Rule validation is chain/block-rules' job, done before.
   */
  connectBlock(block: Block, certificate?: Uint8Array, options: ConnectOptions = {}): Promise<void> {
    return this.exclusive(async () => {
      const tip = this.requireTip();
      if (block.header.height !== tip.height + 1 || !bytesEqual(block.header.prevHash, tip.hash)) {
        throw new StoreError(StoreCode.NotTip, `block ${block.header.height} ${toHex(block.hash)} does not extend tip ${tip.height} ${toHex(tip.hash)}`);
      }
      const delta = blockDelta(block);
      const plan = planConnect(block, delta, await this.connectValues(block, delta, tip, options.inputs), this.stats, certificate);
      const registry = await readAndPlanRegistry(this.reader, block, this.reg);
      plan.ops.push(...registry.ops);
      if (options.final === true) plan.ops.push({ type: 'put', key: FINALIZED_KEY, value: encodePointer(plan.tip) });
      const deferred = options.durable === false;
      if (deferred) this.pending.add(plan.ops);
      else await this.write(plan.ops);
      registry.apply(this.reg);
      this.tipPtr = plan.tip;
      this.stats = plan.stats;
      if (options.final === true) this.finalPtr = plan.tip;
      if (deferred && this.pending.bytes >= PENDING_MAX_BYTES) await this.write([], false);
    });
  }

  /** The values planConnect needs: inputs from `given` when it was loaded at this tip, the rest read. */
  private async connectValues(block: Block, delta: BlockDelta, tip: ChainPointer, given: LoadedInputs | undefined): Promise<(Buffer | undefined)[]> {
    const keys = connectReadKeys(block, delta);
    if (given === undefined || !bytesEqual(given.at, tip.hash)) return this.readMany(keys);
    const inputs: (Buffer | undefined)[] = [];
    for (const o of delta.external) {
      const k = outpointKey(o.txid, o.index);
      if (!given.entries.has(k)) return this.readMany(keys);
      const e = given.entries.get(k);
      inputs.push(e === undefined ? undefined : encodeUtxo(e));
    }
    return [...inputs, ...(await this.readMany(keys.slice(delta.external.length)))];
  }

  /**
   * Disconnect the tip in one batch, restoring exactly the UTXO set before it from the undo
   * record and removing its indexes; returns the block. Refuses at genesis
   * (NothingToDisconnect) and at or below the finalized height (FinalizedBlock).
   */
  disconnectTip(): Promise<Block> {
    return this.exclusive(async () => {
      await this.drain();
      const tip = this.requireTip();
      if (tip.height === 0) throw new StoreError(StoreCode.NothingToDisconnect, 'cannot disconnect the genesis block');
      if (tip.height <= this.finalPtr!.height) {
        throw new StoreError(StoreCode.FinalizedBlock, `block ${tip.height} is finalized (finalized height ${this.finalPtr!.height})`);
      }
      const [blockRaw, undoRaw, regUndoRaw] = await this.db.getMany([blockKey(tip.hash), undoKey(tip.hash), registryUndoKey(tip.hash)]);
      if (blockRaw === undefined || undoRaw === undefined || regUndoRaw === undefined) {
        throw new StoreError(StoreCode.Corrupt, `tip block ${tip.height} or its undo records are missing`);
      }
      const block = decodeStoredBlock(blockRaw, tip.hash);
      const [parentMetaRaw, parentHash] = await this.db.getMany([blockMetaKey(block.header.prevHash), heightKey(tip.height - 1)]);
      if (parentMetaRaw === undefined || parentHash === undefined || !bytesEqual(parentHash, block.header.prevHash)) {
        throw new StoreError(StoreCode.Corrupt, `parent of block ${tip.height} is not indexed`);
      }
      const parentMeta = decodeBlockMeta(parentMetaRaw);
      if (parentMeta.height !== tip.height - 1) throw new StoreError(StoreCode.Corrupt, `parent meta of block ${tip.height} has height ${parentMeta.height}`);
      const delta = storedBlockDelta(block);
      const created = await this.db.getMany(createdKeys(delta));
      const plan = planDisconnect(block, delta, created, decodeUndo(undoRaw), this.stats, parentMeta);
      const registry = planRegistryDisconnect(block, decodeRegistryUndo(regUndoRaw), this.reg);
      plan.ops.push(...registry.ops);
      await this.write(plan.ops);
      registry.apply(this.reg);
      this.tipPtr = plan.tip;
      this.stats = plan.stats;
      return block;
    });
  }

  /** Store the commit certificate of a stored block (NotFound if the block is not stored). */
  setCertificate(hash: Uint8Array, bytes: Uint8Array): Promise<void> {
    return this.exclusive(async () => {
      this.requireTip();
      await this.drain();
      if ((await this.db.get(blockMetaKey(hash))) === undefined) throw new StoreError(StoreCode.NotFound, `block ${toHex(hash)} is not stored`);
      await this.db.put(certificateKey(hash), Buffer.from(bytes), { sync: this.sync });
    });
  }

  /** The commit certificate stored for a block, if any. */
  async getCertificate(hash: Uint8Array): Promise<Uint8Array | undefined> {
    this.ensureOpen();
    return this.readOne(certificateKey(hash));
  }

  /**
   * Advance the finalized pointer to a best-chain block. Monotonic: a lower height is
   * FinalizedRegression; a (height, hash) not on the best chain is NotInChain.
   */
  setFinalized(height: number, hash: Uint8Array): Promise<void> {
    return this.exclusive(async () => {
      const tip = this.requireTip();
      const fin = this.finalPtr!;
      if (height < fin.height) throw new StoreError(StoreCode.FinalizedRegression, `finalized height ${fin.height} cannot move back to ${height}`);
      if (height > tip.height) throw new StoreError(StoreCode.NotInChain, `height ${height} is above the tip ${tip.height}`);
      await this.drain();
      const atHeight = await this.db.get(heightKey(height));
      if (atHeight === undefined || !bytesEqual(atHeight, hash)) throw new StoreError(StoreCode.NotInChain, `block ${toHex(hash)} is not the best-chain block at ${height}`);
      if (height === fin.height) return;
      const ptr = { height, hash: Uint8Array.from(hash) };
      await this.write([{ type: 'put', key: FINALIZED_KEY, value: encodePointer(ptr) }]);
      this.finalPtr = ptr;
    });
  }

  /**
   * Prefetch every input outpoint of `txs` (plus `extra`, e.g. registration collaterals) with
   * one getMany and return a synchronous view of them, for one validation pass.
   */
  async loadView(txs: readonly Transaction[], extra: readonly Outpoint[] = []): Promise<PrefetchedView> {
    this.requireTip();
    const wanted = new Map<string, Outpoint>();
    for (const tx of txs) for (const i of tx.inputs) wanted.set(i.outpoint, { txid: i.prevTxid, index: i.prevIndex });
    for (const o of extra) wanted.set(outpointKey(o.txid, o.index), o);
    const names = [...wanted.keys()];
    const values = names.length === 0 ? [] : await this.readMany(names.map((n) => utxoKey(wanted.get(n)!.txid, wanted.get(n)!.index)));
    const entries = new Map<string, UtxoEntry | undefined>();
    names.forEach((n, i) => {
      const raw = values[i];
      entries.set(n, raw === undefined ? undefined : decodeUtxo(raw));
    });
    return new PrefetchedView(
      entries,
      (txid, index) => this.getUtxoSync(txid, index),
      (txid, index, key) => this.reg.byCollateral(txid, index, key)?.penalty ?? 0n,
    );
  }

  /** The masternode registry at the tip (records change only after a block batch is on disk). */
  get registry(): RegistryView {
    this.requireTip();
    return this.reg;
  }

  /** Every masternode record ever registered on the best chain, by operator key. */
  masternodes(): MasternodeRecord[] {
    this.requireTip();
    return this.reg.records();
  }

  /**
   * The ordered validator set of `height` (docs/masternodes.md): registered below it, collateral
   * unspent and not banned as of height − 1. Defined for heights up to tip + 1.
   */
  validatorSetAt(height: number): Uint8Array[] {
    const tip = this.requireTip();
    if (!Number.isSafeInteger(height) || height < 0 || height > tip.height + 1) throw new RangeError(`validator set of height ${height} is not known (tip ${tip.height})`);
    return this.reg.validatorSetAt(height);
  }

  /** One unspent output, read asynchronously. */
  async getUtxo(txid: Uint8Array, index: number): Promise<UtxoEntry | undefined> {
    this.ensureOpen();
    const raw = await this.readOne(utxoKey(txid, index));
    return raw === undefined ? undefined : decodeUtxo(raw);
  }

  /** One unspent output, read synchronously (classic-level getSync, ≈ 400k/s). */
  getUtxoSync(txid: Uint8Array, index: number): UtxoEntry | undefined {
    this.ensureOpen();
    const db = this.db as unknown as SyncGet;
    if (typeof db.getSync !== 'function') throw new TypeError('this LevelDB binding has no getSync; use loadView or getUtxo');
    const raw = this.readSync(db, this.heldLayers(), utxoKey(txid, index));
    return raw === undefined ? undefined : decodeUtxo(raw);
  }

  /** Final blocks from `from` as stored, with certificates, within `maxBytes` (serving block sync; see readFinalRange). */
  async finalBlocksRaw(from: number, count: number, maxBytes: number): Promise<RawFinalBlock[]> {
    this.requireTip();
    return readFinalRange(this.reader.getMany, this.finalPtr!.height, from, count, maxBytes);
  }

  /** A stored block by hash (best chain only: disconnected blocks are removed). */
  async getBlock(hash: Uint8Array): Promise<Block | undefined> {
    this.ensureOpen();
    return getBlock(this.reader, hash);
  }

  /** The best-chain block at `height`. */
  async getBlockByHeight(height: number): Promise<Block | undefined> {
    const hash = await this.getBlockHash(height);
    return hash === undefined ? undefined : this.getBlock(hash);
  }

  /** Hash of the best-chain block at `height`. */
  async getBlockHash(height: number): Promise<Uint8Array | undefined> {
    this.ensureOpen();
    return getBlockHash(this.reader, height);
  }

  /** Height, tx count and post-block UTXO stats of a stored block. */
  async getBlockMeta(hash: Uint8Array): Promise<BlockMeta | undefined> {
    this.ensureOpen();
    const raw = await this.readOne(blockMetaKey(hash));
    return raw === undefined ? undefined : decodeBlockMeta(raw);
  }

  /** Whether `txid` is in a connected block (the txid index; no block read). */
  async hasTransaction(txid: Uint8Array): Promise<boolean> {
    this.ensureOpen();
    return hasTransaction(this.reader, txid);
  }

  /** A confirmed transaction with its block hash and height. */
  async getTransaction(txid: Uint8Array): Promise<TxRecord | undefined> {
    this.ensureOpen();
    return getTransaction(this.reader, txid);
  }

  /** Unspent outputs locked to `publicKey`, ordered by (txid, index). */
  async getAddressUtxos(publicKey: Uint8Array): Promise<AddressUtxo[]> {
    this.ensureOpen();
    await this.settle();
    return getAddressUtxos(this.db, publicKey);
  }

  /** Sum of the unspent outputs locked to `publicKey`. */
  async getAddressBalance(publicKey: Uint8Array): Promise<bigint> {
    let sum = 0n;
    for (const u of await this.getAddressUtxos(publicKey)) sum += u.amount;
    return sum;
  }

  /** Full scan under one snapshot: tip, count, total and the deterministic UTXO set hash. */
  async utxoSetHash(): Promise<UtxoSetInfo> {
    this.ensureOpen();
    await this.settle();
    return scanUtxoSet(this.db);
  }

  /** Approximate on-disk size of the database directory in bytes. */
  async databaseSizeBytes(): Promise<number> {
    this.ensureOpen();
    return directorySizeBytes(this.dir);
  }
}

/**
 * The transaction pool: valid, unconfirmed transactions waiting for a block, ordered by exact
 * fee rate. Validation follows ARCHITECTURE example 5: the caller loads a UTXO view
 * asynchronously (store.loadView), then `accept` runs synchronously against it and the pool's
 * own unconfirmed outputs. Signatures go through the node's shared SignatureCache, so block
 * connect does not verify an admitted transaction again. Every rejection is a RuleError and
 * leaves the pool unchanged.
 */
import { DEFAULT_MAX_MEMPOOL_TRANSACTIONS, DEFAULT_MIN_FEE_RATE, MAX_MONEY, TxKind } from './constants.js';
import type { SignatureCache } from './ed25519.js';
import { DEFAULT_MAX_MEMPOOL_BYTES, RECENT_CONFIRMED_MAX, type AcceptResult, type LoadedChainView, type MempoolConfig, type MempoolOutput, type MempoolStore, type ReadmitResult, type RemoveResult } from './mempool-types.js';
import { RuleCode, RuleError } from './errors.js';
import { compareFeeRate, meetsFeeRate } from './fee-rate.js';
import { bytesEqual, toHex } from './hash.js';
import { IndexedHeap } from './heap.js';
import { PoolIndex, type MempoolEntry, type PoolEntry } from './mempool-index.js';
import { RecentTxids } from './recent-txids.js';
import { outpointKey, outputKey, txidHexOfEncoding, type Transaction, type TxOutput } from './transaction.js';
import { checkTxInputs } from './tx-inputs.js';
import { checkRegistrationPayload, checkTxSanity } from './tx-rules.js';
import { checkRegistrationContext, newClaims } from './masternode-rules.js';
import type { RegistryView } from './masternode.js';
import { decodeRegistrationPayload } from './registration.js';
import { decodeEvidencePayload } from './evidence.js';
import type { UtxoEntry, UtxoView } from './utxo.js';
import type { Block } from './block.js';

export type { MempoolEntry } from './mempool-index.js';

export * from './mempool-types.js';

/** The common case of planEviction: nothing to evict (shared, never modified). */
const NOTHING: ReadonlySet<PoolEntry> = new Set();

/** acceptWithStore gives up (a plain Error, not a rule) if the tip keeps moving this often. */
const MAX_VIEW_ATTEMPTS = 100;

interface ResolvedInputs {
  readonly spends: string[];
  readonly parents: Set<string>;
  readonly sumIn: bigint;
  /** Masternode penalties burned by spending penalized collateral (checkTxInputs applies the rule). */
  readonly burned: bigint;
  readonly missing: boolean;
  readonly collateral: string | undefined;
}

const reject = (code: RuleCode, message: string, meta?: Record<string, unknown>): never => {
  throw new RuleError(code, message, meta);
};

/** Cheapest first; among equal fee rates the newest goes first, so first-seen transactions stay. */
const cheaperFirst = (a: PoolEntry, b: PoolEntry): boolean => {
  const c = compareFeeRate(a.fee, a.sizeBig, b.fee, b.sizeBig);
  return c < 0 || (c === 0 && a.seq > b.seq);
};

export class Mempool {
  readonly maxTransactions: number;
  readonly maxBytes: number;
  readonly minFeeRate: bigint;
  private readonly chainId: Uint8Array;
  private readonly sigCache: SignatureCache | null;
  private readonly registry: (() => RegistryView) | undefined;
  private readonly pool = new PoolIndex();
  private readonly byFeeRate = new IndexedHeap<PoolEntry>(cheaperFirst);
  /** Txids of the last blocks' transactions: late gossip copies are refused without a store read. */
  private readonly confirmed = new RecentTxids(RECENT_CONFIRMED_MAX);
  private seq = 0;

  constructor(config: MempoolConfig) {
    this.chainId = config.chainId;
    this.sigCache = config.sigCache;
    this.registry = config.registry;
    this.maxTransactions = config.maxTransactions ?? DEFAULT_MAX_MEMPOOL_TRANSACTIONS;
    this.minFeeRate = config.minFeeRate ?? DEFAULT_MIN_FEE_RATE;
    this.maxBytes = config.maxBytes ?? DEFAULT_MAX_MEMPOOL_BYTES;
    if (!Number.isSafeInteger(this.maxTransactions) || this.maxTransactions < 0) throw new RangeError('maxTransactions must be a non-negative integer');
    if (!Number.isSafeInteger(this.maxBytes) || this.maxBytes < 0) throw new RangeError('maxBytes must be a non-negative integer');
    if (this.minFeeRate < 0n) throw new RangeError('minFeeRate must be non-negative');
  }

  /**
   * Validate `tx` against `chainView` (inputs preloaded; `height` = current tip height) plus the
   * pool, and add it, evicting cheaper transactions when full. Throws RuleError; on a throw
   * nothing changed.
   */
  accept(tx: Transaction, chainView: UtxoView, height: number): AcceptResult {
    if (tx.kind === TxKind.Coinbase) reject(RuleCode.UnexpectedCoinbase, 'a coinbase is valid only in a block');
    // Evidence pays no fee and is checked against the registry: it travels in the evidence pool.
    if (tx.kind === TxKind.Evidence) reject(RuleCode.BadEvidence, 'evidence is not accepted into the mempool');
    checkTxSanity(tx);
    const key = tx.txidHex;
    if (this.pool.get(key) !== undefined) reject(RuleCode.AlreadyInMempool, 'transaction already in the mempool');

    // Cheap checks (conflicts, missing inputs, fee, capacity) come before any signature work.
    const { spends, parents, sumIn: grossIn, burned, missing, collateral } = this.resolveInputs(tx, chainView);
    // What the inputs can pay: a penalized collateral's penalty is burned (docs/masternodes.md).
    const sumIn = grossIn - burned;
    if (missing) {
      // A transaction in the chain has spent its inputs, so only one with a missing input can be
      // there: its own outputs are looked up (reads outside the preloaded view) only then.
      for (let n = 0; n < tx.outputs.length; n++) {
        if (chainView.getUtxo(tx.txid, n) !== undefined) reject(RuleCode.AlreadyInChain, 'transaction already in the chain');
      }
      reject(RuleCode.MissingInputs, 'an input is missing or spent');
    }

    const size = tx.bytes.length;
    const sizeBig = BigInt(size);
    let sumOut = 0n;
    for (const o of tx.outputs) sumOut += o.amount;
    // Policy before signatures, but only when the amounts are in range: otherwise
    // checkTxInputs below names the real fault (insufficient-funds, value-out-of-range).
    let evict: ReadonlySet<PoolEntry> | undefined;
    if (grossIn <= MAX_MONEY && sumIn >= 0n && sumOut <= sumIn) {
      const fee = sumIn - sumOut;
      if (!meetsFeeRate(fee, size, this.minFeeRate)) {
        reject(RuleCode.InsufficientFee, `fee ${fee} for ${size} bytes is below ${this.minFeeRate} units/byte`, { fee: fee.toString(), size });
      }
      evict = this.planEviction(fee, size, sizeBig, parents);
    }

    const poolView = this.poolView(chainView, height);
    if (tx.kind === TxKind.MasternodeRegistration && this.registry !== undefined) this.checkRegistration(tx, poolView, this.registry());
    const fee = checkTxInputs(tx, poolView, { chainId: this.chainId, sigCache: this.sigCache });
    if (evict === undefined || fee !== sumIn - sumOut) {
      throw new Error('mempool: checkTxInputs accepted amounts that disagree with the resolved inputs');
    }

    // Commit: nothing below throws a RuleError.
    const evicted = [...evict].map((e) => e.tx);
    for (const e of evict) this.removeEntry(e);
    const entry: PoolEntry = {
      tx, key, fee, size, sizeBig, height, seq: this.seq++, spends, collateral,
      parents, children: new Set(), heapIndex: -1,
    };
    this.pool.add(entry);
    this.byFeeRate.push(entry);
    return { txid: tx.txid, fee, size, evicted };
  }

  /** Registry rules for a registration, and no other pool registration for the same operator. */
  private checkRegistration(tx: Transaction, view: UtxoView, registry: RegistryView): void {
    const reg = checkRegistrationPayload(tx);
    for (const e of this.pool.values()) {
      if (e.tx.kind !== TxKind.MasternodeRegistration) continue;
      if (bytesEqual(decodeRegistrationPayload(e.tx.payload).operatorPublicKey, reg.operatorPublicKey)) {
        reject(RuleCode.MempoolConflict, 'a mempool registration already names this operator key', { conflictsWith: e.key });
      }
    }
    checkRegistrationContext(reg, view, registry, this.chainId, newClaims());
  }

  /**
   * Each input's outpoint and amount, from a pool parent or the chain view; throws
   * mempool-conflict when a pool transaction already spends or claims an input or the
   * registration collateral.
   */
  private resolveInputs(tx: Transaction, chainView: UtxoView): ResolvedInputs {
    const spends: string[] = new Array(tx.inputs.length);
    const parents = new Set<string>();
    let sumIn = 0n;
    let burned = 0n;
    let missing = false;
    tx.inputs.forEach((input, i) => {
      const op = input.outpoint;
      const claimant = this.pool.claimantOf(op);
      if (claimant !== undefined) {
        reject(RuleCode.MempoolConflict, 'an input is already spent (or held as collateral) by a mempool transaction', {
          input: i,
          conflictsWith: claimant.key,
        });
      }
      spends[i] = op;
      const parentKey = op.slice(0, 64);
      const parent = this.pool.get(parentKey);
      const out = parent !== undefined ? parent.tx.outputs[input.prevIndex] : chainView.getUtxo(input.prevTxid, input.prevIndex, op);
      if (parent !== undefined) parents.add(parentKey);
      if (out === undefined) missing = true;
      else {
        sumIn += out.amount;
        if (parent === undefined) burned += chainView.penaltyOf(input.prevTxid, input.prevIndex, op);
      }
    });
    const collateral = this.pool.collateralOf(tx);
    if (collateral !== undefined) {
      const claimant = this.pool.claimantOf(collateral);
      if (claimant !== undefined) {
        reject(RuleCode.MempoolConflict, 'the collateral is spent or claimed by a mempool transaction', { conflictsWith: claimant.key });
      }
      // A collateral created by a pool transaction makes that transaction a parent.
      if (this.pool.get(collateral.slice(0, 64)) !== undefined) parents.add(collateral.slice(0, 64));
    }
    return { spends, parents, sumIn, burned, missing, collateral };
  }

  /**
   * accept() with the view loaded from `store` first; also rejects a transaction the chain
   * already holds. Reloads if a block connected while the view was loading. `loaded`, a view a
   * batch's pre-verification read (it covers `tx`'s inputs), is used instead of a read of its own
   * while the tip is still the one it was loaded at.
   */
  async acceptWithStore(tx: Transaction, store: MempoolStore, loaded?: LoadedChainView | null): Promise<AcceptResult> {
    if (this.pool.get(tx.txidHex) !== undefined) reject(RuleCode.AlreadyInMempool, 'transaction already in the mempool');
    if (this.confirmed.has(tx.txidHex)) reject(RuleCode.AlreadyInChain, 'transaction already in the chain');
    // A view loaded across a block connect could admit a spend of an output that block just
    // spent, and the next assembled block would be invalid: retry on a stable tip.
    for (let attempt = 0; attempt < MAX_VIEW_ATTEMPTS; attempt++) {
      const tip = store.tip();
      const shared = attempt === 0 && loaded != null && bytesEqual(loaded.at, tip.hash);
      const view = shared ? loaded.view : await store.loadView([tx]);
      // A transaction in the chain has spent its inputs, so when every input is still unspent
      // (in the chain view or a pool parent) it cannot be there: the txid-index read (a LevelDB
      // get per admission, ~8% of a loaded node's CPU) is needed only otherwise.
      if (!this.inputsUnspent(tx, view) && (await store.hasTransaction(tx.txid))) {
        reject(RuleCode.AlreadyInChain, 'transaction already in the chain');
      }
      const now = store.tip();
      if (now.height === tip.height && Buffer.compare(now.hash, tip.hash) === 0) return this.accept(tx, view, tip.height);
    }
    throw new Error(`mempool: the chain tip moved during each of ${MAX_VIEW_ATTEMPTS} view loads`);
  }

  /** True when `tx` has inputs and each is an unspent chain output in `view` or an output of a pool transaction. */
  private inputsUnspent(tx: Transaction, view: UtxoView): boolean {
    if (tx.inputs.length === 0) return false;
    return tx.inputs.every((i) => {
      const parent = this.pool.get(i.outpoint.slice(0, 64));
      return parent !== undefined ? parent.tx.outputs[i.prevIndex] !== undefined : view.getUtxo(i.prevTxid, i.prevIndex, i.outpoint) !== undefined;
    });
  }

  /**
   * After `block` connected: drop the pool transactions it included (their children stay,
   * now spending confirmed outputs) and every pool transaction that conflicts with it, with
   * its descendants.
   */
  removeForBlock(block: Block): RemoveResult {
    let included = 0;
    for (const tx of block.txs) {
      // A coinbase is never admitted (readmit skips it too): only what a peer could offer again.
      if (tx.kind !== TxKind.Coinbase) this.confirmed.add(tx.txidHex);
      const e = this.pool.get(tx.txidHex);
      if (e !== undefined) {
        this.removeEntry(e);
        included++;
      }
    }
    const doomed = new Set<PoolEntry>();
    for (const tx of block.txs) {
      for (const input of tx.inputs) this.pool.claimantsOf(input.outpoint, doomed);
      const collateral = this.pool.collateralOf(tx);
      if (collateral !== undefined) this.pool.claimantsOf(collateral, doomed);
      // Evidence raised the offender's penalty: a pool spend of its collateral was priced
      // without it and may now overspend, so it leaves (the wallet re-submits with the penalty).
      if (tx.kind === TxKind.Evidence && this.registry !== undefined) {
        const rec = this.registry().byOperator(decodeEvidencePayload(tx.payload).offender);
        if (rec !== undefined) this.pool.claimantsOf(outpointKey(rec.collateralTxid, rec.collateralIndex), doomed);
      }
    }
    const all = new Set<PoolEntry>();
    for (const e of doomed) this.pool.collectDescendants(e, all);
    for (const e of all) this.removeEntry(e);
    return { included, conflicts: [...all].map((e) => e.tx) };
  }

  /**
   * After a block was disconnected: re-admit its non-coinbase transactions (in block order, so
   * parents come first) against `view`, the UTXO state after the disconnect. Those no longer
   * valid are dropped and counted, and pool transactions spending their outputs go with them.
   */
  readmit(txs: readonly Transaction[], view: UtxoView, height: number): ReadmitResult {
    let readmitted = 0;
    let dropped = 0;
    for (const tx of txs) this.confirmed.delete(tx.txidHex);
    for (const tx of txs) {
      if (tx.kind === TxKind.Coinbase) continue;
      try {
        this.accept(tx, view, height);
        readmitted++;
      } catch (err) {
        if (!(err instanceof RuleError)) throw err;
        dropped++;
      }
    }
    // Pool transactions admitted while a dropped one was confirmed now spend nothing.
    const orphans = new Set<PoolEntry>();
    for (const tx of txs) {
      if (this.pool.get(tx.txidHex) !== undefined) continue;
      for (let n = 0; n < tx.outputs.length; n++) {
        const spender = this.pool.spenderOf(outputKey(tx.txidHex, n));
        if (spender !== undefined) this.pool.collectDescendants(spender, orphans);
      }
    }
    for (const e of orphans) this.removeEntry(e);
    return { readmitted, dropped, orphaned: orphans.size };
  }

  /** readmit() with the view loaded from `store` (call after store.disconnectTip()). */
  async readmitWithStore(txs: readonly Transaction[], store: MempoolStore): Promise<ReadmitResult> {
    const candidates = txs.filter((t) => t.kind !== TxKind.Coinbase);
    return this.readmit(candidates, await store.loadView(candidates), store.tip().height);
  }

  /** Whether `txidHex` was in one of the last connected blocks (at most RECENT_CONFIRMED_MAX txids remembered). */
  recentlyConfirmed(txidHex: string): boolean {
    return this.confirmed.has(txidHex);
  }

  /** Whether the pool holds `txid` (bytes or hex). */
  has(txid: Uint8Array | string): boolean {
    return this.pool.get(keyOf(txid)) !== undefined;
  }

  /** The pool transaction `txid` (bytes or hex). */
  get(txid: Uint8Array | string): Transaction | undefined {
    return this.pool.get(keyOf(txid))?.tx;
  }

  /**
   * The pool transaction whose encoding is exactly `encoding` (same txid and the same signature
   * bytes), else undefined: decodeBlock's KnownTransaction, so a proposal reuses pooled values.
   */
  readonly withEncoding = (encoding: Uint8Array): Transaction | undefined => {
    const txidHex = txidHexOfEncoding(encoding);
    const tx = txidHex === null ? undefined : this.pool.get(txidHex)?.tx;
    return tx !== undefined && bytesEqual(tx.bytes, encoding) ? tx : undefined;
  };

  /** The pool entry of `txid` (fee, size, in-pool parents and children). */
  entry(txid: Uint8Array | string): MempoolEntry | undefined {
    return this.pool.get(keyOf(txid));
  }

  /** Every entry, in no particular order (the assembler orders them). */
  entries(): IterableIterator<MempoolEntry> {
    return this.pool.values();
  }

  /** Number of transactions. */
  get size(): number {
    return this.pool.count;
  }

  /** Sum of encoded sizes. */
  get bytes(): number {
    return this.pool.bytes;
  }

  /** Txids of all pool transactions. */
  txids(): Uint8Array[] {
    return [...this.pool.values()].map((e) => e.tx.txid);
  }

  /** getmempoolinfo (SPEC §5). */
  info(): { size: number; bytes: number; maxsize: number; minfeerate: bigint } {
    return { size: this.size, bytes: this.bytes, maxsize: this.maxTransactions, minfeerate: this.minFeeRate };
  }

  /** The pool transaction spending outpoint (txid, index), for gettxout includeMempool. */
  spentBy(txid: Uint8Array, index: number): Uint8Array | undefined {
    return this.pool.spenderOf(outpointKey(txid, index))?.tx.txid;
  }

  /** Output `index` of pool transaction `txid`, whether or not a pool transaction spends it. */
  output(txid: Uint8Array, index: number): TxOutput | undefined {
    return this.pool.get(toHex(txid))?.tx.outputs[index];
  }

  /** Outputs to `publicKey` created by pool transactions (unconfirmed balance). */
  outputsTo(publicKey: Uint8Array): MempoolOutput[] {
    const out: MempoolOutput[] = [];
    for (const e of this.pool.paying(publicKey)) {
      e.tx.outputs.forEach((o, index) => {
        if (Buffer.compare(o.publicKey, publicKey) !== 0) return;
        out.push({ txid: e.tx.txid, index, amount: o.amount, spentBy: this.spentBy(e.tx.txid, index) });
      });
    }
    return out;
  }

  /**
   * Which entries must go so that one more of `size` bytes fits both caps, or a mempool-full
   * rejection. Cheapest first, each with its descendants; the newcomer's own ancestors are
   * never evicted (it needs them).
   */
  private planEviction(fee: bigint, size: number, sizeBig: bigint, parents: ReadonlySet<string>): ReadonlySet<PoolEntry> {
    const evict = new Set<PoolEntry>();
    let freedBytes = 0;
    const fits = () => this.pool.count - evict.size < this.maxTransactions && this.pool.bytes - freedBytes + size <= this.maxBytes;
    if (fits()) return NOTHING;
    let ancestors: Set<string> | undefined;
    for (const c of this.byFeeRate.ordered()) {
      if (evict.has(c)) continue;
      if (compareFeeRate(fee, sizeBig, c.fee, c.sizeBig) <= 0) {
        reject(RuleCode.MempoolFull, 'mempool full and the fee rate does not beat the cheapest transaction');
      }
      if (parents.size > 0) {
        ancestors ??= this.pool.ancestorKeys(parents);
        if (ancestors.has(c.key)) continue;
      }
      const group = new Set<PoolEntry>();
      this.pool.collectDescendants(c, group);
      for (const g of group) {
        if (evict.has(g)) continue;
        evict.add(g);
        freedBytes += g.size;
      }
      if (fits()) return evict;
    }
    return reject(RuleCode.MempoolFull, 'mempool full: no cheaper transactions it does not depend on can make room');
  }

  private removeEntry(e: PoolEntry): void {
    this.byFeeRate.remove(e);
    this.pool.remove(e);
  }

  /** The chain view with pool outputs layered on top (what checkTxInputs sees). */
  private poolView(chainView: UtxoView, height: number): UtxoView {
    const pool = this.pool;
    return {
      getUtxo(txid: Uint8Array, index: number, op = outpointKey(txid, index)): UtxoEntry | undefined {
        if (pool.spenderOf(op) !== undefined) return undefined;
        const parent = pool.get(op.slice(0, 64));
        if (parent === undefined) return chainView.getUtxo(txid, index, op);
        const o = parent.tx.outputs[index];
        // An unconfirmed output would confirm in the next block at the earliest.
        return o === undefined ? undefined : { amount: o.amount, publicKey: o.publicKey, height: height + 1, coinbase: false };
      },
      penaltyOf(txid: Uint8Array, index: number, op = outpointKey(txid, index)): bigint {
        return pool.get(op.slice(0, 64)) === undefined ? chainView.penaltyOf(txid, index, op) : 0n;
      },
    };
  }
}

function keyOf(txid: Uint8Array | string): string {
  return typeof txid === 'string' ? txid.toLowerCase() : toHex(txid);
}

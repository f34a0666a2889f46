/**
 * Transaction finality as the node sees it: waiters that resolve the moment a transaction's block
 * is final (waittransactionfinality), and the acceptance → finality time for the
 * `transaction_finality_seconds` histogram. Fed by the consensus driver after each commit.
 */
import type { Block } from '../chain/block.js';
import { TxKind } from '../chain/constants.js';
import { OldestFirst } from '../chain/oldest-first.js';
import type { Metrics } from './metrics.js';

/** Where a transaction became final. */
export interface FinalPlace {
  readonly height: number;
  readonly blockHash: Uint8Array;
}

type Waiter = (place: FinalPlace | null) => void;

/** Bound on remembered acceptance times (transactions evicted from the pool never finalize). */
const MAX_TRACKED = 100_000;

export class FinalityTracker {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly acceptedAt = new Map<string, number>();
  private readonly acceptedOldest = new OldestFirst(this.acceptedAt);
  /** waitforblockheight callers: few (each is an open RPC request), so a scan per final block is cheap. */
  private readonly heightWaiters = new Set<{ readonly height: number; readonly waiter: Waiter }>();

  constructor(
    private readonly metrics: Metrics | null,
    private readonly now: () => number,
  ) {}

  /** Remember when the mempool accepted `tx` (for the finality histogram). */
  noteAccepted(tx: { readonly txidHex: string }): void {
    this.acceptedOldest.trimTo(MAX_TRACKED - 1);
    this.acceptedAt.set(tx.txidHex, this.now());
  }

  /** A block became final: count its transactions, observe their latency, wake their waiters. */
  onFinal(block: Block): void {
    const place = { height: block.header.height, blockHash: block.hash };
    const t = this.now();
    let finalized = 0;
    for (const tx of block.txs) {
      const hex = tx.txidHex;
      if (tx.kind !== TxKind.Coinbase) {
        finalized++;
        const at = this.acceptedAt.get(hex);
        if (at !== undefined) {
          this.metrics?.transactionFinality.observe(Math.max(0, t - at) / 1000);
          this.acceptedAt.delete(hex);
        }
      }
      const set = this.waiters.get(hex);
      if (set === undefined) continue;
      this.waiters.delete(hex);
      for (const w of set) w(place);
    }
    if (finalized > 0) this.metrics?.transactionsFinalized.inc(finalized);
    for (const h of [...this.heightWaiters]) if (h.height <= place.height) h.waiter(place);
  }

  /**
   * Register interest in `txidHex` before looking it up, so a commit between the lookup and the
   * wait cannot be missed. `promise` resolves with the place, or null at the timeout, on abort
   * or on `cancel()`.
   */
  watch(txidHex: string, timeoutMs: number, signal: AbortSignal): { promise: Promise<FinalPlace | null>; cancel: () => void } {
    const set = this.waiters.get(txidHex) ?? new Set<Waiter>();
    this.waiters.set(txidHex, set);
    return wait<FinalPlace>(timeoutMs, signal, (waiter) => {
      set.add(waiter);
      return () => {
        set.delete(waiter);
        if (set.size === 0 && this.waiters.get(txidHex) === set) this.waiters.delete(txidHex);
      };
    });
  }

  /**
   * Register interest in the first final block at `height` or above (waitforblockheight), before
   * looking at the finalized height, for the same reason as `watch`. Resolves with the place of
   * the block that reached it, or null at the timeout, on abort or on `cancel()`.
   */
  watchHeight(height: number, timeoutMs: number, signal: AbortSignal): { promise: Promise<FinalPlace | null>; cancel: () => void } {
    return wait<FinalPlace>(timeoutMs, signal, (waiter) => {
      const entry = { height, waiter };
      this.heightWaiters.add(entry);
      return () => this.heightWaiters.delete(entry);
    });
  }

  /** Wake every waiter with "not final" (node shutting down). */
  closeAll(): void {
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w(null);
    this.waiters.clear();
    for (const h of [...this.heightWaiters]) h.waiter(null);
  }

  /** Number of pending waiters (tests, status). */
  get pending(): number {
    let n = 0;
    for (const s of this.waiters.values()) n += s.size;
    return n + this.heightWaiters.size;
  }
}

/**
 * One wait: `register` adds the waiter and returns how to take it out again. Settles once — with
 * the waiter's value, or null at the timeout, on abort or on `cancel()` — and always unregisters.
 */
function wait<T>(timeoutMs: number, signal: AbortSignal, register: (waiter: (v: T | null) => void) => () => void): { promise: Promise<T | null>; cancel: () => void } {
  let done!: (v: T | null) => void;
  const promise = new Promise<T | null>((resolve) => (done = resolve));
  let unregister: (() => void) | null = null;
  const finish = (v: T | null): void => {
    if (unregister === null) return;
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    unregister();
    unregister = null;
    done(v);
  };
  const onAbort = (): void => finish(null);
  const timer = setTimeout(() => finish(null), timeoutMs);
  unregister = register(finish);
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) finish(null);
  return { promise, cancel: () => finish(null) };
}

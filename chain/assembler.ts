/**
 * Block assembly for the proposer: the coinbase first, then pool transactions by descending
 * exact fee rate, a child only after all its pool parents (the block rules apply transactions
 * in order, so a child before its parent would make the block invalid), within MAX_BLOCK_SIZE.
 *
 * Selection is a priority-ordered topological sort: a transaction becomes a candidate once its
 * last pool parent is included; the best candidate that fits is taken next; one that does not
 * fit is skipped, and its descendants then never become candidates. O(n log n) per block.
 * No child-pays-for-parent: a rich child waits for its parent's own fee rate (see docs).
 */
import { DUST_THRESHOLD, MAX_BLOCK_SIZE, TxKind } from './constants.js';
import { HEADER_SIZE, createBlock, type Block } from './block.js';
import { compareFeeRate } from './fee-rate.js';
import { IndexedHeap, type HeapSlot } from './heap.js';
import type { Mempool, MempoolEntry } from './mempool.js';
import { createTransaction, encodedTxSize, type Transaction } from './transaction.js';

export interface AssembleParams {
  readonly mempool: Mempool;
  /** Height of the new block (tip + 1); the pool must be up to date with the tip `prevHash`. */
  readonly height: number;
  readonly prevHash: Uint8Array;
  readonly timestampMs: number;
  /** Operator public key of the proposer. */
  readonly proposer: Uint8Array;
  /** Consensus view number. */
  readonly view: number;
  /** Who receives reward + fees. */
  readonly rewardPublicKey: Uint8Array;
  readonly reward: bigint;
  /** Size cap, MAX_BLOCK_SIZE unless a test needs a smaller one. */
  readonly maxBlockSize?: number;
  /** Most pool transactions (a policy of the proposer, not a block rule; default: no count cap). */
  readonly maxTransactions?: number;
  /** Evidence transactions to include first (chain/evidence-pool.ts select); they pay no fee. */
  readonly evidence?: readonly Transaction[];
}

interface Candidate extends HeapSlot {
  readonly entry: MempoolEntry;
  readonly sizeBig: bigint;
}

/** Best fee rate first; among equals, the first seen. */
const better = (a: Candidate, b: Candidate): boolean => {
  const c = compareFeeRate(a.entry.fee, a.sizeBig, b.entry.fee, b.sizeBig);
  return c > 0 || (c === 0 && a.entry.seq < b.entry.seq);
};

/** Size of the coinbase this file builds: no inputs, one output, the u64 height payload. */
const COINBASE_SIZE = encodedTxSize(0, 1, 8);
/** No transfer can be smaller than one input and one output. */
const MIN_TRANSFER_SIZE = encodedTxSize(1, 1, 0);

/** Build a block proposal from the pool (see the file comment for the selection rule). */
export function assembleBlock(p: AssembleParams): Block {
  const maxSize = p.maxBlockSize ?? MAX_BLOCK_SIZE;
  const evidence: Transaction[] = [];
  let budget = maxSize - (HEADER_SIZE + 4 + 4 + COINBASE_SIZE);
  for (const e of p.evidence ?? []) {
    if (4 + e.bytes.length > budget) break;
    budget -= 4 + e.bytes.length;
    evidence.push(e);
  }
  const { txs, fees } = selectTransactions(p.mempool, budget, undefined, p.maxTransactions);
  const payload = Buffer.alloc(8);
  payload.writeBigUInt64LE(BigInt(p.height));
  const amount = p.reward + fees;
  // A dust output would make the block invalid; the proposer declines a sub-dust reward instead.
  const outputs = amount >= DUST_THRESHOLD ? [{ amount, publicKey: p.rewardPublicKey }] : [];
  const coinbase = createTransaction({ kind: TxKind.Coinbase, inputs: [], outputs, payload });
  return createBlock({
    height: p.height,
    prevHash: p.prevHash,
    timestampMs: p.timestampMs,
    proposer: p.proposer,
    view: p.view,
    txs: [coinbase, ...evidence, ...txs],
  });
}

/** The pool as selection reads it (Mempool satisfies it). */
export interface PoolReader {
  entries(): Iterable<MempoolEntry>;
  entry(key: string): MempoolEntry | undefined;
}

/**
 * Pool transactions in block order within `budget` bytes (each costs its size + 4-byte length
 * prefix): best fee rate first, every parent before its child. Entries for which `present` is
 * true are taken as already there (mempool reconciliation: what the peer holds) — never
 * selected, and not waited for by their children.
 */
export function selectTransactions(mempool: PoolReader, budget: number, present?: (e: MempoolEntry) => boolean, maxCount = Infinity): { txs: Transaction[]; fees: bigint } {
  const heap = new IndexedHeap<Candidate>(better);
  const waiting = new Map<string, number>(); // key → pool parents not yet included
  for (const entry of mempool.entries()) {
    if (present?.(entry) === true) continue;
    let n = entry.parents.size;
    if (present !== undefined) for (const k of entry.parents) if (present(mempool.entry(k)!)) n--;
    if (n === 0) heap.push({ entry, sizeBig: BigInt(entry.size), heapIndex: -1 });
    else waiting.set(entry.key, n);
  }
  const txs: Transaction[] = [];
  let fees = 0n;
  let left = budget;
  for (let c = heap.pop(); c !== undefined && left >= 4 + MIN_TRANSFER_SIZE && txs.length < maxCount; c = heap.pop()) {
    const cost = 4 + c.entry.size;
    if (cost > left) continue;
    left -= cost;
    txs.push(c.entry.tx);
    fees += c.entry.fee;
    for (const k of c.entry.children) {
      const n = waiting.get(k);
      if (n === undefined) continue;
      if (n > 1) {
        waiting.set(k, n - 1);
        continue;
      }
      waiting.delete(k);
      const child = mempool.entry(k);
      if (child !== undefined) heap.push({ entry: child, sizeBig: BigInt(child.size), heapIndex: -1 });
    }
  }
  return { txs, fees };
}

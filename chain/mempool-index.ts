/**
 * The mempool's bookkeeping: entries by txid, which pool entry spends or claims each outpoint,
 * the parent/child links between pool transactions, and outputs by payee. It enforces no
 * policy; chain/mempool.ts decides what goes in and out and keeps the fee-rate heap in step.
 */
import { TxKind } from './constants.js';
import { toHex } from './hash.js';
import type { HeapSlot } from './heap.js';
import { addOne, removeOne, valuesOf, type OneOrSetMap } from './one-or-set.js';
import { decodeRegistrationPayload } from './registration.js';
import { outpointKey, outputKey, type Transaction } from './transaction.js';

/** A pool transaction as callers see it. */
export interface MempoolEntry {
  readonly tx: Transaction;
  /** Lowercase hex txid. */
  readonly key: string;
  readonly fee: bigint;
  /** Encoded size in bytes. */
  readonly size: number;
  /** Chain tip height when it was admitted. */
  readonly height: number;
  /** Admission order (unique, increasing). */
  readonly seq: number;
  /** Keys of pool transactions it depends on (spends an output of, or uses as collateral). */
  readonly parents: ReadonlySet<string>;
  /** Keys of pool transactions that depend on it. */
  readonly children: ReadonlySet<string>;
}

/** The mutable record behind a MempoolEntry. */
export interface PoolEntry extends MempoolEntry, HeapSlot {
  readonly sizeBig: bigint;
  /** outpointKey of every input. */
  readonly spends: readonly string[];
  /** outpointKey of a registration's collateral: it must stay unspent while the entry lives. */
  readonly collateral: string | undefined;
  readonly parents: Set<string>;
  readonly children: Set<string>;
}

export class PoolIndex {
  private readonly entries = new Map<string, PoolEntry>();
  private readonly spentBy = new Map<string, PoolEntry>();
  private readonly claimedBy = new Map<string, PoolEntry>();
  /** Entries paying each key (hex), one alone or a Set (chain/one-or-set.ts). */
  private readonly byPayee: OneOrSetMap<string, PoolEntry> = new Map();
  private totalBytes = 0;

  /** Number of entries. */
  get count(): number {
    return this.entries.size;
  }

  /** Sum of the entries' encoded sizes. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** The entry with hex txid `key`. */
  get(key: string): PoolEntry | undefined {
    return this.entries.get(key);
  }

  /** All entries, in insertion order. */
  values(): IterableIterator<PoolEntry> {
    return this.entries.values();
  }

  /** The entry spending outpoint `op`. */
  spenderOf(op: string): PoolEntry | undefined {
    return this.spentBy.get(op);
  }

  /** The entry that spends `op` or holds it as registration collateral. */
  claimantOf(op: string): PoolEntry | undefined {
    return this.spentBy.get(op) ?? this.claimedBy.get(op);
  }

  /** Add the spender and the collateral claimant of `op` (if any) to `into`. */
  claimantsOf(op: string, into: Set<PoolEntry>): void {
    const s = this.spentBy.get(op);
    if (s !== undefined) into.add(s);
    const c = this.claimedBy.get(op);
    if (c !== undefined) into.add(c);
  }

  /**
   * outpointKey of a registration's collateral, undefined for other kinds. checkTxSanity has
   * already rejected an undecodable payload; a throw here would be a rules bug and surfaces.
   */
  collateralOf(tx: Transaction): string | undefined {
    if (tx.kind !== TxKind.MasternodeRegistration) return undefined;
    const p = decodeRegistrationPayload(tx.payload);
    return outpointKey(p.collateralTxid, p.collateralIndex);
  }

  /** Insert `e` and link it to its parents and to pool entries already depending on it. */
  add(e: PoolEntry): void {
    this.entries.set(e.key, e);
    this.totalBytes += e.size;
    for (const op of e.spends) this.spentBy.set(op, e);
    if (e.collateral !== undefined) this.claimedBy.set(e.collateral, e);
    for (const p of e.parents) this.entries.get(p)?.children.add(e.key);
    // Only after a disconnect can dependants be here first (re-admitted parent).
    for (let n = 0; n < e.tx.outputs.length; n++) {
      const op = outputKey(e.key, n);
      for (const child of [this.spentBy.get(op), this.claimedBy.get(op)]) {
        if (child === undefined || child === e) continue;
        e.children.add(child.key);
        child.parents.add(e.key);
      }
    }
    for (const o of e.tx.outputs) addOne(this.byPayee, toHex(o.publicKey), e);
  }

  /** Remove `e` alone; its children lose the link (their parent confirmed or they go too). */
  remove(e: PoolEntry): void {
    if (this.entries.get(e.key) !== e) return;
    this.entries.delete(e.key);
    this.totalBytes -= e.size;
    for (const op of e.spends) if (this.spentBy.get(op) === e) this.spentBy.delete(op);
    if (e.collateral !== undefined && this.claimedBy.get(e.collateral) === e) this.claimedBy.delete(e.collateral);
    for (const p of e.parents) this.entries.get(p)?.children.delete(e.key);
    for (const c of e.children) this.entries.get(c)?.parents.delete(e.key);
    for (const o of e.tx.outputs) removeOne(this.byPayee, toHex(o.publicKey), e);
  }

  /** Add `e` and every pool entry depending on it, transitively, to `into`. */
  collectDescendants(e: PoolEntry, into: Set<PoolEntry>): void {
    if (into.has(e)) return;
    into.add(e);
    const stack = [e];
    while (stack.length > 0) {
      for (const k of stack.pop()!.children) {
        const c = this.entries.get(k);
        if (c !== undefined && !into.has(c)) {
          into.add(c);
          stack.push(c);
        }
      }
    }
  }

  /** Keys of `parents` and all their pool ancestors. */
  ancestorKeys(parents: ReadonlySet<string>): Set<string> {
    const seen = new Set<string>(parents);
    const stack = [...parents];
    while (stack.length > 0) {
      const e = this.entries.get(stack.pop()!);
      if (e === undefined) continue;
      for (const p of e.parents) {
        if (!seen.has(p)) {
          seen.add(p);
          stack.push(p);
        }
      }
    }
    return seen;
  }

  /** Entries with at least one output to `publicKey`. */
  paying(publicKey: Uint8Array): Iterable<PoolEntry> {
    return valuesOf(this.byPayee, toHex(publicKey));
  }
}

/**
 * Bounded buffer of authenticated messages for a future view of this height or for the next height,
 * replayed when the engine gets there. Entries are grouped in buckets (one per known signer, one for
 * signers outside the current set, one for unsigned decisions). A bucket holds at most its fair
 * share; when the whole buffer is full the oldest entry of the fullest bucket goes, so a flooder
 * evicts its own messages, never an honest validator's.
 */
import type { ConsensusMessage } from './types.js';

export interface Buffered {
  readonly seq: number;
  readonly height: number;
  readonly view: number;
  readonly msg: ConsensusMessage;
  readonly from: string | undefined;
  readonly bucket: string;
}

export class FutureBuffer {
  private readonly buckets = new Map<string, Buffered[]>();
  private total = 0;
  private seq = 0;

  constructor(readonly max: number) {}

  get size(): number {
    return this.total;
  }

  /** Add a message; returns the entries dropped to make room (possibly the new one itself). */
  add(msg: ConsensusMessage, view: number, from: string | undefined, bucket: string, bucketCap: number): Buffered[] {
    const entry: Buffered = { seq: this.seq++, height: msg.height, view, msg, from, bucket };
    if (this.max <= 0 || bucketCap <= 0) return [entry];
    const dropped: Buffered[] = [];
    const own = this.buckets.get(bucket) ?? [];
    if (own.length >= bucketCap) dropped.push(this.shift(bucket)!);
    if (this.total >= this.max) dropped.push(this.shift(this.fullestBucket())!);
    const list = this.buckets.get(bucket) ?? [];
    list.push(entry);
    this.buckets.set(bucket, list);
    this.total++;
    return dropped;
  }

  private shift(bucket: string): Buffered | undefined {
    const list = this.buckets.get(bucket);
    const e = list?.shift();
    if (e === undefined) return undefined;
    this.total--;
    if (list!.length === 0) this.buckets.delete(bucket);
    return e;
  }

  /** Largest bucket; ties go to the one holding the oldest entry (deterministic). */
  private fullestBucket(): string {
    let best = '';
    let bestLen = -1;
    let bestSeq = Infinity;
    for (const [name, list] of this.buckets) {
      const len = list.length;
      const seq = list[0]!.seq;
      if (len > bestLen || (len === bestLen && seq < bestSeq)) {
        best = name;
        bestLen = len;
        bestSeq = seq;
      }
    }
    return best;
  }

  /** Entries `match` accepts, oldest first, left in place. */
  peek(match: (e: Buffered) => boolean): Buffered[] {
    const out: Buffered[] = [];
    for (const list of this.buckets.values()) for (const e of list) if (match(e)) out.push(e);
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** Remove and return, oldest first, every entry `ready` accepts. */
  take(ready: (e: Buffered) => boolean): Buffered[] {
    const out: Buffered[] = [];
    for (const [name, list] of this.buckets) {
      const stay = list.filter((e) => !ready(e));
      if (stay.length === list.length) continue;
      for (const e of list) if (ready(e)) out.push(e);
      this.total -= list.length - stay.length;
      if (stay.length === 0) this.buckets.delete(name);
      else this.buckets.set(name, stay);
    }
    return out.sort((a, b) => a.seq - b.seq);
  }
}

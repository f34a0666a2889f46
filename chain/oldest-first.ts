/**
 * Forgets the oldest entries (insertion order) of a bounded first-in-first-out memo — a Map or Set
 * that is trimmed on every insert of a new key — in amortized O(1).
 *
 * `map.delete(map.keys().next().value)` looks O(1) but is not: V8 leaves a hole where an entry
 * was deleted until it next rebuilds the table, and a fresh iterator walks over every hole at the
 * front. With first-in-first-out eviction all the holes are at the front, so each eviction scanned
 * up to the table's size: 12–16 µs at 20,000 entries, 21 µs at 50,000 (bench/eviction.ts), paid per
 * transaction by the signature cache, the gossip memos and the recently-confirmed txids once they
 * were full — i.e. always, on a node that has run for a while.
 *
 * A long-lived iterator fixes that: Map and Set iterators are live (they skip entries deleted after
 * they were made and reach entries added later), and every entry the cursor yields is deleted at
 * once, so the next one it yields is the oldest still present.
 *
 * But a live iterator also pins the table it last looked at. When V8 rebuilds a table it links the
 * old one to the new, and an iterator that has not moved since keeps that whole chain alive, entries
 * included: a cursor over a memo that churned below its cap (entries deleted and added, none
 * evicted) held a new 0.46 MB table per rebuild, without end (docs/performance.md). So the cursor
 * keeps its iterator only while the memo sits at its cap, where every trim moves it; the first trim
 * with nothing to evict lets it go, and the next eviction starts a fresh one (one scan of the holes).
 * A recency-ordered LRU (delete and re-insert on every use) rebuilds its table between evictions
 * and must not hold one: p2p/peer-score.ts and the rate limiters evict with a fresh iterator.
 */

/** What the cursor needs of a Map or Set. */
export interface InsertionOrdered<K, V> {
  entries(): Iterator<[K, V]>;
  delete(key: K): boolean;
  readonly size: number;
}

/** A cursor over one first-in-first-out memo that deletes its oldest entries. */
export class OldestFirst<K, V> {
  private it: Iterator<[K, V]> | undefined;

  constructor(private readonly target: InsertionOrdered<K, V>) {}

  /** Delete the oldest entries until at most `max` remain, handing each to `onEvict`. */
  trimTo(max: number, onEvict?: (entry: [K, V]) => void): void {
    if (this.target.size <= max) {
      this.it = undefined; // below the cap: holding the iterator would pin every table rebuilt from now on
      return;
    }
    while (this.target.size > max) {
      const entry = this.nextOldest();
      if (entry === undefined) return;
      this.target.delete(entry[0]);
      onEvict?.(entry);
    }
  }

  private nextOldest(): [K, V] | undefined {
    let r = this.it?.next();
    if (r === undefined || r.done) {
      // An iterator that once answered `done` stays done for good: start a fresh one.
      this.it = this.target.entries();
      r = this.it.next();
      if (r.done) {
        this.it = undefined;
        return undefined;
      }
    }
    return r.value;
  }
}

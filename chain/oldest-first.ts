/**
 * Removes the oldest entry (insertion order) of a Map or Set in amortized O(1): the one way every
 * bounded memo, cache and LRU in the node forgets its oldest entries.
 *
 * `map.delete(map.keys().next().value)` looks O(1) but is not: V8 leaves a hole where an entry
 * was deleted until it next rebuilds the table, and a fresh iterator walks over every hole at the
 * front. With first-in-first-out eviction all the holes are at the front, so each eviction scanned
 * up to the table's size: 12–16 µs at 20,000 entries, 21 µs at 50,000 (bench/eviction.ts), paid per
 * transaction by the signature cache, the gossip memos and the recently-confirmed txids once they
 * were full — i.e. always, on a node that has run for a while.
 *
 * One long-lived iterator fixes it. Map and Set iterators are live: they skip entries deleted
 * after they were made and reach entries added later (an entry deleted and added again moves to
 * the end, as it does in the Map's own order). Every entry the cursor yields is deleted at once,
 * so every entry still present lies ahead of it, and the next one it yields is the oldest.
 */

/** What the cursor needs of a Map or Set. */
export interface InsertionOrdered<K, V> {
  entries(): Iterator<[K, V]>;
  delete(key: K): boolean;
  readonly size: number;
}

/** A cursor over one Map or Set that deletes and returns its oldest entry. */
export class OldestFirst<K, V> {
  private it: Iterator<[K, V]>;

  constructor(private readonly target: InsertionOrdered<K, V>) {
    this.it = target.entries();
  }

  /** Delete the oldest entry still present and return it as [key, value]; undefined when empty. */
  shift(): [K, V] | undefined {
    // Never ask an empty collection: an iterator that once answers `done` stays done for good.
    if (this.target.size === 0) return undefined;
    let r = this.it.next();
    if (r.done) {
      this.it = this.target.entries();
      r = this.it.next();
      if (r.done) return undefined;
    }
    this.target.delete(r.value[0]);
    return r.value;
  }

  /** Delete the oldest entries until at most `max` remain. */
  trimTo(max: number): void {
    while (this.target.size > max && this.shift() !== undefined);
  }
}

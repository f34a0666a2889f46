/**
 * A binary heap whose items remember their own position, so any item can be removed in
 * O(log n) (the mempool removes arbitrary transactions on block connect and eviction, and a
 * heap with lazy deletion would keep dead entries alive for an unbounded time).
 */

/** An item that can sit in one IndexedHeap at a time; `heapIndex` is -1 when outside. */
export interface HeapSlot {
  heapIndex: number;
}

export class IndexedHeap<T extends HeapSlot> {
  private readonly items: T[] = [];

  /** `before(a, b)` is true when `a` must come out before `b` (a strict order). */
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  /** Number of items. */
  get size(): number {
    return this.items.length;
  }

  /** The first item, without removing it. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Add an item that is not in any heap. */
  push(item: T): void {
    if (item.heapIndex !== -1) throw new Error('IndexedHeap: item is already in a heap');
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  /** Remove and return the first item. */
  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  /** Remove `item` if it is in this heap; returns whether it was. */
  remove(item: T): boolean {
    const i = item.heapIndex;
    if (i < 0 || this.items[i] !== item) return false;
    this.removeAt(i);
    return true;
  }

  /**
   * Items in heap order without modifying the heap: the k first items cost O(k log k), by
   * walking the heap tree with a small frontier heap. The heap must not change while iterating.
   */
  *ordered(): Generator<T> {
    const items = this.items;
    if (items.length === 0) return;
    const frontier: number[] = [0];
    const earlier = (a: number, b: number) => this.before(items[a]!, items[b]!);
    while (frontier.length > 0) {
      const i = frontier[0]!;
      const last = frontier.pop()!;
      if (frontier.length > 0) {
        frontier[0] = last;
        siftDown(frontier, 0, earlier);
      }
      yield items[i]!;
      for (const c of [2 * i + 1, 2 * i + 2]) {
        if (c < items.length) {
          frontier.push(c);
          siftUp(frontier, frontier.length - 1, earlier);
        }
      }
    }
  }

  private removeAt(i: number): void {
    const items = this.items;
    const removed = items[i]!;
    const last = items.pop()!;
    removed.heapIndex = -1;
    if (i === items.length) return;
    items[i] = last;
    last.heapIndex = i;
    this.up(i);
    this.down(last.heapIndex);
  }

  private up(i: number): void {
    const items = this.items;
    const item = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (!this.before(item, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.before(items[r]!, items[l]!) ? r : l;
      const child = items[c]!;
      if (!this.before(child, item)) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}

function siftUp(a: number[], i: number, before: (x: number, y: number) => boolean): void {
  const v = a[i]!;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(v, a[p]!)) break;
    a[i] = a[p]!;
    i = p;
  }
  a[i] = v;
}

function siftDown(a: number[], i: number, before: (x: number, y: number) => boolean): void {
  const n = a.length;
  const v = a[i]!;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && before(a[r]!, a[l]!) ? r : l;
    if (!before(a[c]!, v)) break;
    a[i] = a[c]!;
    i = c;
  }
  a[i] = v;
}

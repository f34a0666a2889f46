/**
 * IndexedHeap against a sorted-array model: random push / pop / remove sequences, and the
 * non-destructive ordered() walk, which the mempool uses to plan evictions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IndexedHeap } from '../../chain/heap.js';

interface Item {
  readonly key: number;
  readonly id: number;
  heapIndex: number;
}
const before = (a: Item, b: Item) => a.key < b.key || (a.key === b.key && a.id < b.id);
const byOrder = (a: Item, b: Item) => (before(a, b) ? -1 : before(b, a) ? 1 : 0);

type Op = { op: 'push'; key: number } | { op: 'pop' } | { op: 'remove'; pick: number } | { op: 'walk'; take: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('push' as const), key: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('pop' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('walk' as const), take: fc.nat({ max: 30 }) }) },
);

describe('IndexedHeap', () => {
  it('behaves like a sorted list under push, pop, remove and ordered()', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const heap = new IndexedHeap<Item>(before);
        let model: Item[] = [];
        let nextId = 0;
        for (const o of ops) {
          if (o.op === 'push') {
            const item = { key: o.key, id: nextId++, heapIndex: -1 };
            heap.push(item);
            model.push(item);
            model.sort(byOrder);
          } else if (o.op === 'pop') {
            const got = heap.pop();
            expect(got).toBe(model.shift());
            if (got) expect(got.heapIndex).toBe(-1);
          } else if (o.op === 'remove') {
            if (model.length === 0) continue;
            const victim = model[o.pick % model.length]!;
            expect(heap.remove(victim)).toBe(true);
            expect(heap.remove(victim)).toBe(false);
            model = model.filter((m) => m !== victim);
          } else {
            const seen: Item[] = [];
            for (const item of heap.ordered()) {
              if (seen.length === o.take) break;
              seen.push(item);
            }
            expect(seen).toEqual(model.slice(0, o.take));
          }
          expect(heap.size).toBe(model.length);
          expect(heap.peek()).toBe(model[0]);
        }
        expect([...heap.ordered()]).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an item that is already in a heap', () => {
    const heap = new IndexedHeap<Item>(before);
    const item = { key: 1, id: 1, heapIndex: -1 };
    heap.push(item);
    expect(() => heap.push(item)).toThrow(/already/);
  });
});

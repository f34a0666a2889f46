/** OldestFirst: the long-lived eviction cursor, checked against a model of insertion order with fast-check. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OldestFirst } from '../../chain/oldest-first.js';

type Op =
  | { kind: 'set'; key: number; value: number }
  | { kind: 'delete'; key: number }
  | { kind: 'shift' }
  | { kind: 'trim'; max: number }
  | { kind: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 15 }), value: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 15 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('shift' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('trim' as const), max: fc.integer({ min: 0, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
);

describe('OldestFirst', () => {
  it('always removes the oldest entry still present, whatever was set, updated, deleted or cleared before', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        const map = new Map<number, number>();
        const cursor = new OldestFirst(map);
        // The model: keys in insertion order (an update keeps its place, a re-insert goes last).
        let model: [number, number][] = [];
        for (const op of ops) {
          if (op.kind === 'set') {
            const at = model.findIndex(([k]) => k === op.key);
            if (at >= 0) model[at] = [op.key, op.value];
            else model.push([op.key, op.value]);
            map.set(op.key, op.value);
          } else if (op.kind === 'delete') {
            model = model.filter(([k]) => k !== op.key);
            map.delete(op.key);
          } else if (op.kind === 'shift') {
            expect(cursor.shift()).toEqual(model.shift());
          } else if (op.kind === 'trim') {
            cursor.trimTo(op.max);
            model = model.slice(Math.max(0, model.length - op.max));
          } else {
            map.clear();
            model = [];
          }
          expect([...map]).toEqual(model);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('works on a Set and keeps working after the collection was emptied', () => {
    const set = new Set<string>();
    const cursor = new OldestFirst(set);
    expect(cursor.shift()).toBeUndefined();
    set.add('a').add('b');
    expect(cursor.shift()).toEqual(['a', 'a']);
    expect(cursor.shift()).toEqual(['b', 'b']);
    expect(cursor.shift()).toBeUndefined();
    set.add('c');
    set.add('a');
    expect(cursor.shift()).toEqual(['c', 'c']);
    expect([...set]).toEqual(['a']);
  });

  it('evicts in first-in-first-out order over many more entries than it holds', () => {
    // The eviction pattern of the bounded memos: add one, forget the oldest, thousands of times.
    const map = new Map<number, true>();
    const cursor = new OldestFirst(map);
    for (let i = 0; i < 20_000; i++) {
      map.set(i, true);
      cursor.trimTo(1_000);
    }
    expect(map.size).toBe(1_000);
    expect([...map.keys()]).toEqual(Array.from({ length: 1_000 }, (_, i) => 19_000 + i));
  });
});

/** OldestFirst: the eviction cursor of bounded memos, against a model of insertion order, and what it must not keep alive. */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OldestFirst } from '../../chain/oldest-first.js';

type Op = { kind: 'set'; key: number; value: number } | { kind: 'delete'; key: number } | { kind: 'trim'; max: number } | { kind: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 15 }), value: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 15 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('trim' as const), max: fc.integer({ min: 0, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
);

/** V8's collector, reachable without starting the test process with --expose-gc. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('OldestFirst', () => {
  it('always evicts the oldest entries still present, in order, whatever was set, updated, deleted or cleared before', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        const map = new Map<number, number>();
        const cursor = new OldestFirst(map);
        // The model: entries in insertion order (an update keeps its place, a re-insert goes last).
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
          } else if (op.kind === 'trim') {
            const evicted: [number, number][] = [];
            cursor.trimTo(op.max, (e) => evicted.push(e));
            const cut = Math.max(0, model.length - op.max);
            expect(evicted).toEqual(model.slice(0, cut));
            model = model.slice(cut);
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

  it('works on a Set, and again after the collection was emptied', () => {
    const set = new Set<string>();
    const cursor = new OldestFirst(set);
    cursor.trimTo(0);
    set.add('a').add('b');
    const evicted: string[] = [];
    cursor.trimTo(0, ([k]) => evicted.push(k));
    set.add('c');
    set.add('a');
    cursor.trimTo(1, ([k]) => evicted.push(k));
    expect(evicted).toEqual(['a', 'b', 'c']);
    expect([...set]).toEqual(['a']);
  });

  it('evicts first-in-first-out over many more entries than it holds', () => {
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

  it('pins no table V8 rebuilt while its memo churns below the cap', async () => {
    // The finality tracker's pattern: every insert trims to a cap the memo never reaches, and
    // entries leave by deletion. A cursor that kept a live iterator here pinned the chain of every
    // table V8 rebuilt since (in a node: ~0.46 MB per rebuild, 142 of them after two minutes).
    const gc = collector();
    const usedAfterGc = async (): Promise<number> => {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      return getHeapStatistics().used_heap_size;
    };
    const map = new Map<number, number>();
    const cursor = new OldestFirst(map);
    for (let i = 0; i < 20_000; i++) {
      cursor.trimTo(100_000);
      map.set(i, i);
    }
    const before = await usedAfterGc();
    for (let i = 20_000; i < 420_000; i++) {
      cursor.trimTo(100_000);
      map.set(i, i);
      map.delete(i - 20_000); // churn at a steady 20,000 entries: a rebuild every ~12,000 deletions
    }
    const grew = (await usedAfterGc()) - before;
    cursor.trimTo(19_999); // the cursor is still in use (a dead one would be collected with what it pins)
    expect(map.size).toBe(19_999);
    expect(grew).toBeLessThan(4_000_000); // a pinned chain would be ~30 tables of ~0.8 MB
  });
});

/** RecentTxids: a bounded memory of confirmed txids, checked against a model with fast-check. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecentTxids } from '../../chain/recent-txids.js';

describe('RecentTxids', () => {
  it('remembers at most max txids, forgetting the oldest first, like a model FIFO', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), id: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 20 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.array(op, { maxLength: 80 }), (max, ops) => {
        const r = new RecentTxids(max);
        let model: string[] = [];
        for (const o of ops) {
          const id = `t${o.id}`;
          if (o.kind === 'delete') {
            r.delete(id);
            model = model.filter((x) => x !== id);
          } else if (max > 0 && !model.includes(id)) {
            r.add(id);
            model.push(id);
            if (model.length > max) model.shift();
          } else r.add(id);
          expect(r.size).toBe(model.length);
        }
        for (let i = 0; i <= 20; i++) expect(r.has(`t${i}`)).toBe(model.includes(`t${i}`));
      }),
    );
  });

  it('refuses a bound that is not a non-negative integer', () => {
    expect(() => new RecentTxids(-1)).toThrow(RangeError);
    expect(() => new RecentTxids(1.5)).toThrow(RangeError);
  });
});

/**
 * PendingWrites (chain/store-pending.ts) against a model: whatever order adds and lookups come
 * in, a lookup answers the newest held value of its key (null when deleted, undefined when
 * untouched), though each key prefix's index is built only at its first lookup.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BatchOp } from '../../chain/store-batch.js';
import { PendingWrites, overlayValue } from '../../chain/store-pending.js';

/** Keys over three prefixes and a few suffixes, so that adds and lookups collide often. */
const keyArb = fc.tuple(fc.constantFrom(0x75, 0x74, 0x61), fc.integer({ min: 0, max: 5 })).map(([p, n]) => Buffer.from([p, n, n ^ 0x5a]));
const opArb: fc.Arbitrary<BatchOp> = fc.oneof(
  fc.tuple(keyArb, fc.uint8Array({ minLength: 0, maxLength: 4 })).map(([key, v]) => ({ type: 'put' as const, key, value: Buffer.from(v) })),
  keyArb.map((key) => ({ type: 'del' as const, key })),
);
const stepArb = fc.oneof(fc.array(opArb, { maxLength: 6 }).map((ops) => ({ add: ops })), keyArb.map((key) => ({ lookup: key })));

describe('PendingWrites', () => {
  it('answers every lookup with the newest held value of its key, adds and lookups interleaved (property)', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
        const held = new PendingWrites();
        const model = new Map<string, Buffer | null>();
        let bytes = 0;
        for (const step of steps) {
          if ('add' in step) {
            held.add(step.add);
            for (const op of step.add) {
              model.set(op.key.toString('hex'), op.type === 'put' ? op.value : null);
              bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
            }
          } else {
            expect(held.lookup(step.lookup)).toEqual(model.get(step.lookup.toString('hex')));
          }
        }
        expect(held.bytes).toBe(bytes);
        expect(held.operations.length).toBe(steps.reduce((n, s) => n + ('add' in s ? s.add.length : 0), 0));
      }),
      { numRuns: 300 },
    );
  });

  it('a newer layer shadows an older one, key by key', () => {
    const key = (p: number, n: number) => Buffer.from([p, n]);
    const older = new PendingWrites();
    const newer = new PendingWrites();
    older.add([{ type: 'put', key: key(0x75, 1), value: Buffer.from('old') }, { type: 'put', key: key(0x75, 2), value: Buffer.from('kept') }]);
    expect(overlayValue([newer, older], key(0x75, 1))?.toString()).toBe('old');
    newer.add([{ type: 'del', key: key(0x75, 1) }]);
    expect(overlayValue([newer, older], key(0x75, 1))).toBeNull();
    expect(overlayValue([newer, older], key(0x75, 2))?.toString()).toBe('kept');
    expect(overlayValue([newer, older], key(0x74, 2))).toBeUndefined();
  });
});

/**
 * src/key-garbage.ts: a verify thread collects once per COLLECT_EVERY_IMPORTS keys imported, never
 * in between (a fast-check model over any sequence of per-batch import counts), counts from what
 * was imported before it existed, and chain/ed25519.ts counts an import per key not in its cache
 * (a cached key is not imported again). The real worker's collection: tests/unit/verify-pool.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSigner, keyObjectsImported, verifySignature } from '../../chain/ed25519.js';
import { COLLECT_EVERY_IMPORTS, ImportedKeyCollector } from '../../src/key-garbage.js';

describe('ImportedKeyCollector', () => {
  it('collects after each batch that brings the imports since the last collection to `every` or more, and only then', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.nat({ max: 1_000 }), fc.array(fc.nat({ max: 120 }), { maxLength: 200 }), (every, start, batches) => {
        let imported = start;
        let collected = 0;
        const c = new ImportedKeyCollector(() => imported, () => collected++, every);
        let last = start; // the model
        for (const n of batches) {
          imported += n;
          const due = imported - last >= every;
          if (due) last = imported;
          expect(c.afterBatch()).toBe(due);
        }
        expect(c.collections).toBe(collected);
      }),
    );
  });

  it('defaults to one key cache of imports and refuses a count that is not a positive integer', () => {
    let imported = 0;
    const c = new ImportedKeyCollector(() => imported, () => undefined);
    imported = COLLECT_EVERY_IMPORTS - 1;
    expect(c.afterBatch()).toBe(false);
    imported = COLLECT_EVERY_IMPORTS;
    expect(c.afterBatch()).toBe(true);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new ImportedKeyCollector(() => 0, () => undefined, bad)).toThrow(RangeError);
  });
});

describe('keyObjectsImported', () => {
  it('counts one import per key verified that is not cached, none for a cached one', () => {
    const signers = [1, 2, 3].map((b) => createSigner(new Uint8Array(32).fill(0xa0 + b)));
    const m = Uint8Array.of(7);
    const before = keyObjectsImported();
    for (const s of signers) expect(verifySignature(s.publicKey, m, s.sign(m))).toBe(true);
    expect(keyObjectsImported() - before).toBe(3);
    for (const s of signers) expect(verifySignature(s.publicKey, m, s.sign(m))).toBe(true);
    expect(keyObjectsImported() - before).toBe(3);
  });
});

/**
 * Property: any interleaving of held (non-durable) connects, durable connects, disconnects,
 * finalization and flushes leaves the store — as its readers see it after every step, and on
 * disk after a reopen — exactly where a store that did the same with durable connects only is
 * (docs/storage.md "Deferred connects"). Real LevelDB in temp dirs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../chain/hash.js';
import { ChainStore } from '../../chain/store.js';
import { ChainBuilder, TestRng } from '../fixtures/chain-builder.js';
import { removeDir, tempDir } from '../fixtures/store-helpers.js';

type Step = 'held' | 'durable' | 'disconnect' | 'finalize' | 'flush';
const STEP = fc.constantFrom<Step>('held', 'held', 'held', 'durable', 'disconnect', 'finalize', 'flush');

/** What a reader can tell about a store, compared after every step. */
async function observe(s: ChainStore, b: ChainBuilder): Promise<unknown> {
  const tip = s.tip();
  const block = await s.getBlockByHeight(tip.height);
  const balances = await Promise.all(b.signers.slice(0, 3).map((k) => s.getAddressBalance(k.publicKey)));
  return { tip: toHex(tip.hash), height: tip.height, fin: s.finalized().height, stats: s.utxoStats(), block: block && toHex(block.hash), balances };
}

describe('ChainStore held connects: property against durable-only connects', () => {
  it('every interleaving reads and reopens like the durable store', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(STEP, { minLength: 1, maxLength: 14 }), fc.integer({ min: 1, max: 2 ** 30 }), async (steps, seed) => {
        const b = new ChainBuilder(11);
        const rng = new TestRng(seed);
        const [dirA, dirB] = [await tempDir('held-a'), await tempDir('held-b')];
        let held: ChainStore | undefined = await ChainStore.open(dirA);
        const ref = await ChainStore.open(dirB);
        try {
          await held.initialize(b.genesis, 'dev');
          await ref.initialize(b.genesis, 'dev');
          for (const step of steps) {
            const tip = held.tip();
            if (step === 'held' || step === 'durable') {
              const block = b.nextBlock(tip, rng, 3);
              await held.connectBlock(block, Uint8Array.of(1), { durable: step === 'durable' });
              await ref.connectBlock(block, Uint8Array.of(1));
              b.apply(block);
            } else if (step === 'disconnect') {
              if (tip.height <= held.finalized().height) continue;
              await held.disconnectTip();
              await ref.disconnectTip();
              await b.resetFrom(ref);
            } else if (step === 'finalize') {
              await held.setFinalized(tip.height, tip.hash);
              await ref.setFinalized(tip.height, tip.hash);
            } else {
              await held.flush();
            }
            expect(await observe(held, b)).toEqual(await observe(ref, b));
          }
          expect(await held.utxoSetHash()).toEqual(await ref.utxoSetHash());
          await held.close();
          held = await ChainStore.open(dirA);
          expect(await observe(held, b)).toEqual(await observe(ref, b));
          expect(await held.utxoSetHash()).toEqual(await ref.utxoSetHash());
        } finally {
          await held?.close();
          await ref.close();
          await removeDir(dirA);
          await removeDir(dirB);
        }
      }),
      { numRuns: 25 },
    );
  });
});

/**
 * Reorg property (fast-check, real LevelDB): connect chain A, disconnect back to a fork point,
 * connect chain B. The whole database must then be byte-identical to a fresh store that
 * connected B directly — every key, not just the UTXO set. Disconnect leaves no residue.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainStore } from '../../chain/store.js';
import { ChainBuilder, TestRng } from '../fixtures/chain-builder.js';
import { connectRandomBlocks, countPrefixes, dumpPrefix, removeDir, tempDir } from '../fixtures/store-helpers.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map(removeDir));
});

async function dumpAll(dir: string): Promise<Record<string, Array<[string, string]>>> {
  const out: Record<string, Array<[string, string]>> = {};
  for (const p of Object.keys(await countPrefixes(dir))) out[p] = await dumpPrefix(dir, p);
  return out;
}

describe('ChainStore reorg', () => {
  it('connect A, disconnect to the fork, connect B ≡ connect B directly (whole database)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 4 }), // shared prefix
        fc.integer({ min: 1, max: 5 }), // A's blocks after the fork
        fc.integer({ min: 0, max: 5 }), // B's blocks after the fork
        fc.integer({ min: 1, max: 10 }), // transfers per block
        async (seed, prefix, lenA, lenB, txs) => {
          const [d1, d2] = [await tempDir('reorg'), await tempDir('reorg')];
          dirs.push(d1, d2);
          const b = new ChainBuilder(seed % 5);
          const s1 = await ChainStore.open(d1);
          await s1.initialize(b.genesis);
          const shared = await connectRandomBlocks(s1, b, new TestRng(seed), prefix, txs);
          await connectRandomBlocks(s1, b, new TestRng(seed + 1), lenA, txs);
          for (let i = 0; i < lenA; i++) await s1.disconnectTip();
          expect(s1.tip().height).toBe(prefix);
          await b.resetFrom(s1);
          const chainB = await connectRandomBlocks(s1, b, new TestRng(seed + 2), lenB, txs);
          const info1 = await s1.utxoSetHash();
          await s1.close();

          const s2 = await ChainStore.open(d2);
          await s2.initialize(b.genesis);
          for (const block of [...shared, ...chainB]) await s2.connectBlock(block);
          const info2 = await s2.utxoSetHash();
          await s2.close();
          expect(Buffer.from(info1.hash).toString('hex')).toBe(Buffer.from(info2.hash).toString('hex'));
          expect(await dumpAll(d1)).toEqual(await dumpAll(d2));
          await Promise.all(dirs.splice(0).map(removeDir));
        },
      ),
      { numRuns: 12, seed: 7 },
    );
  });
});

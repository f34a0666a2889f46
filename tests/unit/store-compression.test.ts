/**
 * LevelDB table compression is off by default (chain/store.ts StoreOptions.compression). Databases
 * written by earlier versions have snappy-compressed tables; they must open and read the same
 * chain with the new default, and a database written either way must keep working either way.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toHex } from '../../chain/hash.js';
import { ChainStore } from '../../chain/store.js';
import { ChainBuilder, TestRng } from '../fixtures/chain-builder.js';
import { connectRandomBlocks, removeDir, tempDir } from '../fixtures/store-helpers.js';

let dir: string;
let store: ChainStore | undefined;

beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await store?.close();
  store = undefined;
  await removeDir(dir);
});

/** Every block by height, the UTXO set hash and the tip: what a reader must see identically. */
async function snapshot(s: ChainStore): Promise<{ tip: string; utxo: string; blocks: string[] }> {
  const blocks: string[] = [];
  for (let h = 0; h <= s.tip().height; h++) blocks.push(toHex((await s.getBlockByHeight(h))!.hash));
  return { tip: toHex(s.tip().hash), utxo: JSON.stringify(await s.utxoSetHash(), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), blocks };
}

/** Close and reopen with `compression`; the reopen replays LevelDB's log into a table written with that setting. */
async function reopen(compression: boolean | undefined): Promise<ChainStore> {
  await store?.close();
  store = await ChainStore.open(dir, compression === undefined ? {} : { compression });
  return store;
}

describe('ChainStore: table compression', () => {
  it('reads a database written with snappy tables under the default, and grows it either way', async () => {
    const b = new ChainBuilder(7);
    const rng = new TestRng(7);
    store = await ChainStore.open(dir, { compression: true });
    await store.initialize(b.genesis, 'dev');
    await connectRandomBlocks(store, b, rng, 12, 8);
    // Reopening with compression on turns the log into a compressed level-0 table.
    await reopen(true);
    const written = await snapshot(store);
    expect(readdirSync(dir).some((f) => f.endsWith('.ldb'))).toBe(true);

    // The default (off) reads the compressed table: the same chain, block for block.
    await reopen(undefined);
    expect(await snapshot(store)).toEqual(written);

    // Grow it without compression, then read the mixed database with compression on again.
    await connectRandomBlocks(store, b, rng, 6, 8);
    await reopen(undefined);
    const grown = await snapshot(store);
    expect(grown.blocks.slice(0, written.blocks.length)).toEqual(written.blocks);
    expect(grown.blocks).toHaveLength(written.blocks.length + 6);
    await reopen(true);
    expect(await snapshot(store)).toEqual(grown);
  });

  it('reaches LevelDB: the same chain takes less table space with compression on than with the default', async () => {
    const tableBytes = async (compression: boolean | undefined): Promise<number> => {
      const d = await tempDir();
      try {
        const b = new ChainBuilder(9);
        const rng = new TestRng(9);
        let s = await ChainStore.open(d, compression === undefined ? {} : { compression });
        await s.initialize(b.genesis, 'dev');
        await connectRandomBlocks(s, b, rng, 12, 8);
        await s.close();
        s = await ChainStore.open(d, compression === undefined ? {} : { compression }); // log → table
        await s.close();
        return readdirSync(d).filter((f) => f.endsWith('.ldb')).reduce((n, f) => n + statSync(join(d, f)).size, 0);
      } finally {
        await removeDir(d);
      }
    };
    const plain = await tableBytes(undefined);
    const snappy = await tableBytes(true);
    expect(plain).toBeGreaterThan(0);
    expect(snappy).toBeLessThan(plain);
  });
});

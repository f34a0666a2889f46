/**
 * ChainStore against a real LevelDB in temp dirs: connect, queries, indexes, refusals (by code),
 * and the reorg property: connect N random blocks, disconnect them all, and the UTXO set and
 * address index are byte-identical to the start.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBlock, type Block } from '../../chain/block.js';
import { BLOCK_REWARD, TxKind } from '../../chain/constants.js';
import { StoreCode } from '../../chain/errors.js';
import { toHex } from '../../chain/hash.js';
import { blockKey, heightKey, TIP_KEY, txKey, undoKey, utxoKey } from '../../chain/layout.js';
import { blockDelta, connectReadKeys, txidIndexChecked } from '../../chain/store-batch.js';
import { ChainStore } from '../../chain/store.js';
import { createTransaction, outpointKey, txSigningMessage, withSignatures } from '../../chain/transaction.js';
import { OverlayView } from '../../chain/utxo.js';
import { ALLOCATION_PER_KEY, ChainBuilder, coinbaseTx, TestRng } from '../fixtures/chain-builder.js';
import { connectRandomBlocks, countPrefixes, dumpPrefix, pokeRaw, removeDir, tempDir } from '../fixtures/store-helpers.js';

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

async function openInit(b: ChainBuilder): Promise<ChainStore> {
  store = await ChainStore.open(dir);
  await store.initialize(b.genesis, 'dev');
  return store;
}

async function reopen(): Promise<ChainStore> {
  await store!.close();
  store = await ChainStore.open(dir);
  return store;
}

describe('ChainStore: initialize and queries', () => {
  it('stores genesis as tip and finalized, with stats, indexes and chain meta', async () => {
    const b = new ChainBuilder(1);
    const s = await openInit(b);
    expect(s.initialized).toBe(true);
    expect(s.tip()).toEqual({ height: 0, hash: b.genesis.hash });
    expect(s.finalized()).toEqual({ height: 0, hash: b.genesis.hash });
    expect(toHex(s.chainId)).toBe(toHex(b.genesis.hash));
    expect(s.network).toBe('dev');
    expect(s.utxoStats()).toEqual({ count: 8, totalAmount: b.issuedAt(0) });
    expect(toHex((await s.getBlockByHeight(0))!.bytes)).toBe(toHex(b.genesis.bytes));
    const gtx = b.genesis.txs[0]!;
    const rec = (await s.getTransaction(gtx.txid))!;
    expect(rec.height).toBe(0);
    expect(rec.position).toBe(0);
    expect(toHex(rec.tx.bytes)).toBe(toHex(gtx.bytes));
    expect(await s.hasTransaction(gtx.txid)).toBe(true);
    expect(await s.hasTransaction(new Uint8Array(32).fill(7))).toBe(false);
    expect(await s.getAddressBalance(b.signers[3]!.publicKey)).toBe(ALLOCATION_PER_KEY);
    const coin = (await s.getUtxo(gtx.txid, 3))!;
    expect({ ...coin, publicKey: toHex(coin.publicKey) }).toEqual({ amount: ALLOCATION_PER_KEY, publicKey: toHex(b.signers[3]!.publicKey), height: 0, coinbase: true });
    // Same genesis again is a no-op; another genesis or network is refused, also after reopen.
    await s.initialize(b.genesis, 'dev');
    await expect(s.initialize(new ChainBuilder(2).genesis, 'dev')).rejects.toMatchObject({ code: StoreCode.GenesisMismatch });
    const s2 = await reopen();
    await expect(s2.initialize(b.genesis, 'testnet')).rejects.toMatchObject({ code: StoreCode.GenesisMismatch });
    expect(s2.tip().height).toBe(0);
  });

  it('refuses use before initialize, a non-genesis block, a second opener, and a closed store', async () => {
    store = await ChainStore.open(dir);
    expect(store.initialized).toBe(false);
    expect(() => store!.tip()).toThrow(expect.objectContaining({ code: StoreCode.NotInitialized }));
    const b = new ChainBuilder(1);
    await expect(store.connectBlock(b.genesis)).rejects.toMatchObject({ code: StoreCode.NotInitialized });
    const notGenesis = b.nextBlock({ height: 0, hash: b.genesis.hash }, new TestRng(1), 0);
    await expect(store.initialize(notGenesis)).rejects.toMatchObject({ code: StoreCode.BadGenesis });
    await expect(ChainStore.open(dir)).rejects.toMatchObject({ code: StoreCode.Locked });
    await store.close();
    expect(await countPrefixes(dir)).toEqual({}); // the refusals wrote nothing
    await expect(store.getUtxo(b.genesis.hash, 0)).rejects.toMatchObject({ code: StoreCode.NotOpen });
    await expect(store.initialize(b.genesis)).rejects.toMatchObject({ code: StoreCode.NotOpen });
    store = undefined;
  });

  it('connects a block: spends, creates, indexes txs and addresses, certificate, views', async () => {
    const b = new ChainBuilder(3);
    const s = await openInit(b);
    const rng = new TestRng(3);
    const block = b.nextBlock(s.tip(), rng, 12);
    const cert = Uint8Array.of(1, 2, 3);
    const before = await s.utxoSetHash();
    // The view the validator would use: prefetched, synchronous, overlaid in block order.
    const view = new OverlayView(await s.loadView(block.txs));
    for (const tx of block.txs) {
      for (const i of tx.inputs) expect(view.getUtxo(i.prevTxid, i.prevIndex)).toBeDefined();
      view.apply(tx, 1);
    }
    await s.connectBlock(block, cert);
    b.apply(block);
    expect(s.tip()).toEqual({ height: 1, hash: block.hash });
    expect(toHex((await s.getBlockHash(1))!)).toBe(toHex(block.hash));
    expect(toHex((await s.getBlock(block.hash))!.bytes)).toBe(toHex(block.bytes));
    expect(await s.getBlockMeta(block.hash)).toMatchObject({ height: 1, txCount: block.txs.length });
    expect(toHex((await s.getCertificate(block.hash))!)).toBe('010203');
    for (const [pos, tx] of block.txs.entries()) {
      const rec = (await s.getTransaction(tx.txid))!;
      expect({ h: rec.height, pos: rec.position, bh: toHex(rec.blockHash), bytes: toHex(rec.tx.bytes) }).toEqual({
        h: 1, pos, bh: toHex(block.hash), bytes: toHex(tx.bytes),
      });
    }
    // Spent inputs are gone (async, sync and view paths agree); the model matches the index.
    for (const tx of block.txs.slice(1)) {
      for (const i of tx.inputs) {
        expect(await s.getUtxo(i.prevTxid, i.prevIndex)).toBeUndefined();
        expect(s.getUtxoSync(i.prevTxid, i.prevIndex)).toBeUndefined();
      }
    }
    let total = 0n;
    for (const [n, signer] of b.signers.entries()) {
      const mine = [...b.coins.values()].filter((c) => c.owner === n).map((c) => `${toHex(c.txid)}:${c.index}:${c.amount}`).sort();
      const indexed = (await s.getAddressUtxos(signer.publicKey)).map((u) => `${toHex(u.txid)}:${u.index}:${u.amount}`).sort();
      expect(indexed).toEqual(mine);
      total += await s.getAddressBalance(signer.publicKey);
    }
    expect(total).toBe(b.issuedAt(1));
    const after = await s.utxoSetHash();
    expect(after).toMatchObject({ height: 1, count: b.coins.size, totalAmount: b.issuedAt(1) });
    expect(toHex(after.hash)).not.toBe(toHex(before.hash));
    expect(s.utxoStats()).toEqual({ count: after.count, totalAmount: after.totalAmount });
    expect(await s.databaseSizeBytes()).toBeGreaterThan(0);
  });

  it('a view falls through to a live read for outpoints it did not prefetch', async () => {
    const b = new ChainBuilder(4);
    const s = await openInit(b);
    const view = await s.loadView([]);
    expect(view.getUtxo(b.genesis.txs[0]!.txid, 5)?.amount).toBe(ALLOCATION_PER_KEY);
    expect(view.getUtxo(b.genesis.txs[0]!.txid, 99)).toBeUndefined();
  });
});

describe('ChainStore: refusals leave the database untouched', () => {
  it('NotTip, MissingInput, intra-block double spend, DuplicateTx', async () => {
    const b = new ChainBuilder(5);
    const s = await openInit(b);
    const rng = new TestRng(5);
    const [b1] = await connectRandomBlocks(s, b, rng, 1, 0); // coinbase only: every genesis output stays unspent
    await s.close();
    const snapshot = await dumpPrefix(dir, 'u');
    store = await ChainStore.open(dir);
    const st = store;
    const next = b.nextBlock(st.tip(), rng, 3);
    const wrongHeight = createBlock({ ...next.header, height: 5, txs: next.txs });
    const wrongParent = createBlock({ ...next.header, prevHash: b.genesis.hash, txs: next.txs });
    await expect(st.connectBlock(wrongHeight)).rejects.toMatchObject({ code: StoreCode.NotTip });
    await expect(st.connectBlock(wrongParent)).rejects.toMatchObject({ code: StoreCode.NotTip });
    await expect(st.connectBlock(b1!)).rejects.toMatchObject({ code: StoreCode.NotTip });

    const owner = b.signers[0]!;
    const spend = (prevTxid: Uint8Array, prevIndex: number) => {
      const u = createTransaction({ kind: TxKind.Transfer, inputs: [{ prevTxid, prevIndex, signature: new Uint8Array(64) }], outputs: [{ amount: 1000n, publicKey: owner.publicKey }] });
      return withSignatures(u, [owner.sign(txSigningMessage(b.chainId, u.txid, 0))]);
    };
    const mk = (txs: ReturnType<typeof spend>[]) =>
      createBlock({ height: 2, prevHash: b1!.hash, timestampMs: 1, proposer: owner.publicKey, view: 0, txs: [coinbaseTx(2, BLOCK_REWARD, owner.publicKey), ...txs] });
    const g = b.genesis.txs[0]!.txid;
    const unknownCoin = spend(new Uint8Array(32).fill(7), 0);
    await expect(st.connectBlock(mk([spend(g, 1), unknownCoin]))).rejects.toMatchObject({ code: StoreCode.MissingInput });
    // Spending the same genesis output twice in one block: the second input is missing.
    const twice = createTransaction({ kind: TxKind.Transfer, inputs: [{ prevTxid: g, prevIndex: 2, signature: new Uint8Array(64) }], outputs: [{ amount: 999n, publicKey: owner.publicKey }] });
    await expect(st.connectBlock(mk([spend(g, 2), twice]))).rejects.toMatchObject({ code: StoreCode.MissingInput });
    // A coinbase identical to block 1's (same height payload) repeats a txid already in the chain.
    const dup = createBlock({ height: 2, prevHash: b1!.hash, timestampMs: 1, proposer: owner.publicKey, view: 0, txs: [b1!.txs[0]!] });
    await expect(st.connectBlock(dup)).rejects.toMatchObject({ code: StoreCode.DuplicateTx });
    const sameTxTwice = mk([spend(g, 4), spend(g, 4)]);
    await expect(st.connectBlock(sameTxTwice)).rejects.toMatchObject({ code: StoreCode.MissingInput });
    expect(st.tip()).toEqual({ height: 1, hash: b1!.hash });
    await st.close();
    expect(await dumpPrefix(dir, 'u')).toEqual(snapshot);
    expect((await countPrefixes(dir))['b']).toBe(2);
    store = await ChainStore.open(dir);
    await store.connectBlock(next); // the valid block still connects afterwards
    expect(store.tip().height).toBe(2);
  });

  it('a transaction with inputs that repeats a chain txid is refused MissingInput; only input-less ones are looked up in the txid index', async () => {
    const b = new ChainBuilder(7);
    const s = await openInit(b);
    const rng = new TestRng(7);
    const [b1] = await connectRandomBlocks(s, b, rng, 1, 0);
    const owner = b.signers[0]!;
    const g = b.genesis.txs[0]!.txid;
    const u = createTransaction({ kind: TxKind.Transfer, inputs: [{ prevTxid: g, prevIndex: 1, signature: new Uint8Array(64) }], outputs: [{ amount: 1000n, publicKey: owner.publicKey }] });
    const x = withSignatures(u, [owner.sign(txSigningMessage(b.chainId, u.txid, 0))]);
    const at = (height: number, prevHash: Uint8Array, txs: (typeof x)[]) =>
      createBlock({ height, prevHash, timestampMs: height, proposer: owner.publicKey, view: 0, txs: [coinbaseTx(height, BLOCK_REWARD, owner.publicKey), ...txs] });
    const b2 = at(2, b1!.hash, [x]);
    // One index read per block here: the coinbase, the only transaction without inputs.
    expect(connectReadKeys(b2, blockDelta(b2)).map((k) => toHex(k))).toEqual([toHex(utxoKey(g, 1)), toHex(txKey(b2.txs[0]!.txid))]);
    expect(txidIndexChecked(b2)).toEqual([b2.txs[0]]);
    await s.connectBlock(b2);
    await s.close();
    const snapshot = await dumpPrefix(dir, 'u');
    store = await ChainStore.open(dir);
    const st = store;
    // The same transaction again in block 3: its input went when block 2 connected.
    await expect(st.connectBlock(at(3, b2.hash, [x]))).rejects.toMatchObject({ code: StoreCode.MissingInput });
    expect(st.tip()).toEqual({ height: 2, hash: b2.hash });
    expect(await st.getTransaction(x.txid)).toMatchObject({ height: 2 });
    await st.close();
    expect(await dumpPrefix(dir, 'u')).toEqual(snapshot);
  });

  it('serializes concurrent connects: one wins, the other is NotTip', async () => {
    const b = new ChainBuilder(6);
    const s = await openInit(b);
    const x = b.nextBlock(s.tip(), new TestRng(1), 2);
    const y = b.nextBlock(s.tip(), new TestRng(2), 2);
    const results = await Promise.allSettled([s.connectBlock(x), s.connectBlock(y)]);
    expect(results[0]!.status).toBe('fulfilled');
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: StoreCode.NotTip } });
  });
});

describe('ChainStore: disconnect and finality', () => {
  it('connect N random blocks then disconnect all: UTXO set and address index byte-identical', async () => {
    const b = new ChainBuilder(7);
    const s = await openInit(b);
    await s.close();
    const startU = await dumpPrefix(dir, 'u');
    const startA = await dumpPrefix(dir, 'a');
    const startS = await dumpPrefix(dir, 'S');
    const startCounts = await countPrefixes(dir);
    store = await ChainStore.open(dir);
    const genesisInfo = await store.utxoSetHash();
    const blocks = await connectRandomBlocks(store, b, new TestRng(7), 30, 8);
    // The random blocks must include spends of outputs created earlier in the same block.
    const intra = blocks.flatMap((x) => {
      const ids = new Set(x.txs.map((t) => toHex(t.txid)));
      return x.txs.flatMap((t) => t.inputs.filter((i) => ids.has(toHex(i.prevTxid))));
    });
    expect(intra.length).toBeGreaterThan(0);
    const top = await store.utxoSetHash();
    expect(top).toMatchObject({ height: 30, totalAmount: b.issuedAt(30), count: store.utxoStats().count });
    const undone: Block[] = [];
    while (store.tip().height > 0) {
      const h = store.tip().height;
      const block = await store.disconnectTip();
      expect(block.header.height).toBe(h);
      expect(store.utxoStats().totalAmount).toBe(b.issuedAt(h - 1));
      expect(await store.getTransaction(block.txs[0]!.txid)).toBeUndefined();
      expect(await store.hasTransaction(block.txs[0]!.txid)).toBe(false);
      undone.push(block);
    }
    await expect(store.disconnectTip()).rejects.toMatchObject({ code: StoreCode.NothingToDisconnect });
    expect(toHex((await store.utxoSetHash()).hash)).toBe(toHex(genesisInfo.hash));
    expect(await store.getBlockHash(1)).toBeUndefined();
    await store.close();
    expect(await dumpPrefix(dir, 'u')).toEqual(startU);
    expect(await dumpPrefix(dir, 'a')).toEqual(startA);
    expect(await dumpPrefix(dir, 'S')).toEqual(startS);
    expect(await countPrefixes(dir)).toEqual(startCounts);
    // Reconnecting the returned blocks reproduces the same UTXO set hash.
    store = await ChainStore.open(dir);
    for (const block of undone.reverse()) await store.connectBlock(block);
    expect(toHex((await store.utxoSetHash()).hash)).toBe(toHex(top.hash));
    expect(blocks.map((x) => toHex(x.hash))).toEqual(undone.map((x) => toHex(x.hash)));
  });

  it('never disconnects at or below the finalized height; finality is monotonic and on-chain', async () => {
    const b = new ChainBuilder(8);
    const s = await openInit(b);
    const rng = new TestRng(8);
    const [b1, b2] = await connectRandomBlocks(s, b, rng, 2);
    const b3 = b.nextBlock(s.tip(), rng, 3);
    await s.connectBlock(b3, undefined, { final: true });
    b.apply(b3);
    expect(s.finalized()).toEqual({ height: 3, hash: b3.hash });
    await expect(s.disconnectTip()).rejects.toMatchObject({ code: StoreCode.FinalizedBlock });
    await expect(s.setFinalized(2, b2!.hash)).rejects.toMatchObject({ code: StoreCode.FinalizedRegression });
    await connectRandomBlocks(s, b, rng, 2);
    await expect(s.setFinalized(4, b1!.hash)).rejects.toMatchObject({ code: StoreCode.NotInChain });
    await expect(s.setFinalized(9, b1!.hash)).rejects.toMatchObject({ code: StoreCode.NotInChain });
    await s.setFinalized(4, (await s.getBlockHash(4))!);
    await s.disconnectTip(); // 5 → 4
    await expect(s.disconnectTip()).rejects.toMatchObject({ code: StoreCode.FinalizedBlock });
    await expect(s.setCertificate(new Uint8Array(32), Uint8Array.of(1))).rejects.toMatchObject({ code: StoreCode.NotFound });
    await s.setCertificate(b2!.hash, Uint8Array.of(9));
    const r = await reopen();
    expect(r.finalized()).toEqual({ height: 4, hash: (await r.getBlockHash(4))! });
    expect(toHex((await r.getCertificate(b2!.hash))!)).toBe('09');
  });

  it('reopen resumes tip, finalized, stats and chain id', async () => {
    const b = new ChainBuilder(9);
    const s = await openInit(b);
    await connectRandomBlocks(s, b, new TestRng(9), 5);
    const { tip, stats } = { tip: s.tip(), stats: s.utxoStats() };
    const r = await reopen();
    expect(r.tip()).toEqual(tip);
    expect(r.utxoStats()).toEqual(stats);
    expect(toHex(r.chainId)).toBe(toHex(b.genesis.hash));
    await connectRandomBlocks(r, b, new TestRng(10), 2);
    expect(r.tip().height).toBe(7);
  });
});

describe('ChainStore: damage is reported as Corrupt, never acted on', () => {
  it('an output of the tip block missing from the UTXO set stops disconnect', async () => {
    const b = new ChainBuilder(12);
    const s = await openInit(b);
    const [b1] = await connectRandomBlocks(s, b, new TestRng(12), 1, 0);
    await s.close();
    store = undefined;
    await pokeRaw(dir, utxoKey(b1!.txs[0]!.txid, 0), undefined);
    const before = await dumpPrefix(dir, 'u');
    store = await ChainStore.open(dir);
    await expect(store.disconnectTip()).rejects.toMatchObject({ code: StoreCode.Corrupt });
    await store.close();
    store = undefined;
    expect(await dumpPrefix(dir, 'u')).toEqual(before);
  });

  it('a database of another schema version is refused', async () => {
    const b = new ChainBuilder(13);
    await (await openInit(b)).close();
    store = undefined;
    const [[, metaHex]] = (await dumpPrefix(dir, 'M')) as [[string, string]];
    const meta = Buffer.from(metaHex, 'hex');
    meta[0] = 1; // a version-1 database (before the masternode registry) is refused
    await pokeRaw(dir, Buffer.from('M'), meta);
    await expect(ChainStore.open(dir)).rejects.toMatchObject({ code: StoreCode.SchemaMismatch });
  });

  it('a tip without its height index, a damaged undo record, or garbage values', async () => {
    const b = new ChainBuilder(11);
    let s = await openInit(b);
    const [, b2] = await connectRandomBlocks(s, b, new TestRng(11), 2);
    await s.close();
    store = undefined;
    // An undo record that decodes but names the wrong outpoint: disconnect refuses, writes nothing.
    const good = await dumpPrefix(dir, 'U');
    const undoHex = good.find(([k]) => k === undoKey(b2!.hash).toString('hex'))![1];
    const damaged = Buffer.from(undoHex, 'hex');
    damaged[4] = damaged[4]! ^ 0xff; // first byte of the first entry's txid
    await pokeRaw(dir, undoKey(b2!.hash), damaged);
    s = store = await ChainStore.open(dir);
    await expect(s.disconnectTip()).rejects.toMatchObject({ code: StoreCode.Corrupt });
    expect(s.tip().height).toBe(2);
    await s.close();
    store = undefined;
    await pokeRaw(dir, undoKey(b2!.hash), Buffer.from(undoHex.slice(0, 20), 'hex'));
    s = store = await ChainStore.open(dir);
    await expect(s.disconnectTip()).rejects.toMatchObject({ code: StoreCode.Corrupt });
    await s.close();
    store = undefined;
    // Block bytes that no longer decode: reads and disconnect report Corrupt.
    await pokeRaw(dir, undoKey(b2!.hash), Buffer.from(undoHex, 'hex'));
    await pokeRaw(dir, blockKey(b2!.hash), Buffer.from('00', 'hex'));
    s = store = await ChainStore.open(dir);
    await expect(s.getBlock(b2!.hash)).rejects.toMatchObject({ code: StoreCode.Corrupt });
    await expect(s.disconnectTip()).rejects.toMatchObject({ code: StoreCode.Corrupt });
    await s.close();
    store = undefined;
    // Pointers that disagree with the indexes: open refuses.
    await pokeRaw(dir, heightKey(2), undefined);
    await expect(ChainStore.open(dir)).rejects.toMatchObject({ code: StoreCode.Corrupt });
    await pokeRaw(dir, TIP_KEY, Buffer.from('abcd', 'hex'));
    await expect(ChainStore.open(dir)).rejects.toMatchObject({ code: StoreCode.Corrupt });
  });
});

describe('ChainStore: runs of non-durable connects ended by flush()', () => {
  it('give the same database as durable connects, and flush() changes no state', async () => {
    const b = new ChainBuilder(5);
    const s = await openInit(b);
    const rng = new TestRng(5);
    const blocks: Block[] = [];
    for (let i = 0; i < 6; i++) {
      const block = b.nextBlock(s.tip(), rng, 4);
      await s.connectBlock(block, undefined, { final: true, durable: false });
      b.apply(block);
      blocks.push(block);
    }
    const tip = s.tip();
    const before = await s.utxoSetHash();
    await s.flush();
    expect(s.tip()).toEqual(tip);
    expect(await s.utxoSetHash()).toEqual(before);
    const reopened = await reopen();
    expect(reopened.tip()).toEqual(tip);
    expect(reopened.finalized()).toEqual(tip);
    expect(await reopened.utxoSetHash()).toEqual(before);

    // The same blocks connected durably, into a second store: byte-identical UTXO set.
    const dir2 = await tempDir();
    const other = await ChainStore.open(dir2);
    try {
      await other.initialize(b.genesis, 'dev');
      for (const block of blocks) await other.connectBlock(block, undefined, { final: true });
      expect(await other.utxoSetHash()).toEqual(before);
    } finally {
      await other.close();
      await removeDir(dir2);
    }
  });
});

describe('ChainStore: held non-durable connects (one LevelDB batch per run)', () => {
  it('every read path sees held blocks before they land; disconnect, close and reopen keep them whole', async () => {
    const b = new ChainBuilder(6);
    const s = await openInit(b);
    const rng = new TestRng(6);
    // The reference: the same blocks connected durably into a second store.
    const dir2 = await tempDir();
    const ref = await ChainStore.open(dir2);
    try {
      await ref.initialize(b.genesis, 'dev');
      const blocks: Block[] = [];
      for (let i = 0; i < 5; i++) {
        const block = b.nextBlock(s.tip(), rng, 5);
        // Each block spends outputs of the previous held ones: planning must read through them.
        await s.connectBlock(block, Uint8Array.of(i + 1), { final: true, durable: false });
        await ref.connectBlock(block, Uint8Array.of(i + 1), { final: true });
        b.apply(block);
        blocks.push(block);
      }
      // The run must exercise planning through held writes: some block spends an earlier held block's output.
      const heldTxids = new Set(blocks.flatMap((x) => x.txs.map((t) => toHex(t.txid))));
      expect(blocks.slice(1).some((x) => x.txs.some((t) => t.inputs.some((i) => heldTxids.has(toHex(i.prevTxid)))))).toBe(true);
      const last = blocks.at(-1)!;
      expect(s.tip()).toEqual(ref.tip());
      expect(s.finalized()).toEqual(ref.finalized());
      expect(toHex((await s.getBlockHash(last.header.height))!)).toBe(toHex(last.hash));
      expect(toHex((await s.getBlockByHeight(3))!.hash)).toBe(toHex(blocks[2]!.hash));
      expect(await s.getBlockMeta(last.hash)).toEqual(await ref.getBlockMeta(last.hash));
      expect(toHex((await s.getCertificate(last.hash))!)).toBe('05');
      const spend = last.txs[1]!;
      expect(toHex((await s.getTransaction(spend.txid))!.tx.bytes)).toBe(toHex(spend.bytes));
      expect(await s.getUtxo(spend.txid, 0)).toEqual(await ref.getUtxo(spend.txid, 0));
      expect(s.getUtxoSync(spend.txid, 0)).toEqual(ref.getUtxoSync(spend.txid, 0));
      // A coin spent inside the held run reads as spent, through every path.
      const spentInput = spend.inputs[0]!;
      expect(await s.getUtxo(spentInput.prevTxid, spentInput.prevIndex)).toBeUndefined();
      expect(s.getUtxoSync(spentInput.prevTxid, spentInput.prevIndex)).toBeUndefined();
      const view = await s.loadView([spend]);
      expect(view.getUtxo(spentInput.prevTxid, spentInput.prevIndex)).toBeUndefined();
      for (const k of b.signers) expect(await s.getAddressBalance(k.publicKey)).toBe(await ref.getAddressBalance(k.publicKey));
      expect(await s.utxoSetHash()).toEqual(await ref.utxoSetHash());

      // More held blocks, then a disconnect (which lands them first) and a close without flush.
      const more = b.nextBlock(s.tip(), rng, 5);
      await s.connectBlock(more, undefined, { durable: false });
      await ref.connectBlock(more);
      expect(toHex((await s.disconnectTip()).hash)).toBe(toHex(more.hash));
      await ref.disconnectTip();
      await b.resetFrom(s);
      const tail = b.nextBlock(s.tip(), rng, 5);
      await s.connectBlock(tail, undefined, { durable: false });
      await ref.connectBlock(tail);
      const reopened = await reopen();
      expect(reopened.tip()).toEqual(ref.tip());
      expect(reopened.finalized()).toEqual(ref.finalized());
      expect(await reopened.utxoSetHash()).toEqual(await ref.utxoSetHash());
    } finally {
      await ref.close();
      await removeDir(dir2);
    }
  });
});

describe('ChainStore.finalBlocksRaw (serving block sync)', () => {
  it('returns stored bytes in height order, within count, byte budget and the finalized height, held blocks included', async () => {
    const b = new ChainBuilder(7);
    const s = await openInit(b);
    const rng = new TestRng(7);
    const blocks: Block[] = [];
    for (let i = 1; i <= 150; i++) {
      const block = b.nextBlock(s.tip(), rng, 1 + (i % 3));
      // Blocks 141..150 stay held (non-durable); block 150 is not final.
      await s.connectBlock(block, Uint8Array.of(i & 0xff, 7), { final: i < 150, durable: i <= 140 });
      b.apply(block);
      blocks.push(block);
    }
    const size = (x: Block) => 8 + x.bytes.length + 2;
    const all = await s.finalBlocksRaw(1, 256, 1 << 30);
    expect(all.length).toBe(149); // stops at the finalized height, not the tip
    all.forEach((e, i) => {
      expect(toHex(e.block)).toBe(toHex(blocks[i]!.bytes));
      expect([...e.cert]).toEqual([(i + 1) & 0xff, 7]);
    });
    expect((await s.finalBlocksRaw(20, 5, 1 << 30)).map((e) => toHex(e.block))).toEqual(blocks.slice(19, 24).map((x) => toHex(x.bytes)));
    // A budget that fits exactly k blocks returns k, for small and large k (across read chunks).
    for (const k of [1, 7, 8, 9, 70, 130]) {
      const budget = blocks.slice(9, 9 + k).reduce((n, x) => n + size(x), 0);
      expect((await s.finalBlocksRaw(10, 256, budget)).length).toBe(k);
      expect((await s.finalBlocksRaw(10, 256, budget - 1)).length).toBe(k - 1);
    }
    expect(await s.finalBlocksRaw(150, 10, 1 << 30)).toEqual([]);
    expect(await s.finalBlocksRaw(9_999, 10, 1 << 30)).toEqual([]);
    expect((await s.finalBlocksRaw(0, 1, 1 << 30)).length).toBe(0); // genesis has no certificate
  });
});

describe('ChainStore.connectBlock with inputs loaded by validation', () => {
  it('uses them only at the tip they were loaded at, and only when they cover every input', async () => {
    const b = new ChainBuilder(8);
    const s = await openInit(b);
    const rng = new TestRng(8);
    await connectRandomBlocks(s, b, rng, 2, 4);
    const block = b.nextBlock(s.tip(), rng, 4);
    const view = await s.loadView(block.txs.slice(1));
    const first = block.txs[1]!.inputs[0]!;
    const key = outpointKey(first.prevTxid, first.prevIndex);
    // A map that (wrongly) says an input is spent: heeded at its own tip, ignored at another.
    const lying = new Map(view.loaded);
    lying.set(key, undefined);
    await expect(s.connectBlock(block, undefined, { inputs: { at: s.tip().hash, entries: lying } })).rejects.toMatchObject({ code: StoreCode.MissingInput });
    const partial = new Map(view.loaded);
    partial.delete(key);
    const before = s.tip();
    expect(before.height).toBe(2);
    // Loaded at another tip, or missing an input: the store reads the inputs itself.
    await s.connectBlock(block, undefined, { inputs: { at: b.genesis.hash, entries: lying } });
    b.apply(block);
    const next = b.nextBlock(s.tip(), rng, 4);
    const nextView = await s.loadView(next.txs.slice(1));
    const nextKey = outpointKey(next.txs[1]!.inputs[0]!.prevTxid, next.txs[1]!.inputs[0]!.prevIndex);
    const missing = new Map(nextView.loaded);
    missing.delete(nextKey);
    await s.connectBlock(next, undefined, { inputs: { at: s.tip().hash, entries: missing } });
    b.apply(next);
    // And the honest map gives exactly the state of a plain connect (checked against a second store).
    const last = b.nextBlock(s.tip(), rng, 4);
    await s.connectBlock(last, undefined, { inputs: { at: s.tip().hash, entries: (await s.loadView(last.txs.slice(1))).loaded } });
    const dir2 = await tempDir();
    const ref = await ChainStore.open(dir2);
    try {
      await ref.initialize(b.genesis, 'dev');
      for (let h = 1; h <= 5; h++) await ref.connectBlock((await s.getBlockByHeight(h))!);
      expect(await ref.utxoSetHash()).toEqual(await s.utxoSetHash());
    } finally {
      await ref.close();
      await removeDir(dir2);
    }
  });
});

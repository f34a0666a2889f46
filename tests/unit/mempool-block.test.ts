/**
 * The mempool across chain changes: removal of included and conflicting transactions when a
 * block connects, re-admission when one disconnects, and the whole cycle against the real
 * LevelDB ChainStore (acceptWithStore → assemble → validate → connect → remove → disconnect →
 * readmit).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assembleBlock } from '../../chain/assembler.js';
import { createBlock, decodeBlock, type Block } from '../../chain/block.js';
import { checkBlockContext, checkBlockSanity } from '../../chain/block-rules.js';
import { BLOCK_REWARD, TxKind } from '../../chain/constants.js';
import { SignatureCache } from '../../chain/ed25519.js';
import { RuleCode, RuleError } from '../../chain/errors.js';
import { createGenesis } from '../../chain/genesis.js';
import { toHex } from '../../chain/hash.js';
import { Mempool } from '../../chain/mempool.js';
import { encodeRegistrationPayload } from '../../chain/registration.js';
import { ChainStore } from '../../chain/store.js';
import { withSignatures, type Transaction } from '../../chain/transaction.js';
import { MapView, OverlayView } from '../../chain/utxo.js';
import { CHAIN_ID, coinOf, coinbase, fund, id, out, signer, spend, type Coin } from './chain-fixtures.js';
import { txAtRate } from './mempool-fixtures.js';

const alice = signer(21);
const bob = signer(22);
const carol = signer(23);

let view: MapView;
let mempool: Mempool;
let n = 0;
const coin = (amount = 1_000_000n, owner = alice): Coin => fund(view, owner, amount, `blk ${n++}`);
const blockOf = (height: number, txs: Transaction[]): Block =>
  createBlock({ height, prevHash: id(`block ${height - 1}`), timestampMs: 1_000 + height, proposer: carol.publicKey, view: 0, txs: [coinbase(height, [out(BLOCK_REWARD, carol)]), ...txs] });
const keys = (txs: readonly Transaction[]) => txs.map((t) => toHex(t.txid)).sort();

beforeEach(() => {
  view = new MapView();
  mempool = new Mempool({ chainId: CHAIN_ID, sigCache: new SignatureCache() });
});

describe('Mempool.removeForBlock', () => {
  it('drops included transactions (children stay, now confirmed-parented) and conflicts with their descendants', () => {
    const c1 = coin();
    const c2 = coin();
    const a = txAtRate(c1, 1n, [bob]);
    const b = txAtRate(coinOf(a, 0, bob), 2n, [carol]);
    const x = txAtRate(c2, 3n, [bob]);
    const y = txAtRate(coinOf(x, 0, bob), 4n, [carol]);
    const z = txAtRate(coin(), 5n, [bob]);
    for (const tx of [a, b, x, y, z]) mempool.accept(tx, view, 0);
    const w = txAtRate(c2, 1n, [alice]); // the block's own spend of c2, never seen by this pool
    const block = blockOf(1, [a, w]);

    const r = mempool.removeForBlock(block);
    expect(r.included).toBe(1);
    expect(keys(r.conflicts)).toEqual(keys([x, y]));
    expect(keys(mempool.txids().map((t) => mempool.get(t)!))).toEqual(keys([b, z]));
    expect(mempool.entry(b.txid)!.parents.size).toBe(0);
    expect(mempool.spentBy(c2.txid, 0)).toBeUndefined();
    expect(mempool.bytes).toBe(b.bytes.length + z.bytes.length);

    // The survivor still builds a valid next block on the chain state after `block`.
    const after = new OverlayView(view);
    for (const tx of block.txs) after.apply(tx, 1);
    const next = assembleBlock({ mempool, height: 2, prevHash: block.hash, timestampMs: 1_002, proposer: carol.publicKey, view: 0, rewardPublicKey: carol.publicKey, reward: BLOCK_REWARD });
    checkBlockSanity(next);
    const ctx = { chainId: CHAIN_ID, sigCache: null, expectedHeight: 2, prevHash: block.hash, parentTimestampMs: 1_001, nowMs: 1_002, reward: BLOCK_REWARD };
    expect(checkBlockContext(next, after, ctx).fees).toBe(mempool.entry(b.txid)!.fee + mempool.entry(z.txid)!.fee);
  });

  it('a block spending the collateral of a pool registration removes the registration', () => {
    const collateral = coin(100_000_000_000n);
    const reg = spend([coin()], [out(990_000n, alice)], {
      kind: TxKind.MasternodeRegistration,
      payload: encodeRegistrationPayload({
        collateralTxid: collateral.txid,
        collateralIndex: 0,
        operatorPublicKey: carol.publicKey,
        addr: '/ip4/10.0.0.1/tcp/24100',
        ownerSignature: new Uint8Array(64),
      }),
    });
    mempool.accept(reg, view, 0);
    const r = mempool.removeForBlock(blockOf(1, [txAtRate(collateral, 1n, [bob])]));
    expect(r.conflicts).toEqual([reg]);
    expect(mempool.size).toBe(0);
  });

  it('a block unrelated to the pool changes nothing', () => {
    const a = txAtRate(coin(), 1n, [bob]);
    mempool.accept(a, view, 0);
    expect(mempool.removeForBlock(blockOf(1, [txAtRate(coin(), 1n, [carol])]))).toEqual({ included: 0, conflicts: [] });
    expect(mempool.has(a.txid)).toBe(true);
  });
});

describe('Mempool: recently confirmed transactions', () => {
  /** A store whose every read fails: admission must answer without I/O. */
  const noIo = {
    tip: () => ({ height: 1, hash: id('block 1') }),
    loadView: async (): Promise<MapView> => { throw new Error('no view load expected'); },
    hasTransaction: async (): Promise<boolean> => { throw new Error('no txid lookup expected'); },
  };

  it('a late copy of a transaction of a connected block is already-in-chain without a store read', async () => {
    const a = txAtRate(coin(), 1n, [bob]);
    const w = txAtRate(coin(), 1n, [carol]); // confirmed without ever being pooled here
    mempool.accept(a, view, 0);
    mempool.removeForBlock(blockOf(1, [a, w]));
    for (const tx of [a, w]) {
      expect(mempool.recentlyConfirmed(tx.txidHex)).toBe(true);
      await expect(mempool.acceptWithStore(tx, noIo)).rejects.toMatchObject({ code: RuleCode.AlreadyInChain });
    }
    expect(mempool.size).toBe(0);
    // Its coinbase is not remembered: only what a peer could offer again (readmit skips coinbases too).
    expect(mempool.recentlyConfirmed(blockOf(1, [a, w]).txs[0]!.txidHex)).toBe(false);
    // Unrelated transactions still go to the store.
    await expect(mempool.acceptWithStore(txAtRate(coin(), 1n, [bob]), noIo)).rejects.toThrow('no view load expected');
  });

  it('a disconnected block is forgotten: its transactions are re-admitted, and only those', async () => {
    const a = txAtRate(coin(), 2n, [bob]);
    const block = blockOf(1, [a]);
    mempool.removeForBlock(block);
    expect(mempool.readmit(block.txs, view, 0)).toEqual({ readmitted: 1, dropped: 0, orphaned: 0 });
    expect(mempool.recentlyConfirmed(a.txidHex)).toBe(false);
    expect(mempool.has(a.txid)).toBe(true);

    const other = new Mempool({ chainId: CHAIN_ID, sigCache: new SignatureCache() });
    other.removeForBlock(block);
    other.readmit([], view, 0);
    const store = { tip: () => ({ height: 0, hash: id('block 0') }), loadView: async () => view, hasTransaction: async () => false };
    await expect(other.acceptWithStore(a, store)).rejects.toMatchObject({ code: RuleCode.AlreadyInChain });
  });
});

describe('Mempool.readmit', () => {
  it('re-admits a disconnected block in order and relinks pool children of its transactions', () => {
    const c1 = coin();
    const a = txAtRate(c1, 2n, [bob]);
    const b = txAtRate(coinOf(a, 0, bob), 2n, [carol]);
    const block = blockOf(1, [a, b]);
    const atBlock = new OverlayView(view);
    for (const tx of block.txs) atBlock.apply(tx, 1);
    // Admitted while `block` was the tip: spends a confirmed output of b.
    const c = txAtRate(coinOf(b, 0, carol), 3n, [alice]);
    mempool.accept(c, atBlock, 1);
    expect(mempool.entry(c.txid)!.parents.size).toBe(0);

    const r = mempool.readmit(block.txs, view, 0);
    expect(r).toEqual({ readmitted: 2, dropped: 0, orphaned: 0 });
    expect([...mempool.entry(b.txid)!.parents]).toEqual([toHex(a.txid)]);
    expect([...mempool.entry(c.txid)!.parents]).toEqual([toHex(b.txid)]);
    expect([...mempool.entry(b.txid)!.children]).toEqual([toHex(c.txid)]);
    const rebuilt = assembleBlock({ mempool, height: 1, prevHash: id('block 0'), timestampMs: 1_001, proposer: carol.publicKey, view: 0, rewardPublicKey: carol.publicKey, reward: BLOCK_REWARD });
    expect(rebuilt.txs.slice(1).map((t) => toHex(t.txid))).toEqual([a, b, c].map((t) => toHex(t.txid)));
    const ctx = { chainId: CHAIN_ID, sigCache: null, expectedHeight: 1, prevHash: id('block 0'), parentTimestampMs: 1_000, nowMs: 1_001, reward: BLOCK_REWARD };
    checkBlockSanity(rebuilt);
    checkBlockContext(rebuilt, view, ctx);
  });

  it('drops what the new chain invalidated, with the pool transactions spending it', () => {
    const c1 = coin();
    const a = txAtRate(c1, 2n, [bob]);
    const b = txAtRate(coinOf(a, 0, bob), 2n, [carol]);
    const block = blockOf(1, [a, b]);
    const atBlock = new OverlayView(view);
    for (const tx of block.txs) atBlock.apply(tx, 1);
    const c = txAtRate(coinOf(b, 0, carol), 3n, [alice]);
    const d = txAtRate(coinOf(c, 0, alice), 3n, [bob]);
    const unrelated = txAtRate(coin(), 1n, [bob]);
    for (const tx of [c, d, unrelated]) mempool.accept(tx, atBlock, 1);

    // After the switch, c1 is spent by the other branch: a (and so b) no longer valid.
    const otherBranch = new OverlayView(view);
    otherBranch.apply(txAtRate(c1, 1n, [carol]), 1);
    const r = mempool.readmit(block.txs, otherBranch, 1);
    expect(r).toEqual({ readmitted: 0, dropped: 2, orphaned: 2 });
    expect(mempool.txids().map(toHex)).toEqual([toHex(unrelated.txid)]);
  });
});

describe('Mempool with the real ChainStore', () => {
  let dir: string;
  let store: ChainStore;
  afterEach(async () => {
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('acceptWithStore → assemble → validate → connect → removeForBlock → disconnect → readmitWithStore', async () => {
    dir = await mkdtemp(join(tmpdir(), 'timecoin-mempool-'));
    store = await ChainStore.open(dir, { sync: false });
    const genesis = createGenesis({ network: 'dev', timestampMs: 1_700_000_000_000, allocations: [{ publicKey: alice.publicKey, amount: 5_000_000_000n }] });
    await store.initialize(genesis, 'dev');
    const chainId = genesis.hash;
    const cache = new SignatureCache();
    const pool = new Mempool({ chainId, sigCache: cache });
    const funds: Coin = { txid: genesis.txs[0]!.txid, index: 0, amount: 5_000_000_000n, owner: alice };

    const tx = spend([funds], [out(1_000_000_000n, bob), out(3_999_990_000n, alice)], { chainId });
    expect((await pool.acceptWithStore(tx, store)).fee).toBe(10_000n);
    const child = spend([coinOf(tx, 0, bob)], [out(999_900_000n, carol)], { chainId });
    await pool.acceptWithStore(child, store);
    const doubleSpend = spend([funds], [out(4_999_000_000n, carol)], { chainId });
    await expect(pool.acceptWithStore(doubleSpend, store)).rejects.toMatchObject({ code: RuleCode.MempoolConflict });
    await expect(pool.acceptWithStore(tx, store)).rejects.toMatchObject({ code: RuleCode.AlreadyInMempool });

    const block = assembleBlock({ mempool: pool, height: 1, prevHash: genesis.hash, timestampMs: 1_700_000_001_000, proposer: carol.publicKey, view: 0, rewardPublicKey: carol.publicKey, reward: BLOCK_REWARD });
    checkBlockSanity(block);
    const ctx = { chainId, sigCache: cache, expectedHeight: 1, prevHash: genesis.hash, parentTimestampMs: 1_700_000_000_000, nowMs: 1_700_000_001_000, reward: BLOCK_REWARD };
    expect(checkBlockContext(block, await store.loadView(block.txs), ctx).fees).toBe(110_000n);
    await store.connectBlock(block);
    expect(pool.removeForBlock(block)).toEqual({ included: 2, conflicts: [] });
    expect(pool.size).toBe(0);

    const err = await pool.acceptWithStore(tx, store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuleError);
    expect((err as RuleError).code).toBe(RuleCode.AlreadyInChain);
    await expect(pool.acceptWithStore(doubleSpend, store)).rejects.toMatchObject({ code: RuleCode.MissingInputs });

    const disconnected = await store.disconnectTip();
    expect(await pool.readmitWithStore(disconnected.txs, store)).toEqual({ readmitted: 2, dropped: 0, orphaned: 0 });
    expect(pool.txids().map(toHex).sort()).toEqual([tx, child].map((t) => toHex(t.txid)).sort());
    expect(pool.entry(tx.txid)!.height).toBe(0);
  });

  it("acceptWithStore shares a batch's loaded view while the tip is the same, and reads its own once a block moved it", async () => {
    dir = await mkdtemp(join(tmpdir(), 'timecoin-mempool-'));
    store = await ChainStore.open(dir, { sync: false });
    const real = store;
    const genesis = createGenesis({ network: 'dev', timestampMs: 1_700_000_000_000, allocations: [{ publicKey: alice.publicKey, amount: 5_000_000_000n }, { publicKey: alice.publicKey, amount: 5_000_000_000n }] });
    await real.initialize(genesis, 'dev');
    const chainId = genesis.hash;
    const pool = new Mempool({ chainId, sigCache: new SignatureCache() });
    const funds = [0, 1].map((index): Coin => ({ txid: genesis.txs[0]!.txid, index, amount: 5_000_000_000n, owner: alice }));
    let loads = 0;
    const counting = { tip: () => real.tip(), hasTransaction: (txid: Uint8Array) => real.hasTransaction(txid), loadView: (txs: readonly Transaction[]) => (loads++, real.loadView(txs)) };

    const first = spend([funds[0]!], [out(4_999_990_000n, bob)], { chainId });
    const second = spend([funds[1]!], [out(4_999_990_000n, bob)], { chainId });
    const loaded = { at: real.tip().hash, view: await real.loadView([first, second]) };
    await pool.acceptWithStore(first, counting, loaded);
    expect(loads).toBe(0);
    expect(pool.has(first.txid)).toBe(true);

    // A block spends funds[1] another way: the view loaded before it would still show it unspent.
    const other = new Mempool({ chainId, sigCache: new SignatureCache() });
    await other.acceptWithStore(spend([funds[1]!], [out(4_999_980_000n, carol)], { chainId }), real);
    const block = assembleBlock({ mempool: other, height: 1, prevHash: genesis.hash, timestampMs: 1_700_000_001_000, proposer: carol.publicKey, view: 0, rewardPublicKey: carol.publicKey, reward: BLOCK_REWARD });
    await real.connectBlock(block);
    await expect(pool.acceptWithStore(second, counting, loaded)).rejects.toMatchObject({ code: RuleCode.MissingInputs });
    expect(loads).toBe(1);
  });
});

/** A value with every byte array (Buffer or Uint8Array: the pool's values may hold either) as hex. */
const plainValue = (x: unknown): unknown =>
  x instanceof Uint8Array ? toHex(x) : Array.isArray(x) ? x.map(plainValue) : typeof x === 'object' && x !== null ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plainValue(v)])) : x;

describe('decodeBlock with the mempool as its known transactions (Mempool.withEncoding)', () => {
  it('reuses the pooled value for a byte-identical transaction and decodes everything else', () => {
    const pooled = [txAtRate(coin(), 2n, [bob]), txAtRate(coin(), 3n, [carol])];
    for (const tx of pooled) mempool.accept(tx, view, 0);
    const c = coin();
    const unknown = txAtRate(c, 1n, [bob]);
    // Same txid as a pooled transaction (signatures are not in it), other signature bytes: a
    // malleated copy must be decoded from its own bytes, never answered with the pooled value.
    const malleated = withSignatures(pooled[1]!, [new Uint8Array(64).fill(9)]);
    expect(toHex(malleated.txid)).toBe(toHex(pooled[1]!.txid));
    const block = blockOf(1, [pooled[0]!, unknown, malleated]);

    const plain = decodeBlock(block.bytes);
    const reused = decodeBlock(block.bytes, mempool.withEncoding);
    expect(plainValue(reused)).toEqual(plainValue(plain));
    expect(reused.txs[1]).toBe(pooled[0]); // the pool's own value
    expect(reused.txs[2]).not.toBe(unknown);
    expect(reused.txs[3]).not.toBe(pooled[1]);
    expect(toHex(reused.txs[3]!.inputs[0]!.signature)).toBe('09'.repeat(64));
    expect(mempool.withEncoding(block.txs[0]!.bytes)).toBeUndefined(); // the coinbase is not pooled
    expect(mempool.withEncoding(new Uint8Array(3))).toBeUndefined(); // no txid in it
  });

  it('gives the value a plain decode gives, whatever the pool holds (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (inPool, malleate) => {
        const pool = new Mempool({ chainId: CHAIN_ID, sigCache: new SignatureCache() });
        const txs = inPool.map((pooledHere, i) => {
          const tx = txAtRate(coin(), BigInt(i + 1), [bob]);
          if (pooledHere) pool.accept(tx, view, 0);
          return malleate[i] === true ? withSignatures(tx, [new Uint8Array(64).fill(i + 1)]) : tx;
        });
        const block = blockOf(1, txs);
        const reused = decodeBlock(block.bytes, pool.withEncoding);
        expect(plainValue(reused)).toEqual(plainValue(decodeBlock(block.bytes)));
        txs.forEach((tx, i) => expect(reused.txs[i + 1] === pool.get(tx.txid)).toBe(inPool[i] === true && malleate[i] !== true));
      }),
      { numRuns: 40 },
    );
  });
});

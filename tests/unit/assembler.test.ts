/**
 * Block assembly: the coinbase first paying reward + fees, best exact fee rate first, parents
 * before children, MAX_BLOCK_SIZE respected with the pool holding more than 2 MB, and every
 * assembled block passing checkBlockSanity and checkBlockContext (with no signature verified
 * twice: the pool warmed the shared cache).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { assembleBlock } from '../../chain/assembler.js';
import { HEADER_SIZE, encodedBlockSize, type Block } from '../../chain/block.js';
import { checkBlockContext, checkBlockSanity, coinbaseHeight } from '../../chain/block-rules.js';
import { BLOCK_REWARD, MAX_BLOCK_SIZE, TxKind } from '../../chain/constants.js';
import { toHex } from '../../chain/hash.js';
import { Mempool } from '../../chain/mempool.js';
import { encodedTxSize, type Transaction } from '../../chain/transaction.js';
import { MapView, type UtxoView } from '../../chain/utxo.js';
import { CHAIN_ID, coinOf, fund, id, out, signer, spend, type Coin } from './chain-fixtures.js';
import { CountingCache, txAtRate } from './mempool-fixtures.js';

const alice = signer(11);
const bob = signer(12);
const miner = signer(13);
const PREV = id('parent block');
const T0 = 1_700_000_000_000;

let view: MapView;
let cache: CountingCache;
let mempool: Mempool;
let n = 0;
const coin = (amount = 10_000_000n, owner = alice): Coin => fund(view, owner, amount, `asm ${n++}`);

beforeEach(() => {
  view = new MapView();
  cache = new CountingCache();
  mempool = new Mempool({ chainId: CHAIN_ID, sigCache: cache });
});

function assemble(opts: { reward?: bigint; maxBlockSize?: number; maxTransactions?: number } = {}): Block {
  return assembleBlock({
    mempool,
    height: 8,
    prevHash: PREV,
    timestampMs: T0 + 1_000,
    proposer: miner.publicKey,
    view: 2,
    rewardPublicKey: miner.publicKey,
    reward: opts.reward ?? BLOCK_REWARD,
    ...(opts.maxBlockSize === undefined ? {} : { maxBlockSize: opts.maxBlockSize }),
    ...(opts.maxTransactions === undefined ? {} : { maxTransactions: opts.maxTransactions }),
  });
}

/** Both block rule passes, as a validating node runs them; returns the fees. */
function validate(block: Block, utxos: UtxoView = view, reward = BLOCK_REWARD): bigint {
  checkBlockSanity(block);
  const ctx = { chainId: CHAIN_ID, sigCache: cache, expectedHeight: 8, prevHash: PREV, parentTimestampMs: T0, nowMs: T0 + 1_000, reward };
  return checkBlockContext(block, utxos, ctx).fees;
}

const order = (block: Block) => block.txs.slice(1).map((t) => toHex(t.txid));
const ids = (...txs: Transaction[]) => txs.map((t) => toHex(t.txid));

describe('assembleBlock', () => {
  it('with an empty pool: just the coinbase paying the reward', () => {
    const block = assemble();
    expect(block.txs).toHaveLength(1);
    const cb = block.txs[0]!;
    expect(cb.kind).toBe(TxKind.Coinbase);
    expect(coinbaseHeight(cb.payload)).toBe(8n);
    expect(cb.outputs).toEqual([{ amount: BLOCK_REWARD, publicKey: miner.publicKey }]);
    expect(block.header).toMatchObject({ height: 8, timestampMs: T0 + 1_000, view: 2 });
    expect(toHex(block.header.prevHash)).toBe(toHex(PREV));
    expect(validate(block)).toBe(0n);
  });

  it('a transaction cap keeps the best fee rates, and the capped block validates', () => {
    const txs = [3n, 7n, 1n, 5n].map((r) => txAtRate(coin(), r, [bob]));
    for (const tx of txs) mempool.accept(tx, view, 7);
    const block = assemble({ maxTransactions: 2 });
    expect(order(block)).toEqual(ids(txs[1]!, txs[3]!));
    validate(block);
    expect(assemble({ maxTransactions: 10 }).txs).toHaveLength(5);
  });

  it('orders by fee rate, pays reward + fees, and the block validates without re-verifying', () => {
    const txs = [3n, 7n, 1n, 5n].map((r) => txAtRate(coin(), r, [bob]));
    for (const tx of txs) mempool.accept(tx, view, 7);
    const block = assemble();
    expect(order(block)).toEqual(ids(txs[1]!, txs[3]!, txs[0]!, txs[2]!));
    const fees = txs.reduce((s, t) => s + mempool.entry(t.txid)!.fee, 0n);
    expect(block.txs[0]!.outputs[0]!.amount).toBe(BLOCK_REWARD + fees);
    const before = cache.misses;
    expect(validate(block)).toBe(fees);
    expect(cache.misses).toBe(before);
  });

  it('ties keep admission order', () => {
    const txs = [2n, 2n, 2n].map((r) => txAtRate(coin(), r, [bob]));
    for (const tx of txs) mempool.accept(tx, view, 7);
    expect(order(assemble())).toEqual(ids(...txs));
  });

  it('puts a parent before its richer child, and the child before its other dependants', () => {
    const parent = txAtRate(coin(), 1n, [bob, bob], 1_000_000n);
    const child = txAtRate(coinOf(parent, 0, bob), 50n, [alice]);
    const grandchild = txAtRate(coinOf(child, 0, alice), 40n, [bob]);
    const sibling = txAtRate(coinOf(parent, 1, bob), 30n, [alice]);
    const unrelated = txAtRate(coin(), 20n, [bob]);
    // Admitted in dependency order, which assembly must keep even though rates run the other way.
    for (const tx of [parent, child, grandchild, sibling, unrelated]) mempool.accept(tx, view, 7);
    const block = assemble();
    expect(order(block)).toEqual(ids(unrelated, parent, child, grandchild, sibling));
    validate(block);
  });

  it('no child-pays-for-parent: a rich child waits behind ready transactions its parent pays less than', () => {
    const parent = txAtRate(coin(), 2n, [bob]);
    const child = txAtRate(coinOf(parent, 0, bob), 9n, [alice]);
    const rich = txAtRate(coin(), 9n, [bob]);
    for (const tx of [parent, child, rich]) mempool.accept(tx, view, 7);
    const block = assemble();
    expect(order(block)).toEqual(ids(rich, parent, child));
    validate(block);
  });

  it('declines a sub-dust reward rather than build an invalid coinbase', () => {
    const block = assemble({ reward: 0n });
    expect(block.txs[0]!.outputs).toEqual([]);
    validate(block, view, 0n);
  });

  it('fits the size budget exactly: a transaction that would cross it by one byte is skipped', () => {
    const tx = txAtRate(coin(), 5n, [bob]);
    mempool.accept(tx, view, 7);
    const exact = HEADER_SIZE + 4 + 4 + encodedTxSize(0, 1, 8) + 4 + tx.bytes.length;
    const fits = assemble({ maxBlockSize: exact });
    expect(fits.bytes.length).toBe(exact);
    expect(order(fits)).toEqual(ids(tx));
    expect(order(assemble({ maxBlockSize: exact - 1 }))).toEqual([]);
  });

  it('a child whose parent did not fit is left out; smaller transactions fill the space', () => {
    const big = spend([coin(100_000_000n)], Array.from({ length: 200 }, () => out(10_000n, bob)).concat(out(10_000n, alice)));
    const child = txAtRate(coinOf(big, 200, alice), 20n, [bob], 0n);
    const small = txAtRate(coin(), 2n, [bob]);
    for (const tx of [big, child, small]) mempool.accept(tx, view, 7);
    const budget = HEADER_SIZE + 4 + 4 + encodedTxSize(0, 1, 8) + 4 + small.bytes.length + 4 + child.bytes.length;
    const block = assemble({ maxBlockSize: budget });
    expect(order(block)).toEqual(ids(small));
    validate(block);
  });

  it('respects MAX_BLOCK_SIZE with more than 2 MB waiting, and the full block validates', () => {
    // 24 transactions of ~90 kB (2.2 MB) at rising fee rates, plus 300 small ones paying less.
    const big = Array.from({ length: 24 }, (_, i) => {
      const outs = Array.from({ length: 2_250 }, () => out(600n, bob));
      const c = coin(10_000_000n);
      const size = BigInt(encodedTxSize(1, outs.length, 0));
      return spend([c], [...outs.slice(1), out(10_000_000n - 600n * 2_249n - (10n + BigInt(i)) * size, alice)]);
    });
    const small = Array.from({ length: 300 }, () => txAtRate(coin(), 3n, [bob]));
    for (const tx of [...big, ...small]) mempool.accept(tx, view, 7);
    expect(mempool.bytes).toBeGreaterThan(MAX_BLOCK_SIZE);
    const block = assemble();
    expect(block.bytes.length).toBeLessThanOrEqual(MAX_BLOCK_SIZE);
    expect(block.bytes.length).toBe(encodedBlockSize(block.txs));
    const included = new Set(order(block));
    // Best rates first: the richest big ones are in, and whatever is left out cannot fit.
    expect(included.has(toHex(big[23]!.txid))).toBe(true);
    const left = MAX_BLOCK_SIZE - block.bytes.length;
    for (const tx of [...big, ...small]) {
      if (!included.has(toHex(tx.txid))) expect(4 + tx.bytes.length).toBeGreaterThan(left);
    }
    expect(small.some((t) => included.has(toHex(t.txid)))).toBe(true);
    const before = cache.misses;
    const fees = validate(block);
    expect(cache.misses).toBe(before);
    expect(block.txs[0]!.outputs[0]!.amount).toBe(BLOCK_REWARD + fees);
  }, 60_000);
});

/**
 * Mempool admission: every rejection code (each leaves the pool unchanged), unconfirmed
 * parents, double spends against the pool, the minimum fee rate, capacity with eviction of the
 * lowest exact fee rate, and registration collateral claims. Real ed25519 signatures throughout.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createBlock } from '../../chain/block.js';
import { BLOCK_REWARD, MAX_MONEY, TxKind } from '../../chain/constants.js';
import { RuleCode } from '../../chain/errors.js';
import { toHex } from '../../chain/hash.js';
import { Mempool, type MempoolConfig } from '../../chain/mempool.js';
import { encodeRegistrationPayload } from '../../chain/registration.js';
import { createTransaction, outpointKey } from '../../chain/transaction.js';
import { sigCacheKey } from '../../chain/tx-inputs.js';
import { MapView } from '../../chain/utxo.js';
import { CHAIN_ID, coinOf, coinbase, fund, id, out, signer, spend, type Coin } from './chain-fixtures.js';
import { CountingCache, expectRejected, txAtRate } from './mempool-fixtures.js';

const alice = signer(1);
const bob = signer(2);
const carol = signer(3);

let view: MapView;
let cache: CountingCache;
const pool = (o: Partial<MempoolConfig> = {}) => new Mempool({ chainId: CHAIN_ID, sigCache: cache, ...o });
let n = 0;
const coin = (amount = 1_000_000n, owner = alice): Coin => fund(view, owner, amount, `coin ${n++}`);

beforeEach(() => {
  view = new MapView();
  cache = new CountingCache();
});

describe('Mempool.accept: valid transactions', () => {
  it('admits a transfer and reports fee, size, queries and info', () => {
    const m = pool();
    const c = coin();
    const tx = txAtRate(c, 2n, [bob, alice]);
    const r = m.accept(tx, view, 10);
    expect(r.fee).toBe(2n * BigInt(tx.bytes.length));
    expect(r.size).toBe(tx.bytes.length);
    expect(r.evicted).toEqual([]);
    expect(m.has(tx.txid)).toBe(true);
    expect(m.has(toHex(tx.txid))).toBe(true);
    expect(m.has(toHex(tx.txid).toUpperCase())).toBe(true);
    expect(m.get(tx.txid)).toBe(tx);
    expect(m.entry(tx.txid)?.height).toBe(10);
    expect(m.size).toBe(1);
    expect(m.bytes).toBe(tx.bytes.length);
    expect(m.txids().map(toHex)).toEqual([toHex(tx.txid)]);
    expect(m.info()).toEqual({ size: 1, bytes: tx.bytes.length, maxsize: 10_000, minfeerate: 1n });
    expect(toHex(m.spentBy(c.txid, 0)!)).toBe(toHex(tx.txid));
    expect(m.spentBy(c.txid, 1)).toBeUndefined();
    expect(m.output(tx.txid, 0)?.amount).toBe(1_000n);
    expect(m.output(tx.txid, 2)).toBeUndefined();
  });

  it('warms the shared signature cache so block connect need not verify again', () => {
    const m = pool();
    const tx = txAtRate(coin(), 1n, [bob]);
    m.accept(tx, view, 1);
    expect(cache.misses).toBe(1);
    expect(cache.has(sigCacheKey(tx.txid, 0, alice.publicKey, tx.inputs[0]!.signature))).toBe(true);
  });

  it('admits chains of unconfirmed transactions and links parents and children', () => {
    const m = pool();
    const parent = txAtRate(coin(), 1n, [bob, carol], 100_000n);
    m.accept(parent, view, 1);
    const child = txAtRate(coinOf(parent, 1, carol), 3n, [alice]);
    m.accept(child, view, 1);
    const grandchild = txAtRate(coinOf(child, 0, alice), 2n, [bob]);
    m.accept(grandchild, view, 1);
    // Another output of the same parent is still spendable.
    const sibling = txAtRate(coinOf(parent, 0, bob), 5n, [carol], 0n);
    m.accept(sibling, view, 1);
    expect(m.size).toBe(4);
    expect([...m.entry(child.txid)!.parents]).toEqual([toHex(parent.txid)]);
    expect([...m.entry(parent.txid)!.children].sort()).toEqual([toHex(child.txid), toHex(sibling.txid)].sort());
    expect([...m.entry(grandchild.txid)!.parents]).toEqual([toHex(child.txid)]);
    expect(m.entry(grandchild.txid)!.children.size).toBe(0);
    expect(toHex(m.spentBy(parent.txid, 1)!)).toBe(toHex(child.txid));
  });

  it('lists unconfirmed outputs to a key, with the pool spender', () => {
    const m = pool();
    const parent = txAtRate(coin(), 1n, [bob, bob]);
    m.accept(parent, view, 1);
    const child = txAtRate(coinOf(parent, 1, bob), 1n, [carol]);
    m.accept(child, view, 1);
    const outs = m.outputsTo(bob.publicKey).sort((a, b) => a.index - b.index);
    expect(outs.map((o) => [o.index, o.amount])).toEqual([
      [0, 1_000n],
      [1, parent.outputs[1]!.amount],
    ]);
    expect(outs[0]!.spentBy).toBeUndefined();
    expect(toHex(outs[1]!.spentBy!)).toBe(toHex(child.txid));
    expect(m.outputsTo(carol.publicKey).map((o) => o.amount)).toEqual([child.outputs[0]!.amount]);
    expect(m.outputsTo(alice.publicKey)).toEqual([]);
  });

  it('keeps the outputs-to-a-key index right as payers come and go (one payer, several, one paying the key twice)', () => {
    const m = pool();
    const blockWith = (...txs: ReturnType<typeof txAtRate>[]) =>
      createBlock({ height: 2, prevHash: id('index parent'), timestampMs: 2, proposer: carol.publicKey, view: 0, txs: [coinbase(2, [out(BLOCK_REWARD, carol)]), ...txs] });
    const listed = () => m.outputsTo(bob.publicKey).map((o) => `${toHex(o.txid)}:${o.index}`).sort();
    const twice = txAtRate(coin(), 1n, [bob, bob]);
    const once = txAtRate(coin(), 1n, [bob]);
    const other = txAtRate(coin(), 1n, [carol]);
    m.accept(twice, view, 1);
    expect(listed()).toEqual([`${toHex(twice.txid)}:0`, `${toHex(twice.txid)}:1`]);
    m.accept(once, view, 1);
    m.accept(other, view, 1);
    expect(listed()).toEqual([`${toHex(twice.txid)}:0`, `${toHex(twice.txid)}:1`, `${toHex(once.txid)}:0`].sort());
    m.removeForBlock(blockWith(twice));
    expect(listed()).toEqual([`${toHex(once.txid)}:0`]);
    m.removeForBlock(blockWith(once));
    expect(listed()).toEqual([]);
    expect(m.outputsTo(carol.publicKey).map((o) => toHex(o.txid))).toEqual([toHex(other.txid)]);
    m.removeForBlock(blockWith(other));
    expect(m.outputsTo(carol.publicKey)).toEqual([]);
  });
});

describe('Mempool.accept: every rejection carries its code and changes nothing', () => {
  it('unexpected-coinbase', () => {
    const m = pool();
    expectRejected(m, () => m.accept(coinbase(5, [out(10_000n, alice)]), view, 4), RuleCode.UnexpectedCoinbase);
  });

  it('context-free rules run first: dust, no-inputs', () => {
    const m = pool();
    expectRejected(m, () => m.accept(spend([coin()], [out(545n, bob)]), view, 1), RuleCode.Dust);
    const noInputs = createTransaction({ kind: TxKind.Transfer, inputs: [], outputs: [out(1_000n, bob)] });
    expectRejected(m, () => m.accept(noInputs, view, 1), RuleCode.NoInputs);
  });

  it('already-in-mempool', () => {
    const m = pool();
    const tx = txAtRate(coin(), 1n, [bob]);
    m.accept(tx, view, 1);
    expectRejected(m, () => m.accept(tx, view, 1), RuleCode.AlreadyInMempool);
  });

  it('already-in-chain when the view holds one of its outputs (its input then is spent)', () => {
    const m = pool();
    const c = coin();
    const tx = txAtRate(c, 1n, [bob, carol]);
    // As the chain holds it after the block that confirmed it: input spent, outputs unspent.
    view.entries.delete(outpointKey(c.txid, c.index));
    view.entries.set(outpointKey(tx.txid, 1), { amount: tx.outputs[1]!.amount, publicKey: carol.publicKey, height: 3, coinbase: false });
    expectRejected(m, () => m.accept(tx, view, 3), RuleCode.AlreadyInChain);
  });

  it('missing-inputs: unknown outpoint, or an output index the pool parent does not have', () => {
    const m = pool();
    const ghost: Coin = { txid: id('nowhere'), index: 0, amount: 100_000n, owner: alice };
    expectRejected(m, () => m.accept(txAtRate(ghost, 1n, [bob]), view, 1), RuleCode.MissingInputs);
    const parent = txAtRate(coin(), 1n, [bob]);
    m.accept(parent, view, 1);
    const badIndex: Coin = { txid: parent.txid, index: 1, amount: 100_000n, owner: bob };
    expectRejected(m, () => m.accept(txAtRate(badIndex, 1n, [carol]), view, 1), RuleCode.MissingInputs);
  });

  it('bad-signature: wrong key, or a signature for another chain', () => {
    const m = pool();
    const c = coin();
    expectRejected(m, () => m.accept(spend([c], [out(900_000n, bob)], { signers: [bob] }), view, 1), RuleCode.BadSignature);
    expectRejected(m, () => m.accept(spend([c], [out(900_000n, bob)], { chainId: id('other chain') }), view, 1), RuleCode.BadSignature);
    // A bad signature is never cached as good: the honest spend still goes through.
    m.accept(spend([c], [out(900_000n, bob)]), view, 1);
    expect(m.size).toBe(1);
  });

  it('insufficient-funds', () => {
    const m = pool();
    const c = coin(10_000n);
    expectRejected(m, () => m.accept(spend([c], [out(10_001n, bob)]), view, 1), RuleCode.InsufficientFunds);
  });

  it('value-out-of-range when the inputs sum above MAX_MONEY', () => {
    const m = pool();
    const a = coin(MAX_MONEY);
    const b = coin(1_000n);
    expectRejected(m, () => m.accept(spend([a, b], [out(1_000n, bob)]), view, 1), RuleCode.ValueOutOfRange);
  });

  it('insufficient-fee below the minimum fee rate, exact at the boundary', () => {
    const m = pool({ minFeeRate: 3n });
    const c = coin(100_000n);
    const size = BigInt(txAtRate(c, 3n, [bob]).bytes.length);
    const short = spend([c], [out(100_000n - (3n * size - 1n), bob)]);
    expectRejected(m, () => m.accept(short, view, 1), RuleCode.InsufficientFee);
    expectRejected(m, () => m.accept(spend([c], [out(100_000n, bob)]), view, 1), RuleCode.InsufficientFee);
    const exact = spend([c], [out(100_000n - 3n * size, bob)]);
    expect(m.accept(exact, view, 1).fee).toBe(3n * size);
  });

  it('zero fee is below the default minimum of 1 unit per byte', () => {
    const m = pool();
    const c = coin(100_000n);
    expectRejected(m, () => m.accept(spend([c], [out(100_000n, bob)]), view, 1), RuleCode.InsufficientFee);
  });

  it('policy checks cost no signature verification', () => {
    const m = pool();
    const c = coin(100_000n);
    // Forged and fee-less: refused for the fee before any curve work.
    expectRejected(m, () => m.accept(spend([c], [out(100_000n, bob)], { signers: [bob] }), view, 1), RuleCode.InsufficientFee);
    expect(cache.misses).toBe(0);
  });

  it('mempool-conflict: a second spend of a chain output, even paying more', () => {
    const m = pool();
    const c = coin();
    const first = txAtRate(c, 1n, [bob]);
    m.accept(first, view, 1);
    const err = expectRejected(m, () => m.accept(txAtRate(c, 50n, [carol]), view, 1), RuleCode.MempoolConflict);
    expect(err.meta?.conflictsWith).toBe(toHex(first.txid));
  });

  it('mempool-conflict: a second spend of an unconfirmed output', () => {
    const m = pool();
    const parent = txAtRate(coin(), 1n, [bob]);
    m.accept(parent, view, 1);
    m.accept(txAtRate(coinOf(parent, 0, bob), 1n, [carol]), view, 1);
    expectRejected(m, () => m.accept(txAtRate(coinOf(parent, 0, bob), 2n, [alice]), view, 1), RuleCode.MempoolConflict);
  });
});

describe('Mempool.acceptWithStore', () => {
  it('reloads the view when a block connected while it was loading', async () => {
    const m = pool();
    const tx = txAtRate(coin(), 1n, [bob]);
    // The tip moves between the first load's before/after reads, then stays at 6.
    const tips = [5, 6, 6, 6];
    let reads = 0;
    let loads = 0;
    const store = {
      tip: () => {
        const height = tips[Math.min(reads++, tips.length - 1)]!;
        return { height, hash: id(`tip ${height}`) };
      },
      loadView: async () => {
        loads++;
        return view;
      },
      hasTransaction: async () => false,
    };
    const r = await m.acceptWithStore(tx, store);
    expect(r.fee).toBe(BigInt(tx.bytes.length));
    expect(loads).toBe(2);
    expect(m.entry(tx.txid)!.height).toBe(6);
  });

  it('already-in-chain when the store indexes the txid; already-in-mempool before any I/O', async () => {
    const m = pool();
    const tx = txAtRate(coin(), 1n, [bob]);
    // In the chain, the transaction's inputs are spent: the view no longer holds them.
    const store = { tip: () => ({ height: 1, hash: id('t') }), loadView: async () => new MapView(), hasTransaction: async () => true };
    await expect(m.acceptWithStore(tx, store)).rejects.toMatchObject({ code: RuleCode.AlreadyInChain });
    // With every input unspent the transaction cannot be in the chain: no txid-index read at all.
    const unspent = { ...store, loadView: async () => view, hasTransaction: async () => { throw new Error('no txid lookup expected'); } };
    await expect(m.acceptWithStore(tx, unspent)).resolves.toMatchObject({ txid: tx.txid });
    const m2 = pool();
    m2.accept(tx, view, 1);
    const failing = { ...store, loadView: async (): Promise<MapView> => { throw new Error('no I/O expected'); } };
    await expect(m2.acceptWithStore(tx, failing)).rejects.toMatchObject({ code: RuleCode.AlreadyInMempool });
  });
});

describe('Mempool: registration collateral', () => {
  const registration = (funding: Coin, collateral: Coin) =>
    spend([funding], [out(funding.amount - 1_000n, funding.owner)], {
      kind: TxKind.MasternodeRegistration,
      payload: encodeRegistrationPayload({
        collateralTxid: collateral.txid,
        collateralIndex: collateral.index,
        operatorPublicKey: carol.publicKey,
        addr: '/ip4/127.0.0.1/tcp/24100',
        ownerSignature: new Uint8Array(64),
      }),
    });

  it('a pool registration claims its collateral against spends and other registrations', () => {
    const m = pool();
    const collateral = coin(100_000_000_000n);
    m.accept(registration(coin(), collateral), view, 1);
    expectRejected(m, () => m.accept(txAtRate(collateral, 1n, [bob]), view, 1), RuleCode.MempoolConflict);
    expectRejected(m, () => m.accept(registration(coin(), collateral), view, 1), RuleCode.MempoolConflict);
  });

  it('a registration cannot claim a collateral a pool transaction spends', () => {
    const m = pool();
    const collateral = coin(100_000_000_000n);
    m.accept(txAtRate(collateral, 1n, [bob]), view, 1);
    expectRejected(m, () => m.accept(registration(coin(), collateral), view, 1), RuleCode.MempoolConflict);
  });

  it('a collateral created in the pool makes its creator a parent', () => {
    const m = pool();
    const maker = txAtRate(coin(), 1n, [bob]);
    m.accept(maker, view, 1);
    const reg = registration(coin(), coinOf(maker, 0, bob));
    m.accept(reg, view, 1);
    expect([...m.entry(reg.txid)!.parents]).toEqual([toHex(maker.txid)]);
  });
});

describe('Mempool capacity', () => {
  it('mempool-full unless the newcomer beats the cheapest; then the cheapest is evicted', () => {
    const m = pool({ maxTransactions: 3 });
    const [a, b, c] = [2n, 3n, 4n].map((r) => txAtRate(coin(), r, [bob]));
    for (const tx of [a!, b!, c!]) m.accept(tx, view, 1);
    expectRejected(m, () => m.accept(txAtRate(coin(), 2n, [carol]), view, 1), RuleCode.MempoolFull);
    expectRejected(m, () => m.accept(txAtRate(coin(), 1n, [carol]), view, 1), RuleCode.MempoolFull);
    const winner = txAtRate(coin(), 5n, [carol]);
    const r = m.accept(winner, view, 1);
    expect(r.evicted).toEqual([a]);
    expect(m.has(a!.txid)).toBe(false);
    expect(m.size).toBe(3);
    expect(m.spentBy(a!.inputs[0]!.prevTxid, 0)).toBeUndefined();
    // The cheapest is now b at rate 3.
    expectRejected(m, () => m.accept(txAtRate(coin(), 3n, [carol]), view, 1), RuleCode.MempoolFull);
  });

  it('among equal fee rates the newest is evicted first', () => {
    const m = pool({ maxTransactions: 3 });
    const [x, y, z] = [2n, 2n, 4n].map((r) => txAtRate(coin(), r, [bob]));
    for (const tx of [x!, y!, z!]) m.accept(tx, view, 1);
    expect(m.accept(txAtRate(coin(), 3n, [carol]), view, 1).evicted).toEqual([y]);
    expect(m.accept(txAtRate(coin(), 3n, [carol]), view, 1).evicted).toEqual([x]);
  });

  it('evicting a parent evicts its descendants', () => {
    const m = pool({ maxTransactions: 4 });
    const parent = txAtRate(coin(), 1n, [bob]);
    const child = txAtRate(coinOf(parent, 0, bob), 10n, [carol]);
    const grandchild = txAtRate(coinOf(child, 0, carol), 20n, [alice]);
    const other = txAtRate(coin(), 5n, [bob]);
    for (const tx of [parent, child, grandchild, other]) m.accept(tx, view, 1);
    const r = m.accept(txAtRate(coin(), 6n, [carol]), view, 1);
    expect(new Set(r.evicted)).toEqual(new Set([parent, child, grandchild]));
    expect(m.size).toBe(2);
    expect(m.has(other.txid)).toBe(true);
    expect(m.outputsTo(alice.publicKey)).toEqual([]);
  });

  it("never evicts the newcomer's own ancestors", () => {
    const m = pool({ maxTransactions: 2 });
    const parent = txAtRate(coin(), 1n, [bob]);
    const other = txAtRate(coin(), 3n, [carol]);
    m.accept(parent, view, 1);
    m.accept(other, view, 1);
    const child = txAtRate(coinOf(parent, 0, bob), 10n, [alice]);
    expect(m.accept(child, view, 1).evicted).toEqual([other]);
    expect([...m.entry(child.txid)!.parents]).toEqual([toHex(parent.txid)]);
    // Everything cheaper than this grandchild is its ancestor: nothing can make room.
    expectRejected(m, () => m.accept(txAtRate(coinOf(child, 0, alice), 50n, [bob]), view, 1), RuleCode.MempoolFull);
  });

  it('compares fee rates exactly where floats cannot tell them apart', () => {
    const m = pool({ maxTransactions: 1 });
    const f = 2n ** 53n; // Number(f + 1n) === Number(f): a float comparison calls these equal.
    expect(Number(f + 1n) / 154).toBe(Number(f) / 154);
    const payTo = (fee: bigint) => {
      const c = coin(fee + 10_000n);
      return spend([c], [out(10_000n, bob)]);
    };
    const low = payTo(f);
    const high = payTo(f + 1n);
    expect(low.bytes.length).toBe(high.bytes.length);
    m.accept(low, view, 1);
    expectRejected(m, () => m.accept(payTo(f), view, 1), RuleCode.MempoolFull);
    expect(m.accept(high, view, 1).evicted).toEqual([low]);
  });

  it('caps bytes too: evicts cheaper transactions until the newcomer fits, else mempool-full', () => {
    const probe = txAtRate(coin(), 1n, [bob]);
    const m = pool({ maxBytes: 3 * probe.bytes.length });
    const [a, b, c] = [2n, 3n, 4n].map((r) => txAtRate(coin(), r, [bob]));
    for (const tx of [a!, b!, c!]) m.accept(tx, view, 1);
    expect(m.bytes).toBe(3 * probe.bytes.length);
    // Twice the size of the others: room for it takes the two cheapest.
    const wide = txAtRate(coin(10_000_000n), 5n, [carol, carol, carol, carol]);
    expect(wide.bytes.length).toBeLessThanOrEqual(2 * probe.bytes.length);
    expectRejected(m, () => m.accept(txAtRate(coin(10_000_000n), 3n, [carol, carol, carol, carol]), view, 1), RuleCode.MempoolFull);
    expect(new Set(m.accept(wide, view, 1).evicted)).toEqual(new Set([a, b]));
    expect(m.bytes).toBe(c!.bytes.length + wide.bytes.length);
    expect(m.bytes).toBeLessThanOrEqual(m.maxBytes);
    // A transaction larger than the whole cap can never fit.
    const huge = pool({ maxBytes: probe.bytes.length - 1 });
    expectRejected(huge, () => huge.accept(txAtRate(coin(), 100n, [bob]), view, 1), RuleCode.MempoolFull);
  });

  it('maxTransactions 0 refuses everything as mempool-full', () => {
    const m = pool({ maxTransactions: 0 });
    expectRejected(m, () => m.accept(txAtRate(coin(), 100n, [bob]), view, 1), RuleCode.MempoolFull);
  });

  it('holds 10,000 transactions by default and evicts the cheapest beyond that', () => {
    const m = pool({ sigCache: null });
    const rates = (i: number) => 1n + BigInt(i % 97);
    const txs = Array.from({ length: 10_000 }, (_, i) => txAtRate(coin(), rates(i), [bob]));
    for (const tx of txs) m.accept(tx, view, 1);
    expect(m.size).toBe(10_000);
    expect(m.info().maxsize).toBe(10_000);
    expectRejected(m, () => m.accept(txAtRate(coin(), 1n, [carol]), view, 1), RuleCode.MempoolFull);
    const r = m.accept(txAtRate(coin(), 2n, [carol]), view, 1);
    // Rate 1 is held by i ≡ 0 (mod 97); the newest of them goes first.
    const newestCheapest = txs[Math.floor(9_999 / 97) * 97];
    expect(r.evicted).toEqual([newestCheapest]);
    expect(m.size).toBe(10_000);
  }, 60_000);
});

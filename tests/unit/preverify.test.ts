/**
 * Pre-verification of a block's input signatures on the verify pool: every valid signature is
 * remembered under the key the rule pass looks up (so it does no curve work), a forged one is not
 * (so the rule pass still refuses the block), spends of outputs created earlier in the same block
 * are covered, and small blocks are left alone. Real worker threads, the project's one verifier.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createBlock } from '../../chain/block.js';
import { checkBlockContext } from '../../chain/block-rules.js';
import { BLOCK_REWARD } from '../../chain/constants.js';
import { SignatureCache } from '../../chain/ed25519.js';
import { RuleCode } from '../../chain/errors.js';
import { sigCacheKey } from '../../chain/tx-inputs.js';
import { MapView } from '../../chain/utxo.js';
import type { Transaction } from '../../chain/transaction.js';
import { Mempool } from '../../chain/mempool.js';
import { preverifyBlockSignatures, preverifyForMempool, PREVERIFY_MIN } from '../../src/preverify.js';
import { CountingCache } from './mempool-fixtures.js';
import { VerifyPool } from '../../src/verify-pool.js';
import { CHAIN_ID, coinbase, fund, id, out, signer, spend } from './chain-fixtures.js';

const pool = new VerifyPool({ size: 2 });
afterAll(() => pool.close());

const alice = signer(41);
const bob = signer(42);
const mallory = signer(43);
const carol = signer(44);
const TIP = id('preverify tip');

function blockOf(txs: Transaction[]) {
  return createBlock({ height: 1, prevHash: id(0), timestampMs: 10, proposer: alice.publicKey, view: 0, txs: [coinbase(1, [out(BLOCK_REWARD, alice)]), ...txs] });
}

const keysOf = (txs: Transaction[], pk: (tx: Transaction, i: number) => Uint8Array) =>
  txs.flatMap((tx) => tx.inputs.map((input, i) => sigCacheKey(tx.txid, i, pk(tx, i), input.signature)));

describe('block signature pre-verification on worker threads', () => {
  it('caches every valid signature, including a spend of an output made earlier in the block', async () => {
    const view = new MapView();
    const txs = Array.from({ length: PREVERIFY_MIN + 8 }, (_, k) => spend([fund(view, alice, 100_000n, `pv ${k}`)], [out(99_000n, bob)]));
    // Bob spends the first transaction's output within the same block.
    const child = spend([{ txid: txs[0]!.txid, index: 0, amount: 99_000n, owner: bob }], [out(98_000n, alice)]);
    const block = blockOf([...txs, child]);
    const cache = new SignatureCache();
    await preverifyBlockSignatures(block, view, CHAIN_ID, cache, pool);
    for (const k of keysOf(txs, () => alice.publicKey)) expect(cache.has(k)).toBe(true);
    expect(cache.has(keysOf([child], () => bob.publicKey)[0]!)).toBe(true);
    expect(cache.size).toBe(txs.length + 1);
  });

  it('does not cache a forged signature, and the rule pass still refuses the block', async () => {
    const view = new MapView();
    const txs = Array.from({ length: PREVERIFY_MIN + 2 }, (_, k) => spend([fund(view, alice, 100_000n, `pf ${k}`)], [out(99_000n, bob)]));
    const forgedCoin = fund(view, alice, 100_000n, 'pf forged');
    const forged = spend([forgedCoin], [out(99_000n, mallory)], { signers: [mallory] });
    const block = blockOf([...txs, forged]);
    const cache = new SignatureCache();
    await preverifyBlockSignatures(block, view, CHAIN_ID, cache, pool);
    expect(cache.has(keysOf([forged], () => alice.publicKey)[0]!)).toBe(false);
    expect(cache.size).toBe(txs.length);
    const ctx = { chainId: CHAIN_ID, sigCache: cache, expectedHeight: 1, prevHash: id(0), parentTimestampMs: 0, nowMs: 10, reward: BLOCK_REWARD };
    expect(() => checkBlockContext(block, view, ctx)).toThrow(expect.objectContaining({ code: RuleCode.BadSignature }));
  });

  it('leaves blocks with fewer than PREVERIFY_MIN unchecked signatures to the rule pass', async () => {
    const view = new MapView();
    const txs = Array.from({ length: PREVERIFY_MIN - 1 }, (_, k) => spend([fund(view, alice, 100_000n, `ps ${k}`)], [out(99_000n, bob)]));
    const cache = new SignatureCache();
    await preverifyBlockSignatures(blockOf(txs), view, CHAIN_ID, cache, pool);
    expect(cache.size).toBe(0);
  });
});

describe('mempool batch pre-verification on worker threads', () => {
  /** A mempool over an in-memory chain view, and the deps preverifyForMempool reads. */
  const setup = (maxTransactions = 100) => {
    const view = new MapView();
    const cache = new CountingCache();
    const mempool = new Mempool({ chainId: CHAIN_ID, sigCache: cache, maxTransactions });
    const store = { tip: () => ({ hash: TIP }), loadView: async () => view };
    return { view, cache, mempool, deps: { store, mempool, chainId: CHAIN_ID, sigCache: cache, pool } };
  };

  it('verifies chain spends, spends of pool outputs and of earlier batch outputs, so admission in order does no curve work', async () => {
    const { view, cache, mempool, deps } = setup();
    const inPool = spend([fund(view, alice, 100_000n, 'mp parent')], [out(99_000n, bob)]);
    mempool.accept(inPool, view, 1); // verified on the event loop: one miss
    expect(cache.misses).toBe(1);
    const fromChain = Array.from({ length: 5 }, (_, k) => spend([fund(view, alice, 100_000n, `mp ${k}`)], [out(99_000n, bob)]));
    const spendsPool = spend([{ txid: inPool.txid, index: 0, amount: 99_000n, owner: bob }], [out(98_000n, alice)]);
    const spendsBatch = spend([{ txid: fromChain[0]!.txid, index: 0, amount: 99_000n, owner: bob }], [out(98_000n, carol)]);
    const batch = [...fromChain, spendsPool, spendsBatch, inPool];
    // The transaction already in the pool is not sent again.
    expect((await preverifyForMempool(batch, deps)).sent).toBe(7);
    for (const tx of batch.slice(0, 7)) mempool.accept(tx, view, 1);
    expect(cache.misses).toBe(1);
    expect(mempool.size).toBe(8);
  });

  it('a batch overlapping one still in flight sends only its new signatures, and returns once the shared ones are settled', async () => {
    const { view, cache, mempool, deps } = setup();
    const txs = Array.from({ length: 6 }, (_, k) => spend([fund(view, alice, 100_000n, `mo ${k}`)], [out(99_000n, bob)]));
    const first = preverifyForMempool(txs.slice(0, 4), deps);
    const second = preverifyForMempool(txs.slice(2), deps); // the same transaction relayed by another peer meanwhile
    expect((await second).sent).toBe(2);
    for (const tx of txs) expect(cache.has(keysOf([tx], () => alice.publicKey)[0]!)).toBe(true);
    expect((await first).sent).toBe(4);
    for (const tx of txs) mempool.accept(tx, view, 1);
    expect(cache.misses).toBe(0);
  });

  it('does not cache a forged signature: admission verifies it itself and refuses it', async () => {
    const { view, cache, mempool, deps } = setup();
    const good = spend([fund(view, alice, 100_000n, 'mf good')], [out(99_000n, bob)]);
    const forged = spend([fund(view, alice, 100_000n, 'mf forged')], [out(99_000n, mallory)], { signers: [mallory] });
    expect((await preverifyForMempool([good, forged], deps)).sent).toBe(2);
    mempool.accept(good, view, 1);
    expect(cache.misses).toBe(0);
    expect(() => mempool.accept(forged, view, 1)).toThrow(expect.objectContaining({ code: RuleCode.BadSignature }));
    expect(cache.misses).toBe(1);
  });

  it('returns the chain view it read, with the tip it was read at, for admission to share; none when the tip moved while reading', async () => {
    const { view, deps } = setup();
    const tx = spend([fund(view, alice, 100_000n, 'mview')], [out(99_000n, bob)]);
    const pre = await preverifyForMempool([tx], deps);
    expect(pre.sent).toBe(1);
    expect(pre.loaded).not.toBeNull();
    expect(Buffer.from(pre.loaded!.at)).toEqual(Buffer.from(TIP));
    expect(pre.loaded!.view).toBe(view);
    let tip = TIP;
    const moving = { tip: () => ({ hash: tip }), loadView: async () => ((tip = id('next tip')), view) };
    const tx2 = spend([fund(view, alice, 100_000n, 'mview 2')], [out(99_000n, bob)]);
    const moved = await preverifyForMempool([tx2], { ...deps, store: moving });
    expect(moved.sent).toBe(1);
    expect(moved.loaded).toBeNull();
  });

  it('sends nothing while the pool is full (a fee-rate refusal comes before signature work) and never throws', async () => {
    const { view, cache, mempool, deps } = setup(1);
    mempool.accept(spend([fund(view, alice, 100_000n, 'mfull 0')], [out(99_000n, bob)]), view, 1);
    const next = spend([fund(view, alice, 100_000n, 'mfull 1')], [out(99_000n, bob)]);
    expect(await preverifyForMempool([next], deps)).toEqual({ sent: 0, loaded: null });
    expect(cache.size).toBe(1);
    const closed = new VerifyPool({ size: 1 });
    await closed.close();
    const roomy = setup();
    const tx = spend([fund(roomy.view, alice, 100_000n, 'mclosed')], [out(99_000n, bob)]);
    expect((await preverifyForMempool([tx], { ...roomy.deps, pool: closed })).sent).toBe(0);
    expect(roomy.cache.size).toBe(0);
  });
});

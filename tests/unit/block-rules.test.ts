import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HEADER_SIZE, createBlock, decodeBlock, encodedBlockSize, type Block } from '../../chain/block.js';
import { MAX_FUTURE_BLOCK_TIME_MS, checkBlockContext, checkBlockSanity, type BlockContext } from '../../chain/block-rules.js';
import { MAX_BLOCK_SIZE, TxKind } from '../../chain/constants.js';
import { RuleCode, RuleError } from '../../chain/errors.js';
import { createTransaction, type Transaction } from '../../chain/transaction.js';
import { MapView } from '../../chain/utxo.js';
import { CHAIN_ID, ZERO_SIG, coinOf, coinbase, fund, id, out, signer, spend, type Coin } from './chain-fixtures.js';

const alice = signer(1);
const bob = signer(2);
const PARENT = id('parent');
const REWARD = 100_000n;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof RuleError) return e.code;
    throw e;
  }
  return 'ok';
}

const ctx = (over: Partial<BlockContext> = {}): BlockContext => ({
  chainId: CHAIN_ID,
  sigCache: null,
  expectedHeight: 10,
  prevHash: PARENT,
  parentTimestampMs: 1_000_000,
  nowMs: 1_000_000,
  reward: REWARD,
  ...over,
});

function block(txs: Transaction[], over: { height?: number; timestampMs?: number; prevHash?: Uint8Array } = {}): Block {
  return createBlock({
    height: over.height ?? 10,
    prevHash: over.prevHash ?? PARENT,
    timestampMs: over.timestampMs ?? 1_000_001,
    proposer: alice.publicKey,
    view: 0,
    txs,
  });
}

function wallet(n: number, amount = 10_000n): { view: MapView; coins: Coin[] } {
  const view = new MapView();
  return { view, coins: Array.from({ length: n }, (_, i) => fund(view, alice, amount, i)) };
}

describe('checkBlockSanity', () => {
  it('accepts a coinbase-only block and a block with transfers', () => {
    const { coins } = wallet(2);
    expect(codeOf(() => checkBlockSanity(block([coinbase(10, [out(1000n, bob)])])))).toBe('ok');
    expect(codeOf(() => checkBlockSanity(block([coinbase(10, []), spend(coins, [out(1000n, bob)])])))).toBe('ok');
  });

  it('rejects more than MAX_BLOCK_SIZE bytes with block-too-large, at the exact boundary', () => {
    const cb = coinbase(10, [out(1000n, bob)]);
    const filler = (payloadLength: number) =>
      createTransaction({ kind: TxKind.Transfer, inputs: [{ prevTxid: id(1), prevIndex: 0, signature: ZERO_SIG }], outputs: [out(1000n, bob)], payload: new Uint8Array(payloadLength) });
    const probe = [cb, filler(0), filler(0)];
    const spare = MAX_BLOCK_SIZE - encodedBlockSize(probe);
    const atLimit = block([cb, filler(Math.floor(spare / 2)), filler(spare - Math.floor(spare / 2))]);
    expect(atLimit.bytes.length).toBe(MAX_BLOCK_SIZE);
    expect(codeOf(() => checkBlockSanity(atLimit))).toBe(RuleCode.BadPayload); // past the size rule
    const over = block([cb, filler(Math.floor(spare / 2)), filler(spare - Math.floor(spare / 2) + 1)]);
    expect(codeOf(() => checkBlockSanity(over))).toBe(RuleCode.BlockTooLarge);
  });

  it('rejects a txRoot that does not commit to the transactions with bad-txroot', () => {
    const { coins } = wallet(1);
    const good = block([coinbase(10, []), spend(coins, [out(1000n, bob)])]);
    const bytes = Buffer.from(good.bytes);
    bytes[1 + 8 + 32]! ^= 1; // first txRoot byte
    expect(codeOf(() => checkBlockSanity(decodeBlock(bytes)))).toBe(RuleCode.BadTxRoot);
    // Reordering transactions changes the root too.
    const t1 = spend(coins, [out(1000n, bob)]);
    const t2 = spend(coins, [out(2000n, bob)]);
    const ordered = block([coinbase(10, []), t1, t2]);
    const swapped = Buffer.concat([ordered.bytes.subarray(0, HEADER_SIZE), bodyOf(block([coinbase(10, []), t2, t1]))]);
    expect(codeOf(() => checkBlockSanity(decodeBlock(swapped)))).toBe(RuleCode.BadTxRoot);
  });

  it('rejects a block without a coinbase first, or with a second coinbase', () => {
    const { coins } = wallet(1);
    expect(codeOf(() => checkBlockSanity(block([])))).toBe(RuleCode.MissingCoinbase);
    expect(codeOf(() => checkBlockSanity(block([spend(coins, [out(1000n, bob)])])))).toBe(RuleCode.MissingCoinbase);
    expect(codeOf(() => checkBlockSanity(block([spend(coins, [out(1000n, bob)]), coinbase(10, [])])))).toBe(RuleCode.MissingCoinbase);
    expect(codeOf(() => checkBlockSanity(block([coinbase(10, []), coinbase(10, [out(1000n, bob)])])))).toBe(RuleCode.UnexpectedCoinbase);
  });

  it('rejects a coinbase height other than the header height with bad-coinbase', () => {
    expect(codeOf(() => checkBlockSanity(block([coinbase(9, [])])))).toBe(RuleCode.BadCoinbase);
    expect(codeOf(() => checkBlockSanity(block([coinbase(10 + 2 ** 32, [])])))).toBe(RuleCode.BadCoinbase);
  });

  it('applies checkTxSanity to every transaction, keeping its code', () => {
    const { coins } = wallet(1);
    expect(codeOf(() => checkBlockSanity(block([coinbase(10, []), spend(coins, [out(545n, bob)])])))).toBe(RuleCode.Dust);
    expect(codeOf(() => checkBlockSanity(block([coinbase(10, [out(1n, bob)])])))).toBe(RuleCode.Dust);
    let caught: unknown;
    try {
      checkBlockSanity(block([coinbase(10, []), spend(coins, [out(545n, bob)])]));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(RuleError);
    expect((caught as RuleError).meta).toMatchObject({ tx: 1, index: 0 });
  });

  it('rejects the same transaction twice with duplicate-tx', () => {
    const { coins } = wallet(1);
    const t = spend(coins, [out(1000n, bob)]);
    expect(codeOf(() => checkBlockSanity(block([coinbase(10, []), t, t])))).toBe(RuleCode.DuplicateTx);
  });
});

/** Body bytes of a block (everything after the header). */
function bodyOf(b: Block): Buffer {
  return Buffer.from(b.bytes.subarray(HEADER_SIZE));
}

describe('checkBlockContext', () => {
  it('returns the fees and allows the coinbase exactly reward + fees, not one unit more', () => {
    const { view, coins } = wallet(2);
    const txs = [spend([coins[0]!], [out(9_000n, bob)]), spend([coins[1]!], [out(9_500n, bob)])];
    const fees = 1_500n;
    const exact = block([coinbase(10, [out(REWARD + fees, alice)]), ...txs]);
    expect(checkBlockContext(exact, view, ctx()).fees).toBe(fees);
    const greedy = block([coinbase(10, [out(REWARD + fees - 1000n, alice), out(1001n, alice)]), ...txs]);
    expect(codeOf(() => checkBlockContext(greedy, view, ctx()))).toBe(RuleCode.BadCoinbaseValue);
  });

  it('rejects a wrong height or parent', () => {
    const b = block([coinbase(10, [])]);
    expect(codeOf(() => checkBlockContext(b, new MapView(), ctx({ expectedHeight: 11 })))).toBe(RuleCode.BadHeight);
    expect(codeOf(() => checkBlockContext(b, new MapView(), ctx({ prevHash: id('other parent') })))).toBe(RuleCode.BadPrevHash);
  });

  it('requires a timestamp after the parent and at most MAX_FUTURE_BLOCK_TIME_MS ahead of the local clock', () => {
    const at = (timestampMs: number) => block([coinbase(10, [])], { timestampMs });
    const c = ctx({ parentTimestampMs: 5_000, nowMs: 10_000 });
    expect(codeOf(() => checkBlockContext(at(5_000), new MapView(), c))).toBe(RuleCode.BadTimestamp);
    expect(codeOf(() => checkBlockContext(at(4_000), new MapView(), c))).toBe(RuleCode.BadTimestamp);
    expect(codeOf(() => checkBlockContext(at(5_001), new MapView(), c))).toBe('ok');
    expect(codeOf(() => checkBlockContext(at(10_000 + MAX_FUTURE_BLOCK_TIME_MS), new MapView(), c))).toBe('ok');
    expect(codeOf(() => checkBlockContext(at(10_001 + MAX_FUTURE_BLOCK_TIME_MS), new MapView(), c))).toBe(RuleCode.BadTimestamp);
  });

  it('checks each transaction against the view and earlier transactions, keeping the rule code', () => {
    const { view, coins } = wallet(1);
    const forged = spend(coins, [out(9_000n, bob)], { signers: [bob] });
    expect(codeOf(() => checkBlockContext(block([coinbase(10, []), forged]), view, ctx()))).toBe(RuleCode.BadSignature);
    const greedy = spend(coins, [out(10_001n, bob)]);
    expect(codeOf(() => checkBlockContext(block([coinbase(10, []), greedy]), view, ctx()))).toBe(RuleCode.InsufficientFunds);
  });

  it('does not let a transaction spend the coinbase of its own block', () => {
    const cb = coinbase(10, [out(REWARD, alice)]);
    const t = spend([coinOf(cb, 0, alice)], [out(REWARD, bob)]);
    expect(codeOf(() => checkBlockContext(block([cb, t]), new MapView(), ctx()))).toBe(RuleCode.MissingInputs);
  });

  it('leaves the view unchanged', () => {
    const { view, coins } = wallet(1);
    const before = new Map(view.entries);
    checkBlockContext(block([coinbase(10, []), spend(coins, [out(9_000n, bob)])]), view, ctx());
    expect(view.entries).toEqual(before);
  });

  it('accepts random valid blocks, with fees summed exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 9_000n }), { minLength: 0, maxLength: 6 }), fc.boolean(), (feeList, chained) => {
        const { view, coins } = wallet(feeList.length, 1_000_000n);
        const txs: Transaction[] = [];
        feeList.forEach((fee, i) => {
          // Either spend a fresh coin or, when chaining, the previous transaction's output.
          const prev = txs[txs.length - 1];
          const coin = chained && prev ? coinOf(prev, 1, alice) : coins[i]!;
          txs.push(spend([coin], [out(546n, bob), out(coin.amount - fee - 546n, alice)]));
        });
        const okFees = feeList.reduce((s, f) => s + f, 0n);
        const valid = (c: Transaction[]) => block([coinbase(10, [out(REWARD + okFees, alice)]), ...c]);
        expect(checkBlockSanity(valid(txs))).toBeUndefined();
        expect(checkBlockContext(valid(txs), view, ctx()).fees).toBe(okFees);
      }),
      { numRuns: 60 },
    );
  });
});

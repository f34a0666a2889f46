import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBlock } from '../../chain/block.js';
import { checkBlockContext, checkBlockSanity, type BlockContext } from '../../chain/block-rules.js';
import { DUST_THRESHOLD, MAX_MONEY, MAX_TX_SIZE, TxKind } from '../../chain/constants.js';
import { SMALL_ORDER_ENCODINGS, SignatureCache } from '../../chain/ed25519.js';
import { RuleCode, RuleError } from '../../chain/errors.js';
import { MAX_MN_ADDR_LENGTH, decodeRegistrationPayload, encodeRegistrationPayload } from '../../chain/registration.js';
import { createTransaction, encodedTxSize, type Transaction } from '../../chain/transaction.js';
import { checkTxInputs, sigCacheKey } from '../../chain/tx-inputs.js';
import { checkTxSanity } from '../../chain/tx-rules.js';
import { MapView } from '../../chain/utxo.js';
import { CHAIN_ID, ZERO_SIG, coinOf, coinbase, fund, id, out, signer, spend, type Coin } from './chain-fixtures.js';

const alice = signer(1);
const bob = signer(2);
const ctx = { chainId: CHAIN_ID, sigCache: null };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof RuleError) return e.code;
    throw e;
  }
  return 'ok';
}
const sanity = (tx: Transaction) => codeOf(() => checkTxSanity(tx));

/** A view holding `n` coins of `amount` owned by alice. */
function wallet(n: number, amount = 10_000n): { view: MapView; coins: Coin[] } {
  const view = new MapView();
  const coins = Array.from({ length: n }, (_, i) => fund(view, alice, amount, i));
  return { view, coins };
}

function raw(kind: TxKind, inputs: number, amounts: bigint[], payload: Uint8Array = new Uint8Array(0)): Transaction {
  return createTransaction({
    kind,
    inputs: Array.from({ length: inputs }, (_, i) => ({ prevTxid: id(i), prevIndex: 0, signature: ZERO_SIG })),
    outputs: amounts.map((a) => out(a, bob)),
    payload,
  });
}

const regPayload = (over: Partial<Parameters<typeof encodeRegistrationPayload>[0]> = {}) =>
  encodeRegistrationPayload({
    collateralTxid: id('collateral'),
    collateralIndex: 3,
    operatorPublicKey: bob.publicKey,
    addr: '/ip4/203.0.113.7/tcp/24000',
    ownerSignature: new Uint8Array(64).fill(5),
    ...over,
  });

describe('checkTxSanity: transfers', () => {
  it('accepts random valid transfers', () => {
    const amount = fc.bigInt({ min: DUST_THRESHOLD, max: MAX_MONEY / 8n });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(amount, { minLength: 1, maxLength: 6 }), (n, amounts) => {
        expect(sanity(raw(TxKind.Transfer, n, amounts))).toBe('ok');
      }),
    );
  });

  it('rejects any output below dust with dust', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: DUST_THRESHOLD - 1n }), fc.nat({ max: 3 }), (low, at) => {
        const amounts = [1000n, 1000n, 1000n, 1000n];
        amounts[at] = low;
        expect(sanity(raw(TxKind.Transfer, 1, amounts))).toBe(RuleCode.Dust);
      }),
    );
    expect(sanity(raw(TxKind.Transfer, 1, [DUST_THRESHOLD]))).toBe('ok');
  });

  it('rejects no inputs, no outputs, a repeated input, a non-empty payload', () => {
    expect(sanity(raw(TxKind.Transfer, 0, [1000n]))).toBe(RuleCode.NoInputs);
    expect(sanity(raw(TxKind.Transfer, 1, []))).toBe(RuleCode.NoOutputs);
    const twice = createTransaction({
      kind: TxKind.Transfer,
      inputs: [0, 1, 0].map((i) => ({ prevTxid: id('same'), prevIndex: i, signature: ZERO_SIG })),
      outputs: [out(1000n, bob)],
    });
    expect(sanity(twice)).toBe(RuleCode.DuplicateInput);
    const sameTxidOtherIndex = createTransaction({ ...twice, inputs: twice.inputs.slice(0, 2) });
    expect(sanity(sameTxidOtherIndex)).toBe('ok');
    expect(sanity(raw(TxKind.Transfer, 1, [1000n], Uint8Array.of(0)))).toBe(RuleCode.BadPayload);
  });

  it('rejects an amount or a running sum above MAX_MONEY with value-out-of-range', () => {
    expect(sanity(raw(TxKind.Transfer, 1, [MAX_MONEY]))).toBe('ok');
    expect(sanity(raw(TxKind.Transfer, 1, [MAX_MONEY + 1n]))).toBe(RuleCode.ValueOutOfRange);
    expect(sanity(raw(TxKind.Transfer, 1, [(1n << 64n) - 1n]))).toBe(RuleCode.ValueOutOfRange);
    expect(sanity(raw(TxKind.Transfer, 1, [MAX_MONEY / 2n, MAX_MONEY / 2n]))).toBe('ok');
    expect(sanity(raw(TxKind.Transfer, 1, [MAX_MONEY / 2n, MAX_MONEY / 2n + 1n]))).toBe(RuleCode.ValueOutOfRange);
    // Each amount in range, the running sum not.
    expect(sanity(raw(TxKind.Transfer, 1, [MAX_MONEY, MAX_MONEY, 1000n]))).toBe(RuleCode.ValueOutOfRange);
  });

  it('rejects more than MAX_TX_SIZE bytes with tx-too-large, at the exact boundary', () => {
    const payloadFor = (size: number) => new Uint8Array(size - encodedTxSize(1, 1, 0));
    const atLimit = raw(TxKind.Transfer, 1, [1000n], payloadFor(MAX_TX_SIZE));
    expect(atLimit.bytes.length).toBe(MAX_TX_SIZE);
    expect(sanity(atLimit)).toBe(RuleCode.BadPayload); // past the size rule, stopped by the next one
    expect(sanity(raw(TxKind.Transfer, 1, [1000n], payloadFor(MAX_TX_SIZE + 1)))).toBe(RuleCode.TxTooLarge);
  });
});

describe('checkTxSanity: coinbase', () => {
  it('accepts a u64 height payload with valid outputs, or no outputs', () => {
    expect(sanity(coinbase(7, [out(1000n, bob)]))).toBe('ok');
    expect(sanity(coinbase(7, []))).toBe('ok');
  });
  it('rejects inputs, a payload that is not exactly 8 bytes, dust and out-of-range outputs', () => {
    expect(sanity(raw(TxKind.Coinbase, 1, [1000n], new Uint8Array(8)))).toBe(RuleCode.BadCoinbase);
    for (const n of [0, 7, 9]) expect(sanity(raw(TxKind.Coinbase, 0, [1000n], new Uint8Array(n)))).toBe(RuleCode.BadCoinbase);
    expect(sanity(coinbase(1, [out(DUST_THRESHOLD - 1n, bob)]))).toBe(RuleCode.Dust);
    expect(sanity(coinbase(1, [out(MAX_MONEY, bob), out(1000n, bob)]))).toBe(RuleCode.ValueOutOfRange);
  });
});

describe('checkTxSanity: registration (kind 2)', () => {
  const reg = (payload: Uint8Array, inputs = 1) => raw(TxKind.MasternodeRegistration, inputs, [1000n], payload);

  it('accepts a well-formed payload and round-trips it', () => {
    const payload = regPayload();
    expect(sanity(reg(payload))).toBe('ok');
    const back = decodeRegistrationPayload(payload);
    expect(back.addr).toBe('/ip4/203.0.113.7/tcp/24000');
    expect(back.collateralIndex).toBe(3);
    expect(Buffer.from(back.operatorPublicKey)).toEqual(Buffer.from(bob.publicKey));
  });

  it('is still a transfer: needs inputs and outputs', () => {
    expect(sanity(reg(regPayload(), 0))).toBe(RuleCode.NoInputs);
    expect(sanity(raw(TxKind.MasternodeRegistration, 1, [], regPayload()))).toBe(RuleCode.NoOutputs);
  });

  it('rejects malformed payloads with bad-payload', () => {
    const good = Buffer.from(regPayload());
    const addrLenAt = 32 + 4 + 32;
    const withAddrLength = (n: number) => {
      const b = Buffer.from(good);
      b.writeUInt16LE(n, addrLenAt);
      return b;
    };
    const badUtf8 = Buffer.concat([good.subarray(0, addrLenAt), Buffer.from([2, 0, 0xc3, 0x28]), good.subarray(good.length - 64)]);
    const cases = [
      new Uint8Array(0),
      good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.of(0)]),
      withAddrLength(0),
      withAddrLength(good.length), // longer than what follows
      badUtf8,
    ];
    for (const p of cases) expect(sanity(reg(p))).toBe(RuleCode.BadPayload);
    const longAddr = '/dns4/' + 'a'.repeat(MAX_MN_ADDR_LENGTH);
    const tooLong = Buffer.concat([good.subarray(0, addrLenAt), Buffer.from([0, 0]), Buffer.from(longAddr), good.subarray(good.length - 64)]);
    tooLong.writeUInt16LE(Buffer.byteLength(longAddr), addrLenAt);
    expect(sanity(reg(tooLong))).toBe(RuleCode.BadPayload);
  });

  it('never throws anything but a RuleError on random or mutated payloads', () => {
    const good = regPayload();
    const payloads = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc.tuple(fc.nat({ max: good.length - 1 }), fc.nat({ max: 255 })).map(([at, v]) => Uint8Array.from(good, (x, i) => (i === at ? v : x))),
    );
    fc.assert(fc.property(payloads, (p) => void expect(typeof sanity(reg(p))).toBe('string')), { numRuns: 500 });
  });

  it('rejects an operator key that is small-order or non-canonical with bad-payload', () => {
    for (const k of [SMALL_ORDER_ENCODINGS[0]!, SMALL_ORDER_ENCODINGS[8]!, 'ee' + 'ff'.repeat(30) + '7f']) {
      expect(sanity(reg(regPayload({ operatorPublicKey: Buffer.from(k, 'hex') })))).toBe(RuleCode.BadPayload);
    }
  });

  it('rejects a registration that spends its own collateral with bad-collateral', () => {
    const tx = createTransaction({
      kind: TxKind.MasternodeRegistration,
      inputs: [{ prevTxid: id('collateral'), prevIndex: 3, signature: ZERO_SIG }],
      outputs: [out(1000n, bob)],
      payload: regPayload(),
    });
    expect(sanity(tx)).toBe(RuleCode.BadCollateral);
  });
});

describe('checkTxInputs', () => {
  it('returns the fee of a valid transfer', () => {
    const { view, coins } = wallet(3);
    const tx = spend(coins, [out(20_000n, bob), out(9_000n, alice)]);
    expect(checkTxInputs(tx, view, ctx)).toBe(1_000n);
    expect(checkTxInputs(spend(coins, [out(30_000n, bob)]), view, ctx)).toBe(0n);
  });

  it('rejects a missing or spent input with missing-inputs', () => {
    const { view, coins } = wallet(2);
    const ghost: Coin = { ...coins[0]!, index: 1 };
    expect(codeOf(() => checkTxInputs(spend([coins[0]!, ghost], [out(1000n, bob)]), view, ctx))).toBe(RuleCode.MissingInputs);
  });

  it('rejects outputs above inputs with insufficient-funds', () => {
    const { view, coins } = wallet(2);
    expect(codeOf(() => checkTxInputs(spend(coins, [out(20_001n, bob)]), view, ctx))).toBe(RuleCode.InsufficientFunds);
  });

  it('rejects inputs summing above MAX_MONEY with value-out-of-range', () => {
    const { view, coins } = wallet(2, MAX_MONEY / 2n + 1n);
    expect(codeOf(() => checkTxInputs(spend(coins, [out(1000n, bob)]), view, ctx))).toBe(RuleCode.ValueOutOfRange);
  });

  it('rejects a signature by another key, for another chain, or for another input with bad-signature', () => {
    const { view, coins } = wallet(2);
    const outs = [out(15_000n, bob)];
    expect(codeOf(() => checkTxInputs(spend(coins, outs, { signers: [alice, bob] }), view, ctx))).toBe(RuleCode.BadSignature);
    expect(codeOf(() => checkTxInputs(spend(coins, outs, { chainId: id('other chain') }), view, ctx))).toBe(RuleCode.BadSignature);
    const good = spend(coins, outs);
    const swapped = createTransaction({ ...good, inputs: [{ ...good.inputs[0]!, signature: good.inputs[1]!.signature }, { ...good.inputs[1]!, signature: good.inputs[0]!.signature }] });
    expect(Buffer.from(swapped.txid)).toEqual(Buffer.from(good.txid));
    expect(codeOf(() => checkTxInputs(swapped, view, ctx))).toBe(RuleCode.BadSignature);
    expect(codeOf(() => checkTxInputs(good, view, ctx))).toBe('ok');
  });

  it('checks the spent output’s key: an output locked to bob cannot be spent with alice’s signature', () => {
    const view = new MapView();
    const bobs = fund(view, bob, 5_000n, 'bob');
    expect(codeOf(() => checkTxInputs(spend([{ ...bobs, owner: alice }], [out(4_000n, alice)]), view, ctx))).toBe(RuleCode.BadSignature);
  });

  it('refuses a coinbase (unexpected-coinbase) and repeated inputs even without checkTxSanity', () => {
    const { view, coins } = wallet(1);
    expect(codeOf(() => checkTxInputs(coinbase(1, [out(1000n, bob)]), view, ctx))).toBe(RuleCode.UnexpectedCoinbase);
    expect(codeOf(() => checkTxInputs(spend([coins[0]!, coins[0]!], [out(15_000n, bob)]), view, ctx))).toBe(RuleCode.DuplicateInput);
  });
});

describe('signature cache', () => {
  it('a cached verdict is never reused for a different signature, key or index under the same txid', () => {
    const { view, coins } = wallet(2);
    const sigCache = new SignatureCache();
    const good = spend(coins, [out(15_000n, bob)]);
    expect(checkTxInputs(good, view, { chainId: CHAIN_ID, sigCache })).toBe(5_000n);
    expect(sigCache.size).toBe(2);
    expect(sigCache.has(sigCacheKey(good.txid, 0, alice.publicKey, good.inputs[0]!.signature))).toBe(true);
    // Same txid, forged signatures: must be verified, not served from the cache.
    const forged = createTransaction({ ...good, inputs: good.inputs.map((i) => ({ ...i, signature: new Uint8Array(64).fill(1) })) });
    expect(Buffer.from(forged.txid)).toEqual(Buffer.from(good.txid));
    expect(codeOf(() => checkTxInputs(forged, view, { chainId: CHAIN_ID, sigCache }))).toBe(RuleCode.BadSignature);
    // Same txid and signatures, but the view now says the coins belong to bob.
    const rekeyed = new MapView(new Map([...view.entries].map(([k, e]) => [k, { ...e, publicKey: bob.publicKey }])));
    expect(codeOf(() => checkTxInputs(good, rekeyed, { chainId: CHAIN_ID, sigCache }))).toBe(RuleCode.BadSignature);
    expect(sigCache.size).toBe(2);
  });

  it('sigCacheKey changes when any component changes', () => {
    const base = [id('t'), 1, alice.publicKey, new Uint8Array(64).fill(2)] as const;
    const k = sigCacheKey(...base);
    expect(sigCacheKey(id('u'), 1, base[2], base[3])).not.toBe(k);
    expect(sigCacheKey(base[0], 2, base[2], base[3])).not.toBe(k);
    expect(sigCacheKey(base[0], 1, bob.publicKey, base[3])).not.toBe(k);
    expect(sigCacheKey(base[0], 1, base[2], new Uint8Array(64).fill(3))).not.toBe(k);
  });
});

describe('double spends', () => {
  const blockCtx = (height: number): BlockContext => ({
    chainId: CHAIN_ID,
    sigCache: null,
    expectedHeight: height,
    prevHash: id('parent'),
    parentTimestampMs: 1_000,
    nowMs: 2_000,
    reward: 100_000n,
  });
  const block = (height: number, txs: Transaction[]) =>
    createBlock({ height, prevHash: id('parent'), timestampMs: 1_500, proposer: alice.publicKey, view: 0, txs: [coinbase(height, [out(1000n, bob)]), ...txs] });

  it('two inputs of one transaction → duplicate-input', () => {
    const { coins } = wallet(1);
    expect(sanity(spend([coins[0]!, coins[0]!], [out(15_000n, bob)]))).toBe(RuleCode.DuplicateInput);
  });

  it('two transactions of one block → block-double-spend (and missing-inputs in context)', () => {
    const { view, coins } = wallet(1);
    const b = block(5, [spend(coins, [out(9_000n, bob)]), spend(coins, [out(8_000n, alice)])]);
    expect(codeOf(() => checkBlockSanity(b))).toBe(RuleCode.BlockDoubleSpend);
    // Even if a caller skipped the sanity pass, the in-block overlay refuses the second spend.
    expect(codeOf(() => checkBlockContext(b, view, blockCtx(5)))).toBe(RuleCode.MissingInputs);
  });

  it('a block transaction spending an output already spent on the chain → missing-inputs', () => {
    const { view, coins } = wallet(2);
    const spentCoin = fund(new MapView(), alice, 10_000n, 'spent-long-ago'); // never in the view
    const b = block(5, [spend([coins[0]!, spentCoin], [out(15_000n, bob)])]);
    expect(codeOf(() => checkBlockSanity(b))).toBe('ok');
    expect(codeOf(() => checkBlockContext(b, view, blockCtx(5)))).toBe(RuleCode.MissingInputs);
  });

  it('a chain of spends inside one block is fine, in order only', () => {
    const { view, coins } = wallet(1);
    const first = spend(coins, [out(9_000n, bob)]);
    const second = spend([coinOf(first, 0, bob)], [out(8_000n, alice)]);
    expect(checkBlockContext(block(5, [first, second]), view, blockCtx(5)).fees).toBe(2_000n);
    expect(codeOf(() => checkBlockContext(block(5, [second, first]), view, blockCtx(5)))).toBe(RuleCode.MissingInputs);
  });
});

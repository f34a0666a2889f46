import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ZERO_HASH, createBlock, decodeBlock, hashBlockBytes } from '../../chain/block.js';
import { checkBlockContext, checkBlockSanity } from '../../chain/block-rules.js';
import { BLOCK_REWARD, DUST_THRESHOLD, MAX_MONEY, TxKind } from '../../chain/constants.js';
import { SMALL_ORDER_ENCODINGS } from '../../chain/ed25519.js';
import { RuleCode, RuleError } from '../../chain/errors.js';
import { chainIdOf, createGenesis, genesisTag, type GenesisParams } from '../../chain/genesis.js';
import { MapView, OverlayView } from '../../chain/utxo.js';
import { coinOf, coinbase, out, signer, spend } from './chain-fixtures.js';

const alice = signer(1);
const bob = signer(2);
const params: GenesisParams = {
  network: 'dev',
  timestampMs: 1_700_000_000_000,
  allocations: [
    { publicKey: alice.publicKey, amount: 1_000_000n * 100_000_000n },
    { publicKey: bob.publicKey, amount: 5_000n },
  ],
};

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof RuleError) return e.code;
    throw e;
  }
  return 'ok';
}
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');

describe('createGenesis', () => {
  it('builds height 0, zero prevHash, one coinbase (payload u64 0) paying the allocations in order', () => {
    const g = createGenesis(params);
    expect(g.header.height).toBe(0);
    expect(hex(g.header.prevHash)).toBe(hex(ZERO_HASH));
    expect(g.header.timestampMs).toBe(params.timestampMs);
    expect(hex(g.header.proposer)).toBe(hex(genesisTag('dev')));
    expect(g.txs).toHaveLength(1);
    const cb = g.txs[0]!;
    expect(cb.kind).toBe(TxKind.Coinbase);
    expect(cb.inputs).toHaveLength(0);
    expect(hex(cb.payload)).toBe('00'.repeat(8));
    expect(cb.outputs.map((o) => [hex(o.publicKey), o.amount])).toEqual(params.allocations.map((a) => [hex(a.publicKey), a.amount]));
    expect(codeOf(() => checkBlockSanity(g))).toBe('ok');
  });

  it('is deterministic: same parameters → same bytes and chainId; chainId is the header hash', () => {
    const a = createGenesis(params);
    const b = createGenesis({ ...params, allocations: params.allocations.map((x) => ({ ...x })) });
    expect(hex(a.bytes)).toBe(hex(b.bytes));
    expect(hex(chainIdOf(a))).toBe(hex(a.hash));
    expect(hex(chainIdOf(a))).toBe(hex(hashBlockBytes(a.bytes)));
    expect(hex(chainIdOf(decodeBlock(a.bytes)))).toBe(hex(a.hash));
  });

  it('gives a different chainId for any change: network, timestamp, allocation order or amount, proposer', () => {
    const base = hex(createGenesis(params).hash);
    const variants: GenesisParams[] = [
      { ...params, network: 'testnet' },
      { ...params, timestampMs: params.timestampMs + 1 },
      { ...params, allocations: [...params.allocations].reverse() },
      { ...params, allocations: [params.allocations[0]!, { ...params.allocations[1]!, amount: 5_001n }] },
      { ...params, proposer: alice.publicKey },
    ];
    const hashes = variants.map((v) => hex(createGenesis(v).hash));
    expect(new Set([base, ...hashes]).size).toBe(variants.length + 1);
  });

  it('is pinned: this exact genesis hash is consensus (changing it is a hard fork)', () => {
    const pinned = createGenesis({
      network: 'mainnet',
      timestampMs: 0,
      allocations: [{ publicKey: Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex'), amount: 10n ** 8n }],
    });
    expect(hex(pinned.hash)).toBe(PINNED_GENESIS_HASH);
    // The same value from SPEC §3–4 by hand: coinbase bytes, txid, txRoot, header.
    const sha = (...parts: string[]) => createHash('sha256').update(Buffer.from(parts.join(''), 'hex')).digest('hex');
    const amount = Buffer.alloc(8);
    amount.writeBigUInt64LE(10n ** 8n);
    const cb = '01' + '01' + '00000000' + '01000000' + amount.toString('hex') + hex(pinned.txs[0]!.outputs[0]!.publicKey) + '08000000' + '00'.repeat(8);
    const txRoot = sha('00', sha(cb));
    const proposer = createHash('sha256').update('TIMECOIN-GENESIS-mainnet').digest('hex');
    const header = '01' + '00'.repeat(8) + '00'.repeat(32) + txRoot + '00'.repeat(8) + proposer + '00000000';
    expect(sha(header)).toBe(PINNED_GENESIS_HASH);
  });

  it('applies no reward cap but refuses dust, totals above MAX_MONEY and unusable keys', () => {
    expect(codeOf(() => createGenesis({ ...params, allocations: [{ publicKey: alice.publicKey, amount: MAX_MONEY }] }))).toBe('ok');
    expect(codeOf(() => createGenesis({ ...params, allocations: [{ publicKey: alice.publicKey, amount: DUST_THRESHOLD - 1n }] }))).toBe(RuleCode.Dust);
    const halves = [MAX_MONEY / 2n, MAX_MONEY / 2n + 1n].map((amount) => ({ publicKey: alice.publicKey, amount }));
    expect(codeOf(() => createGenesis({ ...params, allocations: halves }))).toBe(RuleCode.ValueOutOfRange);
    expect(() => createGenesis({ ...params, allocations: [{ publicKey: Buffer.from(SMALL_ORDER_ENCODINGS[0]!, 'hex'), amount: 1000n }] })).toThrow(TypeError);
    expect(() => createGenesis({ ...params, allocations: [{ publicKey: new Uint8Array(31), amount: 1000n }] })).toThrow(TypeError);
    expect(() => createGenesis({ ...params, timestampMs: -1 })).toThrow(TypeError);
    expect(() => createGenesis({ ...params, proposer: new Uint8Array(31) })).toThrow(TypeError);
  });

  it('refuses so many allocations that the coinbase exceeds MAX_TX_SIZE', () => {
    const many = Array.from({ length: 25_000 }, () => ({ publicKey: alice.publicKey, amount: 1000n }));
    expect(codeOf(() => createGenesis({ ...params, allocations: many }))).toBe(RuleCode.TxTooLarge);
  });

  it('chainIdOf refuses a block that is not a genesis block', () => {
    const g = createGenesis(params);
    const child = createBlock({ height: 1, prevHash: g.hash, timestampMs: params.timestampMs + 1, proposer: alice.publicKey, view: 0, txs: [coinbase(1, [])] });
    expect(() => chainIdOf(child)).toThrow(TypeError);
  });

  it('funds a chain: block 1 spending a genesis output, signed for this chainId, passes every rule', () => {
    const g = createGenesis(params);
    const chainId = chainIdOf(g);
    const view = new OverlayView(new MapView());
    view.apply(g.txs[0]!, 0);
    const t = spend([coinOf(g.txs[0]!, 1, bob)], [out(4_000n, alice)], { chainId });
    const b1 = createBlock({
      height: 1,
      prevHash: g.hash,
      timestampMs: params.timestampMs + 1_000,
      proposer: alice.publicKey,
      view: 0,
      txs: [coinbase(1, [out(BLOCK_REWARD + 1_000n, alice)]), t],
    });
    checkBlockSanity(b1);
    const c = { chainId, sigCache: null, expectedHeight: 1, prevHash: g.hash, parentTimestampMs: params.timestampMs, nowMs: params.timestampMs + 1_000, reward: BLOCK_REWARD };
    expect(checkBlockContext(b1, view, c).fees).toBe(1_000n);
    // The same spend signed for another network's genesis is refused.
    const otherChain = chainIdOf(createGenesis({ ...params, network: 'testnet' }));
    const replayed = spend([coinOf(g.txs[0]!, 1, bob)], [out(4_000n, alice)], { chainId: otherChain });
    const b1r = createBlock({ height: 1, prevHash: g.hash, timestampMs: params.timestampMs + 1_000, proposer: alice.publicKey, view: 0, txs: [coinbase(1, []), replayed] });
    expect(codeOf(() => checkBlockContext(b1r, view, c))).toBe(RuleCode.BadSignature);
  });
});

const PINNED_GENESIS_HASH = '1e6804321b1207657c8fc53531a1b0c645d07297abd5fe68835cfcf03632f14a';

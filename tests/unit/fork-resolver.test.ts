/**
 * The fork resolver's decision and reorg path (src/fork-resolver.ts `consider`) on real LevelDB
 * stores in temp dirs. The node under test holds blocks above its finalized pointer (connected
 * without `final`, the only state in which a switch is allowed); the poll's answers are given as
 * data (the poll over libp2p is tests/e2e/fork-poll.test.ts). A refusal must leave the store
 * exactly as it was (same tip, same UTXO set hash); a switch must leave the UTXO set of a store
 * built directly on the winning branch.
 */
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Block } from '../../chain/block.js';
import { toHex } from '../../chain/hash.js';
import { Mempool } from '../../chain/mempool.js';
import type { ChainStore } from '../../chain/store.js';
import { P2pCode } from '../../p2p/errors.js';
import { P2pNetwork } from '../../p2p/network.js';
import type { PollAnswer } from '../../src/fork-choice.js';
import { ForkResolver, ResolveRefusal, type ForkOutcome } from '../../src/fork-resolver.js';
import { childLogger, createLogger } from '../../src/logger.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { removeDir, tempDir } from '../fixtures/store-helpers.js';
import { asEntries, CHAIN_ID, certify, checksFor, connectAll, extendChain, GENESIS, nextBlock, openStore, payFrom, type CertifiedBlock } from './fork-fixtures.js';
import { owner } from './masternode-fixtures.js';

const dirs: string[] = [];
const stores: ChainStore[] = [];
let net: P2pNetwork;
let metrics: Metrics;
let registry: Registry;
let logs: Array<Record<string, unknown>>;

async function store(): Promise<ChainStore> {
  const dir = await tempDir('fork');
  dirs.push(dir);
  const s = await openStore(dir);
  stores.push(s);
  return s;
}

beforeEach(async () => {
  // A real (not started) network: the resolver charges peers through its penalty table.
  net = await P2pNetwork.create({ network: 'testnet', listen: [], operatorSecret: null, dataDir: null, isActiveMasternode: () => false });
  registry = new Registry();
  metrics = createMetrics(registry);
  logs = [];
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close().catch(() => undefined)));
  await Promise.all(dirs.splice(0).map(removeDir));
});

const PEER = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN';

function resolver(s: ChainStore, mempool: Mempool | null = null, maxDepth?: number, now?: () => number): ForkResolver {
  const root = createLogger({ level: 'debug', destination: { write: (l: string) => void logs.push(JSON.parse(l) as Record<string, unknown>) } });
  return new ForkResolver({
    net, store: s, checks: checksFor(s), runExclusive: (fn) => fn(), chainId: CHAIN_ID, log: childLogger(root, 'fork'),
    mempool, reorgDepth: metrics.reorgDepth, ...(maxDepth === undefined ? {} : { maxDepth }), ...(now === undefined ? {} : { now }),
  });
}

/** `agree` answers with `hash`, the rest with `other`; `calls` counts polls. */
function poller(agree: number, hash: Uint8Array, other: Uint8Array, calls: number[] = []): (h: number) => Promise<PollAnswer[]> {
  return async (h) => {
    calls.push(h);
    return Array.from({ length: 7 }, (_, i) => ({ peer: `peer${i}`, hash: i < agree ? hash : other }));
  };
}

async function snapshot(s: ChainStore): Promise<{ tip: string; height: number; final: number; utxo: string }> {
  return { tip: toHex(s.tip().hash), height: s.tip().height, final: s.finalized().height, utxo: toHex((await s.utxoSetHash()).hash) };
}

async function reorgCount(): Promise<{ count: number; sum: number }> {
  const m = await registry.getSingleMetric('timecoin_reorg_depth')!.get();
  const v = (name: string) => m.values.find((x) => (x as { metricName?: string }).metricName === name)?.value ?? 0;
  return { count: v('timecoin_reorg_depth_count'), sum: v('timecoin_reorg_depth_sum') };
}

/**
 * Common prefix 1–2 (final), our branch A 3–5 (not final) with a payment from owner 4 and one from
 * owner 5, and branch B 3–6 in which owner 4's coin is paid elsewhere (a conflict).
 */
async function scenario(): Promise<{ s: ChainStore; common: CertifiedBlock[]; a: CertifiedBlock[]; b: CertifiedBlock[]; mempool: Mempool; keep: string; conflict: string }> {
  const s = await store();
  const common = extendChain(GENESIS, 2);
  const keepTx = payFrom(5, owner(1).publicKey);
  const conflictTx = payFrom(4, owner(2).publicKey);
  const a3 = nextBlock(common[1]!.block, 1, [conflictTx, keepTx]);
  const a = [a3, ...extendChain(a3.block, 2, 1)];
  const b3 = nextBlock(common[1]!.block, 2, [payFrom(4, owner(3).publicKey)]);
  const b = [b3, ...extendChain(b3.block, 3, 2)];
  await connectAll(s, common, true);
  await connectAll(s, a, false);
  const mempool = new Mempool({ chainId: CHAIN_ID, sigCache: null, registry: () => s.registry });
  return { s, common, a, b, mempool, keep: toHex(keepTx.txid), conflict: toHex(conflictTx.txid) };
}

describe('ForkResolver.consider on real LevelDB', () => {
  it('switches to a certified branch 5 of 7 peers confirm; the UTXO set equals a store built on that branch', async () => {
    const { s, common, a, b, mempool, keep, conflict } = await scenario();
    const calls: number[] = [];
    const out = await resolver(s, mempool).consider({ peer: PEER, forkHeight: 2, entries: asEntries(b), poll: poller(5, b[0]!.block.hash, a[0]!.block.hash, calls) });
    expect(out).toMatchObject({ switched: true, forkHeight: 2, depth: 3, from: toHex(a[2]!.block.hash), to: toHex(b[3]!.block.hash) });
    expect(calls).toEqual([3]); // polled once, at the first divergent height
    expect(s.tip()).toEqual({ height: 6, hash: b[3]!.block.hash });
    expect(s.finalized().height).toBe(6); // certified blocks are final once the whole branch is in
    for (const x of b) expect(await s.getCertificate(x.block.hash)).toEqual(x.cert);

    const direct = await store();
    await connectAll(direct, [...common, ...b], true);
    expect(await snapshot(s)).toEqual(await snapshot(direct));

    // Owner 5's payment is not on B: back in the mempool. Owner 4's conflicts with B: dropped.
    expect(mempool.has(keep)).toBe(true);
    expect(mempool.has(conflict)).toBe(false);
    expect(await reorgCount()).toEqual({ count: 1, sum: 3 });
    const line = logs.find((l) => l.msg === 'chain reorganized')!;
    expect(line).toMatchObject({ level: 'warn', module: 'fork', depth: 3, forkHeight: 2, from: toHex(a[2]!.block.hash), to: toHex(b[3]!.block.hash) });
  });

  it('refuses a branch only 4 of 7 peers confirm and changes nothing', async () => {
    const { s, a, b } = await scenario();
    const before = await snapshot(s);
    const out = await resolver(s).consider({ peer: PEER, forkHeight: 2, entries: asEntries(b), poll: poller(4, b[0]!.block.hash, a[0]!.block.hash) });
    expect(out).toMatchObject({ switched: false, reason: ResolveRefusal.NoMajority });
    expect(await snapshot(s)).toEqual(before);
    expect(await reorgCount()).toEqual({ count: 0, sum: 0 });
    expect(logs.find((l) => l.msg === 'fork refused')).toMatchObject({ level: 'warn', reason: 'no-majority' });
  });

  it('refuses when a finalized block would be disconnected, without polling', async () => {
    const { s, a, b } = await scenario();
    await s.setFinalized(3, a[0]!.block.hash);
    const before = await snapshot(s);
    const calls: number[] = [];
    const out = await resolver(s).consider({ peer: PEER, forkHeight: 2, entries: asEntries(b), poll: poller(7, b[0]!.block.hash, a[0]!.block.hash, calls) });
    expect(out).toMatchObject({ switched: false, reason: ResolveRefusal.CrossesFinalized });
    expect(calls).toEqual([]);
    expect(await snapshot(s)).toEqual(before);
    // A certified branch across a final block is a safety fault: logged at error level.
    expect(logs.some((l) => l.level === 'error' && String(l.msg).includes('SAFETY FAULT'))).toBe(true);
  });

  it('refuses a branch with a certificate below quorum or under another chain id, charges the peer, and never polls', async () => {
    const { s, a, b } = await scenario();
    const before = await snapshot(s);
    const variants: CertifiedBlock[][] = [
      [b[0]!, { block: b[1]!.block, cert: certify(b[1]!.block, [0, 1]) }, ...b.slice(2)], // 2 of 4: below quorum
      [b[0]!, b[1]!, { block: b[2]!.block, cert: certify(b[2]!.block, [0, 1, 2], GENESIS.header.prevHash) }], // wrong chain id
      [b[0]!, { block: b[1]!.block, cert: new Uint8Array(0) }], // missing
      [b[0]!, { block: b[2]!.block, cert: b[2]!.cert }], // skips a block: does not link
    ];
    for (const [i, branch] of variants.entries()) {
      const calls: number[] = [];
      const out = await resolver(s).consider({ peer: PEER, forkHeight: 2, entries: asEntries(branch), poll: poller(7, b[0]!.block.hash, a[0]!.block.hash, calls) });
      expect(out, `variant ${i}`).toMatchObject({ switched: false, reason: ResolveRefusal.BadCertificates });
      expect(calls).toEqual([]);
      expect(net.refusalCount(P2pCode.HandlerRejected)).toBe(i + 1);
    }
    expect(await snapshot(s)).toEqual(before);
  });

  it('a certified but invalid block fails while connecting: the old branch is restored', async () => {
    const { s, a, b } = await scenario();
    const before = await snapshot(s);
    // Block 4 of this branch pays its coinbase far more than the reward, yet carries a valid certificate.
    const bad4 = nextBlock(b[0]!.block, 2, [], { coinbaseOutputs: [{ amount: 10n ** 15n, publicKey: owner(0).publicKey }] });
    const out = await resolver(s).consider({ peer: PEER, forkHeight: 2, entries: asEntries([b[0]!, bad4]), poll: poller(7, b[0]!.block.hash, a[0]!.block.hash) });
    expect(out).toMatchObject({ switched: false, reason: ResolveRefusal.ConnectFailed });
    expect(await snapshot(s)).toEqual(before);
    for (const x of a) expect(await s.getCertificate(x.block.hash)).toEqual(x.cert);
    expect(net.refusalCount(P2pCode.HandlerRejected)).toBe(1);
  });

  it('refuses a reorg of 1,001 blocks and takes one of exactly 1,000', async () => {
    const s = await store();
    const ours: Block[] = [];
    let parent = GENESIS;
    for (let i = 0; i < 1_001; i++) {
      const { block } = nextBlock(parent, 1);
      await s.connectBlock(block); // not final, no certificate needed for our own
      ours.push(block);
      parent = block;
    }
    const fromGenesis = extendChain(GENESIS, 1, 2);
    const calls: number[] = [];
    const deep = await resolver(s).consider({ peer: PEER, forkHeight: 0, entries: asEntries(fromGenesis), poll: poller(7, fromGenesis[0]!.block.hash, ours[0]!.hash, calls) });
    expect(deep).toMatchObject({ switched: false, reason: ResolveRefusal.TooDeep });
    expect(calls).toEqual([]);
    expect(s.tip().height).toBe(1_001);

    const fromOne = extendChain(ours[0]!, 1, 2);
    const ok = await resolver(s).consider({ peer: PEER, forkHeight: 1, entries: asEntries(fromOne), poll: poller(7, fromOne[0]!.block.hash, ours[1]!.hash) });
    expect(ok).toMatchObject({ switched: true, depth: 1_000 } satisfies Partial<ForkOutcome>);
    expect(s.tip()).toEqual({ height: 2, hash: fromOne[0]!.block.hash });
    expect(await reorgCount()).toEqual({ count: 1, sum: 1_000 });
  }, 60_000);

  it('onConflict runs one resolution at a time and rests a refused peer for 30 s', async () => {
    const s = await store();
    let t = 1_000_000;
    const r = resolver(s, null, undefined, () => t);
    r.onConflict(PEER, 1);
    const first = r.running;
    expect(first).not.toBeNull();
    r.onConflict(PEER, 1); // busy: the same resolution
    expect(r.running).toBe(first);
    // The network is not running, so the peer cannot be asked: refused as unreachable, and logged.
    expect(await first).toMatchObject({ switched: false, reason: ResolveRefusal.Unreachable });
    expect(logs.some((l) => l.msg === 'fork refused' && l.reason === 'unreachable')).toBe(true);
    expect(r.running).toBeNull();
    r.onConflict(PEER, 1);
    expect(r.running).toBeNull(); // resting
    t += 30_001;
    r.onConflict(PEER, 1);
    expect(r.running).not.toBeNull();
    await r.running;
  });
});

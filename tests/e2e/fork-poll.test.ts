/**
 * Fork resolution over REAL libp2p on 127.0.0.1 (docs/p2p.md "Fork resolution"): nine in-process
 * `P2pNetwork`s, each serving `/timecoin/forkpoll/1` and `/timecoin/sync/1` from its own LevelDB
 * store. The node under test holds branch A above its finalized pointer (blocks 3–5 not final);
 * five peers hold the certified branch B (3–6), two hold A, and one offers a longer chain whose
 * certificates do not verify. The node under test always has exactly 7 peers:
 *   1. the bad-certificate peer is refused and charged before anyone is polled;
 *   2. with 4 of its 7 peers on B, it refuses B;
 *   3. with 5 of 7 on B, its block sync meets B (a certified block that does not link to its tip),
 *      calls the resolver, which switches through the real consensus driver's queue; sync then
 *      fetches the rest of B (same hash at every height as a B peer).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBlockBytes } from '../../chain/block.js';
import { SignatureCache, verifySignature } from '../../chain/ed25519.js';
import { toHex } from '../../chain/hash.js';
import { Mempool } from '../../chain/mempool.js';
import type { ChainStore } from '../../chain/store.js';
import { P2pCode } from '../../p2p/errors.js';
import { protocolByName } from '../../p2p/protocols.js';
import { BlockSync, serveSync } from '../../src/block-sync.js';
import { ConsensusDriver } from '../../src/driver.js';
import { FinalityTracker } from '../../src/finality.js';
import { serveForkPoll } from '../../src/fork-poll.js';
import { ForkResolver, ResolveRefusal } from '../../src/fork-resolver.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { removeDir, tempDir } from '../fixtures/store-helpers.js';
import { CHAIN_ID, certify, checksFor, connectAll, extendChain, GENESIS, openStore, type CertifiedBlock } from '../unit/fork-fixtures.js';
import { link, MasternodeSet, metricValue, peersOf, startNode, stopAll, waitFor, type TestNode } from './p2p-harness.js';

interface Peer {
  readonly node: TestNode;
  readonly store: ChainStore;
}

const dirs: string[] = [];
const stores: ChainStore[] = [];
const set = new MasternodeSet();

async function peerWith(blocks: readonly CertifiedBlock[], finalCount: number): Promise<Peer> {
  const dir = await tempDir('fork-e2e');
  dirs.push(dir);
  const store = await openStore(dir);
  stores.push(store);
  await connectAll(store, blocks.slice(0, finalCount), true);
  await connectAll(store, blocks.slice(finalCount), false);
  const node = await startNode(set);
  await serveForkPoll(node.net, store);
  await serveSync(node.net, store, protocolByName('sync').maxResponseBytes);
  await node.net.start();
  return { node, store };
}

async function unlink(a: TestNode, b: TestNode): Promise<void> {
  await a.net.disconnect(b.net.peerId);
  await waitFor(() => !peersOf(a).includes(b.net.peerId) && !peersOf(b).includes(a.net.peerId), 'unlink');
}

const bytesEq = (x: Uint8Array, y: Uint8Array): boolean => toHex(x) === toHex(y);
const polledIn = (p: Peer) => metricValue(p.node, 'p2p_messages_total', { type: 'forkpoll', direction: 'in' });

describe('fork resolution over libp2p: 8 peers, 7 connected at a time', () => {
  let ut: Peer;
  let resolver: ForkResolver;
  let a: CertifiedBlock[];
  let b: CertifiedBlock[];
  let aPeers: Peer[];
  let bPeers: Peer[];
  let evil: Peer;
  const logs: Array<Record<string, unknown>> = [];
  let resolverLog: Logger;

  beforeAll(async () => {
    const dir = await tempDir('fork-e2e');
    dirs.push(dir);
    await openStore(dir).then((s) => stores.push(s)); // fixes the validator order before building blocks
    const common = extendChain(GENESIS, 2);
    a = extendChain(common[1]!.block, 3, 1);
    b = extendChain(common[1]!.block, 5, 2); // 3–7: two past our tip, so block sync acts on it
    // Longer than both, but its certificates carry 2 of 4 commits (quorum is 3).
    const bad = extendChain(common[1]!.block, 6, 3).map((x) => ({ block: x.block, cert: certify(x.block, [0, 1]) }));

    ut = await peerWith([...common, ...a], 2);
    aPeers = await Promise.all([0, 1].map(() => peerWith([...common, ...a], 5)));
    bPeers = await Promise.all([0, 1, 2, 3, 4].map(() => peerWith([...common, ...b], 7)));
    evil = await peerWith([...common, ...bad], 8);
    const root = createLogger({ level: 'debug', destination: { write: (l: string) => void logs.push(JSON.parse(l) as Record<string, unknown>) } });
    resolverLog = root.child({ module: 'fork' });
    resolver = new ForkResolver({
      net: ut.node.net, store: ut.store, checks: checksFor(ut.store), runExclusive: (fn) => fn(), chainId: CHAIN_ID,
      log: resolverLog, reorgDepth: ut.node.metrics.reorgDepth, pollTimeoutMs: 5_000,
    });
    for (const p of [evil, ...bPeers.slice(0, 4), ...aPeers]) await link(ut.node, p.node);
    expect(peersOf(ut.node)).toHaveLength(7);
  }, 30_000);

  afterAll(async () => {
    await stopAll();
    await Promise.all(stores.splice(0).map((s) => s.close().catch(() => undefined)));
    await Promise.all(dirs.splice(0).map(removeDir));
  });

  it('a peer offering a longer chain whose certificates do not verify is refused and charged, before any poll', async () => {
    const before = toHex(ut.store.tip().hash);
    const out = await resolver.resolve(evil.node.net.peerId);
    expect(out).toMatchObject({ switched: false, reason: ResolveRefusal.BadCertificates });
    expect(toHex(ut.store.tip().hash)).toBe(before);
    expect(ut.node.net.refusalCount(P2pCode.HandlerRejected)).toBe(1);
    expect(ut.node.net.scores.score(evil.node.net.peerId, Date.now())).toBeLessThan(0);
    for (const p of [...bPeers.slice(0, 4), ...aPeers]) expect(await polledIn(p)).toBe(0);
  });

  it('with only 4 of its 7 peers on the branch, it refuses', async () => {
    const before = { tip: toHex(ut.store.tip().hash), utxo: toHex((await ut.store.utxoSetHash()).hash) };
    const evilBefore = await polledIn(evil); // the fork search of the first test asked it
    const out = await resolver.resolve(bPeers[0]!.node.net.peerId);
    expect(out).toMatchObject({ switched: false, reason: ResolveRefusal.NoMajority });
    expect(out.switched === false && out.detail).toContain('4 of 7');
    expect({ tip: toHex(ut.store.tip().hash), utxo: toHex((await ut.store.utxoSetHash()).hash) }).toEqual(before);
    // All seven peers were asked (the offering peer among them).
    for (const p of [...bPeers.slice(0, 4), ...aPeers]) expect(await polledIn(p)).toBeGreaterThanOrEqual(1);
    expect(await polledIn(evil)).toBe(evilBefore + 1);
  }, 20_000);

  it('with 5 of its 7 peers on the branch, block sync meets it and the resolver switches through the driver', async () => {
    await unlink(ut.node, evil.node);
    await link(ut.node, bPeers[4]!.node);
    expect(peersOf(ut.node)).toHaveLength(7);
    const { store } = ut;
    const checks = checksFor(store);
    const mempool = new Mempool({ chainId: CHAIN_ID, sigCache: null, registry: () => store.registry });
    const finality = new FinalityTracker(null, Date.now);
    const log = createLogger({ level: 'silent' });
    const stateDir = await tempDir('fork-e2e-state');
    dirs.push(stateDir);
    let fatal: Error | null = null;
    const driver = new ConsensusDriver({
      engine: { chainId: CHAIN_ID, signer: null, hashBlock: hashBlockBytes, verify: verifySignature, timeouts: { baseMs: 1_000, factor: 2, maxMs: 5_000 }, maxBufferedMessages: 100, keepDecisions: 8 },
      store, mempool, checks, finality, stateFile: join(stateDir, 'consensus-state.json'), validatorsAt: (h) => store.validatorSetAt(h),
      rewardPublicKey: null, idleBlockIntervalMs: 60_000, txBatchDelayMs: 5, now: Date.now, logger: log, metrics: null, transport: null,
      onFatal: (err) => (fatal = err),
    });
    await driver.boot();
    const forks = new ForkResolver({
      net: ut.node.net, store, checks, runExclusive: (fn) => driver.runExclusive(fn), chainId: CHAIN_ID, mempool,
      log: resolverLog, reorgDepth: ut.node.metrics.reorgDepth, onConnected: (blk) => finality.onFinal(blk),
    });
    const sync = new BlockSync({
      net: ut.node.net, store, driver, checks, mempool, finality, evidence: null, chainId: CHAIN_ID, log, intervalMs: 200,
      onConflict: (peer, height) => forks.onConflict(peer, height),
    });
    try {
      sync.start();
      await waitFor(() => bytesEq(store.tip().hash, b[4]!.block.hash), 'node under test on B at height 7', 15_000);
    } finally {
      await sync.stop();
      await forks.running;
      await driver.close();
    }
    expect(fatal).toBeNull();
    expect(store.finalized().height).toBe(7);
    for (let h = 0; h <= 7; h++) expect(toHex((await store.getBlockHash(h))!)).toBe(toHex((await bPeers[4]!.store.getBlockHash(h))!));
    expect(toHex((await ut.store.utxoSetHash()).hash)).toBe(toHex((await bPeers[4]!.store.utxoSetHash()).hash));
    const reorg = (await ut.node.registry.getSingleMetric('timecoin_reorg_depth')!.get()).values;
    expect(reorg.find((v) => (v as { metricName?: string }).metricName === 'timecoin_reorg_depth_sum')?.value).toBe(3);
    expect(reorg.find((v) => (v as { metricName?: string }).metricName === 'timecoin_reorg_depth_count')?.value).toBe(1);
    expect(logs.some((l) => l.msg === 'chain reorganized' && l.depth === 3)).toBe(true);
  }, 20_000);
});

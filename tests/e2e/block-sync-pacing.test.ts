/**
 * Block sync paces rounds that connect nothing. A validator one block behind on a busy network
 * gets a sync trigger for every consensus message of a later height; before pacing, each trigger
 * became a request, the node passed its peers' sync quota and was banned by all of them (the
 * resilience campaign's restarted node ended with 0 peers). Real LevelDB stores, real libp2p on
 * 127.0.0.1, the real driver and BlockSync.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashBlockBytes } from '../../chain/block.js';
import { verifySignature } from '../../chain/ed25519.js';
import { Mempool } from '../../chain/mempool.js';
import type { ChainStore } from '../../chain/store.js';
import { P2pCode } from '../../p2p/errors.js';
import { protocolByName } from '../../p2p/protocols.js';
import { BlockSync, IDLE_RETRY_MS, serveSync } from '../../src/block-sync.js';
import { ConsensusDriver } from '../../src/driver.js';
import { FinalityTracker } from '../../src/finality.js';
import { createLogger } from '../../src/logger.js';
import { removeDir, tempDir } from '../fixtures/store-helpers.js';
import { CHAIN_ID, checksFor, connectAll, extendChain, GENESIS, openStore } from '../unit/fork-fixtures.js';
import { waitFor as waitUntil } from './helpers.js';
import { link, MasternodeSet, metricValue, startNode, stopAll } from './p2p-harness.js';

const dirs: string[] = [];
const stores: ChainStore[] = [];

afterAll(async () => {
  await stopAll();
  await Promise.all(stores.splice(0).map((s) => s.close().catch(() => undefined)));
  await Promise.all(dirs.splice(0).map(removeDir));
});

async function store(blocks: number): Promise<ChainStore> {
  const dir = await tempDir('sync-pacing');
  dirs.push(dir);
  const s = await openStore(dir);
  stores.push(s);
  chain ??= extendChain(GENESIS, 4); // after a store is open: it fixes the validator order
  await connectAll(s, chain.slice(0, blocks), true);
  return s;
}

let chain: ReturnType<typeof extendChain> | undefined;

describe('block sync pacing', () => {
  it('hundreds of triggers while one block behind send a paced handful of requests, and the peer is never charged', async () => {
    const set = new MasternodeSet();
    const server = await startNode(set);
    const serverStore = await store(4);
    await serveSync(server.net, serverStore, protocolByName('sync').maxResponseBytes);
    const node = await startNode(set);
    const own = await store(3); // one behind: the gap of one waits for a whole sync interval
    for (const n of [server, node]) await n.net.start();
    await link(node, server);

    const stateDir = await tempDir('sync-pacing-state');
    dirs.push(stateDir);
    const mempool = new Mempool({ chainId: CHAIN_ID, sigCache: null, registry: () => own.registry });
    const finality = new FinalityTracker(null, Date.now);
    const log = createLogger({ level: 'silent' });
    const checks = checksFor(own);
    const driver = new ConsensusDriver({
      engine: { chainId: CHAIN_ID, signer: null, hashBlock: hashBlockBytes, verify: verifySignature, timeouts: { baseMs: 60_000, factor: 2, maxMs: 60_000 }, maxBufferedMessages: 100, keepDecisions: 8 },
      store: own, mempool, checks, finality, stateFile: join(stateDir, 'consensus-state.json'), validatorsAt: (h) => own.validatorSetAt(h),
      rewardPublicKey: null, idleBlockIntervalMs: 3_600_000, txBatchDelayMs: 5, now: Date.now, logger: log, metrics: null, transport: null,
      onFatal: (err) => {
        throw err;
      },
    });
    await driver.boot();
    // A long interval: only triggers drive it, as consensus traffic does on a live network.
    const sync = new BlockSync({ net: node.net, store: own, driver, checks, mempool, finality, evidence: null, chainId: CHAIN_ID, log, intervalMs: 3_600_000 });
    const requests = () => metricValue(server, 'p2p_messages_total', { type: 'sync', direction: 'in' });
    try {
      sync.start();
      await waitUntil('the first request', async () => ((await requests()) >= 1 ? true : undefined));
      const windowMs = 3 * IDLE_RETRY_MS + 200;
      const end = Date.now() + windowMs;
      let triggers = 0;
      while (Date.now() < end) {
        sync.trigger();
        triggers++;
        await new Promise((r) => setTimeout(r, 2));
      }
      expect(triggers).toBeGreaterThan(100);
      const sent = await requests();
      // One at start, then at most one per IDLE_RETRY_MS (+1 for the round in flight at the end).
      expect(sent).toBeLessThanOrEqual(2 + Math.ceil(windowMs / IDLE_RETRY_MS));
      expect(sent).toBeGreaterThanOrEqual(2); // paced, not stopped
      expect(server.net.refusalCount(P2pCode.RateLimited)).toBe(0);
      expect(own.tip().height).toBe(3); // the gap of one is left to consensus until the interval passes
    } finally {
      await sync.stop();
      await driver.close();
    }
  }, 30_000);
});

/**
 * Resilience under load (performance issue) on the 4-validator testnet as processes
 * (bench/cluster-lib.ts), with pre-signed transfers offered at a fixed rate the whole time:
 *  - soak: RSS, heap, mempool size and event-loop delay p99 of every node stay flat
 *    (bench/resilience-lib.ts `flat`); every node ends with identical blocks and UTXO set;
 *  - flood: in-process libp2p peers send 100× their tx and consensus quotas at node 0; each is
 *    banned; honest transactions still finalize; node 0's memory stays bounded; the honest p95
 *    finality latency is compared with the calm figure (asserted ≤ 2× only under TIMECOIN_LONG);
 *  - crash: SIGKILL a random node at a random moment, restart it, wait until it caught up; after
 *    every round and at the end: identical chains, identical UTXO-set hashes, supply conserved
 *    (replayed from the blocks), no validator seen signing two hashes in one (height, view), and
 *    byzantine_detected_total 0 on every node.
 * `npm test` runs the short campaign; `TIMECOIN_LONG=1` (npm run test:long) the full one. The
 * kill schedule comes from a seeded PRNG: the seed is printed; TIMECOIN_RESILIENCE_SEED replays it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, FinalityWatch, offer, percentile, presplit, signLoad, type LoadTx } from '../../bench/cluster-lib.js';
import { assertSameChains, campaignSeed, emit, flat, flood, MAX_MINT_PER_BLOCK, prng, replaySupply, Sampler, txOutSetInfos } from '../../bench/resilience-lib.js';
import { fromHex } from '../../chain/hash.js';
import { waitFor } from './helpers.js';

const LONG = process.env.TIMECOIN_LONG === '1';
const P = LONG
  ? { soakMs: 240_000, warmupMs: 30_000, rounds: 20, calmMs: 45_000, floodMs: 60_000 }
  : { soakMs: 24_000, warmupMs: 3_000, rounds: 2, calmMs: 6_000, floodMs: 10_000 };
/** Offered load (tx/s) in every phase: steady, well under the cluster's capacity on a loaded 2-core box. */
const RATE = 20;
/** Longest a crash round may take (kill delay + down time + catch-up), for the load budget. */
const ROUND_BUDGET_MS = 40_000;
const COINS = Math.ceil((RATE * (P.soakMs + P.calmMs + P.floodMs + P.rounds * ROUND_BUDGET_MS)) / 1000) + 10;
/** The flood: this many times the quota refill rate of /timecoin/tx/1 and /timecoin/consensus/1. */
const FLOOD_MULTIPLE = 100;
const TARGET = 0;
/**
 * Flat-check tolerances (last third's mean ≤ first third's max × ratio + abs). RSS and heap:
 * +25% and 48 MB over the first third's peak (GC sawtooth, JIT, LevelDB caches settle); mempool:
 * 2× + 200 transactions (one block's worth at RATE swings it); event-loop p99: 3× + 250 ms (other
 * engineers' jobs on the same 2 cores stall every process at random). A leak or an unbounded queue
 * grows without limit and crosses these however long the run.
 */
const TOL = { rssMb: { ratio: 1.25, abs: 48 }, heapMb: { ratio: 1.25, abs: 48 }, mempool: { ratio: 2, abs: 200 }, eldP99Ms: { ratio: 3, abs: 250 } } as const;
const UNIT = { rssMb: 'MB', heapMb: 'MB', mempool: 'tx', eldP99Ms: 'ms' } as const;
/** Node 0's RSS during the flood may exceed its calm peak by this much (its queues and score maps are bounded). */
const FLOOD_RSS = { ratio: 1.5, abs: 64 };

describe(`resilience under load (${LONG ? 'long' : 'short'} campaign)`, () => {
  let c: Cluster;
  let sampler: Sampler;
  let load: LoadTx[];
  /** The flood's one valid transaction: kept out of the honest load. */
  let floodTx: Uint8Array;
  let cursor = 0;
  const seed = campaignSeed();
  const take = (n: number): LoadTx[] => load.slice(cursor, Math.min(load.length, cursor + n));

  beforeAll(async () => {
    console.log(`resilience seed ${seed} (replay with TIMECOIN_RESILIENCE_SEED=${seed})`);
    c = await Cluster.start({ conns: 4 });
    try {
      load = signLoad(c, await presplit(c, COINS, 256));
      floodTx = fromHex(load.pop()!.hex);
    } catch (err) {
      c.h.dumpLogs();
      throw err;
    }
    sampler = new Sampler(c, LONG ? 2_000 : 1_000);
    sampler.start();
  }, 180_000);

  afterAll(async () => {
    await sampler?.stop();
    await c?.close();
  }, 60_000);

  /** Every node agrees on blocks and UTXO set, the supply is conserved, no conflicting vote was seen. */
  async function assertConsistent(phase: string): Promise<void> {
    const infos = await txOutSetInfos(c, c.h.all, 120_000);
    for (const x of infos) expect(x, `${phase}: gettxoutsetinfo differs`).toEqual(infos[0]);
    const tip = infos[0]!.height;
    await sampler.sampleOnce();
    const heights = await assertSameChains(c, c.h.all, tip, sampler.ledger);
    const s = await replaySupply(c, 0, tip);
    expect(s.utxoTotal.toString(), `${phase}: UTXO total replayed from the blocks`).toBe(infos[0]!.total_amount);
    expect(s.issued.toString(), `${phase}: issued supply (genesis + claimed rewards)`).toBe(infos[0]!.total_amount);
    expect(s.maxMinted <= MAX_MINT_PER_BLOCK, `${phase}: a block minted ${s.maxMinted} > reward`).toBe(true);
    expect(sampler.ledger.conflicts, `${phase}: conflicting votes`).toEqual([]);
    expect(sampler.byzantine, `${phase}: byzantine_detected_total per node`).toEqual(c.h.all.map(() => 0));
    emit(`${phase}_heights_compared`, heights, 'blocks');
    emit(`${phase}_votes_observed`, sampler.ledger.observations, 'votes');
    emit(`${phase}_supply_units`, Number(s.issued), 'units', { genesis: s.genesis.toString(), txouts: infos[0]!.txouts });
  }

  /** Offer RATE tx/s for `ms`, returning the finality latency of each accepted transaction (ms). */
  async function timedLoad(ms: number, during?: () => Promise<unknown>): Promise<{ latencies: number[]; accepted: number }> {
    const watch = new FinalityWatch(c, 1);
    await watch.start();
    const txs = take(Math.ceil((RATE * ms) / 1000));
    cursor += txs.length;
    const [r] = await Promise.all([offer(c, txs, { rate: RATE, durationMs: 3 * ms, conns: 4, batch: 20 }), during?.()]);
    const missing = await watch.waitAll(r.accepted, 120_000);
    await watch.stop();
    expect(r.refused).toEqual({});
    expect(missing, 'accepted transactions not final').toBe(0);
    return { latencies: r.accepted.map((t) => watch.finalAt.get(t)! - r.sentAt.get(t)!), accepted: r.accepted.length };
  }

  it('soak: memory, mempool and event-loop delay stay flat; identical chains', async () => {
    try {
      const start = Date.now();
      const { latencies, accepted } = await timedLoad(P.soakMs);
      const end = Date.now();
      emit('soak_tx_final', accepted, 'tx', { seconds: Math.round((end - start) / 1000), rate: RATE });
      emit('soak_finality_p95_ms', percentile(latencies, 95), 'ms');
      for (const i of c.h.all) {
        const w = sampler.window(i, start + P.warmupMs, end);
        for (const k of ['rssMb', 'heapMb', 'mempool', 'eldP99Ms'] as const) {
          const f = flat(w.map((s) => s[k]), TOL[k]);
          emit(`soak_node${i}_${k}_last_third_mean`, f.lastMean, UNIT[k], { first_third_max: Math.round(f.firstMax * 100) / 100, limit: Math.round(f.limit * 100) / 100, samples: w.length });
          expect(f.ok, `node${i} ${k} not flat: ${JSON.stringify(f)}`).toBe(true);
        }
      }
      await assertConsistent('soak');
    } catch (err) {
      c.h.dumpLogs();
      throw err;
    }
  }, (P.soakMs * 3 + 240_000));

  it('flood: 100× quota of txs and votes → every flooder banned, honest txs final, memory bounded', async () => {
    try {
      const calmStart = Date.now();
      const calm = await timedLoad(P.calmMs);
      const calmRss = Math.max(...sampler.window(TARGET, calmStart).map((s) => s.rssMb).filter(Number.isFinite));
      const bannedBefore = (await c.clients[TARGET]!.call<{ banned: number }>('getnetworkinfo')).banned;
      const floodStart = Date.now();
      let fr = { flooders: 0, txSent: 0, votesSent: 0, cpuSec: 0 };
      const under = await timedLoad(P.floodMs, async () => {
        fr = await flood(c, TARGET, floodTx, { durationMs: P.floodMs, multiple: FLOOD_MULTIPLE });
      });
      const floodRss = Math.max(...sampler.window(TARGET, floodStart).map((s) => s.rssMb).filter(Number.isFinite));
      const banned = (await c.clients[TARGET]!.call<{ banned: number }>('getnetworkinfo')).banned - bannedBefore;
      const calmP95 = percentile(calm.latencies, 95);
      const floodP95 = percentile(under.latencies, 95);
      emit('flood_flooders', fr.flooders, 'peers', { banned, tx_sent: fr.txSent, votes_sent: fr.votesSent, multiple: FLOOD_MULTIPLE, flooder_cpu_s: Math.round(fr.cpuSec * 10) / 10 });
      emit('calm_finality_p95_ms', calmP95, 'ms', { txs: calm.accepted });
      emit('flood_finality_p95_ms', floodP95, 'ms', { txs: under.accepted });
      emit('flood_p95_ratio', floodP95 / calmP95, 'ratio');
      emit('flood_target_rss_max_mb', floodRss, 'MB', { calm_max: Math.round(calmRss) });
      expect(fr.flooders).toBeGreaterThanOrEqual(1);
      expect(banned, 'every flooder banned').toBe(fr.flooders);
      expect(floodRss, 'node 0 memory bounded under the flood').toBeLessThanOrEqual(calmRss * FLOOD_RSS.ratio + FLOOD_RSS.abs);
      // Latency on a shared CI box is noise: the bound is a pass/fail only in the long campaign.
      if (LONG) expect(floodP95, 'flood p95 within 2× calm p95').toBeLessThanOrEqual(2 * calmP95);
      await assertConsistent('flood');
    } catch (err) {
      c.h.dumpLogs();
      throw err;
    }
  }, (P.calmMs + P.floodMs) * 3 + 300_000);

  it(`crash: ${P.rounds} SIGKILL rounds under load; same chain, UTXO hash and supply; no conflicting votes`, async () => {
    const rand = prng(seed);
    try {
      for (let r = 0; r < P.rounds; r++) {
        const victim = Math.floor(rand() * c.h.size);
        const killAfterMs = Math.round(300 + rand() * 3_000);
        const downMs = Math.round(200 + rand() * 2_500);
        const roundStart = Date.now();
        let done = false;
        const txs = take(Math.ceil((RATE * ROUND_BUDGET_MS) / 1000));
        const loading = offer(c, txs, { rate: RATE, durationMs: 10 * ROUND_BUDGET_MS, conns: 4, batch: 10, until: () => done });
        try {
          await waitFor('the kill moment', () => (Date.now() >= roundStart + killAfterMs ? true : undefined), killAfterMs + 5_000, 20);
          await c.h.kill(victim);
          const killedAt = Date.now();
          // The process is dead, so its record on disk is exactly the last vote it signed: the
          // ledger then catches a restarted node signing another hash at that (height, view).
          sampler.ledger.addRecord(c, victim);
          await waitFor('the down time', () => (Date.now() >= killedAt + downMs ? true : undefined), downMs + 5_000, 20);
          c.h.start(victim);
          const rest = c.h.all.filter((i) => i !== victim);
          await waitFor(`node${victim} answering RPC`, () => c.clients[victim]!.call('getblockcount').then(() => true), 60_000, 100);
          const [target] = await c.h.finalHeights([rest[0]!]);
          await c.h.waitAllFinal(target!, [victim], 90_000);
          await c.h.waitMesh(c.h.all, 60_000);
          emit('crash_round', r, 'round', { victim, kill_after_ms: killAfterMs, down_ms: downMs, caught_up_ms: Date.now() - killedAt, height: target });
        } finally {
          done = true;
          const res = await loading;
          cursor += txs.length - res.unsent;
        }
        // Cheap check every round: the four UTXO sets agree at one height.
        const infos = await txOutSetInfos(c, c.h.all, 60_000);
        for (const x of infos) expect(x, `round ${r}: gettxoutsetinfo differs`).toEqual(infos[0]);
      }
      await assertConsistent('crash');
    } catch (err) {
      console.log(`resilience crash campaign failed; replay with TIMECOIN_RESILIENCE_SEED=${seed}`);
      // Bans and warnings scroll out of the dumped tail first: print them from each node's kept lines.
      for (const i of c.h.all) for (const l of c.h.log(i).split('\n')) if (/"level":"(warn|error)"/.test(l) && !l.includes('"view change"')) console.log(`node${i}: ${l}`);
      c.h.dumpLogs();
      throw err;
    }
  }, P.rounds * 150_000 + 180_000);
});

/**
 * A short smoke of the cluster benchmark (bench/cluster-lib.ts): 4 validator processes on
 * loopback, the faucet pre-split, ~20 s of pre-signed transfers offered at 200 tx/s over
 * keep-alive JSON-RPC batches spread over all four nodes. Asserts only what must hold on any
 * machine: every offered transaction is accepted and becomes final, and the four nodes agree
 * (same block hash at every height, same `gettxoutsetinfo` at the same tip). No timing
 * assertions — the figures are bench/cluster.ts's job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, FinalityWatch, offer, presplit, signLoad } from '../../bench/cluster-lib.js';
import { waitFor } from './helpers.js';

const RATE = 200;
const DURATION_MS = 20_000;
const TXS = (RATE * DURATION_MS) / 1000;

interface TxOutSetInfo {
  height: number;
  bestblock: string;
  txouts: number;
  total_amount: string;
  hash_serialized: string;
}

describe('cluster smoke: 4 processes, 200 tx/s for 20 s', () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ conns: 8 });
  }, 90_000);

  afterAll(async () => {
    await c?.close();
  }, 30_000);

  it('every offered transaction finalizes and the four nodes agree on blocks and the UTXO set', async () => {
    try {
      const coins = await presplit(c, TXS, 256);
      expect(coins.length).toBe(TXS);
      const load = signLoad(c, coins);
      const watch = new FinalityWatch(c, 0);
      await watch.start();
      // Paced at RATE, so ~DURATION_MS on a healthy machine; the window only bounds a stuck cluster.
      const r = await offer(c, load, { rate: RATE, durationMs: 5 * DURATION_MS, conns: 8, batch: 50 });
      expect(r.refused).toEqual({});
      expect(r.unsent).toBe(0);
      expect(r.accepted.length).toBe(TXS);
      const missing = await watch.waitAll(r.accepted, 120_000);
      await watch.stop();
      expect(missing, 'accepted transactions not final').toBe(0);
      for (const t of r.accepted) expect(watch.finalAt.get(t)!).toBeGreaterThanOrEqual(r.sentAt.get(t)!);

      // Same UTXO set at the same tip on all four (blocks keep coming, so wait for equal heights).
      const infos = await waitFor(
        'gettxoutsetinfo of all four nodes at one height',
        async () => {
          const all = await Promise.all(c.clients.map((cl) => cl.call<TxOutSetInfo>('gettxoutsetinfo')));
          return all.every((x) => x.height === all[0]!.height) ? all : undefined;
        },
        60_000,
        20,
      );
      for (const x of infos) expect(x).toEqual(infos[0]);
      expect(infos[0]!.height).toBeGreaterThanOrEqual(watch.lastHeight);
      // Same block hash at every height 0 … tip (one batch per node, over the keep-alive clients).
      const heights = Array.from({ length: infos[0]!.height + 1 }, (_, h) => ({ method: 'getblockhash', params: [h] }));
      const chains = await Promise.all(c.clients.map(async (cl) => (await cl.batch(heights)).map((a) => a.result)));
      for (const chain of chains) expect(chain).toEqual(chains[0]);
      expect(chains[0]!.every((h) => typeof h === 'string')).toBe(true);
    } catch (err) {
      c.h.dumpLogs();
      throw err;
    }
  }, 300_000);
});

/**
 * Block sync (docs/p2p.md "Block sync") on a real 4-validator testnet: node 3 is stopped, the
 * other three finalize more heights, node 3 restarts and catches up over `/timecoin/sync/1`
 * (same hash at every height), then a further transaction finalizes on all four. Polls RPC with
 * deadlines; the processes are killed in afterAll, also after a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers.js';
import { TestnetHarness } from './testnet-harness.js';

const N = 4;

describe('block sync: a restarted validator catches up over /timecoin/sync/1', () => {
  let h: TestnetHarness;

  beforeAll(async () => {
    // The default idle interval (60 s): blocks come for the payments only.
    h = await TestnetHarness.create({ validators: N, config: { consensus: { timeoutBaseMs: 1_000, timeoutMaxMs: 2_000, heartbeatIntervalMs: 3_000 } } });
    h.startAll();
    await h.waitMesh(h.all, 30_000);
  }, 45_000);

  afterAll(async () => {
    await h?.close();
  });

  it('node 3 is stopped, the others finalize ≥ 3 more heights, node 3 restarts, syncs every block and votes again', async () => {
    try {
      /** One faucet payment through node 0, final on the nodes in `on`; returns its height. */
      const pay = (on: number[]): Promise<number> => h.pay(on, 0, 20_000);

      await pay([0, 1, 2, 3]);
      await h.stop(3);
      const before = await h.rpc(3).call<number>('getblockcount').catch(() => -1);
      expect(before).toBe(-1); // node 3 is down
      const start = await h.rpc(0).call<number>('getblockcount');
      let height = start;
      while (height < start + 3) height = await pay([0, 1, 2]);
      const target = await h.rpc(0).call<number>('getblockcount');

      h.start(3);
      await h.waitAllFinal(target, [3], 20_000);
      await h.assertSameChain(target);
      expect(h.log(3)).toContain('"msg":"synced"'); // the gap came over sync, not one Decision per timeout
      // It takes part again: one more payment is final on all four.
      await waitFor(
        'node 3 back in the mesh',
        async () => ((await h.rpc(3).call<{ masternodes: number }>('getnetworkinfo')).masternodes >= N - 1 ? true : undefined),
        15_000,
        200,
      );
      await pay([0, 1, 2, 3]);
    } catch (err) {
      h.dumpLogs(40);
      throw err;
    }
  }, 90_000);
});

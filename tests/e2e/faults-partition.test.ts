/**
 * A 2|2 partition of a real 4-validator testnet. Every node reaches every other node only
 * through a loopback TCP proxy of its own for that pair (`p2p.bootstrap` names the proxy, with
 * the real peer id), so cutting the proxies between {0,1} and {2,3} splits the network. While
 * split no quorum (3 of 4) exists: no new final height anywhere, and no node holds a connection
 * across the cut (nodes do not bypass the proxies through addresses learned by identify). After
 * the heal the bootstrap redial reconnects, finality resumes, and all four chains are identical.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers.js';
import { TcpProxy } from './tcp-proxy.js';
import { TestnetHarness } from './testnet-harness.js';

const SIDE_A = [0, 1];
const SIDE_B = [2, 3];
/** How long the split is watched for progress (the point of this wait is that nothing happens). */
const SPLIT_WINDOW_MS = 6_000;

describe('faults: 2|2 partition through TCP proxies', () => {
  let h: TestnetHarness;
  /** proxies[i][j]: how node i reaches node j. */
  const proxies: TcpProxy[][] = [];

  beforeAll(async () => {
    h = await TestnetHarness.create({
      editConfig: async (i, config, net) => {
        const row: TcpProxy[] = [];
        const nodePorts = new Set(net.nodes.flatMap((nd) => [nd.p2pPort, nd.rpcPort]));
        for (const [j, other] of net.nodes.entries()) if (j !== i) row[j] = await TcpProxy.start(other.p2pPort, nodePorts);
        proxies[i] = row;
        (config.p2p as { bootstrap: string[] }).bootstrap = net.nodes.flatMap((other, j) => (j === i ? [] : [`${row[j]!.multiaddr}/p2p/${other.peerId}`]));
      },
    });
    h.startAll();
    try {
      await h.waitMesh();
    } catch (err) {
      h.dumpLogs();
      throw err;
    }
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await Promise.all(proxies.flat().map((p) => p.close()));
  });

  /** Peer ids node i is connected to, with the connection's remote address. */
  const peersOf = (i: number) => h.rpc(i).call<{ id: string; addr: string; direction: string }[]>('getpeerinfo');
  const across = (i: number, j: number): boolean => (SIDE_A.includes(i) && SIDE_B.includes(j)) || (SIDE_B.includes(i) && SIDE_A.includes(j));

  it('no finality while split, no fork, finality resumes after the heal', async () => {
    try {
      await h.waitAllFinal(2);
      // Every outbound connection goes through a proxy: nobody dialled a real listen address.
      const proxyPorts = new Set(proxies.flat().map((p) => String(p.port)));
      for (const i of h.all) for (const p of await peersOf(i)) if (p.direction === 'outbound') expect(proxyPorts.has(p.addr.split('/')[4]!), `node${i} → ${p.addr}`).toBe(true);

      for (const i of h.all) for (const j of h.all) if (i !== j && across(i, j)) proxies[i]![j]!.cut();
      const ids = h.net.nodes.map((n) => n.peerId);
      await waitFor(
        'the cross-partition connections closed',
        async () => {
          for (const i of h.all) for (const p of await peersOf(i)) if (across(i, ids.indexOf(p.id))) return undefined;
          return true;
        },
        15_000,
        100,
      );
      // Anything already delivered before the cut may still land: wait until heights hold still.
      let last = '';
      await waitFor('heights to settle after the cut', async () => {
        const now = JSON.stringify(await h.finalHeights());
        const same = now === last;
        last = now;
        return same ? true : undefined;
      }, 10_000, 500);
      const settled = await h.finalHeights();
      const top = Math.max(...settled);

      // The split window: poll and assert that no new height becomes final and no link crosses.
      const until = Date.now() + SPLIT_WINDOW_MS;
      while (Date.now() < until) {
        const hs = await h.finalHeights();
        expect(Math.max(...hs), `heights during the split: ${hs.join(',')}`).toBe(top);
        for (const i of h.all) for (const p of await peersOf(i)) expect(across(i, ids.indexOf(p.id)), `node${i} reached ${p.addr} across the cut`).toBe(false);
        await new Promise((r) => setTimeout(r, 250));
      }
      await h.assertSameChain(Math.min(...settled));

      const crossing = h.all.flatMap((i) => h.all.filter((j) => i !== j && across(i, j)).map((j) => proxies[i]![j]!));
      const forwardedBefore = crossing.reduce((s, p) => s + p.forwarded, 0);
      for (const row of proxies) for (const p of row) p?.heal();
      await h.waitAllFinal(top + 2, h.all, 60_000);
      const [end] = await h.finalHeights([0]);
      await h.waitAllFinal(end!, h.all);
      await h.assertSameChain(end!);
      // The heal reconnected through the proxies (bootstrap redial), not around them.
      expect(crossing.reduce((s, p) => s + p.forwarded, 0)).toBeGreaterThan(forwardedBefore);
      for (const i of h.all) for (const p of await peersOf(i)) if (p.direction === 'outbound') expect(proxyPorts.has(p.addr.split('/')[4]!), `node${i} → ${p.addr}`).toBe(true);
    } catch (err) {
      h.dumpLogs();
      throw err;
    }
  }, 150_000);
});

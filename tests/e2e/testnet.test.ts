/**
 * A real 4-validator testnet: `createTestnet` (what `timecoin testnet` writes) in a temp dir
 * with free ports, four `timecoin start --datadir DIR/nodeI` processes talking libp2p on
 * loopback, a faucet transaction submitted to node 1 over RPC, and then — polling RPC with
 * deadlines, never sleeping and hoping — every node reports it final and all four hold the same
 * block hash at every height. The processes are killed in afterAll, also after a failure.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAddress } from '../../chain/address.js';
import { createSigner } from '../../chain/ed25519.js';
import { fromHex, toHex } from '../../chain/hash.js';
import { buildTransfer } from '../../chain/tx-builder.js';
import { coinsOf, waitFor } from './helpers.js';
import { TestnetHarness } from './testnet-harness.js';

const N = 4;
/** Short heartbeat interval; ≥ 0.6 s × N keeps each peer under the heartbeat protocol's 2 msg/s quota. */
const HEARTBEAT_MS = 3_000;

describe('testnet: 4 validator processes over libp2p on loopback', () => {
  let tn: TestnetHarness;
  let rpcs: TestnetHarness['rpcs'] = [];

  beforeAll(async () => {
    // The default idle interval (60 s): blocks come for the faucet transaction only.
    tn = await TestnetHarness.create({ validators: N, config: { consensus: { timeoutBaseMs: 1_000, timeoutMaxMs: 4_000, heartbeatIntervalMs: HEARTBEAT_MS } } });
    tn.startAll();
    rpcs = tn.rpcs;
    // Every node is up and connected to the other three (full mesh: consensus needs it).
    await tn.waitMesh(tn.all, 30_000);
  }, 45_000);

  afterAll(async () => {
    await tn?.close();
  });

  it('a faucet transaction sent to node 1 becomes final on all four, with identical blocks at every height', async () => {
    try {
      const faucet = JSON.parse(readFileSync(join(tn.net.dir, 'faucet-wallet.json'), 'utf8')) as { address: string; privateKey: string };
      expect(faucet.address).toBe(tn.net.faucet.address);
      const { chainid } = await rpcs[1]!.call<{ chainid: string }>('getblockchaininfo');
      for (const r of rpcs) expect((await r.call<{ chainid: string }>('getblockchaininfo')).chainid).toBe(chainid);
      const recipient = decodeAddress(JSON.parse(readFileSync(join(tn.net.nodes[2]!.datadir, 'owner-wallet.json'), 'utf8')).address, 'testnet');
      const tx = buildTransfer({
        chainId: fromHex(chainid),
        signer: createSigner(fromHex(faucet.privateKey)),
        coins: await coinsOf(rpcs[1]!, faucet.address),
        recipients: [{ amount: 5_000_000n, publicKey: recipient }],
        feeRate: 1n,
      });
      const txid = await rpcs[1]!.call<string>('sendrawtransaction', [toHex(tx.bytes)]);
      expect(txid).toBe(toHex(tx.txid));

      const places = await waitFor(
        'the transaction final on every node',
        async () => {
          const st = await Promise.all(rpcs.map((r) => r.call<{ finalized: boolean; height: number; blockhash: string }>('gettransactionfinality', [txid])));
          return st.every((s) => s.finalized) ? st : undefined;
        },
        30_000,
        200,
      );
      const h = places[0]!.height;
      for (const p of places) expect(p).toMatchObject({ finalized: true, height: h, blockhash: places[0]!.blockhash });
      // Identical chains 0..h on every node.
      for (let height = 0; height <= h; height++) {
        const hashes = await Promise.all(rpcs.map((r) => r.call<string>('getblockhash', [height])));
        expect(new Set(hashes).size, `height ${height}: ${hashes.join(' ')}`).toBe(1);
      }
      const peers = await rpcs[0]!.call<{ masternode: string | null }[]>('getpeerinfo');
      expect(peers.filter((p) => p.masternode !== null).length).toBe(N - 1);
    } catch (err) {
      tn.dumpLogs(40);
      throw err;
    }
  }, 45_000);

  it('heartbeats travel over p2p: after a few intervals every node reports every masternode with a lastheartbeat and uptime > 0', async () => {
    try {
      const operators = tn.net.nodes.map((nd) => nd.operatorPublicKey).sort();
      const lists = await waitFor(
        'counted heartbeats of all four masternodes on all four nodes',
        async () => {
          const all = await Promise.all(rpcs.map((r) => r.call<{ operator: string; lastheartbeat: number | null; uptime: number | null; status: string }[]>('masternodelist')));
          return all.every((l) => l.length === N && l.every((e) => e.lastheartbeat !== null && (e.uptime ?? 0) > 0)) ? all : undefined;
        },
        6 * HEARTBEAT_MS + 10_000,
        250,
      );
      for (const l of lists) {
        expect(l.map((e) => e.operator).sort()).toEqual(operators);
        for (const e of l) {
          expect(e.status).toBe('ENABLED');
          expect(e.lastheartbeat!).toBeGreaterThan(Date.now() - 10 * HEARTBEAT_MS);
          expect(e.lastheartbeat!).toBeLessThanOrEqual(Date.now() + 1_000);
        }
      }
      // No node was charged for anything: no evidence, nobody banned.
      for (const r of rpcs) expect((await r.call<{ banned: number }>('getnetworkinfo')).banned).toBe(0);
    } catch (err) {
      tn.dumpLogs(40);
      throw err;
    }
  }, 45_000);
});

/**
 * Block sync (docs/p2p.md "Block sync") on a real 4-validator testnet: node 3 is stopped, the
 * other three finalize more heights, node 3 restarts and catches up over `/timecoin/sync/1`
 * (same hash at every height), then a further transaction finalizes on all four. Polls RPC with
 * deadlines; the processes are killed in afterAll, also after a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAddress } from '../../chain/address.js';
import { createSigner } from '../../chain/ed25519.js';
import { fromHex, toHex } from '../../chain/hash.js';
import { buildTransfer } from '../../chain/tx-builder.js';
import { createTestnet, type Testnet } from '../../src/commands/testnet.js';
import { coinsOf, freeBase, Rpc, stopProcess, tempDir, waitFor } from './helpers.js';

const N = 4;
const ROOT = join(import.meta.dirname, '..', '..');

describe('block sync: a restarted validator catches up over /timecoin/sync/1', () => {
  let net: Testnet;
  const procs: ChildProcess[] = [];
  const logs: string[][] = [];
  let rpcs: Rpc[] = [];

  function launch(i: number): void {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--datadir', net.nodes[i]!.datadir], {
      cwd: ROOT,
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = (logs[i] ??= []);
    p.stdout!.on('data', (b: Buffer) => log.push(b.toString()));
    p.stderr!.on('data', (b: Buffer) => log.push(b.toString()));
    procs[i] = p;
  }

  beforeAll(async () => {
    const dir = tempDir('timecoin-sync-');
    net = await createTestnet({
      validators: N,
      out: join(dir, 'tn'),
      basePort: await freeBase(N),
      configOverrides: { log: { level: 'info' }, consensus: { timeoutBaseMs: 1_000, timeoutMaxMs: 2_000, heartbeatIntervalMs: 3_000 } },
    });
    for (let i = 0; i < N; i++) launch(i);
    rpcs = net.nodes.map((nd) => new Rpc(`http://127.0.0.1:${nd.rpcPort}/`, net.apiKey));
    await waitFor(
      'a full mesh',
      async () => {
        const infos = await Promise.all(rpcs.map((r) => r.call<{ masternodes: number }>('getnetworkinfo')));
        return infos.every((i) => i.masternodes >= N - 1) ? infos : undefined;
      },
      30_000,
      200,
    );
  }, 45_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => stopProcess(p)));
  });

  it('node 3 is stopped, the others finalize ≥ 3 more heights, node 3 restarts, syncs every block and votes again', async () => {
    try {
      const faucetFile = JSON.parse(readFileSync(join(net.dir, 'faucet-wallet.json'), 'utf8')) as { address: string; privateKey: string };
      const faucet = createSigner(fromHex(faucetFile.privateKey));
      const { chainid } = await rpcs[0]!.call<{ chainid: string }>('getblockchaininfo');
      const recipient = decodeAddress(JSON.parse(readFileSync(join(net.nodes[2]!.datadir, 'owner-wallet.json'), 'utf8')).address, 'testnet');
      /** One faucet payment through node 0, final on the nodes in `on`; returns its height. */
      const pay = async (on: number[]): Promise<number> => {
        const tx = buildTransfer({
          chainId: fromHex(chainid),
          signer: faucet,
          coins: await coinsOf(rpcs[0]!, faucetFile.address),
          recipients: [{ amount: 1_000_000n, publicKey: recipient }],
          feeRate: 1n,
        });
        const txid = await rpcs[0]!.call<string>('sendrawtransaction', [toHex(tx.bytes)]);
        const st = await waitFor(
          `tx ${txid} final on nodes ${on.join(',')}`,
          async () => {
            const s = await Promise.all(on.map((i) => rpcs[i]!.call<{ finalized: boolean; height: number }>('gettransactionfinality', [txid])));
            return s.every((x) => x.finalized) ? s : undefined;
          },
          20_000,
          100,
        );
        return st[0]!.height;
      };

      await pay([0, 1, 2, 3]);
      await stopProcess(procs[3]!);
      const before = await rpcs[3]!.call<number>('getblockcount').catch(() => -1);
      expect(before).toBe(-1); // node 3 is down
      const start = await rpcs[0]!.call<number>('getblockcount');
      let h = start;
      while (h < start + 3) h = await pay([0, 1, 2]);
      const target = await rpcs[0]!.call<number>('getblockcount');

      launch(3);
      await waitFor(
        'node 3 caught up',
        async () => {
          try {
            return (await rpcs[3]!.call<number>('getblockcount')) >= target ? true : undefined;
          } catch {
            return undefined;
          }
        },
        20_000,
        200,
      );
      for (let height = 0; height <= target; height++) {
        const hashes = await Promise.all(rpcs.map((r) => r.call<string>('getblockhash', [height])));
        expect(new Set(hashes).size, `height ${height}: ${hashes.join(' ')}`).toBe(1);
      }
      expect(logs[3]!.join('')).toContain('"msg":"synced"'); // the gap came over sync, not one Decision per timeout
      // It takes part again: one more payment is final on all four.
      await waitFor(
        'node 3 back in the mesh',
        async () => ((await rpcs[3]!.call<{ masternodes: number }>('getnetworkinfo')).masternodes >= N - 1 ? true : undefined),
        15_000,
        200,
      );
      await pay([0, 1, 2, 3]);
    } catch (err) {
      for (const [i, l] of logs.entries()) process.stderr.write(`--- node${i} log tail ---\n${l.join('').split('\n').slice(-40).join('\n')}\n`);
      throw err;
    }
  }, 90_000);
});

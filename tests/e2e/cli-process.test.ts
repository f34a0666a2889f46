/**
 * The real `timecoin start --dev` process: config errors are one line and exit 1; the node
 * serves RPC, logs pino JSON with `module` and a status line, exits 0 on SIGTERM — also while
 * blocks are being produced under transaction load — leaving a store that opens and checks out,
 * and a restart resumes the same chain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toHex } from '../../chain/hash.js';
import { ChainStore } from '../../chain/store.js';
import { loadRecord } from '../../src/consensus-state.js';
import { Rpc, devApiKey, devWallet, freePort, tempDir, transfer, waitFor, waitForHealth } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function runCli(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

const NODE_ENV = { TIMECOIN_CONSENSUS_IDLE_BLOCK_INTERVAL_MS: '1000', TIMECOIN_RPC_DEFAULT_RATE_PER_SECOND: '10000' };

async function startNode(datadir: string): Promise<{ proc: Proc; rpc: Rpc; port: number }> {
  const port = await freePort();
  const proc = runCli(['start', '--dev', '--datadir', datadir, '--rpc-port', String(port)], NODE_ENV);
  const url = `http://127.0.0.1:${port}/`;
  await waitForHealth(url, proc.child, proc.stderr);
  return { proc, rpc: new Rpc(url, devApiKey(datadir)), port };
}

async function stop(proc: Proc): Promise<number | null> {
  proc.child.kill('SIGTERM');
  return Promise.race([proc.exited, new Promise<null>((_, reject) => setTimeout(() => reject(new Error('no exit 15 s after SIGTERM')), 15_000))]);
}

/** Open the store the process left behind: open() cross-checks tip, indexes and UTXO stats. */
async function checkStore(datadir: string): Promise<number> {
  const store = await ChainStore.open(join(datadir, 'chain'));
  try {
    const scan = await store.utxoSetHash();
    expect(scan.count).toBe(store.utxoStats().count);
    expect(scan.totalAmount).toBe(store.utxoStats().totalAmount);
    expect(store.finalized().height).toBe(store.tip().height);
    return store.tip().height;
  } finally {
    await store.close();
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('timecoin start --dev (real process)', () => {
  it('refuses a bad config value with one line naming the key and exit 1', async () => {
    const datadir = tempDir();
    dirs.push(datadir);
    const p = runCli(['start', '--dev', '--datadir', datadir, '--rpc-port', 'abc']);
    expect(await p.exited).toBe(1);
    expect(p.stderr().trim().split('\n')).toHaveLength(1);
    expect(p.stderr()).toMatch(/rpc\.port must be an integer 1–65535 \(from --rpc-port="abc"\)/);
    const q = runCli(['start', '--dev', '--datadir', datadir], { TIMECOIN_CONSENSUS_IDLE_BLOCK_INTERVAL_MS: '5' });
    expect(await q.exited).toBe(1);
    expect(q.stderr().trim().split('\n')).toHaveLength(1);
    expect(q.stderr()).toContain('consensus.idleBlockIntervalMs');
  });

  it('runs, survives SIGTERM during block production, and resumes the same chain', async () => {
    const datadir = tempDir();
    dirs.push(datadir);
    const first = await startNode(datadir);
    expect(first.proc.stderr()).toContain(`api key:  ${devApiKey(datadir)}`);
    expect(first.proc.stderr()).toContain(devWallet(datadir).address);
    const info = await first.rpc.call<{ chainid: string; blocks: number }>('getblockchaininfo');
    await waitFor('an idle block', async () => ((await first.rpc.call<number>('getblockcount')) >= 1 ? true : undefined), 15_000);
    expect(await stop(first.proc)).toBe(0);
    const lines = first.proc.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.every((l) => typeof l.module === 'string' && typeof l.level === 'string')).toBe(true);
    expect(lines.find((l) => l.module === 'status')).toMatchObject({ peers: 0, mempool: 0 });
    expect(lines.some((l) => l.msg === 'block final')).toBe(true);
    expect(first.proc.stdout()).not.toContain(devApiKey(datadir));
    let height = await checkStore(datadir);
    expect(height).toBeGreaterThanOrEqual(1);

    // Kill it while transactions keep blocks coming, a few times; each time the store checks out.
    for (let round = 0; round < 3; round++) {
      const { proc, rpc } = await startNode(datadir);
      const resumed = await rpc.call<{ chainid: string; blocks: number }>('getblockchaininfo');
      expect(resumed.chainid).toBe(info.chainid);
      expect(resumed.blocks).toBeGreaterThanOrEqual(height);
      const wallet = devWallet(datadir);
      let sent = 0;
      let load = true;
      const loader = (async () => {
        while (load) {
          try {
            const tx = await transfer(rpc, wallet, wallet.address, 1_000_000n, info.chainid);
            await rpc.call('sendrawtransaction', [toHex(tx.bytes)]);
            await rpc.call('waittransactionfinality', [toHex(tx.txid), 5_000]);
            sent++;
          } catch {
            return; // the node went away under us: that is the point of this test
          }
        }
      })();
      await waitFor('transactions to finalize', () => (sent >= 2 ? true : undefined), 20_000);
      expect(await stop(proc)).toBe(0);
      load = false;
      await loader;
      const now = await checkStore(datadir);
      expect(now).toBeGreaterThan(height);
      height = now;
      const record = await loadRecord(join(datadir, 'consensus-state.json'));
      expect(record === null || record.height <= height + 1).toBe(true);
    }
  });

  it('recovers after SIGKILL at arbitrary points of block production', async () => {
    const datadir = tempDir();
    dirs.push(datadir);
    let height = 0;
    let chainid = '';
    for (let round = 0; round < 4; round++) {
      const { proc, rpc } = await startNode(datadir);
      const info = await rpc.call<{ chainid: string; blocks: number }>('getblockchaininfo');
      if (round === 0) chainid = info.chainid;
      expect(info.chainid).toBe(chainid);
      expect(info.blocks).toBeGreaterThanOrEqual(height);
      // A restarted validator may first have to leave the view it was killed in (view timer 2 s).
      await waitFor('a block after the restart', async () => ((await rpc.call<number>('getblockcount')) > info.blocks ? true : undefined), 20_000);
      const wallet = devWallet(datadir);
      const tx = await transfer(rpc, wallet, wallet.address, 1_000_000n, chainid);
      await rpc.call('sendrawtransaction', [toHex(tx.bytes)]);
      // Kill somewhere inside the production of the block that carries it (25 ms batching + commit).
      await new Promise((r) => setTimeout(r, 15 * round + 20));
      proc.child.kill('SIGKILL');
      await proc.exited;
      height = await checkStore(datadir);
    }
  });
});

/**
 * A real `timecoin start --dev` process whose stdout nobody reads (a paused `| less`, a stuck log
 * shipper): with debug logging every HTTP request writes a line, far more than the 64 KiB pipe
 * holds, yet the node keeps answering and making blocks; once the reader reads again every line
 * arrives; and a node asked to stop while its reader is stalled still exits, promptly and with 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rpc, devApiKey, freePort, tempDir, waitFor, waitForHealth } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The CLI dev node at debug level; stdout is a pipe this test does not read until it chooses to. */
async function startUnread(): Promise<{ child: ChildProcess; url: string; rpc: Rpc; exited: Promise<number | null> }> {
  const datadir = tempDir();
  dirs.push(datadir);
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--dev', '--datadir', datadir, '--rpc-port', String(port), '--log-level', 'debug'], {
    cwd: ROOT,
    env: { ...process.env, TIMECOIN_CONSENSUS_IDLE_BLOCK_INTERVAL_MS: '1000', TIMECOIN_RPC_DEFAULT_RATE_PER_SECOND: '100000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pause(); // nobody reads: the pipe fills
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}/`;
  await waitForHealth(url, child, () => err);
  return { child, url, rpc: new Rpc(url, devApiKey(datadir)), exited };
}

/** `n` requests to /health, 16 at a time; each is one debug line (~200 bytes) on stdout. */
async function flood(url: string, n: number): Promise<number> {
  let ok = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const r = await fetch(new URL('health', url), { signal: AbortSignal.timeout(10_000) });
      await r.arrayBuffer();
      if (r.status === 200) ok++;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return ok;
}

describe('a node whose log reader stopped reading', () => {
  it('keeps answering and making blocks, and every line arrives once the reader reads again', async () => {
    const { child, url, rpc, exited } = await startUnread();
    const before = (await rpc.call('getblockcount')) as number;
    expect(await flood(url, 3_000)).toBe(3_000); // ~600 KB of log lines against a 64 KiB pipe
    await waitFor('a new block while the log is backed up', async () => (((await rpc.call('getblockcount')) as number) > before ? true : undefined), 15_000);

    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stdout!.resume();
    const requestLines = (): number => out.split('\n').filter((l) => l.includes('"rpc request"')).length;
    await waitFor('every request line to arrive', () => (requestLines() >= 3_000 ? true : undefined), 15_000);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { module?: string; msg: string });
    expect(lines.filter((l) => l.module === 'log')).toEqual([]); // nothing dropped: 600 KB < 4 MiB queue

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('exits promptly on SIGTERM while its stdout is still not read', async () => {
    const { child, url, exited } = await startUnread();
    expect(await flood(url, 1_500)).toBe(1_500);
    const t0 = Date.now();
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running 15 s after SIGTERM'), 15_000))]);
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    child.stdout!.destroy();
  });
});

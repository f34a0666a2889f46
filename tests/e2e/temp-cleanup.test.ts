/**
 * Temp files do not outlive their users: the test run has its own TMPDIR (tests/global-tmp.ts,
 * removed when the run ends) and a testnet harness removes its dir on close (a benchmark testnet
 * holds ~100 MB of blocks), unless TESTNET_KEEP=1 asks to keep it. A process that dies without
 * closing its harness takes the node processes with it.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from './helpers.js';
import { TestnetHarness } from './testnet-harness.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('temp files', () => {
  afterEach(() => {
    delete process.env.TESTNET_KEEP;
  });

  it('the run writes into its own temp dir, which the global teardown removes', () => {
    expect(tmpdir()).toMatch(/timecoin-test-run-[^/]+$/);
  });

  it('a harness removes its testnet on close', async () => {
    const h = await TestnetHarness.create({ validators: 2 });
    const dirs = h.net.nodes.map((n) => n.datadir);
    expect(dirs.every((d) => existsSync(d))).toBe(true);
    await h.close();
    expect(dirs.some((d) => existsSync(d))).toBe(false);
  });

  it('TESTNET_KEEP=1 keeps it for inspection', async () => {
    process.env.TESTNET_KEEP = '1';
    const h = await TestnetHarness.create({ validators: 2 });
    await h.close();
    const dir = h.net.nodes[0]!.datadir;
    expect(existsSync(dir)).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a benchmark that dies without close kills its nodes; TESTNET_LOG_DIR is created if missing', async () => {
    const logDir = join(tempDir(), 'not', 'yet');
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/fixtures/harness-crash.ts'], {
      cwd: ROOT,
      env: { ...process.env, TESTNET_LOG_DIR: logDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(err).toContain('benchmark failed on purpose');
    expect(code).not.toBe(0);
    const { pid, root } = JSON.parse(out.trim().split('\n').pop()!) as { pid: number; root: string };
    expect(existsSync(join(logDir, 'node0.log'))).toBe(true);
    await waitFor('the orphaned node to be gone', () => (alive(pid) ? undefined : true), 10_000);
    rmSync(join(root, '..', '..'), { recursive: true, force: true });
  }, 60_000);
});

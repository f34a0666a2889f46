/**
 * Temp files do not outlive their users: the test run has its own TMPDIR (tests/global-tmp.ts,
 * removed when the run ends) and a testnet harness removes its dir on close (a benchmark testnet
 * holds ~100 MB of blocks), unless TESTNET_KEEP=1 asks to keep it.
 */
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { TestnetHarness } from './testnet-harness.js';

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
});

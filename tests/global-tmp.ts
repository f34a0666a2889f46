/**
 * Vitest global setup: every run gets its own TMPDIR, removed when the run ends. Tests, the node
 * processes they start and the benchmark helpers they call all make temp dirs (data dirs, wallets,
 * testnets, hundreds of flooder identities); without this a run left thousands of them, and
 * gigabytes of block data, in the system temp dir. TIMECOIN_KEEP_TMP=1 keeps the run's dir (its
 * path is printed) to inspect after a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Create the run's temp dir and point TMPDIR at it (test workers and their children inherit it). */
export function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'timecoin-test-run-'));
  const before = { TMPDIR: process.env.TMPDIR, TMP: process.env.TMP, TEMP: process.env.TEMP };
  process.env.TMPDIR = process.env.TMP = process.env.TEMP = dir;
  return () => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (process.env.TIMECOIN_KEEP_TMP === '1') console.error(`tests: temp files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
}

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONSENSUS_STATE_FILE, loadRecord, saveRecord } from '../../src/consensus-state.js';
import type { PersistRecord } from '../../consensus/types.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tc-cstate-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const record = (height: number, phase: PersistRecord['phase']): PersistRecord => ({ height, view: height % 3, phase, blockHash: Buffer.alloc(32, height), prepared: null });

describe('consensus signing record (synchronous durable save)', () => {
  it('is on disk when saveRecord returns, replaces the previous record whole, and leaves no temp file', async () => {
    const dir = tempDir();
    const file = join(dir, CONSENSUS_STATE_FILE);
    expect(await loadRecord(file)).toBeNull();
    for (let h = 1; h <= 20; h++) {
      const phase = (['pre-prepare', 'prepare', 'commit', 'view-change'] as const)[h % 4]!;
      expect(saveRecord(file, record(h, phase))).toBeUndefined(); // synchronous: nothing to await
      expect(await loadRecord(file)).toEqual(record(h, phase));
    }
    expect(readdirSync(dir)).toEqual([CONSENSUS_STATE_FILE]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('throws when it cannot write, and the old record stays', async () => {
    const dir = tempDir();
    const file = join(dir, CONSENSUS_STATE_FILE);
    saveRecord(file, record(5, 'commit'));
    expect(() => saveRecord(join(dir, 'missing-dir', CONSENSUS_STATE_FILE), record(6, 'commit'))).toThrow(/ENOENT/);
    expect(await loadRecord(file)).toEqual(record(5, 'commit'));
    expect(readdirSync(dir)).toEqual([CONSENSUS_STATE_FILE]);
  });
});

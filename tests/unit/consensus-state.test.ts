import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONSENSUS_STATE_FILE, loadRecord, readRecordSync, saveRecord, SigningRecordFile } from '../../src/consensus-state.js';
import { encodePreparedCertificate } from '../../consensus/codec.js';
import { MsgType, type PersistRecord, type PreparedCertificate } from '../../consensus/types.js';

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

/** A prepared certificate with a `size`-byte block filled with `fill`. */
const certificate = (height: number, view: number, fill: number, size = 200_000): PreparedCertificate => {
  const blockHash = Buffer.alloc(32, fill);
  const vote = (i: number) => ({ type: MsgType.Prepare, height, view, blockHash, signer: Buffer.alloc(32, 100 + i), signature: Buffer.alloc(64, i) }) as const;
  return { height, view, blockHash, block: Buffer.alloc(size, fill), prepares: [vote(1), vote(2), vote(3)] };
};
const certFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.includes('.prepared-'));

describe('consensus signing record: the prepared certificate in its own file', () => {
  it('writes a certificate once for the saves of a round, keeps the record small, and removes it when no record names it', async () => {
    const dir = tempDir();
    const file = join(dir, CONSENSUS_STATE_FILE);
    const w = new SigningRecordFile(file);
    expect(await w.load()).toBeNull();
    const cert = certificate(7, 0, 7);
    w.save({ height: 7, view: 0, phase: 'commit', blockHash: cert.blockHash, prepared: cert });
    const [name] = certFiles(dir);
    expect(certFiles(dir)).toHaveLength(1);
    const writtenAt = statSync(join(dir, name!)).ino; // a rewrite (temp file + rename) is a new inode
    expect(statSync(file).size).toBeLessThan(1_000); // the block is not in the JSON
    expect(statSync(join(dir, name!)).mode & 0o777).toBe(0o600);
    // A later save of the same certificate (a view change) names the same file and does not rewrite it.
    w.save({ height: 7, view: 1, phase: 'view-change', blockHash: null, prepared: cert });
    expect(certFiles(dir)).toEqual([name]);
    expect(statSync(join(dir, name!)).ino).toBe(writtenAt);
    expect(readRecordSync(file)).toEqual({ height: 7, view: 1, phase: 'view-change', blockHash: null, prepared: cert });
    // A newer certificate replaces it; a record without one leaves no certificate file.
    const next = certificate(7, 1, 9);
    w.save({ height: 7, view: 1, phase: 'commit', blockHash: next.blockHash, prepared: next });
    expect(certFiles(dir)).toHaveLength(1);
    expect(certFiles(dir)).not.toEqual([name]);
    expect((await loadRecord(file))?.prepared).toEqual(next);
    w.save({ height: 8, view: 0, phase: 'prepare', blockHash: Buffer.alloc(32, 8), prepared: null });
    expect(readdirSync(dir)).toEqual([CONSENSUS_STATE_FILE]);
  });

  it('a restarted validator reads its certificate back and removes files a crash left unnamed', async () => {
    const dir = tempDir();
    const file = join(dir, CONSENSUS_STATE_FILE);
    const cert = certificate(3, 2, 3);
    new SigningRecordFile(file).save({ height: 3, view: 2, phase: 'commit', blockHash: cert.blockHash, prepared: cert });
    // A crash between a new certificate's write and the record that would name it.
    writeFileSync(join(dir, `${CONSENSUS_STATE_FILE}.prepared-${'ab'.repeat(16)}.bin`), Buffer.alloc(10));
    writeFileSync(join(dir, `.${CONSENSUS_STATE_FILE}.prepared-${'cd'.repeat(16)}.bin.0a1b2c3d.tmp`), Buffer.alloc(10));
    expect(certFiles(dir)).toHaveLength(3);
    const reader = readRecordSync(file); // an observer changes nothing
    expect(certFiles(dir)).toHaveLength(3);
    const w = new SigningRecordFile(file);
    const restored = await w.load();
    expect(restored).toEqual(reader);
    expect(restored?.prepared).toEqual(cert);
    expect(readdirSync(dir).sort()).toEqual([CONSENSUS_STATE_FILE, ...certFiles(dir)].sort());
    expect(certFiles(dir)).toHaveLength(1);
    // The restored certificate is the one on disk: saving it again does not rewrite it.
    const [name] = certFiles(dir);
    const before = statSync(join(dir, name!)).ino;
    w.save({ height: 3, view: 3, phase: 'view-change', blockHash: null, prepared: restored!.prepared });
    expect(statSync(join(dir, name!)).ino).toBe(before);
  });

  it('refuses a record whose certificate file is missing, altered or misnamed', async () => {
    const dir = tempDir();
    const file = join(dir, CONSENSUS_STATE_FILE);
    const cert = certificate(4, 0, 4, 5_000);
    saveRecord(file, { height: 4, view: 0, phase: 'commit', blockHash: cert.blockHash, prepared: cert });
    const [name] = certFiles(dir);
    const path = join(dir, name!);
    const bytes = readFileSync(path);
    const flipped = Buffer.from(bytes);
    flipped[100]! ^= 1;
    writeFileSync(path, flipped);
    await expect(loadRecord(file)).rejects.toThrow(/does not match its digest/);
    rmSync(path);
    await expect(new SigningRecordFile(file).load()).rejects.toThrow(/is missing/);
    writeFileSync(path, bytes);
    expect((await loadRecord(file))?.prepared).toEqual(cert);
    const json = JSON.parse(readFileSync(file, 'utf8')) as { prepared: { file: string } };
    json.prepared.file = '../elsewhere.bin';
    writeFileSync(file, JSON.stringify(json));
    await expect(loadRecord(file)).rejects.toThrow(/damaged \(prepared\)/);
  });

  it('still reads a version-1 record (certificate inline as hex) and rewrites it as version 2', async () => {
    const dir = tempDir();
    const file = join(dir, CONSENSUS_STATE_FILE);
    const cert = certificate(2, 1, 2, 3_000);
    const v1 = { version: 1, height: 2, view: 1, phase: 'commit', blockHash: Buffer.from(cert.blockHash).toString('hex'), prepared: encodePreparedCertificate(cert).toString('hex') };
    writeFileSync(file, JSON.stringify(v1));
    const w = new SigningRecordFile(file);
    const r = await w.load();
    expect(r).toEqual({ height: 2, view: 1, phase: 'commit', blockHash: cert.blockHash, prepared: cert });
    w.save(r!);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ version: 2, prepared: { file: certFiles(dir)[0] } });
    expect(readRecordSync(file)).toEqual(r);
  });
});

/**
 * chain/level-batch.ts: the one WriteBatch the chain store reuses for every write, on a real
 * LevelDB. Each write applies exactly its own operations (the batch is empty again after a write,
 * also after a failed one), and a closed database is refused with an error, never touched.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { ReusableBatch } from '../../chain/level-batch.js';
import type { BatchOp } from '../../chain/store-batch.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function openDb() {
  const dir = mkdtempSync(join(tmpdir(), 'timecoin-level-batch-'));
  dirs.push(dir);
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  return db;
}
const b = (s: string) => Buffer.from(s);
const put = (k: string, v: string): BatchOp => ({ type: 'put', key: b(k), value: b(v) });
const del = (k: string): BatchOp => ({ type: 'del', key: b(k) });
const read = async (db: Level<Buffer, Buffer>, keys: string[]) => (await db.getMany(keys.map(b))).map((v) => v?.toString() ?? null);

describe('ReusableBatch', () => {
  it('applies each write alone: nothing of an earlier write is replayed', async () => {
    const db = await openDb();
    const batch = new ReusableBatch(db);
    await batch.write([put('a', '1'), put('b', '2')], false);
    await db.del(b('a')); // behind the batch's back: a replayed write would bring it back
    await batch.write([put('c', '3'), del('b')], true);
    await batch.write([], false);
    expect(await read(db, ['a', 'b', 'c'])).toEqual([null, null, '3']);
    await db.close();
  });

  it('refuses to write once the database is closed, and is empty when it opens again', async () => {
    const db = await openDb();
    const batch = new ReusableBatch(db);
    await db.close();
    await expect(batch.write([put('x', '1')], false)).rejects.toMatchObject({ code: 'store-not-open', message: 'the chain database is closed' });
    await db.open();
    await batch.write([put('y', '2')], false);
    expect(await read(db, ['x', 'y'])).toEqual([null, '2']);
    await db.close();
  });

  it('large writes in a row each land whole', async () => {
    const db = await openDb();
    const batch = new ReusableBatch(db);
    const value = Buffer.alloc(1024, 7);
    for (let w = 0; w < 20; w++) {
      const ops: BatchOp[] = [];
      for (let i = 0; i < 1000; i++) ops.push({ type: 'put', key: b(`k${w}-${i}`), value });
      await batch.write(ops, false);
    }
    expect((await db.get(b('k19-999')))?.length).toBe(1024);
    expect(await read(db, ['k0-0'])).toEqual([value.toString()]);
    await db.close();
  });
});

/**
 * One reusable native LevelDB WriteBatch for the chain database (chain/store.ts writes every
 * block through it; its writes are serialized by the store's queue, so one batch is never used by
 * two writes at once).
 *
 * Why not classic-level's own batch forms:
 * - the chained `db.batch()` frees its native WriteBatch only when V8 collects the small JS handle
 *   (classic-level 3's `_close` is a TODO), and V8 sees none of that memory: under load dozens of
 *   ~1 MB batches waited for the next full GC (27 MB live on one node, heaptrack);
 * - the array form (`db.batch(ops)`, or its `_batch` underneath) builds a fresh WriteBatch and reads
 *   every operation's properties through Node-API one by one: 15–25 % more store CPU per
 *   transaction than the chained form's one call per operation (npm run bench:store).
 * This keeps the chained form's calls and clears the batch after each write. Clearing keeps the
 * buffer's capacity, so the memory held is one batch of the largest size written, no more.
 *
 * It uses classic-level's native binding directly (the package's `binding.js` and the database
 * handle it keeps under a private symbol): the version is pinned, and if an upgrade moves them the
 * constructor throws, so the store refuses to open and every store test fails at once.
 */
import { createRequire } from 'node:module';
import { StoreCode, StoreError } from './errors.js';
import type { BatchOp } from './store-batch.js';
import type { ChainDb } from './store-queries.js';

interface NativeBinding {
  batch_init(dbContext: unknown): unknown;
  batch_put(batch: unknown, key: Buffer, value: Buffer): void;
  batch_del(batch: unknown, key: Buffer): void;
  batch_clear(batch: unknown): void;
  batch_write(batch: unknown, options: { sync: boolean }): Promise<void>;
}

const binding = createRequire(import.meta.url)('classic-level/binding.js') as NativeBinding;

/** A WriteBatch reused for every write to `db` (see the file comment). */
export class ReusableBatch {
  private readonly native: unknown;

  constructor(private readonly db: ChainDb) {
    const key = Object.getOwnPropertySymbols(db).find((s) => s.description === 'context');
    const context = key === undefined ? undefined : (db as unknown as Record<symbol, unknown>)[key];
    if (context === undefined || typeof binding.batch_init !== 'function') throw new Error('classic-level internals changed: no database context or batch binding');
    this.native = binding.batch_init(context);
  }

  /** Write `ops` atomically (all or none), then empty the batch for the next write. */
  async write(ops: readonly BatchOp[], sync: boolean): Promise<void> {
    // The binding skips abstract-level's open check, and a closed native handle must never be used.
    if (this.db.status !== 'open') throw new StoreError(StoreCode.NotOpen, `the chain database is ${this.db.status}`);
    try {
      for (const op of ops) {
        if (op.type === 'put') binding.batch_put(this.native, op.key, op.value);
        else binding.batch_del(this.native, op.key);
      }
      await binding.batch_write(this.native, { sync });
    } finally {
      binding.batch_clear(this.native);
    }
  }
}

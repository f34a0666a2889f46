/**
 * A small pool of worker threads that verify batches of ed25519 signatures with the project's one
 * verifier (chain/ed25519.ts `verifySignature`, imported by src/verify-worker.ts): the same
 * answers as on the calling thread, spread over the cores. Used by block sync to check a fetched
 * range's commit certificates in parallel (src/block-sync.ts); exposed in the node's services for
 * the mempool later.
 *
 * - Size: `size` threads (default `os.availableParallelism()`), started lazily on first use, so a
 *   node that never verifies in bulk (the dev node) pays nothing.
 * - A call's items are split into at most `size` slices, one ArrayBuffer each, transferred (per-item
 *   postMessage costs more than the verify); each slice goes to the least-loaded thread.
 * - A thread that dies rejects its pending slices with `verify-worker-failed` and is replaced on
 *   the next call (not at once, so a thread that cannot start never spins).
 * - `close()` terminates every thread; pending and later calls reject with `verify-pool-closed`.
 * - Idle threads are unref'd: a forgotten pool never keeps a process alive, a busy one does.
 *
 * Runs from the TypeScript sources (tsx, vitest: `verify-worker.ts` is loaded through tsx inside the
 * thread, see `workerEntry`) and from the build (`dist/src/verify-worker.js` next to this file).
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TimecoinError } from '../chain/errors.js';
import { verifySignature } from '../chain/ed25519.js';
import type { Logger } from './logger.js';
import { encodeVerifyBatch, type VerifyItem } from './verify-batch.js';

export type { VerifyItem } from './verify-batch.js';

export const VerifyPoolCode = {
  Closed: 'verify-pool-closed',
  WorkerFailed: 'verify-worker-failed',
  BadInput: 'verify-bad-input',
} as const;
export type VerifyPoolCode = (typeof VerifyPoolCode)[keyof typeof VerifyPoolCode];

/** Why a pool call did not produce answers. */
export class VerifyPoolError extends TimecoinError<VerifyPoolCode> {}

export interface VerifyPoolOptions {
  /** Worker threads (default `os.availableParallelism()`). */
  readonly size?: number;
  /** Fewest items worth a slice of their own (default 16): small calls use fewer threads. */
  readonly minSlice?: number;
  /** The worker module (default src/verify-worker.ts, or dist/src/verify-worker.js in the build); `.ts` loads through tsx. */
  readonly workerUrl?: URL;
  readonly log?: Logger | null;
}

interface Pending {
  readonly count: number;
  readonly resolve: (ok: Uint8Array) => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  items: number;
}

/**
 * V8 heap limits of each thread. A thread holds little (a batch, its answers, the key cache), but
 * with the process defaults its young generation grows to 32 MB and old space to 4× its live size:
 * ~40 MB RSS per thread (bench/rss.ts); with these, ~14 MB plus its key cache (up to ~10 MB). The
 * old-space cap leaves room for the tsx loader in tests; a thread that still runs out exits and is
 * replaced (`verify-worker-failed`), it never takes the node down.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 128 } as const;

/** The worker module next to this one: the TypeScript source under tsx/vitest, else the built `.js`. */
function defaultWorkerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './verify-worker.ts' : './verify-worker.js', import.meta.url);
}

/**
 * What to start for `moduleUrl`. A `.ts` module goes through a one-line bootstrap that loads it with
 * tsx's `tsImport`: on Node 20, `execArgv: ['--import', 'tsx']` does not reach a worker's module
 * loader (the worker fails with ERR_UNKNOWN_FILE_EXTENSION), while tsImport registers its hooks
 * inside the worker itself.
 */
function workerEntry(moduleUrl: URL): URL {
  if (!moduleUrl.pathname.endsWith('.ts')) return moduleUrl;
  const tsxDir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const api = pathToFileURL(join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const code = `const { tsImport } = await import(${JSON.stringify(api)}); await tsImport(${JSON.stringify(moduleUrl.href)}, ${JSON.stringify(import.meta.url)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

function checkItem(it: VerifyItem, i: number): void {
  const ok = typeof it === 'object' && it !== null
    && it.publicKey instanceof Uint8Array && it.message instanceof Uint8Array && it.signature instanceof Uint8Array;
  if (!ok) throw new VerifyPoolError(VerifyPoolCode.BadInput, `verify item ${i} is not {publicKey, message, signature} as Uint8Arrays`);
}

/** Verifies signature batches on worker threads (see the file comment). */
export class VerifyPool {
  readonly size: number;
  private readonly slots: (Slot | null)[];
  private readonly minSlice: number;
  private readonly entry: URL;
  private nextId = 1;
  private closed = false;

  constructor(private readonly o: VerifyPoolOptions = {}) {
    const size = o.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1 || size > 256) throw new VerifyPoolError(VerifyPoolCode.BadInput, `verify pool size ${size} is not an integer 1–256`);
    this.size = size;
    this.minSlice = Math.max(1, o.minSlice ?? 16);
    this.slots = Array.from({ length: size }, () => null);
    this.entry = workerEntry(o.workerUrl ?? defaultWorkerUrl());
  }

  /** Threads running now (they start on first use and after a crash on the next call). */
  get running(): number {
    return this.slots.filter((s) => s !== null).length;
  }

  /**
   * Verify every item; answer i is `verifySignature(items[i]...)`. Rejects with VerifyPoolError:
   * `verify-bad-input` (nothing sent), `verify-pool-closed`, `verify-worker-failed` (a thread died).
   */
  async verify(items: readonly VerifyItem[]): Promise<boolean[]> {
    if (!Array.isArray(items)) throw new VerifyPoolError(VerifyPoolCode.BadInput, 'verify takes an array of items');
    items.forEach(checkItem);
    if (this.closed) throw new VerifyPoolError(VerifyPoolCode.Closed, 'verify pool is closed');
    if (items.length === 0) return [];
    const slices = Math.min(this.size, Math.ceil(items.length / this.minSlice));
    const per = Math.ceil(items.length / slices);
    const parts: Promise<Uint8Array>[] = [];
    for (let start = 0; start < items.length; start += per) parts.push(this.send(items.slice(start, start + per)));
    const answers = await Promise.all(parts);
    const out: boolean[] = [];
    for (const a of answers) for (const b of a) out.push(b === 1);
    return out;
  }

  /** Terminate every thread; pending calls reject with `verify-pool-closed`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const slots = this.slots.splice(0).filter((s): s is Slot => s !== null);
    for (const s of slots) this.fail(s, new VerifyPoolError(VerifyPoolCode.Closed, 'verify pool closed'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private send(items: VerifyItem[]): Promise<Uint8Array> {
    const slot = this.leastLoaded();
    const id = this.nextId++;
    const buf = encodeVerifyBatch(items);
    return new Promise<Uint8Array>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref(); // busy: keep the process alive until answered
      slot.pending.set(id, { count: items.length, resolve, reject });
      slot.items += items.length;
      slot.worker.postMessage({ id, buf }, [buf]);
    });
  }

  private leastLoaded(): Slot {
    let best: Slot | null = null;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i] ?? (this.slots[i] = this.spawn(i));
      if (best === null || s.items < best.items) best = s;
    }
    return best!;
  }

  private spawn(index: number): Slot {
    const worker = new Worker(this.entry, { execArgv: [], name: `verify-${index}`, resourceLimits: WORKER_LIMITS });
    const slot: Slot = { worker, pending: new Map(), items: 0 };
    worker.unref();
    worker.on('message', (m: { id: number; ok?: ArrayBuffer; error?: string }) => this.answer(slot, m));
    worker.on('error', (err) => this.o.log?.warn({ err, worker: index }, 'verify worker failed'));
    worker.on('exit', (code) => {
      if (this.slots[index] !== slot) return; // closed or already replaced
      this.slots[index] = null; // replaced on the next call
      if (slot.pending.size > 0 || code !== 0) this.o.log?.warn({ worker: index, code, pending: slot.pending.size }, 'verify worker exited');
      this.fail(slot, new VerifyPoolError(VerifyPoolCode.WorkerFailed, `verify worker ${index} exited with code ${code}`));
    });
    return slot;
  }

  private answer(slot: Slot, m: { id: number; ok?: ArrayBuffer; error?: string }): void {
    const p = slot.pending.get(m.id);
    if (p === undefined) return;
    this.settle(slot, m.id, p);
    if (m.ok !== undefined && m.ok.byteLength === p.count) p.resolve(new Uint8Array(m.ok));
    else p.reject(new VerifyPoolError(VerifyPoolCode.WorkerFailed, `verify worker refused a batch: ${m.error ?? 'wrong answer length'}`));
  }

  private settle(slot: Slot, id: number, p: Pending): void {
    slot.pending.delete(id);
    slot.items -= p.count;
    if (slot.pending.size === 0) slot.worker.unref();
  }

  private fail(slot: Slot, err: VerifyPoolError): void {
    for (const [id, p] of [...slot.pending]) {
      this.settle(slot, id, p);
      p.reject(err);
    }
  }
}

/**
 * A `verify` for code that checks signatures one at a time (e.g. `checkCommitCertificate`) that
 * answers from `items`/`answers` already verified in bulk, and verifies anything else on the
 * calling thread. Answers are matched on all three byte strings, so the rule stays the one verifier's.
 */
export function preverified(items: readonly VerifyItem[], answers: readonly boolean[]): (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean {
  const bySig = new Map<string, { item: VerifyItem; ok: boolean }[]>();
  items.forEach((item, i) => {
    const k = Buffer.from(item.signature.buffer, item.signature.byteOffset, item.signature.byteLength).toString('latin1');
    const list = bySig.get(k);
    const entry = { item, ok: answers[i] === true };
    if (list === undefined) bySig.set(k, [entry]);
    else list.push(entry);
  });
  return (publicKey, message, signature) => {
    const k = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('latin1');
    for (const e of bySig.get(k) ?? []) {
      if (Buffer.compare(e.item.publicKey, publicKey) === 0 && Buffer.compare(e.item.message, message) === 0) return e.ok;
    }
    return verifySignature(publicKey, message, signature);
  };
}

/**
 * What the signature verify pool (src/verify-pool.ts) adds to a process's RSS. Run:
 * `npx tsx bench/rss.ts [--threads 2] [--items 40000] [--batch 2000] [--passes 1]` — for the built pool
 * as a node runs it, `npm run build` first and add `--entry dist`. Prints JSON lines `{"name","value","unit"}`;
 * never pass/fail.
 *
 * Signs `--items` distinct (key, message) pairs, measures this process's RSS (/proc VmRSS), then
 * verifies them on a pool of `--threads` worker threads in `--batch`-item calls (block pre-verify
 * sends a block's inputs as one call), and measures again: the difference is the pool's threads
 * (one V8 isolate each: heap, young generation, code). With `--passes N` it verifies the items
 * N times. (Until the fifteenth session each thread also imported every key as an OpenSSL KeyObject
 * and had to collect them; libsodium verifies raw keys, so nothing is kept per key any more.) The
 * cluster-level figure (validators with a full mempool) is bench/cluster.ts phase (d).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createSigner, generateSecretKey } from '../chain/ed25519.js';
import type { VerifyItem, VerifyPool as VerifyPoolType } from '../src/verify-pool.js';

const { values: args } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    items: { type: 'string', default: '40000' },
    batch: { type: 'string', default: '2000' },
    passes: { type: 'string', default: '1' },
    entry: { type: 'string', default: 'tsx' },
  },
});
const THREADS = Number(args.threads);
const ITEMS = Number(args.items);
const BATCH = Number(args.batch);
const PASSES = Number(args.passes);

const emit = (name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void =>
  console.log(JSON.stringify({ name, value: Math.round(value * 10) / 10, unit, ...extra }));
// This thread's garbage (the signing below) must not count for or against the pool: collect it before each reading.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
const rssMb = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

// The built pool starts dist/src/verify-worker.js (what a node runs); the sources start the .ts worker through tsx.
const mod = (args.entry === 'dist' ? await import(new URL('../dist/src/verify-pool.js', import.meta.url).href) : await import('../src/verify-pool.js')) as { VerifyPool: typeof VerifyPoolType };

const items: VerifyItem[] = [];
const message = new Uint8Array(78);
for (let i = 0; i < ITEMS; i++) {
  const signer = createSigner(generateSecretKey());
  const msg = message.slice();
  new DataView(msg.buffer).setUint32(0, i, true);
  items.push({ publicKey: signer.publicKey, message: msg, signature: signer.sign(msg) });
}
collect();
const before = rssMb();
const pool = new mod.VerifyPool({ size: THREADS });
let bad = 0;
const t0 = performance.now();
for (let pass = 0; pass < PASSES; pass++) {
  for (let i = 0; i < items.length; i += BATCH) for (const ok of await pool.verify(items.slice(i, i + BATCH))) if (!ok) bad++;
}
const ms = performance.now() - t0;
collect();
const after = rssMb();
const mu = process.memoryUsage();
emit('verify_pool_rss_added_mb', after - before, 'MB', { threads: THREADS, passes: PASSES, per_thread_mb: Math.round(((after - before) / THREADS) * 10) / 10, rss_before_mb: Math.round(before), rss_after_mb: Math.round(after), main_heap_mb: Math.round(mu.heapTotal / 2 ** 20), main_external_mb: Math.round(mu.external / 2 ** 20), entry: args.entry });
emit('verify_pool_throughput', ((ITEMS * PASSES) / ms) * 1000, 'verify/s', { items: ITEMS, passes: PASSES, batch: BATCH, bad });
await pool.close();

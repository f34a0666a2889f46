/**
 * What forgetting the oldest entry of a full bounded memo costs (chain/oldest-first.ts). Run:
 * `npx tsx bench/eviction.ts` (npm run bench:eviction). Prints JSON lines {"name","value","unit"}.
 *
 * - evict_fresh_iterator_us: add one key, then `delete(keys().next().value)` — what every bounded
 *   memo did before; V8's fresh iterator walks the holes earlier deletes left at the front.
 * - evict_cursor_us: the same with OldestFirst's long-lived iterator.
 * - signature_cache_add_full_us, recent_txids_add_full_us: the node's two per-transaction memos
 *   at their default capacities, already full (as on any node that has run for a while).
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { DEFAULT_SIGNATURE_CACHE_ENTRIES, SignatureCache } from '../chain/ed25519.js';
import { RECENT_CONFIRMED_MAX } from '../chain/mempool-types.js';
import { OldestFirst } from '../chain/oldest-first.js';
import { RecentTxids } from '../chain/recent-txids.js';

const OPS = 200_000;

function emit(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ name, value: Math.round(value * 1000) / 1000, unit, ...extra }));
}

/** Distinct keys shaped like the node's: 64-character hex txids. */
function keys(n: number): string[] {
  return Array.from({ length: n }, () => randomBytes(32).toString('hex'));
}

/** Microseconds per add-and-evict on a Set kept at `size` entries; `evictor` makes the eviction for one Set. */
function perOp(size: number, ks: string[], evictor: (s: Set<string>) => () => void): number {
  const s = new Set<string>(ks.slice(0, size));
  const evict = evictor(s);
  const t0 = performance.now();
  for (let i = size; i < size + OPS; i++) {
    s.add(ks[i]!);
    evict();
  }
  return ((performance.now() - t0) * 1000) / OPS;
}

function main(): void {
  for (const size of [8_192, 20_000, 50_000]) {
    const ks = keys(size + OPS);
    const fresh = (s: Set<string>) => () => {
      if (s.size > size) s.delete(s.values().next().value!);
    };
    const viaCursor = (s: Set<string>) => {
      const cursor = new OldestFirst(s);
      return () => cursor.trimTo(size);
    };
    perOp(size, ks, fresh); // warm-up: JIT
    emit('evict_fresh_iterator_us', perOp(size, ks, fresh), 'µs', { entries: size });
    perOp(size, ks, viaCursor);
    emit('evict_cursor_us', perOp(size, ks, viaCursor), 'µs', { entries: size });
  }

  const cache = new SignatureCache();
  const sigKeys = Array.from({ length: DEFAULT_SIGNATURE_CACHE_ENTRIES + OPS }, () => randomBytes(132).toString('latin1'));
  for (let i = 0; i < DEFAULT_SIGNATURE_CACHE_ENTRIES; i++) cache.add(sigKeys[i]!);
  let t0 = performance.now();
  for (let i = DEFAULT_SIGNATURE_CACHE_ENTRIES; i < sigKeys.length; i++) cache.add(sigKeys[i]!);
  emit('signature_cache_add_full_us', ((performance.now() - t0) * 1000) / OPS, 'µs', { entries: DEFAULT_SIGNATURE_CACHE_ENTRIES });

  const recent = new RecentTxids(RECENT_CONFIRMED_MAX);
  const ids = keys(RECENT_CONFIRMED_MAX + OPS);
  for (let i = 0; i < RECENT_CONFIRMED_MAX; i++) recent.add(ids[i]!);
  t0 = performance.now();
  for (let i = RECENT_CONFIRMED_MAX; i < ids.length; i++) recent.add(ids[i]!);
  emit('recent_txids_add_full_us', ((performance.now() - t0) * 1000) / OPS, 'µs', { entries: RECENT_CONFIRMED_MAX });
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) main();

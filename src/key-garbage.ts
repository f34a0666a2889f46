/**
 * When a verify thread collects its garbage. Each ed25519 key it imports is a KeyObject holding
 * ~1.1 KB of OpenSSL memory behind a ~100-byte JS handle; V8 sees only the handle, so a thread
 * that verifies many distinct keys but allocates little lets tens of thousands of evicted keys
 * (~10× their heap size in native memory) wait for a major GC that its heap never asks for.
 * Measured with two threads over 40,000 distinct keys: +80 MB of malloc arenas, bench/rss.ts.
 */
import { KEY_CACHE_MAX } from '../chain/ed25519.js';

/** Keys imported between two collections: one key cache's worth (chain/ed25519.ts), ~2.3 MB native. */
export const COLLECT_EVERY_IMPORTS = KEY_CACHE_MAX;

/** Decides, after each batch, whether enough keys were imported since the last collection to run one. */
export class ImportedKeyCollector {
  private lastAt: number;
  private runs = 0;

  constructor(
    /** Monotonic count of keys this thread imported (chain/ed25519.ts `keyObjectsImported`). */
    private readonly imported: () => number,
    /** A full garbage collection of this thread's heap. */
    private readonly collect: () => void,
    private readonly every = COLLECT_EVERY_IMPORTS,
  ) {
    if (!(Number.isInteger(every) && every > 0)) throw new RangeError('every must be a positive integer');
    this.lastAt = imported();
  }

  /** Call after each batch; returns whether it collected. */
  afterBatch(): boolean {
    const now = this.imported();
    if (now - this.lastAt < this.every) return false;
    this.lastAt = now;
    this.runs++;
    this.collect();
    return true;
  }

  /** Collections run so far. */
  get collections(): number {
    return this.runs;
  }
}

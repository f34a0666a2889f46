import { OldestFirst } from './oldest-first.js';

/**
 * Txids of recently confirmed transactions, at most `max` (the oldest forgotten first). Under
 * load, gossip copies of a transaction keep arriving after its block connected (each relay
 * flushes on its own clock); without this memory every late copy costs a UTXO view load and a
 * txid-index read to learn it is confirmed. Bitcoin Core keeps a rolling filter of recently
 * confirmed transactions for the same reason.
 */
export class RecentTxids {
  private readonly ids = new Set<string>();
  private readonly oldest = new OldestFirst(this.ids);

  constructor(readonly max: number) {
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError('max must be a non-negative integer');
  }

  /** Remember `id` (hex) as confirmed. */
  add(id: string): void {
    if (this.max === 0 || this.ids.has(id)) return;
    this.ids.add(id);
    this.oldest.trimTo(this.max);
  }

  /** Forget `id`: its block was disconnected. */
  delete(id: string): void {
    this.ids.delete(id);
  }

  /** Whether `id` (hex) was confirmed recently (as far as this memory goes). */
  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Number of txids remembered. */
  get size(): number {
    return this.ids.size;
  }
}

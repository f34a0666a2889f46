/**
 * Token buckets keyed by a string (an API key id, or a client address for failed auth), held in a
 * bounded LRU so a flood of distinct keys or addresses cannot grow memory. Time is passed in.
 */

/** Outcome of asking a bucket for tokens. `retryAfterMs` > 0 when refused. */
export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  last: number;
}

/** Per-key token buckets: `rate` tokens per second, capacity max(1, `rate × burstFactor`). */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly opts: { burstFactor: number; maxEntries: number },
  ) {
    if (!(opts.burstFactor > 0)) throw new RangeError('burstFactor must be > 0');
    if (!(opts.maxEntries >= 1)) throw new RangeError('maxEntries must be >= 1');
  }

  private capacity(rate: number): number {
    return Math.max(1, rate * this.opts.burstFactor);
  }

  /** The bucket for `key` refilled up to `now`; created full, moved to the LRU tail. */
  private refill(key: string, rate: number, now: number): Bucket {
    const cap = this.capacity(rate);
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: cap, last: now };
      if (this.buckets.size >= this.opts.maxEntries) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
    } else {
      this.buckets.delete(key); // re-insert below: Map order is the LRU order
      const elapsed = Math.max(0, now - b.last) / 1000; // a clock stepping back refills nothing
      b.tokens = Math.min(cap, b.tokens + elapsed * rate);
      b.last = Math.max(b.last, now);
    }
    this.buckets.set(key, b);
    return b;
  }

  private refusal(b: Bucket, need: number, rate: number): TakeResult {
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(((need - b.tokens) / rate) * 1000)) };
  }

  /**
   * Takes `cost` tokens. Admitted when the bucket holds min(cost, capacity); the full cost is then
   * taken, possibly going negative, so a large batch is allowed but paid for by the calls after it
   * (the average stays at `rate`).
   */
  take(key: string, cost: number, rate: number, now: number): TakeResult {
    if (!(rate > 0)) throw new RangeError('rate must be > 0');
    const b = this.refill(key, rate, now);
    const need = Math.min(cost, this.capacity(rate));
    if (b.tokens < need) return this.refusal(b, need, rate);
    b.tokens -= cost;
    return { ok: true };
  }

  /** Would `take(key, cost)` be admitted now? Takes nothing. */
  check(key: string, cost: number, rate: number, now: number): TakeResult {
    if (!(rate > 0)) throw new RangeError('rate must be > 0');
    const b = this.refill(key, rate, now);
    const need = Math.min(cost, this.capacity(rate));
    return b.tokens < need ? this.refusal(b, need, rate) : { ok: true };
  }

  /** Number of tracked keys (bounded by maxEntries). */
  get size(): number {
    return this.buckets.size;
  }
}

/** Whole seconds for a `Retry-After` header: at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * Per-peer, per-protocol token buckets. `now` (ms) is passed in, so tests never sleep
 * (ARCHITECTURE example 8). State is one small record per (peer, protocol) in use; it is kept
 * across reconnects (so reconnecting does not refill a drained bucket) and capped at `maxPeers`
 * peers, oldest first, so a churn of peer ids cannot grow it.
 */
import type { Quota } from './protocols.js';

/** A single token bucket; exported for reuse and unit tests. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(readonly quota: Quota, now: number) {
    this.tokens = quota.burst;
    this.at = now;
  }

  /** Take `cost` tokens if available (true), otherwise take nothing (false). */
  take(now: number, cost = 1): boolean {
    this.refill(now);
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  /** Tokens available at `now` (fractional). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  private refill(now: number): void {
    // A clock that steps back must not mint tokens nor freeze the bucket forever.
    const dt = Math.max(0, now - this.at);
    this.at = Math.max(this.at, now);
    this.tokens = Math.min(this.quota.burst, this.tokens + (dt * this.quota.perSecond) / 1000);
  }
}

/** Buckets keyed by (peer, protocol name). */
export class RateLimiter {
  private readonly peers = new Map<string, Map<string, TokenBucket>>();

  /** `maxPeers` bounds the state; the oldest peer's buckets go first (it has reconnected or left). */
  constructor(private readonly maxPeers = 4096) {}

  /** Charge one message (or `cost`) of `protocol` to `peer`; false = over quota, drop it. */
  allow(peer: string, protocol: string, quota: Quota, now: number, cost = 1): boolean {
    let buckets = this.peers.get(peer);
    if (buckets === undefined) {
      if (this.peers.size >= this.maxPeers) this.peers.delete(this.peers.keys().next().value!);
      buckets = new Map();
      this.peers.set(peer, buckets);
    }
    let b = buckets.get(protocol);
    if (b === undefined) {
      b = new TokenBucket(quota, now);
      buckets.set(protocol, b);
    }
    return b.take(now, cost);
  }

  /** Forget a peer (e.g. when an admin unbans it). */
  forget(peer: string): void {
    this.peers.delete(peer);
  }

  /** Peers with state (bounded by `maxPeers`). */
  get size(): number {
    return this.peers.size;
  }
}

/**
 * Replay guard for signed envelopes. An envelope is accepted once: its timestamp must be
 * within `windowMs` of our clock (`futureMs` ahead at most), and its (sender, nonce) must not
 * have been seen. The seen-set is an insertion-ordered Map capped at `maxEntries` (O(1) per
 * check). Eviction would reopen a replay hole for entries still inside the window, so each
 * eviction raises a floor: anything stamped at or before an evicted entry is refused as
 * stale. Under a flood that shrinks the window; it never lets a replay through.
 */
import { P2pCode, P2pError } from './errors.js';
import { OldestFirst } from '../chain/oldest-first.js';

export interface ReplayConfig {
  /** How old an envelope may be (ms). */
  readonly windowMs: number;
  /** How far ahead of our clock an envelope may be stamped (clock skew, ms). */
  readonly futureMs: number;
  readonly maxEntries: number;
}

export const DEFAULT_REPLAY_CONFIG: ReplayConfig = { windowMs: 60_000, futureMs: 5_000, maxEntries: 200_000 };

export type ReplayReason = 'seen' | 'stale' | 'future';

export class ReplayGuard {
  /** key → envelope timestamp; Map order = insertion order. */
  private readonly seen = new Map<string, number>();
  private readonly oldest = new OldestFirst(this.seen);
  private floor = -Infinity;
  private readonly counts: Record<ReplayReason, number> = { seen: 0, stale: 0, future: 0 };

  constructor(readonly config: ReplayConfig = DEFAULT_REPLAY_CONFIG) {}

  /** Throws `replay` (meta.reason) if the envelope is outside the window or already seen. */
  check(senderHex: string, nonce: bigint, timestampMs: number, now: number): void {
    if (timestampMs > now + this.config.futureMs) this.refuse('future');
    if (timestampMs < now - this.config.windowMs || timestampMs <= this.floor) this.refuse('stale');
    if (this.seen.has(key(senderHex, nonce))) this.refuse('seen');
  }

  /** Record an envelope that passed `check` and its signature check. */
  record(senderHex: string, nonce: bigint, timestampMs: number, now: number): void {
    const k = key(senderHex, nonce);
    if (this.seen.has(k)) return;
    // An entry forgotten while still inside the window raises the floor: older envelopes are refused as stale.
    this.oldest.trimTo(this.config.maxEntries - 1, ([, oldTs]) => {
      if (oldTs >= now - this.config.windowMs && oldTs > this.floor) this.floor = oldTs;
    });
    this.seen.set(k, timestampMs);
  }

  /** Drop entries that fell out of the window (periodic; keeps memory proportional to traffic). */
  prune(now: number): void {
    const oldest = now - this.config.windowMs;
    for (const [k, ts] of this.seen) {
      if (ts < oldest) this.seen.delete(k);
    }
  }

  /** Entries held (≤ maxEntries). */
  get size(): number {
    return this.seen.size;
  }

  /** Refusals so far, by reason. */
  get rejected(): Readonly<Record<ReplayReason, number>> {
    return this.counts;
  }

  private refuse(reason: ReplayReason): never {
    this.counts[reason]++;
    throw new P2pError(P2pCode.Replay, `envelope refused: ${reason}`, { reason });
  }
}

function key(senderHex: string, nonce: bigint): string {
  return `${senderHex}:${nonce.toString(16)}`;
}

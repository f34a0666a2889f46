/**
 * Peer scores. Every refusal code maps to a penalty in ONE table (ARCHITECTURE example 7,
 * Lodestar's reqresp/score.ts); a score decays toward 0 with a half-life, so an honest peer
 * that once sent something odd recovers, and a peer whose score falls to the threshold is
 * disconnected and banned for `banMs`. State is bounded: at most `maxPeers` scores and
 * `maxBans` bans, oldest evicted first. `now` (ms) is always passed in.
 */
import { P2pCode } from './errors.js';

/** Penalty per refusal code (0 = not the peer's fault). Threshold −100 by default. */
export const PENALTIES: Readonly<Record<P2pCode, number>> = {
  [P2pCode.FrameTooLarge]: 100, // a deliberate protocol violation: one strike bans
  [P2pCode.DecodeFailed]: 20,
  [P2pCode.RateLimited]: 2, // a burst can be honest; a sustained flood adds up fast
  [P2pCode.UnknownProtocol]: 10,
  [P2pCode.Replay]: 10,
  [P2pCode.NotMasternode]: 25,
  [P2pCode.BadSignature]: 50,
  [P2pCode.HandlerRejected]: 5, // e.g. an invalid transaction: cheap, may be a race
  [P2pCode.Timeout]: 1,
  [P2pCode.StreamFailed]: 0,
  [P2pCode.NotConnected]: 0,
  [P2pCode.Banned]: 0,
  [P2pCode.QueueFull]: 0,
  [P2pCode.NotRunning]: 0,
};

export interface ScoreConfig {
  /** A score at or below this bans (negative). */
  readonly banThreshold: number;
  /** How long a ban lasts. */
  readonly banMs: number;
  /** Time for a score to halve toward 0. */
  readonly halfLifeMs: number;
  readonly maxPeers: number;
  readonly maxBans: number;
}

export const DEFAULT_SCORE_CONFIG: ScoreConfig = {
  banThreshold: -100,
  banMs: 10 * 60_000,
  halfLifeMs: 60_000,
  maxPeers: 4096,
  maxBans: 4096,
};

interface Score {
  value: number;
  at: number;
}

/** What `penalize` decided. */
export interface PenaltyResult {
  readonly score: number;
  /** True when this penalty crossed the threshold: disconnect and ban now. */
  readonly ban: boolean;
}

export class PeerScores {
  private readonly scores = new Map<string, Score>();
  /** peer → ban expiry (ms). */
  private readonly bans = new Map<string, number>();

  constructor(readonly config: ScoreConfig = DEFAULT_SCORE_CONFIG) {}

  /** The decayed score of `peer` at `now` (0 for an unknown peer). */
  score(peer: string, now: number): number {
    const s = this.scores.get(peer);
    return s === undefined ? 0 : this.decayed(s, now);
  }

  /** Apply the penalty for `code`; reports whether the peer must be banned now. */
  penalize(peer: string, code: P2pCode, now: number, times = 1): PenaltyResult {
    const penalty = PENALTIES[code] * times;
    const current = this.score(peer, now);
    if (penalty === 0) return { score: current, ban: false };
    const value = current - penalty;
    this.scores.delete(peer); // re-insert: Map order is our recency order for eviction
    if (this.scores.size >= this.config.maxPeers) this.scores.delete(this.scores.keys().next().value!);
    this.scores.set(peer, { value, at: now });
    if (value <= this.config.banThreshold && !this.isBanned(peer, now)) {
      this.ban(peer, now);
      return { score: value, ban: true };
    }
    return { score: value, ban: false };
  }

  /** Ban `peer` until now + banMs (or `ms`). */
  ban(peer: string, now: number, ms = this.config.banMs): void {
    this.bans.delete(peer);
    if (this.bans.size >= this.config.maxBans) this.bans.delete(this.bans.keys().next().value!);
    this.bans.set(peer, now + ms);
  }

  /** True while `peer` is banned; an expired ban is removed (and its score reset). */
  isBanned(peer: string, now: number): boolean {
    const until = this.bans.get(peer);
    if (until === undefined) return false;
    if (now < until) return true;
    this.bans.delete(peer);
    this.scores.delete(peer);
    return false;
  }

  /** Lift a ban (admin). */
  unban(peer: string): void {
    this.bans.delete(peer);
    this.scores.delete(peer);
  }

  /** Active bans at `now`: peer → expiry. */
  banned(now: number): Array<{ peer: string; until: number }> {
    const out: Array<{ peer: string; until: number }> = [];
    for (const [peer, until] of this.bans) if (now < until) out.push({ peer, until });
    return out;
  }

  /** Drop scores that have decayed to ~0 (call from a periodic tick to keep state small). */
  prune(now: number): void {
    for (const [peer, s] of this.scores) if (Math.abs(this.decayed(s, now)) < 0.5) this.scores.delete(peer);
    for (const [peer, until] of this.bans) if (now >= until) this.bans.delete(peer);
  }

  /** Tracked scores and bans (bounded by config). */
  get size(): { scores: number; bans: number } {
    return { scores: this.scores.size, bans: this.bans.size };
  }

  private decayed(s: Score, now: number): number {
    const dt = Math.max(0, now - s.at);
    return s.value * Math.pow(0.5, dt / this.config.halfLifeMs);
  }
}

/**
 * The simulated network: point-to-point links between node instances with random delay (which
 * also reorders: every copy draws its own delay), random drop and duplication, rare long-delay
 * spikes, and partitions. After `heal()` the network is synchronous (the "global stabilization
 * time" of partial synchrony): no drops, no duplicates, no partition, delays ≤ maxDelayMs —
 * the condition under which PBFT promises liveness, so liveness is only judged after it.
 */
import type { Rng } from './prng.js';

export interface NetParams {
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Probability a copy is lost, while faults are active. */
  readonly dropRate: number;
  /** Probability a copy is delivered twice (second copy with its own delay), while faults are active. */
  readonly dupRate: number;
  /** Probability a copy is held up to 20× maxDelayMs (deep reordering), while faults are active. */
  readonly spikeRate: number;
}

export interface Delivery<T> {
  readonly kind: 'deliver';
  readonly from: number;
  readonly to: number;
  readonly payload: T;
}

export interface NetStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  partitionDropped: number;
}

export class Network<T> {
  /** group[i] = partition group of instance i, or null when the network is whole. */
  private group: number[] | null = null;
  private faulty = true;
  readonly stats: NetStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, partitionDropped: 0 };

  constructor(
    /** Schedules a delivery `delayMs` of virtual time from now (the runner's event queue). */
    private readonly schedule: (delayMs: number, d: Delivery<T>) => void,
    private readonly rng: Rng,
    private readonly params: NetParams,
    readonly size: number,
  ) {
    if (params.minDelayMs < 0 || params.maxDelayMs < params.minDelayMs) throw new RangeError('bad delay range');
  }

  /**
   * Split the network: `groups` are disjoint sets of instance indices; instances named in no
   * group form one more group together. Messages between groups are dropped, both when sent and
   * when they would arrive (a partition also cuts messages already in flight).
   */
  partition(groups: readonly (readonly number[])[]): void {
    const g = new Array<number>(this.size).fill(groups.length);
    groups.forEach((members, id) => {
      for (const m of members) {
        if (!Number.isInteger(m) || m < 0 || m >= this.size) throw new RangeError(`partition names unknown instance ${m}`);
        if (g[m] !== groups.length) throw new RangeError(`instance ${m} is in two partition groups`);
        g[m] = id;
      }
    });
    this.group = g;
  }

  /** Remove any partition; faults stay as they are. */
  reconnect(): void {
    this.group = null;
  }

  /** End of all network faults: whole and synchronous from now on. */
  heal(): void {
    this.group = null;
    this.faulty = false;
  }

  get healed(): boolean {
    return !this.faulty;
  }

  blocked(from: number, to: number): boolean {
    return this.group !== null && this.group[from] !== this.group[to];
  }

  private delay(): number {
    const p = this.params;
    const base = p.minDelayMs + this.rng.int(p.maxDelayMs - p.minDelayMs + 1);
    if (this.faulty && this.rng.chance(p.spikeRate)) return base + this.rng.int(20 * p.maxDelayMs + 1);
    return base;
  }

  /** Send one copy from `from` to `to`; self-sends are a driver bug (the engine counts its own messages). */
  send(from: number, to: number, payload: T): void {
    if (from === to) throw new Error(`instance ${from} sent a message to itself: the engine counts its own messages`);
    this.stats.sent++;
    if (this.blocked(from, to)) {
      this.stats.partitionDropped++;
      return;
    }
    if (this.faulty && this.rng.chance(this.params.dropRate)) {
      this.stats.dropped++;
      return;
    }
    this.schedule(this.delay(), { kind: 'deliver', from, to, payload });
    if (this.faulty && this.rng.chance(this.params.dupRate)) {
      this.stats.duplicated++;
      this.schedule(this.delay(), { kind: 'deliver', from, to, payload });
    }
  }

  /** Called by the runner when a delivery event fires: false if a partition now cuts the link. */
  admit(d: Delivery<T>): boolean {
    if (this.blocked(d.from, d.to)) {
      this.stats.partitionDropped++;
      return false;
    }
    this.stats.delivered++;
    return true;
  }
}

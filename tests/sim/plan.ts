/**
 * Scenarios: a name plus a seed expands into a concrete plan — network parameters, which keys
 * are Byzantine and how, which keys are twinned, and a timeline of partitions and crashes that
 * all end by `healAt`. Everything is drawn from the seed, so (seed, n, scenario) names one run.
 */
import type { TimeoutConfig } from '../../consensus/types.js';
import type { NetParams } from './network.js';
import type { Rng } from './prng.js';

export const BYZANTINE_KINDS = [
  'equivocating-leader',
  'conflicting-votes',
  'invalid-proposal',
  'silent-leader',
  'silent',
  'replay',
  'forged-signatures',
  'wrong-views',
  'flood',
] as const;
export type ByzantineKind = (typeof BYZANTINE_KINDS)[number];

export const SCENARIOS = [
  'benign',
  'lossy',
  'partition',
  'crash',
  'crash-after-sign',
  'equivocating-leader',
  'conflicting-votes',
  'invalid-proposal',
  'silent-leader',
  'silent-replicas',
  'replay',
  'forged-signatures',
  'wrong-views',
  'flood',
  'twins',
  'mixed',
  'fast-timers',
] as const;
export type Scenario = (typeof SCENARIOS)[number] | 'control-twins';

export type TimelineEvent =
  | { readonly at: number; readonly kind: 'partition'; readonly groups: readonly (readonly number[])[] }
  | { readonly at: number; readonly kind: 'reconnect' }
  /** Crash after `afterEffects` more effects (0 = at once; > 0 may strike mid-step). */
  | { readonly at: number; readonly kind: 'crash'; readonly instance: number; readonly afterEffects: number }
  /** Crash right after the instance's next signed message of `msgType` leaves it. */
  | { readonly at: number; readonly kind: 'crash-on-send'; readonly instance: number; readonly msgType: number }
  | { readonly at: number; readonly kind: 'restart'; readonly instance: number };

export interface Plan {
  readonly net: NetParams;
  /** key index → Byzantine behaviour; at most f entries. */
  readonly byzantine: ReadonlyMap<number, ByzantineKind>;
  /** Key indices run by two honest instances each (instance n + j runs key twins[j]). */
  readonly twins: readonly number[];
  readonly timeline: readonly TimelineEvent[];
  /** All faults other than Byzantine keys end here: the network heals, every instance is up. */
  readonly healAt: number;
  /** The positive control: stop at the first agreement violation, do not judge liveness. */
  readonly control: boolean;
  /** View timer override (null = the runner's default). */
  readonly timeouts: TimeoutConfig | null;
  /** Non-validating followers (engine signer null), appended after the twin instances. */
  readonly followers: number;
}

export function faultBound(n: number): number {
  return Math.floor((n - 1) / 3);
}

const CALM: NetParams = { minDelayMs: 2, maxDelayMs: 40, dropRate: 0, dupRate: 0, spikeRate: 0 };

function rough(rng: Rng): NetParams {
  return {
    minDelayMs: 1,
    maxDelayMs: 20 + rng.int(80),
    dropRate: rng.pick([0, 0.01, 0.05, 0.15]),
    dupRate: rng.pick([0, 0.02, 0.1]),
    spikeRate: rng.pick([0, 0.01, 0.05]),
  };
}

/** Random 2- or 3-way split of the instances (every group non-empty). */
function randomGroups(rng: Rng, instances: number): number[][] {
  const k = instances >= 5 && rng.chance(0.3) ? 3 : 2;
  const order = rng.shuffle([...Array(instances).keys()]);
  const groups: number[][] = Array.from({ length: k }, () => []);
  order.forEach((inst, i) => groups[i < k ? i : rng.int(k)]!.push(inst));
  return groups;
}

function partitions(rng: Rng, instances: number, healAt: number): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  let t = rng.int(1500);
  const episodes = 1 + rng.int(3);
  for (let i = 0; i < episodes && t < healAt; i++) {
    out.push({ at: t, kind: 'partition', groups: randomGroups(rng, instances) });
    t += 300 + rng.int(3000);
    if (t >= healAt) break; // the heal ends it
    out.push({ at: t, kind: 'reconnect' });
    t += rng.int(1500);
  }
  return out;
}

/** Crash 1..all instances at random times; each restarts before heal (some crash mid-step). */
function crashes(rng: Rng, instances: number[], healAt: number): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  const victims = rng.shuffle(instances).slice(0, 1 + rng.int(instances.length));
  for (const instance of victims) {
    let t = rng.int(Math.max(1, healAt - 500));
    const rounds = 1 + rng.int(2);
    for (let r = 0; r < rounds && t < healAt; r++) {
      out.push({ at: t, kind: 'crash', instance, afterEffects: rng.chance(0.5) ? 0 : rng.int(6) });
      t = Math.min(healAt, t + 100 + rng.int(2000));
      out.push({ at: t, kind: 'restart', instance });
      t += 100 + rng.int(1000);
    }
  }
  return out;
}

/**
 * Crashes aimed at the moment persist-before-send protects: an instance dies just after a
 * proposal, vote or view change leaves it and comes back 50–1500 ms later (often still in the
 * same view), when signing anything different for that slot would be equivocation.
 */
function crashesAfterSigning(rng: Rng, instances: number, healAt: number): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  for (let t = rng.int(300); t < healAt - 100; t += 200 + rng.int(900)) {
    const instance = rng.int(instances);
    out.push({ at: t, kind: 'crash-on-send', instance, msgType: rng.pick([1, 1, 2, 3, 4, 5]) });
    out.push({ at: Math.min(healAt, t + 50 + rng.int(1450)), kind: 'restart', instance });
  }
  return out;
}

function pickKeys(rng: Rng, n: number, count: number): number[] {
  return rng.shuffle([...Array(n).keys()]).slice(0, count);
}

export function makePlan(scenario: Scenario, n: number, rng: Rng): Plan {
  const f = faultBound(n);
  const healAt = 1000 + rng.int(3500);
  const byzantine = new Map<number, ByzantineKind>();
  let twins: number[] = [];
  let timeline: TimelineEvent[] = [];
  let net = rng.chance(0.5) ? CALM : rough(rng);
  let timeouts: TimeoutConfig | null = null;
  const withByz = (kind: ByzantineKind, count = 1 + rng.int(f)): void => {
    for (const k of pickKeys(rng, n, count)) byzantine.set(k, kind);
  };
  switch (scenario) {
    case 'benign':
      net = CALM;
      break;
    case 'lossy':
      net = { ...rough(rng), dropRate: 0.1 + 0.2 * rng.float() };
      break;
    case 'partition':
      net = rough(rng);
      timeline = partitions(rng, n, healAt);
      break;
    case 'crash':
      timeline = crashes(rng, [...Array(n).keys()], healAt);
      break;
    case 'crash-after-sign':
      timeline = crashesAfterSigning(rng, n, healAt);
      break;
    case 'silent-replicas':
      withByz('silent', f);
      break;
    case 'twins':
      twins = pickKeys(rng, n, f);
      timeline = rng.chance(0.5) ? partitions(rng, n + twins.length, healAt) : [];
      break;
    case 'mixed': {
      // f faulty keys, each Byzantine of a random kind or (one in four) twinned.
      for (const k of pickKeys(rng, n, f)) {
        if (rng.chance(0.25)) twins.push(k);
        else byzantine.set(k, rng.pick(BYZANTINE_KINDS));
      }
      net = rough(rng);
      const honest = [...Array(n).keys()].filter((i) => !byzantine.has(i));
      timeline = [...partitions(rng, n + twins.length, healAt), ...(rng.chance(0.5) ? crashes(rng, honest, healAt) : [])];
      break;
    }
    case 'fast-timers':
      // View timers shorter than a round trip: views change all the time and prepared
      // certificates are carried across many views — the delicate part of PBFT safety. The cap
      // (1.6 s) still exceeds a view's work, so liveness must return after the heal.
      timeouts = { baseMs: 20 + rng.int(150), factor: rng.pick([1.5, 2]), maxMs: 1600 };
      net = rough(rng);
      for (const k of pickKeys(rng, n, rng.int(f + 1))) byzantine.set(k, rng.pick(BYZANTINE_KINDS));
      if (rng.chance(0.3)) timeline = partitions(rng, n, healAt);
      break;
    case 'control-twins':
      return controlPlan(n, rng);
    default:
      withByz(scenario);
      if (rng.chance(0.3)) timeline = partitions(rng, n, healAt);
  }
  // A quarter of the runs add a follower: it verifies and finalizes but never signs, so it
  // lives on commit quorums and block sync alone — and must agree and stay live like the rest.
  const followers = rng.chance(0.25) ? 1 : 0;
  return { net, byzantine, twins, timeline, healAt, control: false, timeouts, followers };
}

/**
 * Positive control: f+1 keys twinned, partitioned so that each side holds one copy of every
 * twinned key plus half of the other keys — each side has 2f+1 distinct keys, a quorum, and
 * finalizes its own block (blocks carry the builder instance, so the sides always differ).
 * The checker must report the fork for every seed.
 */
function controlPlan(n: number, rng: Rng): Plan {
  const f = faultBound(n);
  const twins = pickKeys(rng, n, f + 1);
  const others = rng.shuffle([...Array(n).keys()].filter((k) => !twins.includes(k)));
  const half = Math.ceil(others.length / 2);
  const sideA = [...twins, ...others.slice(0, half)];
  const sideB = [...twins.map((_, j) => n + j), ...others.slice(half)];
  const healAt = 60_000;
  return {
    net: CALM,
    byzantine: new Map(),
    twins,
    timeline: [{ at: 0, kind: 'partition', groups: [sideA, sideB] }],
    healAt,
    control: true,
    timeouts: null,
    followers: 0,
  };
}

/**
 * Seed suites: one vitest test per (seed, n, scenario), the scenario cycling through every
 * scenario so each file mixes all of them. A failing test's message is the run's summary line:
 * seed, scenario, first violation and the runScenario call that reproduces it. After the file,
 * one JSON line reports what the seeds did (counts, CPU, worst virtual time to finality after
 * heal) — the numbers docs/simulator.md quotes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SCENARIOS, type Scenario } from './plan.js';
import { runScenario, type RunResult } from './runner.js';
import type { SigMode } from './signatures.js';

export const LONG = process.env.TIMECOIN_LONG === '1';

export interface SeedSuite {
  readonly name: string;
  readonly n: number;
  /** First seed and count; seed s runs scenario SCENARIOS[s mod |SCENARIOS|]. */
  readonly first: number;
  readonly count: number;
  readonly sigs: SigMode;
}

export function scenarioOf(seed: number): Scenario {
  return SCENARIOS[seed % SCENARIOS.length]!;
}

interface Totals {
  runs: number;
  failed: number;
  cpuMs: number;
  heights: number;
  worst: { ms: number; seed: number; scenario: string } | null;
  maxView: number;
  midStepCrashes: number;
  syncRequests: number;
  byScenario: Record<string, number>;
}

function record(t: Totals, r: RunResult, cpuMs: number): void {
  t.runs++;
  t.cpuMs += cpuMs;
  t.heights += r.minHeight;
  t.maxView = Math.max(t.maxView, r.maxCommitView);
  t.midStepCrashes += r.midStepCrashes;
  t.syncRequests += r.syncRequests;
  t.byScenario[r.scenario] = (t.byScenario[r.scenario] ?? 0) + 1;
  if (!r.ok) t.failed++;
  const fin = r.finalityAfterHealMs;
  if (fin !== null && (t.worst === null || fin > t.worst.ms)) t.worst = { ms: fin, seed: r.seed, scenario: r.scenario };
}

export function defineSeedSuite(s: SeedSuite): void {
  const totals: Totals = { runs: 0, failed: 0, cpuMs: 0, heights: 0, worst: null, maxView: 0, midStepCrashes: 0, syncRequests: 0, byScenario: {} };
  const wallStart = performance.now();
  describe(`${s.name}: n=${s.n}, seeds ${s.first}..${s.first + s.count - 1} (${s.sigs} signatures)`, () => {
    for (let seed = s.first; seed < s.first + s.count; seed++) {
      const scenario = scenarioOf(seed);
      it(`seed ${seed} ${scenario}`, () => {
        const c0 = process.cpuUsage();
        const r = runScenario({ seed, n: s.n, scenario, sigs: s.sigs });
        const c = process.cpuUsage(c0);
        record(totals, r, (c.user + c.system) / 1000);
        expect(r.violations, r.summary).toEqual([]);
        expect(r.ok, r.summary).toBe(true);
        // Liveness was reached, not merely "no violation before the clock ran out".
        expect(r.finalityAfterHealMs, r.summary).not.toBeNull();
      });
    }
    afterAll(() => {
      const line = { suite: s.name, n: s.n, sigs: s.sigs, ...totals, cpuMs: Math.round(totals.cpuMs), wallMs: Math.round(performance.now() - wallStart) };
      console.log(`SIM-STATS ${JSON.stringify(line)}`);
    });
  });
}

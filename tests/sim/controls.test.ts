/**
 * Controls: proof that the simulator can fail. The positive control (f+1 twinned keys across a
 * partition) is a real fork and must be reported as an agreement violation for every seed of
 * the control set. The mutation controls break the real engine in one place each — accept any
 * signature, forget to persist, accept invalid blocks, ignore timeouts — and the suite must
 * notice. Determinism: a seed replays bit for bit, and both signature modes give one history.
 */
import { describe, expect, it } from 'vitest';
import * as engine from '../../consensus/engine.js';
import type { Effect, Input } from '../../consensus/types.js';
import type { EngineModule } from './driver.js';
import { runScenario } from './runner.js';
import { LONG } from './suite.js';

const real = engine as unknown as EngineModule<unknown>;
const mutate = (f: (input: Input) => Input | null, g: (e: Effect) => boolean = () => true): EngineModule<unknown> => ({
  initialState: real.initialState,
  step(state, input) {
    const i = f(input);
    if (i === null) return { state, effects: [] };
    const out = real.step(state, i);
    return { state: out.state, effects: out.effects.filter(g) };
  },
});

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('positive control: f+1 twinned keys across a partition fork the chain', () => {
  const cases = [
    ...range(1, LONG ? 200 : 20).map((seed) => ({ seed, n: 4 })),
    ...range(1, LONG ? 100 : 10).map((seed) => ({ seed, n: 7 })),
    ...range(1, LONG ? 50 : 3).map((seed) => ({ seed, n: 10 })),
  ];
  it.each(cases)('n=$n seed $seed is reported as an agreement violation', ({ seed, n }) => {
    const r = runScenario({ seed, n, scenario: 'control-twins', sigs: 'memo' });
    expect(r.violations.map((v) => v.kind), r.summary).toContain('agreement');
  });
});

describe('mutation controls: a broken engine is caught', () => {
  it('accepting every signature lets forged certificates through: caught on every seed', () => {
    for (const seed of range(1, 10)) {
      const r = runScenario({ seed, n: 4, scenario: 'forged-signatures', sigs: 'memo', configure: (c) => ({ ...c, verify: () => true }) });
      expect(r.ok, `seed ${seed} forged-signatures with verify = true was not caught: ${r.summary}`).toBe(false);
      expect(['validity', 'certificate', 'false-evidence', 'agreement']).toContain(r.violations[0]!.kind);
    }
  });

  it('dropping persist effects lets a restarted validator equivocate: caught on most seeds', () => {
    const noPersist = mutate((i) => i, (e) => e.kind !== 'persist');
    const caught = range(1, 12).filter((seed) => {
      const r = runScenario({ seed, n: 4, scenario: 'crash-after-sign', sigs: 'memo', engine: noPersist });
      return r.violations.some((v) => v.kind === 'honest-equivocation' || v.kind === 'agreement');
    });
    expect(caught.length, `caught on seeds ${caught}`).toBeGreaterThanOrEqual(6);
  });

  it('treating invalid blocks as valid finalizes them: caught on most seeds', () => {
    const acceptAll = mutate((i) => (i.kind === 'block-validated' ? { ...i, valid: true } : i));
    const caught = range(1, 12).filter((seed) => {
      const r = runScenario({ seed, n: 4, scenario: 'invalid-proposal', sigs: 'memo', engine: acceptAll });
      return r.violations.some((v) => v.kind === 'validity');
    });
    expect(caught.length, `caught on seeds ${caught}`).toBeGreaterThanOrEqual(6);
  });

  it('ignoring timeouts stalls behind a silent leader: liveness fails on every seed', () => {
    const noTimers = mutate((i) => (i.kind === 'timeout' ? null : i));
    for (const seed of range(1, 6)) {
      // n+1 heights after heal: the silent key must lead one of them.
      const r = runScenario({ seed, n: 4, scenario: 'silent-leader', sigs: 'memo', engine: noTimers, extraHeights: 5, livenessBoundMs: 30_000 });
      expect(r.violations.map((v) => v.kind), r.summary).toContain('liveness');
    }
  });
});

describe('determinism', () => {
  const sample = ['mixed', 'crash', 'twins', 'equivocating-leader', 'flood', 'partition'] as const;
  it.each(sample.map((scenario, i) => ({ scenario, seed: 40 + i })))('$scenario seed $seed replays identically', ({ scenario, seed }) => {
    const a = runScenario({ seed, n: 4, scenario, sigs: 'memo' });
    const b = runScenario({ seed, n: 4, scenario, sigs: 'memo' });
    expect(a.trace).toBe(b.trace);
    expect([a.events, a.endTime, a.minHeight]).toEqual([b.events, b.endTime, b.minHeight]);
  });

  // The long suite uses memoized verification; this shows it changes CPU time, not history.
  it.each(sample.map((scenario, i) => ({ scenario, seed: 60 + i })))('$scenario seed $seed: real and memo signatures give one history', ({ scenario, seed }) => {
    const a = runScenario({ seed, n: 4, scenario, sigs: 'real' });
    const b = runScenario({ seed, n: 4, scenario, sigs: 'memo' });
    expect(a.trace).toBe(b.trace);
    expect(a.events).toBe(b.events);
  });
});

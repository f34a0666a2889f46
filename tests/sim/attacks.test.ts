/**
 * Non-vacuity of the Byzantine scenarios: over a few seeds each attack fires and the honest
 * engines visibly meet it (the rejection codes, evidence or view changes it should cause).
 * Without this, a behaviour that silently did nothing would pass every seed.
 */
import { describe, expect, it } from 'vitest';
import type { Scenario } from './plan.js';
import { runScenario, type RunResult } from './runner.js';

function runs(scenario: Scenario, n = 4, seeds = 4): { all: RunResult[]; codes: Record<string, number>; evidence: number; maxView: number; undecodable: number } {
  const all = Array.from({ length: seeds }, (_, i) => runScenario({ seed: 500 + i, n, scenario, sigs: 'memo' }));
  const codes: Record<string, number> = {};
  for (const r of all) for (const [k, v] of Object.entries(r.rejected)) codes[k] = (codes[k] ?? 0) + v;
  for (const r of all) expect(r.ok, r.summary).toBe(true);
  return {
    all,
    codes,
    evidence: all.reduce((s, r) => s + r.evidence, 0),
    maxView: Math.max(...all.map((r) => r.maxCommitView)),
    undecodable: all.reduce((s, r) => s + r.net.undecodable, 0),
  };
}

const fired = (rs: RunResult[]): boolean => rs.every((r) => r.attacks > 0);

describe('each Byzantine behaviour fires and is met', () => {
  it('equivocating leader: both halves get a proposal, views change', () => {
    const r = runs('equivocating-leader');
    expect(fired(r.all)).toBe(true);
    expect(r.maxView).toBeGreaterThan(0);
  });
  it('conflicting votes: honest nodes report evidence', () => {
    const r = runs('conflicting-votes');
    expect(fired(r.all)).toBe(true);
    expect(r.evidence).toBeGreaterThan(0);
  });
  it('invalid proposals: refused as invalid blocks and hash mismatches', () => {
    const r = runs('invalid-proposal');
    expect(fired(r.all)).toBe(true);
    expect(r.codes['invalid-block'] ?? 0).toBeGreaterThan(0);
    expect(r.codes['hash-mismatch'] ?? 0).toBeGreaterThan(0);
  });
  it('silent leader and silent replicas: views change past them', () => {
    const leader = runs('silent-leader');
    expect(fired(leader.all)).toBe(true);
    expect(leader.maxView).toBeGreaterThan(0);
    expect(runs('silent-replicas', 7).maxView).toBeGreaterThan(0);
  });
  it('replayed messages: rejected as stale or duplicate', () => {
    const r = runs('replay');
    expect(fired(r.all)).toBe(true);
    expect((r.codes['stale-height'] ?? 0) + (r.codes.duplicate ?? 0)).toBeGreaterThan(0);
  });
  it('forged signatures: bad signatures, unknown signers and bad certificates', () => {
    const r = runs('forged-signatures');
    expect(fired(r.all)).toBe(true);
    for (const code of ['bad-signature', 'unknown-signer', 'bad-certificate']) expect(r.codes[code] ?? 0, code).toBeGreaterThan(0);
  });
  it('wrong heights and views: future heights and out-of-place proposals refused', () => {
    const r = runs('wrong-views');
    expect(fired(r.all)).toBe(true);
    expect(r.codes['future-height'] ?? 0).toBeGreaterThan(0);
  });
  it('flood: duplicates refused, garbage bytes never reach the engine', () => {
    const r = runs('flood');
    expect(fired(r.all)).toBe(true);
    expect(r.codes.duplicate ?? 0).toBeGreaterThan(0);
    expect(r.undecodable).toBeGreaterThan(0);
  });
  it('twins (f keys): the twinned key is caught equivocating, nobody else is', () => {
    const r = runs('twins', 4, 10);
    expect(r.evidence).toBeGreaterThan(0);
  });
  it('followers (no key) finalize every height the validators do, from commits and block sync', () => {
    const withFollower = Array.from({ length: 24 }, (_, i) => runScenario({ seed: 700 + i, n: 4, scenario: 'partition', sigs: 'memo' })).filter((r) => r.plan.followers > 0);
    expect(withFollower.length).toBeGreaterThan(0);
    for (const r of withFollower) {
      expect(r.ok, r.summary).toBe(true);
      expect(r.minHeight, r.summary).toBeGreaterThanOrEqual(2); // the follower is in the minimum
    }
  });
  it('crash-after-sign: crashes strike between a step’s effects, and laggards sync', () => {
    const r = runs('crash-after-sign');
    expect(r.all.reduce((s, x) => s + x.midStepCrashes, 0)).toBeGreaterThan(0);
    expect(r.all.reduce((s, x) => s + x.syncRequests, 0)).toBeGreaterThan(0);
  });
});

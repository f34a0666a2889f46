/**
 * bench/leader-kill.ts: the window of phase c always reaches the dead leader's next view-0 turn
 * (so its figure includes a view change), and the gaps are read from the blocks as seen.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leaderIndex } from '../../consensus/leader.js';
import { leaderKillGaps, leaderKillWindowEnd } from '../../bench/leader-kill.js';
import type { SeenBlock } from '../../bench/cluster-lib.js';

const block = (height: number, view: number, seenMs: number): SeenBlock => ({ height, view, seenMs, size: 1000, txs: 10 });

describe('phase c window', () => {
  it('a watcher two heights behind: the window ends at the dead leader\'s next turn, not finalAtKill + n + 1', () => {
    // The observer was at height 260 (leader: the killed node), the watcher had seen 258 final.
    // If 260 still became final, the dead node's turn is 264: the old window (258 + 5 = 263) missed it.
    expect(leaderKillWindowEnd(258, 260, 4)).toBe(264);
  });

  it('a watcher ahead of the reported height (the round moved on) still counts n heights past what it saw', () => {
    expect(leaderKillWindowEnd(30, 29, 4)).toBe(35);
  });

  it('property: the window holds a later height the dead node leads at view 0', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: -3, max: 5 }), (n, leading, lag) => {
        const finalAtKill = Math.max(0, leading - lag);
        const end = leaderKillWindowEnd(finalAtKill, leading, n);
        const dead = leaderIndex(leading, 0, n);
        let turns = 0;
        for (let h = Math.max(finalAtKill + 1, leading + 1); h <= end; h++) if (leaderIndex(h, 0, n) === dead) turns++;
        expect(turns).toBeGreaterThanOrEqual(1);
        // …and not more than one rotation past it: the phase stays short.
        expect(end - Math.max(finalAtKill + 1, leading)).toBe(n);
      }),
    );
  });
});

describe('phase c gaps', () => {
  it('largest gap, the block it ended at, and the view changes counted', () => {
    const g = leaderKillGaps([block(26, 0, 1_003), block(27, 1, 3_390), block(28, 0, 3_600), block(30, 1, 6_100)], 1_000);
    expect(g.nextFinalMs).toBe(3);
    expect(g.worst).toEqual({ gap: 2_500, height: 30, view: 1 });
    expect(g.viewChanges).toBe(2);
  });

  it('the first gap is counted from the kill', () => {
    const g = leaderKillGaps([block(5, 1, 4_000), block(6, 0, 4_100)], 1_000);
    expect(g.worst).toEqual({ gap: 3_000, height: 5, view: 1 });
  });

  it('a block the observer had final before the kill is left out (stamped, not yet fetched, at the kill)', () => {
    const g = leaderKillGaps([block(101, 0, 986), block(102, 1, 3_456), block(103, 0, 3_700)], 1_000);
    expect(g.nextFinalMs).toBe(2_456);
    expect(g.worst).toEqual({ gap: 2_456, height: 102, view: 1 });
    expect(g.viewChanges).toBe(1);
    expect(g.first).toEqual({ height: 102, view: 1 });
    expect(g.blocks).toBe(2);
  });

  it('no block final: NaN figures, no view changes', () => {
    const g = leaderKillGaps([], 1_000);
    expect(g.nextFinalMs).toBeNaN();
    expect(g.worst.gap).toBeNaN();
    expect(g.viewChanges).toBe(0);
    expect(g.first).toBeNull();
    expect(g.blocks).toBe(0);
  });
});

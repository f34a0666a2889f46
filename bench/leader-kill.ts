/**
 * Phase c of bench/cluster.ts, the arithmetic: which final heights after a leader's SIGKILL are
 * measured, and the largest gap between them. Pure, so the window's edge cases are unit-tested.
 */
import type { SeenBlock } from './cluster-lib.js';

/**
 * The last height of the window: the dead node's next turn at view 0. `leading` is the height
 * `getconsensusinfo` named it leader of just before the kill; if that block still became final
 * (its proposal was out first), the dead node's turn comes n heights later. The watcher's last final
 * height lags the observer's round (it polls), so it only bounds the window from below.
 */
export function leaderKillWindowEnd(finalAtKill: number, leading: number, n: number): number {
  return Math.max(finalAtKill + 1, leading) + n;
}

export interface LeaderKillGaps {
  /** Kill → first final block after it (often one whose proposal was out before the kill). */
  readonly nextFinalMs: number;
  /** Largest gap: kill → first block, then block → block. */
  readonly worst: { readonly gap: number; readonly height: number; readonly view: number };
  readonly viewChanges: number;
  /** The first block final after the kill (null: none), and how many were. */
  readonly first: { readonly height: number; readonly view: number } | null;
  readonly blocks: number;
}

/**
 * The figures of the blocks final in the window, in height order; NaN when none were. A block the
 * observer had final before the kill is not one the kill could delay: the watcher stamps a block
 * when the observer's long poll answers, before it has fetched the block and moved its last height,
 * so such a block can still be above the height the watcher knew at the kill.
 */
export function leaderKillGaps(seen: readonly SeenBlock[], killedAt: number): LeaderKillGaps {
  const blocks = seen.filter((b) => b.seenMs >= killedAt);
  let worst = { gap: NaN, height: -1, view: -1 };
  blocks.forEach((b, i) => {
    const gap = b.seenMs - (i === 0 ? killedAt : blocks[i - 1]!.seenMs);
    if (!(gap <= worst.gap)) worst = { gap, height: b.height, view: b.view };
  });
  const first = blocks[0];
  return {
    nextFinalMs: first === undefined ? NaN : first.seenMs - killedAt,
    worst,
    viewChanges: blocks.filter((b) => b.view > 0).length,
    first: first === undefined ? null : { height: first.height, view: first.view },
    blocks: blocks.length,
  };
}

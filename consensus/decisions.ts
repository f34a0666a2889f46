/**
 * The last `keep` decisions with the validator set of their height, so a message for a finalized
 * height can be authenticated and its signer answered with the Decision. Their blocks together stay
 * under `maxBytes` (the newest is always kept): under full load 64 blocks of ~300 KB were ~20 MB,
 * the largest item on a validator's heap, and a peer further behind than a few heights catches up
 * by block sync anyway. Answers are rate-limited to one per (signer, height, view): a peer that
 * stays behind asks again only from a higher view (after its next timeout), so repeats cost us
 * nothing and the map is bounded by n per decision.
 */
import type { ValidatorSet } from './leader.js';
import { OldestFirst } from '../chain/oldest-first.js';
import type { Decision } from './types.js';

export interface StoredDecision {
  readonly decision: Decision;
  readonly set: ValidatorSet;
  /** hex(signer) → highest view we answered for. */
  readonly answered: Map<string, number>;
}

/** Default bound on the bytes of the blocks a DecisionLog keeps (two blocks of the largest size). */
export const DEFAULT_KEEP_DECISION_BYTES = 4 * 1024 * 1024;

export class DecisionLog {
  private readonly byHeight = new Map<number, StoredDecision>();
  private readonly oldest = new OldestFirst(this.byHeight);
  private blockBytes = 0;
  constructor(
    readonly keep: number,
    readonly maxBytes = DEFAULT_KEEP_DECISION_BYTES,
  ) {}

  /** Remember a decision, forgetting the oldest beyond `keep` decisions or `maxBytes` of blocks. */
  add(decision: Decision, set: ValidatorSet): void {
    if (this.keep <= 0) return;
    const replaced = this.byHeight.get(decision.height);
    if (replaced !== undefined) this.blockBytes -= replaced.decision.block.length;
    this.byHeight.set(decision.height, { decision, set, answered: new Map() });
    this.blockBytes += decision.block.length;
    this.oldest.trimTo(this.keep, this.forget);
    while (this.blockBytes > this.maxBytes && this.byHeight.size > 1) this.oldest.trimTo(this.byHeight.size - 1, this.forget);
  }

  /** An evicted decision's block no longer counts. */
  private readonly forget = ([, d]: [number, StoredDecision]): void => {
    this.blockBytes -= d.decision.block.length;
  };

  /** Decisions held now. */
  get size(): number {
    return this.byHeight.size;
  }

  get(height: number): StoredDecision | undefined {
    return this.byHeight.get(height);
  }

  /** True (and recorded) if `signerHex` should get the decision for a message in `view`. */
  shouldAnswer(stored: StoredDecision, signerHex: string, view: number): boolean {
    const last = stored.answered.get(signerHex);
    if (last !== undefined && view <= last) return false;
    stored.answered.set(signerHex, view);
    return true;
  }
}

/**
 * The last `keep` decisions with the validator set of their height, so a message for a finalized
 * height can be authenticated and its signer answered with the Decision. Answers are rate-limited to
 * one per (signer, height, view): a peer that stays behind asks again only from a higher view
 * (after its next timeout), so repeats cost us nothing and the map is bounded by n per decision.
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

export class DecisionLog {
  private readonly byHeight = new Map<number, StoredDecision>();
  private readonly oldest = new OldestFirst(this.byHeight);
  constructor(readonly keep: number) {}

  /** Remember a decision, forgetting the oldest beyond `keep`. */
  add(decision: Decision, set: ValidatorSet): void {
    if (this.keep <= 0) return;
    this.byHeight.set(decision.height, { decision, set, answered: new Map() });
    this.oldest.trimTo(this.keep);
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

/**
 * PREPARE and COMMIT votes of one height, one per (view, type, signer). Equivocation shows up here:
 * a second, different vote for an occupied slot is returned as a conflict rather than stored.
 * COMMITs are kept for any view (they finalize whatever view they are in) but only for the
 * MAX_COMMIT_VIEWS_PER_SIGNER highest views of each signer, so a faulty validator signing commits in
 * endless views cannot grow memory; honest validators commit in at most one view at a time.
 */
import { bytesEqual, toHex } from '../chain/hash.js';
import { MsgType, type Vote } from './types.js';

export const MAX_COMMIT_VIEWS_PER_SIGNER = 8;

export type AddResult = { readonly kind: 'added' } | { readonly kind: 'duplicate' } | { readonly kind: 'conflict'; readonly first: Vote } | { readonly kind: 'dropped' };

interface ViewVotes {
  readonly prepare: Map<string, Vote>;
  readonly commit: Map<string, Vote>;
}

export class VoteBook {
  private readonly views = new Map<number, ViewVotes>();
  private readonly commitViews = new Map<string, number[]>();

  private slot(view: number, type: Vote['type'], create: boolean): Map<string, Vote> | undefined {
    let v = this.views.get(view);
    if (v === undefined) {
      if (!create) return undefined;
      v = { prepare: new Map(), commit: new Map() };
      this.views.set(view, v);
    }
    return type === MsgType.Prepare ? v.prepare : v.commit;
  }

  /** The vote `signerHex` cast in (view, type), if any. */
  get(view: number, type: Vote['type'], signerHex: string): Vote | undefined {
    return this.slot(view, type, false)?.get(signerHex);
  }

  /** What adding `vote` would do, without adding it. */
  probe(vote: Vote, signerHex: string): AddResult | null {
    const prior = this.get(vote.view, vote.type, signerHex);
    if (prior === undefined) return null;
    return bytesEqual(prior.blockHash, vote.blockHash) ? { kind: 'duplicate' } : { kind: 'conflict', first: prior };
  }

  /** Store `vote` unless its slot is taken (duplicate / conflict) or it is an old commit beyond the per-signer cap. */
  add(vote: Vote, signerHex: string): AddResult {
    const prior = this.probe(vote, signerHex);
    if (prior !== null) return prior;
    if (vote.type === MsgType.Commit && !this.admitCommitView(vote.view, signerHex)) return { kind: 'dropped' };
    this.slot(vote.view, vote.type, true)!.set(signerHex, vote);
    return { kind: 'added' };
  }

  private admitCommitView(view: number, signerHex: string): boolean {
    const views = this.commitViews.get(signerHex) ?? [];
    if (views.length >= MAX_COMMIT_VIEWS_PER_SIGNER) {
      const lowest = Math.min(...views);
      if (view < lowest) return false;
      views.splice(views.indexOf(lowest), 1);
      this.slot(lowest, MsgType.Commit, false)?.delete(signerHex);
    }
    views.push(view);
    this.commitViews.set(signerHex, views);
    return true;
  }

  /** The votes in (view, type) for `blockHashHex`, in insertion order. */
  matching(view: number, type: Vote['type'], blockHashHex: string): Vote[] {
    const out: Vote[] = [];
    const slot = this.slot(view, type, false);
    if (slot === undefined) return out;
    for (const v of slot.values()) if (toHex(v.blockHash) === blockHashHex) out.push(v);
    return out;
  }
}

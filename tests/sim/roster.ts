/** Byzantine kind → behaviour wrapping the honest driver ('silent' is never booted: no behaviour). */
import type { Behaviour } from './driver.js';
import { conflictingVotes, equivocatingLeader, invalidProposal, silentLeader, type ByzContext } from './byzantine.js';
import { forgedSignatures, flood, replay, wrongViews } from './attacks.js';
import type { ByzantineKind } from './plan.js';

export function behaviourFor(kind: ByzantineKind, ctx: ByzContext): Behaviour | null {
  switch (kind) {
    case 'equivocating-leader':
      return equivocatingLeader(ctx);
    case 'conflicting-votes':
      return conflictingVotes(ctx);
    case 'invalid-proposal':
      return invalidProposal(ctx);
    case 'silent-leader':
      return silentLeader();
    case 'silent':
      return null;
    case 'replay':
      return replay(ctx);
    case 'forged-signatures':
      return forgedSignatures(ctx);
    case 'wrong-views':
      return wrongViews(ctx);
    case 'flood':
      return flood(ctx);
  }
}

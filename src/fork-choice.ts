/**
 * Fork choice (SPEC §1 MAX_REORG_DEPTH and FORK_POLL; docs/p2p.md "Fork resolution"): the ONE
 * place that decides whether this node leaves its chain for a conflicting branch. Pure: heights,
 * hashes and poll answers in, a verdict out. The IO around it (fetching the branch, polling,
 * disconnecting and connecting) is src/fork-resolver.ts.
 *
 * Heights: `forkHeight` is the last block both chains share; the branch starts at forkHeight + 1,
 * and switching disconnects our blocks forkHeight + 1 … ourTip (depth = ourTip − forkHeight).
 */
import { FORK_POLL_AGREE, FORK_POLL_PEERS, MAX_REORG_DEPTH } from '../chain/constants.js';
import { bytesEqual } from '../chain/hash.js';

/** Why a fork is refused, cheapest-to-know first. */
export const ForkRefusal = {
  /** A branch block's commit certificate is missing or does not verify (the peer is charged). */
  BadCertificates: 'bad-certificates',
  /** Switching would disconnect a finalized block: never done (a safety fault if the branch is certified). */
  CrossesFinalized: 'crosses-finalized',
  /** More than `maxDepth` (MAX_REORG_DEPTH = 1,000) blocks would be disconnected. */
  TooDeep: 'too-deep',
  /** Fewer than `pollSize` (7) distinct peers answered the poll: no decision is possible. */
  NotEnoughPeers: 'not-enough-peers',
  /** Fewer than `need` (5) of the polled peers hold the branch's block at the first divergent height. */
  NoMajority: 'no-majority',
} as const;
export type ForkRefusal = (typeof ForkRefusal)[keyof typeof ForkRefusal];

export type ForkDecision = { readonly switch: true } | { readonly switch: false; readonly reason: ForkRefusal };

/** One polled peer's answer: its best-chain hash at the polled height, or null (none, timeout, error). */
export interface PollAnswer {
  readonly peer: string;
  readonly hash: Uint8Array | null;
}

export interface ForkShape {
  /** Our tip height. */
  readonly ourTip: number;
  /** Our finalized height (≤ ourTip). */
  readonly finalizedHeight: number;
  /** Last height both chains share (≤ ourTip). */
  readonly forkHeight: number;
  /** Every branch block's certificate verified (default true). */
  readonly certificatesValid?: boolean;
  readonly maxDepth?: number;
}

export interface ForkInput extends ForkShape {
  /** The branch's block hash at forkHeight + 1 (what the poll asks about). */
  readonly candidateHash: Uint8Array;
  readonly answers: readonly PollAnswer[];
  /** Agreeing peers needed (FORK_POLL_AGREE = 5). */
  readonly need?: number;
  /** Peers a poll must reach (FORK_POLL_PEERS = 7). */
  readonly pollSize?: number;
}

function assertHeight(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${v}`);
}

/**
 * The checks that need no poll: certificates, finality, depth. The resolver runs this before
 * polling, so a branch that can never be taken costs no peer a request. Throws RangeError on
 * heights that are not a fork (negative, or past our tip, or finalized past the tip).
 */
export function checkForkShape(s: ForkShape): ForkDecision {
  assertHeight('ourTip', s.ourTip);
  assertHeight('finalizedHeight', s.finalizedHeight);
  assertHeight('forkHeight', s.forkHeight);
  if (s.finalizedHeight > s.ourTip) throw new RangeError(`finalized height ${s.finalizedHeight} is above the tip ${s.ourTip}`);
  if (s.forkHeight > s.ourTip) throw new RangeError(`fork height ${s.forkHeight} is above the tip ${s.ourTip}`);
  const maxDepth = s.maxDepth ?? MAX_REORG_DEPTH;
  if (s.certificatesValid === false) return { switch: false, reason: ForkRefusal.BadCertificates };
  if (s.forkHeight < s.finalizedHeight) return { switch: false, reason: ForkRefusal.CrossesFinalized };
  if (s.ourTip - s.forkHeight > maxDepth) return { switch: false, reason: ForkRefusal.TooDeep };
  return { switch: true };
}

/**
 * Switch only if the shape holds and at least `need` of `pollSize` DISTINCT polled peers answered
 * with `candidateHash` (a peer listed twice counts once; null answers count against).
 */
export function decideFork(input: ForkInput): ForkDecision {
  const shape = checkForkShape(input);
  if (!shape.switch) return shape;
  const pollSize = input.pollSize ?? FORK_POLL_PEERS;
  const need = input.need ?? FORK_POLL_AGREE;
  const byPeer = new Map<string, Uint8Array | null>();
  for (const a of input.answers) if (!byPeer.has(a.peer)) byPeer.set(a.peer, a.hash);
  if (byPeer.size < pollSize) return { switch: false, reason: ForkRefusal.NotEnoughPeers };
  let agree = 0;
  for (const h of byPeer.values()) if (h !== null && bytesEqual(h, input.candidateHash)) agree++;
  if (agree < need) return { switch: false, reason: ForkRefusal.NoMajority };
  return { switch: true };
}

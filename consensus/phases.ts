/**
 * The normal-case phases of one view: PRE-PREPARE → validate → PREPARE → (quorum) prepared →
 * COMMIT → (quorum) final, plus finalization from a Decision. Own votes are counted here directly;
 * the driver never loops broadcasts back.
 */
import { bytesEqual, toHex } from '../chain/hash.js';
import { MsgType } from './types.js';
import { bufferFutureView } from './admission.js';
import { checkCommitCertificate, safeHash } from './certificates.js';
import { ConsensusCode } from './errors.js';
import { leaderOf } from './leader.js';
import { signVote } from './messages.js';
import { signAndSend } from './signing.js';
import { extendTimer, isValidator, newRound, rejected, resetTimer, type EngineState } from './state.js';
import type { Bytes, CommitCertificate, Decision, Effect, PrePrepare, Vote } from './types.js';

/** The first `quorum` of `votes` in validator order: a deterministic, minimal certificate. */
export function pickQuorum(s: EngineState, votes: readonly Vote[]): Vote[] {
  const idx = (v: Vote) => s.set!.index.get(toHex(v.signer))!;
  return [...votes].sort((a, b) => idx(a) - idx(b)).slice(0, s.set!.quorum);
}

/** Report `second` as equivocation against `first`, once per (signer, view, type). */
export function reportEquivocation(s: EngineState, first: Vote | PrePrepare, second: Vote | PrePrepare, from: string | undefined, out: Effect[]): void {
  const key = `${toHex(second.signer)}:${second.view}:${second.type}`;
  if (s.round.evidence.has(key)) return rejected(out, ConsensusCode.Duplicate, 'equivocation already reported', from);
  s.round.evidence.add(key);
  out.push({
    kind: 'evidence',
    evidence: { kind: 'equivocation', offender: second.signer, height: second.height, view: second.view, msgType: second.type, first, second },
  });
}

/** An authenticated PRE-PREPARE outside a NEW-VIEW (view 0, or a copy of the NEW-VIEW's). */
export function onPrePrepare(s: EngineState, pp: PrePrepare, from: string | undefined, out: Effect[]): void {
  if (!bytesEqual(pp.signer, leaderOf(s.set!.keys, s.height, pp.view))) {
    return rejected(out, ConsensusCode.NotLeader, `signer does not lead view ${pp.view}`, from);
  }
  // Block bytes are not signed: check them before recording, or a relay could swap them and make
  // the genuine proposal look like a duplicate.
  const hash = safeHash(s.config.hashBlock, pp.block);
  if (hash === null || !bytesEqual(hash, pp.blockHash)) return rejected(out, ConsensusCode.HashMismatch, 'block does not hash to blockHash', from);
  const seen = s.round.proposals.get(pp.view);
  if (seen !== undefined) {
    if (bytesEqual(seen.blockHash, pp.blockHash)) return rejected(out, ConsensusCode.Duplicate, 'pre-prepare already seen', from);
    return reportEquivocation(s, seen, pp, from, out);
  }
  if (pp.view < s.view) return rejected(out, ConsensusCode.StaleView, `view ${pp.view} < ${s.view}`, from);
  if (pp.view > s.view || !s.active) return bufferFutureView(s, pp, from, out);
  if (pp.view > 0) return rejected(out, ConsensusCode.BadNewView, 'a pre-prepare for a view above 0 travels in its NEW-VIEW', from);
  acceptProposal(s, pp, out);
}

/** Make `pp` the current view's proposal: validate it (or use a known verdict) and maybe vote. */
export function acceptProposal(s: EngineState, pp: PrePrepare, out: Effect[]): void {
  s.round.proposals.set(pp.view, pp);
  const hex = toHex(pp.blockHash);
  if (isValidator(s)) {
    const verdict = s.round.validity.get(hex);
    if (verdict === true) sendPrepare(s, out);
    else if (verdict === undefined && !s.round.validating.has(hex)) {
      s.round.validating.add(hex);
      out.push({ kind: 'validate-block', height: s.height, view: pp.view, blockHash: pp.blockHash, block: pp.block });
    }
  }
  noteBlock(s, pp.blockHash, pp.block, out);
}

/** Remember block bytes of this height; completes a commit quorum that was waiting for them. */
export function noteBlock(s: EngineState, hash: Bytes, block: Bytes, out: Effect[]): void {
  const hex = toHex(hash);
  if (!s.round.blocks.has(hex)) s.round.blocks.set(hex, block);
  const waiting = s.round.finalWithoutBlock;
  if (waiting !== null && waiting.hashHex === hex) checkFinal(s, waiting.view, hex, out);
}

/** The driver's verdict on a block; the first verdict for a hash is the one that counts. */
export function onBlockValidated(s: EngineState, height: number, blockHash: Bytes, valid: boolean, out: Effect[]): void {
  if (!s.started || s.decided || height !== s.height) return;
  const hex = toHex(blockHash);
  s.round.validating.delete(hex);
  if (s.round.validity.has(hex)) return;
  s.round.validity.set(hex, valid);
  if (!valid) return rejected(out, ConsensusCode.InvalidBlock, `block ${hex} is invalid`);
  const pp = s.round.proposals.get(s.view);
  if (s.active && pp !== undefined && toHex(pp.blockHash) === hex) sendPrepare(s, out);
}

/** Sign and send our PREPARE for the current view's proposal (once per view). */
export function sendPrepare(s: EngineState, out: Effect[]): void {
  const pp = s.round.proposals.get(s.view);
  if (pp === undefined || !s.active || !isValidator(s) || s.round.sentPrepareView === s.view) return;
  const signer = s.config.signer!;
  const { height, view } = s;
  const sent = signAndSend(s, out, view, 'prepare', pp.blockHash, () => [signVote(signer, s.ctx.chainId, MsgType.Prepare, height, view, pp.blockHash)]);
  if (sent === null) return;
  s.round.sentPrepareView = view;
  s.round.votes.add(sent[0]!, s.selfHex!);
  extendTimer(s, out);
  checkPrepared(s, out);
}

/** With a quorum of PREPAREs matching our own: record the prepared certificate and COMMIT. */
function checkPrepared(s: EngineState, out: Effect[]): void {
  const { view, height } = s;
  if (!isValidator(s) || !s.active || s.round.sentPrepareView !== view || s.round.sentCommitView === view) return;
  const pp = s.round.proposals.get(view)!;
  const votes = s.round.votes.matching(view, MsgType.Prepare, toHex(pp.blockHash));
  if (votes.length < s.set!.quorum) return;
  s.prepared = { height, view, blockHash: pp.blockHash, block: pp.block, prepares: pickQuorum(s, votes) };
  const signer = s.config.signer!;
  const sent = signAndSend(s, out, view, 'commit', pp.blockHash, () => [signVote(signer, s.ctx.chainId, MsgType.Commit, height, view, pp.blockHash)]);
  if (sent === null) return;
  s.round.sentCommitView = view;
  s.round.votes.add(sent[0]!, s.selfHex!);
  checkFinal(s, view, toHex(pp.blockHash), out);
}

/**
 * An authenticated PREPARE or COMMIT. Conflicts are checked first, even for stale views, so
 * equivocation is caught whenever the first vote is still on record. PREPAREs count only in the
 * active view; COMMITs count in any view of this height, since a commit quorum is final whatever
 * view it formed in.
 */
export function onVote(s: EngineState, vote: Vote, from: string | undefined, out: Effect[]): void {
  const signerHex = toHex(vote.signer);
  const prior = s.round.votes.probe(vote, signerHex);
  if (prior?.kind === 'duplicate') return rejected(out, ConsensusCode.Duplicate, 'vote already counted', from);
  if (prior?.kind === 'conflict') return reportEquivocation(s, prior.first, vote, from, out);
  if (vote.type === MsgType.Prepare) {
    if (vote.view < s.view) return rejected(out, ConsensusCode.StaleView, `view ${vote.view} < ${s.view}`, from);
    if (vote.view > s.view || !s.active) return bufferFutureView(s, vote, from, out);
    s.round.votes.add(vote, signerHex);
    return checkPrepared(s, out);
  }
  if (s.round.votes.add(vote, signerHex).kind === 'dropped') {
    return rejected(out, ConsensusCode.StaleView, `commit view ${vote.view} is below the signer's retained views`, from);
  }
  checkFinal(s, vote.view, toHex(vote.blockHash), out);
}

/** Finalize if (view, hash) has a commit quorum and we hold the block's bytes. */
function checkFinal(s: EngineState, view: number, hashHex: string, out: Effect[]): void {
  const votes = s.round.votes.matching(view, MsgType.Commit, hashHex);
  if (votes.length < s.set!.quorum) return;
  const block = findBlock(s, hashHex);
  if (block === undefined) {
    s.round.finalWithoutBlock = { view, hashHex };
    return;
  }
  finalize(s, { height: s.height, view, blockHash: votes[0]!.blockHash, commits: pickQuorum(s, votes) }, block, out);
}

/** Bytes of a block of this height by hash: from what we accepted, or a buffered future proposal. */
function findBlock(s: EngineState, hashHex: string): Bytes | undefined {
  const known = s.round.blocks.get(hashHex);
  if (known !== undefined) return known;
  for (const e of s.buffer.peek((e) => e.height === s.height && e.msg.type === MsgType.PrePrepare)) {
    const pp = e.msg as PrePrepare;
    const h = safeHash(s.config.hashBlock, pp.block);
    if (h !== null && toHex(h) === hashHex) return pp.block;
  }
  return undefined;
}

/** A Decision for the current height: finalize if its certificate holds. */
export function onDecision(s: EngineState, d: Decision, from: string | undefined, out: Effect[]): void {
  const hash = safeHash(s.config.hashBlock, d.block);
  if (hash === null || !bytesEqual(hash, d.certificate.blockHash)) return rejected(out, ConsensusCode.HashMismatch, 'decision block does not match its certificate', from);
  const bad = checkCommitCertificate(s.ctx, s.set!, d.certificate, s.height);
  if (bad !== null) return rejected(out, bad.code, bad.detail, from);
  finalize(s, d.certificate, d.block, out);
}

/** Emit `commit`, remember the decision, and drop everything of this height. */
function finalize(s: EngineState, certificate: CommitCertificate, block: Bytes, out: Effect[]): void {
  const decision: Decision = { type: MsgType.Decision, height: s.height, block, certificate };
  out.push({ kind: 'commit', height: s.height, blockHash: certificate.blockHash, block, certificate });
  s.decisions.add(decision, s.set!);
  s.decided = true;
  s.active = false;
  resetTimer(s);
  s.prepared = null;
  s.round = newRound();
  s.buffer.take((e) => e.height <= s.height);
}

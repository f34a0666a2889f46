/**
 * Leaving a view: timeouts, VIEW-CHANGE, the f + 1 join rule, NEW-VIEW (built by the new leader,
 * checked by replicas), and the leader's proposals (driver `proposal` input) for any view.
 */
import { bytesEqual, toHex } from '../chain/hash.js';
import { MAX_BLOCK_SIZE } from '../chain/constants.js';
import { checkPreparedCertificate, safeHash } from './certificates.js';
import { ConsensusCode } from './errors.js';
import { leaderOf, weakQuorumSize } from './leader.js';
import { MAX_VIEW, signNewView, signPrePrepare, signViewChange, verifyMessageSignature } from './messages.js';
import { checkNewView, highestPrepared } from './new-view.js';
import { acceptProposal, noteBlock, reportEquivocation } from './phases.js';
import { signAndSend } from './signing.js';
import { isLeader, isValidator, rejected, scheduleTimer, type EngineState } from './state.js';
import type { Bytes, Effect, NewView, ViewChange } from './types.js';

/** A view timer fired: unless stale, ask for the next view. */
export function onTimeout(s: EngineState, height: number, view: number, out: Effect[]): void {
  if (!s.started || s.decided || !isValidator(s) || height !== s.height || view !== s.view || view >= MAX_VIEW) return;
  if (s.timerSkips > 0) {
    s.timerSkips--; // superseded by a restart on progress (extendTimer)
    return;
  }
  s.timerView = -1;
  sendViewChange(s, view + 1, out);
}

/** Move to view `w` (not yet active), send VIEW-CHANGE(w) with our highest prepared certificate. */
export function sendViewChange(s: EngineState, w: number, out: Effect[]): void {
  s.view = w;
  s.active = false;
  s.round.sentViewChangeView = w;
  const signer = s.config.signer!;
  const { height } = s;
  const sent = signAndSend(s, out, w, 'view-change', null, () => [signViewChange(signer, s.ctx.chainId, height, w, s.prepared)]);
  if (sent !== null) s.round.viewChanges.set(s.selfHex!, sent[0]!);
  scheduleTimer(s, out, w);
  maybeSendNewView(s, out);
}

/** An authenticated VIEW-CHANGE: keep each validator's highest one, then join or lead if due. */
export function onViewChange(s: EngineState, vc: ViewChange, from: string | undefined, out: Effect[]): void {
  if (vc.view === 0) return rejected(out, ConsensusCode.BadMessage, 'view change to view 0', from);
  const signerHex = toHex(vc.signer);
  const prior = s.round.viewChanges.get(signerHex);
  if (prior !== undefined && prior.view >= vc.view) {
    return rejected(out, prior.view === vc.view ? ConsensusCode.Duplicate : ConsensusCode.StaleView, `already hold a view change to ${prior.view}`, from);
  }
  if (vc.view < s.view) return rejected(out, ConsensusCode.StaleView, `view ${vc.view} < ${s.view}`, from);
  if (vc.prepared !== null) {
    const r = vc.prepared.view >= vc.view
      ? { code: ConsensusCode.BadCertificate, detail: 'prepared certificate not below the requested view' }
      : checkPreparedCertificate(s.ctx, s.set!, vc.prepared, s.height);
    if (r !== null) return rejected(out, r.code, r.detail, from);
  }
  s.round.viewChanges.set(signerHex, vc);
  if (vc.prepared !== null) noteBlock(s, vc.prepared.blockHash, vc.prepared.block, out);
  if (s.decided) return;
  maybeJoin(s, out);
  maybeSendNewView(s, out);
}

/** f + 1 validators want views above ours: at least one honest one timed out, so join the lowest. */
function maybeJoin(s: EngineState, out: Effect[]): void {
  if (!isValidator(s)) return;
  const above: number[] = [];
  for (const [k, vc] of s.round.viewChanges) if (k !== s.selfHex && vc.view > s.view) above.push(vc.view);
  if (above.length >= weakQuorumSize(s.set!.keys.length)) sendViewChange(s, Math.min(...above), out);
}

/** As leader of the view we are changing to, with a quorum of VIEW-CHANGEs: re-propose or ask for a block. */
function maybeSendNewView(s: EngineState, out: Effect[]): void {
  const w = s.view;
  if (w === 0 || s.active || !isLeader(s, w) || s.round.sentNewViewView >= w || s.round.pendingNewView?.view === w) return;
  const vcs = [...s.round.viewChanges.values()].filter((vc) => vc.view === w);
  if (vcs.length < s.set!.quorum) return;
  const idx = (vc: ViewChange) => s.set!.index.get(toHex(vc.signer))!;
  const selected = vcs.sort((a, b) => idx(a) - idx(b)).slice(0, s.set!.quorum);
  const best = highestPrepared(selected);
  if (best !== null) return sendNewView(s, w, selected, best.blockHash, best.block, out);
  s.round.pendingNewView = { view: w, viewChanges: selected };
  out.push({ kind: 'request-proposal', height: s.height, view: w });
}

function sendNewView(s: EngineState, w: number, selected: readonly ViewChange[], hash: Bytes, block: Bytes, out: Effect[]): void {
  const signer = s.config.signer!;
  const { height } = s;
  const sent = signAndSend(s, out, w, 'pre-prepare', hash, () => {
    const pp = signPrePrepare(signer, s.ctx.chainId, height, w, hash, block);
    return [signNewView(signer, s.ctx.chainId, height, w, selected, pp)];
  });
  if (sent === null) return;
  s.round.sentNewViewView = w;
  s.round.pendingNewView = null;
  activateView(s, sent[0]!, out);
}

/** Enter `nv.view` with its re-proposal, and have the engine replay what was buffered for it. */
function activateView(s: EngineState, nv: NewView, out: Effect[]): void {
  s.view = nv.view;
  s.active = true;
  s.round.newViews.set(nv.view, nv);
  scheduleTimer(s, out, nv.view);
  s.drainAgain = true;
  acceptProposal(s, nv.prePrepare, out);
}

/** An authenticated NEW-VIEW: follow it only if it fully checks out. */
export function onNewView(s: EngineState, nv: NewView, from: string | undefined, out: Effect[]): void {
  if (nv.view === 0) return rejected(out, ConsensusCode.BadNewView, 'no NEW-VIEW for view 0', from);
  if (!bytesEqual(nv.signer, leaderOf(s.set!.keys, s.height, nv.view))) return rejected(out, ConsensusCode.NotLeader, `signer does not lead view ${nv.view}`, from);
  const accepted = s.round.newViews.get(nv.view);
  if (accepted !== undefined) {
    const pp = nv.prePrepare;
    const conflicting = !bytesEqual(accepted.prePrepare.blockHash, pp.blockHash) && pp.height === s.height && pp.view === nv.view &&
      bytesEqual(pp.signer, nv.signer) && verifyMessageSignature(s.ctx, pp);
    if (!conflicting) return rejected(out, ConsensusCode.Duplicate, `already following view ${nv.view}`, from);
    return reportEquivocation(s, accepted.prePrepare, pp, from, out);
  }
  if (nv.view < s.view || (nv.view === s.view && s.active)) return rejected(out, ConsensusCode.StaleView, `view ${nv.view}, we are in ${s.view}`, from);
  const bad = checkNewView(s.ctx, s.set!, s.height, nv);
  if (bad !== null) return rejected(out, bad.code, bad.detail, from);
  activateView(s, nv, out);
}

/** The driver's block for our `request-proposal`; stale or unasked-for proposals are ignored. */
export function onProposal(s: EngineState, height: number, view: number, block: Bytes, out: Effect[]): void {
  if (!s.started || s.decided || height !== s.height || view !== s.view || !isLeader(s, view)) return;
  const pending = s.round.pendingNewView;
  const due = view === 0 ? s.active && !s.round.proposals.has(0) : pending !== null && pending.view === view && !s.active;
  if (!due) return;
  const hash = block.length <= MAX_BLOCK_SIZE ? safeHash(s.config.hashBlock, block) : null;
  if (hash === null) return rejected(out, ConsensusCode.InvalidBlock, 'own proposal is oversized or does not hash');
  // The driver built this block for us: no need to ask it to validate its own work.
  s.round.validity.set(toHex(hash), true);
  if (view > 0) return sendNewView(s, view, pending!.viewChanges, hash, block, out);
  const signer = s.config.signer!;
  const sent = signAndSend(s, out, 0, 'pre-prepare', hash, () => [signPrePrepare(signer, s.ctx.chainId, height, 0, hash, block)]);
  if (sent !== null) acceptProposal(s, sent[0]!, out);
}

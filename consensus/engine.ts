/**
 * The PBFT engine: a deterministic reducer `step(state, input) → { state, effects }` (docs/consensus.md).
 * No clock, timers, randomness or IO: time arrives as inputs, everything else leaves as effects.
 * The engine counts its own messages itself; a driver must NOT loop its broadcasts back.
 */
import { bytesEqual, toHex } from '../chain/hash.js';
import { answerStale, authenticate, bufferMessage, bufferNextHeight } from './admission.js';
import { ConsensusCode } from './errors.js';
import { leaderOf, makeValidatorSet, type ValidatorSet } from './leader.js';
import { checkShape, signViewChange } from './messages.js';
import { onBlockValidated, onDecision, onPrePrepare, onVote } from './phases.js';
import { signAndSend } from './signing.js';
import { initialState, isLeader, newRound, rejected, resetTimer, scheduleTimer, type EngineState } from './state.js';
import { MsgType, type Bytes, type ConsensusMessage, type Decision, type Effect, type Input, type PersistRecord } from './types.js';
import { onNewView, onProposal, onTimeout, onViewChange } from './view-change.js';

export { initialState, type EngineState };

/** The result of one step: the (same, updated) state and the effects to execute in order. */
export interface StepResult {
  readonly state: EngineState;
  readonly effects: Effect[];
}

/** Apply one input. The state is updated in place and returned; effects must be executed in order. */
export function step(state: EngineState, input: Input): StepResult {
  const out: Effect[] = [];
  switch (input.kind) {
    case 'start':
      onStart(state, input.height, input.validators, input.restored ?? null, out);
      break;
    case 'message':
      onMessage(state, input.msg, input.from, out);
      break;
    case 'timeout':
      onTimeout(state, input.height, input.view, out);
      break;
    case 'block-validated':
      onBlockValidated(state, input.height, input.blockHash, input.valid, out);
      break;
    case 'proposal':
      onProposal(state, input.height, input.view, input.block, out);
      break;
  }
  drain(state, out);
  return { state, effects: out };
}

function onStart(s: EngineState, height: number, validators: readonly Bytes[], restored: PersistRecord | null, out: Effect[]): void {
  if (!Number.isSafeInteger(height) || height < 0) return rejected(out, ConsensusCode.BadInput, `start height ${height}`);
  if (s.started && height <= s.height) {
    return rejected(out, ConsensusCode.StaleHeight, `start for height ${height}, already at ${s.height}${s.decided ? ' (final)' : ''}`);
  }
  let set: ValidatorSet;
  try {
    set = makeValidatorSet(validators);
  } catch (e) {
    return rejected(out, ConsensusCode.BadInput, (e as Error).message);
  }
  s.started = true;
  s.height = height;
  s.decided = false;
  s.set = set;
  s.view = 0;
  s.active = true;
  resetTimer(s);
  s.prepared = null;
  s.round = newRound();
  s.selfIndex = s.selfHex === null ? -1 : (set.index.get(s.selfHex) ?? -1);
  s.buffer.take((e) => e.height < height);
  applyRestore(s, restored, out);
  scheduleTimer(s, out, s.view);
  if (s.active && isLeader(s, s.view) && !signedAt(s.lastSigned, height, s.view)) out.push({ kind: 'request-proposal', height, view: s.view });
  s.drainAgain = true;
}

function signedAt(r: PersistRecord | null, height: number, view: number): boolean {
  return r !== null && r.height === height && r.view === view && r.blockHash !== null;
}

const RANK = { 'view-change': 0, 'pre-prepare': 1, prepare: 2, commit: 3 } as const;

function laterRecord(a: PersistRecord | null, b: PersistRecord): PersistRecord {
  if (a === null) return b;
  const ka = [a.height, a.view, RANK[a.phase]];
  const kb = [b.height, b.view, RANK[b.phase]];
  for (let i = 0; i < 3; i++) if (ka[i] !== kb[i]) return ka[i]! > kb[i]! ? a : b;
  return a;
}

/**
 * Resume from what we persisted: the guard takes the record, our prepared certificate comes back,
 * and we re-enter its view (not active above 0: that view's NEW-VIEW is gone, so we wait for its
 * timer). If we were changing view, the identical VIEW-CHANGE is re-signed and re-sent.
 */
function applyRestore(s: EngineState, r: PersistRecord | null, out: Effect[]): void {
  if (r === null) return;
  s.lastSigned = laterRecord(s.lastSigned, r);
  if (r.height !== s.height) return;
  if (r.prepared !== null && r.prepared.height === s.height) {
    s.prepared = r.prepared;
    s.round.blocks.set(toHex(r.prepared.blockHash), r.prepared.block);
  }
  s.view = r.view;
  s.active = r.view === 0 && r.phase !== 'view-change';
  if (r.phase !== 'view-change' || r.view === 0) return;
  s.round.sentViewChangeView = r.view;
  const signer = s.config.signer;
  if (signer === null || s.selfIndex < 0) return;
  const sent = signAndSend(s, out, r.view, 'view-change', null, () => [signViewChange(signer, s.ctx.chainId, s.height, r.view, s.prepared)]);
  if (sent !== null) s.round.viewChanges.set(s.selfHex!, sent[0]!);
}

/** Route a message by height, authenticate it, and hand it to its phase. */
function onMessage(s: EngineState, msg: ConsensusMessage, from: string | undefined, out: Effect[]): void {
  const malformed = checkShape(msg);
  if (malformed !== null) return rejected(out, malformed.code, malformed.detail, from);
  if (!s.started) return rejected(out, ConsensusCode.NotStarted, 'engine not started', from);
  if (msg.type === MsgType.Decision) return onDecisionMessage(s, msg, from, out);
  if (msg.height < s.height || (msg.height === s.height && s.decided)) return answerStale(s, msg, from, out);
  if (msg.height > s.height + 1) return rejected(out, ConsensusCode.FutureHeight, `height ${msg.height}, we are at ${s.height}`, from);
  if (msg.height === s.height + 1) return bufferNextHeight(s, msg, from, out);
  if (!authenticate(s, msg, from, out)) return;
  switch (msg.type) {
    case MsgType.PrePrepare:
      return onPrePrepare(s, msg, from, out);
    case MsgType.Prepare:
    case MsgType.Commit:
      return onVote(s, msg, from, out);
    case MsgType.ViewChange:
      return onViewChange(s, msg, from, out);
    case MsgType.NewView:
      return onNewView(s, msg, from, out);
  }
}

function onDecisionMessage(s: EngineState, d: Decision, from: string | undefined, out: Effect[]): void {
  if (d.height < s.height || (d.height === s.height && s.decided)) return rejected(out, ConsensusCode.StaleHeight, `height ${d.height} is finalized`, from);
  if (d.height > s.height + 1) return rejected(out, ConsensusCode.FutureHeight, `decision for height ${d.height}, we are at ${s.height}`, from);
  if (d.height === s.height + 1) return bufferMessage(s, d, 0, from, 'decision', out);
  onDecision(s, d, from, out);
}

/** Buffered entries that can be handled now: this height, and a view that is (or was) active. */
function isReady(s: EngineState, e: { height: number; view: number; msg: ConsensusMessage }): boolean {
  if (e.height !== s.height) return e.height < s.height;
  const viewGated = e.msg.type === MsgType.PrePrepare || e.msg.type === MsgType.Prepare;
  return !viewGated || e.view < s.view || (e.view === s.view && s.active);
}

/** Replay buffered messages whenever a step entered a new height or view. */
function drain(s: EngineState, out: Effect[]): void {
  if (s.draining) return;
  s.draining = true;
  try {
    while (s.drainAgain) {
      s.drainAgain = false;
      if (!s.started || s.decided) break;
      for (const e of s.buffer.take((e) => isReady(s, e))) {
        const viewGated = e.msg.type === MsgType.PrePrepare || e.msg.type === MsgType.Prepare;
        // Entries overtaken while they waited are dropped quietly: they were fine when they came.
        if (e.height < s.height || (viewGated && e.view < s.view)) continue;
        onMessage(s, e.msg, e.from, out);
      }
    }
  } finally {
    s.draining = false;
    s.drainAgain = false;
  }
}

/** What getconsensusinfo reports (SPEC §5). */
export interface ConsensusInfo {
  readonly height: number;
  readonly view: number;
  readonly phase: 'idle' | 'propose' | 'prepare' | 'commit' | 'view-change' | 'decided';
  readonly leader: Bytes | null;
  readonly validators: number;
  readonly f: number;
  readonly quorum: number;
}

/** A read-only summary of the engine for RPC and metrics. */
export function describe(s: EngineState): ConsensusInfo {
  const set = s.set;
  const base = { height: s.height, view: s.view, validators: set?.keys.length ?? 0, f: set?.f ?? 0, quorum: set?.quorum ?? 0 };
  const leader = set === null ? null : leaderOf(set.keys, Math.max(0, s.height), s.view);
  if (!s.started) return { ...base, phase: 'idle', leader };
  if (s.decided) return { ...base, phase: 'decided', leader };
  if (!s.active) return { ...base, phase: 'view-change', leader };
  const pp = s.round.proposals.get(s.view);
  if (pp === undefined) return { ...base, phase: 'propose', leader };
  const committing = s.prepared !== null && s.prepared.view === s.view && bytesEqual(s.prepared.blockHash, pp.blockHash);
  return { ...base, phase: committing ? 'commit' : 'prepare', leader };
}

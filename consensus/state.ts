/**
 * The engine's state and the small helpers every handler shares.
 *
 * Ownership: the state is a mutable object owned by whoever called initialState. `step` updates it
 * in place and returns the same object, so the caller must keep using the returned reference and not
 * hold on to an old one expecting it unchanged. Given equal state and input, `step` is
 * deterministic: no clock, no randomness, no iteration over anything but insertion-ordered maps.
 */
import { toHex } from '../chain/hash.js';
import { FutureBuffer } from './buffer.js';
import type { CertContext } from './certificates.js';
import { DecisionLog } from './decisions.js';
import type { ConsensusCode } from './errors.js';
import { leaderOf, type ValidatorSet } from './leader.js';
import type { Bytes, Effect, EngineConfig, NewView, PersistRecord, PreparedCertificate, PrePrepare, ViewChange } from './types.js';
import { VoteBook } from './vote-book.js';
import { OldestFirst } from '../chain/oldest-first.js';

/** Bound on remembered successful signature checks (a NEW-VIEW re-checks many of the same votes). */
export const SIG_CACHE_MAX = 8192;

/** Everything that belongs to one height and is dropped when it is finalized. */
export interface Round {
  /** Leader-signed PRE-PREPAREs seen per view (accepted as proposal, or conflicting evidence source). */
  readonly proposals: Map<number, PrePrepare>;
  /** Accepted NEW-VIEW per view. */
  readonly newViews: Map<number, NewView>;
  /** hex(hash) → block bytes known to hash to it (proposals, prepared certificates). */
  readonly blocks: Map<string, Bytes>;
  /** hex(hash) → the driver's verdict; absent while unknown. */
  readonly validity: Map<string, boolean>;
  readonly validating: Set<string>;
  readonly votes: VoteBook;
  /** hex(signer) → that validator's highest-view VIEW-CHANGE at this height. */
  readonly viewChanges: Map<string, ViewChange>;
  /** Evidence already reported: `${signer}:${view}:${type}`. */
  readonly evidence: Set<string>;
  sentPrepareView: number;
  sentCommitView: number;
  /** Highest view this replica sent a VIEW-CHANGE for: it never votes in a lower view again. */
  sentViewChangeView: number;
  sentNewViewView: number;
  /** Leader of a view with no prepared block, waiting for the driver's proposal. */
  pendingNewView: { readonly view: number; readonly viewChanges: readonly ViewChange[] } | null;
  /** A commit quorum seen before its block's bytes. */
  finalWithoutBlock: { readonly view: number; readonly hashHex: string } | null;
}

export interface EngineState {
  readonly config: EngineConfig;
  /** chainId, verify (through the cache below) and hashBlock. */
  readonly ctx: CertContext;
  readonly sigCache: Map<string, true>;
  readonly selfHex: string | null;
  started: boolean;
  /** Height in progress, or the last finalized one while `decided` (-1 before the first start). */
  height: number;
  decided: boolean;
  set: ValidatorSet | null;
  /** Position of our key in `set`, or -1 (follower: verifies and finalizes, never signs). */
  selfIndex: number;
  view: number;
  /** True once the current view's proposal may be accepted (view 0, or its NEW-VIEW is accepted). */
  active: boolean;
  /** View of the pending timer (-1: none), so a view is never timed twice. */
  timerView: number;
  /** View whose timer was restarted on progress (-1: none): at most once per view (`extendTimer`). */
  timerExtendedView: number;
  /** Timeouts of the current view still to ignore: the ones a restart superseded. */
  timerSkips: number;
  /** Highest prepared certificate at this height: carried in every VIEW-CHANGE and persist record. */
  prepared: PreparedCertificate | null;
  /** The last thing signed (or the restored record): the equivocation guard. */
  lastSigned: PersistRecord | null;
  round: Round;
  readonly buffer: FutureBuffer;
  readonly decisions: DecisionLog;
  /** Re-entrancy guard for buffer replay. */
  draining: boolean;
  drainAgain: boolean;
}

/** A fresh Round. */
export function newRound(): Round {
  return {
    proposals: new Map(),
    newViews: new Map(),
    blocks: new Map(),
    validity: new Map(),
    validating: new Set(),
    votes: new VoteBook(),
    viewChanges: new Map(),
    evidence: new Set(),
    sentPrepareView: -1,
    sentCommitView: -1,
    sentViewChangeView: -1,
    sentNewViewView: -1,
    pendingNewView: null,
    finalWithoutBlock: null,
  };
}

function cachedVerify(cache: Map<string, true>, verify: EngineConfig['verify']): EngineConfig['verify'] {
  const oldest = new OldestFirst(cache);
  return (publicKey, message, signature) => {
    const key = toHex(publicKey) + toHex(signature) + toHex(message);
    if (cache.has(key)) return true;
    const ok = verify(publicKey, message, signature);
    if (ok) {
      oldest.trimTo(SIG_CACHE_MAX - 1);
      cache.set(key, true);
    }
    return ok;
  };
}

/** The state of an engine that has not been started yet. */
export function initialState(config: EngineConfig): EngineState {
  if (!(config.chainId instanceof Uint8Array) || config.chainId.length !== 32) throw new RangeError('chainId must be 32 bytes');
  const sigCache = new Map<string, true>();
  return {
    config,
    ctx: { chainId: config.chainId, verify: cachedVerify(sigCache, config.verify), hashBlock: config.hashBlock },
    sigCache,
    selfHex: config.signer === null ? null : toHex(config.signer.publicKey),
    started: false,
    height: -1,
    decided: false,
    set: null,
    selfIndex: -1,
    view: 0,
    active: false,
    timerView: -1,
    timerExtendedView: -1,
    timerSkips: 0,
    prepared: null,
    lastSigned: null,
    round: newRound(),
    buffer: new FutureBuffer(config.maxBufferedMessages),
    decisions: new DecisionLog(config.keepDecisions, config.keepDecisionBytes),
    draining: false,
    drainAgain: false,
  };
}

/** True while the engine runs a height and this node is one of its validators. */
export function isValidator(s: EngineState): boolean {
  return s.config.signer !== null && s.selfIndex >= 0;
}

/** True if this node leads `view` at the current height. */
export function isLeader(s: EngineState, view: number): boolean {
  return isValidator(s) && s.set !== null && toHex(leaderOf(s.set.keys, s.height, view)) === s.selfHex;
}

/** Append a `rejected` effect. */
export function rejected(out: Effect[], code: ConsensusCode, detail: string, from?: string): void {
  out.push(from === undefined ? { kind: 'rejected', code, detail } : { kind: 'rejected', code, detail, from });
}

/** The view timer: baseMs × factor^view, capped at maxMs (the view number counts failed views at this height). */
export function timeoutFor(s: EngineState, view: number): number {
  const { baseMs, factor, maxMs } = s.config.timeouts;
  const ms = baseMs * Math.pow(factor, view);
  return Math.round(Number.isFinite(ms) ? Math.min(ms, maxMs) : maxMs);
}

/** Schedule the timer of `view` unless one is already pending for it; followers keep no timers. */
export function scheduleTimer(s: EngineState, out: Effect[], view: number): void {
  if (!isValidator(s) || s.timerView === view) return;
  s.timerView = view;
  s.timerSkips = 0;
  out.push({ kind: 'schedule-timeout', height: s.height, view, afterMs: timeoutFor(s, view) });
}

/**
 * Progress in the current view (we accepted its proposal and voted for it): restart the view's
 * timer once. Under load a round can be slow but moving; without this, a proposal that arrives
 * late in its view is validated by everyone and then abandoned by a view change just before it
 * would commit (seen in the cluster benchmark at max load). The timer already pending still fires
 * and is skipped. Once per view: a leader that stalls after proposing delays the view change by one
 * timer period at most.
 */
export function extendTimer(s: EngineState, out: Effect[]): void {
  const view = s.view;
  if (!isValidator(s) || s.timerView !== view || s.timerExtendedView === view) return;
  s.timerExtendedView = view;
  s.timerSkips++;
  out.push({ kind: 'schedule-timeout', height: s.height, view, afterMs: timeoutFor(s, view) });
}

/** Forget timer restarts: a new height (or a finished one) starts with none. */
export function resetTimer(s: EngineState): void {
  s.timerView = -1;
  s.timerExtendedView = -1;
  s.timerSkips = 0;
}

/**
 * Shared fixtures for the consensus unit tests: deterministic validator keys with real ed25519
 * signatures, an engine config, hand-made signed messages, and a tiny in-process cluster with
 * instant delivery (the seeded Byzantine simulator lives in tests/sim).
 */
import { createSigner, verifySignature, type Signer } from '../../chain/ed25519.js';
import { sha256, toHex } from '../../chain/hash.js';
import { initialState, step, type EngineState } from '../../consensus/engine.js';
import { leaderOf } from '../../consensus/leader.js';
import { signNewView, signPrePrepare, signViewChange, signVote } from '../../consensus/messages.js';
import {
  MsgType,
  type Bytes,
  type ConsensusMessage,
  type Effect,
  type EngineConfig,
  type Input,
  type NewView,
  type PersistRecord,
  type PreparedCertificate,
  type PrePrepare,
  type ViewChange,
  type Vote,
} from '../../consensus/types.js';

export const CHAIN_ID = sha256(new TextEncoder().encode('timecoin-test-chain'));
export const OTHER_CHAIN_ID = sha256(new TextEncoder().encode('another-chain'));
const enc = new TextEncoder();

/** Test blocks are arbitrary bytes; their hash is SHA-256 of the bytes. */
export const hashBlock = (b: Bytes): Bytes => sha256(b);
export const block = (label: string): Bytes => enc.encode(`block:${label}`);
export const hashOf = (label: string): Bytes => hashBlock(block(label));

const signerCache = new Map<string, Signer>();
/** The i-th deterministic test signer. */
export function signerAt(i: number, tag = 'validator'): Signer {
  const key = `${tag}:${i}`;
  let s = signerCache.get(key);
  if (s === undefined) {
    s = createSigner(sha256(enc.encode(key)));
    signerCache.set(key, s);
  }
  return s;
}

export function signers(n: number): Signer[] {
  return Array.from({ length: n }, (_, i) => signerAt(i));
}

export function makeConfig(signer: Signer | null, over: Partial<EngineConfig> = {}): EngineConfig {
  return {
    chainId: CHAIN_ID,
    signer,
    hashBlock,
    verify: verifySignature,
    timeouts: { baseMs: 1000, factor: 2, maxMs: 30_000 },
    maxBufferedMessages: 60,
    keepDecisions: 8,
    ...over,
  };
}

export const msgInput = (msg: ConsensusMessage, from?: string): Input => ({ kind: 'message', msg, now: 0, ...(from === undefined ? {} : { from }) });

export function prePrepare(s: Signer, height: number, view: number, label: string, chainId = CHAIN_ID): PrePrepare {
  return signPrePrepare(s, chainId, height, view, hashOf(label), block(label));
}
export function prepare(s: Signer, height: number, view: number, label: string, chainId = CHAIN_ID): Vote {
  return signVote(s, chainId, MsgType.Prepare, height, view, hashOf(label));
}
export function commit(s: Signer, height: number, view: number, label: string, chainId = CHAIN_ID): Vote {
  return signVote(s, chainId, MsgType.Commit, height, view, hashOf(label));
}
export function preparedCert(ss: readonly Signer[], height: number, view: number, label: string): PreparedCertificate {
  return { height, view, blockHash: hashOf(label), block: block(label), prepares: ss.map((s) => prepare(s, height, view, label)) };
}
export function viewChange(s: Signer, height: number, view: number, prepared: PreparedCertificate | null = null): ViewChange {
  return signViewChange(s, CHAIN_ID, height, view, prepared);
}
export function newView(leader: Signer, height: number, view: number, vcs: readonly ViewChange[], label: string): NewView {
  return signNewView(leader, CHAIN_ID, height, view, vcs, prePrepare(leader, height, view, label));
}

/** The signer leading (height, view) among `ss`. */
export function leaderAmong(ss: readonly Signer[], height: number, view: number): Signer {
  const key = toHex(leaderOf(ss.map((s) => s.publicKey), height, view));
  return ss.find((s) => toHex(s.publicKey) === key)!;
}

/** Index in `ss` of someone who does NOT lead (height, view) and is not `except`. */
export function nonLeaderIndex(ss: readonly Signer[], height: number, view: number, except = -1): number {
  const l = leaderAmong(ss, height, view);
  return ss.findIndex((s, i) => s !== l && i !== except);
}

export function kinds(effects: readonly Effect[]): string[] {
  return effects.map((e) => e.kind);
}
export function codes(effects: readonly Effect[]): string[] {
  return effects.flatMap((e) => (e.kind === 'rejected' ? [e.code] : []));
}
export function broadcasts(effects: readonly Effect[]): ConsensusMessage[] {
  return effects.flatMap((e) => (e.kind === 'broadcast' ? [e.msg] : []));
}
export function ofKind<K extends Effect['kind']>(effects: readonly Effect[], kind: K): Extract<Effect, { kind: K }>[] {
  return effects.filter((e): e is Extract<Effect, { kind: K }> => e.kind === kind);
}

/** One engine under test, with every effect it ever produced. */
export class Harness {
  state: EngineState;
  readonly log: Effect[] = [];
  constructor(readonly signer: Signer | null, readonly validators: readonly Signer[], over: Partial<EngineConfig> = {}) {
    this.state = initialState(makeConfig(signer, over));
  }
  step(input: Input): Effect[] {
    const { state, effects } = step(this.state, input);
    this.state = state;
    this.log.push(...effects);
    return effects;
  }
  start(height = 1, restored: PersistRecord | null = null): Effect[] {
    return this.step(startInput(height, this.validators, restored));
  }
  deliver(msg: ConsensusMessage, from?: string): Effect[] {
    return this.step(msgInput(msg, from));
  }
  validated(height: number, view: number, label: string, valid = true): Effect[] {
    return this.step({ kind: 'block-validated', height, view, blockHash: hashOf(label), valid, now: 0 });
  }
  timeout(height: number, view: number): Effect[] {
    return this.step({ kind: 'timeout', height, view, now: 0 });
  }
  propose(height: number, view: number, label: string): Effect[] {
    return this.step({ kind: 'proposal', height, view, block: block(label), now: 0 });
  }
}

export function startInput(height: number, validators: readonly Signer[], restored: PersistRecord | null = null): Input {
  return { kind: 'start', height, validators: validators.map((s) => s.publicKey), now: 0, restored };
}

export interface ClusterOptions {
  readonly over?: Partial<EngineConfig>;
  /** Validity verdict the drivers give for a block. */
  readonly valid?: (block: Bytes) => boolean;
  /** After a commit at a height below this, start the next height (default: stop after height 1). */
  readonly untilHeight?: number;
}

/**
 * n engines with instant FIFO delivery, drivers that validate and propose immediately, and
 * timers fired only on request. Broadcasts go to every other live node (never back to the sender).
 */
export class Cluster {
  readonly nodes: Harness[];
  readonly queue: { to: number; input: Input }[] = [];
  readonly commits: { height: number; hash: string; view: number }[][];
  readonly timers: { height: number; view: number }[][];
  readonly crashed = new Set<number>();
  /** Return true to drop a message from `from` to `to`. */
  drop: (from: number, to: number, msg: ConsensusMessage) => boolean = () => false;
  messages = 0;
  steps = 0;
  constructor(readonly validators: readonly Signer[], readonly opts: ClusterOptions = {}) {
    this.nodes = validators.map((s) => new Harness(s, validators, opts.over));
    this.commits = validators.map(() => []);
    this.timers = validators.map(() => []);
  }
  startAll(height = 1): void {
    this.nodes.forEach((_, i) => this.queue.push({ to: i, input: startInput(height, this.validators) }));
    this.run();
  }
  run(maxSteps = 200_000): void {
    while (this.queue.length > 0) {
      if (++this.steps > maxSteps) throw new Error('cluster did not quiesce');
      const { to, input } = this.queue.shift()!;
      if (this.crashed.has(to)) continue;
      this.handle(to, this.nodes[to]!.step(input));
    }
  }
  /** Fire every pending timer of every live node once, then deliver. */
  fireTimers(): void {
    this.nodes.forEach((_, i) => {
      const pending = this.timers[i]!.splice(0);
      if (this.crashed.has(i)) return;
      for (const t of pending) this.queue.push({ to: i, input: { kind: 'timeout', height: t.height, view: t.view, now: 0 } });
    });
    this.run();
  }
  indexOf(key: Bytes): number {
    const hex = toHex(key);
    return this.validators.findIndex((s) => toHex(s.publicKey) === hex);
  }
  private deliver(from: number, to: number, msg: ConsensusMessage): void {
    if (this.crashed.has(to) || this.drop(from, to, msg)) return;
    this.messages++;
    this.queue.push({ to, input: msgInput(msg, `n${from}`) });
  }
  private handle(i: number, effects: readonly Effect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case 'broadcast':
          this.nodes.forEach((_, j) => j !== i && this.deliver(i, j, e.msg));
          break;
        case 'send':
          this.deliver(i, this.indexOf(e.to), e.msg);
          break;
        case 'validate-block':
          this.queue.push({ to: i, input: { kind: 'block-validated', height: e.height, view: e.view, blockHash: e.blockHash, valid: this.opts.valid?.(e.block) ?? true, now: 0 } });
          break;
        case 'request-proposal':
          this.queue.push({ to: i, input: { kind: 'proposal', height: e.height, view: e.view, block: block(`h${e.height}v${e.view}n${i}`), now: 0 } });
          break;
        case 'schedule-timeout':
          this.timers[i]!.push({ height: e.height, view: e.view });
          break;
        case 'commit':
          this.commits[i]!.push({ height: e.height, hash: toHex(e.blockHash), view: e.certificate.view });
          if (e.height < (this.opts.untilHeight ?? 1)) this.queue.push({ to: i, input: startInput(e.height + 1, this.validators) });
          break;
        default:
          break;
      }
    }
  }
}

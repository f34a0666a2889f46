/**
 * The per-node driver: one engine instance plus the IO the real node does around it, executed
 * exactly as the node's driver will (consensus/types.ts contract):
 *
 *  - inputs are serialized: an input arriving while a step's effects run waits its turn;
 *  - a step's effects run in order, and `persist` is durable before the next effect runs;
 *  - broadcast/send go to the network and never back to this instance (the engine counts its
 *    own messages internally);
 *  - schedule-timeout, request-proposal and validate-block become delayed inputs on the clock;
 *  - commit appends to the simulated chain (which, like the persist record, survives a crash)
 *    and, once the step's remaining effects have run, starts the next height.
 *
 * A crash drops the engine state, the input backlog and every pending timer of this
 * incarnation; restart begins again from the disk (`start` with `restored`). A crash can also
 * be armed to strike in the middle of a step's effect list, to test persist-before-send.
 * Byzantine variants plug in through `Behaviour` (byzantine.ts) and sign with their own keys.
 */
import type { Signer } from '../../chain/ed25519.js';
import { bytesEqual, toHex } from '../../chain/hash.js';
import { MsgType, type Bytes, type CommitCertificate, type ConsensusMessage, type Effect, type EngineConfig, type Input, type PersistRecord } from '../../consensus/types.js';
import { encodeBlock, hashBlock, isValidBlock } from './blocks.js';
import type { SafetyChecker } from './checkers.js';
import type { Rng } from './prng.js';

/** The engine's pure interface (consensus/engine.ts), generic so tests can wrap it. */
export interface EngineModule<S> {
  initialState(config: EngineConfig): S;
  step(state: S, input: Input): { state: S; effects: readonly Effect[] };
}

/** An input that arrives later (timer, proposal, verdict); `now` is filled in when it fires. */
type WithoutNow<T> = T extends unknown ? Omit<T, 'now'> : never;
export type DelayedInput = WithoutNow<Extract<Input, { kind: 'timeout' | 'block-validated' | 'proposal' }>>;

/** What a driver needs from the simulated world. */
export interface World {
  now(): number;
  /** Deliver `input` to instance `node` after `delayMs`, unless it has crashed since (incarnation). */
  later(node: number, incarnation: number, delayMs: number, input: DelayedInput): void;
  /** Number of node instances (validators, twin copies, followers). */
  readonly instances: number;
  /** To every other instance. */
  broadcast(from: number, msg: ConsensusMessage): void;
  /** To every other instance that runs `key` (two, for a twinned key). */
  sendTo(from: number, key: Bytes, msg: ConsensusMessage): void;
  /** To one instance. */
  unicast(from: number, to: number, msg: ConsensusMessage): void;
  /** Arbitrary bytes to one instance, as a Byzantine peer can put anything on the wire. */
  sendRaw(from: number, to: number, bytes: Uint8Array): void;
  /** Block sync: ask instance `to` for finalized blocks from `height` on (see SimNode.serveSync). */
  syncRequest(from: number, to: number, height: number): void;
  /** Run `fn` after `delayMs` of virtual time. */
  action(delayMs: number, fn: () => void): void;
  readonly checker: SafetyChecker;
  readonly validators: readonly Bytes[];
  /** Parent hash of height 1. */
  readonly genesisHash: Bytes;
  /** Driver-level block sync on (default); off shows what the engine's own catch-up achieves. */
  readonly blockSync: boolean;
}

/** Hooks for Byzantine variants; an honest node has none. Each returns true when it took over. */
export interface Behaviour {
  readonly name: string;
  /** How many times the attack actually fired (a run where it never did proves nothing). */
  attacks: number;
  /** Replaces sending one outgoing message (`to` null = broadcast). */
  outgoing?(node: SimNode, msg: ConsensusMessage, to: Bytes | null): boolean;
  /** Replaces building a proposal; returning null answers nothing (silent leader). */
  propose?(node: SimNode, height: number, view: number): Bytes | null;
  /** Sees every message delivered to the node. */
  incoming?(node: SimNode, msg: ConsensusMessage): void;
  /** Called every `tickMs` while the node is up. */
  tick?(node: SimNode): void;
  readonly tickMs?: number;
}

export interface Disk {
  record: PersistRecord | null;
  readonly chain: { readonly hash: Bytes; readonly block: Bytes; readonly certificate: CommitCertificate }[];
}

export class SimNode {
  state: unknown = null;
  up = false;
  incarnation = 0;
  readonly disk: Disk = { record: null, chain: [] };
  readonly rejected = new Map<string, number>();
  evidence = 0;
  steps = 0;
  syncRequests = 0;
  syncPushes = 0;
  private syncQuietUntil = -1;
  /** peer → `${height}/${view}` last pushed to it, so one stuck view costs one answer. */
  private readonly pushed = new Map<number, string>();
  /** The message whose step is running, if any (to answer a stale one from the chain store). */
  private current: ConsensusMessage | null = null;
  /** When set, the node crashes after executing this many more effects. */
  private crashAfterEffects: number | null = null;
  /** When set, the node crashes right after its next outgoing message of this type leaves. */
  private crashAfterSending: number | null = null;
  /** Crashes that struck with effects of the step still unexecuted (persist-before-send tests). */
  midStepCrashes = 0;
  private readonly backlog: Input[] = [];
  private busy = false;

  constructor(
    readonly index: number,
    readonly signer: Signer,
    readonly honest: boolean,
    readonly rng: Rng,
    private readonly engine: EngineModule<unknown>,
    readonly config: EngineConfig,
    readonly world: World,
    readonly behaviour: Behaviour | null = null,
  ) {}

  get height(): number {
    return this.disk.chain.length;
  }

  get tipHash(): Bytes {
    return this.disk.chain[this.disk.chain.length - 1]?.hash ?? this.world.genesisHash;
  }

  /** Boot (first start, or restart after a crash) from what is on disk. */
  boot(): void {
    if (this.up) throw new Error(`instance ${this.index} booted while up`);
    this.up = true;
    this.state = this.engine.initialState(this.config);
    this.input({ kind: 'start', height: this.height + 1, validators: this.world.validators, now: this.world.now(), restored: this.disk.record });
    this.scheduleTick();
  }

  crash(): void {
    this.up = false;
    this.state = null;
    this.incarnation++; // orphans every pending timer, proposal and verdict of the old process
    this.backlog.length = 0;
    this.crashAfterEffects = null;
    this.crashAfterSending = null;
    // The node process's memory goes too (only the disk survives).
    this.pushed.clear();
    this.syncQuietUntil = -1;
    this.current = null;
  }

  /** Arm a crash that strikes after `k` more effects have executed (possibly mid-step). */
  armCrash(k: number): void {
    this.crashAfterEffects = k;
  }

  /** Arm a crash that strikes just after the node's next signed message of `type` is sent. */
  armCrashOnSend(type: number): void {
    this.crashAfterSending = type;
  }

  /** Cancel an armed crash (faults end at heal). */
  disarm(): void {
    this.crashAfterEffects = null;
    this.crashAfterSending = null;
  }

  get armed(): boolean {
    return this.crashAfterEffects !== null || this.crashAfterSending !== null;
  }

  deliver(msg: ConsensusMessage, from: number): void {
    if (!this.up) return;
    this.behaviour?.incoming?.(this, msg);
    this.input({ kind: 'message', msg, now: this.world.now(), from: String(from) });
  }

  fire(incarnation: number, input: DelayedInput): void {
    if (!this.up || incarnation !== this.incarnation) return;
    this.input({ ...input, now: this.world.now() } as Input);
  }

  /** Serialize inputs: steps never interleave, even when an effect produces a new input. */
  input(input: Input): void {
    if (!this.up) return;
    this.backlog.push(input);
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.up && this.backlog.length > 0) this.runStep(this.backlog.shift()!);
    } finally {
      this.busy = false;
    }
  }

  private runStep(input: Input): void {
    this.current = input.kind === 'message' ? input.msg : null;
    let out: { state: unknown; effects: readonly Effect[] };
    this.steps++;
    try {
      out = this.engine.step(this.state, input);
    } catch (err) {
      // A throwing reducer is a bug (a Byzantine message must not be able to kill a node).
      const e = err as Error;
      this.world.checker.fail('engine-error', `instance ${this.index} on ${input.kind}: ${e.stack ?? String(e)}`);
      return;
    }
    this.state = out.state;
    const effects = out.effects;
    for (let i = 0; i < effects.length; i++) {
      if (this.crashAfterEffects !== null) {
        if (this.crashAfterEffects === 0) return this.crashNow(effects.length - i);
        this.crashAfterEffects--;
      }
      const e = effects[i]!;
      this.execute(e);
      if (!this.up) return;
      if (this.crashAfterSending !== null && (e.kind === 'broadcast' || e.kind === 'send') && e.msg.type === this.crashAfterSending) {
        return this.crashNow(effects.length - i - 1);
      }
    }
  }

  private crashNow(remainingEffects: number): void {
    if (remainingEffects > 0 || this.backlog.length > 0) this.midStepCrashes++;
    this.crash();
  }

  private execute(e: Effect): void {
    const w = this.world;
    switch (e.kind) {
      case 'broadcast':
      case 'send': {
        const to = e.kind === 'send' ? e.to : null;
        if (this.honest) w.checker.onSigned(e.msg);
        if (this.behaviour?.outgoing?.(this, e.msg, to)) return;
        if (to === null) w.broadcast(this.index, e.msg);
        else w.sendTo(this.index, to, e.msg);
        return;
      }
      case 'schedule-timeout':
        w.later(this.index, this.incarnation, e.afterMs, { kind: 'timeout', height: e.height, view: e.view });
        return;
      case 'persist':
        // A copy: the disk must hold what was written now, whatever later happens to the object.
        this.disk.record = structuredClone(e.record);
        return;
      case 'request-proposal': {
        const block = this.behaviour?.propose ? this.behaviour.propose(this, e.height, e.view) : this.buildBlock(e.height, e.view, 0);
        if (block === null) return;
        // 80–330 ms: the node waits for transactions or its idle interval before proposing; it
        // also keeps a run to a handful of heights per virtual second.
        w.later(this.index, this.incarnation, 80 + this.rng.int(250), { kind: 'proposal', height: e.height, view: e.view, block });
        return;
      }
      case 'validate-block': {
        const valid = e.height === this.height + 1 && isValidBlock(e.block, e.blockHash, e.height, this.tipHash);
        if (this.honest) w.checker.onValidated(e.blockHash, valid);
        w.later(this.index, this.incarnation, 1 + this.rng.int(20), { kind: 'block-validated', height: e.height, view: e.view, blockHash: e.blockHash, valid });
        return;
      }
      case 'commit':
        this.commit(e);
        return;
      case 'evidence':
        this.evidence++;
        if (this.honest) w.checker.onEvidence(this.index, e.evidence);
        return;
      case 'rejected':
        this.rejected.set(e.code, (this.rejected.get(e.code) ?? 0) + 1);
        if (e.code === 'future-height' && e.from !== undefined) this.requestSync(Number(e.from));
        if (e.code === 'stale-height' && e.from !== undefined) this.pushSync(Number(e.from));
        return;
      default: {
        const never: never = e;
        throw new Error(`unknown effect ${JSON.stringify(never)}`);
      }
    }
  }

  private commit(e: Extract<Effect, { kind: 'commit' }>): void {
    const w = this.world;
    if (this.honest) w.checker.onCommit(this.index, e.height, e.blockHash, e.certificate);
    if (!bytesEqual(hashBlock(e.block), e.blockHash)) w.checker.fail('validity', `instance ${this.index} committed bytes that do not hash to ${toHex(e.blockHash)}`);
    if (e.height !== this.height + 1) return; // reported by the checker (commit-order); the chain cannot take it
    this.disk.chain.push({ hash: e.blockHash, block: e.block, certificate: e.certificate });
    // Queued behind the rest of this step's effects, as the node's serialized driver would.
    this.backlog.push({ kind: 'start', height: e.height + 1, validators: w.validators, now: w.now(), restored: null });
  }

  /**
   * Block sync, standing in for p2p/'s: the engine only remembers its last few decisions, and a
   * restarted peer none, so a node that hears of heights beyond its next one asks the sender for
   * the finalized blocks it misses (at most every 200 ms). The answer is served from the peer's
   * chain store as DECISION messages, which the engine checks like any other: certificate and
   * block hash, against its own validator set.
   */
  private requestSync(peer: number): void {
    const now = this.world.now();
    if (!this.world.blockSync) return;
    if (now < this.syncQuietUntil || !Number.isInteger(peer) || peer === this.index) return;
    this.syncQuietUntil = now + 200;
    this.syncRequests++;
    this.world.syncRequest(this.index, peer, this.height + 1);
  }

  /**
   * The other half of block sync: a peer timing out (VIEW-CHANGE / NEW-VIEW) at a height this node
   * has finalized is stuck there; send it the block from the chain store. The engine does the same
   * from its in-memory decision log, which a restart empties — without this, peers one height
   * behind restarted peers wait forever (they hear only next-height traffic, which they buffer).
   */
  private pushSync(peer: number): void {
    const m = this.current;
    if (!this.world.blockSync) return;
    if (m === null || (m.type !== MsgType.ViewChange && m.type !== MsgType.NewView) || m.height > this.height) return;
    const key = `${m.height}/${m.view}`;
    if (!Number.isInteger(peer) || peer === this.index || this.pushed.get(peer) === key) return;
    this.pushed.set(peer, key);
    this.syncPushes++;
    this.serveSync(peer, m.height);
  }

  /** Answer a sync request with the next two finalized blocks (the engine buffers one height ahead). */
  serveSync(to: number, height: number): void {
    if (!this.up) return;
    for (let h = height; h < height + 2 && h >= 1 && h <= this.height; h++) {
      const { block, certificate } = this.disk.chain[h - 1]!;
      this.world.unicast(this.index, to, { type: MsgType.Decision, height: h, block, certificate });
    }
  }

  /** An honest block on this node's tip; `flags` lets a Byzantine proposer mark it invalid. */
  buildBlock(height: number, view: number, flags: number, parent: Bytes = this.tipHash): Bytes {
    return encodeBlock({ flags, height, view, proposer: this.signer.publicKey, parent, builder: this.index, nonce: this.rng.bytes(8) });
  }

  private scheduleTick(): void {
    const b = this.behaviour;
    if (b?.tick === undefined || b.tickMs === undefined) return;
    const inc = this.incarnation;
    const tick = (): void => {
      if (!this.up || inc !== this.incarnation) return; // a crashed attacker stops attacking
      b.tick!(this);
      this.world.action(b.tickMs!, tick);
    };
    this.world.action(b.tickMs, tick);
  }
}

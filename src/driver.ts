/**
 * The consensus driver: the only place where the pure engine's effects become IO (docs/node.md).
 *
 *  - Every input (start, peer message, timeout, validation verdict, proposal) goes through one
 *    queue and is stepped one at a time; an input produced while a step runs waits its turn.
 *  - A step's effects run in order, each awaited: `persist` is fsynced before the next effect
 *    (so a vote never leaves before its record is durable), `commit` is in the store before the
 *    next one. Broadcasts go to the transport and are never looped back (the engine counts its
 *    own messages).
 *  - A final block is committed in memory at once (the store holds its batch: a non-durable
 *    connect) and lands on disk, fsynced, while the next height starts: its proposal is built and
 *    validated in the meantime. The next `persist` waits for that landing, so nothing is signed
 *    on top of a final block that is not on disk (docs/node.md "Commit and the next height").
 *  - After a commit, `start` for the next height follows once that step's effects are done. A
 *    validator first waits for work: transactions in the mempool (plus a short batching delay)
 *    or the idle block interval since the tip's timestamp. Waiting *before* `start` keeps the
 *    view timer from running while there is nothing to propose; a waiting node that hears
 *    consensus traffic for that height (p2p) starts at once (`onPeerMessage`).
 *  - Any IO failure stops the driver (nothing after a failed persist or commit may run) and is
 *    reported through `onFatal`; `close()` lets the running step finish, so a shutdown never
 *    abandons a step between its persist and its broadcast or mid-commit.
 */
import type { Logger } from 'pino';
import { decodeBlock, type Block } from '../chain/block.js';
import { bytesEqual, toHex } from '../chain/hash.js';
import type { Mempool } from '../chain/mempool.js';
import type { ChainStore, LoadedInputs } from '../chain/store.js';
import { encodeCommitCertificate } from '../consensus/codec.js';
import { describe, initialState, step, type ConsensusInfo, type EngineState } from '../consensus/engine.js';
import { faultTolerance, leaderOf, quorumSize } from '../consensus/leader.js';
import { MsgType, type Bytes, type ConsensusMessage, type Effect, type EngineConfig, type Input, type PersistRecord } from '../consensus/types.js';
import type { BlockChecks } from './block-checks.js';
import type { EvidencePool } from '../chain/evidence-pool.js';
import { equivocationEvidence } from '../consensus/evidence-proof.js';
import { SigningRecordFile } from './consensus-state.js';
import type { FinalityTracker } from './finality.js';
import type { Metrics } from './metrics.js';

/** Where broadcasts and directed sends go (p2p/ plugs in here; null until it exists). */
export interface Transport {
  broadcast(msg: ConsensusMessage): void;
  send(to: Bytes, msg: ConsensusMessage): void;
}

export interface DriverOptions {
  readonly engine: EngineConfig;
  readonly store: ChainStore;
  readonly mempool: Mempool;
  readonly checks: BlockChecks;
  readonly finality: FinalityTracker;
  /** The signing record file (src/consensus-state.ts). */
  readonly stateFile: string;
  readonly validatorsAt: (height: number) => readonly Bytes[];
  /** Who receives this node's block rewards (null: not a validator). */
  readonly rewardPublicKey: Uint8Array | null;
  readonly idleBlockIntervalMs: number;
  /** After the first transaction arrives, wait this long for more before starting a height. */
  readonly txBatchDelayMs: number;
  /**
   * Start a height that has transactions no sooner than this after the tip's timestamp (default 0):
   * under a moderate load, fewer and larger blocks (CometBFT's timeout_commit). Never past the idle interval.
   */
  readonly minBlockIntervalMs?: number;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: Metrics | null;
  readonly transport: Transport | null;
  readonly onFatal: (err: Error) => void;
  /** Where detected offences wait for a block (kind-3 transactions; null: dropped). */
  readonly evidence?: EvidencePool | null;
  /** A peer's consensus message was refused (p2p charges provable misbehaviour; null: ignored). */
  readonly onRejected?: ((from: string, code: string) => void) | null;
}

const MSG_NAMES: Record<number, string> = { 1: 'pre_prepare', 2: 'prepare', 3: 'commit', 4: 'view_change', 5: 'new_view', 6: 'decision' };

/** Work run in the driver's queue between two engine steps (block sync, src/block-sync.ts). */
interface External {
  readonly kind: 'external';
  readonly run: () => Promise<boolean>;
  readonly done: (changed: boolean) => void;
}

/** A height waiting for work before its `start`. */
interface Gate {
  readonly height: number;
  readonly restored: PersistRecord | null;
  /** When the idle interval since the tip's timestamp runs out. */
  readonly idleDueAt: number;
  /** Not before this, however many transactions wait (the minimum block interval since the tip's timestamp). */
  readonly minDueAt: number;
  /** Set when the first transaction showed up: start no later than this. */
  txDueAt: number | null;
  timer: NodeJS.Timeout | null;
}

export class ConsensusDriver {
  private state: EngineState;
  private readonly queue: (Input | External)[] = [];
  private pumping: Promise<void> | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private gate: Gate | null = null;
  private closed = false;
  private failure: Error | null = null;
  private roundStartedAt = 0;
  private readonly log: Logger;
  /** The last final block's write to disk while it is in flight: every `persist` waits for it. */
  private landing: Promise<void> | null = null;
  /**
   * Blocks this node decoded (validated or proposed), keyed by the very bytes object the engine
   * hands back in `commit`: a commit then skips decoding thousands of transactions again.
   */
  private readonly decoded = new WeakMap<Uint8Array, { block: Block; inputs: LoadedInputs | undefined }>();

  /** The signing record on disk (one writer: it remembers which certificate file it wrote). */
  private readonly record: SigningRecordFile;

  constructor(private readonly o: DriverOptions) {
    this.record = new SigningRecordFile(o.stateFile);
    this.state = initialState(o.engine);
    this.log = o.logger;
  }

  /** Resume from the store's tip and the signing record: start at once if a round was in flight. */
  async boot(): Promise<void> {
    const record = await this.record.load();
    const height = this.o.store.tip().height + 1;
    const tipTs = await this.o.checks.tipTimestamp();
    if (record !== null) this.log.info({ height: record.height, view: record.view, phase: record.phase }, 'signing record restored');
    this.openGate(height, record, tipTs, record !== null && record.height === height);
  }

  /**
   * Run `fn` in the queue, never concurrently with a step (so no engine commit races it). If it
   * returns true (it connected blocks), the engine state is dropped and the driver boots again at
   * the store's new tip + 1 (restoring the signing record if it is for that height). Resolves to
   * fn's result, or false if the driver stopped before it ran.
   */
  runExclusive(fn: () => Promise<boolean>): Promise<boolean> {
    if (this.closed || this.failure !== null) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => this.enqueue({ kind: 'external', run: fn, done: resolve }));
  }

  /** The mempool gained transactions: a waiting validator starts its height soon. */
  onTransactionsAvailable(): void {
    const g = this.gate;
    if (g === null || g.txDueAt !== null || this.o.mempool.size === 0) return;
    g.txDueAt = this.txDue(g);
    this.armGate(g);
  }

  /** A consensus message from a peer (p2p/): queued like every other input. */
  onPeerMessage(msg: ConsensusMessage, from: string): void {
    const g = this.gate;
    // Someone is already working on the height we wait for: join in now.
    if (g !== null && msg.height >= g.height) this.startGated(g);
    this.enqueue({ kind: 'message', msg, now: this.o.now(), from });
  }

  /** getconsensusinfo: the engine's view, or the height being waited for. */
  info(): ConsensusInfo {
    const g = this.gate;
    if (g !== null) return waitingAt(g.height, this.o.validatorsAt(g.height));
    if (this.state.started) return describe(this.state);
    // Booting, or booting again after block sync replaced the engine state: the engine knows no
    // height yet, but the next one is the store's tip + 1 (a null leader here once broke callers).
    const height = this.o.store.tip().height + 1;
    return waitingAt(height, this.o.validatorsAt(height));
  }

  /** False once an IO failure stopped the driver. */
  get healthy(): boolean {
    return this.failure === null && !this.closed;
  }

  /** Stop taking inputs, cancel timers, and wait for the running step (and its commit) to finish. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearGate();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.dropQueue();
    await this.pumping;
    // The store's close lands it anyway; a failure here was already reported through onFatal.
    await this.landing?.catch(() => undefined);
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout | null {
    if (this.closed || this.failure !== null) return null;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, Math.max(0, ms));
    this.timers.add(t);
    return t;
  }

  private enqueue(input: Input | External, front = false): void {
    if (this.closed || this.failure !== null) {
      if (input.kind === 'external') input.done(false);
      return;
    }
    if (front) this.queue.unshift(input);
    else this.queue.push(input);
    if (this.pumping !== null) return;
    this.pumping = (async () => {
      try {
        while (this.queue.length > 0 && !this.closed && this.failure === null) await this.runStep(this.queue.shift()!);
      } catch (err) {
        this.fail(err as Error);
      } finally {
        this.pumping = null;
      }
    })();
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.clearGate();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.dropQueue();
    this.log.fatal({ err }, 'consensus driver stopped');
    this.o.onFatal(err);
  }

  private dropQueue(): void {
    for (const q of this.queue.splice(0)) if (q.kind === 'external') q.done(false);
  }

  private async runStep(input: Input | External): Promise<void> {
    if (input.kind === 'external') {
      let changed = false;
      try {
        changed = await input.run();
      } finally {
        input.done(changed);
      }
      if (changed) {
        this.state = initialState(this.o.engine);
        await this.boot();
      }
      return;
    }
    const { state, effects } = step(this.state, input);
    this.state = state;
    let next: { height: number; tipTs: number } | null = null;
    for (const e of effects) {
      const committed = await this.execute(e);
      if (committed !== null) next = committed;
    }
    if (next !== null) this.openGate(next.height, null, next.tipTs, false);
  }

  /** Run one effect; a commit returns the next height and the new tip's timestamp. */
  private async execute(e: Effect): Promise<{ height: number; tipTs: number } | null> {
    switch (e.kind) {
      case 'broadcast':
      case 'send':
        this.sent(e.msg);
        if (e.kind === 'broadcast') this.o.transport?.broadcast(e.msg);
        else this.o.transport?.send(e.to, e.msg);
        return null;
      case 'schedule-timeout':
        this.later(e.afterMs, () => this.enqueue({ kind: 'timeout', height: e.height, view: e.view, now: this.o.now() }));
        return null;
      case 'persist':
        // Nothing is signed on top of a final block before that block is on disk.
        if (this.landing !== null) await this.landing;
        this.record.save(e.record);
        return null;
      case 'request-proposal':
        await this.propose(e.height, e.view);
        return null;
      case 'validate-block':
        await this.validate(e);
        return null;
      case 'commit':
        return this.commit(e);
      case 'evidence':
        this.o.evidence?.add(equivocationEvidence(e.evidence));
        this.o.metrics?.byzantineDetected.inc({ kind: e.evidence.kind });
        this.log.warn({ kind: e.evidence.kind, offender: toHex(e.evidence.offender), height: e.evidence.height, view: e.evidence.view }, 'byzantine behaviour detected');
        return null;
      case 'rejected':
        this.log.debug({ code: e.code, detail: e.detail, from: e.from }, 'consensus input rejected');
        if (e.from !== undefined) this.o.onRejected?.(e.from, e.code);
        return null;
    }
  }

  private sent(msg: ConsensusMessage): void {
    if (this.o.transport !== null) this.o.metrics?.p2pMessages.inc({ type: MSG_NAMES[msg.type] ?? 'other', direction: 'out' });
    if (msg.type !== MsgType.ViewChange) return;
    this.o.metrics?.viewChanges.inc();
    this.endRound();
    this.log.warn({ height: msg.height, view: msg.view }, 'view change');
  }

  private endRound(): void {
    const t = this.o.now();
    this.o.metrics?.consensusRounds.inc();
    this.o.metrics?.consensusRoundDuration.observe(Math.max(0, t - this.roundStartedAt) / 1000);
    this.roundStartedAt = t;
  }

  private async propose(height: number, view: number): Promise<void> {
    const signer = this.o.engine.signer;
    if (signer === null || this.o.rewardPublicKey === null) return;
    const made = await this.o.checks.propose(height, view, signer, this.o.rewardPublicKey, this.o.mempool);
    if (made === null) return;
    if (made.fallback !== null) this.log.error({ height, reason: made.fallback }, 'mempool yielded an invalid block; proposing an empty one');
    this.log.debug({ height, view, txs: made.block.txs.length - 1 }, 'proposing');
    this.decoded.set(made.block.bytes, { block: made.block, inputs: made.inputs });
    this.enqueue({ kind: 'proposal', height, view, block: made.block.bytes, now: this.o.now() });
  }

  private async validate(e: Extract<Effect, { kind: 'validate-block' }>): Promise<void> {
    const v = await this.o.checks.validate(e.block, e.height, e.view);
    if (v.valid) this.decoded.set(e.block, { block: v.block, inputs: v.inputs });
    if (!v.valid) this.log.warn({ height: e.height, view: e.view, hash: toHex(e.blockHash), reason: v.reason }, 'proposed block refused');
    this.enqueue({ kind: 'block-validated', height: e.height, view: e.view, blockHash: e.blockHash, valid: v.valid, now: this.o.now() });
  }

  /** Store the final block with its certificate (one batch), then update the pool and waiters. */
  private async commit(e: Extract<Effect, { kind: 'commit' }>): Promise<{ height: number; tipTs: number }> {
    const known = this.decoded.get(e.block);
    // Needed only until this commit: the engine keeps these bytes for 64 heights (its decision log,
    // for lagging peers), which would keep the decoded block and its inputs alive that long
    // (~100 MB under load, found by the memory benchmark).
    this.decoded.delete(e.block);
    const block = known?.block ?? decodeBlock(e.block);
    const tip = this.o.store.tip();
    if (e.height !== tip.height + 1 || block.header.height !== e.height || !bytesEqual(block.header.prevHash, tip.hash)) {
      throw new Error(`final block ${e.height} ${toHex(e.blockHash)} does not extend the stored tip ${tip.height} ${toHex(tip.hash)}`);
    }
    // Validation's loaded inputs spare the connect a second read of them (used only at the same tip).
    // Held, not written: the batch lands (fsynced) while the next height starts; see `land`.
    await this.o.store.connectBlock(block, encodeCommitCertificate(e.certificate), { final: true, inputs: known?.inputs, durable: false });
    this.land();
    const removed = this.o.mempool.removeForBlock(block);
    this.o.evidence?.removeForBlock(block);
    this.o.finality.onFinal(block);
    const m = this.o.metrics;
    this.endRound();
    const signer = this.o.engine.signer;
    if (signer !== null && bytesEqual(block.header.proposer, signer.publicKey)) m?.blocksProduced.inc();
    m?.chainHeight.set(e.height);
    m?.finalizedHeight.set(e.height);
    m?.mempoolTransactions.set(this.o.mempool.size);
    m?.utxoSetSize.set(this.o.store.utxoStats().count);
    this.log.info(
      { height: e.height, hash: toHex(block.hash), txs: block.txs.length - 1, view: e.certificate.view, conflicts: removed.conflicts.length },
      'block final',
    );
    return { height: e.height + 1, tipTs: block.header.timestampMs };
  }

  /**
   * Write the held final block to disk (one fsynced batch) without holding up the next height: on
   * a loaded validator that write took 55–450 ms of every round (docs/performance.md). The next
   * `persist` waits for it; a failed write stops the driver like a failed commit.
   */
  private land(): void {
    const landing = this.o.store.flush();
    this.landing = landing;
    landing.then(
      () => {
        if (this.landing === landing) this.landing = null;
      },
      (err: Error) => this.fail(err),
    );
  }

  private openGate(height: number, restored: PersistRecord | null, tipTs: number, immediately: boolean): void {
    const g: Gate = { height, restored, idleDueAt: tipTs + this.o.idleBlockIntervalMs, minDueAt: tipTs + (this.o.minBlockIntervalMs ?? 0), txDueAt: null, timer: null };
    this.clearGate();
    this.gate = g;
    const validator = this.o.engine.signer !== null && this.o.validatorsAt(height).some((k) => bytesEqual(k, this.o.engine.signer!.publicKey));
    // Followers keep no timers and propose nothing: nothing to wait for.
    if (immediately || !validator) return this.startGated(g);
    if (this.o.mempool.size > 0) g.txDueAt = this.txDue(g);
    this.armGate(g);
  }

  /** When a gate whose first transactions arrived now opens: after the batching delay and the minimum interval. */
  private txDue(g: Gate): number {
    return Math.max(this.o.now() + this.o.txBatchDelayMs, g.minDueAt);
  }

  private armGate(g: Gate): void {
    if (g.timer !== null) {
      clearTimeout(g.timer);
      this.timers.delete(g.timer);
    }
    const due = g.txDueAt === null ? g.idleDueAt : Math.min(g.txDueAt, g.idleDueAt);
    // A timer may fire a millisecond before `now()` reaches `due` (libuv's cached loop time): wait out
    // the rest, so the idle and minimum intervals hold exactly by the clock the block is stamped with.
    g.timer = this.later(due - this.o.now(), () => (this.o.now() < due ? this.armGate(g) : this.startGated(g)));
  }

  private clearGate(): void {
    const g = this.gate;
    if (g?.timer != null) {
      clearTimeout(g.timer);
      this.timers.delete(g.timer);
    }
    this.gate = null;
  }

  private startGated(g: Gate): void {
    if (this.gate !== g) return;
    this.clearGate();
    this.roundStartedAt = this.o.now();
    const validators = this.o.validatorsAt(g.height);
    this.enqueue({ kind: 'start', height: g.height, validators, now: this.o.now(), restored: g.restored }, true);
  }
}

/** What getconsensusinfo says of a height no round has started for yet: view 0, idle. */
function waitingAt(height: number, validators: readonly Bytes[]): ConsensusInfo {
  const n = validators.length;
  return { height, view: 0, phase: 'idle', leader: leaderOf(validators, height, 0), validators: n, f: faultTolerance(n), quorum: quorumSize(n) };
}

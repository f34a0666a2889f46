/**
 * Fork resolution (docs/p2p.md "Fork resolution"): what the node does when a peer's certified
 * chain conflicts with its own.
 *
 *   1. find the fork height with the peer over `/timecoin/forkpoll/1` (its hash at our tip, at
 *      the lowest height we could ever go back to — max(finalized, tip − 1,000) — then a binary
 *      search between);
 *   2. fetch the peer's branch over `/timecoin/sync/1` and verify EVERY block's commit
 *      certificate (a missing or invalid one: refused and the peer charged, before any poll);
 *   3. the no-poll checks of src/fork-choice.ts (finality, depth), then poll 7 distinct random
 *      peers for their hash at the first divergent height and apply `decideFork`;
 *   4. only then, inside the driver's queue: disconnect down to the fork point and connect the
 *      branch, re-checking each certificate against the validator set of its height and
 *      validating each block; any failure restores the old branch. The mempool drops what the
 *      branch settled and re-admits the disconnected transactions; `reorg_depth` is observed.
 *
 * In this node every connected block is final (the driver and block sync connect with
 * `final: true`), so on a running node a conflicting certified chain always ends at
 * `crosses-finalized`, which is a SAFETY FAULT (≥ f + 1 validators signed two blocks at one
 * height) and is logged at error level. The switch path serves a store whose tip is above its
 * finalized pointer (blocks connected without `final`).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { decodeBlock, type Block } from '../chain/block.js';
import { MAX_REORG_DEPTH } from '../chain/constants.js';
import { verifySignature } from '../chain/ed25519.js';
import type { EvidencePool } from '../chain/evidence-pool.js';
import { bytesEqual, toHex } from '../chain/hash.js';
import type { Mempool } from '../chain/mempool.js';
import type { ChainPointer, ChainStore } from '../chain/store.js';
import type { Transaction } from '../chain/transaction.js';
import { checkCommitCertificate } from '../consensus/certificates.js';
import { decodeCommitCertificate } from '../consensus/codec.js';
import { makeValidatorSet } from '../consensus/leader.js';
import type { CommitCertificate } from '../consensus/types.js';
import { P2pCode } from '../p2p/errors.js';
import type { BlockChecks } from './block-checks.js';
import { decodeSyncResponse, encodeSyncRequest, SYNC_MAX_COUNT, type SyncEntry } from './block-sync.js';
import { checkForkShape, decideFork, ForkRefusal, type PollAnswer } from './fork-choice.js';
import { askPeer, pollPeers, type ForkNet } from './fork-poll.js';
import type { Logger } from './logger.js';

/** Every reason a resolution ends without a switch: fork choice's, plus the resolver's own. */
export const ResolveRefusal = {
  ...ForkRefusal,
  /** The peer holds our tip block (or nothing there): nothing to resolve. */
  NoConflict: 'no-conflict',
  /** The peer did not answer the fork search or the branch fetch. */
  Unreachable: 'unreachable',
  /** The peer's chain differs at genesis: another chain, not a fork. */
  OtherChain: 'other-chain',
  /** Our tip changed while the fork was being resolved: try again later. */
  TipMoved: 'tip-moved',
  /** A certified branch block failed validation while connecting: the old branch was restored. */
  ConnectFailed: 'connect-failed',
  /** Another resolution is running, or this peer was refused moments ago. */
  Busy: 'busy',
  /** The driver stopped before the switch could run. */
  Stopped: 'stopped',
} as const;
export type ResolveRefusal = (typeof ResolveRefusal)[keyof typeof ResolveRefusal];

export type ForkOutcome =
  | { readonly switched: true; readonly forkHeight: number; readonly depth: number; readonly from: string; readonly to: string }
  | { readonly switched: false; readonly reason: ResolveRefusal; readonly detail: string };

/** A branch offered by a peer: blocks forkHeight + 1, … with their certificates, and how to poll. */
export interface Candidate {
  /** Charged when the branch's certificates or blocks are invalid (null: nobody to charge). */
  readonly peer: string | null;
  readonly forkHeight: number;
  readonly entries: readonly SyncEntry[];
  /** Poll peers for their hash at a height (normally `pollPeers`). */
  readonly poll: (height: number) => Promise<readonly PollAnswer[]>;
}

export interface ForkResolverOptions {
  readonly net: ForkNet;
  readonly store: ChainStore;
  readonly checks: Pick<BlockChecks, 'validate'>;
  /** Runs the switch in the driver's queue (`ConsensusDriver.runExclusive`). */
  readonly runExclusive: (fn: () => Promise<boolean>) => Promise<boolean>;
  readonly chainId: Uint8Array;
  readonly log: Logger;
  readonly mempool?: Mempool | null;
  readonly evidence?: EvidencePool | null;
  /** The `reorg_depth` histogram. */
  readonly reorgDepth?: { observe(value: number): void } | null;
  /** After the switch, once per branch block (finality waiters, gauges). */
  readonly onConnected?: (block: Block) => void;
  readonly maxDepth?: number;
  readonly pollCount?: number;
  readonly need?: number;
  readonly pollTimeoutMs?: number;
  /** A refused peer is not resolved with again for this long (default 30 s). */
  readonly cooldownMs?: number;
  readonly now?: () => number;
}

/** forkpoll allows a burst of 10 then 1/s per peer: past 8 requests in one search, keep to that pace. */
const PACE_AFTER = 8;
const PACE_MS = 1_100;

interface BranchBlock {
  readonly block: Block;
  readonly certBytes: Uint8Array;
  readonly cert: CommitCertificate;
}

const refuse = (reason: ResolveRefusal, detail: string): ForkOutcome => ({ switched: false, reason, detail });

/** Resolves conflicts reported by block sync (see the file comment). */
export class ForkResolver {
  private busy: Promise<ForkOutcome> | null = null;
  private readonly refusedUntil = new Map<string, number>();

  constructor(private readonly o: ForkResolverOptions) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Block sync met a conflicting certified block from `peer` at `height`: resolve in the background. */
  onConflict(peer: string, height: number): void {
    const until = this.refusedUntil.get(peer) ?? 0;
    if (this.busy !== null || until > this.now()) return;
    this.o.log.info({ peer, height }, 'conflicting chain met');
    this.busy = this.resolve(peer)
      .catch((err: Error) => this.done(peer, refuse(ResolveRefusal.Unreachable, err.message)))
      .finally(() => (this.busy = null));
  }

  /** The resolution in flight, if any (tests and shutdown wait for it). */
  get running(): Promise<ForkOutcome> | null {
    return this.busy;
  }

  /** Find the fork with `peer`, fetch and verify its branch, poll, decide, and switch or refuse. */
  async resolve(peer: string): Promise<ForkOutcome> {
    const { store } = this.o;
    const tip = store.tip();
    const fin = store.finalized();
    let found: { forkHeight: number } | { below: number } | null;
    try {
      found = await this.findFork(peer, tip, fin);
    } catch (err) {
      return this.done(peer, refuse(ResolveRefusal.Unreachable, `fork search: ${(err as Error).message}`));
    }
    if (found === null) return this.done(peer, refuse(ResolveRefusal.NoConflict, `peer holds our tip ${tip.height}`));
    if ('below' in found) return this.divergesBelow(peer, tip, fin, found.below);
    const from = found.forkHeight + 1;
    let entries: SyncEntry[];
    try {
      entries = await this.fetch(peer, from, tip.height + 1 - found.forkHeight);
    } catch (err) {
      return this.done(peer, refuse(ResolveRefusal.Unreachable, `branch fetch: ${(err as Error).message}`));
    }
    return this.consider({
      peer,
      forkHeight: found.forkHeight,
      entries,
      poll: (h) => pollPeers(this.o.net, h, { count: this.o.pollCount, timeoutMs: this.o.pollTimeoutMs }),
    });
  }

  /** Steps 2–4 for a branch already fetched: verify, decide, switch. */
  async consider(c: Candidate): Promise<ForkOutcome> {
    const { store } = this.o;
    const tip = store.tip();
    const fin = store.finalized();
    if (!Number.isSafeInteger(c.forkHeight) || c.forkHeight < 0) throw new RangeError(`fork height ${c.forkHeight}`);
    if (c.forkHeight > tip.height) return this.done(c.peer, refuse(ResolveRefusal.TipMoved, `fork height ${c.forkHeight} is above our tip ${tip.height}`));
    const forkHash = (await store.getBlockHash(c.forkHeight))!;
    const branch = this.verifyBranch(c.forkHeight, forkHash, c.entries);
    if (typeof branch === 'string') {
      if (c.peer !== null) this.o.net.penalize(c.peer, P2pCode.HandlerRejected);
      return this.done(c.peer, refuse(ResolveRefusal.BadCertificates, branch));
    }
    const ours = await store.getBlockHash(c.forkHeight + 1);
    if (ours !== undefined && bytesEqual(ours, branch[0]!.block.hash)) return this.done(c.peer, refuse(ResolveRefusal.NoConflict, `same block at ${c.forkHeight + 1}`));
    const shape = { ourTip: tip.height, finalizedHeight: fin.height, forkHeight: c.forkHeight, maxDepth: this.o.maxDepth ?? MAX_REORG_DEPTH };
    const pre = checkForkShape(shape);
    if (!pre.switch) return this.done(c.peer, refuse(pre.reason, `fork at ${c.forkHeight}, tip ${tip.height}, finalized ${fin.height}`), true);
    const answers = await c.poll(c.forkHeight + 1);
    const candidateHash = branch[0]!.block.hash;
    const d = decideFork({ ...shape, candidateHash, answers, need: this.o.need, pollSize: this.o.pollCount });
    if (!d.switch) {
      const agree = answers.filter((a) => a.hash !== null && bytesEqual(a.hash, candidateHash)).length;
      return this.done(c.peer, refuse(d.reason, `${agree} of ${answers.length} polled peers hold ${toHex(candidateHash)} at ${c.forkHeight + 1}`));
    }
    return this.done(c.peer, await this.switchTo(c.peer, tip, c.forkHeight, branch));
  }

  /** Log a refusal (safety faults at error level) and remember the peer for the cooldown. */
  private done(peer: string | null, out: ForkOutcome, certified = false): ForkOutcome {
    if (out.switched) return out;
    if (peer !== null && out.reason !== ResolveRefusal.Busy) {
      if (this.refusedUntil.size > 1024) this.refusedUntil.clear();
      this.refusedUntil.set(peer, this.now() + (this.o.cooldownMs ?? 30_000));
    }
    if (out.reason === ResolveRefusal.CrossesFinalized && certified) {
      this.o.log.error({ peer, reason: out.reason, detail: out.detail }, 'SAFETY FAULT: a certified chain conflicts with a finalized block (≥ f + 1 validators signed both); refused');
    } else if (out.reason === ResolveRefusal.NoConflict) {
      this.o.log.debug({ peer, reason: out.reason, detail: out.detail }, 'fork refused');
    } else {
      this.o.log.warn({ peer, reason: out.reason, detail: out.detail }, 'fork refused');
    }
    return out;
  }

  /** The peer differs from us at `floor` already: verify its block there, then refuse (finality or depth). */
  private async divergesBelow(peer: string, tip: ChainPointer, fin: ChainPointer, floor: number): Promise<ForkOutcome> {
    if (floor === 0) return this.done(peer, refuse(ResolveRefusal.OtherChain, 'the peer has another genesis block'));
    let entries: SyncEntry[];
    try {
      entries = await this.fetch(peer, floor, 1);
    } catch (err) {
      return this.done(peer, refuse(ResolveRefusal.Unreachable, `block fetch: ${(err as Error).message}`));
    }
    const bad = entries.length === 0 ? 'the peer serves no certified block at the height it claims' : this.checkEntry(entries[0]!, floor, null, makeValidatorSet(this.o.store.validatorSetAt(floor)));
    if (typeof bad === 'string') {
      this.o.net.penalize(peer, P2pCode.HandlerRejected);
      return this.done(peer, refuse(ResolveRefusal.BadCertificates, bad));
    }
    const shape = checkForkShape({ ourTip: tip.height, finalizedHeight: fin.height, forkHeight: floor - 1, maxDepth: this.o.maxDepth ?? MAX_REORG_DEPTH });
    const reason = shape.switch ? ResolveRefusal.TooDeep : shape.reason;
    return this.done(peer, refuse(reason, `the peer's certified chain differs at height ${floor} (tip ${tip.height}, finalized ${fin.height})`), true);
  }

  /**
   * Highest height both chains share, searched with forkpoll between max(finalized, tip − maxDepth)
   * and the tip; null if the peer holds our tip (no conflict); {below} if it differs there already.
   */
  private async findFork(peer: string, tip: ChainPointer, fin: ChainPointer): Promise<{ forkHeight: number } | { below: number } | null> {
    let asked = 0;
    const ask = async (h: number): Promise<Uint8Array | null> => {
      if (asked++ >= PACE_AFTER) await delay(PACE_MS);
      return askPeer(this.o.net, peer, h, this.o.pollTimeoutMs);
    };
    const agrees = async (h: number): Promise<boolean> => {
      const theirs = await ask(h);
      return theirs !== null && bytesEqual(theirs, (await this.o.store.getBlockHash(h))!);
    };
    const atTip = await ask(tip.height);
    if (atTip === null || bytesEqual(atTip, tip.hash)) return null;
    const floor = Math.max(fin.height, tip.height - (this.o.maxDepth ?? MAX_REORG_DEPTH));
    if (floor === tip.height || !(await agrees(floor))) return { below: floor };
    let lo = floor; // agrees
    let hi = tip.height; // differs
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (await agrees(mid)) lo = mid;
      else hi = mid;
    }
    return { forkHeight: lo };
  }

  /** Up to `count` certified blocks from `from` over sync, in requests of at most SYNC_MAX_COUNT. */
  private async fetch(peer: string, from: number, count: number): Promise<SyncEntry[]> {
    const out: SyncEntry[] = [];
    while (out.length < count) {
      const want = Math.min(SYNC_MAX_COUNT, count - out.length);
      const res = decodeSyncResponse(await this.o.net.request(peer, 'sync', encodeSyncRequest(from + out.length, want)));
      out.push(...res.entries);
      if (res.entries.length < want) break;
    }
    return out;
  }

  /**
   * Every branch block decodes, links to the one before (the first to our block at forkHeight),
   * and carries a commit certificate for its hash and height that holds against the validator set
   * at the fork point + 1. That set is exact for the first block; a branch that changes its own set
   * may be refused here (conservative), and the connect path re-checks each block exactly.
   */
  private verifyBranch(forkHeight: number, forkHash: Uint8Array, entries: readonly SyncEntry[]): BranchBlock[] | string {
    if (entries.length === 0) return 'the peer offers no branch blocks';
    const set = makeValidatorSet(this.o.store.validatorSetAt(forkHeight + 1));
    const out: BranchBlock[] = [];
    let prev = forkHash;
    for (const [i, e] of entries.entries()) {
      const r = this.checkEntry(e, forkHeight + 1 + i, prev, set);
      if (typeof r === 'string') return r;
      out.push(r);
      prev = r.block.hash;
    }
    return out;
  }

  /** One certified block at `height` (linking to `prev` unless null); its problem as a string. */
  private checkEntry(e: SyncEntry, height: number, prev: Uint8Array | null, set: ReturnType<typeof makeValidatorSet>): BranchBlock | string {
    let cert: CommitCertificate;
    let block: Block;
    try {
      cert = decodeCommitCertificate(e.cert);
      block = decodeBlock(e.block);
    } catch (err) {
      return `block ${height}: ${(err as Error).message}`;
    }
    if (block.header.height !== height) return `block at ${height} says height ${block.header.height}`;
    if (prev !== null && !bytesEqual(block.header.prevHash, prev)) return `block ${height} does not link to the block before it`;
    if (!bytesEqual(block.hash, cert.blockHash)) return `block ${height} does not match its certificate`;
    const r = checkCommitCertificate({ chainId: this.o.chainId, verify: verifySignature }, set, cert, height);
    if (r !== null) return `block ${height} certificate: ${r.code}: ${r.detail}`;
    return { block, certBytes: e.cert, cert };
  }

  /** Step 4 in the driver's queue: disconnect to the fork, connect the branch, or restore. */
  private async switchTo(peer: string | null, tip: ChainPointer, forkHeight: number, branch: readonly BranchBlock[]): Promise<ForkOutcome> {
    const { store } = this.o;
    let out: ForkOutcome = refuse(ResolveRefusal.Stopped, 'the driver stopped first');
    await this.o.runExclusive(async () => {
      if (!bytesEqual(store.tip().hash, tip.hash)) {
        out = refuse(ResolveRefusal.TipMoved, `tip moved from ${tip.height} to ${store.tip().height}`);
        return false;
      }
      const old: { block: Block; cert: Uint8Array | undefined }[] = [];
      let failure: string | null = null;
      try {
        while (store.tip().height > forkHeight) {
          const cert = await store.getCertificate(store.tip().hash); // disconnect deletes it
          old.push({ block: await store.disconnectTip(), cert });
        }
        for (const b of branch) {
          failure = await this.connectOne(b);
          if (failure !== null) break;
        }
      } catch (err) {
        failure = `store: ${(err as Error).message}`;
      }
      if (failure !== null) {
        await this.restore(forkHeight, old);
        if (peer !== null) this.o.net.penalize(peer, P2pCode.HandlerRejected);
        out = refuse(ResolveRefusal.ConnectFailed, failure);
        return false;
      }
      const last = branch[branch.length - 1]!.block;
      await store.setFinalized(last.header.height, last.hash);
      this.settle(branch);
      await this.readmit(old);
      const depth = old.length;
      this.o.reorgDepth?.observe(depth);
      out = { switched: true, forkHeight, depth, from: toHex(tip.hash), to: toHex(last.hash) };
      this.o.log.warn({ peer, forkHeight, depth, from: out.from, to: out.to, fromHeight: tip.height, toHeight: last.header.height }, 'chain reorganized');
      return true;
    });
    return out;
  }

  /** Re-check one branch block against the validator set of its height, validate, connect (not final yet). */
  private async connectOne(b: BranchBlock): Promise<string | null> {
    const { store } = this.o;
    const height = store.tip().height + 1;
    const set = makeValidatorSet(store.validatorSetAt(height));
    const r = checkCommitCertificate({ chainId: this.o.chainId, verify: verifySignature }, set, b.cert, height);
    if (r !== null) return `block ${height} certificate: ${r.code}: ${r.detail}`;
    const v = await this.o.checks.validate(b.block.bytes, height, b.cert.view);
    if (!v.valid) return `block ${height}: ${v.reason}`;
    await store.connectBlock(v.block, b.certBytes);
    return null;
  }

  /** Put the old branch back (its blocks were above the finalized pointer, so they go back unfinalized). */
  private async restore(forkHeight: number, old: readonly { block: Block; cert: Uint8Array | undefined }[]): Promise<void> {
    const { store } = this.o;
    while (store.tip().height > forkHeight) await store.disconnectTip();
    for (const o of [...old].reverse()) await store.connectBlock(o.block, o.cert);
  }

  /** The mempool and evidence pool drop what the branch settled; callers learn of each block. */
  private settle(branch: readonly BranchBlock[]): void {
    for (const { block } of branch) {
      this.o.mempool?.removeForBlock(block);
      this.o.evidence?.removeForBlock(block);
      this.o.onConnected?.(block);
    }
  }

  /** Re-admit the disconnected blocks' transactions that are still valid on the new tip. */
  private async readmit(old: readonly { block: Block }[]): Promise<void> {
    const mempool = this.o.mempool;
    if (mempool == null) return;
    const txs: Transaction[] = [];
    for (const o of [...old].reverse()) txs.push(...o.block.txs);
    const r = await mempool.readmitWithStore(txs, this.o.store);
    this.o.log.info({ readmitted: r.readmitted, dropped: r.dropped, orphaned: r.orphaned }, 'disconnected transactions re-admitted');
  }
}

/**
 * Block sync on `/timecoin/sync/1` (docs/p2p.md "Block sync"): serve final blocks with their
 * commit certificates, and fetch them when this node is behind its peers.
 *
 * Wire format (all integers big-endian):
 *   request  := u64 fromHeight | u32 count            (exactly 12 bytes; 1 ≤ count ≤ SYNC_MAX_COUNT)
 *   response := u64 peerFinalHeight | u32 n | n × (u32 blockLen | block | u32 certLen | commitCert)
 *
 * The response holds the final blocks fromHeight, fromHeight + 1, … (at most `count`, stopping
 * at the server's finalized height and before the protocol's response limit would be passed).
 *
 * Fetching: every `intervalMs` (and soon after `trigger()`, e.g. a consensus message for a height
 * beyond ours) one connected peer is asked for the blocks after our tip. When the peer's final
 * height is at least `minGap` past our tip, each block is checked in order — certificate decodes,
 * block hash equals the certificate's, the certificate holds against our validator set of that
 * height (the engine's quorum rule), the block passes the driver's own validation
 * (src/block-checks.ts) — and connected as final. All of it runs inside the driver's queue
 * (`runExclusive`), which then re-boots consensus at the new tip + 1. Any failure stops the batch
 * and charges the peer; an uncertified block is never connected. A range's certificate signatures
 * are verified in bulk on the node's VerifyPool before its sequential checks, and the next ranges
 * are fetched meanwhile (docs/p2p.md "Block sync").
 */
import { decodeBlockHeader, hashBlockBytes } from '../chain/block.js';
import type { Block } from '../chain/block.js';
import { verifySignature } from '../chain/ed25519.js';
import type { EvidencePool } from '../chain/evidence-pool.js';
import { bytesEqual } from '../chain/hash.js';
import type { Mempool } from '../chain/mempool.js';
import type { ChainStore } from '../chain/store.js';
import { checkCommitCertificate } from '../consensus/certificates.js';
import { decodeCommitCertificate } from '../consensus/codec.js';
import { makeValidatorSet } from '../consensus/leader.js';
import { signedBytesOf } from '../consensus/messages.js';
import { MsgType, type CommitCertificate } from '../consensus/types.js';
import { P2pCode, P2pError } from '../p2p/errors.js';
import type { P2pNetwork } from '../p2p/network.js';
import type { BlockChecks } from './block-checks.js';
import type { ConsensusDriver } from './driver.js';
import type { FinalityTracker } from './finality.js';
import type { Logger } from './logger.js';
import { preverified, type VerifyItem, type VerifyPool } from './verify-pool.js';

/** Ranges requested ahead of the one connecting (pipelining: network, verify pool and connects overlap). */
const PREFETCH_DEPTH = 2;

/** A sync round that connected nothing is repeated at most this often (≤ 2 requests/s; the quota is 10/s per peer). */
export const IDLE_RETRY_MS = 500;

/** Most blocks one sync request may ask for. */
export const SYNC_MAX_COUNT = 256;
const REQUEST_BYTES = 12;

export function encodeSyncRequest(fromHeight: number, count: number): Uint8Array {
  const b = Buffer.alloc(REQUEST_BYTES);
  b.writeBigUInt64BE(BigInt(fromHeight), 0);
  b.writeUInt32BE(count, 8);
  return b;
}

/** Decode a request; throws `decode-failed` (the sender is charged) when malformed or out of range. */
export function decodeSyncRequest(bytes: Uint8Array): { fromHeight: number; count: number } {
  if (bytes.length !== REQUEST_BYTES) throw new P2pError(P2pCode.DecodeFailed, `sync request of ${bytes.length} bytes, expected ${REQUEST_BYTES}`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const from = b.readBigUInt64BE(0);
  const count = b.readUInt32BE(8);
  if (from < 1n || from > BigInt(Number.MAX_SAFE_INTEGER)) throw new P2pError(P2pCode.DecodeFailed, 'sync request fromHeight out of range');
  if (count < 1 || count > SYNC_MAX_COUNT) throw new P2pError(P2pCode.DecodeFailed, `sync request count ${count} not in 1..${SYNC_MAX_COUNT}`);
  return { fromHeight: Number(from), count };
}

export interface SyncEntry {
  readonly block: Uint8Array;
  readonly cert: Uint8Array;
}

export function encodeSyncResponse(finalHeight: number, entries: readonly SyncEntry[]): Uint8Array {
  let size = 12;
  for (const e of entries) size += 8 + e.block.length + e.cert.length;
  const out = Buffer.allocUnsafe(size);
  out.writeBigUInt64BE(BigInt(finalHeight), 0);
  out.writeUInt32BE(entries.length, 8);
  let off = 12;
  for (const e of entries) {
    for (const part of [e.block, e.cert]) {
      off = out.writeUInt32BE(part.length, off);
      out.set(part, off);
      off += part.length;
    }
  }
  return out;
}

/** Decode a response; throws `decode-failed` on any framing fault. */
export function decodeSyncResponse(bytes: Uint8Array): { finalHeight: number; entries: SyncEntry[] } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const bad = (why: string): never => {
    throw new P2pError(P2pCode.DecodeFailed, `sync response: ${why}`);
  };
  if (b.length < 12) bad('short header');
  const fh = b.readBigUInt64BE(0);
  if (fh > BigInt(Number.MAX_SAFE_INTEGER)) bad('height out of range');
  const n = b.readUInt32BE(8);
  if (n > SYNC_MAX_COUNT) bad(`${n} entries`);
  let off = 12;
  const take = (): Uint8Array => {
    if (off + 4 > b.length) bad('truncated');
    const len = b.readUInt32BE(off);
    off += 4;
    if (off + len > b.length) bad('truncated');
    const out = b.subarray(off, off + len);
    off += len;
    return out;
  };
  const entries: SyncEntry[] = [];
  for (let i = 0; i < n; i++) entries.push({ block: take(), cert: take() });
  if (off !== b.length) bad('trailing bytes');
  return { finalHeight: Number(fh), entries };
}

/** Answer `/timecoin/sync/1` from the store's final blocks. */
export async function serveSync(net: P2pNetwork, store: ChainStore, maxResponseBytes: number): Promise<void> {
  await net.onRequest('sync', async (payload) => {
    const { fromHeight, count } = decodeSyncRequest(payload);
    const final = store.finalized().height;
    // Stored bytes, read a chunk at a time (not a decode and three reads per block: the serving
    // side was a quarter of a syncing machine's CPU in bench/sync.ts).
    const entries = await store.finalBlocksRaw(fromHeight, count, maxResponseBytes - 12);
    return encodeSyncResponse(final, entries);
  });
}

export interface BlockSyncOptions {
  readonly net: P2pNetwork;
  readonly store: ChainStore;
  readonly driver: ConsensusDriver;
  readonly checks: BlockChecks;
  readonly mempool: Mempool;
  readonly finality: FinalityTracker;
  readonly evidence: EvidencePool | null;
  readonly chainId: Uint8Array;
  readonly log: Logger;
  readonly intervalMs?: number;
  /** Sync at once when a peer's final height is at least this far past our tip; a smaller gap is left to Decisions for one interval (gapDue). */
  readonly minGap?: number;
  /** Blocks a peer's final height is ahead of our tip (after each answered request; metrics). */
  readonly onLag?: (blocks: number) => void;
  /** After a block connects (metrics). */
  readonly onConnected?: (block: Block) => void;
  /** Verifies a fetched range's certificate signatures in parallel (null: one by one on this thread). */
  readonly verifyPool?: VerifyPool | null;
  /** A certified block from `peer` at `height` does not link to our tip: a conflicting chain (src/fork-resolver.ts). */
  readonly onConflict?: (peer: string, height: number) => void;
}

type Verify = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

/** A fetched range: the response (or why there is none) and its certificates, decoded and pre-verified. */
interface Fetched {
  readonly peer: string;
  readonly from: number;
  readonly res: { finalHeight: number; entries: SyncEntry[] } | null;
  readonly err: unknown;
  /** Per entry: the decoded certificate, or the decode error. */
  readonly certs: (CommitCertificate | Error)[];
  /** The one verifier, answering from the bulk results where it can. */
  readonly verify: Verify;
}

/** Fetches missing final blocks from peers (see the file comment). */
export class BlockSync {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private again = false;
  /** When the last round set ended without connecting anything (0: never). */
  private idleAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** The next ranges (at most PREFETCH_DEPTH), requested while the current one connects. */
  private ahead: { from: number; fetched: Promise<Fetched> }[] = [];
  /** Our tip when a peer was first seen less than `minGap` ahead of it (see gapDue). */
  private smallGap: { tip: number; since: number } | null = null;

  constructor(private readonly o: BlockSyncOptions) {}

  start(): void {
    this.timer = setInterval(() => this.trigger(), this.o.intervalMs ?? 2_000);
    this.trigger();
  }

  /** Look for missing blocks now (one round at a time; a trigger during a round runs one more). */
  trigger(): void {
    if (this.stopped) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    // A round that connected nothing is not repeated sooner than IDLE_RETRY_MS: every consensus
    // message for a later height triggers, and a node one block behind on a busy network would
    // otherwise send a request per message, pass its peers' sync quota (10/s) and be banned by
    // all of them (seen in the resilience campaign: a restarted validator left with 0 peers).
    const wait = this.idleAt + IDLE_RETRY_MS - Date.now();
    if (wait > 0) {
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = null;
        this.trigger();
      }, wait);
      return;
    }
    this.running = (async () => {
      try {
        this.again = false;
        while (!this.stopped && (await this.round())) {
          /* progress: ask again right away */
        }
      } catch (err) {
        this.o.log.debug({ err }, 'block sync round failed');
      } finally {
        this.idleAt = Date.now();
        this.running = null;
        if (this.again) {
          this.again = false;
          this.trigger();
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.timer !== null) clearInterval(this.timer);
    await this.running;
    this.ahead = []; // prefetches never reject; the network's stop ends them
  }

  /**
   * One range from one peer (a random one, or the peer whose next range was prefetched); true if
   * blocks were connected. While a range connects, the next one is already requested and its
   * signatures verified on the pool (pipelining: network, workers and this thread overlap).
   */
  private async round(): Promise<boolean> {
    const tip = this.o.store.tip().height;
    let f = await this.takePrefetch(tip + 1);
    if (f === null) {
      const peers = this.o.net.getPeerInfo() as { id: string }[];
      if (peers.length === 0) return false;
      f = await this.fetch(peers[Math.floor(Math.random() * peers.length)]!.id, tip + 1);
    }
    const { peer, res } = f;
    if (res === null) {
      const err = f.err;
      if (err instanceof P2pError && err.code === P2pCode.DecodeFailed) this.o.net.penalize(peer, P2pCode.DecodeFailed);
      this.o.log.debug({ err, peer }, 'sync request failed');
      return false;
    }
    this.o.onLag?.(Math.max(0, res.finalHeight - tip));
    if (res.entries.length === 0 || !this.gapDue(tip, res.finalHeight)) return false;
    this.o.log.info({ peer, from: tip + 1, blocks: res.entries.length, peerFinal: res.finalHeight }, 'syncing blocks');
    this.fetchAhead(peer, tip + res.entries.length, res.entries.length, res.finalHeight);
    let fault: string | null = null;
    const fetched = f;
    const changed = await this.o.driver.runExclusive(async () => {
      let connected = 0;
      try {
        for (const [i, e] of res.entries.entries()) {
          const r = await this.apply(e, fetched.certs[i]!, fetched.verify);
          if (r === 'stale') break;
          if (r === 'conflict') {
            this.o.onConflict?.(peer, this.o.store.tip().height + 1);
            break;
          }
          if (r !== null) {
            fault = r;
            break;
          }
          connected++;
        }
      } finally {
        // The range's held connects land as one batch with one fsync (ChainStore ConnectOptions.durable),
        // also when a connect threw: consensus never resumes on top of blocks that are not on disk.
        if (connected > 0) await this.o.store.flush();
      }
      return connected > 0;
    });
    if (fault !== null) {
      this.o.log.warn({ peer, reason: fault }, 'sync block refused');
      this.o.net.penalize(peer, P2pCode.HandlerRejected);
    }
    if (changed) this.o.log.info({ height: this.o.store.tip().height }, 'synced');
    return changed && fault === null;
  }

  /**
   * Fetch now what a peer at `finalHeight` has past our `tip`? A gap of `minGap` or more: yes. A
   * smaller one is normally closed within moments by the engine's Decision, so it is fetched only
   * once it has lasted a full interval at the same tip: on a quiet network (a restarted validator
   * one block behind) no consensus traffic, hence no Decision, comes until the next idle block.
   */
  private gapDue(tip: number, finalHeight: number): boolean {
    if (finalHeight >= tip + (this.o.minGap ?? 2)) return true;
    if (finalHeight <= tip) return false;
    const now = Date.now();
    if (this.smallGap?.tip !== tip) {
      this.smallGap = { tip, since: now };
      return false;
    }
    return now - this.smallGap.since >= (this.o.intervalMs ?? 2_000);
  }

  /** The prefetched range if it starts at `from`; else every prefetch is dropped (the tip moved another way). */
  private async takePrefetch(from: number): Promise<Fetched | null> {
    const first = this.ahead.shift();
    if (first === undefined) return null;
    if (first.from !== from) {
      this.ahead = [];
      return null;
    }
    const f = await first.fetched;
    if (f.res === null || f.res.entries.length === 0) this.ahead = []; // later ranges were guessed from this one
    return f;
  }

  /**
   * Keep PREFETCH_DEPTH ranges requested past `end` (the current range's last height), each guessed
   * to hold `count` blocks like this one; a guess that turns out wrong is dropped by takePrefetch.
   */
  private fetchAhead(peer: string, end: number, count: number, peerFinal: number): void {
    let next = this.ahead.length > 0 ? this.ahead[this.ahead.length - 1]!.from + count : end + 1;
    while (!this.stopped && this.ahead.length < PREFETCH_DEPTH && next <= peerFinal) {
      this.ahead.push({ from: next, fetched: this.fetch(peer, next) });
      next += count;
    }
  }

  /** Request `count` blocks from `from` and pre-verify their certificates; never rejects. */
  private async fetch(peer: string, from: number): Promise<Fetched> {
    let res;
    try {
      res = decodeSyncResponse(await this.o.net.request(peer, 'sync', encodeSyncRequest(from, SYNC_MAX_COUNT)));
    } catch (err) {
      return { peer, from, res: null, err, certs: [], verify: verifySignature };
    }
    const certs = res.entries.map((e): CommitCertificate | Error => {
      try {
        return decodeCommitCertificate(e.cert);
      } catch (err) {
        return err as Error;
      }
    });
    return { peer, from, res, err: null, certs, verify: await this.preverify(certs) };
  }

  /**
   * Verify in one pool call the signatures `checkCommitCertificate` will ask for. Only votes that
   * pass its cheap checks against the current validator set are sent (so a peer cannot make us
   * verify junk); anything else is verified inline later. The rule stays checkCommitCertificate's.
   */
  private async preverify(certs: readonly (CommitCertificate | Error)[]): Promise<Verify> {
    const pool = this.o.verifyPool ?? null;
    if (pool === null) return verifySignature;
    const set = makeValidatorSet(this.o.store.validatorSetAt(this.o.store.tip().height + 1));
    const items: VerifyItem[] = [];
    for (const c of certs) {
      if (c instanceof Error || !Array.isArray(c.commits) || c.commits.length > set.keys.length) continue;
      const seen = new Set<string>();
      for (const v of c.commits) {
        if (v.type !== MsgType.Commit || v.height !== c.height || v.view !== c.view || !bytesEqual(v.blockHash, c.blockHash)) continue;
        const k = Buffer.from(v.signer).toString('hex');
        if (!set.index.has(k) || seen.has(k)) continue;
        seen.add(k);
        items.push({ publicKey: v.signer, message: signedBytesOf(this.o.chainId, v), signature: v.signature });
      }
    }
    try {
      return preverified(items, await pool.verify(items));
    } catch (err) {
      this.o.log.debug({ err }, 'bulk signature verification failed: verifying inline');
      return verifySignature;
    }
  }

  /** Verify and connect one block at tip + 1: null when connected, 'stale' if the tip moved, 'conflict' (certified, not on our tip), else the peer's fault. */
  private async apply(e: SyncEntry, cert: CommitCertificate | Error, verify: Verify): Promise<string | null> {
    const { store } = this.o;
    const height = store.tip().height + 1;
    if (cert instanceof Error) return `certificate: ${cert.message}`;
    if (cert.height < height) return 'stale';
    if (cert.height !== height) return `certificate for height ${cert.height}, expected ${height}`;
    let hash: Uint8Array;
    try {
      hash = hashBlockBytes(e.block);
    } catch (err) {
      return `block: ${(err as Error).message}`;
    }
    if (!bytesEqual(hash, cert.blockHash)) return 'block does not match its certificate';
    const set = makeValidatorSet(store.validatorSetAt(height));
    const r = checkCommitCertificate({ chainId: this.o.chainId, verify }, set, cert, height);
    if (r !== null) return `certificate: ${r.code}: ${r.detail}`;
    // Certified but not on our tip: a conflicting chain for the fork resolver, not this peer's fault.
    let prev: Uint8Array | undefined;
    try {
      prev = decodeBlockHeader(e.block).prevHash;
    } catch {
      /* validate() below reports the malformed header */
    }
    if (prev !== undefined && !bytesEqual(prev, store.tip().hash)) return 'conflict';
    const v = await this.o.checks.validate(e.block, height, cert.view);
    if (!v.valid) return `block: ${v.reason}`;
    await store.connectBlock(v.block, e.cert, { final: true, durable: false, inputs: v.inputs });
    this.o.mempool.removeForBlock(v.block);
    this.o.evidence?.removeForBlock(v.block);
    this.o.finality.onFinal(v.block);
    this.o.onConnected?.(v.block);
    return null;
  }
}

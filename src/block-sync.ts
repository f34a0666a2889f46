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
 * and charges the peer; an uncertified block is never connected.
 */
import { hashBlockBytes } from '../chain/block.js';
import type { Block } from '../chain/block.js';
import { verifySignature } from '../chain/ed25519.js';
import type { EvidencePool } from '../chain/evidence-pool.js';
import { bytesEqual } from '../chain/hash.js';
import type { Mempool } from '../chain/mempool.js';
import type { ChainStore } from '../chain/store.js';
import { checkCommitCertificate } from '../consensus/certificates.js';
import { decodeCommitCertificate } from '../consensus/codec.js';
import { makeValidatorSet } from '../consensus/leader.js';
import { P2pCode, P2pError } from '../p2p/errors.js';
import type { P2pNetwork } from '../p2p/network.js';
import type { BlockChecks } from './block-checks.js';
import type { ConsensusDriver } from './driver.js';
import type { FinalityTracker } from './finality.js';
import type { Logger } from './logger.js';

/** Most blocks one sync request may ask for. */
export const SYNC_MAX_COUNT = 64;
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
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.writeBigUInt64BE(BigInt(finalHeight), 0);
  head.writeUInt32BE(entries.length, 8);
  parts.push(head);
  for (const e of entries) {
    const l1 = Buffer.alloc(4);
    l1.writeUInt32BE(e.block.length);
    const l2 = Buffer.alloc(4);
    l2.writeUInt32BE(e.cert.length);
    parts.push(l1, Buffer.from(e.block), l2, Buffer.from(e.cert));
  }
  return Buffer.concat(parts);
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
    const entries: SyncEntry[] = [];
    let size = 12;
    for (let h = fromHeight; h <= final && entries.length < count; h++) {
      const block = await store.getBlockByHeight(h);
      if (block === undefined) break;
      const cert = await store.getCertificate(block.hash);
      if (cert === undefined) break;
      const add = 8 + block.bytes.length + cert.length;
      if (size + add > maxResponseBytes) break;
      size += add;
      entries.push({ block: block.bytes, cert });
    }
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
  /** Sync only when a peer's final height is at least this far past our tip (1 height is left to Decisions). */
  readonly minGap?: number;
  /** Blocks a peer's final height is ahead of our tip (after each answered request; metrics). */
  readonly onLag?: (blocks: number) => void;
  /** After a block connects (metrics). */
  readonly onConnected?: (block: Block) => void;
}

/** Fetches missing final blocks from peers (see the file comment). */
export class BlockSync {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private again = false;

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
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped && (await this.round())) {
            /* progress: ask again right away */
          }
        } while (this.again && !this.stopped);
      } catch (err) {
        this.o.log.debug({ err }, 'block sync round failed');
      } finally {
        this.running = null;
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.running;
  }

  /** One request to one random peer; true if blocks were connected. */
  private async round(): Promise<boolean> {
    const peers = this.o.net.getPeerInfo() as { id: string }[];
    if (peers.length === 0) return false;
    const peer = peers[Math.floor(Math.random() * peers.length)]!.id;
    const tip = this.o.store.tip().height;
    let res: { finalHeight: number; entries: SyncEntry[] };
    try {
      res = decodeSyncResponse(await this.o.net.request(peer, 'sync', encodeSyncRequest(tip + 1, SYNC_MAX_COUNT)));
    } catch (err) {
      if (err instanceof P2pError && err.code === P2pCode.DecodeFailed) this.o.net.penalize(peer, P2pCode.DecodeFailed);
      this.o.log.debug({ err, peer }, 'sync request failed');
      return false;
    }
    this.o.onLag?.(Math.max(0, res.finalHeight - tip));
    if (res.finalHeight < tip + (this.o.minGap ?? 2) || res.entries.length === 0) return false;
    this.o.log.info({ peer, from: tip + 1, blocks: res.entries.length, peerFinal: res.finalHeight }, 'syncing blocks');
    let fault: string | null = null;
    const changed = await this.o.driver.runExclusive(async () => {
      let connected = 0;
      for (const e of res.entries) {
        const r = await this.apply(e);
        if (r === 'stale') break;
        if (r !== null) {
          fault = r;
          break;
        }
        connected++;
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

  /** Verify and connect one block at tip + 1: null when connected, 'stale' if the tip moved, else the peer's fault. */
  private async apply(e: SyncEntry): Promise<string | null> {
    const { store } = this.o;
    const height = store.tip().height + 1;
    let cert;
    try {
      cert = decodeCommitCertificate(e.cert);
    } catch (err) {
      return `certificate: ${(err as Error).message}`;
    }
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
    const r = checkCommitCertificate({ chainId: this.o.chainId, verify: verifySignature }, set, cert, height);
    if (r !== null) return `certificate: ${r.code}: ${r.detail}`;
    const v = await this.o.checks.validate(e.block, height, cert.view);
    if (!v.valid) return `block: ${v.reason}`;
    await store.connectBlock(v.block, e.cert, { final: true });
    this.o.mempool.removeForBlock(v.block);
    this.o.evidence?.removeForBlock(v.block);
    this.o.finality.onFinal(v.block);
    this.o.onConnected?.(v.block);
    return null;
  }
}

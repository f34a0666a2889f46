/**
 * Mempool reconciliation on `/timecoin/mempool-digest/1` (docs/p2p.md "Mempool reconciliation"):
 * a node that (re)joins the network sends a compact digest of the txids it holds and receives
 * only the transactions it lacks, instead of either side sending its whole pool.
 *
 * Wire format (integers big-endian):
 *   request  := u8 version = 1 | 8 salt | u32 count | count × 8 shortId      (13 + 8·count bytes)
 *   response := u8 version = 1 | u8 flags (bit 0: more) | u32 n | n × (u32 len | tx)
 *   shortId  := first 8 bytes of SHA-256(salt ‖ txid)
 *
 * The salt is random per request, so a peer cannot craft a transaction whose short id collides
 * with one we are known to hold (and so hide it from us). The responder sends its transactions
 * whose short id is not in the digest, best fee rate first, a parent always before its child,
 * within the protocol's response limit, and sets "more" when it left any out. The requester runs
 * each through TxGossip's acceptance (the same path as a gossiped transaction: a provably
 * invalid one costs the responder `handler-rejected`) and asks again while "more" and progress.
 *
 * Trigger: a "join" is the node starting, or getting its first peer back after it had none.
 * Per join the node reconciles with the first `peersPerJoin` (2) peers that connect; a peer that
 * fails (old version, timeout) gives its slot to the next one. Nodes already on the network do
 * not pull from every newcomer: the newcomer pulls from them, and their pools already converge
 * through gossip.
 */
import { hash, randomBytes } from 'node:crypto';
import { MAX_TX_SIZE } from '../chain/constants.js';
import { selectTransactions, type PoolReader } from '../chain/assembler.js';
import type { Mempool } from '../chain/mempool.js';
import type { Transaction } from '../chain/transaction.js';
import { readTxList, writeTxList } from '../p2p/tx-batch.js';
import { P2pCode, P2pError } from '../p2p/errors.js';
import type { P2pNetwork } from '../p2p/network.js';
import type { Logger } from './logger.js';
import type { TxGossip } from './node-p2p.js';

const VERSION = 1;
export const DIGEST_SALT_BYTES = 8;
export const SHORT_ID_BYTES = 8;
/** Request bytes before the short ids: version, salt, count. */
export const DIGEST_HEADER_BYTES = 1 + DIGEST_SALT_BYTES + 4;
/** Response bytes before the transactions: version, flags, count. */
export const RESPONSE_HEADER_BYTES = 1 + 1 + 4;
/** Most short ids in one digest: SPEC §1 MAX_MEMPOOL_TRANSACTIONS (80 KB, under the 256 KiB frame limit). */
export const MAX_DIGEST_IDS = 10_000;
const FLAG_MORE = 1;

const decodeFailed = (what: string): never => {
  throw new P2pError(P2pCode.DecodeFailed, `mempool digest ${what}`);
};

/**
 * The 8-byte short id of `txid` under `salt` (first 8 bytes of SHA-256(salt ‖ txid)), as a bigint
 * for set membership. One-shot `crypto.hash` rather than chain/hash.ts `sha256`: a responder
 * hashes its whole pool per request, and the one-shot call is ~2.5x faster than createHash.
 */
export function shortId(salt: Uint8Array, txid: Uint8Array): bigint {
  return hash('sha256', Buffer.concat([salt, txid]), 'buffer').readBigUInt64BE(0);
}

export interface DigestRequest {
  readonly salt: Uint8Array;
  readonly ids: ReadonlySet<bigint>;
}

/** Encode a digest of `txids` (at most MAX_DIGEST_IDS) under `salt`. */
export function encodeDigestRequest(salt: Uint8Array, txids: readonly Uint8Array[]): Uint8Array {
  if (salt.length !== DIGEST_SALT_BYTES) throw new RangeError(`salt must be ${DIGEST_SALT_BYTES} bytes`);
  if (txids.length > MAX_DIGEST_IDS) throw new RangeError(`at most ${MAX_DIGEST_IDS} txids per digest`);
  const b = Buffer.alloc(DIGEST_HEADER_BYTES + SHORT_ID_BYTES * txids.length);
  b.writeUInt8(VERSION, 0);
  b.set(salt, 1);
  b.writeUInt32BE(txids.length, 1 + DIGEST_SALT_BYTES);
  txids.forEach((t, i) => b.writeBigUInt64BE(shortId(salt, t), DIGEST_HEADER_BYTES + SHORT_ID_BYTES * i));
  return b;
}

/** Decode a digest request; throws `decode-failed` for anything malformed (the sender is charged). */
export function decodeDigestRequest(bytes: Uint8Array): DigestRequest {
  if (bytes.length < DIGEST_HEADER_BYTES) decodeFailed(`request of ${bytes.length} bytes is shorter than its header`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b.readUInt8(0) !== VERSION) decodeFailed(`request version ${b.readUInt8(0)}`);
  const count = b.readUInt32BE(1 + DIGEST_SALT_BYTES);
  if (count > MAX_DIGEST_IDS) decodeFailed(`request names ${count} ids, more than ${MAX_DIGEST_IDS}`);
  if (bytes.length !== DIGEST_HEADER_BYTES + SHORT_ID_BYTES * count) decodeFailed(`request of ${bytes.length} bytes does not hold ${count} ids`);
  const ids = new Set<bigint>();
  for (let i = 0; i < count; i++) ids.add(b.readBigUInt64BE(DIGEST_HEADER_BYTES + SHORT_ID_BYTES * i));
  return { salt: Uint8Array.from(bytes.subarray(1, 1 + DIGEST_SALT_BYTES)), ids };
}

export interface DigestResponse {
  readonly txs: readonly Transaction[];
  readonly more: boolean;
}

/** Encoded size of a response holding `txs`. */
export function responseSize(txs: readonly Transaction[]): number {
  return txs.reduce((s, t) => s + 4 + t.bytes.length, RESPONSE_HEADER_BYTES);
}

/** Encode a response (transactions in the order the requester should accept them). */
export function encodeDigestResponse(txs: readonly Transaction[], more: boolean): Uint8Array {
  const b = Buffer.alloc(responseSize(txs));
  b.writeUInt8(VERSION, 0);
  b.writeUInt8(more ? FLAG_MORE : 0, 1);
  b.writeUInt32BE(txs.length, 2);
  writeTxList(b, RESPONSE_HEADER_BYTES, txs.map((t) => t.bytes));
  return b;
}

/** Decode a response; throws `decode-failed` for anything malformed (the responder is charged). */
export function decodeDigestResponse(bytes: Uint8Array): DigestResponse {
  if (bytes.length < RESPONSE_HEADER_BYTES) decodeFailed(`response of ${bytes.length} bytes is shorter than its header`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b.readUInt8(0) !== VERSION) decodeFailed(`response version ${b.readUInt8(0)}`);
  const flags = b.readUInt8(1);
  if ((flags & ~FLAG_MORE) !== 0) decodeFailed(`response flags ${flags}`);
  const txs = readTxList(b, RESPONSE_HEADER_BYTES, b.readUInt32BE(2), 'mempool digest response');
  return { txs, more: (flags & FLAG_MORE) !== 0 };
}

/**
 * The pool transactions the digest does not name, best fee rate first with every parent before
 * its child, within `maxResponseBytes` encoded — the assembler's selection (chain/assembler.ts),
 * with what the requester holds taken as present. A transaction that does not fit is left out
 * with its descendants, and `more` is set.
 */
export function selectMissing(pool: PoolReader, digest: DigestRequest, maxResponseBytes: number): DigestResponse {
  const missing = new Set<string>();
  for (const e of pool.entries()) if (!digest.ids.has(shortId(digest.salt, e.tx.txid))) missing.add(e.key);
  const { txs } = selectTransactions(pool, maxResponseBytes - RESPONSE_HEADER_BYTES, (e) => !missing.has(e.key));
  return { txs, more: txs.length < missing.size };
}

/** Answer digest requests from `mempool`, within `maxResponseBytes` (the protocol's response limit). */
export async function serveMempoolDigest(net: P2pNetwork, mempool: PoolReader, maxResponseBytes: number): Promise<void> {
  await net.onRequest('mempool-digest', (payload) => {
    const { txs, more } = selectMissing(mempool, decodeDigestRequest(payload), maxResponseBytes);
    return encodeDigestResponse(txs, more);
  });
}

/** What one reconciliation with one peer did (also logged as "mempool reconciled"). */
export interface ReconcileResult {
  readonly peer: string;
  readonly rounds: number;
  /** Digest bytes sent, per round. */
  readonly requestBytes: readonly number[];
  /** Ids in each round's digest. */
  readonly digestIds: readonly number[];
  readonly responseBytes: number;
  readonly received: number;
  readonly accepted: number;
}

export interface MempoolSyncOptions {
  readonly mempool: Mempool;
  /** The one acceptance path for a peer's transaction. */
  readonly gossip: Pick<TxGossip, 'acceptFromPeer'>;
  readonly log: Logger;
  /** Peers reconciled with per join (default 2). */
  readonly peersPerJoin?: number;
  /** Most request rounds with one peer (default 8). */
  readonly maxRounds?: number;
}

/** The requester and its trigger: reconcile with a bounded number of peers each time the node (re)joins. */
export class MempoolSync {
  private slots: number;
  private readonly tried = new Set<string>();
  private running = false;
  private stopped = false;

  constructor(
    private readonly net: P2pNetwork,
    private readonly o: MempoolSyncOptions,
  ) {
    this.slots = o.peersPerJoin ?? 2;
  }

  /** Start the trigger (after `net.start()`): peers already connected count as this join's first. */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.net.node.addEventListener('peer:connect', this.onConnect);
    this.net.node.addEventListener('peer:disconnect', this.onDisconnect);
    for (const p of this.net.node.getPeers()) this.consider(p.toString());
  }

  /** Stop triggering; a reconciliation in flight ends at its next step. */
  stop(): void {
    this.running = false;
    this.stopped = true;
    this.net.node.removeEventListener('peer:connect', this.onConnect);
    this.net.node.removeEventListener('peer:disconnect', this.onDisconnect);
  }

  /** Reconcile with one peer: digest rounds until it has nothing more for us (or no progress). */
  async reconcile(peer: string): Promise<ReconcileResult> {
    const maxRounds = this.o.maxRounds ?? 8;
    const requestBytes: number[] = [];
    const digestIds: number[] = [];
    let responseBytes = 0;
    let received = 0;
    let accepted = 0;
    for (let round = 0; round < maxRounds && !this.stopped; round++) {
      let more = false;
      const txids = this.o.mempool.txids().slice(0, MAX_DIGEST_IDS);
      const request = encodeDigestRequest(randomBytes(DIGEST_SALT_BYTES), txids);
      requestBytes.push(request.length);
      digestIds.push(txids.length);
      const raw = await this.net.request(peer, 'mempool-digest', request);
      responseBytes += raw.length;
      let gained = 0;
      try {
        const res = decodeDigestResponse(raw);
        for (const tx of res.txs) {
          if (this.stopped) break;
          received++;
          // Throws handler-rejected for a provably invalid transaction: charged, the exchange ends.
          if (await this.o.gossip.acceptFromPeer(tx)) gained++;
        }
        more = res.more;
      } catch (err) {
        if (err instanceof P2pError) this.net.penalize(peer, err.code);
        throw err;
      }
      accepted += gained;
      if (!more || gained === 0) break;
    }
    const result = { peer, rounds: requestBytes.length, requestBytes, digestIds, responseBytes, received, accepted };
    this.o.log.info(result, 'mempool reconciled');
    return result;
  }

  private consider(peer: string): void {
    if (!this.running || this.slots === 0 || this.tried.has(peer)) return;
    this.slots--;
    if (this.tried.size >= 4_096) this.tried.clear(); // only failed peers pile up within one join
    this.tried.add(peer);
    this.reconcile(peer).catch((err: unknown) => {
      this.slots++; // the next peer to connect takes this one's place
      this.o.log.debug({ peer, code: (err as P2pError).code ?? null, err: (err as Error).message }, 'mempool reconciliation failed');
    });
  }

  private readonly onConnect = (e: CustomEvent<{ toString(): string }>): void => {
    this.consider(e.detail.toString());
  };

  private readonly onDisconnect = (): void => {
    // Alone again: the next peer to connect starts a new join.
    if (this.net.node.getPeers().length > 0) return;
    this.slots = this.o.peersPerJoin ?? 2;
    this.tried.clear();
  };
}

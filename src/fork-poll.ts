/**
 * `/timecoin/forkpoll/1` (docs/p2p.md "Fork resolution"): ask a peer which block its best chain
 * holds at a height.
 *
 * Wire format (integers big-endian):
 *   request  := u64 height                         (exactly 8 bytes; height ≤ 2^53 − 1)
 *   response := 0x00                               (no best-chain block at that height)
 *             | 0x01 | 32 blockHash                (the best-chain block at that height)
 * Any other length or status byte is `decode-failed` (the sender is charged).
 *
 * `pollPeers` asks `count` (FORK_POLL_PEERS = 7) DISTINCT random connected peers in parallel,
 * each with a timeout. With fewer candidate peers than `count` it asks nobody and returns no
 * answers: a smaller poll cannot reach the SPEC's decision, and fork choice refuses it
 * (`not-enough-peers`, src/fork-choice.ts).
 */
import { randomInt } from 'node:crypto';
import type { ChainStore } from '../chain/store.js';
import { FORK_POLL_PEERS } from '../chain/constants.js';
import { P2pCode, P2pError } from '../p2p/errors.js';
import type { P2pNetwork } from '../p2p/network.js';
import type { PollAnswer } from './fork-choice.js';

const REQUEST_BYTES = 8;
const STATUS_NONE = 0x00;
const STATUS_HASH = 0x01;
/** Default time one polled peer has to answer. */
export const FORK_POLL_TIMEOUT_MS = 5_000;

/** The network calls fork poll and the resolver need (a `P2pNetwork`). */
export type ForkNet = Pick<P2pNetwork, 'request' | 'penalize' | 'getPeerInfo'>;

/** Encode a request for `height`; RangeError for a height that is not a safe non-negative integer. */
export function encodeForkPollRequest(height: number): Uint8Array {
  if (!Number.isSafeInteger(height) || height < 0) throw new RangeError(`fork poll height ${height}`);
  const b = Buffer.alloc(REQUEST_BYTES);
  b.writeBigUInt64BE(BigInt(height));
  return b;
}

/** Decode a request; `decode-failed` when it is not 8 bytes or the height is past 2^53 − 1. */
export function decodeForkPollRequest(bytes: Uint8Array): number {
  if (bytes.length !== REQUEST_BYTES) throw new P2pError(P2pCode.DecodeFailed, `fork poll request of ${bytes.length} bytes, expected ${REQUEST_BYTES}`);
  const h = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readBigUInt64BE(0);
  if (h > BigInt(Number.MAX_SAFE_INTEGER)) throw new P2pError(P2pCode.DecodeFailed, 'fork poll height out of range');
  return Number(h);
}

/** Encode an answer: the hash, or null for "no block at that height". */
export function encodeForkPollResponse(hash: Uint8Array | null): Uint8Array {
  if (hash === null) return Uint8Array.of(STATUS_NONE);
  if (hash.length !== 32) throw new RangeError(`fork poll hash of ${hash.length} bytes`);
  const out = new Uint8Array(33);
  out[0] = STATUS_HASH;
  out.set(hash, 1);
  return out;
}

/** Decode an answer; `decode-failed` on an unknown status byte or a wrong length. */
export function decodeForkPollResponse(bytes: Uint8Array): Uint8Array | null {
  if (bytes.length === 1 && bytes[0] === STATUS_NONE) return null;
  if (bytes.length === 33 && bytes[0] === STATUS_HASH) return Uint8Array.from(bytes.subarray(1));
  throw new P2pError(P2pCode.DecodeFailed, `fork poll response of ${bytes.length} bytes with status ${bytes[0] ?? 'none'}`);
}

/** Answer `/timecoin/forkpoll/1` from the store's best chain. */
export async function serveForkPoll(net: P2pNetwork, store: ChainStore): Promise<void> {
  await net.onRequest('forkpoll', async (payload) => {
    const height = decodeForkPollRequest(payload);
    return encodeForkPollResponse(height > store.tip().height ? null : ((await store.getBlockHash(height)) ?? null));
  });
}

/** Ask one peer for its hash at `height`; throws `P2pError` (a malformed answer also charges the peer). */
export async function askPeer(net: ForkNet, peer: string, height: number, timeoutMs = FORK_POLL_TIMEOUT_MS): Promise<Uint8Array | null> {
  const res = await net.request(peer, 'forkpoll', encodeForkPollRequest(height), timeoutMs);
  try {
    return decodeForkPollResponse(res);
  } catch (err) {
    net.penalize(peer, P2pCode.DecodeFailed);
    throw err;
  }
}

export interface PollOptions {
  /** Peer ids never asked. */
  readonly exclude?: readonly string[];
  readonly count?: number;
  readonly timeoutMs?: number;
}

/**
 * Ask `count` distinct random connected peers (not in `exclude`) for their hash at `height`, in
 * parallel. A peer that fails or times out answers null. Fewer candidates than `count`: [] (no poll).
 */
export async function pollPeers(net: ForkNet, height: number, o: PollOptions = {}): Promise<PollAnswer[]> {
  const count = o.count ?? FORK_POLL_PEERS;
  const skip = new Set(o.exclude ?? []);
  const ids = [...new Set(net.getPeerInfo().map((p) => p.id))].filter((id) => !skip.has(id));
  if (ids.length < count) return [];
  // Partial Fisher–Yates: the first `count` entries become a uniform random distinct sample.
  for (let i = 0; i < count; i++) {
    const j = i + randomInt(ids.length - i);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return Promise.all(
    ids.slice(0, count).map(async (peer) => ({
      peer,
      hash: await askPeer(net, peer, height, o.timeoutMs).catch(() => null),
    })),
  );
}

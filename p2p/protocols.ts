/**
 * The protocol table: every stream protocol the node speaks, with its frame limits and per-peer
 * quota, in ONE place. Quotas start from TIME Coin's node (tx 50/s, votes 100/s, blocks 10/s,
 * sync requests 100 per 10 s). A protocol not in this table is never handled.
 */
import { MAX_BLOCK_SIZE } from '../chain/constants.js';
import { TX_BATCH_MAX_BYTES } from './tx-batch.js';
import { P2pCode, P2pError } from './errors.js';

/** A token bucket: `burst` messages at once, refilled at `perSecond`. */
export interface Quota {
  readonly burst: number;
  readonly perSecond: number;
}

export interface ProtocolSpec {
  /** Short name: the `type` label of `p2p_messages_total` (never a peer id). */
  readonly name: ProtocolName;
  /** libp2p protocol id. */
  readonly id: string;
  /** gossip: one-way frames on a long-lived stream; request: one frame in, one frame out. */
  readonly kind: 'gossip' | 'request';
  /** Largest frame body accepted (gossip message or request), checked on the length prefix. */
  readonly maxFrameBytes: number;
  /** Largest response body accepted (request protocols only). */
  readonly maxResponseBytes: number;
  /** Per peer, per protocol; one token per message or request. */
  readonly quota: Quota;
  /** Payload travels in a signed envelope (p2p/envelope.ts) checked by the replay guard. */
  readonly envelope: boolean;
  /** Only active masternodes may send it (the connected peer's key and the envelope sender). */
  readonly masternodeOnly: boolean;
}

export type ProtocolName = 'tx' | 'consensus' | 'heartbeat' | 'block' | 'sync' | 'forkpoll' | 'mempool-digest';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Room for the envelope and a consensus message's fields around a full block, and certificates. */
const BLOCK_MESSAGE_BYTES = MAX_BLOCK_SIZE + 1 * MiB;

const table: readonly ProtocolSpec[] = [
  // Transactions prove themselves (signed inputs); no envelope, anyone may relay them. A message
  // is a batch (p2p/tx-batch.ts), so the quota counts relay flushes, not transactions.
  { name: 'tx', id: '/timecoin/tx/2', kind: 'gossip', maxFrameBytes: TX_BATCH_MAX_BYTES, maxResponseBytes: 0, quota: { burst: 100, perSecond: 50 }, envelope: false, masternodeOnly: false },
  // PBFT messages (a pre-prepare carries the block): masternodes only, enveloped.
  { name: 'consensus', id: '/timecoin/consensus/1', kind: 'gossip', maxFrameBytes: BLOCK_MESSAGE_BYTES, maxResponseBytes: 0, quota: { burst: 200, perSecond: 100 }, envelope: true, masternodeOnly: true },
  { name: 'heartbeat', id: '/timecoin/heartbeat/1', kind: 'gossip', maxFrameBytes: 4 * KiB, maxResponseBytes: 0, quota: { burst: 10, perSecond: 2 }, envelope: true, masternodeOnly: true },
  // Final blocks with their commit certificate, pushed to followers.
  { name: 'block', id: '/timecoin/block/1', kind: 'gossip', maxFrameBytes: BLOCK_MESSAGE_BYTES, maxResponseBytes: 0, quota: { burst: 20, perSecond: 10 }, envelope: false, masternodeOnly: false },
  // Block sync: a small request, a response of up to two full blocks with certificates.
  { name: 'sync', id: '/timecoin/sync/1', kind: 'request', maxFrameBytes: 1 * KiB, maxResponseBytes: 2 * BLOCK_MESSAGE_BYTES, quota: { burst: 100, perSecond: 10 }, envelope: false, masternodeOnly: false },
  { name: 'forkpoll', id: '/timecoin/forkpoll/1', kind: 'request', maxFrameBytes: 1 * KiB, maxResponseBytes: 16 * KiB, quota: { burst: 10, perSecond: 1 }, envelope: false, masternodeOnly: false },
  { name: 'mempool-digest', id: '/timecoin/mempool-digest/1', kind: 'request', maxFrameBytes: 256 * KiB, maxResponseBytes: 1 * MiB, quota: { burst: 10, perSecond: 1 }, envelope: false, masternodeOnly: false },
];

const byName = new Map(table.map((p) => [p.name, p]));
const byId = new Map(table.map((p) => [p.id, p]));

/** Every protocol, in table order. */
export const PROTOCOLS: readonly ProtocolSpec[] = table;

/** The spec of a protocol by short name. */
export function protocolByName(name: ProtocolName): ProtocolSpec {
  return byName.get(name)!;
}

/** The spec of a libp2p protocol id; throws `unknown-protocol` for anything not in the table. */
export function protocolById(id: string): ProtocolSpec {
  const spec = byId.get(id);
  if (spec === undefined) throw new P2pError(P2pCode.UnknownProtocol, `unknown protocol ${id.slice(0, 64)}`);
  return spec;
}

/**
 * The table with some entries overridden (tests shrink limits and quotas to exercise them;
 * an operator could raise a quota). Names and ids cannot be changed.
 */
export type ProtocolOverrides = Partial<Record<ProtocolName, Partial<Pick<ProtocolSpec, 'maxFrameBytes' | 'maxResponseBytes' | 'quota'>>>>;

/** Resolve overrides into a full table keyed by name. */
export function resolveProtocols(overrides: ProtocolOverrides = {}): ReadonlyMap<ProtocolName, ProtocolSpec> {
  return new Map(table.map((p) => [p.name, { ...p, ...(overrides[p.name] ?? {}) }]));
}

/**
 * Who is connected: one record per peer (a peer may hold several connections), its address,
 * its operator key (every Ed25519 peer id embeds one; whether it is an ACTIVE masternode is
 * asked of the chain each time, since the set changes), when it connected and its traffic.
 * Feeds `active_peers` and `p2p_messages_total`, and answers getpeerinfo / getnetworkinfo.
 */
import { toHex } from '../chain/hash.js';
import type { PeerScores } from './peer-score.js';

export type Direction = 'inbound' | 'outbound';

/**
 * The p2p slice of `src/metrics.ts` `Metrics`, declared structurally so p2p/ does not import
 * upward from src/; the node passes its `Metrics` object (or null) and it type-checks.
 */
export interface P2pMetrics {
  readonly activePeers: { set(value: number): void };
  readonly p2pMessages: { inc(labels: { type: string; direction: string }, value?: number): void };
  readonly rateLimited: { inc(labels: { scope: string }, value?: number): void };
  readonly replayRejected: { inc(value?: number): void };
}

interface PeerRecord {
  readonly id: string;
  addr: string;
  direction: Direction;
  readonly operatorKey: Uint8Array | null;
  readonly connectedSince: number;
  connections: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/** One row of getpeerinfo. */
export interface PeerSnapshot {
  readonly id: string;
  readonly addr: string;
  readonly direction: Direction;
  /** Operator key (hex) when the peer is an active masternode, else null. */
  readonly masternode: string | null;
  readonly score: number;
  readonly connectedSince: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export interface NetworkSnapshot {
  readonly connections: number;
  readonly inbound: number;
  readonly outbound: number;
  readonly masternodes: number;
  readonly banned: number;
}

export class PeerManager {
  private readonly peers = new Map<string, PeerRecord>();

  constructor(
    private readonly metrics: P2pMetrics | null,
    private readonly scores: PeerScores,
    private readonly isActiveMasternode: (operatorKey: Uint8Array) => boolean,
  ) {}

  /** A connection to `id` opened. */
  connected(id: string, addr: string, direction: Direction, operatorKey: Uint8Array | null, now: number): void {
    const p = this.peers.get(id);
    if (p !== undefined) {
      p.connections++;
      return;
    }
    this.peers.set(id, { id, addr, direction, operatorKey, connectedSince: now, connections: 1, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 });
    this.metrics?.activePeers.set(this.peers.size);
  }

  /** A connection to `id` closed; true when it was the peer's last one. */
  disconnected(id: string): boolean {
    const p = this.peers.get(id);
    if (p === undefined) return false;
    if (--p.connections > 0) return false;
    this.peers.delete(id);
    this.metrics?.activePeers.set(this.peers.size);
    return true;
  }

  has(id: string): boolean {
    return this.peers.has(id);
  }

  /** The operator key in the peer id, or null. */
  operatorKey(id: string): Uint8Array | null {
    return this.peers.get(id)?.operatorKey ?? null;
  }

  /** True when the peer's key belongs to an active masternode now. */
  isMasternode(id: string): boolean {
    const k = this.peers.get(id)?.operatorKey ?? null;
    return k !== null && this.isActiveMasternode(k);
  }

  /** Connected peer ids. */
  ids(): string[] {
    return [...this.peers.keys()];
  }

  /** Count one message of `type` (a protocol name) in or out. */
  message(id: string, type: string, direction: 'in' | 'out', bytes: number, count = 1): void {
    const p = this.peers.get(id);
    if (p !== undefined) {
      if (direction === 'in') {
        p.messagesIn += count;
        p.bytesIn += bytes;
      } else {
        p.messagesOut += count;
        p.bytesOut += bytes;
      }
    }
    this.metrics?.p2pMessages.inc({ type, direction }, count);
  }

  /** getpeerinfo rows. */
  snapshot(now: number): PeerSnapshot[] {
    return [...this.peers.values()].map((p) => ({
      id: p.id,
      addr: p.addr,
      direction: p.direction,
      masternode: p.operatorKey !== null && this.isActiveMasternode(p.operatorKey) ? toHex(p.operatorKey) : null,
      score: Math.round(this.scores.score(p.id, now) * 100) / 100,
      connectedSince: p.connectedSince,
      messagesIn: p.messagesIn,
      messagesOut: p.messagesOut,
      bytesIn: p.bytesIn,
      bytesOut: p.bytesOut,
    }));
  }

  /** getnetworkinfo counts. */
  network(now: number): NetworkSnapshot {
    let inbound = 0;
    let masternodes = 0;
    for (const p of this.peers.values()) {
      if (p.direction === 'inbound') inbound++;
      if (p.operatorKey !== null && this.isActiveMasternode(p.operatorKey)) masternodes++;
    }
    return { connections: this.peers.size, inbound, outbound: this.peers.size - inbound, masternodes, banned: this.scores.banned(now).length };
  }
}

/**
 * Masternode heartbeats and attestations over `/timecoin/heartbeat/1` (docs/masternodes.md,
 * docs/p2p.md): the IO around the pure tracker in consensus/heartbeats.ts.
 *
 * Frames (inside the signed p2p envelope, so the sender is the connected masternode):
 *   u8 1 | heartbeat (152 B)                   a masternode's own heartbeat
 *   u8 2 | attestation (128 B) | heartbeat (152 B)   an attestation, with the heartbeat it vouches for
 *
 * Every `intervalMs` a masternode signs its next heartbeat (sequence and prevId continue from
 * `<datadir>/heartbeat-state.json`, written durably BEFORE the heartbeat leaves, so a restart
 * never signs a second heartbeat for a used sequence — that would be conflicting-heartbeat
 * evidence against ourselves), records it in its own tracker and broadcasts it. A node receiving
 * a valid heartbeat records it, attests it (if it is itself an active masternode), records its
 * own attestation and broadcasts it. Attestations from peers are recorded; an attestation for a
 * heartbeat not seen yet first offers that heartbeat to the tracker. `conflicting` and false
 * attestations put their evidence into the EvidencePool (like consensus equivocation); an
 * invalid signature costs the peer `bad-signature`, an undecodable frame `decode-failed`.
 * Envelopes are not relayed (docs/p2p.md), so this needs the masternode full mesh that
 * consensus needs anyway.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Signer } from '../chain/ed25519.js';
import type { EvidencePool } from '../chain/evidence-pool.js';
import { bytesEqual, fromHex, toHex } from '../chain/hash.js';
import type { ChainStore } from '../chain/store.js';
import {
  ATTESTATION_SIZE, decodeAttestation, decodeHeartbeat, encodeAttestation, encodeHeartbeat, HEARTBEAT_SIZE, heartbeatId, signAttestation, signHeartbeat,
  type Heartbeat,
} from '../consensus/heartbeat-codec.js';
import {
  HEARTBEAT_INTERVAL_MS, lastCountedHeartbeat, newHeartbeatState, pruneHeartbeats, receiveAttestation, receiveHeartbeat, uptime,
  type HeartbeatContext, type HeartbeatResult,
} from '../consensus/heartbeats.js';
import { P2pCode, P2pError } from '../p2p/errors.js';
import type { P2pNetwork } from '../p2p/network.js';
import { writeFileDurably } from './consensus-state.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export const HEARTBEAT_STATE_FILE = 'heartbeat-state.json';
const T_HEARTBEAT = 1;
const T_ATTESTATION = 2;

export interface HeartbeatServiceOptions {
  readonly net: P2pNetwork;
  readonly store: ChainStore;
  readonly chainId: Uint8Array;
  /** This node's operator signer (null: listens and counts, never signs). */
  readonly signer: Signer | null;
  readonly datadir: string;
  readonly intervalMs: number;
  readonly evidence: EvidencePool;
  readonly metrics: Metrics | null;
  readonly log: Logger;
  readonly now: () => number;
}

export class HeartbeatService {
  private readonly state = newHeartbeatState();
  private timer: NodeJS.Timeout | null = null;
  private last: { sequence: number; id: Uint8Array } | null = null;
  private beating: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly o: HeartbeatServiceOptions) {}

  /** Register the protocol handler (before `net.start()`). */
  async attach(): Promise<void> {
    await this.o.net.onGossip('heartbeat', (payload) => this.onFrame(payload));
  }

  /** Start the heartbeat timer (after the network started). */
  async start(): Promise<void> {
    this.last = await this.loadLast();
    this.timer = setInterval(() => {
      if (this.beating === null) this.beating = this.beat().finally(() => (this.beating = null));
    }, this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.beating;
  }

  /** masternodelist: time of the last counted heartbeat. */
  lastHeartbeat(operator: Uint8Array): number | null {
    return lastCountedHeartbeat(this.state, operator);
  }

  /** masternodelist: share of expected heartbeats counted over the last 24 h (at this node's interval). */
  uptime(operator: Uint8Array): number {
    return Math.min(1, (uptime(this.state, operator, this.o.now()) * this.o.intervalMs) / HEARTBEAT_INTERVAL_MS);
  }

  private ctx(): HeartbeatContext {
    const store = this.o.store;
    const next = store.tip().height + 1;
    const active = store.validatorSetAt(next);
    return {
      chainId: this.o.chainId,
      localHeight: store.tip().height,
      ownerOf: (op) => {
        if (!active.some((k) => bytesEqual(k, op))) return undefined;
        return store.masternodes().find((r) => r.spentHeight === null && bytesEqual(r.operator, op))?.owner;
      },
    };
  }

  private isActive(): boolean {
    const s = this.o.signer;
    return s !== null && this.ctx().ownerOf(s.publicKey) !== undefined;
  }

  /** Sign, persist, record and broadcast our next heartbeat. */
  private async beat(): Promise<void> {
    if (this.stopped || !this.isActive()) return;
    const signer = this.o.signer!;
    const sequence = this.last === null ? 0 : this.last.sequence + 1;
    const prevId = this.last === null ? new Uint8Array(32) : this.last.id;
    const hb = signHeartbeat(signer, this.o.chainId, { sequence, prevId, height: this.o.store.tip().height, timeMs: this.o.now() });
    const id = heartbeatId(this.o.chainId, hb);
    // Durable first: a crash after this point skips a sequence, never reuses one.
    await writeFileDurably(join(this.o.datadir, HEARTBEAT_STATE_FILE), JSON.stringify({ sequence, id: toHex(id) }) + '\n');
    this.last = { sequence, id };
    if (this.stopped) return;
    this.handleResult(receiveHeartbeat(this.state, hb, this.ctx()), null);
    pruneHeartbeats(this.state, this.o.now());
    this.broadcast(Buffer.concat([Buffer.of(T_HEARTBEAT), encodeHeartbeat(hb)]));
  }

  private async loadLast(): Promise<{ sequence: number; id: Uint8Array } | null> {
    const file = join(this.o.datadir, HEARTBEAT_STATE_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const o = JSON.parse(text) as { sequence?: unknown; id?: unknown };
    if (!Number.isSafeInteger(o.sequence) || typeof o.id !== 'string' || !/^[0-9a-f]{64}$/.test(o.id)) throw new Error(`${file} is corrupt; refusing to guess the heartbeat sequence`);
    return { sequence: o.sequence as number, id: fromHex(o.id) };
  }

  private broadcast(frame: Uint8Array): void {
    try {
      this.o.net.broadcast('heartbeat', frame);
    } catch (err) {
      this.o.log.debug({ err }, 'heartbeat broadcast failed');
    }
  }

  private onFrame(payload: Uint8Array): void {
    const type = payload[0];
    let hb: Heartbeat;
    if (type === T_HEARTBEAT && payload.length === 1 + HEARTBEAT_SIZE) {
      hb = this.decode(() => decodeHeartbeat(payload.subarray(1)));
      const r = receiveHeartbeat(this.state, hb, this.ctx());
      this.handleResult(r, hb);
      if (r.ok) this.attest(hb, r.id);
      return;
    }
    if (type === T_ATTESTATION && payload.length === 1 + ATTESTATION_SIZE + HEARTBEAT_SIZE) {
      const att = this.decode(() => decodeAttestation(payload.subarray(1, 1 + ATTESTATION_SIZE)));
      hb = this.decode(() => decodeHeartbeat(payload.subarray(1 + ATTESTATION_SIZE)));
      const ctx = this.ctx();
      const id = heartbeatId(this.o.chainId, hb);
      if (!this.state.pending.has(toHex(id))) {
        // The attestation overtook the heartbeat: offer the heartbeat first (it proves itself).
        // Its refusal is not thrown here: a heartbeat whose signature fails is the attester's
        // false attestation, which receiveAttestation below turns into evidence.
        const r = receiveHeartbeat(this.state, hb, ctx);
        if (r.ok) this.attest(hb, r.id);
        else if (r.evidence !== undefined) this.handleResult(r, hb);
      }
      this.handleResult(receiveAttestation(this.state, att, hb, ctx), hb);
      return;
    }
    throw new P2pError(P2pCode.DecodeFailed, `heartbeat frame of type ${type} and ${payload.length} bytes`);
  }

  private decode<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw new P2pError(P2pCode.DecodeFailed, `heartbeat: ${(err as Error).message}`);
    }
  }

  /** Attest a heartbeat we accepted (not our own), record our attestation, gossip it. */
  private attest(hb: Heartbeat, id: Uint8Array): void {
    const signer = this.o.signer;
    if (signer === null || bytesEqual(hb.operator, signer.publicKey) || !this.isActive()) return;
    const att = signAttestation(signer, this.o.chainId, id);
    this.handleResult(receiveAttestation(this.state, att, hb, this.ctx()), hb);
    this.broadcast(Buffer.concat([Buffer.of(T_ATTESTATION), encodeAttestation(att), encodeHeartbeat(hb)]));
  }

  /** Evidence to the pool; forged signatures cost the sender (the envelope proved who sent it). */
  private handleResult(r: HeartbeatResult, hb: Heartbeat | null): void {
    if (r.ok) return;
    if (r.evidence !== undefined) {
      if (this.o.evidence.add(r.evidence)) {
        this.o.metrics?.byzantineDetected.inc({ kind: r.code === 'conflicting' ? 'conflicting-heartbeat' : 'false-attestation' });
        this.o.log.warn({ code: r.code, operator: hb === null ? null : toHex(hb.operator) }, 'byzantine heartbeat behaviour detected');
      }
      return;
    }
    if (r.code === 'bad-signature') throw new P2pError(P2pCode.BadSignature, 'heartbeat or attestation signature does not verify');
    // duplicate, unknown-operator (set changes), bad-sequence / bad-prev / bad-height (restarts, lag): races, not proof.
    this.o.log.debug({ code: r.code }, 'heartbeat message not counted');
  }
}

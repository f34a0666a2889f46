/**
 * The inbound half of `P2pNetwork`: every stream a peer opens on one of our protocols goes
 * through here. Per stream: ban and masternode-only gate. Per frame, cheapest first: size (on
 * the length prefix), quota, envelope (sender, masternode, replay, signature); then the
 * handler. Every refusal goes to `fault` (score, metrics, ban).
 */
import type { Connection, Stream } from '@libp2p/interface';
import { admitEnvelope } from './envelope.js';
import { P2pCode, P2pError } from './errors.js';
import { encodeFrame, FrameDecoder } from './framing.js';
import { operatorKeyOfPeer } from './libp2p.js';
import type { GossipHandler, PeerRef, RequestHandler } from './network-types.js';
import type { PeerManager } from './peer-manager.js';
import type { PeerScores } from './peer-score.js';
import type { ProtocolName, ProtocolSpec } from './protocols.js';
import type { RateLimiter } from './rate-limit.js';
import type { ReplayGuard } from './replay-guard.js';
import { readOneFrame, sendWithBackpressure } from './stream-io.js';

export interface InboundDeps {
  readonly network: string;
  readonly isActiveMasternode: (operatorKey: Uint8Array) => boolean;
  readonly scores: PeerScores;
  readonly replay: ReplayGuard;
  readonly rate: RateLimiter;
  readonly peers: PeerManager;
  readonly gossipHandlers: ReadonlyMap<ProtocolName, GossipHandler>;
  readonly requestHandlers: ReadonlyMap<ProtocolName, RequestHandler>;
  readonly now: () => number;
  readonly requestTimeoutMs: number;
  /** Count a refusal and charge the peer (ban at the threshold). */
  readonly fault: (peer: string, code: P2pCode) => void;
}

export class Inbound {
  constructor(private readonly d: InboundDeps) {}

  /** A peer opened a gossip stream: check every frame, hand the payloads on. */
  gossip(spec: ProtocolSpec, stream: Stream, conn: Connection): void {
    const from = refOf(conn);
    const peer = from.id;
    if (!this.admit(spec, stream, from)) return;
    const decoder = new FrameDecoder(spec.maxFrameBytes);
    // We never write on an inbound gossip stream: close our end when the peer closes theirs,
    // so the stream is fully closed and its memory released.
    stream.addEventListener('remoteCloseWrite', () => void stream.close().catch(() => undefined));
    stream.addEventListener('message', (e) => {
      let frames: Uint8Array[];
      try {
        frames = decoder.push(e.data);
      } catch (err) {
        // Framing is lost: refuse the stream, the bytes announced were never buffered.
        this.d.fault(peer, (err as P2pError).code);
        stream.abort(err as Error);
        return;
      }
      for (const f of frames) this.deliver(spec, f, from);
    });
  }

  /** A peer opened a request stream: one frame in, the handler's answer out. */
  async request(spec: ProtocolSpec, stream: Stream, conn: Connection): Promise<void> {
    const from = refOf(conn);
    const peer = from.id;
    if (!this.admit(spec, stream, from)) return;
    const ctl = new AbortController();
    const ms = this.d.requestTimeoutMs;
    // A peer that opens a request and never finishes it (slowloris) is charged `timeout`.
    const timer = setTimeout(() => ctl.abort(new P2pError(P2pCode.Timeout, `${spec.name} request not received in ${ms} ms`)), ms);
    const timeout = ctl.signal;
    try {
      if (!this.d.rate.allow(peer, spec.name, spec.quota, this.d.now())) throw new P2pError(P2pCode.RateLimited, `${spec.name} quota exceeded`);
      const req = await readOneFrame(stream, spec.maxFrameBytes, timeout);
      this.d.peers.message(peer, spec.name, 'in', req.length);
      const handler = this.d.requestHandlers.get(spec.name)!;
      let res: Uint8Array;
      try {
        res = await handler(req, from);
      } catch (err) {
        throw err instanceof P2pError ? err : new P2pError(P2pCode.HandlerRejected, (err as Error).message);
      }
      if (res.length === 0 || res.length > spec.maxResponseBytes) {
        // Our own handler broke the limit: a bug here, not the peer's fault. Nothing is charged.
        stream.abort(new P2pError(P2pCode.FrameTooLarge, `own ${spec.name} response of ${res.length} bytes`));
        return;
      }
      await sendWithBackpressure(stream, encodeFrame(res));
      this.d.peers.message(peer, spec.name, 'out', res.length);
      await stream.close();
    } catch (err) {
      const e = err instanceof P2pError ? err : new P2pError(P2pCode.StreamFailed, (err as Error).message);
      this.d.fault(peer, e.code);
      stream.abort(e);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Per-stream gate: banned peers and masternode-only protocols. */
  private admit(spec: ProtocolSpec, stream: Stream, from: PeerRef): boolean {
    let refusal: P2pError | null = null;
    if (this.d.scores.isBanned(from.id, this.d.now())) refusal = new P2pError(P2pCode.Banned, 'banned');
    else if (spec.masternodeOnly && (from.operatorKey === null || !this.d.isActiveMasternode(from.operatorKey))) {
      refusal = new P2pError(P2pCode.NotMasternode, `${spec.name} is for masternodes`);
    }
    if (refusal === null) return true;
    this.d.fault(from.id, refusal.code);
    stream.abort(refusal);
    return false;
  }

  /** The per-message checks, in order of cost; then the handler. */
  private deliver(spec: ProtocolSpec, frame: Uint8Array, from: PeerRef): void {
    const now = this.d.now();
    const peer = from.id;
    // The rest of a chunk from a peer banned a frame ago is dropped, not charged again.
    if (this.d.scores.isBanned(peer, now)) return;
    try {
      if (!this.d.rate.allow(peer, spec.name, spec.quota, now)) throw new P2pError(P2pCode.RateLimited, `${spec.name} quota exceeded`);
      const payload = spec.envelope
        ? admitEnvelope(frame, { peerKey: from.operatorKey, network: this.d.network, spec, isActiveMasternode: this.d.isActiveMasternode, replay: this.d.replay, now })
        : frame;
      this.d.peers.message(peer, spec.name, 'in', frame.length);
      const handler = this.d.gossipHandlers.get(spec.name)!;
      const r = handler(payload, from);
      if (r instanceof Promise) r.catch((err) => this.d.fault(peer, handlerCode(err)));
    } catch (err) {
      this.d.fault(peer, handlerCode(err));
    }
  }
}

/** A handler's failure as a refusal code: a P2pError keeps its code, anything else is `handler-rejected`. */
function handlerCode(err: unknown): P2pCode {
  return err instanceof P2pError ? err.code : P2pCode.HandlerRejected;
}

/** The sender of a stream: its peer id and the operator key that id embeds (noise proved it). */
function refOf(conn: Connection): PeerRef {
  return { id: conn.remotePeer.toString(), operatorKey: operatorKeyOfPeer(conn.remotePeer) };
}

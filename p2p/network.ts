/**
 * `P2pNetwork`: the node's network. It owns the libp2p instance and runs every cheap stateless
 * check on a peer's bytes — frame size (on the length prefix), per-peer quota, envelope,
 * masternode-only protocols, replay — before a handler sees them. Deciding what the bytes MEAN
 * is the layer above's job (ARCHITECTURE: p2p decodes, checks, and hands on). Every refusal is
 * a `P2pError` whose code costs the peer score (peer-score.ts); at the threshold the peer is
 * disconnected and banned. Gossip goes on long-lived streams, batched per send; requests open a
 * stream each, with a timeout.
 */
import './polyfill.js';
import type { Connection, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Logger } from 'pino';
import { createSigner, type Signer } from '../chain/ed25519.js';
import { sealEnvelope } from './envelope.js';
import { Inbound } from './inbound.js';
import { P2pCode, P2pError } from './errors.js';
import { encodeFrame } from './framing.js';
import { createTimecoinLibp2p, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP, operatorKeyOfPeer, type TimecoinLibp2p } from './libp2p.js';
import { NonceSource } from './nonce.js';
import { DEFAULT_OUTBOUND_LIMITS, OutboundWriter } from './outbound.js';
import { PeerManager, type NetworkSnapshot, type P2pMetrics, type PeerSnapshot } from './peer-manager.js';
import { DEFAULT_SCORE_CONFIG, PeerScores } from './peer-score.js';
import { resolveProtocols, type ProtocolName, type ProtocolSpec } from './protocols.js';
import { RateLimiter } from './rate-limit.js';
import { DEFAULT_REPLAY_CONFIG, ReplayGuard } from './replay-guard.js';
import { readOneFrame, sendWithBackpressure } from './stream-io.js';
import { DEFAULT_REDIAL_MS, DEFAULT_REQUEST_TIMEOUT_MS, type GossipHandler, type P2pNetworkOptions, type RequestHandler } from './network-types.js';

export type { GossipHandler, P2pNetworkOptions, PeerRef, RequestHandler } from './network-types.js';

export class P2pNetwork {
  readonly scores: PeerScores;
  readonly replay: ReplayGuard;
  private readonly rate = new RateLimiter();
  private readonly peers: PeerManager;
  private readonly protocols: ReadonlyMap<ProtocolName, ProtocolSpec>;
  private readonly gossipHandlers = new Map<ProtocolName, GossipHandler>();
  private readonly requestHandlers = new Map<ProtocolName, RequestHandler>();
  private readonly writers = new Map<string, OutboundWriter>();
  private readonly refusals = new Map<P2pCode, number>();
  private readonly now: () => number;
  private readonly log: Logger | null;
  private readonly metrics: P2pMetrics | null;
  private timer: NodeJS.Timeout | null = null;
  /** `stream.send` calls made by gossip writers (each carries a batch of frames). */
  private sends = 0;
  private running = false;
  private readonly inbound: Inbound;

  private constructor(
    private readonly o: P2pNetworkOptions,
    readonly node: TimecoinLibp2p,
    private readonly signer: Signer | null,
    private readonly nonces: NonceSource | null,
    scores: PeerScores,
  ) {
    this.now = o.now ?? Date.now;
    this.log = o.logger ?? null;
    this.metrics = o.metrics ?? null;
    this.scores = scores;
    this.replay = new ReplayGuard({ ...DEFAULT_REPLAY_CONFIG, ...o.replay });
    this.protocols = resolveProtocols(o.protocols);
    this.peers = new PeerManager(this.metrics, this.scores, o.isActiveMasternode);
    this.inbound = new Inbound({
      network: o.network,
      isActiveMasternode: o.isActiveMasternode,
      scores: this.scores,
      replay: this.replay,
      rate: this.rate,
      peers: this.peers,
      gossipHandlers: this.gossipHandlers,
      requestHandlers: this.requestHandlers,
      now: this.now,
      requestTimeoutMs: o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      fault: (peer, code) => this.fault(peer, code),
    });
  }

  /** Build the libp2p node (not started) and, for an operator, the signer and nonce source. */
  static async create(o: P2pNetworkOptions): Promise<P2pNetwork> {
    if (o.operatorSecret !== null && o.dataDir === null) throw new TypeError('an operator node needs dataDir for its nonce counter');
    const now = o.now ?? Date.now;
    const scores = new PeerScores({ ...DEFAULT_SCORE_CONFIG, ...o.score });
    const node = await createTimecoinLibp2p({
      listen: o.listen,
      operatorSecret: o.operatorSecret,
      maxConnections: o.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      maxConnectionsPerIp: o.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP,
      isDenied: (peer) => scores.isBanned(peer, now()),
    });
    const signer = o.operatorSecret !== null ? createSigner(o.operatorSecret) : null;
    const nonces = o.operatorSecret !== null ? await NonceSource.open(o.dataDir!, now()) : null;
    return new P2pNetwork(o, node, signer, nonces, scores);
  }

  /** This node's peer id. */
  get peerId(): string {
    return this.node.peerId.toString();
  }

  /** Listen addresses with /p2p/<id> (what others put in their bootstrap list). */
  get addresses(): string[] {
    return this.node.getMultiaddrs().map((a) => a.toString());
  }

  /** Handle a gossip protocol; call before `start` (or after: it registers at once). */
  async onGossip(name: ProtocolName, handler: GossipHandler): Promise<void> {
    const spec = this.spec(name, 'gossip');
    this.gossipHandlers.set(name, handler);
    if (this.running) await this.register(spec);
  }

  /** Answer a request protocol. */
  async onRequest(name: ProtocolName, handler: RequestHandler): Promise<void> {
    const spec = this.spec(name, 'request');
    this.requestHandlers.set(name, handler);
    if (this.running) await this.register(spec);
  }

  /** Start listening, register handlers, dial the bootstrap peers. */
  async start(): Promise<void> {
    if (this.running) return;
    // Handlers first: a peer that connects the moment we listen must find them.
    for (const name of [...this.gossipHandlers.keys(), ...this.requestHandlers.keys()]) await this.register(this.protocols.get(name)!);
    this.node.addEventListener('connection:open', this.onOpen);
    this.node.addEventListener('connection:close', this.onClose);
    try {
      await this.node.start();
    } catch (err) {
      this.node.removeEventListener('connection:open', this.onOpen);
      this.node.removeEventListener('connection:close', this.onClose);
      throw err; // e.g. EADDRINUSE: the caller reports it and closes what it opened
    }
    this.running = true;
    this.dialBootstrap();
    this.timer = setInterval(() => this.tick(), this.o.redialMs ?? DEFAULT_REDIAL_MS);
    this.timer.unref();
  }

  /** Close writers and connections, stop libp2p. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer !== null) clearInterval(this.timer);
    await Promise.allSettled([...this.writers.values()].map((w) => w.close()));
    this.writers.clear();
    await this.node.stop();
    this.node.removeEventListener('connection:open', this.onOpen);
    this.node.removeEventListener('connection:close', this.onClose);
  }

  /** Queue `payload` to one connected peer (enveloped and signed if the protocol says so). */
  send(peer: string, name: ProtocolName, payload: Uint8Array): void {
    const spec = this.spec(name, 'gossip');
    this.assertNotBanned(peer);
    if (!this.peers.has(peer)) throw new P2pError(P2pCode.NotConnected, 'peer not connected', { peer });
    this.writer(peer, spec).enqueue(this.outboundBody(spec, payload));
  }

  /** Ids of the connected peers. */
  peerIds(): string[] {
    return this.peers.ids();
  }

  /** Queue `payload` to every connected peer that may receive it; returns how many. */
  broadcast(name: ProtocolName, payload: Uint8Array): number {
    const spec = this.spec(name, 'gossip');
    const body = this.outboundBody(spec, payload); // one envelope (one nonce) for everyone
    let n = 0;
    for (const peer of this.peers.ids()) {
      if (spec.masternodeOnly && !this.peers.isMasternode(peer)) continue;
      try {
        this.writer(peer, spec).enqueue(body);
        n++;
      } catch (err) {
        this.log?.debug({ module: 'p2p', code: (err as P2pError).code }, 'broadcast skipped a peer');
      }
    }
    return n;
  }

  /** One request, one response, within `timeoutMs`; throws a `P2pError`. */
  async request(peer: string, name: ProtocolName, payload: Uint8Array, timeoutMs = this.o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS): Promise<Uint8Array> {
    const spec = this.spec(name, 'request');
    this.assertRunning();
    this.assertNotBanned(peer);
    if (payload.length === 0 || payload.length > spec.maxFrameBytes) throw new P2pError(P2pCode.FrameTooLarge, `request of ${payload.length} bytes`);
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new P2pError(P2pCode.Timeout, `${name} request timed out after ${timeoutMs} ms`)), timeoutMs);
    let stream: Stream;
    try {
      stream = await this.node.dialProtocol(peerIdFromString(peer), spec.id, { signal: ctl.signal });
    } catch (err) {
      clearTimeout(timer);
      if (ctl.signal.aborted) throw ctl.signal.reason as P2pError;
      // The peer does not speak (or refuses) this protocol: multistream-select said no.
      const code = (err as Error).name === 'UnsupportedProtocolError' ? P2pCode.UnknownProtocol : P2pCode.NotConnected;
      throw new P2pError(code, `cannot open ${name} stream: ${(err as Error).message}`, { peer });
    }
    try {
      await sendWithBackpressure(stream, encodeFrame(payload));
      this.peers.message(peer, name, 'out', payload.length);
      const response = await readOneFrame(stream, spec.maxResponseBytes, ctl.signal);
      this.peers.message(peer, name, 'in', response.length);
      void stream.close().catch(() => undefined);
      return response;
    } catch (err) {
      const e = err instanceof P2pError ? err : new P2pError(P2pCode.StreamFailed, (err as Error).message);
      if (e.code === P2pCode.FrameTooLarge || e.code === P2pCode.DecodeFailed) this.fault(peer, e.code);
      stream.abort(e);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Report a peer's misbehaviour found by a layer above (e.g. a consensus message with a bad signature). */
  penalize(peer: string, code: P2pCode): void {
    this.fault(peer, code);
  }

  /** Dial a peer (addnode); resolves to its peer id. */
  async connect(addr: string): Promise<string> {
    this.assertRunning();
    try {
      return (await this.node.dial(multiaddr(addr))).remotePeer.toString();
    } catch (err) {
      throw new P2pError(P2pCode.NotConnected, `dial failed: ${(err as Error).message}`);
    }
  }

  /** Round-trip time to a connected peer in ms (libp2p ping); throws `not-connected`. */
  async ping(peer: string): Promise<number> {
    this.assertRunning();
    try {
      return await this.node.services.ping.ping(peerIdFromString(peer), { signal: AbortSignal.timeout(this.o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS) });
    } catch (err) {
      throw new P2pError(P2pCode.NotConnected, `ping failed: ${(err as Error).message}`);
    }
  }

  /** Close every connection to a peer (disconnectnode). */
  async disconnect(peer: string): Promise<void> {
    await this.node.hangUp(peerIdFromString(peer));
  }

  /** getpeerinfo rows. */
  getPeerInfo(): PeerSnapshot[] {
    return this.peers.snapshot(this.now());
  }

  /** getnetworkinfo: counts plus our identity and addresses. */
  getNetworkInfo(): NetworkSnapshot & { peerId: string; localaddresses: string[]; networkactive: boolean } {
    return { ...this.peers.network(this.now()), peerId: this.peerId, localaddresses: this.running ? this.addresses : [], networkactive: this.running };
  }

  /** Gossip `stream.send` calls so far (batching makes this far smaller than messages sent). */
  get gossipSends(): number {
    return this.sends;
  }

  /** Refusals so far by code (tests and diagnostics). */
  refusalCount(code: P2pCode): number {
    return this.refusals.get(code) ?? 0;
  }

  // ---- inbound ----

  private async register(spec: ProtocolSpec): Promise<void> {
    const gossip = spec.kind === 'gossip';
    await this.node.handle(spec.id, (stream, conn) => (gossip ? this.inbound.gossip(spec, stream, conn) : this.inbound.request(spec, stream, conn)), {
      // Gossip needs one stream each way; extra streams are only a way to multiply buffers.
      maxInboundStreams: gossip ? 2 : 16,
      maxOutboundStreams: gossip ? 2 : 16,
      force: true,
    });
  }

  /** Count a refusal, charge the peer, and ban + disconnect at the threshold. */
  private fault(peer: string, code: P2pCode): void {
    this.refusals.set(code, (this.refusals.get(code) ?? 0) + 1);
    if (code === P2pCode.RateLimited) this.metrics?.rateLimited.inc({ scope: 'p2p' });
    if (code === P2pCode.Replay) this.metrics?.replayRejected.inc();
    const { score, ban } = this.scores.penalize(peer, code, this.now());
    this.log?.debug({ module: 'p2p', peer, code, score }, 'peer refused');
    if (ban) {
      this.log?.warn({ module: 'p2p', peer, code, score, banMs: this.scores.config.banMs }, 'peer banned');
      void this.node.hangUp(peerIdFromString(peer)).catch(() => undefined);
    }
  }

  // ---- outbound and housekeeping ----

  private outboundBody(spec: ProtocolSpec, payload: Uint8Array): Uint8Array {
    this.assertRunning();
    let body = payload;
    if (spec.envelope) {
      if (this.signer === null || this.nonces === null) throw new P2pError(P2pCode.NotMasternode, 'this node has no operator key to sign with');
      const now = this.now();
      body = sealEnvelope(this.signer, this.o.network, spec.id, this.nonces.next(now), now, payload);
    }
    if (body.length === 0 || body.length > spec.maxFrameBytes) throw new P2pError(P2pCode.FrameTooLarge, `own ${spec.name} frame of ${body.length} bytes`);
    return body;
  }

  private writer(peer: string, spec: ProtocolSpec): OutboundWriter {
    const key = `${peer}|${spec.name}`;
    let w = this.writers.get(key);
    if (w === undefined) {
      w = new OutboundWriter(
        () => this.node.dialProtocol(peerIdFromString(peer), spec.id, { signal: AbortSignal.timeout(this.o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS) }),
        { ...DEFAULT_OUTBOUND_LIMITS, ...this.o.outbound },
        (frames, bytes) => {
          this.sends++;
          this.peers.message(peer, spec.name, 'out', bytes, frames);
        },
        (err) => this.log?.debug({ module: 'p2p', peer, protocol: spec.name, err: err.message }, 'outbound stream failed'),
      );
      this.writers.set(key, w);
    }
    return w;
  }

  private readonly onOpen = (e: CustomEvent<Connection>): void => {
    const c = e.detail;
    const peer = c.remotePeer.toString();
    this.peers.connected(peer, c.remoteAddr.toString(), c.direction, operatorKeyOfPeer(c.remotePeer), this.now());
  };

  private readonly onClose = (e: CustomEvent<Connection>): void => {
    const peer = e.detail.remotePeer.toString();
    if (!this.peers.disconnected(peer)) return;
    // Rate buckets are kept (bounded): reconnecting must not refill a drained bucket.
    for (const name of this.protocols.keys()) {
      const key = `${peer}|${name}`;
      const w = this.writers.get(key);
      if (w !== undefined) {
        this.writers.delete(key);
        void w.close();
      }
    }
  };

  private dialBootstrap(): void {
    for (const addr of this.o.bootstrap ?? []) {
      const id = multiaddr(addr).getComponents().find((c) => c.name === 'p2p')?.value;
      if (id !== undefined && (this.peers.has(id) || this.scores.isBanned(id, this.now()))) continue;
      this.node.dial(multiaddr(addr)).catch((err: Error) => this.log?.debug({ module: 'p2p', addr, err: err.message }, 'bootstrap dial failed'));
    }
  }

  private tick(): void {
    const now = this.now();
    this.scores.prune(now);
    this.replay.prune(now);
    this.dialBootstrap();
  }

  private spec(name: ProtocolName, kind: ProtocolSpec['kind']): ProtocolSpec {
    const spec = this.protocols.get(name);
    if (spec === undefined || spec.kind !== kind) throw new P2pError(P2pCode.UnknownProtocol, `${name} is not a ${kind} protocol`);
    return spec;
  }

  private assertNotBanned(peer: string): void {
    if (this.scores.isBanned(peer, this.now())) throw new P2pError(P2pCode.Banned, 'peer is banned', { peer });
  }

  private assertRunning(): void {
    if (!this.running) throw new P2pError(P2pCode.NotRunning, 'p2p network is not running');
  }
}

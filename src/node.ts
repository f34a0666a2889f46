/**
 * A running node, wired in order — store → chain (mempool, block checks) → p2p network →
 * consensus driver → (p2p attached and started) → rpc — by `Node.create()`, and unwound in
 * reverse by `close()` (ARCHITECTURE example 10). Each part logs through a child logger `{module}`.
 *
 * The dev network (docs/node.md) runs no p2p: its validator set is the genesis proposer, a single
 * validator that finalizes through the same driver and engine code path as any n. Testnet and
 * mainnet read `<datadir>/genesis.json` and the operator key (src/operator-key.ts), take their
 * validator set from the masternode registry, and run p2p (src/node-p2p.ts, docs/p2p.md).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { Transaction } from '../chain/transaction.js';
import { hashBlockBytes } from '../chain/block.js';
import { SignatureCache, verifySignature, type Signer } from '../chain/ed25519.js';
import { bytesEqual, toHex } from '../chain/hash.js';
import { attachConsensus, consensusTransport, reportConsensusRejection } from '../p2p/consensus-link.js';
import { P2pNetwork } from '../p2p/network.js';
import { EvidencePool } from '../chain/evidence-pool.js';
import { Mempool } from '../chain/mempool.js';
import { ChainStore } from '../chain/store.js';
import type { Bytes, EngineConfig } from '../consensus/types.js';
import { ApiKeyStore } from '../rpc/apikeys.js';
import type { RpcLimits } from '../rpc/limits.js';
import { createRpcServer, type RpcServer } from '../rpc/server.js';
import { BlockChecks } from './block-checks.js';
import type { Config } from './config.js';
import { CONSENSUS_STATE_FILE } from './consensus-state.js';
import { ensureDevChain, type DevChain } from './dev-chain.js';
import { ConsensusDriver } from './driver.js';
import { FinalityTracker } from './finality.js';
import { GENESIS_FILE, genesisBlock, readGenesisFile, type GenesisFile } from './genesis-file.js';
import { HeartbeatService } from './heartbeat-service.js';
import { networkServices, TxGossip } from './node-p2p.js';
import { BlockSync, serveSync } from './block-sync.js';
import { serveForkPoll } from './fork-poll.js';
import { ForkResolver } from './fork-resolver.js';
import { MempoolSync, serveMempoolDigest } from './mempool-sync.js';
import { protocolByName } from '../p2p/protocols.js';
import { loadOperatorKey } from './operator-key.js';
import { childLogger, createLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { nodeMethods } from './rpc-methods/index.js';
import { createServices } from './services.js';
import { VerifyPool } from './verify-pool.js';
import { preverifyForMempool } from './preverify.js';
import { VERSION } from './version.js';

export interface NodeOptions {
  readonly config: Config;
  /** Root logger (default: JSON on stdout at config.log.level). */
  readonly logger?: Logger;
  readonly now?: () => number;
  /** Overrides config.rpc.port (tests pass 0 for any free port). */
  readonly rpcPort?: number;
  /** How often the status line is logged (default 30 s). */
  readonly statusIntervalMs?: number;
  /** Wait after the first pending transaction before starting a block (default 25 ms). */
  readonly txBatchDelayMs?: number;
  readonly rpcLimits?: Partial<RpcLimits>;
  /** Overrides config.p2p.port (non-dev networks). */
  readonly p2pPort?: number;
}

/** How the node ended: null after a clean close, else the error that stopped it. */
export type NodeExit = { readonly fatal: Error | null };

/** Everything `create` has opened so far, for close() and for unwinding a failed create(). */
interface Parts {
  store?: ChainStore;
  driver?: ConsensusDriver;
  finality?: FinalityTracker;
  rpc?: RpcServer;
  net?: P2pNetwork;
  heartbeats?: HeartbeatService;
  sync?: BlockSync;
  verifyPool?: VerifyPool;
  mempoolSync?: MempoolSync;
  gossip?: TxGossip;
  statusTimer?: NodeJS.Timeout;
}

export class Node {
  /** The dev chain's wallet, operator and API key (dev network only). */
  dev: DevChain | null = null;
  rpcPort = 0;
  readonly metrics: Metrics;
  readonly registry = new Registry();
  /** Resolves once the node has closed (by close(), `stop`, a signal or a fatal error). */
  readonly exited: Promise<NodeExit>;
  private resolveExit!: (e: NodeExit) => void;
  private readonly parts: Parts = {};
  private closing: Promise<void> | null = null;
  private fatal: Error | null = null;
  private readonly log: Logger;
  private readonly root: Logger;
  private readonly now: () => number;

  private constructor(private readonly opts: NodeOptions) {
    this.root = opts.logger ?? createLogger({ level: opts.config.log.level, base: { network: opts.config.network } });
    this.log = childLogger(this.root, 'node');
    this.now = opts.now ?? Date.now;
    this.metrics = createMetrics(this.registry);
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  /** Open and start every part; on failure, whatever was opened is closed again before the throw. */
  static async create(opts: NodeOptions): Promise<Node> {
    const node = new Node(opts);
    try {
      await node.start();
    } catch (err) {
      await node.close();
      throw err;
    }
    return node;
  }

  /** The RPC base URL (http or https). */
  get rpcUrl(): string {
    const c = this.opts.config.rpc;
    const host = c.host.includes(':') ? `[${c.host}]` : c.host;
    return `${c.tls === null ? 'http' : 'https'}://${host}:${this.rpcPort}/`;
  }

  private async start(): Promise<void> {
    const c = this.opts.config;
    await mkdir(c.datadir, { recursive: true, mode: 0o700 });
    let genesisParams: GenesisFile;
    let operator: Signer | null;
    let operatorSecret: Uint8Array | null = null;
    if (c.network === 'dev') {
      const dev = await ensureDevChain(c.datadir, this.now());
      this.dev = dev;
      genesisParams = dev.genesis;
      operator = dev.operator;
    } else {
      // testnet / mainnet: the genesis parameters and the operator key come from the datadir
      // (`timecoin testnet` or an operator's own set-up); the node runs p2p (docs/node.md).
      const file = join(c.datadir, GENESIS_FILE);
      if (!existsSync(file)) throw new Error(`${file} is missing: a ${c.network} node needs the network's genesis parameters`);
      genesisParams = await readGenesisFile(file);
      if (genesisParams.network !== c.network) throw new Error(`${file} describes a ${genesisParams.network} chain, but this node runs ${c.network}`);
      const key = await loadOperatorKey(c.operatorKeyFile, c.network);
      operator = key?.signer ?? null;
      operatorSecret = key?.secretKey ?? null;
    }
    const genesis = genesisBlock(genesisParams);
    const store = (this.parts.store = await ChainStore.open(join(c.datadir, 'chain')));
    await store.initialize(genesis, c.network); // idempotent; refuses a datadir holding another chain
    const chainId = store.chainId;
    // The registry's set (docs/masternodes.md). The dev network is a single-validator chain
    // (SPEC §6): its genesis-designated validator runs it even if someone registers a
    // masternode there; elsewhere a chain with no active masternode falls back to the genesis
    // proposer field, which on mainnet/testnet is a hash nobody can sign for (it halts).
    const designated: readonly Bytes[] = [genesis.header.proposer];
    const validatorsAt = (height: number): readonly Bytes[] => {
      if (c.network === 'dev') return designated;
      const set = store.validatorSetAt(height);
      return set.length > 0 ? set : designated;
    };
    this.log.info({ datadir: c.datadir, chainid: toHex(chainId), height: store.tip().height, created: this.dev?.created ?? false }, 'chain opened');

    const sigCache = new SignatureCache();
    // Signature checks in bulk on worker threads (block sync certificates, a block's uncached input signatures); threads start on first use.
    const verifyPool = (this.parts.verifyPool = new VerifyPool({ log: childLogger(this.root, 'verify-pool') }));
    const mempool = new Mempool({
      chainId, sigCache, maxTransactions: c.mempool.maxTransactions, minFeeRate: c.mempool.minFeeRate, registry: () => store.registry,
    });
    const evidence = new EvidencePool();
    const finality = (this.parts.finality = new FinalityTracker(this.metrics, this.now));
    const checks = new BlockChecks({ store, chainId, sigCache, validatorsAt, now: this.now, evidence, verifyPool, maxBlockTransactions: c.consensus.maxBlockTransactions, knownTransaction: mempool.withEncoding });

    // p2p (non-dev only): the network exists before the driver (its transport), and is attached
    // to the driver and started after it (docs/p2p.md "Wiring into the node").
    let net: P2pNetwork | null = null;
    if (c.network !== 'dev') {
      const p2pLog = childLogger(this.root, 'p2p');
      net = this.parts.net = await P2pNetwork.create({
        network: c.network,
        listen: [`/ip4/${c.p2p.listenHost}/tcp/${this.opts.p2pPort ?? c.p2p.port}`],
        bootstrap: c.p2p.bootstrap,
        operatorSecret,
        dataDir: c.datadir,
        isActiveMasternode: (k) => store.validatorSetAt(store.tip().height + 1).some((v) => bytesEqual(v, k)),
        metrics: this.metrics,
        logger: p2pLog,
        maxConnections: c.p2p.maxConnections,
        maxConnectionsPerIp: c.p2p.maxPerIp,
        score: { banMs: c.p2p.banMs },
        redialMs: c.p2p.redialMs,
        now: this.now,
      });
    }
    const consensusLog = childLogger(this.root, 'consensus');
    // A validator is paid at its registration's owner key (the coinbase rule); unregistered: its operator key.
    const rewardPublicKey = operator === null ? null
      : (store.masternodes().find((r) => r.spentHeight === null && bytesEqual(r.operator, operator.publicKey))?.owner ?? operator.publicKey);
    const driver = (this.parts.driver = new ConsensusDriver({
      engine: this.engineConfig(chainId, operator),
      store,
      mempool,
      checks,
      finality,
      stateFile: join(c.datadir, CONSENSUS_STATE_FILE),
      validatorsAt,
      rewardPublicKey,
      idleBlockIntervalMs: c.consensus.idleBlockIntervalMs,
      minBlockIntervalMs: c.consensus.minBlockIntervalMs,
      txBatchDelayMs: this.opts.txBatchDelayMs ?? 25,
      now: this.now,
      logger: consensusLog,
      metrics: this.metrics,
      transport: net === null ? null : consensusTransport(net, (e) => consensusLog.debug({ code: e.code }, 'consensus send dropped')),
      onFatal: (err) => this.onFatal(err),
      evidence,
      onRejected: net === null ? null : (from, code) => reportConsensusRejection(net, from, code),
    }));
    this.updateGauges(store, mempool);

    // One wiring of mempool pre-verification, for gossip frames and JSON-RPC batches alike.
    const preverifyMempool = (txs: readonly Transaction[]) => preverifyForMempool(txs, { store, mempool, chainId, sigCache, pool: verifyPool });
    let gossip: TxGossip | null = null;
    let heartbeats: HeartbeatService | null = null;
    if (net !== null) {
      gossip = this.parts.gossip = new TxGossip(net, {
        mempool,
        store,
        log: childLogger(this.root, 'p2p'),
        preverify: preverifyMempool,
        onAccepted: (tx) => {
          finality.noteAccepted(tx);
          this.metrics.mempoolTransactions.set(mempool.size);
          driver.onTransactionsAvailable();
        },
      });
      await gossip.attach();
      // Conflicting certified chains (docs/p2p.md "Fork resolution"); every block here is final, so one is refused as a safety fault.
      const forks = new ForkResolver({
        net, store, checks, chainId, mempool, evidence, log: childLogger(this.root, 'fork'),
        runExclusive: (fn) => driver.runExclusive(fn), reorgDepth: this.metrics.reorgDepth, now: this.now,
        onConnected: (block) => {
          finality.onFinal(block);
          this.metrics.chainHeight.set(block.header.height);
          this.metrics.finalizedHeight.set(block.header.height);
        },
      });
      const sync = (this.parts.sync = new BlockSync({
        net, store, driver, checks, mempool, finality, evidence, chainId, log: childLogger(this.root, 'sync'), verifyPool,
        onConflict: (peer, height) => forks.onConflict(peer, height),
        onLag: (blocks) => this.metrics.peerSyncLag.set(blocks),
        onConnected: (block) => {
          this.metrics.chainHeight.set(block.header.height);
          this.metrics.finalizedHeight.set(block.header.height);
        },
      }));
      await serveSync(net, store, protocolByName('sync').maxResponseBytes);
      await serveForkPoll(net, store);
      // Mempool reconciliation when this node (re)joins (docs/p2p.md "Mempool reconciliation").
      await serveMempoolDigest(net, mempool, protocolByName('mempool-digest').maxResponseBytes);
      this.parts.mempoolSync = new MempoolSync(net, { mempool, gossip, log: childLogger(this.root, 'mempool-sync') });
      await attachConsensus(net, (msg, from) => {
        driver.onPeerMessage(msg, from);
        // Traffic for a height past our next one: we are behind, fetch the gap (docs/p2p.md "Block sync").
        if (msg.height > store.tip().height + 1) sync.trigger();
      });
      heartbeats = this.parts.heartbeats = new HeartbeatService({
        net, store, chainId, signer: operator, datadir: c.datadir, intervalMs: c.consensus.heartbeatIntervalMs, evidence,
        metrics: this.metrics, log: childLogger(this.root, 'heartbeat'), now: this.now,
      });
      await heartbeats.attach();
    }
    await driver.boot();
    if (net !== null) {
      await net.start();
      this.log.info({ peerId: net.peerId, addresses: net.addresses, bootstrap: c.p2p.bootstrap.length, validator: operator !== null }, 'p2p started');
      await heartbeats!.start();
      this.parts.sync!.start();
      this.parts.mempoolSync!.start();
    }

    const services = createServices({
      network: c.network, chainId, version: VERSION, store, mempool, sigCache, driver, finality, metrics: this.metrics,
      operatorKey: operator?.publicKey ?? null, validatorsAt, requestStop: () => this.requestStop(),
      p2p: net === null ? null : networkServices(net),
      gossip: gossip === null ? null : (tx) => gossip.announce(tx),
      heartbeats,
      verifyPool,
      preverifyMempool,
    });
    await this.startRpc(nodeMethods(services, this.metrics));
    if (net === null) this.log.info({ p2pPort: c.p2p.port }, 'p2p is not part of the dev node: running as a standalone dev validator');
    this.startStatus(store, mempool, driver);
  }

  private engineConfig(chainId: Uint8Array, signer: Signer | null): EngineConfig {
    const t = this.opts.config.consensus;
    return {
      chainId,
      signer,
      hashBlock: hashBlockBytes,
      verify: verifySignature,
      timeouts: { baseMs: t.timeoutBaseMs, factor: t.timeoutFactor, maxMs: t.timeoutMaxMs },
      maxBufferedMessages: 10_000,
      keepDecisions: 64,
    };
  }

  private async startRpc(methods: ReturnType<typeof nodeMethods>): Promise<void> {
    const c = this.opts.config;
    const rpcLog = childLogger(this.root, 'rpc');
    const apiKeys = new ApiKeyStore(c.datadir, { onReloadError: (err) => rpcLog.error({ err }, 'apikeys.json unreadable: refusing every key until fixed') });
    const rpc = (this.parts.rpc = createRpcServer({
      host: c.rpc.host,
      port: this.opts.rpcPort ?? c.rpc.port,
      ...(c.rpc.tls === null ? {} : { tls: { certFile: c.rpc.tls.certFile, keyFile: c.rpc.tls.keyFile } }),
      methods,
      apiKeys,
      metricsHandler: async () => ({ contentType: this.registry.contentType, body: await this.registry.metrics() }),
      metricsAuth: c.rpc.metricsAuth,
      health: () => this.closing === null && this.parts.driver?.healthy === true,
      limits: { maxBodyBytes: c.rpc.maxBodyBytes, maxBatch: c.rpc.maxBatch, defaultRatePerSecond: c.rpc.defaultRatePerSecond, ...this.opts.rpcLimits },
      logger: rpcLog,
      metrics: {
        rateLimited: (scope) => this.metrics.rateLimited.inc({ scope }),
        httpResponse: (status) => this.metrics.rpcHttpResponses.inc({ status: String(status) }),
      },
      now: this.now,
    }));
    this.rpcPort = await rpc.listen();
  }

  private updateGauges(store: ChainStore, mempool: Mempool): void {
    this.metrics.chainHeight.set(store.tip().height);
    this.metrics.finalizedHeight.set(store.finalized().height);
    this.metrics.utxoSetSize.set(store.utxoStats().count);
    this.metrics.mempoolTransactions.set(mempool.size);
    if (this.parts.net === undefined) this.metrics.activePeers.set(0); // with p2p the peer manager keeps it
    this.metrics.peerSyncLag.set(0);
  }

  /** The periodic status line (height, finalized, peers, mempool), which also refreshes gauges. */
  private startStatus(store: ChainStore, mempool: Mempool, driver: ConsensusDriver): void {
    const statusLog = childLogger(this.root, 'status');
    const tick = async (): Promise<void> => {
      if (this.closing !== null) return;
      this.updateGauges(store, mempool);
      const c = driver.info();
      statusLog.info(
        { height: store.tip().height, finalized: store.finalized().height, peers: this.parts.net?.getNetworkInfo().connections ?? 0, mempool: mempool.size, view: c.view, phase: c.phase },
        'status',
      );
      try {
        this.metrics.databaseSize.set(await store.databaseSizeBytes());
      } catch {
        // The store closed under us (shutdown): the next node start measures again.
      }
    };
    this.parts.statusTimer = setInterval(() => void tick(), this.opts.statusIntervalMs ?? 30_000);
    void tick();
  }

  private onFatal(err: Error): void {
    this.fatal ??= err;
    void this.close();
  }

  /** `stop` RPC: close once the answer has gone out. */
  private requestStop(): void {
    this.log.info('stop requested over RPC');
    setTimeout(() => void this.close(), 20);
  }

  private async quietly(part: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.fatal ??= err as Error;
      this.log.error({ err, part }, 'close failed');
    }
  }

  /** Close in reverse order of creation: status, rpc, p2p, consensus driver (its running step completes), store. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const p = this.parts;
      if (p.statusTimer !== undefined) clearInterval(p.statusTimer);
      // Each part is closed even if an earlier one failed to: the store must always be released.
      await this.quietly('rpc', async () => p.rpc?.close());
      // p2p stops before the driver: no peer message arrives at a closing driver.
      await this.quietly('heartbeats', async () => p.heartbeats?.stop());
      p.mempoolSync?.stop();
      p.gossip?.stop();
      await this.quietly('sync', async () => p.sync?.stop());
      await this.quietly('p2p', async () => p.net?.stop());
      await this.quietly('consensus', async () => p.driver?.close());
      await this.quietly('verify-pool', async () => p.verifyPool?.close());
      p.finality?.closeAll();
      await this.quietly('store', async () => p.store?.close());
      this.log.info({ fatal: this.fatal?.message ?? null }, 'node closed');
      this.resolveExit({ fatal: this.fatal });
    })();
    return this.closing;
  }
}

/**
 * Every metric of the node, declared once (SPEC §7, ARCHITECTURE example 9). `createMetrics`
 * registers them on one registry and returns a typed object; components take `Metrics | null`
 * so tests and tools can run without a registry. Rules: prefix `timecoin_`, counters end in
 * `_total`, durations are histograms in `_seconds`, and no label ever holds a peer id, key,
 * address or free-form text from the network — label values come from fixed tables, which keeps
 * cardinality bounded and the output passing `promtool check metrics`. docs/metrics.md lists them.
 */
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import { droppedLogLines } from './log-destination.js';

export const METRIC_PREFIX = 'timecoin_';

/** The JSON-RPC methods this node serves (SPEC §5 and gettxoutsetinfo, waitforblockheight); any other name is counted as `other`. */
export const RPC_METHOD_LABELS = [
  'getblockchaininfo',
  'getblockcount',
  'getbestblockhash',
  'getblockhash',
  'getblock',
  'gettxoutsetinfo',
  'getrawtransaction',
  'gettxout',
  'getaddressbalance',
  'listunspent',
  'getmempoolinfo',
  'getrawmempool',
  'getpeerinfo',
  'getnetworkinfo',
  'getconsensusinfo',
  'masternodelist',
  'masternodecount',
  'masternodestatus',
  'gettransactionfinality',
  'waittransactionfinality',
  'waitforblockheight',
  'validateaddress',
  'sendrawtransaction',
  'testmempoolaccept',
  'addnode',
  'disconnectnode',
  'stop',
] as const;
const rpcMethods = new Set<string>(RPC_METHOD_LABELS);

/** The `method` label for a request: the method itself when this node serves it, else `other`. */
export function rpcMethodLabel(method: unknown): string {
  return typeof method === 'string' && rpcMethods.has(method) ? method : 'other';
}

/** The metric objects; label names are part of each type so a misspelt label fails to compile. */
export interface Metrics {
  // consensus
  readonly consensusRounds: Counter;
  readonly consensusRoundDuration: Histogram;
  readonly blocksProduced: Counter;
  readonly viewChanges: Counter;
  readonly byzantineDetected: Counter<'kind'>;
  // p2p
  readonly activePeers: Gauge;
  readonly peerSyncLag: Gauge;
  readonly p2pMessages: Counter<'type' | 'direction'>;
  readonly rateLimited: Counter<'scope'>;
  readonly replayRejected: Counter;
  // mempool and finality
  readonly mempoolTransactions: Gauge;
  readonly transactionsFinalized: Counter;
  readonly transactionFinality: Histogram;
  // chain and store
  readonly utxoSetSize: Gauge;
  readonly databaseSize: Gauge;
  readonly reorgDepth: Histogram;
  readonly chainHeight: Gauge;
  readonly finalizedHeight: Gauge;
  // rpc
  readonly rpcRequests: Counter<'method' | 'code'>;
  readonly rpcRequestDuration: Histogram<'method'>;
  readonly rpcHttpResponses: Counter<'status'>;
  // process
  readonly logLinesDropped: Counter;
}

/** Round and finality times: PBFT rounds take tens of ms on a LAN and up to the 60 s timeout cap. */
const DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Reorg depths are capped at MAX_REORG_DEPTH = 1,000 blocks (SPEC §1). */
const REORG_BUCKETS = [1, 2, 3, 5, 10, 25, 50, 100, 250, 500, 1000];
/** RPC handlers: most answer from memory in well under 10 ms; waittransactionfinality can wait long. */
const RPC_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30];

/** Default gauges dropped: `nodejs_active_handles{type}` etc. carry the same information. */
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * Declare every metric on `registry` (and Node's process defaults, prefixed). Call once per
 * registry: prom-client refuses to register a name twice.
 */
export function createMetrics(registry: Registry): Metrics {
  const registers = [registry];
  const n = (name: string) => METRIC_PREFIX + name;
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  // prom-client exports three gauges named *_total, which `promtool check metrics` rejects
  // (only counters may end in _total); each is the sum of its per-type gauge, which stays.
  for (const g of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(METRIC_PREFIX + g);
  return {
    consensusRounds: new Counter({
      name: n('consensus_rounds_total'),
      help: 'Consensus rounds (height, view) that ended, by a commit or a view change.',
      registers,
    }),
    consensusRoundDuration: new Histogram({
      name: n('consensus_round_duration_seconds'),
      help: 'Time from the start of a round (new height or view) to its commit or view change.',
      buckets: DURATION_BUCKETS,
      registers,
    }),
    blocksProduced: new Counter({
      name: n('blocks_produced_total'),
      help: 'Blocks this node proposed as leader that became final.',
      registers,
    }),
    viewChanges: new Counter({
      name: n('view_changes_total'),
      help: 'View changes this node entered (leader timed out or misbehaved).',
      registers,
    }),
    byzantineDetected: new Counter({
      name: n('byzantine_detected_total'),
      help: 'Provable misbehaviour seen, by kind (equivocation, ...: a fixed set of names, never a peer).',
      labelNames: ['kind'] as const,
      registers,
    }),
    activePeers: new Gauge({ name: n('active_peers'), help: 'Connected P2P peers.', registers }),
    peerSyncLag: new Gauge({
      name: n('peer_sync_lag_blocks'),
      help: 'Blocks between the best height announced by peers and this node\'s height (0 when in sync).',
      registers,
    }),
    p2pMessages: new Counter({
      name: n('p2p_messages_total'),
      help: 'P2P messages by protocol message type and direction (in, out).',
      labelNames: ['type', 'direction'] as const,
      registers,
    }),
    rateLimited: new Counter({
      name: n('rate_limited_total'),
      help: 'Requests or messages refused by a rate limit, by scope: the API key scope (read, submit, admin), unauthenticated, or p2p.',
      labelNames: ['scope'] as const,
      registers,
    }),
    replayRejected: new Counter({
      name: n('replay_rejected_total'),
      help: 'P2P messages dropped by the replay guard (already seen or outside the accepted window).',
      registers,
    }),
    mempoolTransactions: new Gauge({ name: n('mempool_transactions'), help: 'Transactions in the mempool.', registers }),
    transactionsFinalized: new Counter({
      name: n('transactions_finalized_total'),
      help: 'Transactions included in final blocks (coinbase excluded).',
      registers,
    }),
    transactionFinality: new Histogram({
      name: n('transaction_finality_seconds'),
      help: 'Time from a transaction\'s mempool acceptance on this node to the finality of its block.',
      buckets: DURATION_BUCKETS,
      registers,
    }),
    utxoSetSize: new Gauge({ name: n('utxo_set_size'), help: 'Unspent transaction outputs in the chain state.', registers }),
    databaseSize: new Gauge({
      name: n('database_size_bytes'),
      help: 'Bytes on disk of the LevelDB chain database (approximate, as reported by the store).',
      registers,
    }),
    reorgDepth: new Histogram({
      name: n('reorg_depth'),
      help: 'Blocks disconnected per chain reorganization (never past the last final block).',
      buckets: REORG_BUCKETS,
      registers,
    }),
    chainHeight: new Gauge({ name: n('chain_height'), help: 'Height of the best block.', registers }),
    finalizedHeight: new Gauge({ name: n('finalized_height'), help: 'Height of the last final block.', registers }),
    rpcRequests: new Counter({
      name: n('rpc_requests_total'),
      help: 'JSON-RPC calls by method (SPEC table, else other) and result code (0 = success, else the JSON-RPC error code).',
      labelNames: ['method', 'code'] as const,
      registers,
    }),
    rpcRequestDuration: new Histogram({
      name: n('rpc_request_duration_seconds'),
      help: 'Time to answer one JSON-RPC call, by method.',
      labelNames: ['method'] as const,
      buckets: RPC_BUCKETS,
      registers,
    }),
    rpcHttpResponses: new Counter({
      name: n('rpc_http_responses_total'),
      help: 'HTTP responses of the RPC server by status code (200, 401, 403, 413, 429, ...).',
      labelNames: ['status'] as const,
      registers,
    }),
    logLinesDropped: droppedLogLinesCounter(n('log_lines_dropped_total'), registers),
  };
}

/** A counter that reads src/log-destination.ts's process-wide drop count at each scrape. */
function droppedLogLinesCounter(name: string, registers: Registry[]): Counter {
  let reported = 0;
  return new Counter({
    name,
    help: 'Log lines dropped because the log output (stdout or the log file) was not written fast enough.',
    registers,
    collect() {
      const now = droppedLogLines();
      if (now > reported) this.inc(now - reported);
      reported = now;
    },
  });
}

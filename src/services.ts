/**
 * The narrow interface the RPC methods (src/rpc-methods/) call: read access to the chain and the
 * mempool, and the few actions a client may take (submit, test, wait for finality, stop). RPC
 * never touches the driver, the engine state or the store's write side.
 */
import { statusAt, type MasternodeStatus } from '../chain/masternode.js';
import { toHex } from '../chain/hash.js';
import type { NetworkName } from '../chain/constants.js';
import type { SignatureCache } from '../chain/ed25519.js';
import type { LoadedChainView, Mempool } from '../chain/mempool.js';
import type { ChainStore } from '../chain/store.js';
import type { Transaction } from '../chain/transaction.js';
import type { ConsensusInfo } from '../consensus/engine.js';
import type { Bytes } from '../consensus/types.js';
import type { ConsensusDriver } from './driver.js';
import type { FinalPlace, FinalityTracker } from './finality.js';
import type { Metrics } from './metrics.js';
import type { NetworkServices } from './node-p2p.js';
import { testAccept, type TestAcceptResult } from './test-accept.js';
import type { VerifyPool } from './verify-pool.js';

/** Read side of the chain store. */
export type ChainReader = Pick<
  ChainStore,
  'tip' | 'finalized' | 'getBlock' | 'getBlockByHeight' | 'getBlockHash' | 'getTransaction' | 'getUtxo' | 'getAddressUtxos' | 'getCertificate' | 'utxoSetHash'
>;

/** Read side of the mempool. */
export type MempoolReader = Pick<Mempool, 'has' | 'get' | 'entry' | 'txids' | 'info' | 'spentBy' | 'output' | 'outputsTo' | 'size'>;

/** A masternode (validator) entry as masternodelist reports it (SPEC §5). */
export interface MasternodeEntry {
  readonly operator: Uint8Array;
  /** Collateral owner key; null for a validator designated by the genesis (no registration). */
  readonly owner: Uint8Array | null;
  /** "txid:n"; null without a collateral (genesis-designated). */
  readonly collateral: string | null;
  readonly addr: string | null;
  /** Dash's words: ENABLED, PRE_ENABLED, POSE_BANNED. */
  readonly status: MasternodeStatus;
  readonly registeredheight: number;
  /** ms timestamp of the last counted heartbeat (null until heartbeats travel over p2p). */
  readonly lastheartbeat: number | null;
  /** Recorded penalty in units (burned when the collateral is spent). */
  readonly penalties: bigint;
  /** Number of recorded offences. */
  readonly offences: number;
  /** Share of expected heartbeats counted over the last 24 h (null until heartbeats travel over p2p). */
  readonly uptime: number | null;
}

/** What RPC may ask of the node. */
export interface NodeServices {
  readonly network: NetworkName;
  readonly chainId: Uint8Array;
  readonly version: string;
  readonly chain: ChainReader;
  readonly mempool: MempoolReader;
  /** Validate and add a transaction to the mempool (throws RuleError); returns its txid. */
  submit(tx: Transaction): Promise<Uint8Array>;
  /** Before a batch of submits runs in order: verify their signatures off the event loop (never throws; src/preverify.ts). */
  prepareSubmits(txs: readonly Transaction[]): Promise<void>;
  /** testmempoolaccept: check without adding. */
  testAccept(txs: readonly Transaction[]): Promise<TestAcceptResult[]>;
  consensusInfo(): ConsensusInfo;
  /** Register for the finality of a txid before looking it up (see FinalityTracker.watch). */
  watchFinality(txidHex: string, timeoutMs: number, signal: AbortSignal): { promise: Promise<FinalPlace | null>; cancel: () => void };
  /** Register for the first final block at or above a height before reading the finalized height (FinalityTracker.watchHeight). */
  watchFinalHeight(height: number, timeoutMs: number, signal: AbortSignal): { promise: Promise<FinalPlace | null>; cancel: () => void };
  /** Every registered masternode whose collateral is unspent (or the genesis-designated validator). */
  masternodes(): MasternodeEntry[];
  /** This node's operator key, or null for a non-validator. */
  readonly operatorKey: Bytes | null;
  /** Connected peers (0 without p2p). */
  peerCount(): number;
  /** The network (getpeerinfo, addnode, …); null when this node runs no p2p (the dev node). */
  readonly p2p: NetworkServices | null;
  /** Close the node soon (after the current answer is sent). */
  requestStop(): void;
  /** Signature checks in bulk on worker threads (block sync, block validation, mempool batches); null if none. */
  readonly verifyPool: VerifyPool | null;
}

export interface ServicesDeps {
  readonly network: NetworkName;
  readonly chainId: Uint8Array;
  readonly version: string;
  readonly store: ChainStore;
  readonly mempool: Mempool;
  readonly sigCache: SignatureCache;
  readonly driver: ConsensusDriver;
  readonly finality: FinalityTracker;
  readonly metrics: Metrics | null;
  readonly operatorKey: Bytes | null;
  readonly validatorsAt: (height: number) => readonly Bytes[];
  readonly requestStop: () => void;
  /** The running network, if any. */
  readonly p2p?: NetworkServices | null;
  /** Counted heartbeats (null: no p2p, so lastheartbeat and uptime stay null). */
  readonly heartbeats?: HeartbeatView | null;
  /** Gossip a transaction the mempool accepted from RPC (null: no p2p). */
  readonly gossip?: ((tx: Transaction) => void) | null;
  /** The node's verify pool (src/verify-pool.ts). */
  readonly verifyPool?: VerifyPool | null;
  /** Pre-verifies a batch bound for the mempool on the verify pool (src/preverify.ts); absent: admission verifies alone. */
  readonly preverifyMempool?: ((txs: readonly Transaction[]) => Promise<{ readonly loaded: LoadedChainView | null }>) | null;
}

/** Most prepared transactions whose pre-verification view is kept for their submit (a batch's worth; the oldest go first). */
export const PREPARED_VIEWS_MAX = 10_000;

/** What masternodelist reads from the heartbeat tracker (src/heartbeat-service.ts). */
export interface HeartbeatView {
  lastHeartbeat(operator: Uint8Array): number | null;
  uptime(operator: Uint8Array): number;
}

/** Wire the services onto the node's parts. */
export function createServices(d: ServicesDeps): NodeServices {
  // txid hex → the chain view its batch's pre-verification read; submit takes (and forgets) it.
  const prepared = new Map<string, LoadedChainView>();
  return {
    network: d.network,
    chainId: d.chainId,
    version: d.version,
    chain: d.store,
    mempool: d.mempool,
    operatorKey: d.operatorKey,
    async submit(tx) {
      const loaded = prepared.get(tx.txidHex);
      if (loaded !== undefined) prepared.delete(tx.txidHex);
      const r = await d.mempool.acceptWithStore(tx, d.store, loaded);
      d.finality.noteAccepted(tx);
      d.metrics?.mempoolTransactions.set(d.mempool.size);
      d.driver.onTransactionsAvailable();
      d.gossip?.(tx);
      return r.txid;
    },
    async prepareSubmits(txs) {
      const pre = await d.preverifyMempool?.(txs);
      if (pre?.loaded == null) return;
      for (const tx of txs) {
        prepared.delete(tx.txidHex); // re-inserted last: the oldest entries are evicted first
        prepared.set(tx.txidHex, pre.loaded);
      }
      for (const k of prepared.keys()) {
        if (prepared.size <= PREPARED_VIEWS_MAX) break;
        prepared.delete(k);
      }
    },
    testAccept: (txs) => testAccept(txs, { store: d.store, mempool: d.mempool, chainId: d.chainId, sigCache: d.sigCache }),
    consensusInfo: () => d.driver.info(),
    watchFinality: (txidHex, timeoutMs, signal) => d.finality.watch(txidHex, timeoutMs, signal),
    watchFinalHeight: (height, timeoutMs, signal) => d.finality.watchHeight(height, timeoutMs, signal),
    masternodes: () => masternodeEntries(d),
    peerCount: () => d.p2p?.peerCount() ?? 0,
    p2p: d.p2p ?? null,
    requestStop: d.requestStop,
    verifyPool: d.verifyPool ?? null,
  };
}

/**
 * The registry as masternodelist shows it: every record whose collateral is unspent (Dash drops
 * spent ones), status at the next height. A chain without registrations shows the
 * genesis-designated validator (no owner, collateral or addr).
 */
export function masternodeEntries(d: Pick<ServicesDeps, 'store' | 'validatorsAt' | 'heartbeats'>): MasternodeEntry[] {
  const hb = d.heartbeats ?? null;
  const next = d.store.tip().height + 1;
  const live = d.store.masternodes().filter((r) => r.spentHeight === null);
  if (live.length === 0) {
    return d.validatorsAt(next).map((operator) => ({
      operator, owner: null, collateral: null, addr: null, status: 'ENABLED' as const, registeredheight: 0, lastheartbeat: null, penalties: 0n, offences: 0, uptime: null,
    }));
  }
  return live.map((r) => ({
    operator: r.operator,
    owner: r.owner,
    collateral: `${toHex(r.collateralTxid)}:${r.collateralIndex}`,
    addr: r.addr,
    status: statusAt(r, next),
    registeredheight: r.registeredHeight,
    lastheartbeat: hb?.lastHeartbeat(r.operator) ?? null,
    penalties: r.penalty,
    offences: r.offences,
    uptime: hb === null ? null : hb.uptime(r.operator),
  }));
}

/** The options and handler types of `P2pNetwork` (p2p/network.ts). */
import type { Logger } from 'pino';
import type { OutboundLimits } from './outbound.js';
import type { P2pMetrics } from './peer-manager.js';
import type { ScoreConfig } from './peer-score.js';
import type { ProtocolOverrides } from './protocols.js';
import type { ReplayConfig } from './replay-guard.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_REDIAL_MS = 15_000;

/** Who a message came from. `operatorKey` is the key in its peer id (proven by noise). */
export interface PeerRef {
  readonly id: string;
  readonly operatorKey: Uint8Array | null;
}

export type GossipHandler = (payload: Uint8Array, from: PeerRef) => void | Promise<void>;
export type RequestHandler = (payload: Uint8Array, from: PeerRef) => Uint8Array | Promise<Uint8Array>;

export interface P2pNetworkOptions {
  /** Network name (dev, testnet, mainnet): bound into envelope signatures. */
  readonly network: string;
  readonly listen: readonly string[];
  /** Multiaddrs (with /p2p/<id>) dialled at start and re-dialled while disconnected. */
  readonly bootstrap?: readonly string[];
  /** The operator's 32-byte secret: the libp2p identity and the envelope signer. Null: no identity of its own. */
  readonly operatorSecret: Uint8Array | null;
  /** Directory for the persisted nonce counter (required with an operator secret). */
  readonly dataDir: string | null;
  /** Is this operator key an active masternode now? (from the chain's validator set) */
  readonly isActiveMasternode: (operatorKey: Uint8Array) => boolean;
  readonly metrics?: P2pMetrics | null;
  readonly logger?: Logger | null;
  readonly now?: () => number;
  readonly maxConnections?: number;
  readonly maxConnectionsPerIp?: number;
  readonly protocols?: ProtocolOverrides;
  readonly score?: Partial<ScoreConfig>;
  readonly replay?: Partial<ReplayConfig>;
  readonly outbound?: Partial<OutboundLimits>;
  readonly requestTimeoutMs?: number;
  readonly redialMs?: number;
}

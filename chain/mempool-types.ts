/**
 * The mempool's public types: configuration, operation results, and the slice of ChainStore
 * that the store-backed helpers need. Implementation in chain/mempool.ts.
 */
import type { RegistryView } from './masternode.js';
import type { SignatureCache } from './ed25519.js';
import type { Transaction } from './transaction.js';
import type { UtxoView } from './utxo.js';

export interface MempoolConfig {
  /** Genesis hash: input signatures are valid for this chain only. */
  readonly chainId: Uint8Array;
  /**
   * The masternode registry at the tip (the node passes the store's). With it, registrations are
   * checked against the registry on entry (chain/masternode-rules.ts), so one bad registration
   * cannot make every proposal invalid; without it only the context-free rules apply.
   */
  readonly registry?: () => RegistryView;
  /** The node's shared cache (also used by block connect); null disables caching. */
  readonly sigCache: SignatureCache | null;
  /** Capacity in transactions (SPEC §1 MAX_MEMPOOL_TRANSACTIONS). */
  readonly maxTransactions?: number;
  /** Minimum fee rate in units per encoded byte (SPEC §1 MIN_FEE_RATE). */
  readonly minFeeRate?: bigint;
  /**
   * Capacity in encoded bytes (policy, Bitcoin Core's -maxmempool): without it 10,000
   * transactions of up to 1 MB each could hold 10 GB of memory.
   */
  readonly maxBytes?: number;
}

/** Default byte cap: Bitcoin Core's default -maxmempool of 300 MB. */
export const DEFAULT_MAX_MEMPOOL_BYTES = 300_000_000;

/**
 * Txids of connected blocks the pool remembers to refuse late copies without a store read
 * (~15 s of blocks at 1,300 tx/s; ~110 bytes each).
 */
export const RECENT_CONFIRMED_MAX = 20_000;

export interface AcceptResult {
  readonly txid: Uint8Array;
  readonly fee: bigint;
  readonly size: number;
  /** Transactions evicted to make room: the cheapest ones and their in-pool descendants. */
  readonly evicted: readonly Transaction[];
}

export interface RemoveResult {
  /** Pool transactions that the block included. */
  readonly included: number;
  /** Pool transactions dropped because the block spent one of their inputs, plus descendants. */
  readonly conflicts: readonly Transaction[];
}

export interface ReadmitResult {
  readonly readmitted: number;
  /** Disconnected transactions no longer valid (or below policy), dropped silently. */
  readonly dropped: number;
  /** Pool transactions removed because they spent outputs of a dropped transaction. */
  readonly orphaned: number;
}

/** An output created by a pool transaction, as getaddressbalance / gettxout need it. */
export interface MempoolOutput {
  readonly txid: Uint8Array;
  readonly index: number;
  readonly amount: bigint;
  /** The pool transaction spending it, if any. */
  readonly spentBy: Uint8Array | undefined;
}

/** The slice of ChainStore that acceptWithStore needs (structural, so tests can fake it). */
export interface MempoolStore {
  tip(): { readonly height: number; readonly hash: Uint8Array };
  loadView(txs: readonly Transaction[]): Promise<UtxoView>;
  /** Whether `txid` is in a connected block (the txid index alone). */
  hasTransaction(txid: Uint8Array): Promise<boolean>;
}

/**
 * A chain view loaded at the tip whose hash is `at` (MempoolStore.loadView), shared by a batch's
 * transactions: pre-verification loads one for a whole gossip frame or RPC batch, and admission
 * uses it while the tip is still `at` instead of reading each transaction's inputs again.
 */
export interface LoadedChainView {
  readonly at: Uint8Array;
  readonly view: UtxoView;
}

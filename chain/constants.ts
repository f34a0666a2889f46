/** Consensus and policy constants of SPEC §1. Amounts are bigint units (1 TIME = 10^8 units). */

export const UNITS_PER_TIME = 100_000_000n;
export const MAX_MONEY = 10n ** 16n;
export const MAX_BLOCK_SIZE = 2_000_000;
export const MAX_TX_SIZE = 1_000_000;
export const DUST_THRESHOLD = 546n;
export const MASTERNODE_COLLATERAL = 1_000n * UNITS_PER_TIME;
export const MAX_REORG_DEPTH = 1_000;
export const FORK_POLL_PEERS = 7;
export const FORK_POLL_AGREE = 5;
export const DEFAULT_MAX_MEMPOOL_TRANSACTIONS = 10_000;
/** Minimum fee rate in units per encoded byte. */
export const DEFAULT_MIN_FEE_RATE = 1n;
export const MAX_U64 = (1n << 64n) - 1n;

/** Block reward schedule (docs/chain.md): 1 TIME per block until a supply-protecting halving. */
export const BLOCK_REWARD = 1n * UNITS_PER_TIME;

export const TX_VERSION = 1;
export const BLOCK_VERSION = 1;

/** Transaction kinds of SPEC §3; 3 (evidence) is this project's use of a reserved kind, docs/masternodes.md. */
export const TxKind = {
  Transfer: 0,
  Coinbase: 1,
  MasternodeRegistration: 2,
  /** Evidence of masternode misbehaviour (docs/masternodes.md): no inputs, no outputs, no fee. */
  Evidence: 3,
} as const;
export type TxKind = (typeof TxKind)[keyof typeof TxKind];

/** Network names and their bech32m address prefixes (SPEC §2) and default ports (SPEC §5). */
export const NETWORKS = {
  mainnet: { hrp: 'time', p2pPort: 24000, rpcPort: 24001 },
  testnet: { hrp: 'ttime', p2pPort: 24100, rpcPort: 24101 },
  dev: { hrp: 'dtime', p2pPort: 24200, rpcPort: 24201 },
} as const;
export type NetworkName = keyof typeof NETWORKS;

/** Domain separators of the signed messages (SPEC §3). */
export const TX_SIGN_DOMAIN = new TextEncoder().encode('TIMECOIN-TX-V1');
export const MN_SIGN_DOMAIN = new TextEncoder().encode('TIMECOIN-MN-V1');

/** Domain separators of heartbeats and attestations (docs/masternodes.md). */
export const HB_SIGN_DOMAIN = new TextEncoder().encode('TIMECOIN-HB-V1');
export const ATT_SIGN_DOMAIN = new TextEncoder().encode('TIMECOIN-ATT-V1');

/**
 * Typed errors. Every domain declares its codes as an `as const` object; callers and tests
 * branch on `code`, never on the message. rpc/ and p2p/ map codes to JSON-RPC codes and
 * peer penalties in one table each.
 */

/** Base error of the project: a stable machine-readable code plus a human message. */
export class TimecoinError<C extends string = string> extends Error {
  readonly code: C;
  readonly meta: Readonly<Record<string, unknown>> | undefined;
  constructor(code: C, message: string, meta?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.meta = meta;
  }
}

/** Why a byte string is not a canonical encoding. */
export const DecodeCode = {
  Truncated: 'decode-truncated',
  TrailingBytes: 'decode-trailing-bytes',
  BadVersion: 'decode-bad-version',
  BadKind: 'decode-bad-kind',
  TooLarge: 'decode-too-large',
  CountOutOfRange: 'decode-count-out-of-range',
  BadValue: 'decode-bad-value',
} as const;
export type DecodeCode = (typeof DecodeCode)[keyof typeof DecodeCode];

/** Thrown only by decoders: the input bytes are not a valid canonical encoding. */
export class DecodeError extends TimecoinError<DecodeCode> {}

/**
 * Why a transaction or block breaks a consensus or policy rule. The string values are the
 * reject reasons of SPEC §5 and appear verbatim in RPC error messages.
 */
export const RuleCode = {
  // transaction, context-free
  NoInputs: 'no-inputs',
  NoOutputs: 'no-outputs',
  Dust: 'dust',
  DuplicateInput: 'duplicate-input',
  ValueOutOfRange: 'value-out-of-range',
  TxTooLarge: 'tx-too-large',
  BadCoinbase: 'bad-coinbase',
  UnexpectedCoinbase: 'unexpected-coinbase',
  BadPayload: 'bad-payload',
  // transaction, contextual
  MissingInputs: 'missing-inputs',
  BadSignature: 'bad-signature',
  InsufficientFunds: 'insufficient-funds',
  BadCollateral: 'bad-collateral',
  BadRegistration: 'bad-registration',
  /** The collateral outpoint is already claimed by a registration (current or past). */
  CollateralClaimed: 'collateral-claimed',
  /** The operator key is already registered (operator keys are never reused). */
  DuplicateOperator: 'duplicate-operator',
  /** The owner signature does not verify under the collateral output's key. */
  BadOwnerSignature: 'bad-owner-signature',
  /** The registration address is not a multiaddr of an accepted form. */
  BadAddr: 'bad-addr',
  /** An evidence transaction does not prove what it claims (or names an unknown offender). */
  BadEvidence: 'bad-evidence',
  /** The same offence was already recorded in the chain (or earlier in the block). */
  DuplicateEvidence: 'duplicate-evidence',
  /** The offence is older than the evidence window (or in the future). */
  EvidenceTooOld: 'evidence-too-old',
  /** The coinbase does not pay the proposer's registered reward key. */
  BadRewardKey: 'bad-reward-key',
  // policy (mempool)
  InsufficientFee: 'insufficient-fee',
  MempoolFull: 'mempool-full',
  MempoolConflict: 'mempool-conflict',
  AlreadyInChain: 'already-in-chain',
  AlreadyInMempool: 'already-in-mempool',
  // block
  BlockTooLarge: 'block-too-large',
  BadTxRoot: 'bad-txroot',
  BadPrevHash: 'bad-prevblk',
  BadHeight: 'bad-height',
  BadTimestamp: 'bad-timestamp',
  BadCoinbaseValue: 'bad-cb-amount',
  MissingCoinbase: 'missing-coinbase',
  DuplicateTx: 'duplicate-tx',
  BlockDoubleSpend: 'block-double-spend',
  BadProposer: 'bad-proposer',
  BadCertificate: 'bad-certificate',
} as const;
export type RuleCode = (typeof RuleCode)[keyof typeof RuleCode];

/**
 * A transaction or block broke the rule named by `code`. It captures no stack trace: a verdict is
 * an answer to input, not a fault of the code, its code says which rule, and a loaded node builds
 * thousands of them a second (a full mempool refusing a flood), where the trace cost more than the rule.
 */
export class RuleError extends TimecoinError<RuleCode> {
  constructor(code: RuleCode, message: string, meta?: Record<string, unknown>) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(code, message, meta);
    Error.stackTraceLimit = limit;
  }
}

/** Storage-level failures (corruption, closed database, reorg limits). */
export const StoreCode = {
  NotOpen: 'store-not-open',
  Corrupt: 'store-corrupt',
  NotTip: 'store-not-tip',
  NothingToDisconnect: 'store-nothing-to-disconnect',
  FinalizedBlock: 'store-finalized-block',
  NotFound: 'store-not-found',
  /** connectBlock: an input is not in the UTXO set (or already spent earlier in the block). */
  MissingInput: 'store-missing-input',
  /** connectBlock: a txid is already indexed (in the chain or earlier in the block). */
  DuplicateTx: 'store-duplicate-tx',
  /** initialize: the database already holds a different chain (or network). */
  GenesisMismatch: 'store-genesis-mismatch',
  /** initialize: the block is not a genesis block (height 0, zero prevHash). */
  BadGenesis: 'store-bad-genesis',
  /** An operation needs a chain but initialize() never ran. */
  NotInitialized: 'store-not-initialized',
  /** The database was written with another layout version (chain/layout.ts). */
  SchemaMismatch: 'store-schema-mismatch',
  /** setFinalized: the finalized height would move backwards. */
  FinalizedRegression: 'store-finalized-regression',
  /** The (height, hash) pair is not on the stored best chain. */
  NotInChain: 'store-not-in-chain',
  /** Another process (or store instance) holds the database lock. */
  Locked: 'store-locked',
  /** connectBlock: an amount or the UTXO total would leave the u64 range. */
  ValueOutOfRange: 'store-value-out-of-range',
  /** connectBlock: a registration or evidence the registry cannot apply (reused key or collateral, repeated offence). */
  BadRegistry: 'store-bad-registry',
} as const;
export type StoreCode = (typeof StoreCode)[keyof typeof StoreCode];

/** The store refused an operation or found itself inconsistent. */
export class StoreError extends TimecoinError<StoreCode> {}

/** Address parse failures. */
export const AddressCode = {
  BadEncoding: 'address-bad-encoding',
  BadChecksum: 'address-bad-checksum',
  WrongNetwork: 'address-wrong-network',
  BadLength: 'address-bad-length',
} as const;
export type AddressCode = (typeof AddressCode)[keyof typeof AddressCode];

/** A string is not a valid address for the expected network. */
export class AddressError extends TimecoinError<AddressCode> {}

/**
 * The contract of the PBFT engine: messages, inputs, effects, persisted record, config.
 * The engine (engine.ts) is a pure reducer `step(state, input) → { state, effects }`;
 * the node's driver and the simulator (tests/sim) are the only places that do IO.
 *
 * Blocks are opaque bytes here: the engine sees a block only through `config.hashBlock` and
 * the driver's validation verdict (`block-validated` input).
 */
import type { Signer } from '../chain/ed25519.js';

export type Bytes = Uint8Array;

/** Wire/message types; the number is the u8 used in encodings and signed bytes. */
export const MsgType = {
  PrePrepare: 1,
  Prepare: 2,
  Commit: 3,
  ViewChange: 4,
  NewView: 5,
  Decision: 6,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

/** A PREPARE or COMMIT vote: signed over (chainId, type, height, view, blockHash). */
export interface Vote {
  readonly type: typeof MsgType.Prepare | typeof MsgType.Commit;
  readonly height: number;
  readonly view: number;
  readonly blockHash: Bytes;
  readonly signer: Bytes;
  readonly signature: Bytes;
}

/** The leader's proposal; the signature covers blockHash, and blockHash must equal hashBlock(block). */
export interface PrePrepare {
  readonly type: typeof MsgType.PrePrepare;
  readonly height: number;
  readonly view: number;
  readonly blockHash: Bytes;
  readonly block: Bytes;
  readonly signer: Bytes;
  readonly signature: Bytes;
}

/** 2f+1 matching PREPAREs for one (height, view, blockHash), with the block they prepared. */
export interface PreparedCertificate {
  readonly height: number;
  readonly view: number;
  readonly blockHash: Bytes;
  readonly block: Bytes;
  readonly prepares: readonly Vote[];
}

/** 2f+1 matching COMMITs: what makes a block final, stored and served with it. */
export interface CommitCertificate {
  readonly height: number;
  readonly view: number;
  readonly blockHash: Bytes;
  readonly commits: readonly Vote[];
}

/** A replica's request to move to `view`, carrying its highest prepared certificate (if any). */
export interface ViewChange {
  readonly type: typeof MsgType.ViewChange;
  readonly height: number;
  readonly view: number;
  readonly prepared: PreparedCertificate | null;
  readonly signer: Bytes;
  readonly signature: Bytes;
}

/** The new leader's proof (2f+1 VIEW-CHANGEs for `view`) and its re-proposal. */
export interface NewView {
  readonly type: typeof MsgType.NewView;
  readonly height: number;
  readonly view: number;
  readonly viewChanges: readonly ViewChange[];
  readonly prePrepare: PrePrepare;
  readonly signer: Bytes;
  readonly signature: Bytes;
}

/** A finalized block with its certificate: self-authenticating, unsigned; used for catch-up. */
export interface Decision {
  readonly type: typeof MsgType.Decision;
  readonly height: number;
  readonly block: Bytes;
  readonly certificate: CommitCertificate;
}

export type ConsensusMessage = PrePrepare | Vote | ViewChange | NewView | Decision;

/** Two signed statements by one validator that cannot both be honest. */
export interface EquivocationEvidence {
  readonly kind: 'equivocation';
  readonly offender: Bytes;
  readonly height: number;
  readonly view: number;
  readonly msgType: MsgType;
  readonly first: Vote | PrePrepare;
  readonly second: Vote | PrePrepare;
}
export type Evidence = EquivocationEvidence;

/**
 * What a validator persists before any signed message leaves (ARCHITECTURE example 3): the last
 * thing it signed, and its highest prepared certificate for that height, so after a restart it
 * neither signs a conflicting vote nor forgets a prepared block in a view change.
 */
export interface PersistRecord {
  readonly height: number;
  readonly view: number;
  readonly phase: 'pre-prepare' | 'prepare' | 'commit' | 'view-change';
  readonly blockHash: Bytes | null;
  readonly prepared: PreparedCertificate | null;
}

/** Timer settings: the view timer is base × factor^(consecutive failed views), capped. */
export interface TimeoutConfig {
  readonly baseMs: number;
  readonly factor: number;
  readonly maxMs: number;
}

export interface EngineConfig {
  readonly chainId: Bytes;
  /** This node's operator key; null for a non-validating follower. */
  readonly signer: Signer | null;
  /** Pure block hash of block bytes (chain's header hash in the node). */
  readonly hashBlock: (block: Bytes) => Bytes;
  /** Signature rule; the node passes chain/ed25519 verifySignature (SPEC §2). */
  readonly verify: (publicKey: Bytes, message: Bytes, signature: Bytes) => boolean;
  readonly timeouts: TimeoutConfig;
  /** Upper bound on buffered messages for future views/heights (oldest dropped first). */
  readonly maxBufferedMessages: number;
  /** How many recent decisions to keep to answer lagging peers with a Decision. */
  readonly keepDecisions: number;
  /** Bound on those decisions' block bytes (default consensus/decisions.ts DEFAULT_KEEP_DECISION_BYTES). */
  readonly keepDecisionBytes?: number;
}

export type Input =
  /** Begin consensus at `height` with its ordered validator set (after genesis or a commit). */
  | { readonly kind: 'start'; readonly height: number; readonly validators: readonly Bytes[]; readonly now: number; readonly restored?: PersistRecord | null }
  /** A message from the network (or the node's own, looped back). `from` is a transport id, informational. */
  | { readonly kind: 'message'; readonly msg: ConsensusMessage; readonly now: number; readonly from?: string }
  /** A timer scheduled by a `schedule-timeout` effect fired; stale ones are ignored. */
  | { readonly kind: 'timeout'; readonly height: number; readonly view: number; readonly now: number }
  /** The driver's verdict on a block it was asked to validate. */
  | { readonly kind: 'block-validated'; readonly height: number; readonly view: number; readonly blockHash: Bytes; readonly valid: boolean; readonly now: number }
  /** The driver's block for a `request-proposal` (sent once transactions are available or the idle interval passed). */
  | { readonly kind: 'proposal'; readonly height: number; readonly view: number; readonly block: Bytes; readonly now: number };

export type Effect =
  | { readonly kind: 'broadcast'; readonly msg: ConsensusMessage }
  | { readonly kind: 'send'; readonly to: Bytes; readonly msg: ConsensusMessage }
  | { readonly kind: 'schedule-timeout'; readonly height: number; readonly view: number; readonly afterMs: number }
  /** Must be durable before the driver executes any later effect of the same step. */
  | { readonly kind: 'persist'; readonly record: PersistRecord }
  | { readonly kind: 'request-proposal'; readonly height: number; readonly view: number }
  | { readonly kind: 'validate-block'; readonly height: number; readonly view: number; readonly blockHash: Bytes; readonly block: Bytes }
  | { readonly kind: 'commit'; readonly height: number; readonly blockHash: Bytes; readonly block: Bytes; readonly certificate: CommitCertificate }
  | { readonly kind: 'evidence'; readonly evidence: Evidence }
  | { readonly kind: 'rejected'; readonly code: string; readonly detail: string; readonly from?: string };

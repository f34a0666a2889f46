/**
 * Why the consensus engine refused an input. Every refusal leaves the engine state unchanged and
 * surfaces as a `rejected` effect carrying one of these codes; p2p/ maps them to peer penalties in
 * one table and tests assert them. docs/consensus.md lists when each is produced.
 */
import { TimecoinError } from '../chain/errors.js';

export const ConsensusCode = {
  /** The signature does not verify under the stated signer and our chainId. */
  BadSignature: 'bad-signature',
  /** The signer is not in the validator set of the message's height. */
  UnknownSigner: 'unknown-signer',
  /**
   * Reserved. A message signed for another chain cannot be told apart from a forgery (the chainId
   * is inside the signed bytes, not on the wire), so it is reported as `bad-signature`.
   */
  WrongChain: 'wrong-chain',
  /** The message is for a height already finalized (or not the current one). */
  StaleHeight: 'stale-height',
  /** The message is for a view this replica has left. */
  StaleView: 'stale-view',
  /** The message is for a height beyond the next one: it cannot be buffered. */
  FutureHeight: 'future-height',
  /** A message for a future view/height was dropped (or evicted) because the buffer was full. */
  FutureBufferFull: 'future-buffer-full',
  /** A block's bytes do not hash to the block hash that was signed. */
  HashMismatch: 'hash-mismatch',
  /** A PRE-PREPARE or NEW-VIEW signed by someone other than the view's leader. */
  NotLeader: 'not-leader',
  /** A NEW-VIEW whose proof (view changes, re-proposal) does not hold. */
  BadNewView: 'bad-new-view',
  /** A prepared or commit certificate that does not prove what it claims. */
  BadCertificate: 'bad-certificate',
  /** The same message (or another for the same slot) was already processed. */
  Duplicate: 'duplicate',
  /** The driver found the proposed block invalid, or the own proposal could not be used. */
  InvalidBlock: 'invalid-block',
  /** A structurally malformed message (field ranges, lengths). */
  BadMessage: 'bad-message',
  /** A message arrived before the first `start`. */
  NotStarted: 'not-started',
  /** A malformed driver input (e.g. an empty or duplicated validator set). */
  BadInput: 'bad-input',
  /** The engine refused to sign because it would contradict something it signed before (restart guard). */
  SigningRefused: 'signing-refused',
} as const;
export type ConsensusCode = (typeof ConsensusCode)[keyof typeof ConsensusCode];

/** A consensus rule refused an input; `code` is one of ConsensusCode. */
export class ConsensusError extends TimecoinError<ConsensusCode> {}

/** A refusal as data: the engine reports refusals as effects, so it does not pay for stack traces. */
export interface Rejection {
  readonly code: ConsensusCode;
  readonly detail: string;
}

/** Shorthand for building a Rejection. */
export function reject(code: ConsensusCode, detail: string): Rejection {
  return { code, detail };
}

/**
 * Typed errors of the network layer. Every refusal of a peer's bytes has a code here, and
 * `peer-score.ts` maps each code to a penalty in one table (ARCHITECTURE example 7).
 */
import { TimecoinError } from '../chain/errors.js';

export const P2pCode = {
  /** A length prefix announced more than the protocol's limit (refused before buffering). */
  FrameTooLarge: 'frame-too-large',
  /** Bytes that are not a valid frame or envelope. */
  DecodeFailed: 'decode-failed',
  /** The peer is over its quota for the protocol. */
  RateLimited: 'rate-limited',
  /** A protocol id not in the table (or a request on a gossip protocol, and vice versa). */
  UnknownProtocol: 'unknown-protocol',
  /** An envelope already seen, or outside the accepted time window. */
  Replay: 'replay',
  /** A masternode-only protocol used by a peer (or sender) that is not an active masternode. */
  NotMasternode: 'not-masternode',
  /** The envelope's signature does not verify, or its sender is not the connected peer. */
  BadSignature: 'bad-signature',
  /** The registered handler threw: the payload was refused by the layer above. */
  HandlerRejected: 'handler-rejected',
  /** A request got no response in time. */
  Timeout: 'timeout',
  /** No connection to that peer (or the dial failed). */
  NotConnected: 'not-connected',
  /** The peer is banned. */
  Banned: 'banned',
  /** The outbound queue to a peer is full: the peer reads slower than we write. */
  QueueFull: 'queue-full',
  /** The stream was reset or closed before the exchange finished. */
  StreamFailed: 'stream-failed',
  /** The network is not started (or already stopped). */
  NotRunning: 'not-running',
} as const;
export type P2pCode = (typeof P2pCode)[keyof typeof P2pCode];

/** A refusal or failure of the network layer; branch on `code`. */
export class P2pError extends TimecoinError<P2pCode> {}

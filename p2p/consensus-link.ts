/**
 * The seam between the consensus driver (src/driver.ts) and the network. It encodes consensus
 * messages with the consensus codec, sends them on `/timecoin/consensus/1` (masternode-only,
 * enveloped), decodes what arrives and hands it on with the libp2p peer id as `from`. The
 * driver's `Transport` is matched structurally, so p2p/ does not import upward from src/.
 *
 * Wiring (src/node.ts, after the driver exists):
 *   const net = await P2pNetwork.create({...});
 *   await attachConsensus(net, (msg, from) => driver.onPeerMessage(msg, from));
 *   transport = consensusTransport(net)   // DriverOptions.transport
 *   on a `rejected` effect with `from`:  reportConsensusRejection(net, from, e.code)
 */
import './polyfill.js';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import { publicKeyFromRaw } from '@libp2p/crypto/keys';
import type { Ed25519PublicKey } from '@libp2p/interface';
import { decodeMessage, encodeMessage } from '../consensus/codec.js';
import type { ConsensusMessage } from '../consensus/types.js';
import { P2pCode, P2pError } from './errors.js';
import type { P2pNetwork } from './network.js';

/** The libp2p peer id of a masternode's operator key (its identity is bound to that key). */
export function peerIdOfOperatorKey(operatorKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(operatorKey) as Ed25519PublicKey).toString();
}

/** Same shape as `Transport` in src/driver.ts. */
export interface ConsensusTransport {
  broadcast(msg: ConsensusMessage): void;
  send(to: Uint8Array, msg: ConsensusMessage): void;
}

/**
 * A driver transport over the network. Sends never throw into the driver: a peer that is not
 * connected, or a full queue, loses the message (PBFT recovers through view change) — the
 * failure is reported to `onDrop` for logs and metrics.
 */
export function consensusTransport(net: P2pNetwork, onDrop: (err: P2pError) => void = () => undefined): ConsensusTransport {
  return {
    broadcast(msg) {
      try {
        net.broadcast('consensus', encodeMessage(msg));
      } catch (err) {
        onDrop(asP2pError(err));
      }
    },
    send(to, msg) {
      try {
        net.send(peerIdOfOperatorKey(to), 'consensus', encodeMessage(msg));
      } catch (err) {
        onDrop(asP2pError(err));
      }
    },
  };
}

/** Decode consensus frames and pass them on; an undecodable one costs its sender (`decode-failed`). */
export async function attachConsensus(net: P2pNetwork, onMessage: (msg: ConsensusMessage, fromPeerId: string) => void): Promise<void> {
  await net.onGossip('consensus', (payload, from) => {
    let msg: ConsensusMessage;
    try {
      msg = decodeMessage(payload);
    } catch (err) {
      throw new P2pError(P2pCode.DecodeFailed, `consensus message: ${(err as Error).message}`);
    }
    onMessage(msg, from.id);
  });
}

/** Consensus refusal codes that prove misbehaviour (not a race such as a stale view). */
const PROVABLE = new Set(['bad-signature', 'unknown-signer', 'wrong-chain', 'hash-mismatch', 'not-leader', 'bad-new-view', 'bad-certificate', 'bad-message']);

/** Charge a peer for a consensus message the engine refused (`rejected` effect with `from`). */
export function reportConsensusRejection(net: P2pNetwork, fromPeerId: string, consensusCode: string): void {
  if (consensusCode === 'bad-signature') net.penalize(fromPeerId, P2pCode.BadSignature);
  else if (PROVABLE.has(consensusCode)) net.penalize(fromPeerId, P2pCode.HandlerRejected);
}

function asP2pError(err: unknown): P2pError {
  return err instanceof P2pError ? err : new P2pError(P2pCode.StreamFailed, (err as Error).message);
}

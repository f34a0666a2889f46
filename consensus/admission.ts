/**
 * What happens to a message before any protocol rule sees it: authentication against the current
 * validator set, buffering of future messages, and answering messages for finalized heights with
 * their Decision (catch-up).
 */
import { toHex } from '../chain/hash.js';
import { ConsensusCode } from './errors.js';
import { verifyMessageSignature } from './messages.js';
import { rejected, type EngineState } from './state.js';
import { MsgType, type ConsensusMessage, type Effect, type NewView, type PrePrepare, type ViewChange, type Vote } from './types.js';

export type SignedMessage = PrePrepare | Vote | ViewChange | NewView;

/** Bucket of unsigned decisions in the future buffer. */
const DECISION_BUCKET = 'decision';
/** Bucket of next-height messages whose signer is not in the current set. */
const UNKNOWN_BUCKET = 'unknown';

/** True if the signer is in the current set and the signature holds; otherwise reject and return false. */
export function authenticate(s: EngineState, msg: SignedMessage, from: string | undefined, out: Effect[]): boolean {
  if (!s.set!.index.has(toHex(msg.signer))) {
    rejected(out, ConsensusCode.UnknownSigner, `signer is not a validator at height ${s.height}`, from);
    return false;
  }
  if (!verifyMessageSignature(s.ctx, msg)) {
    rejected(out, ConsensusCode.BadSignature, `signature of message type ${msg.type} does not verify`, from);
    return false;
  }
  return true;
}

/** Per-bucket share of the buffer: the current validators plus the unknown and decision buckets. */
function bucketCap(s: EngineState): number {
  const n = s.set?.keys.length ?? 1;
  return Math.max(1, Math.floor(s.config.maxBufferedMessages / (n + 2)));
}

/** Buffer an authenticated message for later; report anything dropped to make room. */
export function bufferMessage(s: EngineState, msg: ConsensusMessage, view: number, from: string | undefined, bucket: string, out: Effect[]): void {
  for (const d of s.buffer.add(msg, view, from, bucket, bucketCap(s))) {
    rejected(out, ConsensusCode.FutureBufferFull, `dropped a buffered type ${d.msg.type} message for height ${d.height} view ${d.view}`, d.from);
  }
}

/** Buffer a message of the current height's future view (already authenticated). */
export function bufferFutureView(s: EngineState, msg: SignedMessage, from: string | undefined, out: Effect[]): void {
  bufferMessage(s, msg, msg.view, from, toHex(msg.signer), out);
}

/**
 * Buffer a next-height message. Its validator set is not known yet, so only the signature is
 * checked now; signers outside the current set share one bucket, so fresh keys cannot crowd out
 * the current validators. Membership is checked again when the message is replayed.
 */
export function bufferNextHeight(s: EngineState, msg: ConsensusMessage, from: string | undefined, out: Effect[]): void {
  if (msg.type === MsgType.Decision) return bufferMessage(s, msg, 0, from, DECISION_BUCKET, out);
  if (!verifyMessageSignature(s.ctx, msg)) {
    rejected(out, ConsensusCode.BadSignature, `signature of message type ${msg.type} does not verify`, from);
    return;
  }
  const hex = toHex(msg.signer);
  bufferMessage(s, msg, msg.view, from, s.set?.index.has(hex) ? hex : UNKNOWN_BUCKET, out);
}

/**
 * A signed message for a height already finalized: if we still hold that decision and the message
 * is authentic and shows its signer is stuck, send the decision to the signer (once per signer,
 * height and view), then reject it as stale. "Stuck" means a VIEW-CHANGE or NEW-VIEW, or any message
 * from a view other than the one the block was committed in; PRE-PREPARE/PREPARE/COMMIT traffic of
 * the deciding view itself is just in flight and its senders finalize from the same commits, so
 * answering it would ship the block n − quorum times per height for nothing. Forged messages never
 * make us send anything.
 */
export function answerStale(s: EngineState, msg: SignedMessage, from: string | undefined, out: Effect[]): void {
  const stored = s.decisions.get(msg.height);
  if (stored !== undefined) {
    const hex = toHex(msg.signer);
    if (!stored.set.index.has(hex)) return rejected(out, ConsensusCode.UnknownSigner, `signer is not a validator at height ${msg.height}`, from);
    if (!verifyMessageSignature(s.ctx, msg)) return rejected(out, ConsensusCode.BadSignature, 'signature does not verify', from);
    const stuck = msg.type === MsgType.ViewChange || msg.type === MsgType.NewView || msg.view !== stored.decision.certificate.view;
    if (stuck && hex !== s.selfHex && s.decisions.shouldAnswer(stored, hex, msg.view)) {
      out.push({ kind: 'send', to: msg.signer, msg: stored.decision });
    }
  }
  rejected(out, ConsensusCode.StaleHeight, `height ${msg.height} is finalized`, from);
}

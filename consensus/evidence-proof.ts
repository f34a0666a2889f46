/**
 * Proofs of the three offences (docs/masternodes.md) as carried in evidence transactions
 * (chain/evidence.ts), built from what the engine and the heartbeat tracker detect, and the one
 * verifier every node runs on them (passed to chain/ as its EvidenceVerifier). Each offence has
 * one canonical (offender, height, offenceId) so a second proof of the same offence is a duplicate:
 *
 * | kind | proof | offender | height | offenceId |
 * |---|---|---|---|---|
 * | 1 equivocation | consensus/codec encodeEvidence | the signer | PBFT height | SHA-256("EQ" ‖ u64 height ‖ u32 view ‖ u8 msgType) |
 * | 2 conflicting heartbeat | heartbeat ‖ heartbeat, ids ascending | the operator | lower of the two heights | SHA-256("HB" ‖ u64 sequence) |
 * | 3 false attestation | attestation ‖ heartbeat | the attester | the heartbeat's height | the heartbeat's id |
 */
import { ByteWriter } from '../chain/bytes.js';
import { verifySignature } from '../chain/ed25519.js';
import { DecodeError } from '../chain/errors.js';
import type { EvidenceChainContext, EvidencePayload } from '../chain/evidence.js';
import { bytesEqual, sha256 } from '../chain/hash.js';
import { EvidenceKind, compareKeys } from '../chain/masternode.js';
import { checkEvidence } from './certificates.js';
import { decodeEvidence, encodeEvidence } from './codec.js';
import {
  attestationSignedBytes,
  decodeAttestation,
  decodeHeartbeat,
  decodeHeartbeatPair,
  encodeAttestation,
  encodeHeartbeat,
  heartbeatId,
  heartbeatSignedBytes,
  ATTESTATION_SIZE,
  type Attestation,
  type Heartbeat,
} from './heartbeat-codec.js';
import { makeValidatorSet } from './leader.js';
import { MsgType, type Bytes, type EquivocationEvidence } from './types.js';

/** offenceId of an equivocation: one per (height, view, message type). */
export function equivocationOffenceId(height: number, view: number, msgType: number): Bytes {
  return sha256(new ByteWriter(2 + 8 + 4 + 1).bytes(Buffer.from('EQ')).u64(BigInt(height)).u32(view).u8(msgType).finish());
}

/** offenceId of conflicting heartbeats: one per sequence number. */
export function heartbeatOffenceId(sequence: number): Bytes {
  return sha256(new ByteWriter(2 + 8).bytes(Buffer.from('HB')).u64(BigInt(sequence)).finish());
}

/**
 * The evidence payload for an engine `evidence` effect. A PRE-PREPARE's signature covers only
 * its block hash, so the block bytes are dropped from the proof: two 2 MB proposals would not fit
 * a transaction (MAX_TX_SIZE), and the proof needs only the signed statements.
 */
export function equivocationEvidence(e: EquivocationEvidence): EvidencePayload {
  const strip = <T extends EquivocationEvidence['first']>(s: T): T => (s.type === MsgType.PrePrepare ? { ...s, block: new Uint8Array(0) } : s);
  const slim: EquivocationEvidence = { ...e, first: strip(e.first), second: strip(e.second) };
  return { kind: EvidenceKind.Equivocation, offender: e.offender, height: e.height, offenceId: equivocationOffenceId(e.height, e.view, e.msgType), proof: encodeEvidence(slim) };
}

/** The evidence payload for two heartbeats with one (operator, sequence) and different contents. */
export function conflictingHeartbeatEvidence(chainId: Bytes, a: Heartbeat, b: Heartbeat): EvidencePayload {
  const [x, y] = compareKeys(heartbeatId(chainId, a), heartbeatId(chainId, b)) < 0 ? [a, b] : [b, a];
  return {
    kind: EvidenceKind.ConflictingHeartbeat,
    offender: a.operator,
    height: Math.min(a.height, b.height),
    offenceId: heartbeatOffenceId(a.sequence),
    proof: Buffer.concat([encodeHeartbeat(x), encodeHeartbeat(y)]),
  };
}

/** The evidence payload for an attestation of an invalid heartbeat. Needs no chainId: the id is in the attestation. */
export function falseAttestationEvidence(att: Attestation, hb: Heartbeat): EvidencePayload {
  return { kind: EvidenceKind.FalseAttestation, offender: att.attester, height: hb.height, offenceId: att.heartbeatId, proof: Buffer.concat([encodeAttestation(att), encodeHeartbeat(hb)]) };
}

function checkEquivocation(e: EvidencePayload, ctx: EvidenceChainContext): string | null {
  const ev = decodeEvidence(e.proof);
  if (!bytesEqual(ev.offender, e.offender) || ev.height !== e.height) return 'proof names another offender or height';
  if (!bytesEqual(equivocationOffenceId(ev.height, ev.view, ev.msgType), e.offenceId)) return 'offenceId does not match the proof';
  const keys = ctx.validatorsAt(ev.height);
  if (keys.length === 0) return 'no validator set at that height';
  const r = checkEvidence({ chainId: ctx.chainId, verify: verifySignature }, makeValidatorSet(keys), ev);
  return r === null ? null : `${r.code}: ${r.detail}`;
}

function checkConflictingHeartbeats(e: EvidencePayload, ctx: EvidenceChainContext): string | null {
  const [a, b] = decodeHeartbeatPair(e.proof);
  const ia = heartbeatId(ctx.chainId, a);
  const ib = heartbeatId(ctx.chainId, b);
  if (compareKeys(ia, ib) >= 0) return 'heartbeats are identical or not in id order';
  if (!bytesEqual(a.operator, e.offender) || !bytesEqual(b.operator, e.offender)) return 'heartbeats are not both by the offender';
  if (a.sequence !== b.sequence) return 'heartbeats have different sequences';
  if (Math.min(a.height, b.height) !== e.height) return 'height is not the lower heartbeat height';
  if (!bytesEqual(heartbeatOffenceId(a.sequence), e.offenceId)) return 'offenceId does not match the proof';
  for (const h of [a, b]) {
    if (!verifySignature(h.operator, heartbeatSignedBytes(ctx.chainId, h), h.signature)) return 'a heartbeat signature does not verify';
  }
  return null;
}

function checkFalseAttestation(e: EvidencePayload, ctx: EvidenceChainContext): string | null {
  const att = decodeAttestation(e.proof.subarray(0, ATTESTATION_SIZE));
  const hb = decodeHeartbeat(e.proof.subarray(ATTESTATION_SIZE));
  if (!bytesEqual(att.attester, e.offender) || hb.height !== e.height || !bytesEqual(att.heartbeatId, e.offenceId)) {
    return 'proof names another offender, height or heartbeat';
  }
  if (!bytesEqual(heartbeatId(ctx.chainId, hb), att.heartbeatId)) return 'attestation is not for this heartbeat';
  if (!verifySignature(att.attester, attestationSignedBytes(ctx.chainId, att.attester, att.heartbeatId), att.signature)) return 'attestation signature does not verify';
  // What makes the attestation false, provable from the proof alone.
  if (bytesEqual(hb.operator, att.attester)) return null;
  if (!verifySignature(hb.operator, heartbeatSignedBytes(ctx.chainId, hb), hb.signature)) return null;
  return 'the attested heartbeat is valid';
}

/**
 * chain/'s EvidenceVerifier: null iff the proof shows exactly the offence named by the header,
 * signed by the offender (membership, age and dedup are chain/masternode-rules' part).
 */
export function verifyEvidenceProof(e: EvidencePayload, ctx: EvidenceChainContext): string | null {
  try {
    switch (e.kind) {
      case EvidenceKind.Equivocation:
        return checkEquivocation(e, ctx);
      case EvidenceKind.ConflictingHeartbeat:
        return checkConflictingHeartbeats(e, ctx);
      case EvidenceKind.FalseAttestation:
        return checkFalseAttestation(e, ctx);
      default:
        return `unknown evidence kind ${String(e.kind)}`;
    }
  } catch (err) {
    if (err instanceof DecodeError) return `proof does not decode: ${err.message}`;
    throw err;
  }
}

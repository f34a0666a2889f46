/**
 * Heartbeats, attestations and uptime as a pure module (docs/masternodes.md). No clock, no IO:
 * `now`, the local height and the registry arrive as arguments; offences leave as evidence
 * payloads (chain/evidence.ts) for the block assembler. Transport (gossip of heartbeats and
 * attestations) is p2p/'s job; the node wiring arrives with it.
 *
 * Rules for a heartbeat from operator X (checked in this order; the first failure names the code):
 *  1. X is a registered masternode, active at the local height (`unknown-operator`);
 *  2. the signature verifies under X with the one SPEC §2 verifier (`bad-signature`);
 *  3. a different heartbeat with the same (X, sequence) already seen → `conflicting`, and a
 *     conflicting-heartbeat evidence; the identical one again → `duplicate`;
 *  4. the sequence is exactly the last accepted + 1, or any sequence for X's first heartbeat
 *     here (`bad-sequence`: gap or replay);
 *  5. prevId is the id of X's last accepted heartbeat (ignored for the first one seen) (`bad-prev`);
 *  6. |height − local height| ≤ HEARTBEAT_HEIGHT_TOLERANCE (`bad-height`).
 * A heartbeat counts toward uptime once attested by ≥ ATTESTATIONS_REQUIRED distinct active
 * masternodes other than X whose owners are distinct from each other and from X's owner.
 */
import { verifySignature } from '../chain/ed25519.js';
import type { EvidencePayload } from '../chain/evidence.js';
import { bytesEqual, toHex } from '../chain/hash.js';
import { attestationSignedBytes, heartbeatId, heartbeatSignedBytes, type Attestation, type Heartbeat } from './heartbeat-codec.js';
import { conflictingHeartbeatEvidence, falseAttestationEvidence } from './evidence-proof.js';
import type { Bytes } from './types.js';

export const HEARTBEAT_HEIGHT_TOLERANCE = 5;
export const ATTESTATIONS_REQUIRED = 3;
/** Expected interval between heartbeats of one masternode; uptime counts against it. */
export const HEARTBEAT_INTERVAL_MS = 60_000;
/** Uptime is measured over this trailing window. */
export const UPTIME_WINDOW_MS = 24 * 60 * 60 * 1000;

export type HeartbeatCode = 'unknown-operator' | 'bad-signature' | 'conflicting' | 'duplicate' | 'bad-sequence' | 'bad-prev' | 'bad-height' | 'unknown-heartbeat' | 'self-attestation' | 'same-owner';

/** What the module needs from the chain at the moment of the call. */
export interface HeartbeatContext {
  readonly chainId: Bytes;
  readonly localHeight: number;
  /** Owner key of an operator active at the local height, undefined otherwise. */
  readonly ownerOf: (operator: Bytes) => Bytes | undefined;
}

interface Pending {
  readonly hb: Heartbeat;
  readonly attesters: Set<string>;
  readonly owners: Set<string>;
  counted: boolean;
}

/** Mutable state of the tracker (one per node). */
export interface HeartbeatState {
  /** Last accepted heartbeat per operator. */
  readonly last: Map<string, { sequence: number; id: Bytes }>;
  /** Every accepted heartbeat by `${operator}:${sequence}` → id hex (conflict detection). */
  readonly seen: Map<string, { id: string; hb: Heartbeat }>;
  /** Accepted heartbeats waiting for (or holding) attestations, by id hex. */
  readonly pending: Map<string, Pending>;
  /** timeMs of each counted heartbeat per operator, ascending. */
  readonly counted: Map<string, number[]>;
}

export type HeartbeatResult =
  | { readonly ok: true; readonly id: Bytes }
  | { readonly ok: false; readonly code: HeartbeatCode; readonly evidence?: EvidencePayload };

/** An empty tracker. */
export function newHeartbeatState(): HeartbeatState {
  return { last: new Map(), seen: new Map(), pending: new Map(), counted: new Map() };
}

/** Validate and record a heartbeat (rules in the file comment). */
export function receiveHeartbeat(s: HeartbeatState, hb: Heartbeat, ctx: HeartbeatContext): HeartbeatResult {
  const op = toHex(hb.operator);
  if (ctx.ownerOf(hb.operator) === undefined) return { ok: false, code: 'unknown-operator' };
  if (!verifySignature(hb.operator, heartbeatSignedBytes(ctx.chainId, hb), hb.signature)) return { ok: false, code: 'bad-signature' };
  const id = heartbeatId(ctx.chainId, hb);
  const slot = `${op}:${hb.sequence}`;
  const prior = s.seen.get(slot);
  if (prior !== undefined) {
    if (prior.id === toHex(id)) return { ok: false, code: 'duplicate' };
    return { ok: false, code: 'conflicting', evidence: conflictingHeartbeatEvidence(ctx.chainId, prior.hb, hb) };
  }
  const last = s.last.get(op);
  if (last !== undefined) {
    if (hb.sequence !== last.sequence + 1) return { ok: false, code: 'bad-sequence' };
    if (!bytesEqual(hb.prevId, last.id)) return { ok: false, code: 'bad-prev' };
  }
  if (Math.abs(hb.height - ctx.localHeight) > HEARTBEAT_HEIGHT_TOLERANCE) return { ok: false, code: 'bad-height' };
  s.last.set(op, { sequence: hb.sequence, id });
  s.seen.set(slot, { id: toHex(id), hb });
  s.pending.set(toHex(id), { hb, attesters: new Set(), owners: new Set(), counted: false });
  return { ok: true, id };
}

/**
 * Validate an attestation of `hb` (the heartbeat travels with it). An attester who vouches for a
 * heartbeat whose signature fails, or for its own heartbeat, produced a false attestation: the
 * result carries that evidence. Otherwise the attestation is recorded and may make the heartbeat
 * count toward uptime.
 */
export function receiveAttestation(s: HeartbeatState, att: Attestation, hb: Heartbeat, ctx: HeartbeatContext): HeartbeatResult & { counted?: boolean } {
  const attOwner = ctx.ownerOf(att.attester);
  if (attOwner === undefined) return { ok: false, code: 'unknown-operator' };
  if (!verifySignature(att.attester, attestationSignedBytes(ctx.chainId, att.attester, att.heartbeatId), att.signature)) return { ok: false, code: 'bad-signature' };
  const id = heartbeatId(ctx.chainId, hb);
  if (!bytesEqual(id, att.heartbeatId)) return { ok: false, code: 'unknown-heartbeat' };
  const selfAttested = bytesEqual(att.attester, hb.operator);
  if (selfAttested || !verifySignature(hb.operator, heartbeatSignedBytes(ctx.chainId, hb), hb.signature)) {
    return { ok: false, code: selfAttested ? 'self-attestation' : 'bad-signature', evidence: falseAttestationEvidence(att, hb) };
  }
  const p = s.pending.get(toHex(id));
  if (p === undefined) return { ok: false, code: 'unknown-heartbeat' };
  const a = toHex(att.attester);
  if (p.attesters.has(a)) return { ok: false, code: 'duplicate' };
  const subjectOwner = ctx.ownerOf(hb.operator);
  const ownerHex = toHex(attOwner);
  if (p.owners.has(ownerHex) || (subjectOwner !== undefined && bytesEqual(subjectOwner, attOwner))) return { ok: false, code: 'same-owner' };
  p.attesters.add(a);
  p.owners.add(ownerHex);
  if (!p.counted && p.attesters.size >= ATTESTATIONS_REQUIRED) {
    p.counted = true;
    const list = s.counted.get(toHex(hb.operator)) ?? [];
    list.push(hb.timeMs);
    list.sort((x, y) => x - y);
    s.counted.set(toHex(hb.operator), list);
    return { ok: true, id, counted: true };
  }
  return { ok: true, id, counted: false };
}

/** Share (0..1) of the expected heartbeats in the window ending at `now` that counted. */
export function uptime(s: HeartbeatState, operator: Bytes, now: number, windowMs = UPTIME_WINDOW_MS): number {
  const list = s.counted.get(toHex(operator)) ?? [];
  const from = now - windowMs;
  const n = list.filter((t) => t > from && t <= now).length;
  return Math.min(1, (n * HEARTBEAT_INTERVAL_MS) / windowMs);
}

/** timeMs of the operator's last counted heartbeat, or null. */
export function lastCountedHeartbeat(s: HeartbeatState, operator: Bytes): number | null {
  const list = s.counted.get(toHex(operator));
  return list === undefined || list.length === 0 ? null : list[list.length - 1]!;
}

/** Drop what is older than the uptime window (and pending heartbeats that never counted). */
export function pruneHeartbeats(s: HeartbeatState, now: number, windowMs = UPTIME_WINDOW_MS): void {
  const from = now - windowMs;
  for (const [k, list] of s.counted) {
    const keep = list.filter((t) => t > from);
    if (keep.length === 0) s.counted.delete(k);
    else s.counted.set(k, keep);
  }
  for (const [k, p] of s.pending) if (p.hb.timeMs <= from) s.pending.delete(k);
  for (const [k, v] of s.seen) if (v.hb.timeMs <= from) s.seen.delete(k);
}

/**
 * Heartbeat and attestation rules of consensus/heartbeats.ts, one test per rule, plus the codec
 * and the uptime arithmetic. Pure: the registry is a map, `now` is passed in.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../chain/hash.js';
import { EvidenceKind } from '../../chain/masternode.js';
import {
  decodeAttestation,
  decodeHeartbeat,
  encodeAttestation,
  encodeHeartbeat,
  heartbeatId,
  signAttestation,
  signHeartbeat,
  HEARTBEAT_SIZE,
  ATTESTATION_SIZE,
  type Heartbeat,
} from '../../consensus/heartbeat-codec.js';
import {
  ATTESTATIONS_REQUIRED,
  HEARTBEAT_HEIGHT_TOLERANCE,
  HEARTBEAT_INTERVAL_MS,
  UPTIME_WINDOW_MS,
  lastCountedHeartbeat,
  newHeartbeatState,
  pruneHeartbeats,
  receiveAttestation,
  receiveHeartbeat,
  uptime,
  type HeartbeatContext,
  type HeartbeatState,
} from '../../consensus/heartbeats.js';
import { verifyEvidenceProof } from '../../consensus/evidence-proof.js';
import { CHAIN_ID, signer } from './chain-fixtures.js';

const ops = Array.from({ length: 6 }, (_, i) => signer(300 + i));
// Operators 0..4 have distinct owners; operator 5 shares operator 4's owner.
const owners = [0, 1, 2, 3, 4, 4].map((i) => signer(400 + i).publicKey);
const ownerMap = new Map(ops.map((o, i) => [toHex(o.publicKey), owners[i]!]));
const ctx = (localHeight = 100): HeartbeatContext => ({ chainId: CHAIN_ID, localHeight, ownerOf: (op) => ownerMap.get(toHex(op)) });
const ZERO = new Uint8Array(32);

function hb(i: number, sequence: number, prevId: Uint8Array = ZERO, height = 100, timeMs = 1_000_000 + sequence * HEARTBEAT_INTERVAL_MS): Heartbeat {
  return signHeartbeat(ops[i]!, CHAIN_ID, { sequence, prevId, height, timeMs });
}

/** Heartbeats 0..n-1 of operator i, linked. */
function chainOf(i: number, n: number): Heartbeat[] {
  const out: Heartbeat[] = [];
  let prev: Uint8Array = ZERO;
  for (let s = 0; s < n; s++) {
    const h = hb(i, s, prev);
    out.push(h);
    prev = heartbeatId(CHAIN_ID, h);
  }
  return out;
}

function attest(s: HeartbeatState, h: Heartbeat, by: number[]) {
  return by.map((a) => receiveAttestation(s, signAttestation(ops[a]!, CHAIN_ID, heartbeatId(CHAIN_ID, h)), h, ctx()));
}

describe('heartbeat rules', () => {
  it('accepts a linked sequence', () => {
    const s = newHeartbeatState();
    for (const h of chainOf(0, 4)) expect(receiveHeartbeat(s, h, ctx())).toMatchObject({ ok: true });
  });

  it('unknown operator → unknown-operator', () => {
    const stranger = signHeartbeat(signer(999), CHAIN_ID, { sequence: 0, prevId: ZERO, height: 100, timeMs: 1 });
    expect(receiveHeartbeat(newHeartbeatState(), stranger, ctx())).toMatchObject({ ok: false, code: 'unknown-operator' });
  });

  it('bad signature (or another chain) → bad-signature', () => {
    const h = hb(0, 0);
    expect(receiveHeartbeat(newHeartbeatState(), { ...h, signature: new Uint8Array(64) }, ctx())).toMatchObject({ ok: false, code: 'bad-signature' });
    const other = signHeartbeat(ops[0]!, new Uint8Array(32).fill(9), { sequence: 0, prevId: ZERO, height: 100, timeMs: 1 });
    expect(receiveHeartbeat(newHeartbeatState(), other, ctx())).toMatchObject({ ok: false, code: 'bad-signature' });
  });

  it('a gap or a replayed lower sequence → bad-sequence', () => {
    const [h0, h1, h2] = chainOf(0, 3);
    const s = newHeartbeatState();
    receiveHeartbeat(s, h0!, ctx());
    expect(receiveHeartbeat(s, h2!, ctx())).toMatchObject({ ok: false, code: 'bad-sequence' });
    receiveHeartbeat(s, h1!, ctx());
    const older = hb(0, 0, ZERO, 100, 5);
    expect(receiveHeartbeat(s, older, ctx())).toMatchObject({ ok: false, code: 'conflicting' });
    const stale = signHeartbeat(ops[1]!, CHAIN_ID, { sequence: 3, prevId: ZERO, height: 100, timeMs: 1 });
    const t = newHeartbeatState();
    receiveHeartbeat(t, stale, ctx());
    expect(receiveHeartbeat(t, hb(1, 2), ctx())).toMatchObject({ ok: false, code: 'bad-sequence' });
  });

  it('a prevId that does not link → bad-prev', () => {
    const [h0] = chainOf(0, 1);
    const s = newHeartbeatState();
    receiveHeartbeat(s, h0!, ctx());
    expect(receiveHeartbeat(s, hb(0, 1, ZERO), ctx())).toMatchObject({ ok: false, code: 'bad-prev' });
  });

  it(`height within ±${HEARTBEAT_HEIGHT_TOLERANCE} of the local height → else bad-height`, () => {
    for (const [d, ok] of [[5, true], [-5, true], [6, false], [-6, false]] as const) {
      const r = receiveHeartbeat(newHeartbeatState(), hb(0, 0, ZERO, 100 + d), ctx());
      expect(r.ok, `offset ${d}`).toBe(ok);
      if (!ok) expect(r).toMatchObject({ code: 'bad-height' });
    }
  });

  it('the same heartbeat twice → duplicate; same sequence, other content → conflicting + evidence that verifies', () => {
    const s = newHeartbeatState();
    const a = hb(2, 0);
    receiveHeartbeat(s, a, ctx());
    expect(receiveHeartbeat(s, a, ctx())).toMatchObject({ ok: false, code: 'duplicate' });
    const b = hb(2, 0, ZERO, 101);
    const r = receiveHeartbeat(s, b, ctx());
    expect(r).toMatchObject({ ok: false, code: 'conflicting' });
    const ev = (r as { evidence: NonNullable<unknown> }).evidence as Parameters<typeof verifyEvidenceProof>[0];
    expect(ev.kind).toBe(EvidenceKind.ConflictingHeartbeat);
    expect(ev.height).toBe(100);
    const chainCtx = { chainId: CHAIN_ID, validatorsAt: () => ops.map((o) => o.publicKey), ownerOf: (op: Uint8Array) => ownerMap.get(toHex(op)) };
    expect(verifyEvidenceProof(ev, chainCtx)).toBeNull();
    expect(verifyEvidenceProof({ ...ev, height: 101 }, chainCtx)).not.toBeNull();
    expect(verifyEvidenceProof({ ...ev, offender: ops[1]!.publicKey }, chainCtx)).not.toBeNull();
  });
});

describe('attestations and uptime', () => {
  it(`a heartbeat counts with ${ATTESTATIONS_REQUIRED} attestations from distinct masternodes other than its subject, with distinct owners`, () => {
    const s = newHeartbeatState();
    const [h] = chainOf(0, 1);
    receiveHeartbeat(s, h!, ctx());
    const r = attest(s, h!, [1, 2]);
    expect(r.map((x) => x.ok)).toEqual([true, true]);
    expect(lastCountedHeartbeat(s, ops[0]!.publicKey)).toBeNull();
    expect(attest(s, h!, [1])[0]).toMatchObject({ ok: false, code: 'duplicate' });
    expect(attest(s, h!, [3])[0]).toMatchObject({ ok: true, counted: true });
    expect(lastCountedHeartbeat(s, ops[0]!.publicKey)).toBe(h!.timeMs);
  });

  it('attesters sharing an owner count once (same-owner)', () => {
    const s = newHeartbeatState();
    const [h] = chainOf(0, 1);
    receiveHeartbeat(s, h!, ctx());
    expect(attest(s, h!, [1, 4, 5]).map((x) => (x.ok ? 'ok' : x.code))).toEqual(['ok', 'ok', 'same-owner']);
    expect(lastCountedHeartbeat(s, ops[0]!.publicKey)).toBeNull();
  });

  it("an attester whose owner is the subject's owner does not count (same-owner)", () => {
    const s = newHeartbeatState();
    const [h] = chainOf(4, 1);
    receiveHeartbeat(s, h!, ctx());
    expect(attest(s, h!, [5])[0]).toMatchObject({ ok: false, code: 'same-owner' });
  });

  it('self-attestation and attesting a forged heartbeat are false attestations (evidence that verifies)', () => {
    const s = newHeartbeatState();
    const [h] = chainOf(0, 1);
    receiveHeartbeat(s, h!, ctx());
    const self = attest(s, h!, [0])[0]!;
    expect(self).toMatchObject({ ok: false, code: 'self-attestation' });
    const forged = { ...h!, timeMs: h!.timeMs + 1 };
    const r = receiveAttestation(s, signAttestation(ops[1]!, CHAIN_ID, heartbeatId(CHAIN_ID, forged)), forged, ctx());
    expect(r).toMatchObject({ ok: false, code: 'bad-signature' });
    const chainCtx = { chainId: CHAIN_ID, validatorsAt: () => ops.map((o) => o.publicKey), ownerOf: (op: Uint8Array) => ownerMap.get(toHex(op)) };
    for (const x of [self, r]) {
      const ev = (x as { evidence: Parameters<typeof verifyEvidenceProof>[0] }).evidence;
      expect(ev.kind).toBe(EvidenceKind.FalseAttestation);
      expect(verifyEvidenceProof(ev, chainCtx)).toBeNull();
    }
  });

  it('an attestation by a non-member, with a bad signature, or for another heartbeat is refused', () => {
    const s = newHeartbeatState();
    const [h] = chainOf(0, 1);
    receiveHeartbeat(s, h!, ctx());
    const id = heartbeatId(CHAIN_ID, h!);
    expect(receiveAttestation(s, signAttestation(signer(999), CHAIN_ID, id), h!, ctx())).toMatchObject({ ok: false, code: 'unknown-operator' });
    const att = signAttestation(ops[1]!, CHAIN_ID, id);
    expect(receiveAttestation(s, { ...att, signature: new Uint8Array(64) }, h!, ctx())).toMatchObject({ ok: false, code: 'bad-signature' });
    expect(receiveAttestation(s, signAttestation(ops[1]!, CHAIN_ID, new Uint8Array(32)), h!, ctx())).toMatchObject({ ok: false, code: 'unknown-heartbeat' });
    const unseen = hb(3, 0);
    expect(receiveAttestation(s, signAttestation(ops[1]!, CHAIN_ID, heartbeatId(CHAIN_ID, unseen)), unseen, ctx())).toMatchObject({ ok: false, code: 'unknown-heartbeat' });
  });

  it('uptime is the share of expected heartbeats counted in the window; prune drops old ones', () => {
    const s = newHeartbeatState();
    const beats = chainOf(0, 10);
    for (const h of beats) {
      receiveHeartbeat(s, h, ctx());
      attest(s, h, [1, 2, 3]);
    }
    const now = beats[9]!.timeMs;
    expect(uptime(s, ops[0]!.publicKey, now)).toBeCloseTo((10 * HEARTBEAT_INTERVAL_MS) / UPTIME_WINDOW_MS);
    expect(uptime(s, ops[0]!.publicKey, now, 10 * HEARTBEAT_INTERVAL_MS)).toBe(1);
    expect(uptime(s, ops[1]!.publicKey, now)).toBe(0);
    pruneHeartbeats(s, now + UPTIME_WINDOW_MS);
    expect(uptime(s, ops[0]!.publicKey, now + UPTIME_WINDOW_MS)).toBe(0);
    expect(lastCountedHeartbeat(s, ops[0]!.publicKey)).toBeNull();
  });
});

describe('codec', () => {
  it('round-trips and refuses truncation and trailing bytes', () => {
    const h = hb(0, 7, new Uint8Array(32).fill(3));
    const bytes = encodeHeartbeat(h);
    expect(bytes.length).toBe(HEARTBEAT_SIZE);
    expect(encodeHeartbeat(decodeHeartbeat(bytes))).toEqual(bytes);
    expect(() => decodeHeartbeat(bytes.subarray(1))).toThrow();
    expect(() => decodeHeartbeat(Buffer.concat([bytes, Buffer.of(0)]))).toThrow();
    const a = signAttestation(ops[1]!, CHAIN_ID, heartbeatId(CHAIN_ID, h));
    const ab = encodeAttestation(a);
    expect(ab.length).toBe(ATTESTATION_SIZE);
    expect(encodeAttestation(decodeAttestation(ab))).toEqual(ab);
    expect(() => decodeAttestation(ab.subarray(0, 127))).toThrow();
  });
});

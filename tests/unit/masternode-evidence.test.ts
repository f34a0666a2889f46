/**
 * Evidence transactions (kind 3) end to end on the real store: each offence kind detected by the
 * production code, included, penalized, banned at the threshold, excluded from the next validator
 * set, deduplicated, age-bounded, enforced when the collateral is spent, and undone by a reorg.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOCK_REWARD, MASTERNODE_COLLATERAL, TxKind, UNITS_PER_TIME } from '../../chain/constants.js';
import { RuleCode } from '../../chain/errors.js';
import { createEvidenceTx, decodeEvidencePayload, type EvidencePayload } from '../../chain/evidence.js';
import { toHex } from '../../chain/hash.js';
import { BAN_PENALTY, EVIDENCE_MAX_AGE, PENALTY, EvidenceKind, statusAt } from '../../chain/masternode.js';
import { Mempool } from '../../chain/mempool.js';
import { encodeMasternode } from '../../chain/layout.js';
import { createTransaction } from '../../chain/transaction.js';
import { equivocationEvidence } from '../../consensus/evidence-proof.js';
import { signAttestation, signHeartbeat, heartbeatId, type Heartbeat } from '../../consensus/heartbeat-codec.js';
import { newHeartbeatState, receiveAttestation, receiveHeartbeat, type HeartbeatContext } from '../../consensus/heartbeats.js';
import { signVote } from '../../consensus/messages.js';
import { MsgType } from '../../consensus/types.js';
import { id } from './chain-fixtures.js';
import { FEE, MnChain, owner, operator } from './masternode-fixtures.js';
import { removeDir, tempDir } from '../fixtures/store-helpers.js';

let dir: string;
let c: MnChain;
beforeEach(async () => {
  dir = await tempDir('mn-ev');
  c = await MnChain.create(dir, 6, 5);
  await c.mine([]); // height 1: every genesis masternode is a validator here
});
afterEach(async () => {
  await c.close().catch(() => undefined);
  await removeDir(dir);
});

const member = (i: number, h: number) => c.store.validatorSetAt(h).some((k) => toHex(k) === toHex(operator(i).publicKey));
const record = (i: number) => c.store.registry.byOperator(operator(i).publicKey)!;

/** Operator i's two PREPAREs for (height, view) with different hashes, as the engine reports them. */
function equivocation(i: number, height = 1, view = 0, labels: [string, string] = ['a', 'b']): EvidencePayload {
  const first = signVote(operator(i), c.chainId, MsgType.Prepare, height, view, id(labels[0]));
  const second = signVote(operator(i), c.chainId, MsgType.Prepare, height, view, id(labels[1]));
  return equivocationEvidence({ kind: 'equivocation', offender: operator(i).publicKey, height, view, msgType: MsgType.Prepare, first, second });
}

const hbCtx = (localHeight = 1): HeartbeatContext => ({
  chainId: c.chainId,
  localHeight,
  ownerOf: (op) => (c.store.validatorSetAt(c.store.tip().height + 1).some((k) => toHex(k) === toHex(op)) ? c.store.registry.byOperator(op)?.owner : undefined),
});

/** Two heartbeats by operator i with one sequence and different times, fed through the tracker. */
function conflictingHeartbeats(i: number, sequence = 0): EvidencePayload {
  const s = newHeartbeatState();
  const a = signHeartbeat(operator(i), c.chainId, { sequence, prevId: new Uint8Array(32), height: 1, timeMs: 1000 });
  const b = signHeartbeat(operator(i), c.chainId, { sequence, prevId: new Uint8Array(32), height: 1, timeMs: 2000 });
  expect(receiveHeartbeat(s, a, hbCtx())).toMatchObject({ ok: true });
  const r = receiveHeartbeat(s, b, hbCtx());
  expect(r).toMatchObject({ ok: false, code: 'conflicting' });
  return (r as { evidence: EvidencePayload }).evidence;
}

/** Operator i attests a heartbeat of operator j whose signature is broken, detected by the tracker. */
function falseAttestation(i: number, j: number, sequence = 0): EvidencePayload {
  const good = signHeartbeat(operator(j), c.chainId, { sequence, prevId: new Uint8Array(32), height: 1, timeMs: 1000 + sequence });
  const forged: Heartbeat = { ...good, signature: new Uint8Array(64).fill(1) };
  const att = signAttestation(operator(i), c.chainId, heartbeatId(c.chainId, forged));
  const r = receiveAttestation(newHeartbeatState(), att, forged, hbCtx());
  expect(r).toMatchObject({ ok: false, code: 'bad-signature' });
  return (r as { evidence: EvidencePayload }).evidence;
}

describe('consensus equivocation (500 TIME)', () => {
  it('is included, penalized, bans at the threshold, and the offender leaves the next set', async () => {
    const ev = createEvidenceTx(equivocation(0));
    expect(ev.kind).toBe(TxKind.Evidence);
    await c.mine([ev]); // height 2
    const r = record(0);
    expect(r.penalty).toBe(PENALTY[EvidenceKind.Equivocation]);
    expect(r.penalty).toBe(500n * UNITS_PER_TIME);
    expect(r.penalty >= BAN_PENALTY).toBe(true);
    expect(r.bannedHeight).toBe(2);
    expect(statusAt(r, 3)).toBe('POSE_BANNED');
    expect(member(0, 2)).toBe(true);
    expect(member(0, 3)).toBe(false);
  });

  it('duplicates are refused: the same tx, another proof of the same offence, twice in one block', async () => {
    const ev = createEvidenceTx(equivocation(0));
    const other = createEvidenceTx(equivocation(0, 1, 0, ['a', 'c']));
    expect(await c.verdict([ev, other])).toBe(RuleCode.DuplicateEvidence);
    await c.mine([ev]);
    expect(await c.verdict([other])).toBe(RuleCode.DuplicateEvidence);
    expect(await c.verdict([ev])).toBe(RuleCode.DuplicateEvidence);
    // Another offence of the same validator (another view) is a new offence.
    expect(await c.verdict([createEvidenceTx(equivocation(0, 1, 1))])).toBe('ok');
  });

  it('PRE-PREPARE equivocation with 2 MB blocks fits a transaction (block bytes are not part of the proof)', async () => {
    const { signPrePrepare } = await import('../../consensus/messages.js');
    const big = (fill: number) => new Uint8Array(2_000_000).fill(fill);
    const first = signPrePrepare(operator(1), c.chainId, 1, 0, id('x'), big(1));
    const second = signPrePrepare(operator(1), c.chainId, 1, 0, id('y'), big(2));
    const ev = equivocationEvidence({ kind: 'equivocation', offender: operator(1).publicKey, height: 1, view: 0, msgType: MsgType.PrePrepare, first, second });
    expect(ev.proof.length).toBeLessThan(1000);
    await c.mine([createEvidenceTx(ev)]);
    expect(record(1).bannedHeight).toBe(2);
  });

  it('a proof that does not hold → bad-evidence', async () => {
    const good = equivocation(1);
    const agree = equivocation(1, 1, 0, ['a', 'a']);
    expect(await c.verdict([createEvidenceTx(agree)])).toBe(RuleCode.BadEvidence);
    expect(await c.verdict([createEvidenceTx({ ...good, offenceId: id('x') })])).toBe(RuleCode.BadEvidence);
    const forged = Buffer.from(good.proof);
    forged[forged.length - 1]! ^= 1;
    expect(await c.verdict([createEvidenceTx({ ...good, proof: forged })])).toBe(RuleCode.BadEvidence);
    expect(await c.verdict([createEvidenceTx({ ...good, proof: good.proof.subarray(3) })])).toBe(RuleCode.BadEvidence);
  });

  it('offender must be a validator of the offence height', async () => {
    const late = c.registration(c.spending(5), c.collateral(5), operator(5).publicKey, '/ip4/10.0.0.9/tcp/1');
    await c.mine([late]); // height 2 registers operator 5: a member from height 3
    expect(await c.verdict([createEvidenceTx(equivocation(5, 2))])).toBe(RuleCode.BadEvidence);
    await c.mine([]);
    await c.mine([]);
    expect(await c.verdict([createEvidenceTx(equivocation(5, 3))])).toBe('ok');
  });

  it('bounded in age: offence height h is valid in blocks h + 1 … h + EVIDENCE_MAX_AGE', async () => {
    expect(await c.verdict([createEvidenceTx(equivocation(1, 2))])).toBe(RuleCode.EvidenceTooOld); // block 2, offence 2
    await c.mineEmpty(EVIDENCE_MAX_AGE - 1); // tip = EVIDENCE_MAX_AGE
    expect(await c.verdict([createEvidenceTx(equivocation(1, 1))])).toBe('ok'); // block 101
    await c.mine([]);
    expect(await c.verdict([createEvidenceTx(equivocation(1, 1))])).toBe(RuleCode.EvidenceTooOld); // block 102
  });

  it('the offender collateral must be unspent, also within the same block', async () => {
    const move = c.transfer([c.collateral(2)], [{ amount: MASTERNODE_COLLATERAL - FEE, publicKey: owner(2).publicKey }]);
    expect(await c.verdict([createEvidenceTx(equivocation(2)), move])).toBe(RuleCode.BadEvidence);
    await c.mine([move]);
    expect(await c.verdict([createEvidenceTx(equivocation(2))])).toBe(RuleCode.BadEvidence);
  });

  it('evidence moves no money and is not a mempool transaction', async () => {
    const ev = equivocation(1);
    const withOutput = createTransaction({ kind: TxKind.Evidence, inputs: [], outputs: [{ amount: 1000n, publicKey: owner(1).publicKey }], payload: createEvidenceTx(ev).payload });
    expect(await c.verdict([withOutput])).toBe(RuleCode.BadEvidence);
    const pool = new Mempool({ chainId: c.chainId, sigCache: null });
    const tx = createEvidenceTx(ev);
    expect(() => pool.accept(tx, c.store.registry as never, 1)).toThrow(expect.objectContaining({ code: RuleCode.BadEvidence }));
    expect(decodeEvidencePayload(tx.payload).kind).toBe(EvidenceKind.Equivocation);
  });
});

describe('penalty enforced when the collateral is spent', () => {
  it('outputs ≤ inputs − penalty; the penalty is burned, not fee (block and mempool)', async () => {
    await c.mine([createEvidenceTx(conflictingHeartbeats(3))]); // 100 TIME against operator 3
    const penalty = 100n * UNITS_PER_TIME;
    expect(record(3).penalty).toBe(penalty);
    const coll = c.collateral(3);
    const greedy = c.transfer([coll], [{ amount: coll.amount - penalty + 1n, publicKey: owner(3).publicKey }]);
    expect(await c.verdict([greedy])).toBe(RuleCode.InsufficientFunds);
    const honest = c.transfer([coll], [{ amount: coll.amount - penalty - FEE, publicKey: owner(3).publicKey }]);
    // The proposer may claim the fee, not the burned penalty.
    expect(await c.verdict([honest], { coinbaseOutputs: [{ amount: BLOCK_REWARD + FEE, publicKey: owner(0).publicKey }] })).toBe('ok');
    expect(await c.verdict([honest], { coinbaseOutputs: [{ amount: BLOCK_REWARD + FEE + 1n, publicKey: owner(0).publicKey }] })).toBe(RuleCode.BadCoinbaseValue);
    const pool = new Mempool({ chainId: c.chainId, sigCache: null });
    const tip = c.store.tip().height;
    const greedyView = await c.store.loadView([greedy]);
    expect(() => pool.accept(greedy, greedyView, tip)).toThrow(expect.objectContaining({ code: RuleCode.InsufficientFunds }));
    expect(pool.accept(honest, await c.store.loadView([honest]), tip).fee).toBe(FEE);
    await c.mine([honest]);
    expect(member(3, c.store.tip().height + 1)).toBe(false);
  });
});

describe('conflicting heartbeats (100 TIME) and false attestations (10 TIME)', () => {
  it('conflicting heartbeats: detected by the tracker, included, penalized, not banned', async () => {
    await c.mine([createEvidenceTx(conflictingHeartbeats(1))]);
    expect(record(1)).toMatchObject({ penalty: 100n * UNITS_PER_TIME, offences: 1, bannedHeight: null });
    expect(member(1, c.store.tip().height + 1)).toBe(true);
    expect(await c.verdict([createEvidenceTx(conflictingHeartbeats(1))])).toBe(RuleCode.DuplicateEvidence);
  });

  it('false attestation: detected, included, 10 TIME; a valid heartbeat is no proof', async () => {
    await c.mine([createEvidenceTx(falseAttestation(2, 1))]);
    expect(record(2)).toMatchObject({ penalty: 10n * UNITS_PER_TIME, offences: 1, bannedHeight: null });
    const good = signHeartbeat(operator(1), c.chainId, { sequence: 9, prevId: new Uint8Array(32), height: 1, timeMs: 5 });
    const att = signAttestation(operator(2), c.chainId, heartbeatId(c.chainId, good));
    const { falseAttestationEvidence } = await import('../../consensus/evidence-proof.js');
    expect(await c.verdict([createEvidenceTx(falseAttestationEvidence(att, good))])).toBe(RuleCode.BadEvidence);
  });

  it('three conflicting-heartbeat offences (three sequences) ban at BAN_OFFENCES', async () => {
    await c.mine([createEvidenceTx(conflictingHeartbeats(3, 0)), createEvidenceTx(conflictingHeartbeats(3, 1))]);
    expect(record(3)).toMatchObject({ penalty: 200n * UNITS_PER_TIME, offences: 2, bannedHeight: null });
    const h = c.store.tip().height + 1;
    await c.mine([createEvidenceTx(conflictingHeartbeats(3, 2))]);
    expect(record(3)).toMatchObject({ penalty: 300n * UNITS_PER_TIME, offences: 3, bannedHeight: h });
    expect(member(3, h + 1)).toBe(false);
  });

  it('the third offence bans (BAN_OFFENCES) and the node leaves the next set', async () => {
    await c.mine([createEvidenceTx(falseAttestation(4, 1, 0)), createEvidenceTx(falseAttestation(4, 1, 1))]);
    expect(record(4)).toMatchObject({ offences: 2, bannedHeight: null });
    const h = c.store.tip().height + 1;
    await c.mine([createEvidenceTx(falseAttestation(4, 1, 2))]);
    expect(record(4)).toMatchObject({ penalty: 30n * UNITS_PER_TIME, offences: 3, bannedHeight: h });
    expect(member(4, h)).toBe(true);
    expect(member(4, h + 1)).toBe(false);
  });
});

describe('reorg', () => {
  it('disconnecting the evidence block restores the record, the set and the dedup index', async () => {
    const before = encodeMasternode(record(0));
    const sets = hexSet(2);
    const ev = createEvidenceTx(equivocation(0));
    await c.mine([ev]);
    expect(member(0, 3)).toBe(false);
    await c.store.disconnectTip();
    expect(encodeMasternode(record(0))).toEqual(before);
    expect(hexSet(2)).toEqual(sets);
    expect(await c.verdict([ev])).toBe('ok');
  });
});

function hexSet(h: number): string[] {
  return c.store.validatorSetAt(h).map(toHex);
}

/**
 * The node-side pieces of the masternode issue on the real store: the mempool's registry checks,
 * the evidence pool, the leader's proposal carrying evidence and paying the owner key
 * (src/block-checks.ts), and the masternodelist entries (src/services.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOCK_REWARD, MASTERNODE_COLLATERAL, TxKind, UNITS_PER_TIME } from '../../chain/constants.js';
import { RuleCode } from '../../chain/errors.js';
import { EvidencePool } from '../../chain/evidence-pool.js';
import { createEvidenceTx, type EvidencePayload } from '../../chain/evidence.js';
import { bytesEqual, toHex } from '../../chain/hash.js';
import { EVIDENCE_MAX_AGE } from '../../chain/masternode.js';
import { Mempool } from '../../chain/mempool.js';
import { SignatureCache } from '../../chain/ed25519.js';
import { equivocationEvidence, verifyEvidenceProof } from '../../consensus/evidence-proof.js';
import { leaderOf } from '../../consensus/leader.js';
import { signVote } from '../../consensus/messages.js';
import { MsgType } from '../../consensus/types.js';
import { BlockChecks } from '../../src/block-checks.js';
import { masternodeEntries } from '../../src/services.js';
import { id } from './chain-fixtures.js';
import { FEE, MnChain, addrOf, operator, owner } from './masternode-fixtures.js';
import { removeDir, tempDir } from '../fixtures/store-helpers.js';

let dir: string;
let c: MnChain;
beforeEach(async () => {
  dir = await tempDir('mn-node');
  c = await MnChain.create(dir, 6, 4);
  await c.mine([]);
});
afterEach(async () => {
  await c.close().catch(() => undefined);
  await removeDir(dir);
});

const pool = () => new Mempool({ chainId: c.chainId, sigCache: null, registry: () => c.store.registry });
const accept = async (m: Mempool, tx: Parameters<Mempool['accept']>[0]) => m.accept(tx, await c.store.loadView([tx], []), c.store.tip().height);
const codeOf = async (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

function equivocation(i: number, height = 1): EvidencePayload {
  const first = signVote(operator(i), c.chainId, MsgType.Prepare, height, 0, id('a'));
  const second = signVote(operator(i), c.chainId, MsgType.Prepare, height, 0, id('b'));
  return equivocationEvidence({ kind: 'equivocation', offender: operator(i).publicKey, height, view: 0, msgType: MsgType.Prepare, first, second });
}

describe('mempool with the registry', () => {
  it('checks registrations against the registry and the pool', async () => {
    const m = pool();
    const reg = (i: number, op = operator(i).publicKey, signWith = owner(i)) => c.registration(c.spending(i), c.collateral(i), op, addrOf(i), { signWith });
    expect(await codeOf(accept(m, reg(4, operator(4).publicKey, owner(5))))).toBe(RuleCode.BadOwnerSignature);
    expect(await codeOf(accept(m, reg(4, operator(0).publicKey)))).toBe(RuleCode.DuplicateOperator);
    expect(await codeOf(accept(m, c.registration(c.spending(4), c.collateral(0), operator(4).publicKey, addrOf(4), { signWith: owner(0) })))).toBe(RuleCode.CollateralClaimed);
    expect(await codeOf(accept(m, reg(4)))).toBe('ok');
    expect(await codeOf(accept(m, reg(5, operator(4).publicKey)))).toBe(RuleCode.MempoolConflict);
  });

  it('a block recording evidence drops pool spends of the offender collateral', async () => {
    const m = pool();
    const coll = c.collateral(2);
    const spend = c.transfer([coll], [{ amount: coll.amount - FEE, publicKey: owner(2).publicKey }]);
    await accept(m, spend);
    const block = await c.mine([createEvidenceTx(equivocation(2))]);
    expect(m.removeForBlock(block).conflicts.map((t) => toHex(t.txid))).toEqual([toHex(spend.txid)]);
    expect(m.size).toBe(0);
  });
});

describe('evidence pool', () => {
  it('one entry per offence; select keeps what holds and forgets what never will', async () => {
    const ep = new EvidencePool();
    expect(ep.add(equivocation(1))).toBe(true);
    expect(ep.add(equivocation(1))).toBe(false);
    expect(ep.add(equivocation(2, 5))).toBe(true); // offence in the future of the next block: kept, not selected
    const ctx = { registry: c.store.registry, verifyEvidence: verifyEvidenceProof };
    expect(ep.select(2, ctx, c.chainId)).toHaveLength(1);
    expect(ep.size).toBe(2);
    // At block 2 + EVIDENCE_MAX_AGE, offence 1 is too old (dropped for good); offence 5 now holds.
    const later = ep.select(2 + EVIDENCE_MAX_AGE, ctx, c.chainId);
    expect(later).toHaveLength(1);
    expect(ep.size).toBe(1);
    ep.removeForBlock({ txs: later } as never);
    expect(ep.size).toBe(0);
  });
});

describe('the leader proposal', () => {
  it('carries pending evidence, pays the owner key, and validates', async () => {
    const height = c.store.tip().height + 1;
    const validatorsAt = (h: number) => c.store.validatorSetAt(h);
    const leaderKey = leaderOf(validatorsAt(height), height, 0);
    const leader = [0, 1, 2, 3].find((i) => bytesEqual(operator(i).publicKey, leaderKey))!;
    const offender = (leader + 1) % 4;
    const evidence = new EvidencePool();
    evidence.add(equivocation(offender));
    const checks = new BlockChecks({ store: c.store, chainId: c.chainId, sigCache: new SignatureCache(), validatorsAt, now: () => Date.now(), evidence });
    const made = (await checks.propose(height, 0, operator(leader), operator(leader).publicKey, pool()))!;
    expect(made.fallback).toBeNull();
    expect(made.block.txs.map((t) => t.kind)).toEqual([TxKind.Coinbase, TxKind.Evidence]);
    expect(made.block.txs[0]!.outputs.map((o) => toHex(o.publicKey))).toEqual([toHex(owner(leader).publicKey)]);
    expect(made.block.txs[0]!.outputs[0]!.amount).toBe(BLOCK_REWARD);
    expect((await checks.validate(made.block.bytes, height, 0)).valid).toBe(true);
    await c.store.connectBlock(made.block);
    expect(c.store.validatorSetAt(height + 1).some((k) => bytesEqual(k, operator(offender).publicKey))).toBe(false);
  });
});

describe('masternodelist entries', () => {
  it('registry records with Dash status words and penalties in units; spent collaterals are not listed', async () => {
    await c.mine([createEvidenceTx(equivocation(1))]);
    const coll = c.collateral(3);
    await c.mine([c.transfer([coll], [{ amount: coll.amount - FEE, publicKey: owner(3).publicKey }])]);
    const reg = c.registration(c.spending(4), c.collateral(4), operator(4).publicKey, addrOf(4));
    await c.mine([reg]);
    const list = masternodeEntries({ store: c.store, validatorsAt: () => [] });
    const byOp = new Map(list.map((e) => [toHex(e.operator), e]));
    expect(byOp.has(toHex(operator(3).publicKey))).toBe(false);
    expect(byOp.get(toHex(operator(1).publicKey))).toMatchObject({ status: 'POSE_BANNED', penalties: 500n * UNITS_PER_TIME, offences: 1 });
    expect(byOp.get(toHex(operator(0).publicKey))).toMatchObject({
      status: 'ENABLED', registeredheight: 0, addr: addrOf(0), collateral: `${toHex(c.collateral(0).txid)}:0`, penalties: 0n, lastheartbeat: null,
    });
    expect(toHex(byOp.get(toHex(operator(0).publicKey))!.owner!)).toBe(toHex(owner(0).publicKey));
    expect(byOp.get(toHex(operator(4).publicKey))).toMatchObject({ status: 'ENABLED', registeredheight: c.store.tip().height });
    expect(list.length).toBe(4);
    expect(MASTERNODE_COLLATERAL).toBe(1000n * UNITS_PER_TIME);
  });
});

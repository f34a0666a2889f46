import { describe, expect, it } from 'vitest';
import { toHex } from '../../chain/hash.js';
import { checkCommitCertificate } from '../../consensus/certificates.js';
import { describe as describeEngine } from '../../consensus/engine.js';
import { ConsensusCode } from '../../consensus/errors.js';
import { makeValidatorSet } from '../../consensus/leader.js';
import { verifyMessageSignature } from '../../consensus/messages.js';
import { MsgType, type Vote } from '../../consensus/types.js';
import {
  block,
  broadcasts,
  CHAIN_ID,
  codes,
  commit,
  Harness,
  hashBlock,
  hashOf,
  kinds,
  leaderAmong,
  ofKind,
  OTHER_CHAIN_ID,
  prePrepare,
  prepare,
  signerAt,
  signers,
} from './consensus-fixtures.js';
import { verifySignature } from '../../chain/ed25519.js';

const H = 1;
const V4 = signers(4); // height 1, view 0 → leader is V4[1]
const ctx = { chainId: CHAIN_ID, verify: verifySignature, hashBlock };

/** A replica (V[0], not the leader) at height 1 that accepted and validated proposal 'a'. */
function replicaWithProposal(vs = V4): Harness {
  const h = new Harness(vs[0]!, vs);
  h.start(H);
  h.deliver(prePrepare(leaderAmong(vs, H, 0), H, 0, 'a'));
  h.validated(H, 0, 'a');
  return h;
}

describe('start', () => {
  it('a replica schedules the view-0 timer and waits; the leader also asks for a proposal', () => {
    const replica = new Harness(V4[0]!, V4);
    expect(replica.start(H)).toEqual([{ kind: 'schedule-timeout', height: H, view: 0, afterMs: 1000 }]);
    const leader = new Harness(V4[1]!, V4);
    expect(leader.start(H)).toEqual([
      { kind: 'schedule-timeout', height: H, view: 0, afterMs: 1000 },
      { kind: 'request-proposal', height: H, view: 0 },
    ]);
  });

  it('rejects an empty or duplicated validator set and a start for a height already run', () => {
    const h = new Harness(V4[0]!, V4);
    expect(codes(h.step({ kind: 'start', height: 1, validators: [], now: 0 }))).toEqual([ConsensusCode.BadInput]);
    expect(codes(h.step({ kind: 'start', height: 1, validators: [V4[0]!.publicKey, V4[0]!.publicKey], now: 0 }))).toEqual([ConsensusCode.BadInput]);
    h.start(5);
    expect(codes(h.start(5))).toEqual([ConsensusCode.StaleHeight]);
    expect(codes(h.start(4))).toEqual([ConsensusCode.StaleHeight]);
  });

  it('a message before start is rejected as not-started', () => {
    const h = new Harness(V4[0]!, V4);
    expect(codes(h.deliver(prepare(V4[2]!, H, 0, 'a')))).toEqual([ConsensusCode.NotStarted]);
  });
});

describe('normal-case phases (n = 4)', () => {
  it('leader: proposal → persist, PRE-PREPARE, persist, PREPARE (persist always first), then the view timer restarts', () => {
    const h = new Harness(V4[1]!, V4);
    h.start(H);
    const eff = h.propose(H, 0, 'a');
    expect(kinds(eff)).toEqual(['persist', 'broadcast', 'persist', 'broadcast', 'schedule-timeout']);
    const [p1, b1, p2, b2, t] = eff;
    expect(t).toEqual({ kind: 'schedule-timeout', height: H, view: 0, afterMs: 1000 });
    expect(p1).toMatchObject({ kind: 'persist', record: { height: H, view: 0, phase: 'pre-prepare', blockHash: hashOf('a') } });
    expect(b1).toMatchObject({ kind: 'broadcast', msg: { type: MsgType.PrePrepare, height: H, view: 0, block: block('a') } });
    expect(p2).toMatchObject({ kind: 'persist', record: { phase: 'prepare', blockHash: hashOf('a') } });
    expect(b2).toMatchObject({ kind: 'broadcast', msg: { type: MsgType.Prepare, blockHash: hashOf('a') } });
    for (const m of broadcasts(eff)) expect(verifyMessageSignature(ctx, m as Vote)).toBe(true);
    // a second proposal for the same view is ignored
    expect(h.propose(H, 0, 'b')).toEqual([]);
  });

  it('replica: PRE-PREPARE → validate-block; valid → PREPARE; invalid → nothing but invalid-block', () => {
    const h = new Harness(V4[0]!, V4);
    h.start(H);
    const eff = h.deliver(prePrepare(V4[1]!, H, 0, 'a'));
    expect(eff).toEqual([{ kind: 'validate-block', height: H, view: 0, blockHash: hashOf('a'), block: block('a') }]);
    const ok = h.validated(H, 0, 'a');
    expect(kinds(ok)).toEqual(['persist', 'broadcast', 'schedule-timeout']);
    expect(broadcasts(ok)[0]).toMatchObject({ type: MsgType.Prepare, height: H, view: 0, signer: V4[0]!.publicKey });

    const bad = new Harness(V4[0]!, V4);
    bad.start(H);
    bad.deliver(prePrepare(V4[1]!, H, 0, 'a'));
    expect(codes(bad.validated(H, 0, 'a', false))).toEqual([ConsensusCode.InvalidBlock]);
    expect(ofKind(bad.log, 'broadcast')).toEqual([]);
  });

  it('quorum edge n = 4: 2f = 2 prepares do nothing, the 3rd commits; 2 commits nothing, the 3rd finalizes', () => {
    const h = replicaWithProposal();
    // own prepare + V1 = 2 = 2f
    expect(h.deliver(prepare(V4[1]!, H, 0, 'a'))).toEqual([]);
    const eff = h.deliver(prepare(V4[2]!, H, 0, 'a'));
    expect(kinds(eff)).toEqual(['persist', 'broadcast']);
    const rec = ofKind(eff, 'persist')[0]!.record;
    expect(rec).toMatchObject({ phase: 'commit', view: 0, blockHash: hashOf('a') });
    expect(rec.prepared?.prepares).toHaveLength(3);
    expect(broadcasts(eff)[0]).toMatchObject({ type: MsgType.Commit, blockHash: hashOf('a') });
    expect(h.deliver(commit(V4[1]!, H, 0, 'a'))).toEqual([]);
    const fin = h.deliver(commit(V4[3]!, H, 0, 'a'));
    expect(kinds(fin)).toEqual(['commit']);
    const c = ofKind(fin, 'commit')[0]!;
    expect(c).toMatchObject({ height: H, blockHash: hashOf('a'), block: block('a') });
    expect(checkCommitCertificate(ctx, makeValidatorSet(V4.map((s) => s.publicKey)), c.certificate, H)).toBeNull();
    expect(describeEngine(h.state).phase).toBe('decided');
  });

  it('quorum edge n = 7: 2f = 4 prepares do nothing, the 5th commits; 4 commits nothing, the 5th finalizes', () => {
    const V7 = signers(7);
    const h = replicaWithProposal(V7);
    const others = [2, 3, 4, 5, 6].map((i) => V7[i]!);
    for (const s of others.slice(0, 3)) expect(h.deliver(prepare(s, H, 0, 'a'))).toEqual([]); // own + 3 = 4
    expect(kinds(h.deliver(prepare(others[3]!, H, 0, 'a')))).toEqual(['persist', 'broadcast']); // 5
    for (const s of others.slice(0, 3)) expect(h.deliver(commit(s, H, 0, 'a'))).toEqual([]); // own + 3 = 4
    expect(kinds(h.deliver(commit(others[3]!, H, 0, 'a')))).toEqual(['commit']);
  });

  it('prepares arriving before the proposal still count once it is validated', () => {
    const h = new Harness(V4[0]!, V4);
    h.start(H);
    h.deliver(prepare(V4[2]!, H, 0, 'a'));
    h.deliver(prepare(V4[3]!, H, 0, 'a'));
    h.deliver(prePrepare(V4[1]!, H, 0, 'a'));
    const eff = h.validated(H, 0, 'a');
    expect(broadcasts(eff).map((m) => m.type)).toEqual([MsgType.Prepare, MsgType.Commit]);
  });

  it('prepares for another hash do not make the proposal prepared', () => {
    const h = replicaWithProposal();
    h.deliver(prepare(V4[1]!, H, 0, 'b'));
    h.deliver(prepare(V4[2]!, H, 0, 'b'));
    expect(broadcasts(h.log).filter((m) => m.type === MsgType.Commit)).toEqual([]);
  });

  it('a commit quorum finalizes even a replica that never validated (the certificate is the proof)', () => {
    const h = new Harness(V4[0]!, V4);
    h.start(H);
    h.deliver(prePrepare(V4[1]!, H, 0, 'a'));
    h.deliver(commit(V4[1]!, H, 0, 'a'));
    h.deliver(commit(V4[2]!, H, 0, 'a'));
    expect(kinds(h.deliver(commit(V4[3]!, H, 0, 'a')))).toEqual(['commit']);
  });

  it('a commit quorum seen before the block finalizes when the block arrives', () => {
    const h = new Harness(V4[0]!, V4);
    h.start(H);
    for (const i of [1, 2, 3]) expect(h.deliver(commit(V4[i]!, H, 0, 'a'))).toEqual([]);
    const eff = h.deliver(prePrepare(V4[1]!, H, 0, 'a'));
    expect(kinds(eff)).toEqual(['validate-block', 'commit']);
  });

  it('a follower (no signer) finalizes from the certificate and never signs', () => {
    const h = new Harness(null, V4);
    expect(h.start(H)).toEqual([]);
    expect(h.deliver(prePrepare(V4[1]!, H, 0, 'a'))).toEqual([]);
    for (const i of [1, 2]) h.deliver(commit(V4[i]!, H, 0, 'a'));
    expect(kinds(h.deliver(commit(V4[3]!, H, 0, 'a')))).toEqual(['commit']);
    expect(h.log.filter((e) => e.kind === 'persist' || e.kind === 'broadcast' || e.kind === 'schedule-timeout')).toEqual([]);
  });

  it('a validator key outside this height\'s set behaves as a follower', () => {
    const outsider = signerAt(42, 'outsider');
    const h = new Harness(outsider, V4);
    h.start(H);
    h.deliver(prePrepare(V4[1]!, H, 0, 'a'));
    expect(h.log.filter((e) => e.kind === 'broadcast' || e.kind === 'validate-block')).toEqual([]);
  });

  it('after commit it waits for start(h + 1), then runs the next height with its validator set', () => {
    const h = replicaWithProposal();
    for (const i of [1, 2]) h.deliver(prepare(V4[i]!, H, 0, 'a'));
    for (const i of [1, 2]) h.deliver(commit(V4[i]!, H, 0, 'a'));
    expect(h.timeout(H, 0)).toEqual([]); // stale timer after the decision
    const V5 = signers(5);
    const eff = h.start(H + 1);
    expect(kinds(eff)).toEqual(['schedule-timeout']);
    const next = new Harness(V5[0]!, V5);
    next.start(2);
    expect(describeEngine(next.state)).toMatchObject({ height: 2, view: 0, validators: 5, f: 1, quorum: 4 });
  });
});

describe('rejections change nothing', () => {
  it('forged signature, unknown signer and wrong chain are rejected with their codes', () => {
    const h = replicaWithProposal();
    const good = prepare(V4[2]!, H, 0, 'a');
    const forged: Vote = { ...good, signature: Uint8Array.from(good.signature, (b, i) => (i === 0 ? b ^ 1 : b)) };
    expect(codes(h.deliver(forged, 'peer-x'))).toEqual([ConsensusCode.BadSignature]);
    expect(ofKind(h.log, 'rejected').at(-1)).toMatchObject({ from: 'peer-x' });
    expect(codes(h.deliver(prepare(signerAt(99), H, 0, 'a')))).toEqual([ConsensusCode.UnknownSigner]);
    expect(codes(h.deliver(prepare(V4[3]!, H, 0, 'a', OTHER_CHAIN_ID)))).toEqual([ConsensusCode.BadSignature]);
    // none of them counted: own + V2's genuine vote is still only 2, V1's makes the quorum
    expect(h.deliver(good)).toEqual([]);
    expect(broadcasts(h.deliver(prepare(V4[1]!, H, 0, 'a'))).map((m) => m.type)).toEqual([MsgType.Commit]);
  });

  it('a re-delivered vote is a duplicate; a PRE-PREPARE from a non-leader or with swapped block bytes is refused', () => {
    const h = new Harness(V4[0]!, V4);
    h.start(H);
    const v = prepare(V4[2]!, H, 0, 'a');
    expect(h.deliver(v)).toEqual([]);
    expect(codes(h.deliver(v))).toEqual([ConsensusCode.Duplicate]);
    expect(codes(h.deliver(prePrepare(V4[2]!, H, 0, 'a')))).toEqual([ConsensusCode.NotLeader]);
    const genuine = prePrepare(V4[1]!, H, 0, 'a');
    expect(codes(h.deliver({ ...genuine, block: block('evil') }))).toEqual([ConsensusCode.HashMismatch]);
    // the swap did not burn the genuine proposal
    expect(kinds(h.deliver(genuine))).toEqual(['validate-block']);
    expect(codes(h.deliver(genuine))).toEqual([ConsensusCode.Duplicate]);
  });

  it('an old message re-delivered after the decision is stale-height and changes nothing', () => {
    const h = replicaWithProposal();
    const p2 = prepare(V4[2]!, H, 0, 'a');
    h.deliver(prepare(V4[1]!, H, 0, 'a'));
    h.deliver(p2);
    h.deliver(commit(V4[1]!, H, 0, 'a'));
    h.deliver(commit(V4[2]!, H, 0, 'a'));
    const before = h.log.length;
    expect(codes(h.deliver(p2))).toEqual([ConsensusCode.StaleHeight]);
    expect(codes(h.deliver(prePrepare(V4[1]!, H, 0, 'a')))).toEqual([ConsensusCode.StaleHeight]);
    expect(h.log.slice(before).filter((e) => e.kind !== 'rejected')).toEqual([]);
  });

  it('a prepare for a view the replica has left is stale-view', () => {
    const h = new Harness(V4[0]!, V4);
    h.start(H);
    h.timeout(H, 0);
    expect(codes(h.deliver(prepare(V4[2]!, H, 0, 'a')))).toEqual([ConsensusCode.StaleView]);
    expect(codes(h.deliver(prePrepare(V4[1]!, H, 0, 'a')))).toEqual([ConsensusCode.StaleView]);
  });

  it('malformed objects are bad-message, never a crash', () => {
    const h = new Harness(V4[0]!, V4);
    h.start(H);
    const good = prepare(V4[2]!, H, 0, 'a');
    expect(codes(h.deliver({ ...good, signature: new Uint8Array(10) }))).toEqual([ConsensusCode.BadMessage]);
    expect(codes(h.deliver({ ...good, view: -1 }))).toEqual([ConsensusCode.BadMessage]);
    expect(codes(h.deliver({ ...good, height: 1.5 }))).toEqual([ConsensusCode.BadMessage]);
    expect(codes(h.deliver({ ...good, type: 9 } as unknown as Vote))).toEqual([ConsensusCode.BadMessage]);
  });
});

describe('evidence', () => {
  it('two prepares by one signer for different hashes → one evidence effect', () => {
    const h = new Harness(V4[0]!, V4);
    h.start(H);
    const first = prepare(V4[2]!, H, 0, 'a');
    const second = prepare(V4[2]!, H, 0, 'b');
    h.deliver(first);
    const eff = h.deliver(second);
    expect(ofKind(eff, 'evidence')).toEqual([
      { kind: 'evidence', evidence: { kind: 'equivocation', offender: V4[2]!.publicKey, height: H, view: 0, msgType: MsgType.Prepare, first, second } },
    ]);
    expect(ofKind(h.deliver(prepare(V4[2]!, H, 0, 'c')), 'evidence')).toEqual([]);
    expect(ofKind(h.deliver(second), 'evidence')).toEqual([]);
  });

  it('conflicting commits and a double PRE-PREPARE are evidence too', () => {
    const h = new Harness(V4[0]!, V4);
    h.start(H);
    h.deliver(commit(V4[3]!, H, 0, 'a'));
    expect(ofKind(h.deliver(commit(V4[3]!, H, 0, 'b')), 'evidence')[0]!.evidence).toMatchObject({ offender: V4[3]!.publicKey, msgType: MsgType.Commit });
    h.deliver(prePrepare(V4[1]!, H, 0, 'a'));
    const eff = h.deliver(prePrepare(V4[1]!, H, 0, 'b'));
    const ev = ofKind(eff, 'evidence');
    expect(ev).toHaveLength(1);
    expect(ev[0]!.evidence).toMatchObject({ offender: V4[1]!.publicKey, msgType: MsgType.PrePrepare, view: 0 });
    expect(toHex(ev[0]!.evidence.first.blockHash)).toBe(toHex(hashOf('a')));
    expect(toHex(ev[0]!.evidence.second.blockHash)).toBe(toHex(hashOf('b')));
    expect(ofKind(h.deliver(prePrepare(V4[1]!, H, 0, 'b')), 'evidence')).toEqual([]);
  });

  it('a vote forged in someone\'s name is not evidence against them', () => {
    const h = new Harness(V4[0]!, V4);
    h.start(H);
    h.deliver(prepare(V4[2]!, H, 0, 'a'));
    const forged = { ...prepare(V4[3]!, H, 0, 'b'), signer: V4[2]!.publicKey };
    expect(codes(h.deliver(forged))).toEqual([ConsensusCode.BadSignature]);
    expect(ofKind(h.log, 'evidence')).toEqual([]);
  });
});

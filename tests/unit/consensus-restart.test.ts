import { describe, expect, it } from 'vitest';
import { bytesEqual, toHex } from '../../chain/hash.js';
import { ConsensusCode } from '../../consensus/errors.js';
import { maySign } from '../../consensus/signing.js';
import { MsgType, type Effect, type PersistRecord, type ViewChange, type Vote } from '../../consensus/types.js';
import { broadcasts, Cluster, codes, Harness, hashOf, kinds, ofKind, prePrepare, prepare, preparedCert, signers } from './consensus-fixtures.js';

const H = 1;
const V = signers(4); // height 1: view 0 → V1

/** Run V0 through PREPARE of 'a' in view 0 and return the harness and its last persisted record. */
function preparedOnce(): { h: Harness; record: PersistRecord; vote: Vote } {
  const h = new Harness(V[0]!, V);
  h.start(H);
  h.deliver(prePrepare(V[1]!, H, 0, 'a'));
  const eff = h.validated(H, 0, 'a');
  return { h, record: ofKind(eff, 'persist')[0]!.record, vote: broadcasts(eff)[0] as Vote };
}

describe('persist before send', () => {
  it('every signed broadcast is preceded in its step by a persist covering it', () => {
    const c = new Cluster(V, { untilHeight: 3 });
    c.crashed.add(2); // leader of (2, 0): forces a view change at height 2
    c.startAll(1);
    c.fireTimers();
    c.fireTimers();
    const phase: Record<number, PersistRecord['phase']> = {
      [MsgType.PrePrepare]: 'pre-prepare', [MsgType.Prepare]: 'prepare', [MsgType.Commit]: 'commit', [MsgType.ViewChange]: 'view-change', [MsgType.NewView]: 'pre-prepare',
    };
    let checked = 0;
    for (const node of c.nodes) {
      let last: PersistRecord | null = null;
      for (const e of node.log as Effect[]) {
        if (e.kind === 'persist') last = e.record;
        if (e.kind !== 'broadcast' || e.msg.type === MsgType.Decision) continue;
        expect(last).not.toBeNull();
        expect(last!.height).toBe(e.msg.height);
        expect(last!.view).toBe(e.msg.view);
        // a PRE-PREPARE may be covered by the later PREPARE record of the same step
        if (e.msg.type !== MsgType.PrePrepare) expect(last!.phase).toBe(phase[e.msg.type]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(c.commits[0]!.map((x) => x.height)).toEqual([1, 2, 3]);
  });
});

describe('restart from a persisted record', () => {
  it('never signs a different PREPARE for the same (height, view), but re-signs the identical one', () => {
    const { record, vote } = preparedOnce();
    const restarted = new Harness(V[0]!, V);
    restarted.start(H, record);
    restarted.deliver(prePrepare(V[1]!, H, 0, 'b')); // an equivocating leader's other block
    const eff = restarted.validated(H, 0, 'b');
    expect(codes(eff)).toEqual([ConsensusCode.SigningRefused]);
    expect(broadcasts(restarted.log)).toEqual([]);

    const again = new Harness(V[0]!, V);
    again.start(H, record);
    again.deliver(prePrepare(V[1]!, H, 0, 'a'));
    const same = broadcasts(again.validated(H, 0, 'a'))[0] as Vote;
    expect(bytesEqual(same.signature, vote.signature)).toBe(true);
  });

  it('never votes in a view below the recorded one', () => {
    const record: PersistRecord = { height: H, view: 2, phase: 'view-change', blockHash: null, prepared: null };
    const h = new Harness(V[0]!, V);
    const eff = h.start(H, record);
    // it resumes view 2 by re-sending its VIEW-CHANGE(2), persisted first, and times view 2
    expect(kinds(eff)).toEqual(['persist', 'broadcast', 'schedule-timeout']);
    expect(broadcasts(eff)[0]).toMatchObject({ type: MsgType.ViewChange, view: 2 });
    expect(ofKind(eff, 'schedule-timeout')[0]).toMatchObject({ view: 2, afterMs: 4000 });
    expect(codes(h.deliver(prePrepare(V[1]!, H, 0, 'a')))).toEqual([ConsensusCode.StaleView]);
    expect(codes(h.deliver(prepare(V[2]!, H, 1, 'a')))).toEqual([ConsensusCode.StaleView]);
    expect(broadcasts(h.log).filter((m) => m.type !== MsgType.ViewChange)).toEqual([]);
  });

  it('its VIEW-CHANGE still carries the restored prepared certificate', () => {
    const cert = preparedCert([V[0]!, V[1]!, V[2]!], H, 0, 'a');
    const record: PersistRecord = { height: H, view: 0, phase: 'commit', blockHash: hashOf('a'), prepared: cert };
    const h = new Harness(V[0]!, V);
    h.start(H, record);
    const eff = h.timeout(H, 0);
    const vc = broadcasts(eff)[0] as ViewChange;
    expect(vc.type).toBe(MsgType.ViewChange);
    expect(vc.prepared).toBe(cert);
    expect(ofKind(eff, 'persist')[0]!.record.prepared).toBe(cert);
  });

  it('a restarted leader does not ask for a new block for a view it already proposed in', () => {
    const record: PersistRecord = { height: H, view: 0, phase: 'pre-prepare', blockHash: hashOf('a'), prepared: null };
    const h = new Harness(V[1]!, V);
    expect(kinds(h.start(H, record))).toEqual(['schedule-timeout']);
    // and if a driver sends one anyway, the guard refuses to sign a second proposal for view 0
    const eff = h.propose(H, 0, 'b');
    expect(codes(eff)).toEqual([ConsensusCode.SigningRefused]);
    expect(broadcasts(eff)).toEqual([]);
  });

  it('started below the recorded height, it signs nothing at all', () => {
    const record: PersistRecord = { height: H + 1, view: 0, phase: 'prepare', blockHash: hashOf('x'), prepared: null };
    const h = new Harness(V[0]!, V);
    h.start(H, record);
    h.deliver(prePrepare(V[1]!, H, 0, 'a'));
    expect(codes(h.validated(H, 0, 'a'))).toEqual([ConsensusCode.SigningRefused]);
    expect(h.timeout(H, 0).some((e) => e.kind === 'broadcast')).toBe(false);
  });

  it('the guard: later view or later phase with the same hash only', () => {
    const rec = (view: number, phase: PersistRecord['phase'], label: string | null): PersistRecord =>
      ({ height: 5, view, phase, blockHash: label === null ? null : hashOf(label), prepared: null });
    const a = hashOf('a');
    const b = hashOf('b');
    expect(maySign(null, 5, 0, 'prepare', a)).toBe(true);
    expect(maySign(rec(3, 'prepare', 'a'), 5, 3, 'prepare', a)).toBe(true);
    expect(maySign(rec(3, 'prepare', 'a'), 5, 3, 'prepare', b)).toBe(false);
    expect(maySign(rec(3, 'prepare', 'a'), 5, 3, 'commit', a)).toBe(true);
    expect(maySign(rec(3, 'prepare', 'a'), 5, 3, 'commit', b)).toBe(false);
    expect(maySign(rec(3, 'commit', 'a'), 5, 3, 'prepare', a)).toBe(false);
    expect(maySign(rec(3, 'commit', 'a'), 5, 2, 'view-change', null)).toBe(false);
    expect(maySign(rec(3, 'commit', 'a'), 5, 4, 'view-change', null)).toBe(true);
    expect(maySign(rec(3, 'view-change', null), 5, 3, 'pre-prepare', b)).toBe(true);
    expect(maySign(rec(3, 'view-change', null), 5, 2, 'prepare', b)).toBe(false);
    expect(maySign(rec(3, 'commit', 'a'), 4, 9, 'prepare', b)).toBe(false);
    expect(maySign(rec(3, 'commit', 'a'), 6, 0, 'prepare', b)).toBe(true);
  });

  it('a node killed after PREPARE and restarted still reaches the same decision as the others', () => {
    const c = new Cluster(V);
    c.drop = (_f, _t, m) => m.type === MsgType.Commit; // nobody finalizes in view 0
    c.startAll(H);
    const record = ofKind(c.nodes[3]!.log, 'persist').at(-1)!.record;
    expect(record.phase).toBe('commit');
    // node 3 restarts from its record
    c.nodes[3] = new Harness(V[3]!, V);
    c.queue.push({ to: 3, input: { kind: 'start', height: H, validators: V.map((s) => s.publicKey), now: 0, restored: record } });
    c.timers[3]!.length = 0;
    c.drop = () => false;
    c.run();
    c.fireTimers();
    const hashes = c.commits.map((cs) => cs[0]?.hash);
    expect(new Set(hashes)).toEqual(new Set([toHex(hashOf('h1v0n1'))]));
  });
});

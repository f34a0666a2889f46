import { describe, expect, it } from 'vitest';
import { toHex } from '../../chain/hash.js';
import { ConsensusCode } from '../../consensus/errors.js';
import { signNewView } from '../../consensus/messages.js';
import { MsgType, type NewView, type ViewChange } from '../../consensus/types.js';
import {
  broadcasts,
  CHAIN_ID,
  Cluster,
  codes,
  commit,
  Harness,
  hashOf,
  kinds,
  newView,
  ofKind,
  prePrepare,
  prepare,
  preparedCert,
  signers,
  viewChange,
} from './consensus-fixtures.js';

const H = 1;
const V = signers(4); // height 1: view 0 → V1, view 1 → V2, view 2 → V3, view 3 → V0

describe('timeouts', () => {
  it('timeout → persist, VIEW-CHANGE(view + 1) with no certificate, timer for the new view', () => {
    const h = new Harness(V[0]!, V);
    h.start(H);
    const eff = h.timeout(H, 0);
    expect(kinds(eff)).toEqual(['persist', 'broadcast', 'schedule-timeout']);
    expect(eff[0]).toMatchObject({ record: { height: H, view: 1, phase: 'view-change', blockHash: null, prepared: null } });
    expect(broadcasts(eff)[0]).toMatchObject({ type: MsgType.ViewChange, height: H, view: 1, prepared: null });
    expect(eff[2]).toEqual({ kind: 'schedule-timeout', height: H, view: 1, afterMs: 2000 });
  });

  it('the timer grows ×factor per failed view and is capped; stale timers are ignored', () => {
    const h = new Harness(V[0]!, V);
    h.start(H);
    const waits: number[] = [];
    for (let v = 0; v < 7; v++) waits.push(ofKind(h.timeout(H, v), 'schedule-timeout')[0]!.afterMs);
    expect(waits).toEqual([2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(h.timeout(H, 3)).toEqual([]); // old view
    expect(h.timeout(H + 1, 7)).toEqual([]); // other height
  });

  it('progress restarts the view timer once: the superseded timeout is skipped, the next one changes view', () => {
    const h = new Harness(V[0]!, V);
    h.start(H);
    h.deliver(prePrepare(V[1]!, H, 0, 'a'));
    const voted = h.validated(H, 0, 'a');
    expect(ofKind(voted, 'schedule-timeout')).toEqual([{ kind: 'schedule-timeout', height: H, view: 0, afterMs: 1000 }]);
    expect(h.timeout(H, 0)).toEqual([]); // the timer set at start, superseded
    const eff = h.timeout(H, 0); // the restarted one: the round did not commit in time
    expect(kinds(eff)).toEqual(['persist', 'broadcast', 'schedule-timeout']);
    expect(broadcasts(eff)[0]).toMatchObject({ type: MsgType.ViewChange, height: H, view: 1 });
  });

  it('without progress the first timeout changes view; a restart never carries over to the next view or height', () => {
    const h = new Harness(V[0]!, V);
    h.start(H);
    h.deliver(prePrepare(V[1]!, H, 0, 'z'));
    expect(codes(h.validated(H, 0, 'z', false))).toEqual([ConsensusCode.InvalidBlock]); // an invalid proposal is no progress
    expect(kinds(h.timeout(H, 0))).toEqual(['persist', 'broadcast', 'schedule-timeout']);

    // progress in view 0 that then fails: view 1's timer is not skipped
    const g = new Harness(V[0]!, V);
    g.start(H);
    g.deliver(prePrepare(V[1]!, H, 0, 'a'));
    g.validated(H, 0, 'a');
    g.timeout(H, 0);
    g.timeout(H, 0);
    expect(kinds(g.timeout(H, 1))).toEqual(['persist', 'broadcast', 'schedule-timeout']);
    expect(broadcasts(g.log).filter((m) => m.type === MsgType.ViewChange).map((m) => m.view)).toEqual([1, 2]);

    // progress at height H that committed: height H + 1 starts with a plain timer
    const k = new Harness(V[0]!, V);
    k.start(H);
    k.deliver(prePrepare(V[1]!, H, 0, 'a'));
    k.validated(H, 0, 'a');
    for (const i of [1, 2]) k.deliver(prepare(V[i]!, H, 0, 'a'));
    for (const i of [1, 2]) k.deliver(commit(V[i]!, H, 0, 'a'));
    expect(kinds(k.log)).toContain('commit');
    k.start(H + 1);
    expect(kinds(k.timeout(H + 1, 0))).toEqual(['persist', 'broadcast', 'schedule-timeout']);
  });

  it('the restart is once per view: a second PREPARE path in the same view schedules nothing more', () => {
    const h = new Harness(V[0]!, V);
    h.start(H);
    h.deliver(prePrepare(V[1]!, H, 0, 'a'));
    h.validated(H, 0, 'a');
    h.validated(H, 0, 'a'); // a repeated verdict
    for (const i of [1, 2]) h.deliver(prepare(V[i]!, H, 0, 'a'));
    expect(ofKind(h.log, 'schedule-timeout').filter((t) => t.view === 0)).toHaveLength(2); // start + one restart
  });

  it('after sending VIEW-CHANGE(1) the replica no longer votes in view 0', () => {
    const h = new Harness(V[0]!, V);
    h.start(H);
    h.timeout(H, 0);
    expect(codes(h.deliver(prePrepare(V[1]!, H, 0, 'a')))).toEqual([ConsensusCode.StaleView]);
    expect(h.validated(H, 0, 'a')).toEqual([]);
  });

  it('f + 1 view changes for a higher view make a replica join; f do not', () => {
    const h = new Harness(V[0]!, V);
    h.start(H);
    expect(h.deliver(viewChange(V[1]!, H, 1))).toEqual([]);
    const eff = h.deliver(viewChange(V[2]!, H, 1));
    expect(broadcasts(eff)).toMatchObject([{ type: MsgType.ViewChange, view: 1, signer: V[0]!.publicKey }]);
  });
});

describe('view change end to end (n = 4, instant delivery)', () => {
  it('silent leader: timeout → VIEW-CHANGE → NEW-VIEW → new PRE-PREPARE → final on every live node', () => {
    const c = new Cluster(V);
    c.crashed.add(1); // leader of (1, 0)
    c.startAll(H);
    expect(c.commits.flat()).toEqual([]);
    c.fireTimers();
    const live = [0, 2, 3].map((i) => c.commits[i]!);
    for (const cs of live) expect(cs).toHaveLength(1);
    expect(new Set(live.map((cs) => cs[0]!.hash)).size).toBe(1);
    expect(live[0]![0]).toMatchObject({ height: H, view: 1, hash: toHex(hashOf('h1v1n2')) });
  });

  it('a block prepared in view 0 but not committed is re-proposed in view 1', () => {
    const c = new Cluster(V);
    // commits of view 0 are lost: everyone prepares 'h1v0n1' but nobody finalizes
    c.drop = (_f, _t, m) => m.type === MsgType.Commit && m.view === 0;
    c.startAll(H);
    expect(c.commits.flat()).toEqual([]);
    c.drop = () => false;
    c.fireTimers();
    for (const cs of c.commits) expect(cs).toEqual([{ height: H, view: 1, hash: toHex(hashOf('h1v0n1')) }]);
  });

  it('leader of the new view without a prepared block asks the driver, then sends NEW-VIEW before its PREPARE', () => {
    const h = new Harness(V[2]!, V); // leads view 1
    h.start(H);
    h.timeout(H, 0);
    h.deliver(viewChange(V[0]!, H, 1));
    const eff = h.deliver(viewChange(V[3]!, H, 1));
    expect(eff).toEqual([{ kind: 'request-proposal', height: H, view: 1 }]);
    const prop = h.propose(H, 1, 'b');
    // the view-1 timer is running since the VIEW-CHANGE; its PREPARE (progress) restarts it once
    expect(kinds(prop)).toEqual(['persist', 'broadcast', 'persist', 'broadcast', 'schedule-timeout']);
    expect(prop[0]).toMatchObject({ record: { view: 1, phase: 'pre-prepare', blockHash: hashOf('b') } });
    const [nv, vote] = broadcasts(prop) as [NewView, unknown];
    expect(nv).toMatchObject({ type: MsgType.NewView, view: 1, prePrepare: { view: 1, blockHash: hashOf('b') } });
    expect(nv.viewChanges).toHaveLength(3);
    expect(vote).toMatchObject({ type: MsgType.Prepare, view: 1, blockHash: hashOf('b') });
  });

  it('the new leader re-proposes the carried prepared block without asking the driver', () => {
    const h = new Harness(V[2]!, V);
    h.start(H);
    h.timeout(H, 0);
    h.deliver(viewChange(V[0]!, H, 1, preparedCert([V[0]!, V[1]!, V[3]!], H, 0, 'a')));
    const eff = h.deliver(viewChange(V[3]!, H, 1));
    expect(eff.some((e) => e.kind === 'request-proposal')).toBe(false);
    const nv = broadcasts(eff)[0] as NewView;
    expect(nv.type).toBe(MsgType.NewView);
    expect(toHex(nv.prePrepare.blockHash)).toBe(toHex(hashOf('a')));
    expect(ofKind(eff, 'validate-block')).toHaveLength(1);
  });

  it('a commit quorum from a view the replica already left still finalizes', () => {
    const h = new Harness(V[0]!, V);
    h.start(H);
    h.deliver(prePrepare(V[1]!, H, 0, 'a'));
    h.timeout(H, 0);
    for (const i of [1, 2]) h.deliver(commit(V[i]!, H, 0, 'a'));
    expect(kinds(h.deliver(commit(V[3]!, H, 0, 'a')))).toEqual(['commit']);
  });
});

describe('NEW-VIEW validation (replica V0, view 1 led by V2)', () => {
  const vcs = (view = 1, ...who: number[]): ViewChange[] => (who.length ? who : [1, 2, 3]).map((i) => viewChange(V[i]!, H, view));
  const fresh = (): Harness => {
    const h = new Harness(V[0]!, V);
    h.start(H);
    return h;
  };

  it('accepts a valid NEW-VIEW: enters the view, validates the proposal, then prepares', () => {
    const h = fresh();
    const eff = h.deliver(newView(V[2]!, H, 1, vcs(), 'b'));
    expect(kinds(eff)).toEqual(['schedule-timeout', 'validate-block']);
    expect(broadcasts(h.validated(H, 1, 'b'))).toMatchObject([{ type: MsgType.Prepare, view: 1, blockHash: hashOf('b') }]);
  });

  it.each([
    ['too few view changes', () => newView(V[2]!, H, 1, vcs(1, 1, 2), 'b')],
    ['duplicate signers', () => newView(V[2]!, H, 1, [...vcs(1, 1, 2), viewChange(V[1]!, H, 1)], 'b')],
    ['view changes for another view', () => newView(V[2]!, H, 1, vcs(2), 'b')],
    ['view changes for another height', () => newView(V[2]!, H, 1, [viewChange(V[1]!, H + 1, 1), ...vcs(1, 2, 3)], 'b')],
    ['a forged view change', () => {
      const [a, b, c] = vcs();
      return newView(V[2]!, H, 1, [a!, b!, { ...c!, signature: a!.signature }], 'b');
    }],
    ['a re-proposal that ignores the highest prepared certificate', () =>
      newView(V[2]!, H, 1, [viewChange(V[1]!, H, 1, preparedCert([V[0]!, V[1]!, V[3]!], H, 0, 'a')), ...vcs(1, 2, 3)], 'b')],
    ['a prepared certificate short of quorum', () =>
      newView(V[2]!, H, 1, [viewChange(V[1]!, H, 1, preparedCert([V[0]!, V[1]!], H, 0, 'a')), ...vcs(1, 2, 3)], 'a')],
    ['a re-proposal with swapped block bytes', () => {
      const nv = newView(V[2]!, H, 1, vcs(), 'b');
      return { ...nv, prePrepare: { ...nv.prePrepare, block: prePrepare(V[2]!, H, 1, 'c').block } };
    }],
  ])('rejects %s with bad-new-view and stays put', (_name, make) => {
    const h = fresh();
    expect(codes(h.deliver(make()))).toEqual([ConsensusCode.BadNewView]);
    // still in view 0: its proposal is accepted normally
    expect(kinds(h.deliver(prePrepare(V[1]!, H, 0, 'z')))).toEqual(['validate-block']);
  });

  it('rejects a NEW-VIEW not signed by the view\'s leader, and one whose outer signature is forged', () => {
    const h = fresh();
    expect(codes(h.deliver(newView(V[3]!, H, 1, vcs(), 'b')))).toEqual([ConsensusCode.NotLeader]);
    const nv = newView(V[2]!, H, 1, vcs(), 'b');
    // swapping the view-change set breaks the leader's signature (it binds their digest)
    const swapped: NewView = { ...nv, viewChanges: [viewChange(V[0]!, H, 1), ...nv.viewChanges.slice(1)] };
    expect(codes(h.deliver(swapped))).toEqual([ConsensusCode.BadSignature]);
  });

  it('the highest-view certificate wins: re-proposing the older one is refused, the newer accepted', () => {
    const older = preparedCert([V[0]!, V[1]!, V[3]!], H, 0, 'a');
    const newer = preparedCert([V[0]!, V[1]!, V[2]!], H, 1, 'c');
    const proof = [viewChange(V[1]!, H, 2, older), viewChange(V[2]!, H, 2, newer), viewChange(V[0]!, H, 2)];
    const h = fresh();
    expect(codes(h.deliver(newView(V[3]!, H, 2, proof, 'a')))).toEqual([ConsensusCode.BadNewView]);
    expect(kinds(h.deliver(newView(V[3]!, H, 2, proof, 'c')))).toEqual(['schedule-timeout', 'validate-block']);
  });

  it('a valid NEW-VIEW for a later view is followed directly, and lower views become stale', () => {
    const h = new Harness(V[1]!, V);
    h.start(H);
    expect(kinds(h.deliver(newView(V[0]!, H, 3, vcs(3), 'd')))).toEqual(['schedule-timeout', 'validate-block']);
    expect(codes(h.deliver(newView(V[2]!, H, 1, vcs(), 'b')))).toEqual([ConsensusCode.StaleView]);
    expect(codes(h.deliver(prepare(V[2]!, H, 2, 'x')))).toEqual([ConsensusCode.StaleView]);
  });

  it('two NEW-VIEWs for one view with different proposals are double PRE-PREPARE evidence', () => {
    const h = fresh();
    h.deliver(newView(V[2]!, H, 1, vcs(), 'b'));
    expect(codes(h.deliver(newView(V[2]!, H, 1, vcs(), 'b')))).toEqual([ConsensusCode.Duplicate]);
    const eff = h.deliver(newView(V[2]!, H, 1, vcs(), 'c'));
    expect(ofKind(eff, 'evidence')[0]!.evidence).toMatchObject({ offender: V[2]!.publicKey, msgType: MsgType.PrePrepare, view: 1 });
  });

  it('NEW-VIEW signatures are bound to chainId', () => {
    const h = fresh();
    const nv = newView(V[2]!, H, 1, vcs(), 'b');
    const other = signNewView(V[2]!, new Uint8Array(32).fill(7), H, 1, nv.viewChanges, nv.prePrepare);
    expect(codes(h.deliver(other))).toEqual([ConsensusCode.BadSignature]);
    expect(CHAIN_ID).not.toEqual(new Uint8Array(32).fill(7));
  });
});

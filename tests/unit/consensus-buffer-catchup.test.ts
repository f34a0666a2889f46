import { describe, expect, it } from 'vitest';
import { toHex } from '../../chain/hash.js';
import { ConsensusCode } from '../../consensus/errors.js';
import { FutureBuffer } from '../../consensus/buffer.js';
import { MsgType, type Decision } from '../../consensus/types.js';
import {
  block,
  broadcasts,
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
  signerAt,
  signers,
  viewChange,
} from './consensus-fixtures.js';

const H = 1;
const V = signers(4); // height 1: view 0 → V1, view 1 → V2; height 2: view 0 → V2

/** V0 finalizes 'a' at height 1 in view 0. */
function decided(over = {}): Harness {
  const h = new Harness(V[0]!, V, over);
  h.start(H);
  h.deliver(prePrepare(V[1]!, H, 0, 'a'));
  h.validated(H, 0, 'a');
  for (const i of [1, 2]) h.deliver(prepare(V[i]!, H, 0, 'a'));
  for (const i of [1, 2]) h.deliver(commit(V[i]!, H, 0, 'a'));
  expect(ofKind(h.log, 'commit')).toHaveLength(1);
  return h;
}

function decision(h: Harness): Decision {
  const c = ofKind(h.log, 'commit')[0]!;
  return { type: MsgType.Decision, height: c.height, block: c.block, certificate: c.certificate };
}

describe('future messages are buffered and replayed', () => {
  it('votes for a future view wait for its NEW-VIEW and then count', () => {
    const h = new Harness(V[0]!, V);
    h.start(H);
    expect(h.deliver(prepare(V[1]!, H, 1, 'b'))).toEqual([]);
    expect(h.deliver(prepare(V[3]!, H, 1, 'b'))).toEqual([]);
    h.deliver(newView(V[2]!, H, 1, [1, 2, 3].map((i) => viewChange(V[i]!, H, 1)), 'b'));
    // own PREPARE + the two replayed ones = quorum: COMMIT follows at once
    expect(broadcasts(h.validated(H, 1, 'b')).map((m) => m.type)).toEqual([MsgType.Prepare, MsgType.Commit]);
  });

  it('next-height messages wait for start(h + 1)', () => {
    const h = new Harness(V[0]!, V);
    h.start(H);
    expect(h.deliver(prePrepare(V[2]!, H + 1, 0, 'n'))).toEqual([]);
    expect(codes(h.deliver(prePrepare(V[3]!, H + 2, 0, 'm')))).toEqual([ConsensusCode.FutureHeight]);
    h.deliver(prePrepare(V[1]!, H, 0, 'a'));
    for (const i of [1, 2, 3]) h.deliver(commit(V[i]!, H, 0, 'a'));
    const eff = h.start(H + 1);
    expect(ofKind(eff, 'validate-block')).toEqual([{ kind: 'validate-block', height: H + 1, view: 0, blockHash: hashOf('n'), block: block('n') }]);
  });

  it('a forged next-height message is not buffered', () => {
    const h = new Harness(V[0]!, V);
    h.start(H);
    const pp = prePrepare(V[2]!, H + 1, 0, 'n');
    expect(codes(h.deliver({ ...pp, signature: prePrepare(V[3]!, H + 1, 0, 'n').signature }))).toEqual([ConsensusCode.BadSignature]);
    expect(h.state.buffer.size).toBe(0);
  });

  it('the buffer is bounded, and one flooding validator only evicts its own messages', () => {
    // 12 slots, n = 4 → each bucket (4 validators + unknown + decision) holds at most 2
    const h = new Harness(V[0]!, V, { maxBufferedMessages: 12 });
    h.start(H);
    const honest = prepare(V[1]!, H, 1, 'b');
    h.deliver(honest);
    const rejectedCodes: string[] = [];
    for (let view = 1; view <= 20; view++) rejectedCodes.push(...codes(h.deliver(prepare(V[3]!, H, view, 'x'))));
    expect(rejectedCodes).toEqual(Array(18).fill(ConsensusCode.FutureBufferFull));
    // strangers flooding the next height share one bucket
    for (let i = 0; i < 30; i++) h.deliver(prePrepare(signerAt(i, 'stranger'), H + 1, 0, `s${i}`));
    expect(h.state.buffer.size).toBeLessThanOrEqual(12);
    // the honest vote survived and is counted once view 1 is entered
    h.deliver(newView(V[2]!, H, 1, [1, 2, 3].map((i) => viewChange(V[i]!, H, 1)), 'b'));
    h.validated(H, 1, 'b');
    expect(broadcasts(h.deliver(prepare(V[2]!, H, 1, 'b'))).map((m) => m.type)).toEqual([MsgType.Commit]);
  });

  it('FutureBuffer: total bound evicts from the fullest bucket, oldest first', () => {
    const b = new FutureBuffer(4);
    const m = (i: number) => prepare(V[0]!, H, i, 'x');
    expect(b.add(m(1), 1, undefined, 'a', 4)).toEqual([]);
    b.add(m(2), 2, undefined, 'a', 4);
    b.add(m(3), 3, undefined, 'a', 4);
    b.add(m(4), 4, undefined, 'b', 4);
    const dropped = b.add(m(5), 5, undefined, 'c', 4);
    expect(dropped.map((d) => [d.bucket, d.view])).toEqual([['a', 1]]);
    expect(b.size).toBe(4);
    expect(b.take((e) => e.bucket !== 'a').map((e) => e.view)).toEqual([4, 5]);
    expect(b.size).toBe(2);
  });
});

describe('catch-up with decisions', () => {
  it('answers a stuck validator with the decision, once per (signer, height, view)', () => {
    const h = decided();
    const vc = viewChange(V[3]!, H, 1);
    const eff = h.deliver(vc);
    expect(kinds(eff)).toEqual(['send', 'rejected']);
    expect(eff[0]).toEqual({ kind: 'send', to: V[3]!.publicKey, msg: decision(h) });
    expect(codes(eff)).toEqual([ConsensusCode.StaleHeight]);
    expect(kinds(h.deliver(vc))).toEqual(['rejected']);
    expect(kinds(h.deliver(viewChange(V[3]!, H, 2)))).toEqual(['send', 'rejected']);
    // in-flight traffic of the deciding view is not answered
    expect(kinds(h.deliver(commit(V[3]!, H, 0, 'a')))).toEqual(['rejected']);
    // forged messages never trigger a send
    const forged = { ...viewChange(V[1]!, H, 5), signature: vc.signature };
    expect(codes(h.deliver(forged))).toEqual([ConsensusCode.BadSignature]);
    expect(ofKind(h.log, 'send')).toHaveLength(2);
  });

  it('keeps only keepDecisions decisions', () => {
    const h = new Harness(V[0]!, V, { keepDecisions: 1 });
    for (const height of [1, 2]) {
      h.start(height);
      const leader = V[(height) % 4]!;
      h.deliver(prePrepare(leader, height, 0, `b${height}`));
      for (const i of [1, 2, 3]) h.deliver(commit(V[i]!, height, 0, `b${height}`));
    }
    expect(ofKind(h.log, 'commit')).toHaveLength(2);
    expect(kinds(h.deliver(viewChange(V[3]!, 1, 1)))).toEqual(['rejected']);
    expect(kinds(h.deliver(viewChange(V[3]!, 2, 1)))).toEqual(['send', 'rejected']);
  });

  it('a valid Decision finalizes a lagging node; a bad one is refused with its code', () => {
    const d = decision(decided());
    const lag = new Harness(V[3]!, V);
    lag.start(H);
    expect(codes(lag.deliver({ ...d, block: block('other') }))).toEqual([ConsensusCode.HashMismatch]);
    const short = { ...d, certificate: { ...d.certificate, commits: d.certificate.commits.slice(0, 2) } };
    expect(codes(lag.deliver(short))).toEqual([ConsensusCode.BadCertificate]);
    const wrongSet = new Harness(V[3]!, signers(7));
    wrongSet.start(H);
    expect(codes(wrongSet.deliver(d))).toEqual([ConsensusCode.BadCertificate]);
    const eff = lag.deliver(d);
    expect(ofKind(eff, 'commit')).toEqual([{ kind: 'commit', height: H, blockHash: hashOf('a'), block: block('a'), certificate: d.certificate }]);
    expect(codes(lag.deliver(d))).toEqual([ConsensusCode.StaleHeight]);
  });

  it('a next-height Decision is buffered and applied after start', () => {
    const d = decision(decided());
    const lag = new Harness(null, V);
    lag.start(0);
    expect(lag.deliver(d)).toEqual([]);
    // a decision relabelled to the current height still carries a height-1 certificate
    expect(codes(lag.deliver({ ...d, height: 0 }))).toEqual([ConsensusCode.BadCertificate]);
    expect(ofKind(lag.start(1), 'commit')).toHaveLength(1);
  });

  it('an isolated validator catches up through decisions once it can talk again', () => {
    const c = new Cluster(V, { untilHeight: 2 });
    c.drop = (f, t) => f === 3 || t === 3;
    c.startAll(1);
    expect(c.commits[0]!.map((x) => x.height)).toEqual([1, 2]);
    expect(c.commits[3]).toEqual([]);
    c.drop = () => false;
    c.fireTimers(); // node 3's VIEW-CHANGE at height 1 is answered with decision 1
    expect(c.commits[3]!.map((x) => x.height)).toEqual([1]);
    c.fireTimers(); // and at height 2 with decision 2
    expect(c.commits[3]).toEqual(c.commits[0]);
    expect(c.commits[3]![0]!.hash).toBe(toHex(hashOf('h1v0n1')));
  });
});

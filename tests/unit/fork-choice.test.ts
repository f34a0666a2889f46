/**
 * Fork choice (src/fork-choice.ts): the SPEC rule — switch only with valid certificates, at most
 * MAX_REORG_DEPTH blocks back, never below the finalized block, and ≥ 5 of 7 distinct polled peers
 * agreeing — as a property over random forks and polls, plus a table of edge cases.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FORK_POLL_AGREE, FORK_POLL_PEERS, MAX_REORG_DEPTH } from '../../chain/constants.js';
import { checkForkShape, decideFork, ForkRefusal, type PollAnswer } from '../../src/fork-choice.js';

const CAND = new Uint8Array(32).fill(0xcc);
const OTHER = new Uint8Array(32).fill(0x0a);

/** `agree` answers with the candidate, the rest with another hash or nothing. */
function poll(agree: number, total = FORK_POLL_PEERS, others: (Uint8Array | null)[] = [OTHER]): PollAnswer[] {
  return Array.from({ length: total }, (_, i) => ({ peer: `p${i}`, hash: i < agree ? CAND : others[i % others.length]! }));
}

const forkArb = fc
  .record({
    ourTip: fc.integer({ min: 0, max: 5_000 }),
    finalFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    forkFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    agree: fc.integer({ min: 0, max: FORK_POLL_PEERS }),
    total: fc.integer({ min: 0, max: 9 }),
    certificatesValid: fc.boolean(),
    nulls: fc.boolean(),
  })
  .map((r) => ({
    ...r,
    finalizedHeight: Math.floor(r.finalFrac * r.ourTip),
    forkHeight: Math.floor(r.forkFrac * r.ourTip),
    agree: Math.min(r.agree, r.total),
  }));

describe('decideFork (property)', () => {
  it('switches exactly when certificates hold, depth ≤ 1,000, the fork is at or above the finalized block and ≥ 5 of ≥ 7 distinct peers agree', () => {
    fc.assert(
      fc.property(forkArb, (r) => {
        const answers = poll(r.agree, r.total, r.nulls ? [null, OTHER] : [OTHER]);
        const d = decideFork({ ...r, candidateHash: CAND, answers });
        const depth = r.ourTip - r.forkHeight;
        const should = r.certificatesValid && r.forkHeight >= r.finalizedHeight && depth <= MAX_REORG_DEPTH && r.total >= FORK_POLL_PEERS && r.agree >= FORK_POLL_AGREE;
        expect(d.switch).toBe(should);
        if (r.agree < FORK_POLL_AGREE) expect(d.switch).toBe(false);
        if (depth > MAX_REORG_DEPTH) expect(d.switch).toBe(false);
        if (r.forkHeight < r.finalizedHeight) expect(d.switch).toBe(false);
        if (!d.switch) expect(Object.values(ForkRefusal)).toContain(d.reason);
      }),
      { numRuns: 2_000 },
    );
  });

  it('a peer that answers twice counts once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), (copies) => {
        // 4 distinct agreeing peers, one of them repeated: still 4 of 7 (plus its copies).
        const answers = [...poll(4), ...Array.from({ length: copies }, () => ({ peer: 'p0', hash: CAND }))];
        const d = decideFork({ ourTip: 10, finalizedHeight: 0, forkHeight: 5, candidateHash: CAND, answers });
        expect(d).toEqual({ switch: false, reason: ForkRefusal.NoMajority });
      }),
    );
  });
});

describe('decideFork (table)', () => {
  const base = { ourTip: 1_500, finalizedHeight: 100, forkHeight: 1_000, candidateHash: CAND };
  const cases: [string, Parameters<typeof decideFork>[0], ReturnType<typeof decideFork>][] = [
    ['5 of 7 agree', { ...base, answers: poll(5) }, { switch: true }],
    ['7 of 7 agree', { ...base, answers: poll(7) }, { switch: true }],
    ['4 of 7 agree', { ...base, answers: poll(4) }, { switch: false, reason: ForkRefusal.NoMajority }],
    ['4 agree, 3 silent', { ...base, answers: poll(4, 7, [null]) }, { switch: false, reason: ForkRefusal.NoMajority }],
    ['only 6 peers polled, all agree', { ...base, answers: poll(6, 6) }, { switch: false, reason: ForkRefusal.NotEnoughPeers }],
    ['no poll', { ...base, answers: [] }, { switch: false, reason: ForkRefusal.NotEnoughPeers }],
    ['depth exactly 1,000', { ...base, ourTip: 2_000, answers: poll(7) }, { switch: true }],
    ['depth 1,001', { ...base, ourTip: 2_001, answers: poll(7) }, { switch: false, reason: ForkRefusal.TooDeep }],
    ['fork at the finalized block (it stays)', { ...base, finalizedHeight: 1_000, answers: poll(7) }, { switch: true }],
    ['fork one below the finalized block', { ...base, finalizedHeight: 1_001, answers: poll(7) }, { switch: false, reason: ForkRefusal.CrossesFinalized }],
    ['bad certificates, everyone agrees', { ...base, certificatesValid: false, answers: poll(7) }, { switch: false, reason: ForkRefusal.BadCertificates }],
    ['custom need 3 of 4', { ...base, need: 3, pollSize: 4, answers: poll(3, 4) }, { switch: true }],
  ];
  it.each(cases)('%s', (_name, input, want) => {
    expect(decideFork(input)).toEqual(want);
  });

  it('refuses heights that are not a fork with a RangeError', () => {
    expect(() => checkForkShape({ ourTip: 5, finalizedHeight: 0, forkHeight: 6 })).toThrow(RangeError);
    expect(() => checkForkShape({ ourTip: 5, finalizedHeight: 6, forkHeight: 5 })).toThrow(RangeError);
    expect(() => checkForkShape({ ourTip: -1, finalizedHeight: 0, forkHeight: 0 })).toThrow(RangeError);
    expect(() => checkForkShape({ ourTip: 5, finalizedHeight: 0, forkHeight: 1.5 })).toThrow(RangeError);
  });
});

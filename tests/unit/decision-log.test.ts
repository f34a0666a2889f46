/**
 * DecisionLog (consensus/decisions.ts): the newest decisions, at most `keep` of them and at most
 * `maxBytes` of blocks together — but never fewer than the newest one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecisionLog } from '../../consensus/decisions.js';
import { makeValidatorSet } from '../../consensus/leader.js';
import { MsgType, type Decision } from '../../consensus/types.js';

const set = makeValidatorSet([new Uint8Array(32).fill(1)]);
const decision = (height: number, bytes: number): Decision => ({
  type: MsgType.Decision,
  height,
  block: new Uint8Array(bytes),
  certificate: { height, view: 0, blockHash: new Uint8Array(32), commits: [] },
});
const held = (log: DecisionLog, upTo: number): number[] => {
  const out: number[] = [];
  for (let h = 1; h <= upTo; h++) if (log.get(h) !== undefined) out.push(h);
  return out;
};

describe('DecisionLog', () => {
  it('forgets the oldest decisions past the byte bound, keeping the newest even when it alone is larger', () => {
    const log = new DecisionLog(64, 1000);
    for (let h = 1; h <= 4; h++) log.add(decision(h, 300), set);
    expect(held(log, 4)).toEqual([2, 3, 4]); // 900 bytes
    log.add(decision(5, 2000), set);
    expect(held(log, 5)).toEqual([5]);
    log.add(decision(6, 10), set);
    expect(held(log, 6)).toEqual([6]); // the 2,000-byte one goes as soon as a newer one comes
    log.add(decision(7, 10), set);
    expect(held(log, 7)).toEqual([6, 7]);
  });

  it('counts a decision stored again for its height once', () => {
    const log = new DecisionLog(64, 1000);
    log.add(decision(1, 400), set);
    log.add(decision(1, 400), set);
    log.add(decision(2, 500), set);
    expect(held(log, 2)).toEqual([1, 2]);
  });

  it('holds exactly the longest run of newest decisions within both bounds (any sizes)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3000 }), fc.array(fc.integer({ min: 0, max: 2500 }), { minLength: 1, maxLength: 40 }), (keep, maxBytes, sizes) => {
        const log = new DecisionLog(keep, maxBytes);
        sizes.forEach((bytes, i) => log.add(decision(i + 1, bytes), set));
        // Model: walk back from the newest while both bounds hold; the newest always stays.
        const expected: number[] = [];
        let total = 0;
        for (let i = sizes.length - 1; i >= 0; i--) {
          if (expected.length > 0 && (expected.length + 1 > keep || total + sizes[i]! > maxBytes)) break;
          expected.unshift(i + 1);
          total += sizes[i]!;
        }
        expect(held(log, sizes.length)).toEqual(expected);
        expect(log.size).toBe(expected.length);
      }),
    );
  });
});

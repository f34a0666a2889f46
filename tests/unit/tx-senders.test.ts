/**
 * TxSenders (src/node-p2p.ts): which peers a txid came from, so relays skip them — one peer held
 * alone, several in a Set, bounded with the oldest txids forgotten first.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TxSenders } from '../../src/node-p2p.js';

describe('TxSenders', () => {
  it('answers for one sender, several, and a sender noted twice', () => {
    const s = new TxSenders(10);
    expect(s.has('a', 'p1')).toBe(false);
    s.note('a', 'p1');
    expect([s.has('a', 'p1'), s.has('a', 'p2'), s.has('b', 'p1')]).toEqual([true, false, false]);
    s.note('a', 'p1');
    expect(s.has('a', 'p2')).toBe(false);
    s.note('a', 'p2');
    s.note('a', 'p3');
    expect([s.has('a', 'p1'), s.has('a', 'p2'), s.has('a', 'p3'), s.has('a', 'p4')]).toEqual([true, true, true, false]);
    expect(s.size).toBe(1);
  });

  it('forgets a txid on request, whatever its senders', () => {
    const s = new TxSenders(10);
    s.note('a', 'p1');
    s.note('b', 'p1');
    s.note('b', 'p2');
    s.forget('b');
    s.forget('c'); // never noted: nothing happens
    expect([s.has('a', 'p1'), s.has('b', 'p1'), s.has('b', 'p2'), s.size]).toEqual([true, false, false, 1]);
    s.note('b', 'p3');
    expect([s.has('b', 'p3'), s.has('b', 'p1')]).toEqual([true, false]);
  });

  it('forgets the oldest txids beyond its bound', () => {
    const s = new TxSenders(2);
    s.note('a', 'p1');
    s.note('b', 'p1');
    s.note('b', 'p2');
    s.note('c', 'p1');
    expect(s.size).toBe(2);
    expect([s.has('a', 'p1'), s.has('b', 'p2'), s.has('c', 'p1')]).toEqual([false, true, true]);
  });

  it('agrees with a plain map of sets for any sequence of notes (within the bound)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('t1', 't2', 't3'), fc.constantFrom('p1', 'p2', 'p3', 'p4')), { maxLength: 40 }), (notes) => {
        const s = new TxSenders(100);
        const model = new Map<string, Set<string>>();
        for (const [id, peer] of notes) {
          s.note(id, peer);
          if (!model.has(id)) model.set(id, new Set());
          model.get(id)!.add(peer);
        }
        for (const id of ['t1', 't2', 't3']) for (const peer of ['p1', 'p2', 'p3', 'p4']) expect(s.has(id, peer)).toBe(model.get(id)?.has(peer) === true);
      }),
    );
  });
});

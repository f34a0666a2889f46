/**
 * The simulator's own parts: PRNG, event queue, network model, sim blocks. They decide what a
 * seed means, so they must be deterministic and do what they claim (drop, dup, partition …).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeBlock, encodeBlock, FLAG_INVALID, hashBlock, isValidBlock } from './blocks.js';
import { Network, type Delivery } from './network.js';
import { Rng } from './prng.js';
import { EventQueue } from './queue.js';

describe('Rng', () => {
  it('is a pure function of its seed, and different seeds differ', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.u32())).not.toEqual(xs);
  });

  it('int(n) stays in range and hits every value', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 50 }), (seed, n) => {
        const r = new Rng(seed);
        const seen = new Set<number>();
        for (let i = 0; i < 40 * n; i++) {
          const x = r.int(n);
          if (!Number.isInteger(x) || x < 0 || x >= n) return false;
          seen.add(x);
        }
        return seen.size === n;
      }),
    );
  });

  it('is roughly uniform (chi-square over 16 buckets)', () => {
    const r = new Rng(7);
    const counts = new Array(16).fill(0);
    const N = 160_000;
    for (let i = 0; i < N; i++) counts[r.int(16)]++;
    const exp = N / 16;
    const chi = counts.reduce((s, c) => s + (c - exp) ** 2 / exp, 0);
    expect(chi).toBeLessThan(37.7); // p = 0.001 for 15 degrees of freedom
  });

  it('shuffle is a permutation; fork gives an independent, reproducible stream', () => {
    const r = new Rng(1);
    const xs = [...Array(20).keys()];
    expect(r.shuffle(xs).sort((a, b) => a - b)).toEqual(xs);
    const f1 = new Rng(9).fork();
    const f2 = new Rng(9).fork();
    expect(f1.u32()).toBe(f2.u32());
    expect(() => new Rng(1.5)).toThrow(TypeError);
  });
});

describe('EventQueue', () => {
  it('pops by time, then by insertion order, and never goes back in time', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
        const q = new EventQueue<number>();
        times.forEach((t, i) => q.at(t, i));
        const out: { time: number; event: number }[] = [];
        for (let e = q.pop(); e; e = q.pop()) out.push(e);
        const want = times.map((t, i) => ({ time: t, event: i })).sort((a, b) => a.time - b.time || a.event - b.event);
        return JSON.stringify(out) === JSON.stringify(want);
      }),
    );
  });

  it('clamps past times to now and rejects non-finite times', () => {
    const q = new EventQueue<string>();
    q.at(10, 'a');
    q.pop();
    q.at(3, 'late');
    expect(q.pop()).toEqual({ time: 10, event: 'late' });
    expect(() => q.at(Number.NaN, 'x')).toThrow(RangeError);
  });
});

describe('Network', () => {
  const make = (params: Partial<ConstructorParameters<typeof Network>[2]>, size = 4, seed = 1) => {
    const q = new EventQueue<Delivery<number>>();
    const net = new Network<number>((d, e) => q.after(d, e), new Rng(seed), { minDelayMs: 5, maxDelayMs: 50, dropRate: 0, dupRate: 0, spikeRate: 0, ...params }, size);
    const drain = (): Delivery<number>[] => {
      const got: Delivery<number>[] = [];
      for (let e = q.pop(); e; e = q.pop()) if (net.admit(e.event)) got.push(e.event);
      return got;
    };
    return { q, net, drain };
  };

  it('delivers every copy within the delay range, reordered, when fault-free', () => {
    const { q, net } = make({});
    for (let i = 0; i < 500; i++) net.send(0, 1, i);
    const order: number[] = [];
    for (let e = q.pop(); e; e = q.pop()) {
      expect(e.time).toBeGreaterThanOrEqual(5);
      expect(e.time).toBeLessThanOrEqual(50);
      order.push(e.event.payload);
    }
    expect(order.length).toBe(500);
    expect(order).not.toEqual([...order].sort((a, b) => a - b)); // some reordering happened
  });

  it('drops and duplicates at about the configured rates, and not after heal', () => {
    const { net, drain } = make({ dropRate: 0.2, dupRate: 0.1 });
    for (let i = 0; i < 10_000; i++) net.send(0, 1, i);
    const got = drain();
    expect(net.stats.dropped).toBeGreaterThan(1700);
    expect(net.stats.dropped).toBeLessThan(2300);
    expect(net.stats.duplicated).toBeGreaterThan(600);
    expect(got.length).toBe(10_000 - net.stats.dropped + net.stats.duplicated);
    net.heal();
    for (let i = 0; i < 1000; i++) net.send(0, 1, i);
    expect(drain().length).toBe(1000);
  });

  it('partitions cut messages across groups (also in flight) and heal restores them', () => {
    const { net, drain, q } = make({}, 5);
    net.partition([[0, 1], [2, 3]]); // 4 is in an implicit group of its own
    net.send(0, 1, 1);
    net.send(0, 2, 2);
    net.send(4, 3, 3);
    expect(drain().map((d) => d.payload)).toEqual([1]);
    net.reconnect();
    net.send(0, 2, 4);
    net.partition([[0], [2]]);
    expect(drain()).toEqual([]); // cut while in flight
    net.heal();
    net.send(0, 2, 5);
    expect(drain().map((d) => d.payload)).toEqual([5]);
    expect(q.size).toBe(0);
    expect(() => net.partition([[0], [0]])).toThrow(RangeError);
    expect(() => net.send(1, 1, 0)).toThrow(/itself/);
  });
});

describe('sim blocks', () => {
  const parent = new Uint8Array(32).fill(7);
  const base = { flags: 0, height: 5, view: 2, proposer: new Uint8Array(32).fill(1), parent, builder: 3, nonce: new Uint8Array(8).fill(9) };

  it('round-trip and validate only the honest case', () => {
    const bytes = encodeBlock(base);
    expect(decodeBlock(bytes)).toEqual(base);
    const h = hashBlock(bytes);
    expect(isValidBlock(bytes, h, 5, parent)).toBe(true);
    expect(isValidBlock(bytes, h, 6, parent)).toBe(false);
    expect(isValidBlock(bytes, h, 5, new Uint8Array(32))).toBe(false);
    expect(isValidBlock(bytes, new Uint8Array(32), 5, parent)).toBe(false);
    const bad = encodeBlock({ ...base, flags: FLAG_INVALID });
    expect(isValidBlock(bad, hashBlock(bad), 5, parent)).toBe(false);
    expect(isValidBlock(bytes.slice(1), hashBlock(bytes.slice(1)), 5, parent)).toBe(false);
    expect(decodeBlock(new Uint8Array(89))).toBeNull();
  });
});

/**
 * bench/cluster.ts's command line (bench/cluster-args.ts): defaults, every option read, and every
 * bad value refused with a ClusterArgsError naming the option, before the benchmark starts anything.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLUSTER_USAGE, ClusterArgsError, parseClusterArgs, type ClusterArgs } from '../../bench/cluster-args.js';

const parse = (...argv: string[]): ClusterArgs => {
  const r = parseClusterArgs(argv);
  if (r === 'help') throw new Error('unexpected help');
  return r;
};

describe('bench/cluster command line', () => {
  it('defaults: all four phases, 20 s, 1,000 tx/s, the compiled node with the operators\' memory settings', () => {
    const a = parse();
    expect([...a.phases]).toEqual(['a', 'b', 'c', 'd']);
    expect(a).toMatchObject({ durationMs: 20_000, rate: 1000, conns: 8, batch: 100, keys: 10_000, maxBudget: 60_000, observer: 0, entry: 'dist', memoryEnv: true, profileNode: undefined, heapSnapshot: undefined });
  });

  it('reads every option', () => {
    const a = parse('--phases', 'b,c', '--duration', '2.5', '--rate', '600', '--conns', '4', '--batch', '20', '--keys', '500', '--max-budget', '900', '--observer', '2', '--entry', 'tsx', '--memory-env', 'off', '--profile-node', '3', '--heap-snapshot', '/tmp/snaps');
    expect([...a.phases]).toEqual(['b', 'c']);
    expect(a).toMatchObject({ durationMs: 2500, rate: 600, conns: 4, batch: 20, keys: 500, maxBudget: 900, observer: 2, entry: 'tsx', memoryEnv: false, profileNode: 3, heapSnapshot: '/tmp/snaps' });
  });

  it('--help and -h ask for the usage, which names every option', () => {
    expect(parseClusterArgs(['--help'])).toBe('help');
    expect(parseClusterArgs(['-h', '--rate', 'nonsense'])).toBe('help');
    for (const o of ['--phases', '--duration', '--rate', '--conns', '--batch', '--keys', '--max-budget', '--observer', '--entry', '--memory-env', '--profile-node', '--heap-snapshot']) {
      expect(CLUSTER_USAGE).toContain(o);
    }
  });

  it.each([
    [['--bogus'], /bogus/],
    [['--rate'], /rate/],
    [['--phases', 'a,x'], /--phases/],
    [['--phases', ''], /--phases/],
    [['--duration', '0'], /--duration/],
    [['--duration', '-5'], /--duration/],
    [['--duration', '1e3'], /--duration/],
    [['--rate', 'NaN'], /--rate/],
    [['--rate', '0'], /--rate/],
    [['--conns', '1.5'], /--conns/],
    [['--batch', '10001'], /--batch/],
    [['--observer', '4'], /--observer/],
    [['--profile-node', '-1'], /profile-node/],
    [['--entry', 'docker'], /--entry/],
    [['--memory-env', 'yes'], /--memory-env/],
    [['--heap-snapshot', ''], /--heap-snapshot/],
    [['extra'], /extra/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseClusterArgs(argv)).toThrow(ClusterArgsError);
    expect(() => parseClusterArgs(argv)).toThrow(message);
  });

  it('any command line either parses to checked values or is a ClusterArgsError', () => {
    const token = fc.oneof(fc.constantFrom('--phases', '--duration', '--rate', '--observer', '--entry', '--batch', 'a,b', '0', '3', '20', '-1', 'tsx', 'on'), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(token, { maxLength: 8 }), (argv) => {
        let r: ReturnType<typeof parseClusterArgs>;
        try {
          r = parseClusterArgs(argv);
        } catch (err) {
          expect(err).toBeInstanceOf(ClusterArgsError);
          return;
        }
        if (r === 'help') return;
        expect(r.durationMs).toBeGreaterThan(0);
        expect(Number.isInteger(r.rate) && r.rate >= 1).toBe(true);
        expect(r.observer >= 0 && r.observer <= 3).toBe(true);
        expect(r.phases.size).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});

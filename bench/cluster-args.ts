/**
 * Command line of bench/cluster.ts: every option checked before anything starts (a typo used to
 * end in a stack trace, a bad number in NaN figures after minutes of set-up), and `--help`.
 */
import { parseArgs } from 'node:util';

export const CLUSTER_USAGE = `Usage: npx tsx bench/cluster.ts [options]   (npm run bench:cluster)

The 4-validator testnet as processes on loopback, under load; prints JSON lines {"name","value","unit"}
(docs/performance.md "Cluster"). Phases: a = max throughput, b = finality latency at --rate,
c = SIGKILL of the leader under load, d = RSS with a full 10,000-transaction mempool.

Options:
  --phases LIST        phases to run, comma-separated from a,b,c,d (default a,b,c,d)
  --duration S         seconds of load in phases a and b (default 20)
  --rate N             transactions/s offered in phases b and c (default 1000)
  --conns N            RPC connections of the load generator (default 8)
  --batch N            transactions per JSON-RPC batch, 1–10000 (default 100)
  --keys N             distinct keys the faucet is pre-split over (default 10000)
  --max-budget N       pre-signed transactions for phase a (default 60000)
  --observer I         node 0–3 whose finality the watcher polls (default 0)
  --entry dist|tsx     run the compiled node (default; what operators run) or the sources
  --memory-env on|off  the memory settings operators get (default on) or Node's defaults
  --profile-node I     write a V8 CPU profile of node 0–3 into the working directory
  --heap-snapshot DIR  write a heap snapshot of each node left in phase d into DIR
  -h, --help           this text

Environment: TESTNET_LOG_DIR=DIR keeps every node's whole log; TESTNET_KEEP=1 keeps the testnet.`;

export type Phase = 'a' | 'b' | 'c' | 'd';

export interface ClusterArgs {
  readonly phases: ReadonlySet<Phase>;
  readonly durationMs: number;
  readonly rate: number;
  readonly conns: number;
  readonly batch: number;
  readonly keys: number;
  readonly maxBudget: number;
  readonly observer: number;
  readonly entry: 'dist' | 'tsx';
  readonly memoryEnv: boolean;
  readonly profileNode: number | undefined;
  readonly heapSnapshot: string | undefined;
}

/** A command line the benchmark cannot run; the message names the option. */
export class ClusterArgsError extends Error {}

const PHASES: readonly Phase[] = ['a', 'b', 'c', 'd'];

function count(name: string, text: string, min: number, max: number): number {
  const v = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(v >= min && v <= max)) throw new ClusterArgsError(`--${name} must be an integer ${min}–${max}, got ${JSON.stringify(text)}`);
  return v;
}

function seconds(name: string, text: string): number {
  const v = /^\d{1,6}(\.\d{1,3})?$/.test(text) ? Number(text) : NaN;
  if (!(v > 0)) throw new ClusterArgsError(`--${name} must be a positive number of seconds, got ${JSON.stringify(text)}`);
  return v;
}

/** Parse `argv` (without node and the script): the options, or 'help'. Throws ClusterArgsError. */
export function parseClusterArgs(argv: readonly string[]): ClusterArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        help: { type: 'boolean', short: 'h' },
        duration: { type: 'string', default: '20' },
        rate: { type: 'string', default: '1000' },
        phases: { type: 'string', default: 'a,b,c,d' },
        conns: { type: 'string', default: '8' },
        batch: { type: 'string', default: '100' },
        keys: { type: 'string', default: '10000' },
        'max-budget': { type: 'string', default: '60000' },
        'profile-node': { type: 'string' },
        observer: { type: 'string', default: '0' },
        entry: { type: 'string', default: 'dist' },
        'memory-env': { type: 'string', default: 'on' },
        'heap-snapshot': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new ClusterArgsError((err as Error).message);
  }
  if (values.help === true) return 'help';
  const phases = values.phases.split(',').map((p) => p.trim());
  if (phases.length === 0 || !phases.every((p): p is Phase => (PHASES as readonly string[]).includes(p))) {
    throw new ClusterArgsError(`--phases must list phases from a,b,c,d, got ${JSON.stringify(values.phases)}`);
  }
  if (values.entry !== 'dist' && values.entry !== 'tsx') throw new ClusterArgsError(`--entry must be dist or tsx, got ${JSON.stringify(values.entry)}`);
  const memoryEnv = values['memory-env'];
  if (memoryEnv !== 'on' && memoryEnv !== 'off') throw new ClusterArgsError(`--memory-env must be on or off, got ${JSON.stringify(memoryEnv)}`);
  const heapSnapshot = values['heap-snapshot'];
  if (heapSnapshot !== undefined && heapSnapshot.length === 0) throw new ClusterArgsError('--heap-snapshot needs a directory');
  return {
    phases: new Set(phases),
    durationMs: Math.round(seconds('duration', values.duration) * 1000),
    rate: count('rate', values.rate, 1, 1_000_000),
    conns: count('conns', values.conns, 1, 1_000),
    batch: count('batch', values.batch, 1, 10_000),
    keys: count('keys', values.keys, 1, 1_000_000),
    maxBudget: count('max-budget', values['max-budget'], 1, 10_000_000),
    observer: count('observer', values.observer, 0, 3),
    entry: values.entry,
    memoryEnv: memoryEnv === 'on',
    profileNode: values['profile-node'] === undefined ? undefined : count('profile-node', values['profile-node'], 0, 3),
    heapSnapshot,
  };
}

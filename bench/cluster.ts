/**
 * The 4-validator testnet as processes on loopback, under load (performance issue). Run:
 * `npx tsx bench/cluster.ts [options]`; `--help` lists every option (bench/cluster-args.ts, which
 * checks them all before anything starts)
 * (TESTNET_LOG_DIR=DIR keeps every node's whole log in DIR/node<i>.log, e.g. to trace rounds)
 * (`--entry dist`, the default, compiles with tsc first and runs `node dist/src/cli.js`: the tsx
 * loader alone adds ~60 MB RSS per process and more per worker thread, which no operator runs)
 * (`npm run bench:cluster`). Prints JSON lines `{"name","value","unit"}`; never pass/fail.
 *
 * Before the cluster starts, V₁ (single-core verifications/s) is measured by bench/chain.ts's own
 * `benchVerifyAndAdmission` (the median of three runs); the ceiling is 2 cores × V₁ ÷ 4 nodes
 * (every node verifies every transaction once). The faucet is pre-split (bench/cluster-lib.ts) into one output per load
 * transaction over `--keys` distinct keys, and every load transaction is signed before its phase.
 *
 * (a) max: `--conns` connections send `--batch`-transaction JSON-RPC batches back to back for
 *     `--duration` s (mempool-full → back off, resend). finalized tx/s = accepted ÷ (first send →
 *     last finality); blocks/s, mean block size, CPU per node (/proc stat over the phase), RSS;
 *     `cpu_us_per_tx_by_third`: the nodes' CPU per transaction finalized in each third of the load
 *     (a rising last third is a cost that grows as a node runs, which the phase's mean hides).
 * (b) `--rate` tx/s offered for `--duration` s: finality latency p50/p95/p99 (send of the batch →
 *     the observer node answers the watcher's `waitforblockheight` long poll for the block); the p50
 *     line also carries submit_p50_ms / submit_p99_ms, send → the entry node's answer (admitted there).
 *     `finality_p50_ms_by_third`: p50 of the transactions sent in each third of the window — the
 *     step from no load to `--rate` builds a queue that the first third pays for and the last
 *     third shows drained (or not).
 * (c) under `--rate` load, SIGKILL the node getconsensusinfo names leader → ms until the watcher
 *     sees the next height final, and the largest gap between final blocks over the following
 *     N + 1 heights (it includes the view change when the dead node's turn to lead comes).
 * (d) kill nodes until 2 of 4 run (no quorum: no blocks), submit until both mempools hold
 *     10,000 transactions, read their RSS, and where it is (`rss_breakdown_mb`: V8 heap, external,
 *     malloc arenas, threads; bench/cluster-lib.ts memoryBreakdown). `--heap-snapshot DIR` then
 *     writes a heap snapshot of each (a full GC first: `rss_breakdown_after_gc_mb` shows the live heap).
 * The nodes run with the memory settings operators get (NODE_MEMORY_ENV, as the Dockerfile and
 * `npm run testnet`); `--memory-env off` runs them with Node's defaults, for comparison.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { benchVerifyAndAdmission } from './chain.js';
import { CLUSTER_USAGE, ClusterArgsError, parseClusterArgs } from './cluster-args.js';
import { threadCpuSeconds } from './proc.js';
import { Cluster, FinalityWatch, memoryBreakdown, offer, percentile, presplit, procUsage, signLoad, type LoadTx, type OfferResult, type OwnedCoin } from './cluster-lib.js';
import { leaderKillGaps, leaderKillWindowEnd } from './leader-kill.js';

let parsed: ReturnType<typeof parseClusterArgs>;
try {
  parsed = parseClusterArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof ClusterArgsError)) throw err;
  process.stderr.write(`bench/cluster: ${err.message}\n(see --help)\n`);
  process.exit(2);
}
if (parsed === 'help') {
  console.log(CLUSTER_USAGE);
  process.exit(0);
}
const args = parsed;
const DURATION_MS = args.durationMs;
const RATE = args.rate;
const PHASES: ReadonlySet<string> = args.phases;
const CONNS = args.conns;
const OBSERVER = args.observer;
const BATCH = args.batch;
const MEMPOOL_FULL = 10_000;
/** Load in phase (c): kill at 4 s, then keep offering for up to 12 s more. */
const KILL_AFTER_MS = 4_000;
const KILL_PHASE_MS = 16_000;
const FINAL_WAIT_MS = 120_000;

const emit = (name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void =>
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit, ...extra }));
const note = (t: string): void => void process.stderr.write(`bench/cluster: ${t}\n`);
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

note(`cores ${availableParallelism()}, load average ${load()}`);
benchVerifyAndAdmission(500, 100); // warm-up
// The median of three 6,000-verify runs: one run (~1.2 s) measured 4,820–5,996 verify/s on this
// shared VM, which moved the ratio by a fifth on its own.
const v1Runs = [0, 1, 2].map(() => benchVerifyAndAdmission(6_000, 200).v1).sort((a, b) => a - b);
const v1 = v1Runs[1]!;
emit('verify_per_sec_single_core', v1, 'verify/s', { runs: v1Runs.map(Math.round) });
const ceiling = (2 * v1) / 4;

const budget = {
  a: PHASES.has('a') ? args.maxBudget : 0,
  b: PHASES.has('b') ? Math.ceil((RATE * DURATION_MS) / 1000) : 0,
  c: PHASES.has('c') ? Math.ceil((RATE * KILL_PHASE_MS) / 1000) : 0,
  d: PHASES.has('d') ? MEMPOOL_FULL + 2_000 : 0,
};
const profileNode = args.profileNode;
const entry = args.entry;
if (entry === 'dist') {
  // Always rebuild: a stale dist/ would measure yesterday's code.
  note('building dist/ (tsc -p tsconfig.build.json)');
  execFileSync(process.execPath, [join(import.meta.dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: join(import.meta.dirname, '..'), stdio: 'inherit' });
}
emit('node_entry', entry === 'dist' ? 1 : 0, 'dist=1,tsx=0');
const memoryEnv = args.memoryEnv;
emit('node_memory_env', memoryEnv ? 1 : 0, 'on=1,off=0');
const snapDir = args.heapSnapshot;
// The harness passes this process's env on to the nodes; SIGUSR2 then writes a snapshot (after a full GC).
if (snapDir !== undefined) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapDir}`.trim();
const c = await Cluster.start({ conns: CONNS, entry, memoryEnv, ...(profileNode === undefined ? {} : { profileNode, profileDir: process.cwd() }) });
try {
  const t0 = Date.now();
  const coins = await presplit(c, budget.a + budget.b + budget.c + budget.d, args.keys);
  note(`pre-split ${coins.length} outputs in ${Date.now() - t0} ms; load average ${load()}`);
  let cursor = 0;
  const slice = (n: number): OwnedCoin[] => coins.slice(cursor, (cursor += n));
  const sign = (n: number): LoadTx[] => {
    const s = Date.now();
    const txs = signLoad(c, slice(n));
    note(`signed ${txs.length} transactions in ${Date.now() - s} ms`);
    return txs;
  };
  const watch = new FinalityWatch(c, OBSERVER);
  await watch.start();

  /** Wait for the accepted ones; their latencies (ms) and the time of the last finality. */
  const settle = async (r: OfferResult): Promise<{ latencies: number[]; missing: number; lastFinal: number }> => {
    const missing = await watch.waitAll(r.accepted, FINAL_WAIT_MS);
    const latencies: number[] = [];
    let lastFinal = r.startMs;
    for (const t of r.accepted) {
      const f = watch.finalAt.get(t);
      if (f === undefined) continue;
      latencies.push(f - r.sentAt.get(t)!);
      lastFinal = Math.max(lastFinal, f);
    }
    if (missing > 0) note(`${missing} accepted transactions not final after ${FINAL_WAIT_MS / 1000} s`);
    return { latencies, missing, lastFinal };
  };
  const blocksIn = (from: number, to: number) => watch.blocks.filter((b) => b.seenMs >= from && b.seenMs <= to);
  /** Blocks carrying load transactions (more than the coinbase) final in the window, and their mean size in transactions. */
  const loadBlocksIn = (from: number, to: number) => {
    const blocks = blocksIn(from, to).filter((b) => b.txs > 1);
    return { blocks, txsPerBlock: Math.round(blocks.reduce((x, b) => x + b.txs, 0) / Math.max(1, blocks.length)) };
  };
  /** Each node's CPU over `sec` seconds, in % of one core, from CPU seconds read before and after. */
  const cpuPercents = (before: readonly number[], after: readonly number[], sec: number) => after.map((u, i) => (100 * (u - before[i]!)) / sec);
  const emitCpuPerNode = (name: string, cpu: readonly number[]) =>
    emit(name, cpu.reduce((x, y) => x + y, 0) / cpu.length, '% of one core', { nodes: cpu.map((x) => Math.round(x)) });

  if (PHASES.has('a')) {
    const txs = sign(budget.a);
    const pids = c.h.all.map((i) => c.pid(i)!);
    const cpu0 = pids.map((p) => procUsage(p).cpuSec);
    const split0 = pids.map((p) => threadCpuSeconds(p));
    const self0 = process.cpuUsage();
    // CPU of the four nodes at each third of the load: a cost that grows as a node runs (a memo
    // filling up, a table growing) shows as a rising last third long before a 20 s average moves.
    const marks: { at: number; cpu: number }[] = [];
    const mark = () => marks.push({ at: Date.now(), cpu: pids.reduce((x, p) => x + procUsage(p).cpuSec, 0) });
    mark();
    const thirdTimers = [1, 2].map((k) => setTimeout(mark, (DURATION_MS * k) / 3));
    const r = await offer(c, txs, { rate: 'max', durationMs: DURATION_MS, conns: CONNS, batch: BATCH });
    thirdTimers.forEach(clearTimeout);
    mark();
    const s = await settle(r);
    const cpu1 = pids.map((p) => procUsage(p));
    const split1 = pids.map((p) => threadCpuSeconds(p));
    const self1 = process.cpuUsage(self0);
    const sec = (s.lastFinal - r.startMs) / 1000;
    const finalized = s.latencies.length;
    const tps = finalized / sec;
    emit('finalized_tx_per_sec_max', tps, 'tx/s', { accepted: r.accepted.length, finalized, missing: s.missing, unsent: r.unsent, full_retries: r.fullRetries, refused: r.refused, ms: Math.round(sec * 1000), load: load() });
    const { blocks, txsPerBlock } = loadBlocksIn(r.startMs, s.lastFinal);
    emit('blocks_per_sec', blocks.length / sec, 'blocks/s', { blocks: blocks.length, after_view_change: blocks.filter((b) => b.view > 0).length });
    emit('avg_block_size_bytes', blocks.reduce((x, b) => x + b.size, 0) / Math.max(1, blocks.length), 'bytes', { txs_per_block: txsPerBlock });
    emitCpuPerNode('cpu_per_node_percent', cpuPercents(cpu0, cpu1.map((u) => u.cpuSec), sec));
    // Where the CPU goes per finalized transaction: each node's main thread and its other threads (verify pool, LevelDB's
    // libuv pool, V8 helpers), and this load generator (RPC client, watcher).
    const usPerTx = (secs: number): number => Math.round((secs * 1e6) / Math.max(1, finalized));
    emit('cpu_us_per_tx', usPerTx(cpu1.reduce((x, u, i) => x + u.cpuSec - cpu0[i]!, 0) + (self1.user + self1.system) / 1e6), 'µs', {
      main: split1.map((u, i) => usPerTx(u.main - split0[i]!.main)),
      others: split1.map((u, i) => usPerTx(u.others - split0[i]!.others)),
      loadgen: usPerTx((self1.user + self1.system) / 1e6),
    });
    const finalIn = (from: number, to: number) => watch.blocks.filter((x) => x.seenMs > from && x.seenMs <= to).reduce((n, x) => n + x.txs, 0);
    const thirds = marks.slice(1).map((m, i) => Math.round(((m.cpu - marks[i]!.cpu) * 1e6) / Math.max(1, finalIn(marks[i]!.at, m.at))));
    emit('cpu_us_per_tx_by_third', thirds[thirds.length - 1]!, 'µs', { thirds });
    emit('rss_per_node_mb', Math.max(...cpu1.map((u) => u.rssMb)), 'MB', { nodes: cpu1.map((u) => Math.round(u.rssMb)) });
    emit('ceiling_ratio', tps / ceiling, 'ratio', { ceiling_tx_per_sec: Math.round(ceiling), v1: Math.round(v1) });
  }

  if (PHASES.has('b')) {
    const txs = sign(budget.b);
    const pids = c.h.all.map((i) => c.pid(i)!);
    const cpu0 = pids.map((p) => procUsage(p).cpuSec);
    const r = await offer(c, txs, { rate: RATE, durationMs: DURATION_MS, conns: CONNS, batch: BATCH });
    const s = await settle(r);
    const cpu1 = pids.map((p) => procUsage(p).cpuSec);
    // submit_*: send → the entry node's answer (admitted there); the rest of the latency is gossip and consensus.
    const extra = { offered_tx_per_sec: Math.round((r.accepted.length / (r.endMs - r.startMs)) * 1000), accepted: r.accepted.length, missing: s.missing, refused: r.refused, submit_p50_ms: percentile(r.answerMs, 50), submit_p99_ms: percentile(r.answerMs, 99), load: load() };
    emit(`finality_p50_ms_at_${RATE}`, percentile(s.latencies, 50), 'ms', extra);
    emit(`finality_p95_ms_at_${RATE}`, percentile(s.latencies, 95), 'ms');
    emit(`finality_p99_ms_at_${RATE}`, percentile(s.latencies, 99), 'ms');
    const third = (r.endMs - r.startMs) / 3;
    const thirds: number[][] = [[], [], []];
    for (const t of r.accepted) {
      const sent = r.sentAt.get(t)!;
      const f = watch.finalAt.get(t);
      if (f !== undefined) thirds[Math.min(2, Math.floor((sent - r.startMs) / third))]!.push(f - sent);
    }
    const byThird = thirds.map((xs) => percentile(xs, 50));
    emit(`finality_p50_ms_by_third_at_${RATE}`, byThird[2]!, 'ms', { thirds: byThird });
    const sec = (s.lastFinal - r.startMs) / 1000;
    emit(`finalized_tx_per_sec_at_${RATE}`, s.latencies.length / sec, 'tx/s');
    // Below capacity the cost of a block, not of a transaction, sets what the nodes burn: how many blocks the rate
    // made and the CPU they took (consensus.minBlockIntervalMs trades these against latency).
    const { blocks, txsPerBlock } = loadBlocksIn(r.startMs, s.lastFinal);
    emit(`blocks_per_sec_at_${RATE}`, blocks.length / sec, 'blocks/s', { txs_per_block: txsPerBlock });
    emitCpuPerNode(`cpu_per_node_percent_at_${RATE}`, cpuPercents(cpu0, cpu1, sec));
  }

  if (PHASES.has('c')) {
    const txs = sign(budget.c);
    const running = offer(c, txs, { rate: RATE, durationMs: KILL_PHASE_MS, conns: CONNS, batch: BATCH });
    await new Promise((r) => setTimeout(r, KILL_AFTER_MS)); // load generator pacing, not a test wait
    const info = await c.clients[watch.observer]!.call<{ leader: string; height: number }>('getconsensusinfo');
    const leader = c.h.indexOfOperator(info.leader);
    if (leader === watch.observer) watch.observer = c.alive().find((i) => i !== leader)!;
    const killedAt = Date.now();
    const finalAtKill = watch.lastHeight;
    await c.h.kill(leader);
    const until = leaderKillWindowEnd(finalAtKill, info.height, c.h.size);
    const deadline = killedAt + 60_000;
    while (watch.lastHeight < until && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const g = leaderKillGaps(watch.blocks.filter((b) => b.height > finalAtKill && b.height <= until), killedAt);
    if (g.first === null) note('no block final within 60 s of the leader kill');
    emit('leader_kill_next_final_ms', g.nextFinalMs, 'ms', { killed: leader, height: g.first?.height, view: g.first?.view, load: load() });
    emit('leader_kill_max_block_gap_ms', g.worst.gap, 'ms', { height: g.worst.height, view: g.worst.view, blocks: g.blocks, view_changes: g.viewChanges });
    await running;
  }

  if (PHASES.has('d')) {
    const txs = sign(budget.d);
    const keep = c.alive().slice(0, 2);
    for (const i of c.alive()) if (!keep.includes(i)) await c.h.kill(i);
    await watch.stop();
    let full = false;
    const sizes = new Map<number, number>();
    const poll = setInterval(() => {
      void Promise.all(keep.map((i) => c.clients[i]!.call<{ size: number }>('getmempoolinfo').then((m) => sizes.set(i, m.size)))).then(
        () => (full = keep.every((i) => (sizes.get(i) ?? 0) >= MEMPOOL_FULL)),
        () => undefined,
      );
    }, 200);
    const r = await offer(c, txs, { rate: 'max', durationMs: 120_000, conns: CONNS, batch: BATCH, nodes: keep, until: () => full });
    clearInterval(poll);
    const rss = keep.map((i) => procUsage(c.pid(i)!).rssMb);
    emit('rss_full_mempool_mb', Math.max(...rss), 'MB', { nodes: keep, rss: rss.map(Math.round), mempool: keep.map((i) => sizes.get(i)), full, accepted: r.accepted.length, load: load() });
    // Diagnosis, not a goal: where each node's RSS is (bench/cluster-lib.ts memoryBreakdown).
    for (const i of keep) emit('rss_breakdown_mb', rss[keep.indexOf(i)]!, 'MB', { node: i, ...(await memoryBreakdown(c.clients[i]!.port, c.h.net.apiKey, c.pid(i)!)) });
    if (snapDir !== undefined) {
      for (const i of keep) {
        const pid = c.pid(i)!;
        const before = new Set(readdirSync(snapDir));
        process.kill(pid, 'SIGUSR2');
        // V8 writes the file as it walks the heap: done when a new file stops growing.
        let last = -1;
        for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 1_000))) {
          const f = readdirSync(snapDir).find((n) => !before.has(n) && n.endsWith('.heapsnapshot'));
          const size = f === undefined ? -1 : statSync(join(snapDir, f)).size;
          if (size > 0 && size === last) break;
          last = size;
        }
        emit('rss_breakdown_after_gc_mb', procUsage(pid).rssMb, 'MB', { node: i, ...(await memoryBreakdown(c.clients[i]!.port, c.h.net.apiKey, pid)) });
      }
    }
  }
  await watch.stop();
  note(`done; load average ${load()}`);
} catch (err) {
  c.h.dumpLogs(30);
  throw err;
} finally {
  await c.close();
}

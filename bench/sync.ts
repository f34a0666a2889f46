/**
 * Block sync speed (performance issue). Run: `npx tsx bench/sync.ts [blocks=5000]` (`npm run bench:sync`).
 * Prints JSON lines {"name", "value", "unit"}; never a pass/fail test; docs/performance.md records runs.
 *
 * A source chain of `blocks` empty blocks, each with a valid commit certificate of 3 of its 4
 * genesis-registered validators (tests/unit/masternode-fixtures.ts MnChain: real LevelDB, the
 * production block and vote constructors), is served by one P2pNetwork + `serveSync` on
 * 127.0.0.1 in a child process (a serving peer is another machine: its reads and libp2p work
 * must not share the syncing node's event loop; it still shares the two cores). A FRESH node
 * (same genesis, its own LevelDB with the node's default durability — block sync fsyncs once per range — the node's BlockChecks,
 * ConsensusDriver and BlockSync wired as src/node.ts does) dials it and syncs through the real
 * `BlockSync` path; the clock runs from the first sync trigger until its tip reaches `blocks`.
 *
 * - sync_blocks_per_sec, sync_total_ms: with the verify pool (`os.availableParallelism()` threads).
 * - sync_verify_workers: that pool's size; sync_verify_pool_start_ms: starting its threads (before the clock).
 * - sync_blocks_per_sec_single_thread: the same sync with no pool (certificates verified inline).
 * Environment: BENCH_SYNC_SINGLE=0 skips the single-thread run; BENCH_SYNC_FSYNC=0 opens the syncing
 * store without fsync per block (diagnosis: the fsync is the floor of the default figure).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { hashBlockBytes } from '../chain/block.js';
import { SignatureCache, verifySignature } from '../chain/ed25519.js';
import { EvidencePool } from '../chain/evidence-pool.js';
import { bytesEqual } from '../chain/hash.js';
import { Mempool } from '../chain/mempool.js';
import { ChainStore } from '../chain/store.js';
import { encodeCommitCertificate } from '../consensus/codec.js';
import { leaderOf } from '../consensus/leader.js';
import { signVote } from '../consensus/messages.js';
import { MsgType } from '../consensus/types.js';
import '../p2p/polyfill.js';
import { P2pNetwork } from '../p2p/network.js';
import { protocolByName } from '../p2p/protocols.js';
import { BlockChecks } from '../src/block-checks.js';
import { BlockSync, serveSync } from '../src/block-sync.js';
import { ConsensusDriver } from '../src/driver.js';
import { FinalityTracker } from '../src/finality.js';
import { childLogger, createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { VerifyPool } from '../src/verify-pool.js';
import { statCpuSeconds, threadCpuSeconds } from './proc.js';
import { stopProcess } from '../tests/e2e/helpers.js';
import { MnChain, operator } from '../tests/unit/masternode-fixtures.js';

const VALIDATORS = 4;
/** BENCH_SYNC_FSYNC=0: the syncing store does not fsync each block (what the sync path does without that cost). */
const FSYNC = process.env.BENCH_SYNC_FSYNC !== '0';
const log = createLogger({ level: 'silent' });

function emit(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit }));
}

/** CPU seconds so far: this process's main thread, its other threads (verify workers, libuv pool), and a child process. */
function cpuSplit(childPid: number | undefined): { main: number; others: number; server: number } {
  return { ...threadCpuSeconds(process.pid), server: childPid === undefined ? 0 : statCpuSeconds(`/proc/${childPid}/stat`) };
}

/** The source chain: `blocks` empty blocks led by the leader of each height, certified by 3 of 4 validators. */
async function buildSource(dir: string, blocks: number): Promise<MnChain> {
  const c = await MnChain.create(dir, VALIDATORS, VALIDATORS);
  const ops = Array.from({ length: VALIDATORS }, (_, i) => operator(i));
  for (let h = 1; h <= blocks; h++) {
    const leader = leaderOf(c.store.validatorSetAt(h), h, 0);
    const block = await c.nextBlock([], { proposer: leader });
    const commits = [0, 1, 2].map((k) => signVote(ops[(h + k) % VALIDATORS]!, c.chainId, MsgType.Commit, h, 0, block.hash));
    await c.store.connectBlock(block, encodeCommitCertificate({ height: h, view: 0, blockHash: block.hash, commits }), { final: true });
  }
  return c;
}

/** Child process: serve the store in `dir` on /timecoin/sync/1 (127.0.0.1) until SIGTERM; prints its address. */
async function serveChild(dir: string): Promise<void> {
  const store = await ChainStore.open(join(dir, 'chain'));
  const net = await P2pNetwork.create({ network: 'testnet', listen: ['/ip4/127.0.0.1/tcp/0'], operatorSecret: null, dataDir: dir, isActiveMasternode: () => false, logger: log });
  await serveSync(net, store, protocolByName('sync').maxResponseBytes);
  await net.start();
  console.log(JSON.stringify({ addr: net.addresses[0] }));
  await once(process, 'SIGTERM');
  await net.stop();
  await store.close();
}

/** Start the serving process on the source chain in `dir`; resolves with it and its multiaddr. */
async function startServer(dir: string): Promise<{ proc: ReturnType<typeof spawn>; addr: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--serve', dir], { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  try {
    for await (const line of lines) {
      const m = JSON.parse(line) as { addr?: string };
      if (typeof m.addr === 'string') return { proc, addr: m.addr };
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error('the serving process ended before it listened');
}

/** A fresh node of the same genesis syncs from `server`; returns the milliseconds until its tip is `blocks`. */
async function syncOnce(
  source: { genesis: MnChain['genesis']; tipHash: Uint8Array },
  server: { addr: string; pid: number | undefined },
  blocks: number,
  pool: VerifyPool | null,
): Promise<{ ms: number; cpu: { main: number; others: number; server: number } }> {
  const dir = await mkdtemp(join(tmpdir(), 'timecoin-bench-sync-'));
  const store = await ChainStore.open(join(dir, 'chain'), { sync: FSYNC }); // fsync per block, as the node (unless BENCH_SYNC_FSYNC=0)
  let net: P2pNetwork | null = null;
  let sync: BlockSync | null = null;
  let driver: ConsensusDriver | null = null;
  try {
    await store.initialize(source.genesis, 'testnet');
    const chainId = store.chainId;
    const metrics = createMetrics(new Registry());
    const designated = [source.genesis.header.proposer];
    const validatorsAt = (h: number) => {
      const set = store.validatorSetAt(h);
      return set.length > 0 ? set : designated;
    };
    const sigCache = new SignatureCache();
    const mempool = new Mempool({ chainId, sigCache, registry: () => store.registry });
    const evidence = new EvidencePool();
    const finality = new FinalityTracker(metrics, Date.now);
    const checks = new BlockChecks({ store, chainId, sigCache, validatorsAt, now: Date.now, evidence });
    driver = new ConsensusDriver({
      engine: { chainId, signer: null, hashBlock: hashBlockBytes, verify: verifySignature, timeouts: { baseMs: 60_000, factor: 2, maxMs: 60_000 }, maxBufferedMessages: 10_000, keepDecisions: 64 },
      store, mempool, checks, finality, stateFile: join(dir, 'consensus-state.json'), validatorsAt, rewardPublicKey: null,
      idleBlockIntervalMs: 3_600_000, txBatchDelayMs: 25, now: Date.now, logger: childLogger(log, 'consensus'), metrics,
      transport: null, onFatal: (err) => { throw err; }, evidence,
    });
    await driver.boot();
    net = await P2pNetwork.create({ network: 'testnet', listen: ['/ip4/127.0.0.1/tcp/0'], operatorSecret: null, dataDir: dir, isActiveMasternode: () => false, logger: log });
    let done!: () => void;
    const reached = new Promise<void>((resolve) => (done = resolve));
    sync = new BlockSync({
      net, store, driver, checks, mempool, finality, evidence, chainId, log: childLogger(log, 'sync'), intervalMs: 500, verifyPool: pool,
      onConnected: (b) => {
        if (b.header.height >= blocks) done();
      },
    });
    await net.start();
    await net.connect(server.addr);
    const deadline = Date.now() + 10_000;
    while (net.getPeerInfo().length === 0) {
      if (Date.now() > deadline) throw new Error('the syncing node did not connect to the server');
      await new Promise((r) => setTimeout(r, 5));
    }
    const t0 = performance.now();
    const cpu0 = cpuSplit(server.pid);
    sync.trigger();
    const timeout = setTimeout(() => done(), 120_000);
    await reached;
    clearTimeout(timeout);
    const ms = performance.now() - t0;
    const cpu1 = cpuSplit(server.pid);
    const tip = store.tip();
    if (tip.height !== blocks || !bytesEqual(tip.hash, source.tipHash)) throw new Error(`sync stopped at height ${tip.height} of ${blocks}`);
    return { ms, cpu: { main: cpu1.main - cpu0.main, others: cpu1.others - cpu0.others, server: cpu1.server - cpu0.server } };
  } finally {
    await sync?.stop();
    await net?.stop();
    await driver?.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const blocks = Number(process.argv[2] ?? 5_000);
  if (!Number.isInteger(blocks) || blocks < 1) throw new Error(`blocks must be a positive integer, got ${process.argv[2]}`);
  const dir = await mkdtemp(join(tmpdir(), 'timecoin-bench-source-'));
  const chain = await buildSource(join(dir, 'chain'), blocks);
  const source = { genesis: chain.genesis, tipHash: chain.store.tip().hash };
  const lastCert = (await chain.store.getCertificate(source.tipHash))!;
  await chain.close();
  const server = await startServer(dir).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  const pool = new VerifyPool({ log });
  try {
    // Threads start on first use; under tsx each compiles the verifier first, which is not sync work.
    const w0 = performance.now();
    await pool.verify(Array.from({ length: pool.size * 16 }, () => ({ publicKey: lastCert.subarray(0, 32), message: lastCert, signature: lastCert.subarray(0, 64) })));
    emit('sync_verify_pool_start_ms', performance.now() - w0, 'ms');
    const target = { addr: server.addr, pid: server.proc.pid };
    const { ms, cpu } = await syncOnce(source, target, blocks, pool);
    emit('sync_blocks_per_sec', blocks / (ms / 1000), 'blocks/s');
    emit('sync_total_ms', ms, 'ms');
    // Where the two cores went, per block: the syncing node's main thread, its other threads
    // (verify workers, libuv pool: LevelDB and fsync), and the serving process.
    emit('sync_cpu_main_us_per_block', (cpu.main * 1e6) / blocks, 'µs');
    emit('sync_cpu_other_threads_us_per_block', (cpu.others * 1e6) / blocks, 'µs');
    emit('sync_cpu_server_us_per_block', (cpu.server * 1e6) / blocks, 'µs');
    emit('sync_verify_workers', pool.size, 'threads');
    emit("sync_store_fsync", FSYNC ? 1 : 0, "bool");
    if (process.env.BENCH_SYNC_SINGLE !== '0') {
      const single = await syncOnce(source, target, blocks, null);
      emit('sync_blocks_per_sec_single_thread', blocks / (single.ms / 1000), 'blocks/s');
      emit('sync_total_ms_single_thread', single.ms, 'ms');
    }
  } finally {
    await pool.close();
    await stopProcess(server.proc);
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') await serveChild(process.argv[3]!);
else await main();

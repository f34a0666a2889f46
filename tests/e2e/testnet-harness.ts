/**
 * A real N-validator testnet run as processes, for the e2e fault tests (and the cluster bench).
 * `TestnetHarness.create()` writes a testnet with `createTestnet` (free ports, short consensus
 * timers) into a temp dir; `start(i)` runs `node --import tsx src/cli.ts start --datadir …` for
 * node i; `stop` (SIGTERM), `kill` (SIGKILL), `pause` (SIGSTOP), `resume` (SIGCONT) act on it.
 * Each node's output is kept (last lines) and `dumpLogs()` writes the tails to stderr — call it
 * when a test fails. Everything polls RPC with deadlines (`waitFor`); nothing sleeps and hopes.
 *
 * API (small on purpose):
 *   const h = await TestnetHarness.create({ validators: 4, config: {...}, editConfig });
 *   h.startAll(); await h.waitMesh();
 *   h.rpc(i) · h.finalHeights(nodes?) · h.waitAllFinal(height, nodes?) · h.assertSameChain(upTo, nodes?)
 *   h.leaderIndex(askNode?) · h.block(i, height) · h.pay(nodes?) · h.pid(i) · h.log(i) · h.dumpLogs()
 *   h.stop(i) · h.kill(i) · h.pause(i) · h.resume(i) · h.start(i) · h.running(i) · await h.close()
 * `close` stops every node and removes the testnet's temp dir (TESTNET_KEEP=1 keeps it, to inspect).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAddress } from '../../chain/address.js';
import { createSigner } from '../../chain/ed25519.js';
import { fromHex, toHex } from '../../chain/hash.js';
import { buildTransfer } from '../../chain/tx-builder.js';
import { createTestnet, type Testnet } from '../../src/commands/testnet.js';
import { coinsOf, freeBase, Rpc, stopProcess, tempDir, waitFor } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Node processes of every harness in this process. If the process dies without `close` (an uncaught
 * error in a benchmark), its nodes would keep running, holding ports and CPU: they are killed at exit.
 */
const LIVE = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of LIVE) p.kill('SIGKILL');
});
/** Lines of output kept per node for the failure dump. */
const LOG_LINES = 400;

/**
 * The default `consensus` config of a harness testnet: short view timers, an empty block every
 * second when idle, heartbeats every 3 s (≥ 0.6 s × N keeps them under their 2 msg/s quota).
 * A `config.consensus` given to `create` replaces it as a whole.
 */
export const FAST_CONSENSUS = { timeoutBaseMs: 1_000, timeoutMaxMs: 4_000, heartbeatIntervalMs: 3_000, idleBlockIntervalMs: 1_000 };

export interface HarnessOptions {
  readonly validators?: number;
  /** Extra config.json keys for every node; each top-level key replaces the default's (`{log: {level: 'info'}, consensus: FAST_CONSENSUS}`). */
  readonly config?: Record<string, unknown>;
  /** Change node i's written config.json before anything starts (e.g. bootstrap through proxies). */
  readonly editConfig?: (i: number, config: Record<string, unknown>, net: Testnet) => void | Promise<void>;
  /** How nodes run: `tsx` (the TypeScript sources, default) or `dist` (the compiled `dist/src/cli.js`, as operators and the Docker image run it; `npm run build` first). */
  readonly entry?: 'tsx' | 'dist';
}

/** A block as `getblock` (verbosity 1) reports it; only the fields the tests read. */
export interface BlockInfo {
  readonly hash: string;
  readonly height: number;
  readonly view: number;
  readonly proposer: string;
  readonly certificate: string;
}

export class TestnetHarness {
  private readonly procs: (ChildProcess | null)[];
  private readonly logs: string[][];
  private readonly paused = new Set<number>();
  readonly rpcs: Rpc[];

  private entry: 'tsx' | 'dist' = 'tsx';

  /** `root`: the temp dir holding the testnet (removed by `close` unless TESTNET_KEEP=1). */
  private constructor(
    readonly net: Testnet,
    private readonly root: string,
  ) {
    this.procs = net.nodes.map(() => null);
    this.logs = net.nodes.map(() => []);
    this.rpcs = net.nodes.map((nd) => new Rpc(`http://127.0.0.1:${nd.rpcPort}/`, net.apiKey));
  }

  /** Write a fresh testnet in a temp dir (nothing started). */
  static async create(o: HarnessOptions = {}): Promise<TestnetHarness> {
    const n = o.validators ?? 4;
    const root = tempDir('timecoin-testnet-');
    const net = await createTestnet({
      validators: n,
      out: join(root, 'tn'),
      basePort: await freeBase(n),
      configOverrides: { log: { level: 'info' }, consensus: FAST_CONSENSUS, ...o.config },
    });
    if (o.editConfig !== undefined) {
      for (const [i, nd] of net.nodes.entries()) {
        const file = join(nd.datadir, 'config.json');
        const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        await o.editConfig(i, config, net);
        writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
      }
    }
    const h = new TestnetHarness(net, root);
    h.entry = o.entry ?? 'tsx';
    return h;
  }

  /** Number of validators. */
  get size(): number {
    return this.net.nodes.length;
  }

  /** All node indexes, 0 … N − 1. */
  get all(): number[] {
    return this.net.nodes.map((_, i) => i);
  }

  /** The RPC client of node i. */
  rpc(i: number): Rpc {
    return this.rpcs[i]!;
  }

  /** Start node i's process (it must not be running). */
  start(i: number): void {
    if (this.running(i)) throw new Error(`node${i} is already running`);
    const cli = this.entry === 'dist' ? ['dist/src/cli.js'] : ['--import', 'tsx', 'src/cli.ts'];
    const p = spawn(process.execPath, [...cli, 'start', '--datadir', this.net.nodes[i]!.datadir], {
      cwd: ROOT,
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = this.logs[i]!;
    // TESTNET_LOG_DIR keeps every line of every node (for tracing rounds in a benchmark), not just the tail.
    const full = process.env.TESTNET_LOG_DIR === undefined ? null : join(process.env.TESTNET_LOG_DIR, `node${i}.log`);
    if (full !== null) mkdirSync(process.env.TESTNET_LOG_DIR!, { recursive: true });
    // A chunk may end mid-line: each stream keeps its unfinished line until the rest arrives.
    const keeper = (): ((b: Buffer) => void) => {
      let partial = '';
      return (b) => {
        const lines = (partial + b.toString()).split('\n');
        partial = lines.pop()!;
        const kept = lines.filter((l) => l.length > 0);
        log.push(...kept);
        if (full !== null && kept.length > 0) appendFileSync(full, kept.join('\n') + '\n');
        if (log.length > LOG_LINES) log.splice(0, log.length - LOG_LINES);
      };
    };
    p.stdout!.on('data', keeper());
    p.stderr!.on('data', keeper());
    LIVE.add(p);
    p.once('exit', () => LIVE.delete(p));
    this.procs[i] = p;
  }

  /** Start every node. */
  startAll(): void {
    for (const i of this.all) this.start(i);
  }

  /** True while node i's process has not exited. */
  running(i: number): boolean {
    const p = this.procs[i];
    return p != null && p.exitCode === null && p.signalCode === null;
  }

  /** SIGTERM node i and wait for it to exit (SIGKILL after 5 s). */
  async stop(i: number): Promise<void> {
    const p = this.procs[i];
    if (p == null) return;
    if (this.paused.has(i)) this.resume(i);
    await stopProcess(p);
  }

  /** SIGKILL node i and wait for the exit. */
  async kill(i: number): Promise<void> {
    const p = this.procs[i];
    if (p == null || !this.running(i)) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    this.paused.delete(i);
    await exited;
  }

  /** SIGSTOP node i: the process is frozen, its sockets stay open. */
  pause(i: number): void {
    this.procs[i]!.kill('SIGSTOP');
    this.paused.add(i);
  }

  /** SIGCONT node i. */
  resume(i: number): void {
    this.procs[i]!.kill('SIGCONT');
    this.paused.delete(i);
  }

  /** The OS pid of node i's process (the node itself: tsx runs inside it), or null if it is not running. */
  pid(i: number): number | null {
    return this.running(i) ? (this.procs[i]!.pid ?? null) : null;
  }

  /** Node i's captured output (JSON log lines and stderr), last LOG_LINES lines. */
  log(i: number): string {
    return this.logs[i]!.join('\n');
  }

  /** Wait until each node in `nodes` sees every other node in `nodes` as a connected masternode. */
  async waitMesh(nodes: number[] = this.all, timeoutMs = 40_000): Promise<void> {
    await waitFor(
      `a full mesh of nodes ${nodes.join(',')}`,
      async () => {
        const infos = await Promise.all(nodes.map((i) => this.rpc(i).call<{ masternodes: number }>('getnetworkinfo')));
        return infos.every((x) => x.masternodes >= nodes.length - 1) ? true : undefined;
      },
      timeoutMs,
      200,
    );
  }

  /** The final (= tip: every block a node connects is final) height of each node in `nodes`. */
  async finalHeights(nodes: number[] = this.all): Promise<number[]> {
    return Promise.all(nodes.map(async (i) => (await this.rpc(i).call<{ finalizedheight: number }>('getblockchaininfo')).finalizedheight));
  }

  /** Wait until every node in `nodes` has finalized `height`; returns their heights. */
  async waitAllFinal(height: number, nodes: number[] = this.all, timeoutMs = 30_000): Promise<number[]> {
    return waitFor(
      `height ${height} final on nodes ${nodes.join(',')}`,
      async () => {
        const hs = await this.finalHeights(nodes);
        return hs.every((x) => x >= height) ? hs : undefined;
      },
      timeoutMs,
      100,
    );
  }

  /** Throw unless every node in `nodes` holds the same block hash at every height 0 … upTo. */
  async assertSameChain(upTo: number, nodes: number[] = this.all): Promise<void> {
    for (let h = 0; h <= upTo; h++) {
      const hashes = await Promise.all(nodes.map((i) => this.rpc(i).call<string>('getblockhash', [h])));
      if (new Set(hashes).size !== 1) throw new Error(`fork at height ${h}: ${nodes.map((i, k) => `node${i}=${hashes[k]}`).join(' ')}`);
    }
  }

  /** Block `height` as node i reports it. */
  block(i: number, height: number): Promise<BlockInfo> {
    return this.rpc(i)
      .call<string>('getblockhash', [height])
      .then((hash) => this.rpc(i).call<BlockInfo>('getblock', [hash, 1]));
  }

  /** The node index whose operator key is `key` (hex), or -1. */
  indexOfOperator(key: string): number {
    return this.net.nodes.findIndex((nd) => nd.operatorPublicKey === key);
  }

  /**
   * Which node leads the height/view node `ask` is working on (getconsensusinfo), once that is the
   * height after its last final block: right after a payment a node may still be landing the block.
   */
  async leaderIndex(ask = 0): Promise<{ leader: number; height: number; view: number }> {
    return waitFor(`node${ask} working on the height after its last final block`, async () => {
      const [final] = await this.finalHeights([ask]);
      const c = await this.rpc(ask).call<{ height: number; view: number; leader: string | null }>('getconsensusinfo');
      if (c.height !== final! + 1 || c.leader === null) return undefined;
      return { leader: this.indexOfOperator(c.leader), height: c.height, view: c.view };
    }, 10_000);
  }

  /** Send one faucet payment through node `via` and wait until it is final on `nodes`; returns its height. */
  async pay(nodes: number[] = this.all, via = nodes[0]!, timeoutMs = 30_000): Promise<number> {
    const faucet = this.net.faucet;
    const rpc = this.rpc(via);
    const { chainid } = await rpc.call<{ chainid: string }>('getblockchaininfo');
    const owner = JSON.parse(readFileSync(join(this.net.nodes[0]!.datadir, 'owner-wallet.json'), 'utf8')) as { address: string };
    const tx = buildTransfer({
      chainId: fromHex(chainid),
      signer: createSigner(fromHex(faucet.privateKey)),
      coins: await coinsOf(rpc, faucet.address),
      recipients: [{ amount: 1_000_000n, publicKey: decodeAddress(owner.address, 'testnet') }],
      feeRate: 1n,
    });
    const txid = await rpc.call<string>('sendrawtransaction', [toHex(tx.bytes)]);
    const st = await waitFor(
      `tx ${txid} final on nodes ${nodes.join(',')}`,
      async () => {
        const s = await Promise.all(nodes.map((i) => this.rpc(i).call<{ finalized: boolean; height: number }>('gettransactionfinality', [txid])));
        return s.every((x) => x.finalized) ? s : undefined;
      },
      timeoutMs,
      100,
    );
    return st[0]!.height;
  }

  /** Write the last `lines` log lines of every node to stderr (for a failed test). */
  dumpLogs(lines = 60): void {
    for (const [i, l] of this.logs.entries()) process.stderr.write(`--- node${i} log tail ---\n${l.slice(-lines).join('\n')}\n`);
  }

  /** Stop every process (paused ones are continued first so SIGTERM can be handled). */
  async close(): Promise<void> {
    for (const i of [...this.paused]) this.resume(i);
    await Promise.all(this.procs.map((p) => (p == null ? undefined : stopProcess(p))));
    // A loaded benchmark testnet leaves ~100 MB of block data: nothing is kept unless asked for.
    if (process.env.TESTNET_KEEP !== '1') rmSync(this.root, { recursive: true, force: true });
  }
}

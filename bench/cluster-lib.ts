/**
 * A 4-validator testnet as processes on loopback, driven as a load test (bench/cluster.ts and
 * tests/e2e/cluster-smoke.test.ts): start it (tests/e2e/testnet-harness.ts), pre-split the faucet
 * into K independent outputs under many keys, pre-sign one 1-input 1-output transfer per output
 * (signing is never on the clock), offer them at a fixed rate or at maximum over several
 * keep-alive HTTP connections in JSON-RPC batches, and timestamp each transaction's finality by
 * polling `getblock` of every new final height on one observer node. CPU and RSS per node come
 * from /proc/<pid>/stat and /proc/<pid>/status.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Agent, request } from 'node:http';
import { TxKind } from '../chain/constants.js';
import { createSigner, generateSecretKey, type Signer } from '../chain/ed25519.js';
import { fromHex, toHex } from '../chain/hash.js';
import { createTransaction } from '../chain/transaction.js';
import { buildTransfer, signInputs } from '../chain/tx-builder.js';
import { waitFor } from '../tests/e2e/helpers.js';
import { TestnetHarness } from '../tests/e2e/testnet-harness.js';
import { NODE_MEMORY_ENV, nodeProcessEnv } from '../src/commands/testnet.js';
import { statCpuSeconds } from './proc.js';

/** Outputs per pre-split transaction (≈ 160 KB each; a dozen fit in one 2 MB block). */
const PER_SPLIT = 4_000;
/** Fee of a load transaction (it is 154 bytes; min fee rate 1 unit/byte). */
const LOAD_FEE = 1_000n;
/**
 * The finality watcher's long poll (`waitforblockheight`) is answered by the observer at most this
 * late when no block comes, so `stop()` and an observer switch never wait longer.
 */
const WATCH_WAIT_MS = 1_000;
/** Pause after a failed poll (the observer killed or being switched), so a dead node is not hammered. */
const WATCH_RETRY_MS = 20;

/** A pre-signed load transaction. */
export interface LoadTx {
  readonly txid: string;
  readonly hex: string;
}

/** One JSON-RPC answer entry. */
interface Answer {
  readonly id?: unknown;
  readonly result?: unknown;
  readonly error?: { code: number; message: string } | null;
}

/** Keep-alive JSON-RPC over node:http to one node (fetch gives no control over the pool). */
export class NodeClient {
  private readonly agent: Agent;
  private nextId = 1;

  constructor(
    readonly port: number,
    private readonly key: string,
    conns: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: conns });
  }

  /** POST a JSON body; resolves with the parsed answer (rejects on a socket error). */
  post(body: string, retry = true): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: this.port, path: '/', method: 'POST', agent: this.agent, headers: { authorization: `Bearer ${this.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            } catch (e) {
              reject(new Error(`HTTP ${res.statusCode}: ${(e as Error).message}`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        // The server closed an idle keep-alive socket as we reused it: the request never
        // reached it, so sending again on a fresh socket is safe (Node's documented pattern).
        if (retry && req.reusedSocket && err.code === 'ECONNRESET') this.post(body, false).then(resolve, reject);
        else reject(err);
      });
      req.end(body);
    });
  }

  /** One call; throws on a JSON-RPC error. */
  async call<T>(method: string, params: unknown[] = []): Promise<T> {
    const a = (await this.post(JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }))) as Answer;
    if (a.error) throw new Error(`${method}: ${a.error.code} ${a.error.message}`);
    return a.result as T;
  }

  /** A batch of calls; the answers in request order. */
  async batch(calls: readonly { method: string; params: unknown[] }[]): Promise<Answer[]> {
    const reqs = calls.map((c, i) => ({ jsonrpc: '2.0', id: i, method: c.method, params: c.params }));
    const out = (await this.post(JSON.stringify(reqs))) as Answer[];
    if (!Array.isArray(out)) throw new Error(`batch refused: ${JSON.stringify(out).slice(0, 200)}`);
    return out;
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface ClusterOptions {
  readonly validators?: number;
  /** Keep-alive connections per node. */
  readonly conns?: number;
  /** Extra config.json keys for every node. */
  readonly config?: Record<string, unknown>;
  /** Run this node under `--cpu-prof` (the profile is written when it exits). */
  readonly profileNode?: number;
  readonly profileDir?: string;
  /** `dist` (default in the benchmark: what operators run) or `tsx` (the harness default). */
  readonly entry?: 'tsx' | 'dist';
  /** Start the nodes with the memory settings operators get (NODE_MEMORY_ENV; default true). */
  readonly memoryEnv?: boolean;
}

function setEnv(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}

/** A running testnet plus keep-alive clients and the faucet signer. */
export class Cluster {
  readonly clients: NodeClient[];
  chainId: Uint8Array = new Uint8Array(32);
  readonly faucet: Signer;

  private constructor(readonly h: TestnetHarness, conns: number) {
    this.clients = h.net.nodes.map((nd) => new NodeClient(nd.rpcPort, h.net.apiKey, conns));
    this.faucet = createSigner(fromHex(h.net.faucet.privateKey));
  }

  /** Write, start and mesh a testnet whose API key is not rate-limited. */
  static async start(o: ClusterOptions = {}): Promise<Cluster> {
    const h = await TestnetHarness.create({
      validators: o.validators ?? 4,
      entry: o.entry ?? 'tsx',
      // The node's default view timer (2 s), not the harness's 1 s test timer: under full load a
      // round on four CPU-starved processes can pass 1 s and every view change costs a block.
      // Heartbeats at the operators' default (60 s), not the harness's 3 s: at 3 s their envelopes,
      // attestations and signature checks were ~3 % of a loaded validator's event loop, a load no
      // deployed node carries.
      config: { rpc: { defaultRatePerSecond: 1_000_000, maxBatch: 10_000 }, consensus: { timeoutBaseMs: 2_000, timeoutMaxMs: 60_000, idleBlockIntervalMs: 1_000, heartbeatIntervalMs: 60_000 }, ...o.config },
    });
    const c = new Cluster(h, o.conns ?? 8);
    try {
      for (const i of h.all) {
        // The harness passes this process's env on: the nodes (not this load generator) get the
        // memory settings operators run with, and one node may run under the V8 profiler.
        const names = Object.keys(NODE_MEMORY_ENV) as (keyof typeof NODE_MEMORY_ENV)[];
        const saved = Object.fromEntries(names.map((k) => [k, process.env[k]]));
        const env = o.memoryEnv === false ? { ...process.env } : nodeProcessEnv(process.env);
        if (i === o.profileNode) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import=${writeProfilerPreload(o.profileDir ?? '.')}`.trim();
        for (const k of names) setEnv(k, env[k]);
        h.start(i);
        for (const k of names) setEnv(k, saved[k]);
      }
      await h.waitMesh(h.all, 60_000);
      c.chainId = fromHex((await c.clients[0]!.call<{ chainid: string }>('getblockchaininfo')).chainid);
    } catch (err) {
      h.dumpLogs();
      await c.close();
      throw err;
    }
    return c;
  }

  /** Indexes of the nodes whose process is running. */
  alive(): number[] {
    return this.h.all.filter((i) => this.h.running(i));
  }

  /** The OS pid of node i (found by its datadir on the command line), or null. */
  pid(i: number): number | null {
    const datadir = this.h.net.nodes[i]!.datadir;
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
        if (args.includes('start') && args.includes(datadir)) return Number(name);
      } catch {
        // the process exited while we looked
      }
    }
    return null;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    await this.h.close();
  }
}

/**
 * Node 20 refuses `--cpu-prof` in NODE_OPTIONS, so the profiled node gets a preload that runs the
 * V8 profiler through node:inspector and writes `node-<pid>.cpuprofile` into `dir` at exit
 * (the node exits through process.exit on SIGTERM). Returns the preload's path.
 */
function writeProfilerPreload(dir: string): string {
  const file = join(resolve(dir), 'cluster-cpu-profile-preload.mjs');
  const out = JSON.stringify(resolve(dir));
  writeFileSync(
    file,
    `import { Session } from 'node:inspector';\nimport { writeFileSync } from 'node:fs';\n` +
      `const s = new Session(); s.connect(); s.post('Profiler.enable'); s.post('Profiler.start');\n` +
      `process.on('exit', () => s.post('Profiler.stop', (err, r) => { if (!err) writeFileSync(${out} + '/node-' + process.pid + '.cpuprofile', JSON.stringify(r.profile)); }));\n`,
  );
  return file;
}

/**
 * A signer over a fresh random key, by the project's own signer. Not generateKeyPairSync + a JWK
 * export: on Node 20 a GC inside `KeyObject.export` can run the finished key-generation job's
 * destructor, which waits for the lock the export holds — the load generator hung for good in 2 of
 * ~20 runs (gdb: ExportJWK → GC → ~KeyGenJob → uv_mutex_lock). ~0.7 ms a key here.
 */
function freshSigner(): Signer {
  return createSigner(generateSecretKey());
}

/** A spendable pre-split output and its owner. */
export interface OwnedCoin {
  readonly txid: Uint8Array;
  readonly index: number;
  readonly amount: bigint;
  readonly owner: Signer;
}

/**
 * Split the faucet into `k` outputs spread over `keys` distinct keys (more than the node's
 * 8,192-entry key cache makes every verification a cold one, as V₁ is measured): one
 * transaction into ⌈k / 4,000⌉ chunks, then one transaction per chunk; both steps waited final.
 */
export async function presplit(c: Cluster, k: number, keys: number): Promise<OwnedCoin[]> {
  const owners = Array.from({ length: Math.max(1, Math.min(keys, k)) }, freshSigner);
  const chunks = Math.ceil(k / PER_SPLIT);
  // Through NodeClient (keep-alive with the stale-socket retry), not the tests' fetch-based Rpc.
  const unspent = await c.clients[0]!.call<{ txid: string; vout: number; amount: string }[]>('listunspent', [c.h.net.faucet.address]);
  const coins = unspent.map((u) => ({ txid: fromHex(u.txid), index: u.vout, amount: BigInt(u.amount) }));
  const total = coins.reduce((s, x) => s + x.amount, 0n);
  const chunkAmount = total / BigInt(chunks + 1);
  const first = buildTransfer({ chainId: c.chainId, signer: c.faucet, coins, recipients: Array.from({ length: chunks }, () => ({ amount: chunkAmount, publicKey: c.faucet.publicKey })), feeRate: 1n });
  await submitAndWaitFinal(c, [first.bytes]);
  const out: OwnedCoin[] = [];
  const splits: Uint8Array[] = [];
  for (let j = 0; j < chunks; j++) {
    const n = Math.min(PER_SPLIT, k - j * PER_SPLIT);
    const each = chunkAmount / BigInt(n + 1);
    const recipients = Array.from({ length: n }, (_, m) => ({ amount: each, publicKey: owners[(j * PER_SPLIT + m) % owners.length]!.publicKey }));
    const tx = buildTransfer({ chainId: c.chainId, signer: c.faucet, coins: [{ txid: first.txid, index: j, amount: chunkAmount }], recipients, feeRate: 1n });
    splits.push(tx.bytes);
    for (let m = 0; m < n; m++) out.push({ txid: tx.txid, index: m, amount: each, owner: owners[(j * PER_SPLIT + m) % owners.length]! });
  }
  await submitAndWaitFinal(c, splits);
  return out;
}

async function submitAndWaitFinal(c: Cluster, txs: readonly Uint8Array[]): Promise<void> {
  const rpc = c.clients[0]!;
  const ids: string[] = [];
  for (const bytes of txs) ids.push(await rpc.call<string>('sendrawtransaction', [toHex(bytes)]));
  for (const id of ids) {
    await waitFor(`split ${id} final`, async () => ((await rpc.call<{ finalized: boolean }>('waittransactionfinality', [id, 10_000])).finalized ? true : undefined), 120_000, 0);
  }
}

/** One pre-signed 1-input 1-output transfer per coin (back to its owner, fee 1,000 units). */
export function signLoad(c: Cluster, coins: readonly OwnedCoin[]): LoadTx[] {
  return coins.map((coin) => {
    const unsigned = createTransaction({
      kind: TxKind.Transfer,
      inputs: [{ prevTxid: coin.txid, prevIndex: coin.index, signature: new Uint8Array(64) }],
      outputs: [{ amount: coin.amount - LOAD_FEE, publicKey: coin.owner.publicKey }],
    });
    const tx = signInputs(unsigned, c.chainId, coin.owner);
    return { txid: toHex(tx.txid), hex: toHex(tx.bytes) };
  });
}

/** A final block as the watcher saw it. */
export interface SeenBlock {
  readonly height: number;
  readonly size: number;
  readonly txs: number;
  readonly view: number;
  /** Date.now() when the watcher first saw it final. */
  readonly seenMs: number;
}

/**
 * Timestamps finality per txid at one observer node: a long poll (`waitforblockheight`, docs/rpc.md)
 * answered the moment the next height is final there, then the new blocks' txids. Polling the
 * height every 20 ms instead stamped a block 50–200 ms late at the median on a loaded observer
 * (an interval plus two round trips through its busy event loop; docs/performance.md).
 */
export class FinalityWatch {
  readonly finalAt = new Map<string, number>();
  readonly blocks: SeenBlock[] = [];
  lastHeight = -1;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly c: Cluster,
    /** The node asked; switch it when that node is about to be killed. */
    public observer = 0,
  ) {}

  /** Start polling from the current final height (earlier blocks are not reported). */
  async start(): Promise<void> {
    this.lastHeight = (await this.c.clients[this.observer]!.call<{ finalizedheight: number }>('getblockchaininfo')).finalizedheight;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.poll();
      } catch {
        // observer killed or being switched: try again shortly
        await new Promise((r) => setTimeout(r, WATCH_RETRY_MS));
      }
    }
  }

  private async poll(): Promise<void> {
    const client = this.c.clients[this.observer]!;
    const fin = (await client.call<{ height: number }>('waitforblockheight', [this.lastHeight + 1, WATCH_WAIT_MS])).height;
    // Stamped at the wait's answer: the getblock round trip below is the watcher's, not finality's.
    const now = Date.now();
    if (fin <= this.lastHeight) return;
    const heights = Array.from({ length: Math.min(50, fin - this.lastHeight) }, (_, i) => this.lastHeight + 1 + i);
    const answers = await client.batch(heights.map((h) => ({ method: 'getblock', params: [h, 1] })));
    for (const a of answers) {
      const b = a.result as { height: number; size: number; view: number; tx: string[] } | undefined;
      if (b === undefined || b.height !== this.lastHeight + 1) break;
      for (const t of b.tx) if (!this.finalAt.has(t)) this.finalAt.set(t, now);
      this.blocks.push({ height: b.height, size: b.size, txs: b.tx.length, view: b.view, seenMs: now });
      this.lastHeight = b.height;
    }
  }

  /** Wait until every txid is final (or the deadline passes: then resolves with the missing count). */
  async waitAll(txids: readonly string[], timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = txids.reduce((n, t) => n + (this.finalAt.has(t) ? 0 : 1), 0);
      if (missing === 0 || Date.now() > deadline) return missing;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export interface OfferOptions {
  /** Transactions per second offered, or 'max': every connection sends its next batch as soon as the last is answered. */
  readonly rate: number | 'max';
  readonly durationMs: number;
  /** Concurrent requests in flight (spread round-robin over the live nodes). */
  readonly conns: number;
  /** Transactions per JSON-RPC batch (at most; a fixed rate sends what is due). */
  readonly batch: number;
  /** Nodes to submit to (default: every live node). */
  readonly nodes?: readonly number[];
  /** Stop early once this returns true (checked before each batch). */
  readonly until?: () => boolean;
}

export interface OfferResult {
  /** Date.now() when each accepted transaction's request was sent. */
  readonly sentAt: Map<string, number>;
  readonly accepted: string[];
  /** Refusals by error message. */
  readonly refused: Record<string, number>;
  readonly startMs: number;
  readonly endMs: number;
  /** Transactions not sent because the pre-signed supply ran out or the window closed. */
  readonly unsent: number;
  /** Per accepted transaction, ms from its request's send to its answer: admission at the entry node, the first part of finality latency. */
  readonly answerMs: number[];
  /** Submissions refused with `mempool-full` and queued again (at 'max'): work the nodes did for no transaction. */
  readonly fullRetries: number;
}

/**
 * Offer `txs` in order. At a fixed rate a worker sends what is due (rate × elapsed) and otherwise
 * waits for the next due instant; at 'max' it sends full batches back to back and backs off 20 ms
 * on `mempool-full` (the refused transactions go back in the queue). A socket error (a killed
 * node) puts the batch back and drops that node from the rotation.
 */
export async function offer(c: Cluster, txs: readonly LoadTx[], o: OfferOptions): Promise<OfferResult> {
  const queue: LoadTx[] = [];
  let next = 0;
  const take = (n: number): LoadTx[] => {
    const out = queue.splice(0, n);
    while (out.length < n && next < txs.length) out.push(txs[next++]!);
    return out;
  };
  const dead = new Set<number>();
  const targets = (): number[] => (o.nodes ?? c.h.all).filter((i) => !dead.has(i) && c.h.running(i));
  const sentAt = new Map<string, number>();
  const accepted: string[] = [];
  const answerMs: number[] = [];
  const refused: Record<string, number> = {};
  const startMs = Date.now();
  const stopAt = startMs + o.durationMs;
  let dispatched = 0;
  let rr = 0;
  let fullRetries = 0;

  const worker = async (): Promise<void> => {
    while (Date.now() < stopAt && !(o.until?.() ?? false)) {
      let want = o.batch;
      if (o.rate !== 'max') {
        const due = Math.floor((o.rate * (Date.now() - startMs)) / 1000) - dispatched;
        if (due <= 0) {
          const nextDue = startMs + ((dispatched + 1) * 1000) / o.rate;
          await new Promise((r) => setTimeout(r, Math.max(1, nextDue - Date.now())));
          continue;
        }
        want = Math.min(want, due);
      }
      const batch = take(want);
      if (batch.length === 0) return;
      dispatched += batch.length;
      const nodes = targets();
      if (nodes.length === 0) throw new Error('no live node to submit to');
      const node = nodes[rr++ % nodes.length]!;
      const sent = Date.now();
      let answers: Answer[];
      try {
        answers = await c.clients[node]!.batch(batch.map((t) => ({ method: 'sendrawtransaction', params: [t.hex] })));
      } catch {
        if (!c.h.running(node)) dead.add(node);
        queue.unshift(...batch);
        dispatched -= batch.length;
        continue;
      }
      let full = false;
      const answered = Date.now();
      answers.forEach((a, i) => {
        const t = batch[i]!;
        if (typeof a.result === 'string') {
          accepted.push(t.txid);
          sentAt.set(t.txid, sent);
          answerMs.push(answered - sent);
        } else if (o.rate === 'max' && a.error?.message === 'mempool-full') {
          queue.push(t);
          full = true;
          fullRetries++;
        } else {
          const k = a.error?.message ?? 'no answer';
          refused[k] = (refused[k] ?? 0) + 1;
        }
      });
      if (full) await new Promise((r) => setTimeout(r, 20));
    }
  };
  await Promise.all(Array.from({ length: o.conns }, worker));
  return { sentAt, accepted, answerMs, refused, startMs, endMs: Date.now(), unsent: queue.length + txs.length - next, fullRetries };
}

/** CPU seconds (user + system) and RSS in MB of a process, from /proc. */
export function procUsage(pid: number): { cpuSec: number; rssMb: number } {
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuSec: statCpuSeconds(`/proc/${pid}/stat`), rssMb: rss ? Number(rss[1]) / 1024 : NaN };
}
/**
 * Where a node's RSS is (MB): the main thread's V8 heap (used / reserved, new and old space, from
 * the node's own /metrics gauges), V8 `external` memory (Buffers, typed arrays), from /proc/PID/status
 * the anonymous and file-backed RSS and the thread count (each verify-pool worker is one thread with
 * its own heap), and from /proc/PID/smaps the RSS of glibc's main malloc arena and of its others.
 */
export async function memoryBreakdown(port: number, apiKey: string, pid: number): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  // Prometheus text: `name{labels} value` per line; keyed by everything before the value.
  const values = new Map(text.split('\n').filter((l) => l.startsWith('timecoin_')).map((l) => [l.slice(9, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
  const gauge = (name: string): number => (values.get(name) ?? NaN) / 2 ** 20;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  const r = (x: number): number => Math.round(x * 10) / 10;
  // glibc malloc: the main arena is [heap]; each further arena is a 64 MiB-aligned anonymous mapping.
  let mallocMain = 0, mallocArenas = 0, arenaStart = false, isHeap = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      isHeap = m[2] === '[heap]';
      arenaStart = m[2] === '' && BigInt(`0x${m[1]}`) % (64n << 20n) === 0n;
    } else if (line.startsWith('Rss:')) {
      const kbs = Number(/(\d+)/.exec(line)![1]);
      if (isHeap) mallocMain += kbs;
      else if (arenaStart) mallocArenas += kbs;
    }
  }
  return {
    rss: r(kb('VmRSS') / 1024), rssAnon: r(kb('RssAnon') / 1024), rssFile: r(kb('RssFile') / 1024), threads: kb('Threads'),
    heapUsed: r(gauge('nodejs_heap_size_used_bytes')), heapTotal: r(gauge('nodejs_heap_size_total_bytes')),
    external: r(gauge('nodejs_external_memory_bytes')), mallocMain: r(mallocMain / 1024), mallocArenas: r(mallocArenas / 1024),
    newSpace: r(gauge('nodejs_heap_space_size_total_bytes{space="new"}')), oldSpace: r(gauge('nodejs_heap_space_size_total_bytes{space="old"}')),
  };
}
/** The p-th percentile (0–100) of `xs` by nearest rank; NaN for an empty list. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

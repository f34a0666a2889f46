/**
 * Checks for the resilience campaigns (tests/e2e/resilience.test.ts) on a bench/cluster-lib.ts
 * `Cluster`: a sampler of each node's /metrics (RSS, heap, mempool size, event-loop delay p99,
 * byzantine_detected_total) and of each validator's persisted signing record, the "flat" check
 * over a series, a UTXO-set agreement and supply-conservation check replayed from the blocks,
 * a ledger of every vote observed (to prove no validator signed two block hashes in one
 * (height, view)), a seeded PRNG, and in-process libp2p flooders. Imports the cluster, never copies it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeBlock } from '../chain/block.js';
import { BLOCK_REWARD, TxKind } from '../chain/constants.js';
import { createSigner, generateSecretKey } from '../chain/ed25519.js';
import { fromHex, toHex } from '../chain/hash.js';
import { encodeMessage, decodeCommitCertificate } from '../consensus/codec.js';
import { signVote } from '../consensus/messages.js';
import { MsgType } from '../consensus/types.js';
import { P2pNetwork } from '../p2p/network.js';
import { protocolByName } from '../p2p/protocols.js';
import { encodeTxBatches } from '../p2p/tx-batch.js';
import { CONSENSUS_STATE_FILE, readRecordSync } from '../src/consensus-state.js';
import type { PersistRecord } from '../consensus/types.js';
import { tempDir, waitFor } from '../tests/e2e/helpers.js';
import { procUsage, type Cluster } from './cluster-lib.js';

/** Print one figure as a JSON line (the bench format). */
export function emit(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit, ...extra }));
}

/** mulberry32: a tiny seeded PRNG in [0, 1), so a failing kill schedule can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The campaign seed: TIMECOIN_RESILIENCE_SEED if set, else a fresh one (always printed by the caller). */
export function campaignSeed(): number {
  const env = process.env.TIMECOIN_RESILIENCE_SEED;
  if (env !== undefined && env !== '') {
    const s = Number(env);
    if (!Number.isSafeInteger(s)) throw new Error(`TIMECOIN_RESILIENCE_SEED must be an integer, got ${env}`);
    return s;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** Prometheus text → value per metric name (label sets summed). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? (\S+)/.exec(line);
    if (m === null) continue;
    out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return out;
}

/** Node i's /metrics, parsed. */
export async function scrape(c: Cluster, i: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${c.h.net.nodes[i]!.rpcPort}/metrics`, { headers: { authorization: `Bearer ${c.h.net.apiKey}` }, signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`/metrics of node${i}: HTTP ${res.status}`);
  return parseMetrics(await res.text());
}

/** One sample of one node. */
export interface NodeSample {
  readonly t: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly mempool: number;
  readonly eldP99Ms: number;
}

/**
 * Vote ledger: every (validator, height, view) → the block hash it was seen signing. A second,
 * different hash for the same key is a conflicting vote (prepare, commit and pre-prepare all
 * count: within one view an honest validator signs for one block only).
 */
export class VoteLedger {
  private readonly seen = new Map<string, string>();
  readonly conflicts: string[] = [];
  observations = 0;

  /** Record that `validator` signed `hash` at (height, view); `source` names where it was seen. */
  add(validator: string, height: number, view: number, hash: string, source: string): void {
    this.observations++;
    const key = `${validator}/${height}/${view}`;
    const prev = this.seen.get(key);
    if (prev === undefined) this.seen.set(key, hash);
    else if (prev !== hash) this.conflicts.push(`${validator.slice(0, 12)} signed ${prev.slice(0, 12)} and ${hash.slice(0, 12)} at height ${height} view ${view} (${source})`);
  }

  /** Every commit vote of a stored commit certificate (hex, as getblock returns it). */
  addCertificate(certHex: string, source: string): void {
    const cert = decodeCommitCertificate(fromHex(certHex));
    for (const v of cert.commits) this.add(toHex(v.signer), v.height, v.view, toHex(v.blockHash), source);
  }

  /** Node i's persisted signing record (its own last vote and the prepares of its prepared certificate). */
  addRecord(c: Cluster, i: number): void {
    const nd = c.h.net.nodes[i]!;
    // The record is replaced atomically; its certificate file can go between our two reads when
    // the node saves meanwhile (it then names a newer one), so a missing one is read again.
    let r: PersistRecord | null = null;
    for (let attempt = 1; ; attempt++) {
      try {
        r = readRecordSync(join(nd.datadir, CONSENSUS_STATE_FILE));
        break;
      } catch (err) {
        if (attempt >= 5 || !/certificate .* is missing/.test((err as Error).message)) throw err;
      }
    }
    if (r === null) return; // not written yet (nothing signed)
    if (r.blockHash !== null) this.add(nd.operatorPublicKey, r.height, r.view, toHex(r.blockHash), `node${i} ${r.phase} record`);
    for (const v of r.prepared?.prepares ?? []) this.add(toHex(v.signer), v.height, v.view, toHex(v.blockHash), `node${i} prepared cert`);
  }
}

/**
 * Samples every running node every `everyMs`: /metrics and /proc, the signing records into the
 * ledger, and the largest byzantine_detected_total each process life reported (a restart resets
 * the counter, so the maximum seen is kept per node).
 */
export class Sampler {
  readonly samples: NodeSample[][];
  readonly byzantine: number[];
  readonly ledger = new VoteLedger();
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly c: Cluster,
    private readonly everyMs = 1_000,
  ) {
    this.samples = c.h.all.map(() => []);
    this.byzantine = c.h.all.map(() => 0);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Samples of node i taken at or after `fromMs` (and before `toMs`). */
  window(i: number, fromMs: number, toMs = Infinity): NodeSample[] {
    return this.samples[i]!.filter((s) => s.t >= fromMs && s.t < toMs);
  }

  /** Take one round of samples now (also called by the loop). */
  async sampleOnce(): Promise<void> {
    await Promise.all(this.c.alive().map(async (i) => {
      this.ledger.addRecord(this.c, i);
      try {
        const m = await scrape(this.c, i);
        const pid = this.c.h.pid(i);
        const rss = pid === null ? NaN : procUsage(pid).rssMb;
        this.byzantine[i] = Math.max(this.byzantine[i]!, m.get('timecoin_byzantine_detected_total') ?? 0);
        this.samples[i]!.push({
          t: Date.now(),
          rssMb: rss,
          heapMb: (m.get('timecoin_nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20,
          mempool: m.get('timecoin_mempool_transactions') ?? NaN,
          eldP99Ms: (m.get('timecoin_nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
        });
      } catch {
        // node starting or just killed: no sample this round
      }
    }));
  }

  private async run(): Promise<void> {
    while (this.running) {
      const next = Date.now() + this.everyMs;
      await this.sampleOnce();
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
  }
}

/** Tolerance of a flat check: the later part may exceed the earlier by `ratio` × plus `abs`. */
export interface Tolerance {
  readonly ratio: number;
  readonly abs: number;
}

/** Outcome of a flat check (means and maxima of the first and last thirds). */
export interface FlatResult {
  readonly firstMean: number;
  readonly lastMean: number;
  readonly firstMax: number;
  readonly lastMax: number;
  readonly limit: number;
  readonly ok: boolean;
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/**
 * "Flat": the mean of the last third ≤ max(first third) × ratio + abs. Comparing against the
 * first third's MAX (not its mean) absorbs the sawtooth of GC and of mempool fill between blocks;
 * a leak or an unbounded queue grows past it however noisy the series is. NaN samples are dropped;
 * fewer than 6 samples cannot show a trend and fail.
 */
export function flat(series: readonly number[], tol: Tolerance): FlatResult {
  const xs = series.filter((x) => Number.isFinite(x));
  const third = Math.floor(xs.length / 3);
  if (third < 2) return { firstMean: NaN, lastMean: NaN, firstMax: NaN, lastMax: NaN, limit: NaN, ok: false };
  const first = xs.slice(0, third);
  const last = xs.slice(xs.length - third);
  const firstMax = Math.max(...first);
  const limit = firstMax * tol.ratio + tol.abs;
  const lastMean = mean(last);
  return { firstMean: mean(first), lastMean, firstMax, lastMax: Math.max(...last), limit, ok: lastMean <= limit };
}

/** gettxoutsetinfo's answer. */
export interface TxOutSetInfo {
  readonly height: number;
  readonly bestblock: string;
  readonly txouts: number;
  readonly total_amount: string;
  readonly hash_serialized: string;
}

/** gettxoutsetinfo of `nodes`, polled until all report the same height (blocks keep coming). */
export async function txOutSetInfos(c: Cluster, nodes: readonly number[], timeoutMs = 60_000): Promise<TxOutSetInfo[]> {
  return waitFor(
    `gettxoutsetinfo of nodes ${nodes.join(',')} at one height`,
    async () => {
      const all = await Promise.all(nodes.map((i) => c.clients[i]!.call<TxOutSetInfo>('gettxoutsetinfo')));
      return all.every((x) => x.height === all[0]!.height) ? all : undefined;
    },
    timeoutMs,
    20,
  );
}

/** Fetch `method(h, ...)` for heights 0 … upTo from node i in batches of 200. */
async function perHeight<T>(c: Cluster, i: number, upTo: number, method: string, extra: unknown[]): Promise<T[]> {
  const out: T[] = [];
  for (let from = 0; from <= upTo; from += 200) {
    const hs = Array.from({ length: Math.min(200, upTo - from + 1) }, (_, k) => from + k);
    const answers = await c.clients[i]!.batch(hs.map((h) => ({ method, params: [h, ...extra] })));
    for (const [k, a] of answers.entries()) {
      if (a.error) throw new Error(`node${i} ${method}(${hs[k]}): ${a.error.message}`);
      out.push(a.result as T);
    }
  }
  return out;
}

/**
 * Throw unless every node in `nodes` holds the same block hash at every height 0 … upTo; feeds
 * each node's stored commit certificates into `ledger`. Returns the number of heights compared.
 */
export async function assertSameChains(c: Cluster, nodes: readonly number[], upTo: number, ledger: VoteLedger): Promise<number> {
  const chains = await Promise.all(nodes.map((i) => perHeight<{ hash: string; certificate: string }>(c, i, upTo, 'getblock', [1])));
  for (let h = 0; h <= upTo; h++) {
    const hashes = chains.map((ch) => ch[h]!.hash);
    if (new Set(hashes).size !== 1) throw new Error(`fork at height ${h}: ${nodes.map((i, k) => `node${i}=${hashes[k]}`).join(' ')}`);
  }
  for (const [k, ch] of chains.entries()) for (const b of ch) if (b.certificate) ledger.addCertificate(b.certificate, `node${nodes[k]} block ${b.hash.slice(0, 12)}`);
  return upTo + 1;
}

/** The supply as replayed from the blocks. */
export interface SupplyReplay {
  readonly height: number;
  /** Sum of the UTXO set rebuilt by spending inputs and adding outputs, block by block. */
  readonly utxoTotal: bigint;
  /** Genesis allocations + what each later block's coinbase claimed beyond its block's fees. */
  readonly issued: bigint;
  readonly genesis: bigint;
  /** The largest amount one block minted (must be ≤ BLOCK_REWARD). */
  readonly maxMinted: bigint;
}

/**
 * Replay blocks 0 … upTo of node i (raw bytes): every input must spend an output that exists and
 * is unspent (else throw), fees = inputs − outputs of each non-coinbase transaction, minted =
 * coinbase outputs − fees (the reward actually claimed; penalties burned lower it). issued =
 * genesis + Σ minted. The caller compares utxoTotal and issued with gettxoutsetinfo.total_amount.
 */
export async function replaySupply(c: Cluster, i: number, upTo: number): Promise<SupplyReplay> {
  const raw = await perHeight<string>(c, i, upTo, 'getblock', [0]);
  const utxos = new Map<string, bigint>();
  let total = 0n;
  let genesis = 0n;
  let issued = 0n;
  let maxMinted = 0n;
  for (const [h, hex] of raw.entries()) {
    const block = decodeBlock(fromHex(hex));
    let fees = 0n;
    let coinbaseOut = 0n;
    for (const tx of block.txs) {
      let inSum = 0n;
      for (const inp of tx.inputs) {
        const key = `${toHex(inp.prevTxid)}:${inp.prevIndex}`;
        const amt = utxos.get(key);
        if (amt === undefined) throw new Error(`block ${h} spends ${key}, which is not unspent`);
        utxos.delete(key);
        inSum += amt;
      }
      let outSum = 0n;
      tx.outputs.forEach((o, n) => {
        utxos.set(`${toHex(tx.txid)}:${n}`, o.amount);
        outSum += o.amount;
      });
      total += outSum - inSum;
      if (tx.kind === TxKind.Coinbase) coinbaseOut += outSum;
      else fees += inSum - outSum;
    }
    if (h === 0) {
      genesis = coinbaseOut;
      issued = genesis - fees;
    } else {
      const minted = coinbaseOut - fees;
      if (minted > maxMinted) maxMinted = minted;
      issued += minted;
    }
  }
  return { height: upTo, utxoTotal: total, issued, genesis, maxMinted };
}

/** The reward cap per block, for the supply assertion. */
export const MAX_MINT_PER_BLOCK = BLOCK_REWARD;

/** What a flood campaign did. */
export interface FloodResult {
  /** Flooders that connected and sent (each must end banned). */
  readonly flooders: number;
  readonly txSent: number;
  readonly votesSent: number;
  /** CPU seconds the flooders (this process) used: load the nodes' cores did not have. */
  readonly cpuSec: number;
}

/**
 * Flood node `target` from in-process libp2p peers (the faults-rogue.test.ts pattern) for
 * `durationMs`: each flooder, a fresh key, sends in 10 ms ticks `multiple` × the per-second
 * quota refill of the tx and consensus protocols (p2p/protocols.ts: 50 and 100 messages/s) —
 * a one-transaction batch of the valid `txBytes` again and again, and votes signed by its own key (not an
 * active masternode). When it is cut off (banned) the next flooder takes its place; the one still
 * sending when the window closes goes on until it is cut off too (at most `drainMs`). Returns once
 * every flooder is disconnected (each has been banned), or throws after `drainMs`.
 */
export async function flood(c: Cluster, target: number, txBytes: Uint8Array, o: { durationMs: number; multiple: number; drainMs?: number }): Promise<FloodResult> {
  const t = c.h.net.nodes[target]!;
  const addr = `/ip4/127.0.0.1/tcp/${t.p2pPort}/p2p/${t.peerId}`;
  const info = await c.clients[target]!.call<{ height: number; view: number }>('getconsensusinfo');
  // Paced in 10 ms ticks (not one burst per second) so a cut-off flooder stops signing envelopes
  // soon: they are signed in this process, which shares the two cores with the nodes.
  const txPerTick = Math.ceil((protocolByName('tx').quota.perSecond * o.multiple) / 100);
  const votesPerTick = Math.ceil((protocolByName('consensus').quota.perSecond * o.multiple) / 100);
  const txFrame = encodeTxBatches([txBytes])[0]!;
  const cpuBefore = process.cpuUsage();
  const stopAt = Date.now() + o.durationMs;
  const drainMs = o.drainMs ?? 30_000;
  const nets: P2pNetwork[] = [];
  // Every flooder identity gets a data dir (hundreds per campaign); all under one, removed at the end.
  const floodersDir = tempDir('timecoin-flooders-');
  let txSent = 0;
  let votesSent = 0;
  let connected = 0;
  try {
    while (Date.now() < stopAt) {
      const secret = generateSecretKey();
      const net = await P2pNetwork.create({ network: 'testnet', listen: ['/ip4/127.0.0.1/tcp/0'], operatorSecret: secret, dataDir: mkdtempSync(join(floodersDir, 'f-')), isActiveMasternode: () => true });
      nets.push(net);
      await net.start();
      try {
        await net.connect(addr);
        // send() needs the peer registered (after identify), not just a dialled connection.
        await waitFor('the flooder registered the target', () => (net.getPeerInfo().some((p) => p.id === t.peerId) ? true : undefined), 10_000, 20);
      } catch {
        // Refused at connect (e.g. the target's connection cap) or not registered in time: stop it
        // (a connection that opens later would send nothing, so nothing would ban it) and try a fresh identity.
        nets.pop();
        await net.stop().catch(() => undefined);
        continue;
      }
      if (Date.now() >= stopAt) {
        // Connected only after the window closed: it would send nothing, so nothing could ban it.
        nets.pop();
        await net.stop();
        break;
      }
      connected++;
      const vote = encodeMessage(signVote(createSigner(secret), c.chainId, MsgType.Commit, info.height, info.view, new Uint8Array(32).fill(0xee)));
      // Send until the target cuts this peer off (send throws not-connected / banned) — past the
      // window's close too: one that connected just before it may not have used up its burst
      // allowance yet, and then nothing would ban it (the long campaign failed this way twice).
      try {
        const until = stopAt + drainMs;
        while (Date.now() < until) {
          for (let k = 0; k < txPerTick; k++, txSent++) net.send(t.peerId, 'tx', txFrame);
          for (let k = 0; k < votesPerTick; k++, votesSent++) net.send(t.peerId, 'consensus', vote);
          await new Promise((r) => setTimeout(r, 10));
        }
      } catch {
        // cut off: the next flooder
      }
    }
    await waitFor('every flooder disconnected', () => (nets.every((n) => n.node.getConnections().length === 0) ? true : undefined), drainMs, 100);
  } finally {
    await Promise.allSettled(nets.map((n) => n.stop()));
    rmSync(floodersDir, { recursive: true, force: true });
  }
  const cpu = process.cpuUsage(cpuBefore);
  return { flooders: connected, txSent, votesSent, cpuSec: (cpu.user + cpu.system) / 1e6 };
}

/**
 * The store's whole CPU per connected transaction, LevelDB's background compaction included, and
 * the size it leaves on disk, with table compression off (the default) and on. Run:
 * `npx tsx bench/store.ts [--blocks N] [--rounds N]` (npm run bench:store). Prints JSON lines
 * {"name","value","unit"}; docs/storage.md and docs/performance.md record runs.
 *
 * The chain: 1,650 lanes (the cluster benchmark's mean block), each block spending every lane's
 * previous output into two new ones, keys drawn from 10,000 wallets, real-sized random
 * signatures (connectBlock does not verify them; what is measured is the store). CPU is this
 * process's (every thread) from the first connect until 3 s after the last, so compaction the
 * writes started is counted. The two settings alternate so load from elsewhere falls on both.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBlock, type Block } from '../chain/block.js';
import { BLOCK_REWARD, TxKind } from '../chain/constants.js';
import { publicKeyOf } from '../chain/ed25519.js';
import { createGenesis } from '../chain/genesis.js';
import { sha256 } from '../chain/hash.js';
import { ChainStore } from '../chain/store.js';
import { createTransaction, type Transaction } from '../chain/transaction.js';
import { coinbaseTx } from '../tests/fixtures/chain-builder.js';

const HELP = `Usage: npx tsx bench/store.ts [--blocks N] [--rounds N]   (npm run bench:store)

Connects N blocks of 1,650 transactions to a fresh store with LevelDB compression off and on,
alternating, and prints per setting the CPU per transaction (all threads, compaction included),
the milliseconds per block and the database size.

  --blocks N   blocks per run, 10–2000 (default 200)
  --rounds N   runs of each setting, 1–10 (default 2)
  -h, --help   this text`;

const LANES = 1_650;
const WALLETS = 10_000;
const SETTLE_MS = 3_000;
const T0 = 1_700_000_000_000;

function emit(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit, ...extra }));
}

function option(values: Record<string, string | boolean | undefined>, name: string, def: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return def;
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(n) || n < min || n > max) {
    console.error(`bench/store: --${name} must be an integer from ${min} to ${max} (got ${String(raw)})`);
    process.exit(2);
  }
  return n;
}

/** The genesis and `count` blocks of the lane chain described in the file comment. */
function buildChain(count: number): { genesis: Block; blocks: Block[] } {
  const keys = Array.from({ length: WALLETS }, (_, i) => publicKeyOf(sha256(new TextEncoder().encode(`bench store ${i}`))));
  const genesis = createGenesis({ network: 'dev', timestampMs: T0, allocations: Array.from({ length: LANES }, (_, i) => ({ publicKey: keys[i]!, amount: 100_000_000n })) });
  const lanes = Array.from({ length: LANES }, (_, i) => ({ txid: genesis.txs[0]!.txid, index: i, amount: 100_000_000n }));
  const blocks: Block[] = [];
  let prev = genesis.hash;
  for (let h = 1; h <= count; h++) {
    const txs: Transaction[] = [];
    for (let j = 0; j < LANES; j++) {
      const n = (h - 1) * LANES + j;
      const lane = lanes[j]!;
      const tx = createTransaction({
        kind: TxKind.Transfer,
        inputs: [{ prevTxid: lane.txid, prevIndex: lane.index, signature: randomBytes(64) }],
        outputs: [
          { amount: 1_000n, publicKey: keys[(n * 7_919 + 13) % WALLETS]! },
          { amount: lane.amount - 2_000n, publicKey: keys[n % WALLETS]! },
        ],
      });
      txs.push(tx);
      lanes[j] = { txid: tx.txid, index: 1, amount: lane.amount - 2_000n };
    }
    const fees = 1_000n * BigInt(LANES);
    const coinbase = coinbaseTx(h, BLOCK_REWARD + fees, keys[0]!);
    const block = createBlock({ height: h, prevHash: prev, timestampMs: T0 + h * 1_000, proposer: keys[0]!, view: 0, txs: [coinbase, ...txs] });
    blocks.push(block);
    prev = block.hash;
  }
  return { genesis, blocks };
}

async function run(chain: { genesis: Block; blocks: Block[] }, compression: boolean): Promise<{ cpuUs: number; msPerBlock: number; mb: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'timecoin-bench-store-'));
  try {
    const store = await ChainStore.open(dir, { compression });
    await store.initialize(chain.genesis, 'dev');
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const b of chain.blocks) await store.connectBlock(b);
    const ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const cpu = process.cpuUsage(cpu0);
    await store.close();
    const kb = Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]);
    return { cpuUs: (cpu.user + cpu.system) / (chain.blocks.length * LANES), msPerBlock: ms / chain.blocks.length, mb: kb / 1024 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { blocks: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: false });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const blocks = option(values, 'blocks', 200, 10, 2_000);
  const rounds = option(values, 'rounds', 2, 1, 10);
  console.error(`bench/store: building ${blocks} blocks of ${LANES} transactions`);
  const chain = buildChain(blocks);
  const results = new Map<boolean, { cpuUs: number; msPerBlock: number; mb: number }[]>([[false, []], [true, []]]);
  for (let r = 0; r < rounds; r++) {
    for (const compression of [false, true]) {
      const res = await run(chain, compression);
      console.error(`bench/store: round ${r + 1}, compression ${compression ? 'on' : 'off'}: ${JSON.stringify(res)}`);
      results.get(compression)!.push(res);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const [compression, rs] of results) {
    const setting = compression ? 'on' : 'off';
    const extra = { compression: setting, blocks, txs_per_block: LANES, runs: rs.map((x) => Math.round(x.cpuUs * 10) / 10) };
    emit(`store_cpu_us_per_tx_compression_${setting}`, mean(rs.map((x) => x.cpuUs)), 'µs', extra);
    emit(`store_connect_ms_per_block_compression_${setting}`, mean(rs.map((x) => x.msPerBlock)), 'ms');
    emit(`store_db_mb_compression_${setting}`, mean(rs.map((x) => x.mb)), 'MB');
  }
}

await main();

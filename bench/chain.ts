/**
 * Chain hot-path benchmarks (issue 2). Run: `npx tsx bench/chain.ts`. Prints one JSON line per
 * figure: {"name", "value", "unit"}. Never a pass/fail test; docs/performance.md records runs.
 *
 * - verify_per_sec_single_core (V₁): verifySignature over distinct valid signatures, each under
 *   its own key (cold key cache, as for transactions from many wallets), one thread.
 * - mempool_admission_tx_per_sec: Mempool.accept of 1-input 2-output transfers with fresh
 *   signatures (cold SignatureCache) and fresh keys, against a preloaded view.
 * - admission_ratio_to_v1: the above divided by V₁ (target ≥ 0.7).
 * - block_connect_tx_per_sec_warm_cache: full ~2 MB blocks received as bytes: decodeBlock +
 *   checkBlockSanity + store.loadView + checkBlockContext (SignatureCache warm from admission)
 *   + store.connectBlock on a real LevelDB (sync writes, the node's default) in a temp dir
 *   (target ≥ 20,000 tx/s).
 * - block_batch_ms: milliseconds of the connectBlock call (one LevelDB batch) per block.
 * - Also, for diagnosis: tx and bytes per block, assembly and removeForBlock time, and the
 *   receive path's other phases per block (decode, sanity, loadview, context).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { assembleBlock } from '../chain/assembler.js';
import { decodeBlock } from '../chain/block.js';
import { checkBlockContext, checkBlockSanity } from '../chain/block-rules.js';
import { BLOCK_REWARD, TxKind } from '../chain/constants.js';
import { SignatureCache, createSigner, verifySignature, type Signer } from '../chain/ed25519.js';
import { createGenesis } from '../chain/genesis.js';
import { sha256 } from '../chain/hash.js';
import { Mempool } from '../chain/mempool.js';
import { ChainStore } from '../chain/store.js';
import { createTransaction, outpointKey, txSigningMessage, withSignatures, type Transaction } from '../chain/transaction.js';
import { MapView } from '../chain/utxo.js';

const ascii = (s: string) => new TextEncoder().encode(s);
const ZERO_SIG = new Uint8Array(64);

function emit(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit }));
}

function signers(label: string, count: number): Signer[] {
  return Array.from({ length: count }, (_, i) => createSigner(sha256(ascii(`bench ${label} ${i}`))));
}

/** A 1-input 2-output transfer of `coin`, signed by `owner`, paying `fee`. */
function transfer(chainId: Uint8Array, coin: { txid: Uint8Array; index: number; amount: bigint }, owner: Signer, to: Uint8Array, fee: bigint): Transaction {
  const half = (coin.amount - fee) / 2n;
  const unsigned = createTransaction({
    kind: TxKind.Transfer,
    inputs: [{ prevTxid: coin.txid, prevIndex: coin.index, signature: ZERO_SIG }],
    outputs: [
      { amount: half, publicKey: to },
      { amount: coin.amount - fee - half, publicKey: owner.publicKey },
    ],
  });
  return withSignatures(unsigned, [owner.sign(txSigningMessage(chainId, unsigned.txid, 0))]);
}

/**
 * V₁ and admission, measured in alternating chunks so that load from other processes (this
 * box is shared) falls on both alike and the ratio stays meaningful. V₁: distinct signatures
 * under distinct keys, verified one after another on this thread. Admission: fresh keys,
 * fresh signatures, cold SignatureCache, 1-input 2-output transfers, preloaded MapView.
 */
export function benchVerifyAndAdmission(count: number, chunk: number): { v1: number; admission: number } {
  const chainId = sha256(ascii('bench chain'));
  const vKeys = signers(`verify ${count}`, count);
  const items = vKeys.map((k, i) => {
    const msg = txSigningMessage(chainId, sha256(ascii(`verify msg ${i}`)), 0);
    return { pk: k.publicKey, msg, sig: k.sign(msg) };
  });
  const owners = signers(`admit ${count}`, count);
  const view = new MapView();
  const txs = owners.map((o, i) => {
    const coin = { txid: sha256(ascii(`admit coin ${i}`)), index: 0, amount: 1_000_000n };
    view.entries.set(outpointKey(coin.txid, coin.index), { amount: coin.amount, publicKey: o.publicKey, height: 0, coinbase: false });
    return transfer(chainId, coin, o, owners[(i + 1) % count]!.publicKey, 1_000n);
  });
  const pool = new Mempool({ chainId, sigCache: new SignatureCache(), maxTransactions: count });
  let verifyMs = 0;
  let admitMs = 0;
  let ok = 0;
  for (let start = 0; start < count; start += chunk) {
    const end = Math.min(count, start + chunk);
    const t0 = performance.now();
    for (let i = start; i < end; i++) if (verifySignature(items[i]!.pk, items[i]!.msg, items[i]!.sig)) ok++;
    const t1 = performance.now();
    for (let i = start; i < end; i++) pool.accept(txs[i]!, view, 0);
    const t2 = performance.now();
    verifyMs += t1 - t0;
    admitMs += t2 - t1;
  }
  if (ok !== count || pool.size !== count) throw new Error('benchmark signatures or transactions were refused');
  return { v1: count / (verifyMs / 1000), admission: count / (admitMs / 1000) };
}

interface ConnectFigures {
  txPerSec: number;
  batchMs: number;
  txsPerBlock: number;
  blockBytes: number;
  removeMs: number;
  assembleMs: number;
  /** Mean ms per block of each receive-path phase, to show where connect time goes. */
  phases: Record<string, number>;
}

/** Full blocks through the receiving node's path on a real LevelDB, with the cache warm from admission. */
async function benchConnect(blocks: number): Promise<ConnectFigures> {
  const perBlock = 10_200; // a little more than fits in 2 MB, so blocks are full
  const outputs = blocks * perBlock;
  const keys = signers('connect', 1_000);
  const allocations = Array.from({ length: outputs }, (_, i) => ({ publicKey: keys[i % keys.length]!.publicKey, amount: 100_000_000n }));
  const t0 = 1_700_000_000_000;
  const genesis = createGenesis({ network: 'dev', timestampMs: t0, allocations });
  const chainId = genesis.hash;
  const dir = await mkdtemp(join(tmpdir(), 'timecoin-bench-'));
  const store = await ChainStore.open(dir);
  try {
    await store.initialize(genesis, 'dev');
    const cache = new SignatureCache();
    const pool = new Mempool({ chainId, sigCache: cache, maxTransactions: outputs });
    const cb = genesis.txs[0]!;
    const txs = allocations.map((a, i) => transfer(chainId, { txid: cb.txid, index: i, amount: a.amount }, keys[i % keys.length]!, keys[(i + 7) % keys.length]!.publicKey, 2_000n + BigInt(i % 50)));
    for (let i = 0; i < txs.length; i += 2_000) {
      const slice = txs.slice(i, i + 2_000);
      const view = await store.loadView(slice);
      for (const tx of slice) pool.accept(tx, view, 0);
    }
    let connectMs = 0;
    let batchMs = 0;
    let removeMs = 0;
    let assembleMs = 0;
    let connected = 0;
    let bytes = 0;
    let prev = { hash: genesis.hash, ts: t0 };
    const phases: Record<string, number> = { decode: 0, sanity: 0, loadview: 0, context: 0 };
    for (let h = 1; h <= blocks; h++) {
      const a0 = performance.now();
      const proposed = assembleBlock({ mempool: pool, height: h, prevHash: prev.hash, timestampMs: prev.ts + 1_000, proposer: keys[0]!.publicKey, view: 0, rewardPublicKey: keys[0]!.publicKey, reward: BLOCK_REWARD });
      assembleMs += performance.now() - a0;
      const wire = proposed.bytes;
      const c0 = performance.now();
      const block = decodeBlock(wire);
      const p1 = performance.now();
      checkBlockSanity(block);
      const p2 = performance.now();
      const view = await store.loadView(block.txs);
      const p3 = performance.now();
      checkBlockContext(block, view, { chainId, sigCache: cache, expectedHeight: h, prevHash: prev.hash, parentTimestampMs: prev.ts, nowMs: prev.ts + 1_000, reward: BLOCK_REWARD });
      const b0 = performance.now();
      phases.decode! += p1 - c0;
      phases.sanity! += p2 - p1;
      phases.loadview! += p3 - p2;
      phases.context! += b0 - p3;
      await store.connectBlock(block);
      const c1 = performance.now();
      connectMs += c1 - c0;
      batchMs += c1 - b0;
      connected += block.txs.length;
      bytes += wire.length;
      const r0 = performance.now();
      pool.removeForBlock(block);
      removeMs += performance.now() - r0;
      prev = { hash: block.hash, ts: block.header.timestampMs };
    }
    return {
      txPerSec: connected / (connectMs / 1000),
      batchMs: batchMs / blocks,
      txsPerBlock: connected / blocks,
      blockBytes: bytes / blocks,
      removeMs: removeMs / blocks,
      assembleMs: assembleMs / blocks,
      phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, v / blocks])),
    };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  benchVerifyAndAdmission(500, 100); // warm-up: JIT and OpenSSL initialisation
  const { v1, admission } = benchVerifyAndAdmission(6_000, 200);
  emit('verify_per_sec_single_core', v1, 'verify/s');
  emit('mempool_admission_tx_per_sec', admission, 'tx/s');
  emit('admission_ratio_to_v1', admission / v1, 'ratio');
  const c = await benchConnect(2);
  emit('block_connect_tx_per_sec_warm_cache', c.txPerSec, 'tx/s');
  emit('block_batch_ms', c.batchMs, 'ms');
  emit('block_txs', c.txsPerBlock, 'tx/block');
  emit('block_bytes', c.blockBytes, 'bytes');
  emit('block_assemble_ms', c.assembleMs, 'ms');
  emit('mempool_remove_for_block_ms', c.removeMs, 'ms');
  for (const [phase, ms] of Object.entries(c.phases)) emit(`block_${phase}_ms`, ms, 'ms');
}

// Run only as a script: bench/cluster.ts imports benchVerifyAndAdmission for its V₁.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();

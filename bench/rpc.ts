/**
 * The running node over its RPC (issue 5): a real dev node — the CLI as a child process
 * (`node --import tsx src/cli.ts start --dev`, as tests/e2e/cli-process.test.ts runs it), its own
 * event loop, a temp datadir, real HTTP on 127.0.0.1 — driven from this process.
 *
 * 1. A dedicated API key (scopes read,submit; rate 1,000,000/s) is added with ApiKeyStore, so the
 *    limiter is not what is measured.
 * 2. The dev wallet's genesis coin is split by ONE transaction (buildTransfer) into SPLIT outputs;
 *    we wait for it to be final.
 * 3. `sendrawtransaction_tx_per_sec`: SPLIT pre-signed, independent 1-input 1-output transfers
 *    (each spends its own split output) are submitted over CONNS concurrent keep-alive
 *    connections for at most WINDOW_MS; accepted = answered with a txid. The figure is
 *    accepted ÷ the submission time (which ends early if the transactions run out).
 *    `finalized_tx_per_sec`: accepted ÷ (first submission → the moment every accepted one is
 *    final: mempool empty, each checked with gettransactionfinality).
 * 4. `getblockchaininfo_req_per_sec`: CONNS concurrent keep-alive loops for WINDOW_MS.
 *
 * Prints JSON lines `{"name","value","unit"}`. Run: `npx tsx bench/rpc.ts`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TxKind } from '../chain/constants.js';
import { createSigner } from '../chain/ed25519.js';
import { fromHex, toHex } from '../chain/hash.js';
import { createTransaction, type Transaction } from '../chain/transaction.js';
import { buildTransfer, signInputs } from '../chain/tx-builder.js';
import { ApiKeyStore } from '../rpc/apikeys.js';
import { waitFor } from '../tests/e2e/helpers.js';

const ROOT = resolve(import.meta.dirname, '..');
const SPLIT = Number(process.env.BENCH_SPLIT ?? 20_000);
const CONNS = Number(process.env.BENCH_CONNS ?? 16);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 5_000);

const emit = (name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void =>
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit, ...extra }));
const note = (t: string): void => void process.stderr.write(`bench/rpc: ${t}\n`);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: CONNS });
let port = 0;
let apiKey = '';

/** One POST over the keep-alive agent; resolves with the HTTP status and the parsed body. */
function post(body: string, key = apiKey): Promise<{ status: number; json: { result?: unknown; error?: { code: number; message: string } } }> {
  return new Promise((res, rej) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', method: 'POST', agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          try {
            res({ status: r.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          } catch (e) {
            rej(e as Error);
          }
        });
        r.on('error', rej);
      },
    );
    req.on('error', rej);
    req.end(body);
  });
}

let nextId = 1;
async function call<T>(method: string, params: unknown[] = [], key = apiKey): Promise<T> {
  const r = await post(JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }), key);
  if (r.json.error) throw new Error(`${method}: ${r.json.error.code} ${r.json.error.message}`);
  return r.json.result as T;
}


const datadir = mkdtempSync(join(tmpdir(), 'timecoin-bench-rpc-'));
port = await freePort();
const env: NodeJS.ProcessEnv = {};
for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TIMECOIN_') && v !== undefined) env[k] = v;
env.TIMECOIN_LOG_LEVEL = 'warn';
const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--dev', '--datadir', datadir, '--rpc-port', String(port)], {
  cwd: ROOT,
  env,
  stdio: ['ignore', 'ignore', 'pipe'],
});
let childErr = '';
child.stderr.on('data', (d: Buffer) => (childErr += d.toString()));
const childExit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));

try {
  await waitFor('/health 200', async () => {
    if (child.exitCode !== null) throw new Error(`node exited: ${childErr}`);
    const s = await new Promise<number>((res, rej) => request({ host: '127.0.0.1', port, path: '/health', agent }, (r) => (r.resume(), res(r.statusCode ?? 0))).on('error', rej).end());
    return s === 200 ? true : undefined;
  }, 60_000, 50);

  // 1. A dedicated key: the node re-reads apikeys.json within a second. Poll slowly, so the
  //    not-yet-known key does not use up loopback's failed-auth budget (10, refilled 1/s).
  apiKey = new ApiKeyStore(datadir).create({ scopes: ['read', 'submit'], name: 'bench', ratePerSecond: 1_000_000 }).key;
  await waitFor('the bench key', async () => ((await post(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'getblockcount' }))).status === 200 ? true : undefined), 10_000, 300);

  // 2. Split the genesis coin into SPLIT outputs with one transaction.
  const wallet = JSON.parse(readFileSync(join(datadir, 'dev-wallet.json'), 'utf8')) as { address: string; privateKey: string };
  const signer = createSigner(fromHex(wallet.privateKey));
  const chainId = fromHex((await call<{ chainid: string }>('getblockchaininfo')).chainid);
  const unspent = await call<{ txid: string; vout: number; amount: string }[]>('listunspent', [wallet.address]);
  const coins = unspent.map((u) => ({ txid: fromHex(u.txid), index: u.vout, amount: BigInt(u.amount) }));
  const total = coins.reduce((s, c) => s + c.amount, 0n);
  const each = total / BigInt(SPLIT + 1);
  const split = buildTransfer({ chainId, signer, coins, recipients: Array.from({ length: SPLIT }, () => ({ amount: each, publicKey: signer.publicKey })), feeRate: 1n });
  const splitId = await call<string>('sendrawtransaction', [toHex(split.bytes)]);
  const splitFinal = await call<{ finalized: boolean }>('waittransactionfinality', [splitId, 60_000]);
  if (!splitFinal.finalized) throw new Error('the split transaction did not become final');
  note(`split into ${SPLIT} outputs of ${each} units (${split.bytes.length} bytes), final`);

  // 3. Pre-sign SPLIT independent transfers, one per split output (fee ≈ 1 unit/byte, generous).
  const t0sign = performance.now();
  const txs: Transaction[] = [];
  for (let i = 0; i < SPLIT; i++) {
    const unsigned = createTransaction({
      kind: TxKind.Transfer,
      inputs: [{ prevTxid: split.txid, prevIndex: i, signature: new Uint8Array(64) }],
      outputs: [{ amount: each - 1_000n, publicKey: signer.publicKey }],
    });
    txs.push(signInputs(unsigned, chainId, signer));
  }
  const bodies = txs.map((t, i) => JSON.stringify({ jsonrpc: '2.0', id: i, method: 'sendrawtransaction', params: [toHex(t.bytes)] }));
  note(`pre-signed ${SPLIT} transactions (${txs[0]!.bytes.length} bytes each) in ${Math.round(performance.now() - t0sign)} ms`);

  let cursor = 0;
  let accepted = 0;
  const refused = new Map<string, number>();
  const acceptedIds: string[] = [];
  const start = performance.now();
  const stopAt = start + WINDOW_MS;
  await Promise.all(
    Array.from({ length: CONNS }, async () => {
      while (performance.now() < stopAt && cursor < bodies.length) {
        const i = cursor++;
        const r = await post(bodies[i]!);
        if (typeof r.json.result === 'string') {
          accepted++;
          acceptedIds.push(r.json.result);
        } else {
          const k = `${r.status} ${r.json.error?.code} ${r.json.error?.message}`;
          refused.set(k, (refused.get(k) ?? 0) + 1);
        }
      }
    }),
  );
  const submitMs = performance.now() - start;
  emit('sendrawtransaction_tx_per_sec', (accepted / submitMs) * 1000, 'tx/s', { accepted, submitted: cursor, ms: Math.round(submitMs), conns: CONNS, refused: Object.fromEntries(refused) });

  await waitFor('every accepted transaction to be final', async () => ((await call<{ size: number }>('getmempoolinfo')).size === 0 ? true : undefined), 120_000, 10);
  const finalMs = performance.now() - start;
  // Check them all (after the timing): each accepted one must be final.
  for (let i = 0; i < acceptedIds.length; i += 100) {
    const batch = acceptedIds.slice(i, i + 100).map((txid, j) => ({ jsonrpc: '2.0', id: j, method: 'gettransactionfinality', params: [txid] }));
    const r = await post(JSON.stringify(batch));
    const answers = r.json as unknown as { result?: { finalized: boolean } }[];
    if (!answers.every((a) => a.result?.finalized === true)) throw new Error('an accepted transaction is not final');
  }
  const info = await call<{ blocks: number }>('getblockchaininfo');
  emit('finalized_tx_per_sec', (accepted / finalMs) * 1000, 'tx/s', { accepted, ms: Math.round(finalMs), height: info.blocks });

  // 4. getblockchaininfo, concurrent, keep-alive.
  let served = 0;
  let failed = 0;
  const s2 = performance.now();
  const stop2 = s2 + WINDOW_MS;
  await Promise.all(
    Array.from({ length: CONNS }, async () => {
      while (performance.now() < stop2) {
        const r = await post('{"jsonrpc":"2.0","id":1,"method":"getblockchaininfo"}');
        if (r.status === 200 && r.json.result !== undefined) served++;
        else failed++;
      }
    }),
  );
  const readMs = performance.now() - s2;
  emit('getblockchaininfo_req_per_sec', (served / readMs) * 1000, 'req/s', { served, failed, ms: Math.round(readMs), conns: CONNS });
  note(`cores ${availableParallelism()}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
} finally {
  child.kill('SIGTERM');
  const code = await Promise.race([childExit, new Promise<string>((r) => setTimeout(() => r('no exit in 15 s'), 15_000))]);
  agent.destroy();
  if (code !== 0) {
    note(`node exit: ${code}; stderr: ${childErr}`);
    process.exitCode = 1;
  }
  rmSync(datadir, { recursive: true, force: true });
}

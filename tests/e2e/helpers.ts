/**
 * Shared set-up for the e2e tests: a real dev node (in-process `Node.create()` or the real CLI
 * process) in a temp datadir, a raw JSON-RPC client over real HTTP, the dev wallet, and
 * `waitFor` — poll a condition until a deadline, never sleep-and-hope.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAddress } from '../../chain/address.js';
import { createSigner, type Signer } from '../../chain/ed25519.js';
import { fromHex } from '../../chain/hash.js';
import { buildTransfer, type Coin } from '../../chain/tx-builder.js';
import type { Transaction } from '../../chain/transaction.js';
import { loadConfig } from '../../src/config.js';
import { Node } from '../../src/node.js';

/** A fresh temp directory. */
export function tempDir(prefix = 'timecoin-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Start an in-process dev node on a free RPC port with quiet logs and a generous RPC rate. */
export async function startDevNode(datadir: string, opts: { idleMs?: number; txBatchDelayMs?: number; env?: Record<string, string> } = {}): Promise<Node> {
  const config = loadConfig({
    flags: { dev: true, datadir },
    env: {
      TIMECOIN_LOG_LEVEL: 'silent',
      TIMECOIN_CONSENSUS_IDLE_BLOCK_INTERVAL_MS: String(opts.idleMs ?? 60_000),
      ...opts.env,
    },
  });
  return Node.create({ config, rpcPort: 0, rpcLimits: { defaultRatePerSecond: 100_000 }, ...(opts.txBatchDelayMs === undefined ? {} : { txBatchDelayMs: opts.txBatchDelayMs }) });
}

export interface RpcReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { result?: unknown; error?: { code: number; message: string; data?: unknown } | null; id?: unknown };
}

/** One JSON-RPC 2.0 call over HTTP (key null: no Authorization header). */
export async function rpcRaw(url: string, key: string | null, method: string, params: unknown[] = []): Promise<RpcReply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as RpcReply['body'] };
}

/** A JSON-RPC client bound to a node URL and key; `call` throws on a JSON-RPC error. */
export class Rpc {
  constructor(
    readonly url: string,
    readonly key: string,
  ) {}

  raw(method: string, params: unknown[] = []): Promise<RpcReply> {
    return rpcRaw(this.url, this.key, method, params);
  }

  async call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const r = await this.raw(method, params);
    if (r.body.error) throw new Error(`${method}: ${r.body.error.code} ${r.body.error.message}`);
    return r.body.result as T;
  }

  /** The JSON-RPC error a call must produce. */
  async error(method: string, params: unknown[] = []): Promise<{ code: number; message: string; data?: unknown }> {
    const r = await this.raw(method, params);
    if (!r.body.error) throw new Error(`${method} succeeded, an error was expected: ${JSON.stringify(r.body.result)}`);
    return r.body.error;
  }
}

/** Poll `fn` until it returns a non-undefined value, or fail at the deadline naming `what`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Wait until a node process answers /health at `url` with 200; fails at once if it exited (`stderr`: what it said). */
export async function waitForHealth(url: string, child: { readonly exitCode: number | null }, stderr: () => string): Promise<void> {
  await waitFor(
    'the node to answer /health',
    async () => {
      if (child.exitCode !== null) throw new Error(`node exited early: ${stderr()}`);
      return (await fetch(new URL('health', url))).status === 200 ? true : undefined;
    },
    30_000,
    100,
  );
}

/** The dev wallet of a datadir, as a signer. */
export function devWallet(datadir: string): { address: string; signer: Signer } {
  const w = JSON.parse(readFileSync(join(datadir, 'dev-wallet.json'), 'utf8')) as { address: string; privateKey: string };
  return { address: w.address, signer: createSigner(fromHex(w.privateKey)) };
}

/** The dev API key of a datadir. */
export function devApiKey(datadir: string): string {
  return readFileSync(join(datadir, 'dev-apikey'), 'utf8').trim();
}

interface Unspent {
  txid: string;
  vout: number;
  amount: string;
  height: number;
}

/** Spendable coins of `address`, from listunspent. */
export async function coinsOf(rpc: Rpc, address: string): Promise<Coin[]> {
  const list = await rpc.call<Unspent[]>('listunspent', [address]);
  return list.map((u) => ({ txid: fromHex(u.txid), index: u.vout, amount: BigInt(u.amount) }));
}

/** Build and sign a transfer of `amount` units from `from` to the address `to` (fee rate 1). */
export async function transfer(rpc: Rpc, from: { address: string; signer: Signer }, to: string, amount: bigint, chainId: string): Promise<Transaction> {
  return buildTransfer({
    chainId: fromHex(chainId),
    signer: from.signer,
    coins: await coinsOf(rpc, from.address),
    recipients: [{ amount, publicKey: decodeAddress(to, 'dev') }],
    feeRate: 1n,
  });
}

/** A free TCP port on 127.0.0.1 (for the CLI process, whose config refuses port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** N·2 consecutive free ports (node i: P + 2i, P + 2i + 1), found by probing. */
export async function freeBase(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = await freePort();
    const base = p - (p % 2);
    if (base + 2 * n > 65535) continue;
    let ok = true;
    for (let q = base; q < base + 2 * n && ok; q++) ok = await portFree(q);
    if (ok) return base;
  }
  throw new Error('no run of free ports found');
}

/** True when 127.0.0.1:port can be bound right now. */
export async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** SIGTERM a child process, SIGKILL it if it has not exited 5 s later; resolves on exit. */
export function stopProcess(p: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    const t = setTimeout(() => p.kill('SIGKILL'), 5_000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

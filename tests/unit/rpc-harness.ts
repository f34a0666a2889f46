/**
 * Shared set-up for the rpc-*.test.ts files: a real RPC server on 127.0.0.1 (port 0) with a small
 * real method table, a real key store in a temp dir, and a raw HTTP client (new connection per call).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { AddressError, DecodeError, RuleError, StoreError, type RuleCode } from '../../chain/errors.js';
import { ApiKeyStore } from '../../rpc/apikeys.js';
import { RpcError } from '../../rpc/errors.js';
import type { RpcLimits } from '../../rpc/limits.js';
import { defineMethod, type MethodTable } from '../../rpc/methods.js';
import { createRpcServer, type RpcServer, type RpcServerOptions } from '../../rpc/server.js';

/** Every JSON-RPC error code docs/rpc.md documents. */
export const DOCUMENTED_CODES = new Set([-32700, -32600, -32601, -32602, -32603, -32001, -32002, -32005, -8, -5, -22, -25, -26, -27]);

/** The test method table: real handlers, no chain. */
export function testMethods(hooks: { onStart?: () => void; onAbort?: () => void } = {}): MethodTable {
  return {
    echo: defineMethod({ scope: 'read', params: [{ name: 'value', type: 'any', optional: true }], handler: ([v]) => v ?? null }),
    add: defineMethod({
      scope: 'read',
      params: [
        { name: 'a', type: 'uint' },
        { name: 'b', type: 'uint', optional: true, default: 0 },
      ],
      handler: ([a, b]) => a + b,
    }),
    hash: defineMethod({ scope: 'read', params: [{ name: 'hash', type: ['hash', 'uint'] }], handler: ([h]) => h }),
    admin_only: defineMethod({ scope: 'admin', params: [], handler: () => 'admin ok' }),
    submit_only: defineMethod({ scope: 'submit', params: [{ name: 'hex', type: 'hex', maxLength: 8 }], handler: ([h]) => h }),
    amounts: defineMethod({
      scope: 'read',
      params: [],
      handler: () => ({ amount: 150_000_000n, bytes: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) }),
    }),
    cyclic: defineMethod({
      scope: 'read',
      params: [],
      handler: () => {
        const o: Record<string, unknown> = {};
        o['self'] = o;
        return o;
      },
    }),
    /** Throws the error named by its argument, to exercise the error table over HTTP. */
    fail: defineMethod({
      scope: 'submit',
      params: [{ name: 'what', type: 'string' }],
      handler: ([what]) => {
        if (what === 'decode') throw new DecodeError('decode-truncated', 'ran out of bytes');
        if (what === 'address') throw new AddressError('address-bad-checksum', 'bad checksum');
        if (what === 'store-not-found') throw new StoreError('store-not-found', 'no such block');
        if (what === 'store-corrupt') throw new StoreError('store-corrupt', 'SECRET-PATH /root/db');
        if (what === 'rpc-8') throw new RpcError(-8, 'Block height out of range');
        if (what === 'plain') throw new Error('SECRET-DETAIL passphrase=hunter2');
        if (what === 'string') throw 'a thrown string';
        throw new RuleError(what as RuleCode, `rule ${what} broken`);
      },
    }),
    /** Waits `ms` (server-side work that keeps the socket quiet), or until the request is aborted. */
    slow: defineMethod({
      scope: 'read',
      params: [{ name: 'ms', type: 'uint', max: 60_000 }],
      handler: ([ms], ctx) =>
        new Promise((resolve) => {
          hooks.onStart?.();
          const t = setTimeout(() => resolve('done'), ms);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(t);
            hooks.onAbort?.();
            resolve('aborted');
          });
        }),
    }),
  };
}

export interface Harness {
  port: number;
  dir: string;
  store: ApiKeyStore;
  server: RpcServer;
  keys: { read: string; submit: string; admin: string; all: string };
  logs: string[];
  clock: { t: number };
  close(): Promise<void>;
}

/** Starts a server with keys read/submit/admin/all; `clock.t` is the injected time. */
export async function startHarness(
  o: { limits?: Partial<RpcLimits>; server?: Partial<RpcServerOptions>; rate?: number; methods?: MethodTable } = {},
): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'timecoin-rpc-'));
  const clock = { t: 1_700_000_000_000 };
  const now = (): number => clock.t;
  const store = new ApiKeyStore(dir, { now, reloadIntervalMs: 0 });
  const rate = o.rate !== undefined ? { ratePerSecond: o.rate } : {};
  const keys = {
    read: store.create({ scopes: ['read'], name: 'reader', ...rate }).key,
    submit: store.create({ scopes: ['submit'], name: 'submitter', ...rate }).key,
    admin: store.create({ scopes: ['admin'], name: 'administrator', ...rate }).key,
    all: store.create({ scopes: ['read', 'submit', 'admin'], name: 'everything', ...rate }).key,
  };
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void logs.push(s) });
  const server = createRpcServer({
    port: 0,
    methods: o.methods ?? testMethods(),
    apiKeys: store,
    metricsAuth: true,
    health: () => true,
    logger,
    now,
    limits: o.limits,
    ...o.server,
  });
  const port = await server.listen();
  return {
    port,
    dir,
    store,
    server,
    keys,
    logs,
    clock,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One HTTP request on a fresh connection. `body` objects are JSON-encoded. */
export function request(
  port: number,
  o: { method?: string; path?: string; key?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  const headers: Record<string, string> = { ...o.headers };
  if (o.key) headers['Authorization'] = `Bearer ${o.key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: o.method ?? 'POST', path: o.path ?? '/', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = undefined;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** POST a JSON-RPC body with a key. */
export const rpc = (port: number, key: string | null, body: unknown): Promise<Reply> => request(port, { key, body });

/**
 * The RPC server over real HTTP on 127.0.0.1: auth (401/403/429), rate limits, key changes while
 * running, routes, /health, /metrics, and no secrets in logs. Socket-level limits: rpc-limits.test.ts.
 */
import { Command } from 'commander';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../rpc/apikeys.js';
import { createRpcServer } from '../../rpc/server.js';
import { registerApikeyCommand } from '../../src/commands/apikey.js';
import { waitFor } from '../e2e/helpers.js';
import { request, rpc, startHarness, testMethods, type Harness } from './rpc-harness.js';

const call = (method: string, params: unknown[] = [], id: unknown = 1) => ({ jsonrpc: '2.0', method, params, id });

describe('rpc auth', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('missing key → 401 with −32001 and WWW-Authenticate', async () => {
    const r = await rpc(h.port, null, call('echo', [1]));
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe(-32001);
    expect(r.json.id).toBeNull();
    expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('unknown, malformed and near-miss keys → 401 with −32001', async () => {
    const near = h.keys.read.slice(0, -1) + (h.keys.read.endsWith('A') ? 'B' : 'A');
    for (const key of ['tc_nope', near, 'x'.repeat(5000)]) {
      const r = await rpc(h.port, key, call('echo', [1]));
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe(-32001);
    }
    const r = await request(h.port, { body: call('echo', [1]), headers: { Authorization: 'Token abc' } });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe(-32001);
  });

  it('a valid key works; Basic auth with the key as password works too', async () => {
    const r = await rpc(h.port, h.keys.read, call('echo', ['hi']));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ jsonrpc: '2.0', result: 'hi', id: 1 });
    const basic = Buffer.from(`anyuser:${h.keys.read}`).toString('base64');
    const b = await request(h.port, { body: call('echo', [2]), headers: { Authorization: `Basic ${basic}` } });
    expect(b.status).toBe(200);
    expect(b.json.result).toBe(2);
  });

  it('a method outside the key scopes → 403 with −32002, in the caller shape', async () => {
    const r = await rpc(h.port, h.keys.read, call('admin_only', [], 7));
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32002 }, id: 7 });
    const legacy = await rpc(h.port, h.keys.read, { method: 'admin_only', params: [], id: 'x' });
    expect(legacy.status).toBe(403);
    expect(legacy.json).toMatchObject({ result: null, error: { code: -32002 }, id: 'x' });
    // admin does not imply read
    const a = await rpc(h.port, h.keys.admin, call('echo', [1]));
    expect(a.status).toBe(403);
    expect(a.json.error.code).toBe(-32002);
    const ok = await rpc(h.port, h.keys.admin, call('admin_only'));
    expect(ok.json.result).toBe('admin ok');
    const all = await rpc(h.port, h.keys.all, [call('echo', [1], 1), call('admin_only', [], 2), call('submit_only', ['ab'], 3)]);
    expect(all.json.map((e: { result: unknown }) => e.result)).toEqual([1, 'admin ok', 'ab']);
  });

  it('scope is checked before params: a read key learns nothing about admin params', async () => {
    const r = await rpc(h.port, h.keys.read, call('submit_only', [{ bad: true }, 1, 2]));
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe(-32002);
  });

  it('a batch with a forbidden entry answers −32002 in that slot with HTTP 200', async () => {
    const r = await rpc(h.port, h.keys.read, [call('echo', ['a'], 1), call('admin_only', [], 2)]);
    expect(r.status).toBe(200);
    expect(r.json[0]).toEqual({ jsonrpc: '2.0', result: 'a', id: 1 });
    expect(r.json[1].error.code).toBe(-32002);
  });

  it('never logs a key, its hash or an Authorization header', async () => {
    await request(h.port, { body: call('echo', [1]), headers: { Authorization: `Bearer ${h.keys.all}` } });
    await rpc(h.port, 'tc_wrong-key-SECRET', call('echo', [1]));
    await rpc(h.port, h.keys.submit, call('fail', ['plain']));
    const text = h.logs.join('');
    for (const k of Object.values(h.keys)) {
      expect(text).not.toContain(k);
      expect(text).not.toContain(k.slice(3, 20));
    }
    expect(text).not.toContain('SECRET-key');
    expect(text).not.toContain('wrong-key');
    expect(text.toLowerCase()).not.toContain('authorization');
    const file = JSON.parse((await import('node:fs')).readFileSync(h.store.file, 'utf8')) as { keys: { hash: string }[] };
    for (const k of file.keys) expect(text).not.toContain(k.hash);
    expect(text).toContain('rpc auth failed');
  });
});

describe('rpc rate limits', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('over the key rate → 429 with Retry-After and −32005; refills with time', async () => {
    h = await startHarness({ rate: 1 }); // burst 2
    expect((await rpc(h.port, h.keys.read, call('echo', [1]))).status).toBe(200);
    expect((await rpc(h.port, h.keys.read, call('echo', [2]))).status).toBe(200);
    const r = await rpc(h.port, h.keys.read, call('echo', [3], 9));
    expect(r.status).toBe(429);
    expect(r.json.error.code).toBe(-32005);
    expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(Number(r.headers['retry-after']))).toBe(true);
    // another key has its own bucket
    expect((await rpc(h.port, h.keys.all, call('echo', [1]))).status).toBe(200);
    h.clock.t += 1000;
    expect((await rpc(h.port, h.keys.read, call('echo', [4]))).status).toBe(200);
    expect((await rpc(h.port, h.keys.read, call('echo', [5]))).status).toBe(429);
  });

  it('a batch costs one token per entry', async () => {
    h = await startHarness({ rate: 5 }); // burst 10
    const batch = Array.from({ length: 10 }, (_, i) => call('echo', [i], i));
    const r = await rpc(h.port, h.keys.read, batch);
    expect(r.status).toBe(200);
    expect(r.json).toHaveLength(10);
    const next = await rpc(h.port, h.keys.read, call('echo', [1]));
    expect(next.status).toBe(429);
    expect(next.json.error.code).toBe(-32005);
    h.clock.t += 200; // one token back
    expect((await rpc(h.port, h.keys.read, call('echo', [1]))).status).toBe(200);
    // a batch larger than the burst is admitted on a full bucket, then paid for
    h.clock.t += 10_000;
    const big = Array.from({ length: 30 }, (_, i) => call('echo', [i], i));
    expect((await rpc(h.port, h.keys.read, big)).status).toBe(200);
    h.clock.t += 1000;
    const after = await rpc(h.port, h.keys.read, call('echo', [1]));
    expect(after.status).toBe(429);
    expect(Number(after.headers['retry-after'])).toBeGreaterThanOrEqual(3);
  });

  it('repeated failed auth from one address → 429 even for a valid key, until it refills', async () => {
    h = await startHarness({ limits: { authFailureBurst: 3, authFailuresPerSecond: 1 } });
    for (let i = 0; i < 3; i++) expect((await rpc(h.port, 'tc_guess' + i, call('echo'))).status).toBe(401);
    const blocked = await rpc(h.port, h.keys.read, call('echo', [1]));
    expect(blocked.status).toBe(429);
    expect(blocked.json.error.code).toBe(-32005);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // a missing header is not a guess and does not count
    h.clock.t += 1000;
    expect((await rpc(h.port, null, call('echo'))).status).toBe(401);
    expect((await rpc(h.port, h.keys.read, call('echo', [1]))).status).toBe(200);
  });

  it('reports rate-limited requests to the metrics hook by scope', async () => {
    const seen: string[] = [];
    h = await startHarness({ rate: 1, limits: { authFailureBurst: 1 }, server: { metrics: { rateLimited: (s) => void seen.push(s) } } });
    for (let i = 0; i < 3; i++) await rpc(h.port, h.keys.submit, call('fail', ['dust']));
    await rpc(h.port, 'tc_bad', call('echo'));
    await rpc(h.port, 'tc_bad', call('echo'));
    expect(seen).toEqual(['submit', 'unauthenticated']);
  });
});

describe('rpc http responses metric', () => {
  let h: Harness;
  afterEach(() => h?.close());

  it('counts each response once by its status: 200, 401, 403, 404, 405, 413, 429 and a call error inside a 200', async () => {
    const seen: number[] = [];
    h = await startHarness({ rate: 1, limits: { maxBodyBytes: 1024 }, server: { metrics: { rateLimited: () => undefined, httpResponse: (s) => void seen.push(s) } } });
    const expected: number[] = [];
    const expectStatus = async (status: number, p: Promise<{ status: number }>): Promise<void> => {
      expect((await p).status).toBe(status);
      expected.push(status);
    };
    await expectStatus(200, rpc(h.port, h.keys.read, call('echo', [1])));
    await expectStatus(200, rpc(h.port, h.keys.all, call('nope'))); // −32601 rides in a 200
    await expectStatus(401, rpc(h.port, null, call('echo')));
    await expectStatus(403, rpc(h.port, h.keys.read, call('admin_only')));
    await expectStatus(404, request(h.port, { method: 'GET', path: '/nope', key: h.keys.read }));
    await expectStatus(405, request(h.port, { method: 'GET', path: '/', key: h.keys.read }));
    await expectStatus(413, request(h.port, { method: 'POST', path: '/', key: h.keys.admin, body: JSON.stringify(call('echo', ['x'.repeat(2000)])) }));
    await expectStatus(200, rpc(h.port, h.keys.all, call('echo', [2]))); // the key's burst of 2 (1 a second) used up
    await expectStatus(429, rpc(h.port, h.keys.all, call('echo', [3])));
    await waitFor('every response counted', () => (seen.length >= expected.length ? true : undefined), 5_000);
    expect(seen).toEqual(expected);
  });
});

describe('rpc keys change while running', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('a key revoked by another process → 401 without restart', async () => {
    expect((await rpc(h.port, h.keys.submit, call('submit_only', ['ab']))).status).toBe(200);
    new ApiKeyStore(h.dir).revoke('submitter'); // a separate store, as the CLI would be
    const r = await rpc(h.port, h.keys.submit, call('submit_only', ['ab']));
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe(-32001);
  });

  it('a key created with `timecoin apikey create` → works at once', async () => {
    let stdout = '';
    let stderr = '';
    const program = new Command().exitOverride();
    registerApikeyCommand(program, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
    await program.parseAsync(['node', 'timecoin', 'apikey', 'create', '--scope', 'admin', '--datadir', h.dir]);
    const key = stdout.trim();
    expect(key).toMatch(/^tc_[A-Za-z0-9_-]{43}$/);
    expect(stderr).not.toContain(key);
    const r = await rpc(h.port, key, call('admin_only'));
    expect(r.status).toBe(200);
    expect(r.json.result).toBe('admin ok');
  });
});

describe('rpc routes, /health and /metrics', () => {
  let h: Harness;
  let healthy = true;
  beforeAll(async () => {
    h = await startHarness({
      server: {
        health: () => healthy,
        metricsHandler: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'timecoin_chain_height 5\n' }),
      },
    });
  });
  afterAll(() => h.close());

  it('/health → 200 {status:"ok"} when serving, 503 otherwise, no key needed', async () => {
    const ok = await request(h.port, { method: 'GET', path: '/health' });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ status: 'ok' });
    healthy = false;
    const down = await request(h.port, { method: 'GET', path: '/health' });
    expect(down.status).toBe(503);
    expect(down.json.status).toBe('unavailable');
    healthy = true;
  });

  it('unknown paths → 404, wrong HTTP methods → 405 with Allow', async () => {
    expect((await request(h.port, { method: 'GET', path: '/nope', key: h.keys.read })).status).toBe(404);
    expect((await request(h.port, { method: 'POST', path: '/wallet', key: h.keys.read, body: '{}' })).status).toBe(404);
    const r = await request(h.port, { method: 'GET', path: '/', key: h.keys.read });
    expect(r.status).toBe(405);
    expect(r.headers['allow']).toBe('POST');
    expect((await request(h.port, { method: 'POST', path: '/health' })).status).toBe(405);
    expect((await request(h.port, { method: 'DELETE', path: '/metrics' })).status).toBe(405);
  });

  it('/metrics with metricsAuth: 401 without a key, 403 without read, 200 with read', async () => {
    const none = await request(h.port, { method: 'GET', path: '/metrics' });
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe(-32001);
    expect((await request(h.port, { method: 'GET', path: '/metrics', key: h.keys.admin })).status).toBe(403);
    const ok = await request(h.port, { method: 'GET', path: '/metrics', key: h.keys.read });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('text/plain; version=0.0.4');
    expect(ok.text).toBe('timecoin_chain_height 5\n');
  });

  it('/metrics without metricsAuth needs no key; without a handler it is 404', async () => {
    const logger = pino({ level: 'silent' });
    const base = { port: 0, methods: testMethods(), apiKeys: h.store, health: () => true, logger };
    const open = createRpcServer({ ...base, metricsAuth: false, metricsHandler: async () => ({ contentType: 'text/plain', body: 'x 1\n' }) });
    const none = createRpcServer({ ...base, metricsAuth: false });
    const [p1, p2] = [await open.listen(), await none.listen()];
    try {
      expect((await request(p1, { method: 'GET', path: '/metrics' })).status).toBe(200);
      expect((await request(p2, { method: 'GET', path: '/metrics' })).status).toBe(404);
    } finally {
      await open.close();
      await none.close();
    }
  });
});

/**
 * Fuzzing the RPC server of a REAL dev node (in-process `Node.create`, real LevelDB in a temp
 * datadir, real HTTP on 127.0.0.1): random bytes, random JSON, mutated valid requests for every
 * method of the node's method table, batches around the cap, 100k-deep nesting, bodies over the
 * size limit, slow clients and a crowd of half-open sockets. Every answer must carry a documented
 * HTTP status and only JSON-RPC codes of `RpcCode`; afterwards the node still answers and its tip
 * has not moved. `TIMECOIN_LONG=1` multiplies the run counts (docs/rpc.md "Fuzzing").
 */
import { rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../rpc/apikeys.js';
import { httpStatusFor } from '../../rpc/envelope.js';
import { RpcCode } from '../../rpc/errors.js';
import { loadConfig } from '../../src/config.js';
import { Node } from '../../src/node.js';
import { request, type Reply } from '../unit/rpc-harness.js';
import { devApiKey, tempDir, waitFor } from './helpers.js';
import { anyMethodRequest, METHODS, openHalf, rawExchange, structuredTx, TABLE, trickle } from './rpc-fuzz-lib.js';

const LONG = process.env['TIMECOIN_LONG'] === '1';
/** Run count: `n` normally, 20·n under TIMECOIN_LONG=1. */
const runs = (n: number): number => (LONG ? n * 20 : n);
/** Per-test timeout of the property tests (long runs take minutes). */
const T = LONG ? 600_000 : 60_000;

/** Short timeouts so the slow-client cases take seconds; the rest are the node's defaults. */
const LIMITS = { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, keepAliveTimeoutMs: 1_000, defaultRatePerSecond: 1_000_000, authFailureBurst: 100_000 };
/** Node checks the two timeouts on a timer (rpc/server.ts: a quarter of headersTimeoutMs, ≥ 50 ms). */
const CHECK_INTERVAL_MS = 250;
/** Scheduling slack on a loaded 2-core machine. */
const SLACK_MS = 4_000;

/** Every JSON-RPC error code the server may send: the table itself, not a copy. */
const CODES = new Set<number>(Object.values(RpcCode));
/** HTTP statuses docs/rpc.md lists for an authenticated POST / (401/429 cannot occur with these keys). */
const STATUSES = new Set([200, 204, 400, 403, 404, 413, 500]);

let datadir: string;
let node: Node;
let port: number;
let allKey: string;
let readKey: string;
/** The node's body and batch limits (config `rpc.maxBodyBytes`, `rpc.maxBatch`). */
let maxBodyBytes: number;
let maxBatch: number;

beforeAll(async () => {
  datadir = tempDir('timecoin-rpcfuzz-');
  const config = loadConfig({
    flags: { dev: true, datadir },
    // No idle blocks: the tip may move only if a fuzzed request made a block, which must not happen.
    env: { TIMECOIN_LOG_LEVEL: 'silent', TIMECOIN_CONSENSUS_IDLE_BLOCK_INTERVAL_MS: '600000' },
  });
  maxBodyBytes = config.rpc.maxBodyBytes;
  maxBatch = config.rpc.maxBatch;
  node = await Node.create({ config, rpcPort: 0, rpcLimits: LIMITS });
  port = node.rpcPort;
  allKey = devApiKey(datadir);
  readKey = new ApiKeyStore(datadir).create({ scopes: ['read'], name: 'fuzz-reader' }).key;
  // The server re-reads apikeys.json at most once a second.
  await waitFor('read key loaded', async () => ((await post('{"method":"getblockcount","id":1}', readKey)).status === 200 ? true : undefined), 10_000, 200);
}, 60_000);

afterAll(async () => {
  await node?.close();
  if (datadir !== undefined) rmSync(datadir, { recursive: true, force: true });
});

/** POST a raw body (string or bytes) with a key. */
function post(body: string | Buffer, key = allKey): Promise<Reply> {
  return request(port, { key, body: typeof body === 'string' ? body : body.toString('latin1') });
}

/** The tip as getblockchaininfo reports it. */
async function tip(): Promise<{ blocks: number; bestblockhash: string; finalizedhash: string }> {
  const r = await post('{"jsonrpc":"2.0","method":"getblockchaininfo","id":"tip"}');
  expect(r.status).toBe(200);
  const { blocks, bestblockhash, finalizedhash } = r.json.result;
  return { blocks, bestblockhash, finalizedhash };
}

/**
 * Every answer: a documented status; 204 empty; otherwise JSON whose entries have the caller's
 * shape and only codes of the table; a single answer's status is the one docs/rpc.md gives for
 * its version and code (403 for a scope failure, 200 for every 2.0 error, Bitcoin Core's legacy
 * statuses for 1.0); a batch answer is 200.
 */
function checkReply(r: Reply): void {
  const head = `${r.status} ${r.text.slice(0, 300)}`;
  expect(STATUSES.has(r.status), head).toBe(true);
  if (r.status === 204) {
    expect(r.text, head).toBe('');
    return;
  }
  expect(r.json, head).toBeDefined();
  const answers: unknown[] = Array.isArray(r.json) ? r.json : [r.json];
  if (Array.isArray(r.json)) expect(r.status, head).toBe(200);
  for (const a of answers) {
    expect(typeof a === 'object' && a !== null && !Array.isArray(a), head).toBe(true);
    const o = a as Record<string, unknown>;
    expect(Object.hasOwn(o, 'id'), head).toBe(true);
    expect(o['id'] === null || ['string', 'number'].includes(typeof o['id']), head).toBe(true);
    const v2 = Object.hasOwn(o, 'jsonrpc');
    if (v2) {
      expect(o['jsonrpc'], head).toBe('2.0');
      expect(Object.hasOwn(o, 'result') !== Object.hasOwn(o, 'error'), head).toBe(true);
    } else expect(Object.hasOwn(o, 'result') && Object.hasOwn(o, 'error'), head).toBe(true);
    const err = o['error'] as { code: unknown; message: unknown } | null | undefined;
    if (err !== null && err !== undefined) {
      expect(CODES.has(err.code as number), `undocumented code in ${head}`).toBe(true);
      expect(typeof err.message, head).toBe('string');
      // Bad input is always the caller's error: an internal error here is a bug the fuzz found.
      expect(err.code, `internal error for client input: ${head}`).not.toBe(RpcCode.InternalError);
    }
    if (!Array.isArray(r.json)) {
      const error = err === null || err === undefined ? null : (err as { code: number; message: string });
      const want = error?.code === RpcCode.Forbidden ? 403 : r.status === 413 ? 413 : httpStatusFor(v2 ? '2.0' : '1.0', error);
      expect(r.status, head).toBe(want);
    }
  }
  if (r.status === 413) expect(r.json.error.code, head).toBe(RpcCode.InvalidRequest);
}

/** docs/rpc.md: a 2.0 request without an `id` member, otherwise well-formed, is a notification. */
function isNotification(e: unknown): boolean {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return false;
  const o = e as Record<string, unknown>;
  const p = o['params'];
  const paramsOk = p === undefined || p === null || Array.isArray(p);
  return o['jsonrpc'] === '2.0' && !Object.hasOwn(o, 'id') && typeof o['method'] === 'string' && paramsOk;
}

// ---------------------------------------------------------------------------------------------

describe('RPC fuzz against a real dev node', () => {
  let before: Awaited<ReturnType<typeof tip>>;
  beforeAll(async () => {
    before = await tip();
  });

  it('covers every method of the node table (and the table is the one served)', async () => {
    expect(METHODS.length).toBeGreaterThanOrEqual(25);
    for (const m of METHODS) {
      // A surplus parameter: every method refuses it with −32602, so none of them runs.
      const r = await post(JSON.stringify({ jsonrpc: '2.0', method: m, params: Array(TABLE[m]!.params.length + 1).fill(0), id: m }));
      checkReply(r);
      expect(r.json.error.code, m).toBe(RpcCode.InvalidParams);
    }
  });

  it('random bytes as bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        const r = await post(Buffer.from(bytes));
        checkReply(r);
      }),
      { numRuns: runs(100) },
    );
  }, T);

  it('random JSON values as bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (v) => checkReply(await post(JSON.stringify(v)))),
      { numRuns: runs(100) },
    );
  }, T);

  it('mutated valid requests for every method (all-scopes key and read-only key)', async () => {
    await fc.assert(
      fc.asyncProperty(anyMethodRequest, fc.boolean(), async (req, readOnly) => {
        checkReply(await post(JSON.stringify(req), readOnly ? readKey : allKey));
      }),
      { numRuns: runs(400) },
    );
  }, T);

  it('canonical transactions of every kind with random fields and payloads: a rule error, never an internal one', async () => {
    await fc.assert(
      fc.asyncProperty(structuredTx, fc.array(structuredTx, { minLength: 1, maxLength: 4 }), async (one, many) => {
        const r = await post(JSON.stringify([
          { jsonrpc: '2.0', method: 'sendrawtransaction', params: [one], id: 1 },
          { jsonrpc: '2.0', method: 'testmempoolaccept', params: [many], id: 2 },
        ]));
        checkReply(r);
        // Random signatures over random inputs are never valid: nothing may enter the pool.
        expect(r.json[0].error, JSON.stringify(r.json[0])).toBeDefined();
        for (const t of r.json[1].result ?? []) expect(t.allowed, JSON.stringify(t)).toBe(false);
      }),
      { numRuns: runs(150) },
    );
  }, T);

  it('batches of random size: empty, mixed, at the cap and over it', async () => {
    const cap = maxBatch;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.array(anyMethodRequest, { maxLength: 12 }), fc.integer({ min: cap - 1, max: cap + 30 })), async (b) => {
        const batch = Array.isArray(b) ? b : Array.from({ length: b }, (_, i) => ({ jsonrpc: '2.0', method: 'getblockcount', id: i }));
        const r = await post(JSON.stringify(batch));
        checkReply(r);
        if (batch.length === 0 || batch.length > cap) {
          expect(r.json).toMatchObject({ error: { code: RpcCode.InvalidRequest }, id: null });
        } else {
          // Notifications (well-formed 2.0 calls without an id) get no slot; every other entry one.
          const answered = batch.filter((e) => !isNotification(e)).length;
          if (answered === 0) expect(r.status).toBe(204);
          else expect(r.json).toHaveLength(answered);
        }
      }),
      { numRuns: runs(40) },
    );
  }, T);

  it('random byte edits of a valid batch', async () => {
    const base = JSON.stringify([
      { jsonrpc: '2.0', method: 'getblock', params: [0, 2], id: 1 },
      { method: 'getblockhash', params: [0], id: 'x' },
      { jsonrpc: '2.0', method: 'sendrawtransaction', params: ['0100'], id: 2 },
      { jsonrpc: '2.0', method: 'gettxout', params: ['00'.repeat(32), 0, true], id: 3 },
    ]);
    const edit = fc.record({ at: fc.nat(base.length), del: fc.nat(4), ins: fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('[', '{', '"', '\\', ',', '1e400', '\u0000')) });
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 5 }), async (edits) => {
        let s = base;
        for (const e of edits) {
          const at = Math.min(e.at, s.length);
          s = s.slice(0, at) + e.ins + s.slice(at + e.del);
        }
        // A byte edit cannot produce "stop": the base has no such method and edits add ≤ 4 characters at a time.
        checkReply(await post(s));
      }),
      { numRuns: runs(150) },
    );
  }, T);

  it('numbers JSON cannot hold exactly, as raw text in every uint position', async () => {
    for (const m of METHODS) {
      const spec = TABLE[m]!.params;
      const at = spec.findIndex((d) => (typeof d.type === 'string' ? [d.type] : d.type).includes('uint'));
      if (at < 0 || m === 'stop') continue;
      for (const lit of ['1e400', '-1e400', '-0', '1.0', '1e2', '123456789012345678901234567890', '9007199254740993', '0.1e1']) {
        const params = spec.slice(0, at).map(() => '"' + '00'.repeat(32) + '"');
        // A height it accepts would wait for that block: a 0 ms timeout answers at once (rpc-fuzz-lib `defuse`).
        const after = m === 'waitforblockheight' ? ['0'] : [];
        const r = await post(`{"jsonrpc":"2.0","method":"${m}","params":[${[...params, lit, ...after].join(',')}],"id":1}`);
        checkReply(r);
      }
    }
  });

  it('deep nesting (100k levels) as body, params, id and method: no stack overflow, no hang', async () => {
    const n = 100_000;
    const bodies = [
      '['.repeat(n),
      '['.repeat(n) + ']'.repeat(n),
      '{"a":'.repeat(n) + '1' + '}'.repeat(n),
      `{"jsonrpc":"2.0","method":"getblock","params":[${'['.repeat(n)}${']'.repeat(n)}],"id":1}`,
      `{"jsonrpc":"2.0","method":"testmempoolaccept","params":[[${'['.repeat(n)}${']'.repeat(n)}]],"id":1}`,
      `{"jsonrpc":"2.0","method":"getblockcount","id":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`,
      `{"jsonrpc":"2.0","method":${'['.repeat(n)}${']'.repeat(n)},"id":1}`,
      `[${Array.from({ length: 50 }, () => `{"jsonrpc":"2.0","method":"getblockhash","params":[${'['.repeat(2_000)}${']'.repeat(2_000)}],"id":1}`).join(',')}]`,
    ];
    for (const b of bodies) checkReply(await post(b));
    expect((await post('['.repeat(n))).json.error.code).toBe(RpcCode.ParseError);
  });

  it('bodies over the size limit → 413 with −32600, declared or chunked', async () => {
    const limit = maxBodyBytes;
    const big = JSON.stringify({ jsonrpc: '2.0', method: 'sendrawtransaction', params: ['00'.repeat(limit / 2 + 8)], id: 1 });
    const r = await post(big);
    checkReply(r);
    expect(r.status).toBe(413);
    // Chunked, no Content-Length: cut off as soon as the limit is passed.
    const chunked = await rawExchange(
      port,
      [`POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${allKey}\r\nTransfer-Encoding: chunked\r\n\r\n`, ...Array.from({ length: 5 }, () => `100000\r\n${'['.repeat(0x100000)}\r\n`), '0\r\n\r\n'],
      10_000,
    );
    expect(chunked.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(chunked.closed, 'connection closed after the 413').toBe(true);
  });

  it('a client trickling its headers slower than headersTimeoutMs is answered 408 and closed in time', async () => {
    const start = Date.now();
    const r = await trickle(port, `POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${allKey}\r\nX-Pad: ${'a'.repeat(200)}`, 100, LIMITS.headersTimeoutMs + CHECK_INTERVAL_MS + SLACK_MS);
    expect(r.closed, 'socket closed by the server').toBe(true);
    expect(r.ms).toBeGreaterThanOrEqual(LIMITS.headersTimeoutMs - 50);
    expect(r.ms).toBeLessThanOrEqual(LIMITS.headersTimeoutMs + CHECK_INTERVAL_MS + SLACK_MS);
    expect(r.text === '' || /^HTTP\/1\.1 408 /.test(r.text), r.text.slice(0, 80)).toBe(true);
    expect(Date.now() - start).toBeLessThan(LIMITS.headersTimeoutMs + CHECK_INTERVAL_MS + SLACK_MS + 1_000);
  });

  it('a client trickling its body slower than requestTimeoutMs is answered 408 and closed in time', async () => {
    const body = '{"jsonrpc":"2.0","method":"getblockcount","id":1}'.padEnd(400, ' ');
    const head = `POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${allKey}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const r = await trickle(port, body, 100, LIMITS.requestTimeoutMs + CHECK_INTERVAL_MS + SLACK_MS, head);
    expect(r.closed, 'socket closed by the server').toBe(true);
    expect(r.ms).toBeLessThanOrEqual(LIMITS.requestTimeoutMs + CHECK_INTERVAL_MS + SLACK_MS);
    expect(r.text === '' || /^HTTP\/1\.1 408 /.test(r.text), r.text.slice(0, 80)).toBe(true);
  });

  it('a crowd of half-open sockets (over maxConnections) is shed, then the node serves again', async () => {
    const crowd = 100; // > maxConnections (64): half send part of a head, half send nothing at all
    const heads = [`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n`, ''];
    const sockets = await Promise.all(Array.from({ length: crowd }, (_, i) => openHalf(port, heads[i % 2]!)));
    await waitFor(
      'every half-open socket closed by the server',
      () => (sockets.every((s) => s.closed) ? true : undefined),
      LIMITS.headersTimeoutMs + CHECK_INTERVAL_MS + SLACK_MS * 2,
      50,
    );
    for (const s of sockets) s.socket.destroy();
    checkReply(await post('{"jsonrpc":"2.0","method":"getblockchaininfo","id":1}'));
  });

  it('malformed and mutated HTTP request heads: a documented status, the socket closed, never a hang', async () => {
    const good = `POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${allKey}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
    const heads = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 120 }).map((b) => Buffer.from(b).toString('latin1') + '\r\n\r\n'),
      fc.record({ at: fc.nat(good.length), del: fc.nat(6), ins: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('\r\n', '\n', '\0', ' ', ':', '-1', 'chunked', '99999999999999999999')) }).map(
        (e) => good.slice(0, e.at) + e.ins + good.slice(e.at + e.del),
      ),
      fc.constantFrom(
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`,
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n`,
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        `POST / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(10_000)}\r\n\r\n`,
        `POST / HTTP/9.9\r\n\r\n`,
        `GET /${'%'.repeat(3000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      ),
    );
    // Node's HTTP parser answers what never reaches the JSON-RPC layer (docs/rpc.md "Malformed HTTP").
    const HTTP_STATUSES = new Set([...STATUSES, 401, 405, 408, 431]);
    await fc.assert(
      fc.asyncProperty(heads, async (head) => {
        const r = await rawExchange(port, [head], LIMITS.requestTimeoutMs + CHECK_INTERVAL_MS + SLACK_MS);
        const m = /^HTTP\/1\.1 (\d{3}) /.exec(r.text);
        // Either an answer with a documented status, or a close without one (a refused connection).
        if (m !== null) expect(HTTP_STATUSES.has(Number(m[1])), r.text.slice(0, 120)).toBe(true);
        else expect(r.text, JSON.stringify(head.slice(0, 80))).toBe('');
      }),
      { numRuns: runs(60) },
    );
    checkReply(await post('{"jsonrpc":"2.0","method":"getblockchaininfo","id":1}'));
  }, T);

  it('random Authorization headers: 401 or 429 in the 2.0 shape, nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')), fc.constantFrom('Bearer', 'Basic', 'Bearer tc_', `Basic ${Buffer.from('u:').toString('base64')}`, `Bearer ${allKey}x`)),
        async (h) => {
          const r = await request(port, { body: '{"jsonrpc":"2.0","method":"getblockcount","id":1}', headers: { Authorization: h } });
          expect([401, 429]).toContain(r.status);
          expect(r.json).toMatchObject({ jsonrpc: '2.0', id: null });
          expect([RpcCode.Unauthorized, RpcCode.RateLimited]).toContain(r.json.error.code);
        },
      ),
      { numRuns: runs(30) },
    );
  }, T);

  it('afterwards: the node answers getblockchaininfo, is healthy, and its tip has not moved', async () => {
    expect(await tip()).toEqual(before);
    const h = await request(port, { method: 'GET', path: '/health' });
    expect(h.status).toBe(200);
    const pool = await post('{"jsonrpc":"2.0","method":"getrawmempool","id":1}');
    expect(pool.json.result).toEqual([]);
  });
});

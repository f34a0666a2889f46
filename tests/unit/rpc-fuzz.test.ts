/**
 * Hostile bodies against a real server: random JSON, mutated valid requests, deep nesting, huge
 * batches. The server must never crash and must answer every one with a documented status and,
 * when there is a body, documented JSON-RPC error codes.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENTED_CODES, request, rpc, startHarness, type Harness, type Reply } from './rpc-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ rate: 1_000_000, limits: { maxBodyBytes: 512 * 1024 } });
});
afterAll(() => h.close());

const STATUSES = new Set([200, 204, 400, 403, 404, 413, 500]);

/** Every answer is a documented status with well-formed JSON-RPC answers inside. */
function checkReply(r: Reply): void {
  expect(STATUSES.has(r.status), `status ${r.status}: ${r.text.slice(0, 200)}`).toBe(true);
  if (r.status === 204) {
    expect(r.text).toBe('');
    return;
  }
  if (r.status === 413) return;
  expect(r.json, r.text.slice(0, 200)).toBeDefined();
  const answers: unknown[] = Array.isArray(r.json) ? r.json : [r.json];
  for (const a of answers) {
    const o = a as Record<string, unknown>;
    expect(typeof o).toBe('object');
    expect('id' in o).toBe(true);
    if (o['jsonrpc'] === '2.0') expect('result' in o !== 'error' in o).toBe(true);
    else expect('result' in o && 'error' in o).toBe(true);
    const err = o['error'] as { code: number; message: string } | null | undefined;
    if (err !== null && err !== undefined) {
      expect(DOCUMENTED_CODES.has(err.code), `code ${err.code}`).toBe(true);
      expect(typeof err.message).toBe('string');
    }
  }
}

const METHODS = ['echo', 'add', 'hash', 'admin_only', 'submit_only', 'fail', 'amounts', 'nosuch', 'constructor', '__proto__'];

/** A plausible request object with random members. */
const requestArb = fc.record(
  {
    jsonrpc: fc.constantFrom('2.0', '1.0', '3.0', 2, null),
    method: fc.oneof(fc.constantFrom(...METHODS), fc.string(), fc.integer()),
    params: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })),
    id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.jsonValue({ maxDepth: 1 })),
  },
  { requiredKeys: [] },
);

describe('fuzz', () => {
  it('random JSON values as bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (v) => checkReply(await rpc(h.port, h.keys.all, JSON.stringify(v)))),
      { numRuns: 150 },
    );
  });

  it('random request objects and batches of them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(requestArb, fc.array(requestArb, { maxLength: 8 })), async (body) =>
        checkReply(await rpc(h.port, h.keys.read, JSON.stringify(body))),
      ),
      { numRuns: 200 },
    );
  });

  it('valid requests with random byte edits', async () => {
    const base = JSON.stringify([
      { jsonrpc: '2.0', method: 'add', params: [1, 2], id: 1 },
      { method: 'hash', params: ['ab'.repeat(32)], id: 'x' },
      { jsonrpc: '2.0', method: 'fail', params: ['bad-signature'], id: 2 },
    ]);
    const edit = fc.record({ at: fc.nat(base.length), del: fc.nat(4), ins: fc.string({ maxLength: 4 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 4 }), async (edits) => {
        let s = base;
        for (const e of edits) {
          const at = Math.min(e.at, s.length);
          s = s.slice(0, at) + e.ins + s.slice(at + e.del);
        }
        checkReply(await rpc(h.port, h.keys.all, s));
      }),
      { numRuns: 200 },
    );
  });

  it('deep nesting: 100k open brackets, 100k balanced, deep params', async () => {
    const open = await rpc(h.port, h.keys.all, '['.repeat(100_000));
    checkReply(open);
    expect(open.json.error.code).toBe(-32700);
    const balanced = await rpc(h.port, h.keys.all, '['.repeat(100_000) + ']'.repeat(100_000));
    checkReply(balanced);
    const deep = `{"jsonrpc":"2.0","method":"echo","params":[${'['.repeat(100_000)}${']'.repeat(100_000)}],"id":1}`;
    const r = await rpc(h.port, h.keys.all, deep);
    checkReply(r);
    const objs = `{"jsonrpc":"2.0","method":"echo","params":[${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}],"id":1}`;
    checkReply(await rpc(h.port, h.keys.all, objs));
    // still serving
    expect((await rpc(h.port, h.keys.all, { jsonrpc: '2.0', method: 'add', params: [1], id: 1 })).json.result).toBe(1);
  });

  it('huge batches are one −32600; huge params are 413 or answered', async () => {
    const big = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ jsonrpc: '2.0', method: 'echo', id: i })));
    const r = await rpc(h.port, h.keys.all, big);
    checkReply(r);
    expect(r.json.error.code).toBe(-32600);
    const nums = '[' + Array.from({ length: 60_000 }, () => '1').join(',') + ']';
    checkReply(await rpc(h.port, h.keys.all, nums));
    const over = await rpc(h.port, h.keys.all, JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: ['x'.repeat(600_000)], id: 1 }));
    expect(over.status).toBe(413);
  });

  it('odd bytes and encodings', async () => {
    for (const body of ['\u0000', '\ufeff{"method":"echo","id":1}', '{"method":"echo","id":1e400}', '{"method":"echo","id":-0}', '"\\ud800"']) {
      checkReply(await rpc(h.port, h.keys.all, body));
    }
    const bin = await request(h.port, { key: h.keys.all, body: Buffer.from([0xff, 0xfe, 0x00, 0x7b]).toString('latin1') });
    checkReply(bin);
  });
});

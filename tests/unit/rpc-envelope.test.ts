/**
 * The JSON-RPC envelope over real HTTP: 2.0 and 1.0 shapes and their HTTP statuses, batches and
 * notifications, the −327xx codes, parameter validation and the error-code table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuleCode } from '../../chain/errors.js';
import { parseEnvelope } from '../../rpc/envelope.js';
import { RULE_CODE_TO_RPC, toRpcError } from '../../rpc/errors.js';
import { validateParams, type ParamSpec } from '../../rpc/methods.js';
import { rpc, startHarness, type Harness } from './rpc-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ rate: 1_000_000 });
});
afterAll(() => h.close());

const v2 = (method: string, params?: unknown, id: unknown = 1) => ({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }), id });
const post = (body: unknown, key?: string) => rpc(h.port, key ?? h.keys.all, body);

describe('shapes', () => {
  it('2.0 success: {jsonrpc, result, id} and no error key', async () => {
    const r = await post(v2('add', [2, 3], 'abc'));
    expect(r.status).toBe(200);
    expect(r.json).toStrictEqual({ jsonrpc: '2.0', result: 5, id: 'abc' });
  });

  it('1.0 (jsonrpc "1.0" or absent) success: {result, error: null, id}', async () => {
    for (const body of [{ method: 'add', params: [1], id: 3 }, { jsonrpc: '1.0', method: 'add', params: [1], id: 3 }]) {
      const r = await post(body);
      expect(r.status).toBe(200);
      expect(r.json).toStrictEqual({ result: 1, error: null, id: 3 });
    }
    const noId = await post({ method: 'echo' });
    expect(noId.json).toStrictEqual({ result: null, error: null, id: null });
  });

  it('2.0 errors are HTTP 200 with {jsonrpc, error, id} and no result key', async () => {
    const r = await post(v2('nosuch', [], 4));
    expect(r.status).toBe(200);
    expect(r.json).toStrictEqual({ jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 4 });
  });

  it("1.0 errors use Bitcoin Core's legacy statuses: 404 no method, 400 invalid request, 500 others", async () => {
    const missing = await post({ method: 'nosuch', params: [], id: 1 });
    expect(missing.status).toBe(404);
    expect(missing.json).toStrictEqual({ result: null, error: { code: -32601, message: 'Method not found' }, id: 1 });
    const invalid = await post({ method: 42, id: 2 });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ result: null, error: { code: -32600 }, id: 2 });
    const params = await post({ method: 'add', params: ['x'], id: 3 });
    expect(params.status).toBe(500);
    expect(params.json.error.code).toBe(-32602);
    const rule = await post({ method: 'fail', params: ['bad-signature'], id: 4 });
    expect(rule.status).toBe(500);
    expect(rule.json.error).toMatchObject({ code: -26, message: 'bad-signature' });
  });

  it('bigint results become decimal strings and bytes lowercase hex', async () => {
    const r = await post(v2('amounts'));
    expect(r.json.result).toStrictEqual({ amount: '150000000', bytes: 'deadbeef' });
  });
});

describe('request errors', () => {
  it('unparseable JSON → −32700, id null, 2.0 shape', async () => {
    for (const body of ['{', '', 'nul', '{"jsonrpc":"2.0","method":"echo",}', '\u00ff\u00fe']) {
      const r = await post(body);
      expect(r.status).toBe(200);
      expect(r.json).toStrictEqual({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
    }
  });

  it('−32600: empty batch, batch over the cap, non-object bodies, bad members', async () => {
    const empty = await post([]);
    expect(empty.json).toMatchObject({ error: { code: -32600, message: expect.stringContaining('empty batch') }, id: null });
    const big = await post(Array.from({ length: h.server.limits.maxBatch + 1 }, (_, i) => v2('echo', [i], i)));
    expect(big.status).toBe(200);
    expect(big.json.error.code).toBe(-32600);
    expect(big.json.error.message).toContain('exceeds the limit of 100');
    for (const body of ['5', '"x"', 'null', 'true']) expect((await post(body)).json.error.code).toBe(-32600);
    const cases = [
      { jsonrpc: '2.0', method: 5, id: 1 },
      { jsonrpc: '2.0', id: 1 },
      { jsonrpc: '3.0', method: 'echo', id: 1 },
      { jsonrpc: 2, method: 'echo', id: 1 },
      { jsonrpc: '2.0', method: 'echo', id: { a: 1 } },
      { jsonrpc: '2.0', method: 'echo', id: [1] },
      { jsonrpc: '2.0', method: 'echo', params: 'x', id: 1 },
      { jsonrpc: '2.0', method: 'echo', params: 7, id: 1 },
    ];
    for (const c of cases) {
      const r = await post(c);
      expect(r.status).toBe(200);
      expect(r.json.error.code, JSON.stringify(c)).toBe(-32600);
    }
    expect((await post({ jsonrpc: '2.0', method: 'echo', id: { a: 1 } })).json.id).toBeNull();
  });

  it('−32601 for unknown names, including Object.prototype names', async () => {
    for (const m of ['nosuch', 'constructor', '__proto__', 'toString', 'hasOwnProperty', '', 'ECHO']) {
      const r = await post(v2(m));
      expect(r.json.error.code, m).toBe(-32601);
    }
  });

  it('−32602: too many params, wrong types, missing required, named params', async () => {
    const cases: unknown[][] = [[1, 2, 3], ['1'], [-1], [1.5], [2 ** 53], [], [null], [true]];
    for (const params of cases) {
      const r = await post(v2('add', params));
      expect(r.json.error.code, JSON.stringify(params)).toBe(-32602);
    }
    expect((await post(v2('add', { a: 1 }))).json.error.code).toBe(-32602);
    expect((await post(v2('submit_only', ['abc']))).json.error.code).toBe(-32602); // odd length
    expect((await post(v2('submit_only', ['00'.repeat(9)]))).json.error.code).toBe(-32602); // > 8 bytes
    expect((await post(v2('submit_only', ['zz']))).json.error.code).toBe(-32602);
    expect((await post(v2('hash', ['ab'.repeat(31)]))).json.error.code).toBe(-32602);
  });

  it('null or absent params are an empty list; null or missing optional params take defaults', async () => {
    expect((await post({ jsonrpc: '2.0', method: 'echo', params: null, id: 1 })).json.result).toBeNull();
    expect((await post(v2('add', [4, null]))).json.result).toBe(4);
    expect((await post(v2('add', [4]))).json.result).toBe(4);
    expect((await post(v2('hash', ['AB'.repeat(32)]))).json.result).toBe('ab'.repeat(32));
    expect((await post(v2('hash', [12]))).json.result).toBe(12);
  });
});

describe('batches and notifications', () => {
  it('a batch mixes results and errors in order; notifications get no entry', async () => {
    const r = await post([
      v2('add', [1, 1], 1),
      v2('nosuch', [], 2),
      { jsonrpc: '2.0', method: 'echo', params: ['note'] }, // notification
      { method: 'add', params: [5], id: 'legacy' },
      v2('add', ['x'], 3),
      42,
      v2('fail', ['missing-inputs'], 4),
    ]);
    expect(r.status).toBe(200);
    expect(r.json).toStrictEqual([
      { jsonrpc: '2.0', result: 2, id: 1 },
      { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 2 },
      { result: 5, error: null, id: 'legacy' },
      { jsonrpc: '2.0', error: expect.objectContaining({ code: -32602 }), id: 3 },
      { jsonrpc: '2.0', error: expect.objectContaining({ code: -32600 }), id: null },
      { jsonrpc: '2.0', error: expect.objectContaining({ code: -25, message: 'missing-inputs' }), id: 4 },
    ]);
  });

  it('a single 2.0 notification, and a batch of only notifications, → 204 with no body', async () => {
    const one = await post({ jsonrpc: '2.0', method: 'echo', params: [1] });
    expect(one.status).toBe(204);
    expect(one.text).toBe('');
    const all = await post([{ jsonrpc: '2.0', method: 'echo' }, { jsonrpc: '2.0', method: 'nosuch' }]);
    expect(all.status).toBe(204);
    expect(all.text).toBe('');
  });

  it('a batch of exactly the cap is served', async () => {
    const r = await post(Array.from({ length: 100 }, (_, i) => v2('add', [i], i)));
    expect(r.json).toHaveLength(100);
    expect(r.json[99]).toStrictEqual({ jsonrpc: '2.0', result: 99, id: 99 });
  });
});

describe('the error-code table', () => {
  it('maps every RuleCode: missing-inputs −25, already-in-chain −27, others −26 named by the rule', async () => {
    for (const rule of Object.values(RuleCode)) {
      const want = rule === 'missing-inputs' ? -25 : rule === 'already-in-chain' ? -27 : -26;
      expect(RULE_CODE_TO_RPC[rule]).toBe(want);
      const r = await post(v2('fail', [rule]));
      expect(r.json.error.code, rule).toBe(want);
      expect(r.json.error.message).toBe(rule);
    }
  });

  it('DecodeError −22, AddressError −5, StoreError not-found −5, RpcError passes through', async () => {
    expect((await post(v2('fail', ['decode']))).json.error).toMatchObject({ code: -22, message: 'TX decode failed: decode-truncated' });
    expect((await post(v2('fail', ['address']))).json.error).toMatchObject({ code: -5, message: 'Invalid address: address-bad-checksum' });
    expect((await post(v2('fail', ['store-not-found']))).json.error).toMatchObject({ code: -5 });
    expect((await post(v2('fail', ['rpc-8']))).json.error).toStrictEqual({ code: -8, message: 'Block height out of range' });
  });

  it('unexpected errors are −32603 "Internal error" with no detail, logged server-side', async () => {
    for (const what of ['plain', 'string', 'store-corrupt']) {
      const r = await post(v2('fail', [what]));
      expect(r.json.error).toStrictEqual({ code: -32603, message: 'Internal error' });
      expect(r.text).not.toContain('SECRET');
      expect(r.text).not.toContain('at ');
    }
    const cyc = await post(v2('cyclic'));
    expect(cyc.json.error).toStrictEqual({ code: -32603, message: 'Internal error' });
    expect(h.logs.join('')).toContain('rpc handler failed');
  });

  it('toRpcError never passes a foreign message through', () => {
    expect(toRpcError(new TypeError('x')).error).toStrictEqual({ code: -32603, message: 'Internal error' });
    expect(toRpcError(undefined).unexpected).toBe(true);
  });
});

describe('parseEnvelope and validateParams (pure)', () => {
  it('classifies versions and notifications', () => {
    const e = parseEnvelope('[{"jsonrpc":"2.0","method":"a"},{"method":"a"},{"jsonrpc":null,"method":"a","id":1}]', 100);
    expect(e.kind).toBe('batch');
    if (e.kind !== 'batch') return;
    expect(e.entries.map((x) => (x.kind === 'call' ? [x.version, x.notification, x.id] : x.kind))).toEqual([
      ['2.0', true, null],
      ['1.0', false, null],
      ['1.0', false, 1],
    ]);
  });

  it('treats __proto__ members as plain data', () => {
    const e = parseEnvelope('{"__proto__":{"method":"evil"},"jsonrpc":"2.0","id":1}', 100);
    expect(e.kind === 'single' && e.entry.kind === 'invalid' && e.entry.error.code).toBe(-32600);
  });

  it('validates arrays with item specs and unions', () => {
    const spec: ParamSpec = [{ name: 'txs', type: 'array', maxLength: 2, items: { name: 'tx', type: 'hex' } }];
    expect(validateParams(spec, [['AA', 'bb']])).toEqual([['aa', 'bb']]);
    expect(() => validateParams(spec, [['aa', 'bb', 'cc']])).toThrow(/at most 2 items/);
    expect(() => validateParams(spec, [['aa', 5]])).toThrow(/txs\[1\]/);
    const uint: ParamSpec = [{ name: 'n', type: 'uint', min: 1, max: 3 }];
    expect(() => validateParams(uint, [0])).toThrow(/from 1 to 3/);
    expect(validateParams(uint, [3])).toEqual([3]);
  });
});

import { describe, expect, it } from 'vitest';
import type { KeyRecord } from '../../rpc/apikeys.js';
import { dispatchBatch } from '../../rpc/dispatch.js';
import type { Call, Entry } from '../../rpc/envelope.js';
import { defineMethod, type MethodTable, type RpcContext } from '../../rpc/methods.js';

const key: KeyRecord = { id: 'k1', name: null, scopes: ['read', 'submit'], ratePerSecond: null, createdAt: '2026-11-21T00:00:00Z' };
const ctx = (): RpcContext => ({ keyId: key.id, scopes: key.scopes, remoteAddress: '127.0.0.1', signal: new AbortController().signal });
const call = (id: number, method: string, params: unknown[]): Call => ({ kind: 'call', version: '2.0', id, notification: false, method, params });

/** A table whose `echo` records what its batch hook saw and the order its calls ran in. */
function table(hook: (list: string[]) => Promise<void>) {
  const ran: string[] = [];
  const methods: MethodTable = {
    echo: defineMethod({
      scope: 'submit',
      params: [{ name: 'text', type: 'string', maxLength: 10 }],
      handler: async ([text]) => {
        ran.push(text);
        return text;
      },
      prepareBatch: async (list) => hook(list.map(([t]) => t)),
    }),
    admin: defineMethod({ scope: 'admin', params: [], handler: async () => 'no', prepareBatch: async () => hook(['admin']) }),
  };
  return { methods, ran };
}

describe('JSON-RPC batch preparation hook', () => {
  it('sees the valid, permitted entries of its method once, before they run in order', async () => {
    const seen: string[][] = [];
    let ranBeforeHook = -1;
    const { methods, ran } = table(async (list) => {
      ranBeforeHook = ran.length;
      seen.push(list);
    });
    const entries: Entry[] = [call(1, 'echo', ['a']), call(2, 'admin', []), call(3, 'echo', [42]), call(4, 'echo', ['b']), call(5, 'nope', [])];
    const answer = await dispatchBatch(entries, key, ctx(), { methods, onUnexpected: () => undefined });
    expect(seen).toEqual([['a', 'b']]); // not the bad-params entry, not a method outside the key's scopes
    expect(ranBeforeHook).toBe(0);
    expect(ran).toEqual(['a', 'b']);
    const body = JSON.parse(answer.body!) as { id: number; result?: unknown; error?: { code: number } }[];
    expect(body.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    expect(body[0]!.result).toBe('a');
    expect(body[1]!.error!.code).toBe(-32002);
    expect(body[2]!.error!.code).toBe(-32602);
  });

  it('a failing hook is reported as unexpected and every entry still runs', async () => {
    const unexpected: string[] = [];
    const { methods, ran } = table(async () => {
      throw new Error('hook broke');
    });
    const answer = await dispatchBatch([call(1, 'echo', ['x']), call(2, 'echo', ['y'])], key, ctx(), { methods, onUnexpected: (err) => unexpected.push((err as Error).message) });
    expect(unexpected).toEqual(['hook broke']);
    expect(ran).toEqual(['x', 'y']);
    expect((JSON.parse(answer.body!) as { result: string }[]).map((r) => r.result)).toEqual(['x', 'y']);
  });
});

/**
 * Runs parsed JSON-RPC entries for an authenticated key: method lookup, scope check, parameter
 * validation, the handler, error mapping; then decides the HTTP status of the answer.
 */
import type { KeyRecord } from './apikeys.js';
import { httpStatusFor, serializeResponse, type Call, type Entry } from './envelope.js';
import { RpcCode, toRpcError, type RpcErrorObject } from './errors.js';
import { lookupMethod, validateParams, type MethodDef, type MethodTable, type RpcContext } from './methods.js';

/** What the server writes back: a status and a JSON body (null → no body, 204). */
export interface HttpAnswer {
  status: number;
  body: string | null;
}

export interface DispatchDeps {
  methods: MethodTable;
  /** Called with anything a handler threw that is not a documented error (it is logged, not sent). */
  onUnexpected: (err: unknown, method: string) => void;
}

type Outcome = { result: unknown } | { error: RpcErrorObject; forbidden?: true };

/** Runs one call: −32601 unknown method, −32002 outside the key's scopes, −32602 bad params. */
export async function runCall(call: Call, key: KeyRecord, ctx: RpcContext, deps: DispatchDeps): Promise<Outcome> {
  const def = lookupMethod(deps.methods, call.method);
  if (def === undefined) return { error: { code: RpcCode.MethodNotFound, message: 'Method not found' } };
  // Scope before params: a key must not learn anything about methods it may not call.
  if (!key.scopes.includes(def.scope)) {
    return {
      error: { code: RpcCode.Forbidden, message: `Forbidden: this method needs an API key with the '${def.scope}' scope` },
      forbidden: true,
    };
  }
  try {
    const params = validateParams(def.params, call.params);
    return { result: await def.handler(params, ctx) };
  } catch (err) {
    const { error, unexpected } = toRpcError(err);
    if (unexpected) deps.onUnexpected(err, call.method);
    return { error };
  }
}

/**
 * Answers a single entry. Status: 403 when the scope check failed; 204 for a 2.0 notification;
 * otherwise `httpStatusFor` (always 200 in 2.0, Bitcoin Core's legacy statuses in 1.0).
 */
export async function dispatchSingle(entry: Entry, key: KeyRecord, ctx: RpcContext, deps: DispatchDeps): Promise<HttpAnswer> {
  const onFail = (err: unknown): void => deps.onUnexpected(err, entry.kind === 'call' ? entry.method : '(invalid)');
  if (entry.kind === 'invalid') {
    return { status: httpStatusFor(entry.version, entry.error), body: serializeResponse(entry.version, entry.id, { error: entry.error }) };
  }
  const outcome = await runCall(entry, key, ctx, deps);
  if ('error' in outcome && outcome.forbidden) {
    return { status: 403, body: serializeResponse(entry.version, entry.id, { error: outcome.error }) };
  }
  if (entry.notification) return { status: 204, body: null };
  const body = serializeResponse(entry.version, entry.id, 'error' in outcome ? { error: outcome.error } : outcome, onFail);
  return { status: httpStatusFor(entry.version, 'error' in outcome ? outcome.error : null), body };
}

/** Give each method with a `prepareBatch` hook the params of its entries that will run (allowed scope, valid params). */
async function prepareBatch(entries: Entry[], key: KeyRecord, ctx: RpcContext, deps: DispatchDeps): Promise<void> {
  const lists = new Map<MethodDef, unknown[][]>();
  for (const entry of entries) {
    if (entry.kind === 'invalid') continue;
    const def = lookupMethod(deps.methods, entry.method);
    if (def?.prepareBatch === undefined || !key.scopes.includes(def.scope)) continue;
    let params: unknown[];
    try {
      params = validateParams(def.params, entry.params);
    } catch {
      continue; // answered by its own run
    }
    const list = lists.get(def) ?? [];
    list.push(params);
    lists.set(def, list);
  }
  for (const [def, list] of lists) {
    try {
      await def.prepareBatch!(list, ctx);
    } catch (err) {
      deps.onUnexpected(err, '(prepareBatch)');
    }
  }
}

/**
 * Answers a batch: entries run one after another in order (a later call may depend on an earlier
 * one, e.g. a child transaction after its parent); each gets its own result or error (a scope
 * failure is −32002 in its slot); notifications get no slot; HTTP 200, or 204 if nothing is left.
 * Once the client is gone (or the server closes) the remaining entries are not run.
 */
export async function dispatchBatch(entries: Entry[], key: KeyRecord, ctx: RpcContext, deps: DispatchDeps): Promise<HttpAnswer> {
  await prepareBatch(entries, key, ctx, deps);
  const parts: string[] = [];
  for (const entry of entries) {
    if (ctx.signal.aborted) break;
    if (entry.kind === 'invalid') {
      parts.push(serializeResponse(entry.version, entry.id, { error: entry.error }));
      continue;
    }
    const outcome = await runCall(entry, key, ctx, deps);
    if (entry.notification) continue;
    const clean = 'error' in outcome ? { error: outcome.error } : outcome;
    parts.push(serializeResponse(entry.version, entry.id, clean, (err) => deps.onUnexpected(err, entry.method)));
  }
  if (parts.length === 0) return { status: 204, body: null };
  return { status: 200, body: `[${parts.join(',')}]` };
}

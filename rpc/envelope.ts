/**
 * The JSON-RPC envelope: parsing request bodies into calls and formatting answers, in the 2.0
 * shape or in the 1.0 shape Bitcoin Core uses (SPEC §5). Pure functions; no IO, no auth.
 */
import { RpcCode, type RpcErrorObject } from './errors.js';

/** Which answer shape a call gets: "2.0" when it said so, "1.0" when it said "1.0" or nothing. */
export type RpcVersion = '1.0' | '2.0';
export type RpcId = string | number | null;

/** A well-formed call. `notification` only for 2.0 calls without an `id` member: no answer. */
export interface Call {
  kind: 'call';
  version: RpcVersion;
  id: RpcId;
  notification: boolean;
  method: string;
  params: unknown[];
}

/** A malformed entry: answered with `error` (never a notification). */
export interface BadCall {
  kind: 'invalid';
  version: RpcVersion;
  id: RpcId;
  error: RpcErrorObject;
}

export type Entry = Call | BadCall;

/** A parsed body: one entry, a batch, or an error about the whole body (answered in the 2.0 shape). */
export type Envelope =
  | { kind: 'single'; entry: Entry }
  | { kind: 'batch'; entries: Entry[] }
  | { kind: 'error'; error: RpcErrorObject };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isId = (v: unknown): v is RpcId => v === null || typeof v === 'string' || typeof v === 'number';

/** Parses a request body. Never throws: every failure is an `Envelope` with a documented code. */
export function parseEnvelope(body: string, maxBatch: number): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { kind: 'error', error: { code: RpcCode.ParseError, message: 'Parse error' } };
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return { kind: 'error', error: { code: RpcCode.InvalidRequest, message: 'Invalid Request: empty batch' } };
    }
    if (value.length > maxBatch) {
      return {
        kind: 'error',
        error: {
          code: RpcCode.InvalidRequest,
          message: `Invalid Request: batch of ${value.length} requests exceeds the limit of ${maxBatch}`,
        },
      };
    }
    return { kind: 'batch', entries: value.map(parseEntry) };
  }
  if (!isPlainObject(value)) {
    return { kind: 'error', error: { code: RpcCode.InvalidRequest, message: 'Invalid Request: expected an object or an array' } };
  }
  return { kind: 'single', entry: parseEntry(value) };
}

function invalid(version: RpcVersion, id: RpcId, code: number, message: string): BadCall {
  return { kind: 'invalid', version, id, error: { code, message } };
}

/** Parses one request object (own properties only: `__proto__` and friends are plain data here). */
export function parseEntry(value: unknown): Entry {
  if (!isPlainObject(value)) {
    return invalid('2.0', null, RpcCode.InvalidRequest, 'Invalid Request: expected an object');
  }
  const has = (k: string): boolean => Object.hasOwn(value, k);
  const rawVersion = has('jsonrpc') ? value['jsonrpc'] : undefined;
  const rawId = has('id') ? value['id'] : undefined;
  const id: RpcId = isId(rawId) ? rawId : null;

  let version: RpcVersion;
  if (rawVersion === undefined || rawVersion === null || rawVersion === '1.0') version = '1.0';
  else if (rawVersion === '2.0') version = '2.0';
  else return invalid('2.0', id, RpcCode.InvalidRequest, 'Invalid Request: jsonrpc must be "2.0" or "1.0"');

  if (rawId !== undefined && !isId(rawId)) {
    return invalid(version, null, RpcCode.InvalidRequest, 'Invalid Request: id must be a string, a number or null');
  }
  const method = has('method') ? value['method'] : undefined;
  if (typeof method !== 'string') {
    return invalid(version, id, RpcCode.InvalidRequest, 'Invalid Request: method must be a string');
  }
  const rawParams = has('params') ? value['params'] : undefined;
  let params: unknown[];
  if (rawParams === undefined || rawParams === null) params = [];
  else if (Array.isArray(rawParams)) params = rawParams;
  else if (isPlainObject(rawParams)) {
    return invalid(version, id, RpcCode.InvalidParams, 'Invalid params: params must be an array (named parameters are not supported)');
  } else {
    return invalid(version, id, RpcCode.InvalidRequest, 'Invalid Request: params must be an array');
  }
  // JSON-RPC 2.0: a request without an id member is a notification. 1.0 callers always get an answer,
  // as Bitcoin Core gives one.
  const notification = version === '2.0' && rawId === undefined;
  return { kind: 'call', version, id, notification, method, params };
}

/** Turns bigint into its decimal string (SPEC amounts) and bytes into lowercase hex. */
function replacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (typeof raw === 'bigint') return raw.toString(10);
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex');
  return value;
}

/** A response object in the caller's shape. `result` undefined is sent as null. */
export function responseObject(
  version: RpcVersion,
  id: RpcId,
  outcome: { result: unknown } | { error: RpcErrorObject },
): Record<string, unknown> {
  if (version === '1.0') {
    return 'error' in outcome
      ? { result: null, error: outcome.error, id }
      : { result: outcome.result ?? null, error: null, id };
  }
  return 'error' in outcome
    ? { jsonrpc: '2.0', error: outcome.error, id }
    : { jsonrpc: '2.0', result: outcome.result ?? null, id };
}

/**
 * Serializes one response. A result that cannot be serialized (a cycle, nesting too deep for the
 * stack) becomes an internal error for that entry only; the error is reported to `onFail`.
 */
export function serializeResponse(
  version: RpcVersion,
  id: RpcId,
  outcome: { result: unknown } | { error: RpcErrorObject },
  onFail?: (err: unknown) => void,
): string {
  try {
    return JSON.stringify(responseObject(version, id, outcome), replacer);
  } catch (err) {
    onFail?.(err);
    return JSON.stringify(responseObject(version, id, { error: { code: RpcCode.InternalError, message: 'Internal error' } }));
  }
}

/**
 * HTTP status of a single (non-batch) answer. 2.0: always 200 (JSON-RPC errors are in the body).
 * 1.0: Bitcoin Core's legacy statuses — 400 invalid request, 404 no such method, 500 other errors.
 * The auth errors (−32001/−32002/−32005) are decided by the server (401/403/429) for both shapes.
 */
export function httpStatusFor(version: RpcVersion, error: RpcErrorObject | null): number {
  if (version === '2.0' || error === null) return 200;
  if (error.code === RpcCode.InvalidRequest) return 400;
  if (error.code === RpcCode.MethodNotFound) return 404;
  return 500;
}

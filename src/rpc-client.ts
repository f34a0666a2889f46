/**
 * A small JSON-RPC 2.0 client for the node's RPC (SPEC §5), used by the wallet, masternode and
 * status commands. One POST per call over node:http(s), no keep-alive agent (a CLI process must
 * be able to exit as soon as its work is done), a hard timeout per call, and a cap on the answer
 * size. Every failure is an `RpcClientError` whose message is one line and never contains the
 * API key.
 */
import * as http from 'node:http';
import * as https from 'node:https';

/** Failures that happen before a JSON-RPC answer exists. */
export const RpcTransportCode = {
  /** Nothing listens at the URL (ECONNREFUSED, unknown host, …). */
  Unreachable: 'rpc-unreachable',
  Timeout: 'rpc-timeout',
  /** The connection broke or the answer was not a JSON-RPC response. */
  BadResponse: 'rpc-bad-response',
  /** HTTP error status without a usable JSON-RPC error body. */
  Http: 'rpc-http',
} as const;
export type RpcTransportCode = (typeof RpcTransportCode)[keyof typeof RpcTransportCode];

/**
 * A call failed. `code` is the JSON-RPC error code when the node answered with one (−32001
 * unauthorized, −26 rule, …), otherwise a transport code. `httpStatus` is null when no HTTP
 * answer arrived.
 */
export class RpcClientError extends Error {
  readonly code: number | RpcTransportCode;
  readonly httpStatus: number | null;
  constructor(code: number | RpcTransportCode, message: string, httpStatus: number | null) {
    super(oneLine(message));
    this.name = 'RpcClientError';
    this.code = code;
    this.httpStatus = httpStatus;
  }
}

export interface RpcClientOptions {
  /** `http://host:port` or `https://…`; path defaults to `/`. */
  readonly url: string;
  /** Sent as `Authorization: Bearer <apiKey>`; null sends no header. */
  readonly apiKey: string | null;
  /** Per-call timeout (default 30 s). */
  readonly timeoutMs?: number;
}

/** Answers bigger than this are refused: no SPEC §5 answer the CLI asks for comes close. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
/** Entries per JSON-RPC batch: the node's default `rpc.maxBatch`. */
const BATCH_MAX = 100;
const MAX_RATE_RETRIES = 3;
const MAX_RETRY_AFTER_S = 10;

function parseJson(body: string): unknown {
  try {
    return body === '' ? undefined : JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** Keep CLI errors to one line and bounded, whatever the server sent. */
function oneLine(s: string): string {
  const flat = s.replace(/[\r\n\t]+/g, ' ').replace(/[\x00-\x1f\x7f]/g, '').trim();
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}

/** Check and normalize an RPC URL; credentials in the URL are refused so they never end up in messages. */
export function parseRpcUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`invalid RPC URL ${JSON.stringify(oneLine(text))}: expected http://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`invalid RPC URL ${url.origin}: only http and https are supported`);
  if (url.username !== '' || url.password !== '') throw new Error('the RPC URL must not carry credentials; pass the API key with --api-key-file or TIMECOIN_API_KEY');
  if (url.search !== '' || url.hash !== '') throw new Error(`invalid RPC URL ${url.origin}${url.pathname}: no query or fragment allowed`);
  return url;
}

/** API keys go into an HTTP header: printable ASCII without spaces only (also keeps CR/LF out). */
export function checkApiKey(key: string, from: string): string {
  const k = key.trim();
  if (k === '') throw new Error(`the API key from ${from} is empty`);
  if (!/^[\x21-\x7e]+$/.test(k)) throw new Error(`the API key from ${from} contains characters that cannot be sent in a header`);
  return k;
}

interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** JSON-RPC 2.0 client; `call` resolves with the `result` or rejects with an RpcClientError. */
export class RpcClient {
  readonly url: URL;
  private readonly apiKey: string | null;
  private readonly timeoutMs: number;
  private nextId = 1;

  constructor(options: RpcClientOptions) {
    this.url = parseRpcUrl(options.url);
    this.apiKey = options.apiKey === null ? null : checkApiKey(options.apiKey, 'the caller');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The URL without path, for messages. */
  get origin(): string {
    return this.url.origin;
  }

  /** Call `method` with positional params; `timeoutMs` overrides the client's for long polls. */
  async call<T = unknown>(method: string, params: readonly unknown[] = [], timeoutMs?: number): Promise<T> {
    const id = this.nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    const answer = await this.postWithRetry(body, timeoutMs ?? this.timeoutMs);
    return this.interpret<T>(method, id, answer, parseJson(answer.body));
  }

  /**
   * Several calls of one method in JSON-RPC batches of at most `BATCH_MAX` (the node's default
   * cap): one HTTP request each, so a wallet with many coins is not throttled call by call.
   * Results come back in order; the first error entry is thrown.
   */
  async batch<T = unknown>(method: string, paramsList: readonly (readonly unknown[])[]): Promise<T[]> {
    const results: T[] = [];
    for (let at = 0; at < paramsList.length; at += BATCH_MAX) {
      const part = paramsList.slice(at, at + BATCH_MAX);
      const ids = part.map(() => this.nextId++);
      const body = JSON.stringify(part.map((params, i) => ({ jsonrpc: '2.0', id: ids[i], method, params })));
      const answer = await this.postWithRetry(body, this.timeoutMs);
      const parsed = parseJson(answer.body);
      if (!Array.isArray(parsed)) {
        this.interpret(method, -1, answer, parsed); // throws the whole-request error (auth, limits, …)
        throw new RpcClientError(RpcTransportCode.BadResponse, `${method}: ${this.origin} did not answer the batch with an array`, answer.status);
      }
      const byId = new Map(parsed.map((e: unknown) => [(e as { id?: unknown } | null)?.id, e]));
      for (const id of ids) results.push(this.interpret<T>(method, id, { ...answer, status: 200 }, byId.get(id)));
    }
    return results;
  }

  /** HTTP 429 (rate limited before anything ran): wait the short Retry-After and try again. */
  private async postWithRetry(body: string, timeoutMs: number): Promise<HttpAnswer> {
    for (let attempt = 0; ; attempt++) {
      const a = await this.post(body, timeoutMs);
      const retry = Number(a.headers['retry-after']);
      if (a.status !== 429 || attempt >= MAX_RATE_RETRIES || !Number.isFinite(retry) || retry > MAX_RETRY_AFTER_S) return a;
      await new Promise((r) => setTimeout(r, Math.max(1, retry) * 1000));
    }
  }

  private interpret<T>(method: string, id: number, a: HttpAnswer, parsed: unknown): T {
    const obj = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
    const err = obj?.error;
    if (typeof err === 'object' && err !== null) {
      const e = err as { code?: unknown; message?: unknown };
      const code = typeof e.code === 'number' ? e.code : RpcTransportCode.BadResponse;
      const msg = typeof e.message === 'string' ? e.message : 'error without a message';
      const text =
        code === -32001 && this.apiKey === null
          ? `the node at ${this.origin} requires an API key (HTTP ${a.status}): pass one with --api-key-file, TIMECOIN_API_KEY_FILE or TIMECOIN_API_KEY`
          : describeRpcError(method, code, msg, a, this.origin);
      throw new RpcClientError(code, text, a.status);
    }
    if (a.status !== 200) {
      throw new RpcClientError(RpcTransportCode.Http, `${method}: the node at ${this.origin} answered HTTP ${a.status}`, a.status);
    }
    if (obj === null || !Object.hasOwn(obj, 'result') || obj.id !== id) {
      throw new RpcClientError(RpcTransportCode.BadResponse, `${method}: ${this.origin} did not answer with a JSON-RPC response`, a.status);
    }
    return obj.result as T;
  }

  private post(body: string, timeoutMs: number): Promise<HttpAnswer> {
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      accept: 'application/json',
    };
    if (this.apiKey !== null) headers.authorization = `Bearer ${this.apiKey}`;
    const mod = this.url.protocol === 'https:' ? https : http;
    const where = this.origin;
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      const fail = (e: RpcClientError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(e);
      };
      // agent: false → one connection per call, closed afterwards, so nothing keeps the CLI alive.
      const req = mod.request(this.url, { method: 'POST', headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            fail(new RpcClientError(RpcTransportCode.BadResponse, `the answer from ${where} is larger than ${MAX_RESPONSE_BYTES} bytes`, res.statusCode ?? null));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', () => fail(new RpcClientError(RpcTransportCode.BadResponse, `the connection to ${where} broke while reading the answer`, res.statusCode ?? null)));
      });
      const timer = setTimeout(
        () => fail(new RpcClientError(RpcTransportCode.Timeout, `no answer from the node at ${where} within ${Math.ceil(timeoutMs / 1000)} s`, null)),
        timeoutMs,
      );
      req.on('error', (e: NodeJS.ErrnoException) => fail(transportError(e, where)));
      req.end(body);
    });
  }
}

function transportError(e: NodeJS.ErrnoException, where: string): RpcClientError {
  switch (e.code) {
    case 'ECONNREFUSED':
      return new RpcClientError(RpcTransportCode.Unreachable, `no node answering at ${where} (connection refused); is \`timecoin start\` running, and is --rpc-url right?`, null);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new RpcClientError(RpcTransportCode.Unreachable, `no node answering at ${where} (host not found)`, null);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return new RpcClientError(RpcTransportCode.Unreachable, `no node answering at ${where} (${e.code})`, null);
    case 'ECONNRESET':
    case 'EPIPE':
      return new RpcClientError(RpcTransportCode.BadResponse, `the node at ${where} closed the connection (${e.code}); is it an https node (use an https:// URL)?`, null);
    default:
      return new RpcClientError(RpcTransportCode.Unreachable, `cannot reach the node at ${where}: ${e.code ?? e.message}`, null);
  }
}

/** Words for the auth and rate-limit errors of SPEC §5 that a user can act on. */
function describeRpcError(method: string, code: number | string, msg: string, a: HttpAnswer, where: string): string {
  if (code === -32001) return `the node at ${where} refused the API key (HTTP ${a.status}): pass a valid key with --api-key-file, --api-key or TIMECOIN_API_KEY`;
  if (code === -32002) return `${method}: the API key lacks the scope this method needs (HTTP ${a.status}): ${msg}`;
  if (code === -32005) {
    const retry = a.headers['retry-after'];
    return `${method}: rate limited by the node${typeof retry === 'string' ? `; retry after ${retry} s` : ''}`;
  }
  if (code === -32601) return `${method}: the node at ${where} does not offer this method (${msg})`;
  return `${method}: ${msg} (RPC error ${code})`;
}

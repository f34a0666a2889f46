/**
 * The RPC HTTP(S) server (SPEC §5): `POST /` JSON-RPC, `GET /metrics`, `GET /health`. Order of
 * checks on `POST /`: failed-auth limiter → API key (401) → key rate (429) → body size (413) →
 * parse (−32700/−32600) → key rate for the batch size (429) → per call: method (−32601), scope
 * (−32002/403), params (−32602), handler. Chain logic lives behind the method table.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ApiKeyStore, KeyRecord } from './apikeys.js';
import { dispatchBatch, dispatchSingle, type HttpAnswer } from './dispatch.js';
import { parseEnvelope, serializeResponse } from './envelope.js';
import { RpcCode } from './errors.js';
import { clientKey, errorBody, presentedKey, readBody, send } from './http-io.js';
import { resolveLimits, type RpcLimits } from './limits.js';
import { SCOPES, type MethodTable, type RpcContext, type Scope } from './methods.js';
import { retryAfterSeconds, TokenBuckets } from './rate-limit.js';

/** The counters the server reports (the node adapts `timecoin_rate_limited_total{scope}`). */
export interface RpcMetrics {
  /** `scope`: the highest scope of the limited key, or `unauthenticated` for failed-auth limiting. */
  rateLimited(scope: Scope | 'unauthenticated'): void;
  /**
   * One response fully sent, by HTTP status. Node's own 400 / 408 / 431 answers to bytes that never
   * became a request (bad framing, header timeouts, oversized headers) are not seen here.
   */
  httpResponse?(status: number): void;
}

export interface RpcServerOptions {
  host?: string;
  port: number;
  tls?: { certFile: string; keyFile: string };
  methods: MethodTable;
  apiKeys: Pick<ApiKeyStore, 'authenticate'>;
  /** Serves `GET /metrics`; without it that path is 404. */
  metricsHandler?: () => Promise<{ contentType: string; body: string }>;
  /** Whether `GET /metrics` needs a key with the `read` scope. */
  metricsAuth: boolean;
  /** `GET /health` answers 200 while this is true (and the server is not closing), else 503. */
  health: () => boolean | Promise<boolean>;
  limits?: Partial<RpcLimits>;
  /** The node's child logger for rpc (`{module: 'rpc'}`); the server adds redaction of credentials. */
  logger: Logger;
  metrics?: RpcMetrics | null;
  now?: () => number;
}

export interface RpcServer {
  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(): Promise<number>;
  /** Stops accepting, aborts running handlers' signals, waits up to shutdownGraceMs, then cuts connections. */
  close(): Promise<void>;
  readonly limits: Readonly<RpcLimits>;
}

const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  'key',
  'apiKey',
  'passphrase',
];

const highestScope = (key: KeyRecord): Scope => [...SCOPES].reverse().find((s) => key.scopes.includes(s)) ?? 'read';

/** Builds the server; nothing listens until `listen()`. */
export function createRpcServer(opts: RpcServerOptions): RpcServer {
  const limits = resolveLimits(opts.limits);
  const now = opts.now ?? Date.now;
  // Nothing here logs headers or bodies; redaction is the second line of defence if that changes.
  const log = opts.logger.child({}, { redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
  const metrics = opts.metrics ?? null;
  const keyBuckets = new TokenBuckets({ burstFactor: limits.burstFactor, maxEntries: limits.maxTrackedClients });
  const failBuckets = new TokenBuckets({
    burstFactor: limits.authFailureBurst / limits.authFailuresPerSecond,
    maxEntries: limits.maxTrackedClients,
  });
  const shutdown = new AbortController();
  // Requests per socket that are fully read and being answered (pipelined requests can overlap).
  const busy = new WeakMap<Socket, number>();
  let closing = false;

  const httpOptions: http.ServerOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two timeouts above only this often (default 30 s): keep it a fraction of them.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    maxHeaderSize: limits.maxHeaderBytes,
    noDelay: true,
  };
  const server = opts.tls
    ? https.createServer({
        ...httpOptions,
        cert: readFileSync(opts.tls.certFile),
        key: readFileSync(opts.tls.keyFile),
        handshakeTimeout: limits.headersTimeoutMs,
      })
    : http.createServer(httpOptions);
  server.maxConnections = limits.maxConnections;
  server.setTimeout(limits.idleTimeoutMs, (socket: Socket) => {
    // A long handler (waittransactionfinality) legitimately leaves the socket quiet.
    if ((busy.get(socket) ?? 0) === 0) socket.destroy();
  });
  function rateLimited(res: http.ServerResponse, retryAfterMs: number, scope: Scope | 'unauthenticated', body?: string): void {
    metrics?.rateLimited(scope);
    send(res, 429, body ?? errorBody(RpcCode.RateLimited, 'Rate limit exceeded'), {
      headers: { 'Retry-After': retryAfterSeconds(retryAfterMs) },
      close: body === undefined,
    });
  }

  /** Authenticates and charges one token; answers (401/429) and returns null on failure. */
  function authorize(req: http.IncomingMessage, res: http.ServerResponse): KeyRecord | null {
    const client = clientKey(req.socket.remoteAddress);
    const t = now();
    const gate = failBuckets.check(client, 1, limits.authFailuresPerSecond, t);
    if (!gate.ok) {
      rateLimited(res, gate.retryAfterMs, 'unauthenticated');
      return null;
    }
    const presented = presentedKey(req.headers.authorization);
    const key = presented === null ? null : opts.apiKeys.authenticate(presented);
    if (key === null) {
      // Only a presented-but-wrong key is a guess worth slowing; a missing header is not.
      if (presented !== null) failBuckets.take(client, 1, limits.authFailuresPerSecond, t);
      log.warn({ client, reason: presented === null ? 'missing' : 'unknown' }, 'rpc auth failed');
      send(res, 401, errorBody(RpcCode.Unauthorized, 'Unauthorized: missing or unknown API key'), {
        headers: { 'WWW-Authenticate': 'Bearer realm="timecoin"' },
        close: true,
      });
      return null;
    }
    const rate = key.ratePerSecond ?? limits.defaultRatePerSecond;
    const r = keyBuckets.check(key.id, 1, rate, t);
    if (!r.ok) {
      rateLimited(res, r.retryAfterMs, highestScope(key));
      return null;
    }
    return key;
  }

  async function handleRpc(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const key = authorize(req, res);
    if (key === null) return;
    const body = await readBody(req, limits.maxBodyBytes);
    if (!body.ok) {
      if (body.reason === 'too-large') {
        send(res, 413, errorBody(RpcCode.InvalidRequest, `Request body exceeds ${limits.maxBodyBytes} bytes`), { close: true });
      }
      return;
    }
    const envelope = parseEnvelope(body.body, limits.maxBatch);
    const cost = envelope.kind === 'batch' ? envelope.entries.length : 1;
    const rate = key.ratePerSecond ?? limits.defaultRatePerSecond;
    const charge = keyBuckets.take(key.id, cost, rate, now());
    if (!charge.ok) {
      const single = envelope.kind === 'single' ? envelope.entry : null;
      const errBody =
        single !== null
          ? serializeResponse(single.version, single.id, { error: { code: RpcCode.RateLimited, message: 'Rate limit exceeded' } })
          : errorBody(RpcCode.RateLimited, 'Rate limit exceeded');
      return rateLimited(res, charge.retryAfterMs, highestScope(key), errBody);
    }
    if (envelope.kind === 'error') return send(res, 200, errorBody(envelope.error.code, envelope.error.message));

    const aborter = new AbortController();
    const onGone = (): void => aborter.abort();
    res.once('close', onGone);
    shutdown.signal.addEventListener('abort', onGone, { once: true });
    const ctx: RpcContext = {
      keyId: key.id,
      scopes: key.scopes,
      remoteAddress: req.socket.remoteAddress ?? 'unknown',
      signal: aborter.signal,
    };
    const deps = {
      methods: opts.methods,
      onUnexpected: (err: unknown, method: string) => log.error({ err, method, keyId: key.id }, 'rpc handler failed'),
    };
    let answer: HttpAnswer;
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    try {
      answer =
        envelope.kind === 'single'
          ? await dispatchSingle(envelope.entry, key, ctx, deps)
          : await dispatchBatch(envelope.entries, key, ctx, deps);
    } finally {
      shutdown.signal.removeEventListener('abort', onGone);
      res.off('close', onGone);
      busy.set(socket, (busy.get(socket) ?? 1) - 1);
    }
    send(res, answer.status, answer.body, { close: closing });
  }

  async function handleMetrics(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (opts.metricsHandler === undefined) return send(res, 404, null, { close: true });
    if (opts.metricsAuth) {
      const key = authorize(req, res);
      if (key === null) return;
      keyBuckets.take(key.id, 1, key.ratePerSecond ?? limits.defaultRatePerSecond, now());
      if (!key.scopes.includes('read')) {
        return send(res, 403, errorBody(RpcCode.Forbidden, "Forbidden: /metrics needs an API key with the 'read' scope"));
      }
    }
    const m = await opts.metricsHandler();
    send(res, 200, m.body, { contentType: m.contentType });
  }

  async function handleHealth(res: http.ServerResponse): Promise<void> {
    let ok = false;
    try {
      ok = !closing && (await opts.health());
    } catch (err) {
      log.warn({ err }, 'health check failed');
    }
    send(res, ok ? 200 : 503, JSON.stringify({ status: ok ? 'ok' : 'unavailable' }));
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = now();
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const allow: Record<string, string> = { '/': 'POST', '/metrics': 'GET', '/health': 'GET' };
    try {
      if (!Object.hasOwn(allow, path)) send(res, 404, JSON.stringify({ error: 'not found' }), { close: true });
      else if (req.method !== allow[path]) {
        send(res, 405, JSON.stringify({ error: 'method not allowed' }), { headers: { Allow: allow[path]! }, close: true });
      } else if (path === '/health') await handleHealth(res);
      else if (closing) send(res, 503, errorBody(RpcCode.InternalError, 'Server is shutting down'), { close: true });
      else if (path === '/') await handleRpc(req, res);
      else await handleMetrics(req, res);
    } catch (err) {
      log.error({ err }, 'rpc request failed');
      send(res, 500, errorBody(RpcCode.InternalError, 'Internal error'), { close: true });
    } finally {
      // Never the URL, headers or body: a confused client may have put a key in any of them.
      const logged = Object.hasOwn(allow, path) ? path : '(other)';
      log.debug({ method: req.method, path: logged, status: res.statusCode, ms: now() - started }, 'rpc request');
    }
  }

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (metrics?.httpResponse !== undefined) res.once('finish', () => metrics.httpResponse?.(res.statusCode));
    void route(req, res);
  });

  let listening = false;
  return {
    limits,
    listen() {
      if (listening) return Promise.reject(new Error('rpc server already listening'));
      listening = true;
      return new Promise<number>((resolve, reject) => {
        const onListenError = (err: Error): void => {
          listening = false;
          reject(err);
        };
        server.once('error', onListenError);
        server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
          server.off('error', onListenError);
          // Later errors (e.g. EMFILE on accept) must be logged, not crash the node.
          server.on('error', (err) => log.error({ err }, 'rpc server error'));
          const port = (server.address() as AddressInfo).port;
          log.info({ host: opts.host ?? '127.0.0.1', port, tls: opts.tls !== undefined }, 'rpc listening');
          resolve(port);
        });
      });
    },
    close() {
      if (closing) return Promise.resolve();
      closing = true;
      shutdown.abort();
      return new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), limits.shutdownGraceMs);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
        if (!listening) resolve();
      });
    },
  };
}

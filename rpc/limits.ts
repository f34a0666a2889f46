/**
 * RPC server limits and their defaults (docs/rpc.md explains each). Defaults are sized so that a
 * maximal transaction (1 MB, 2 MB as hex) fits in one request and a slow client is cut off within
 * seconds.
 */

export interface RpcLimits {
  /** Largest request body in bytes; more → HTTP 413. */
  maxBodyBytes: number;
  /** Most entries in one batch; more → −32600 for the whole request. */
  maxBatch: number;
  /** Time allowed to receive the request headers (Node `headersTimeout`) → 408 and close. */
  headersTimeoutMs: number;
  /** Time allowed to receive the whole request (Node `requestTimeout`) → 408 and close. */
  requestTimeoutMs: number;
  /** A socket with no traffic for this long is closed, unless a handler is still working for it. */
  idleTimeoutMs: number;
  /** How long a kept-alive connection waits for its next request. */
  keepAliveTimeoutMs: number;
  /** Most simultaneous connections; further ones are closed at once. */
  maxConnections: number;
  /** Largest request head (request line + headers) in bytes → 431. */
  maxHeaderBytes: number;
  /** Requests per second for keys created without `--rate`. */
  defaultRatePerSecond: number;
  /** Bucket capacity = rate × burstFactor: how far a key may run ahead of its rate. */
  burstFactor: number;
  /** Failed authentications one client address may make in a burst… */
  authFailureBurst: number;
  /** …and per second after that; beyond it the address gets 429 without its key being checked. */
  authFailuresPerSecond: number;
  /** Bound on the per-key and per-address limiter tables (least recently used are forgotten). */
  maxTrackedClients: number;
  /** On close(), how long running requests may finish before their connections are cut. */
  shutdownGraceMs: number;
}

export const DEFAULT_RPC_LIMITS: Readonly<RpcLimits> = Object.freeze({
  maxBodyBytes: 4 * 1024 * 1024,
  maxBatch: 100,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 64,
  maxHeaderBytes: 8 * 1024,
  defaultRatePerSecond: 20,
  burstFactor: 2,
  authFailureBurst: 10,
  authFailuresPerSecond: 1,
  maxTrackedClients: 10_000,
  shutdownGraceMs: 5_000,
});

/** Fills defaults and rejects values that would disable a protection (0, negative, NaN). */
export function resolveLimits(partial: Partial<RpcLimits> = {}): RpcLimits {
  const limits: RpcLimits = { ...DEFAULT_RPC_LIMITS };
  for (const [k, v] of Object.entries(partial) as [keyof RpcLimits, number | undefined][]) {
    if (v !== undefined) limits[k] = v;
  }
  for (const [k, v] of Object.entries(limits)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new RangeError(`rpc limit ${k} must be a positive number, got ${String(v)}`);
    }
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new RangeError('rpc limit headersTimeoutMs must not exceed requestTimeoutMs');
  }
  if (limits.burstFactor < 1) throw new RangeError('rpc limit burstFactor must be at least 1');
  return limits;
}

/**
 * Small HTTP helpers for the RPC server: a size-capped body reader, response writers, the
 * Authorization header parser and the client-address key used by the failed-auth limiter.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';

/** Result of reading a body: the text, or why there is none. */
export type BodyResult = { ok: true; body: string } | { ok: false; reason: 'too-large' | 'aborted' };

/**
 * Reads the request body, refusing early on a Content-Length over `maxBytes` and otherwise
 * stopping (and pausing the socket) as soon as more than `maxBytes` arrived: never buffers more.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.resolve({ ok: false, reason: 'too-large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: BodyResult): void => {
      if (done) return;
      done = true;
      req.off('data', onData).off('end', onEnd).off('error', onAbort).off('close', onAbort);
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.pause();
        chunks.length = 0;
        finish({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish({ ok: true, body: Buffer.concat(chunks, size).toString('utf8') });
    const onAbort = (): void => finish({ ok: false, reason: 'aborted' });
    req.on('data', onData).on('end', onEnd).on('error', onAbort).on('close', onAbort);
  });
}

const BASE_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
} as const;

/**
 * Writes a complete response. `close` asks the client to reconnect: used whenever the request
 * body was not read, so the rest of it is never read (or buffered) either.
 */
export function send(
  res: ServerResponse,
  status: number,
  body: string | null,
  opts: { contentType?: string; headers?: Record<string, string | number>; close?: boolean } = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = { ...BASE_HEADERS, ...opts.headers };
  if (opts.close) headers['Connection'] = 'close';
  if (body === null) {
    res.writeHead(status, headers).end();
    return;
  }
  const buf = Buffer.from(body, 'utf8');
  headers['Content-Type'] = opts.contentType ?? 'application/json';
  headers['Content-Length'] = buf.length;
  res.writeHead(status, headers).end(buf);
}

/** A JSON-RPC error object in the 2.0 shape with a null id, for errors about the whole request. */
export function errorBody(code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * The API key in an Authorization header: `Bearer <key>`, or `Basic` with the key as the password
 * (so Bitcoin-style clients configured with rpcuser/rpcpassword can connect). null when there is
 * no header; '' when there is one that does not parse (it then counts as a failed attempt).
 */
export function presentedKey(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^(Bearer|Basic) +([^ ]+) *$/i.exec(header.trim());
  if (m === null) return '';
  const scheme = m[1]!.toLowerCase();
  const token = m[2]!;
  if (scheme === 'bearer') return token;
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? '' : decoded.slice(colon + 1);
}

/** Expands an IPv6 address to its eight 16-bit groups. */
function ipv6Groups(addr: string): string[] {
  const [head = '', tail] = addr.split('::', 2) as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}

/**
 * The key the failed-auth limiter counts under: the IPv4 address, or the /64 prefix of an IPv6
 * address (one host usually owns a whole /64, so per-address counting would not slow it).
 */
export function clientKey(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  if (mapped !== null) return mapped[1]!;
  if (!isIPv6(remoteAddress)) return remoteAddress;
  return ipv6Groups(remoteAddress.split('%')[0]!).slice(0, 4).join(':') + '::/64';
}

/**
 * The arbitraries and raw-socket clients of tests/e2e/rpc-fuzz.test.ts: requests for every method of
 * the node's method table (valid, then mutated), hostile values, canonical transactions of every
 * kind, and sockets that trickle, stall or send raw bytes.
 */
import * as net from 'node:net';
import fc from 'fast-check';
import { TxKind } from '../../chain/constants.js';
import { encodeEvidencePayload } from '../../chain/evidence.js';
import { EvidenceKind } from '../../chain/masternode.js';
import { encodeRegistrationPayload } from '../../chain/registration.js';
import { createTransaction } from '../../chain/transaction.js';
import type { MethodTable, ParamDef, ParamType } from '../../rpc/methods.js';
import { nodeMethods } from '../../src/rpc-methods/index.js';
import type { NodeServices } from '../../src/services.js';

/**
 * The node's method table, read for its names, scopes and parameter lists only: the services
 * throw if a handler is ever called on this copy (the fuzz talks to the real node over HTTP).
 */
export const TABLE: MethodTable = nodeMethods(
  new Proxy({} as NodeServices, {
    get: () => {
      throw new Error('method table inspected only');
    },
  }),
  null,
);
export const METHODS = Object.keys(TABLE).sort();

/** Lowercase hex of bytes (as the RPC takes them). */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Strings with odd code points: BMP, astral, lone surrogates, controls. */
export const oddString = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 10 }));
/** Numbers around every boundary a validator might get wrong. */
export const oddNumber = fc.oneof(
  fc.constantFrom(-1, -0, 0.5, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e21, 1e308, -1e308, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
/** A value of any JSON type, often hostile for the parameter it replaces. */
export const hostile = fc.oneof(fc.jsonValue({ maxDepth: 3 }), oddNumber, oddString, fc.constant(null), fc.constant('f'.repeat(70_000)));

/** A well-formed value for one parameter kind. */
function validFor(def: ParamDef): fc.Arbitrary<unknown> {
  const kinds: readonly ParamType[] = typeof def.type === 'string' ? [def.type] : def.type;
  return fc.oneof(
    ...kinds.map((k): fc.Arbitrary<unknown> => {
      switch (k) {
        case 'hash':
          return fc.uint8Array({ minLength: 32, maxLength: 32 }).map(hex);
        case 'hex':
          return fc.uint8Array({ maxLength: 40 }).map(hex);
        case 'uint':
          return fc.nat({ max: Math.min(def.max ?? 1_000, 1_000) });
        case 'bool':
          return fc.boolean();
        case 'string':
          return fc.oneof(oddString, fc.uint8Array({ maxLength: 40 }).map(hex));
        case 'array':
          return fc.array(def.items === undefined ? fc.jsonValue({ maxDepth: 1 }) : validFor(def.items), { maxLength: 3 });
        case 'any':
          return fc.jsonValue({ maxDepth: 2 });
      }
    }),
  );
}

export type Req = Record<string, unknown>;

/** A request for `method` with well-typed params, then mutated in one to three ways. */
export function mutatedRequest(method: string): fc.Arbitrary<Req> {
  const spec = TABLE[method]!.params;
  const valid = fc.tuple(...spec.map(validFor)) as fc.Arbitrary<unknown[]>;
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('params-object' as const), v: fc.dictionary(fc.string({ maxLength: 8 }), hostile, { maxKeys: 3 }) }),
    fc.record({ op: fc.constant('params-scalar' as const), v: fc.oneof(oddNumber, oddString, fc.boolean(), fc.constant(null)) }),
    fc.record({ op: fc.constant('no-params' as const) }),
    fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('extra' as const), v: hostile }),
    fc.record({ op: fc.constant('wrong-type' as const), at: fc.nat(), v: hostile }),
    fc.record({ op: fc.constant('id' as const), v: fc.oneof(fc.constant(null), oddNumber, oddString, fc.jsonValue({ maxDepth: 2 })) }),
    fc.record({ op: fc.constant('no-id' as const) }),
    fc.record({ op: fc.constant('version' as const), v: fc.constantFrom<unknown>('2.0', '1.0', null, '3.0', 2, 2.0, '', ['2.0']) }),
    fc.record({ op: fc.constant('extra-field' as const), k: fc.string({ maxLength: 10 }), v: hostile }),
    fc.record({ op: fc.constant('method' as const), v: fc.oneof(fc.constant(method.toUpperCase()), fc.constant(` ${method}`), oddString, oddNumber, fc.constant(null)) }),
    fc.record({ op: fc.constant('none' as const) }),
  );
  return fc
    .record({ params: valid, jsonrpc: fc.constantFrom<unknown>('2.0', '1.0', undefined), id: fc.oneof(fc.nat(), oddString), edits: fc.array(mutation, { minLength: 1, maxLength: 3 }) })
    .map(({ params, jsonrpc, id, edits }) => {
      const req: Req = { method, params: [...params], id };
      if (jsonrpc !== undefined) req['jsonrpc'] = jsonrpc;
      for (const e of edits) {
        const p = Array.isArray(req['params']) ? (req['params'] as unknown[]) : null;
        switch (e.op) {
          case 'params-object':
          case 'params-scalar':
            req['params'] = e.v;
            break;
          case 'no-params':
            delete req['params'];
            break;
          case 'drop':
            if (p !== null && p.length > 0) p.splice(e.at % p.length, 1);
            break;
          case 'extra':
            p?.push(e.v);
            break;
          case 'wrong-type':
            if (p !== null && p.length > 0) p[e.at % p.length] = e.v;
            break;
          case 'id':
            req['id'] = e.v;
            break;
          case 'no-id':
            delete req['id'];
            break;
          case 'version':
            req['jsonrpc'] = e.v;
            break;
          case 'extra-field':
            // defineProperty: a key named `__proto__` must become an own member, as JSON.parse makes it.
            Object.defineProperty(req, e.k, { value: e.v, enumerable: true, writable: true, configurable: true });
            break;
          case 'method':
            req['method'] = e.v;
            break;
          case 'none':
            break;
        }
      }
      return defuse(req);
    });
}

/**
 * `stop` with valid params would shut the node down mid-fuzz: give it a surplus parameter, so it
 * is still fuzzed through the envelope, scope and validator, but always refused (−32602).
 * `waitforblockheight` with a valid height above the tip waits its timeout (30 s by default, by
 * design): a valid or missing timeout becomes 0, so it answers at once; every other shape of its
 * params is fuzzed as generated.
 */
export function defuse(req: Req): Req {
  const p = req['params'];
  if (req['method'] === 'waitforblockheight') return Array.isArray(p) ? { ...req, params: noWait(p) } : req;
  if (req['method'] !== 'stop') return req;
  if (p === undefined || p === null || (Array.isArray(p) && p.length === 0)) return { ...req, params: [0] };
  return req;
}

/** `waitforblockheight` params whose timeout, if valid or missing, is 0 ms. */
function noWait(p: readonly unknown[]): unknown[] {
  const timeoutValid = p.length === 1 || (p.length === 2 && Number.isSafeInteger(p[1]) && (p[1] as number) >= 0);
  return timeoutValid ? [p[0], 0] : [...p];
}

/** A mutated request for any method of the table. */
export const anyMethodRequest = fc.constantFrom(...METHODS).chain(mutatedRequest);

const b32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
/** Payloads shaped like each kind's (SPEC §3 registration, docs/masternodes.md evidence), with random contents. */
const payloadArb = fc.oneof(
  fc.uint8Array({ maxLength: 60 }),
  fc.nat().map((h) => Buffer.from(BigInt(h).toString(16).padStart(16, '0'), 'hex').reverse()),
  fc
    .record({ collateralTxid: b32, collateralIndex: fc.nat({ max: 0xffffffff }), operatorPublicKey: b32, ownerSignature: fc.uint8Array({ minLength: 64, maxLength: 64 }), addr: fc.oneof(fc.string({ minLength: 1, maxLength: 60 }), fc.constantFrom('/ip4/127.0.0.1/tcp/1', '/ip6/::1/tcp/65536', '/dns4/x/tcp/1/p2p/Qm', '/ip4/999.1.1.1/tcp/0', '/')) })
    .filter((f) => Buffer.byteLength(f.addr) <= 200)
    .map((f) => encodeRegistrationPayload(f)),
  fc
    .record({ kind: fc.constantFrom(...(Object.values(EvidenceKind) as EvidenceKind[])), offender: b32, height: fc.nat(), offenceId: b32, proof: fc.uint8Array({ maxLength: 400 }) })
    .map((e) => encodeEvidencePayload(e)),
);
/** Canonically encoded transactions of every kind with random fields: they decode, then meet the rules. */
export const structuredTx = fc
  .record({
    kind: fc.constantFrom(...(Object.values(TxKind) as TxKind[])),
    inputs: fc.array(fc.record({ prevTxid: b32, prevIndex: fc.nat({ max: 0xffffffff }), signature: fc.uint8Array({ minLength: 64, maxLength: 64 }) }), { maxLength: 3 }),
    // Mostly plausible amounts, so the stateless value rules pass and the payload and input rules are reached.
    outputs: fc.array(fc.record({ amount: fc.oneof(fc.bigInt({ min: 546n, max: 10n ** 12n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), publicKey: b32 }), { maxLength: 3 }),
    payload: payloadArb,
  })
  .map((f) => hex(createTransaction(f).bytes));

/** Write `parts` in order on one connection; resolve with what came back when the server closes (or at `ms`). */
export function rawExchange(port: number, parts: string[], ms: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve({ text: Buffer.concat(got).toString('latin1'), closed });
    };
    const t = setTimeout(() => finish(false), ms);
    s.on('data', (c: Buffer) => got.push(c));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    s.on('connect', () => {
      for (const p of parts) if (!s.destroyed) s.write(p);
    });
  });
}

/**
 * Send `prefix` at once, then `text` one byte every `everyMs`, never finishing on time; resolve
 * when the server closes the socket (or at `ms`) with the time taken and the answer.
 */
export function trickle(port: number, text: string, everyMs: number, ms: number, prefix = ''): Promise<{ closed: boolean; ms: number; text: string }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    const start = Date.now();
    let i = 0;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearInterval(drip);
      clearTimeout(t);
      s.destroy();
      resolve({ closed, ms: Date.now() - start, text: Buffer.concat(got).toString('latin1') });
    };
    const drip = setInterval(() => {
      if (i < text.length && !s.destroyed) s.write(text[i++]!);
    }, everyMs);
    const t = setTimeout(() => finish(false), ms);
    s.on('connect', () => prefix !== '' && s.write(prefix));
    s.on('data', (c: Buffer) => got.push(c));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
  });
}

/** A connection that sends part of a request head (or nothing) and then nothing more. */
export function openHalf(port: number, head: string): Promise<{ socket: net.Socket; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const h = { socket, closed: false };
    socket.on('close', () => (h.closed = true));
    socket.on('error', () => (h.closed = true));
    socket.on('data', () => undefined);
    socket.on('connect', () => {
      if (head !== '') socket.write(head);
      resolve(h);
    });
    // A refused connection (over the cap, closed at once) is also a result.
    socket.once('close', () => resolve(h));
  });
}

/**
 * The method table's shape and the one positional-parameter validator every method goes through.
 * The chain-backed methods of SPEC §5 are defined with `defineMethod` by the node assembly; this
 * layer ships none, so it never answers with invented chain data.
 */
import { invalidParams } from './errors.js';

/** API key scopes (SPEC §5). Each is explicit: `admin` does not imply `read` or `submit`. */
export const SCOPES = ['read', 'submit', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Parameter kinds. Hex is accepted in either case and handed to handlers in lowercase. */
export type ParamType = 'hash' | 'hex' | 'uint' | 'bool' | 'string' | 'array' | 'any';

/** One positional parameter. `type` may list several kinds (e.g. a hash or a height). */
export interface ParamDef {
  readonly name: string;
  readonly type: ParamType | readonly ParamType[];
  /** May be omitted or sent as null (as in Bitcoin Core); then `default` (or undefined) is used. */
  readonly optional?: boolean;
  readonly default?: unknown;
  /** `uint`: inclusive bounds (default 0 … Number.MAX_SAFE_INTEGER). */
  readonly min?: number;
  readonly max?: number;
  /** `string`: max characters; `hex`: max decoded bytes; `array`: max items. */
  readonly maxLength?: number;
  /** `array`: every item must match this definition (its name is used in messages). */
  readonly items?: ParamDef;
}
export type ParamSpec = readonly ParamDef[];

type ValueOf<T> = T extends 'hash' | 'hex' | 'string'
  ? string
  : T extends 'uint'
    ? number
    : T extends 'bool'
      ? boolean
      : T extends 'array'
        ? unknown[]
        : unknown;
type DefValue<D extends ParamDef> = D['type'] extends readonly (infer U)[] ? ValueOf<U> : ValueOf<D['type']>;
type ParamValue<D extends ParamDef> = D extends { default: unknown }
  ? DefValue<D>
  : D extends { optional: true }
    ? DefValue<D> | undefined
    : DefValue<D>;
/** The validated parameter tuple a handler receives for spec `S`. */
export type ParamValues<S extends ParamSpec> = { -readonly [K in keyof S]: S[K] extends ParamDef ? ParamValue<S[K]> : never };

/** What a handler knows about the call it serves. */
export interface RpcContext {
  /** Id of the API key that authenticated the request (never the key itself). */
  readonly keyId: string;
  readonly scopes: readonly Scope[];
  readonly remoteAddress: string;
  /** Aborted when the client disconnects or the server closes: long waits must stop on it. */
  readonly signal: AbortSignal;
}

/** A method: the scope it needs, its positional parameters, and the handler. */
export interface MethodDef {
  readonly scope: Scope;
  readonly params: ParamSpec;
  /** Receives the validated params (defaults filled). Returns JSON-able data; bigint → string, bytes → hex. */
  readonly handler: (params: unknown[], ctx: RpcContext) => unknown;
  /**
   * Optional: called once per batch, before its entries run in order, with the validated params of
   * every entry of this method the key may call (e.g. verify a batch's signatures together). Its
   * failures are ignored: every entry still runs in full.
   */
  readonly prepareBatch?: (paramsList: unknown[][], ctx: RpcContext) => Promise<void>;
}
export type MethodTable = Readonly<Record<string, MethodDef>>;

/** Declares a method with handler params typed from its spec (write the spec inline or `as const`). */
export function defineMethod<const S extends ParamSpec>(def: {
  scope: Scope;
  params: S;
  handler: (params: ParamValues<S>, ctx: RpcContext) => unknown;
  prepareBatch?: (paramsList: ParamValues<S>[], ctx: RpcContext) => Promise<void>;
}): MethodDef {
  return def as unknown as MethodDef;
}

/** Looks a method up by own property only, so `constructor` or `__proto__` are just unknown names. */
export function lookupMethod(table: MethodTable, name: string): MethodDef | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

const HASH_RE = /^[0-9a-fA-F]{64}$/;
const HEX_RE = /^[0-9a-fA-F]*$/;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Checks one value against one kind; returns the (normalized) value or an error message. */
function checkKind(def: ParamDef, kind: ParamType, v: unknown): { ok: true; value: unknown } | { ok: false; why: string } {
  switch (kind) {
    case 'hash':
      if (typeof v === 'string' && HASH_RE.test(v)) return { ok: true, value: v.toLowerCase() };
      return { ok: false, why: 'a 64-character hex hash' };
    case 'hex': {
      const maxChars = def.maxLength === undefined ? Infinity : def.maxLength * 2;
      if (typeof v === 'string' && v.length % 2 === 0 && v.length <= maxChars && HEX_RE.test(v)) {
        return { ok: true, value: v.toLowerCase() };
      }
      const limit = def.maxLength === undefined ? '' : ` of at most ${def.maxLength} bytes`;
      return { ok: false, why: `an even-length hex string${limit}` };
    }
    case 'uint': {
      const min = def.min ?? 0;
      const max = def.max ?? Number.MAX_SAFE_INTEGER;
      if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max) return { ok: true, value: v };
      return { ok: false, why: `an integer from ${min} to ${max}` };
    }
    case 'bool':
      return typeof v === 'boolean' ? { ok: true, value: v } : { ok: false, why: 'a boolean' };
    case 'string':
      if (typeof v === 'string' && (def.maxLength === undefined || v.length <= def.maxLength)) return { ok: true, value: v };
      return { ok: false, why: def.maxLength === undefined ? 'a string' : `a string of at most ${def.maxLength} characters` };
    case 'array': {
      if (!Array.isArray(v)) return { ok: false, why: 'an array' };
      if (def.maxLength !== undefined && v.length > def.maxLength) {
        return { ok: false, why: `an array of at most ${def.maxLength} items` };
      }
      if (def.items === undefined) return { ok: true, value: v };
      const out: unknown[] = [];
      for (let i = 0; i < v.length; i++) out.push(checkValue(def.items, v[i], `${def.name}[${i}]`));
      return { ok: true, value: out };
    }
    case 'any':
      return { ok: true, value: v };
  }
}

function checkValue(def: ParamDef, v: unknown, label: string): unknown {
  const kinds: readonly ParamType[] = typeof def.type === 'string' ? [def.type] : def.type;
  const wanted: string[] = [];
  for (const kind of kinds) {
    const r = checkKind(def, kind, v);
    if (r.ok) return r.value;
    wanted.push(r.why);
  }
  throw invalidParams(`Invalid params: ${label} must be ${wanted.join(' or ')}, got ${typeName(v)}`);
}

/**
 * Validates positional params against a spec: too many → −32602, a missing or null required one →
 * −32602, a wrong type → −32602 naming the parameter. Returns a new array with defaults filled in.
 */
export function validateParams(spec: ParamSpec, params: readonly unknown[]): unknown[] {
  if (params.length > spec.length) {
    throw invalidParams(`Invalid params: expected at most ${spec.length} parameter(s), got ${params.length}`);
  }
  const out: unknown[] = [];
  for (let i = 0; i < spec.length; i++) {
    const def = spec[i]!;
    const v = i < params.length ? params[i] : undefined;
    if (v === undefined || v === null) {
      if (!def.optional) throw invalidParams(`Invalid params: missing required parameter ${i + 1} (${def.name})`);
      out.push(def.default);
      continue;
    }
    out.push(checkValue(def, v, def.name));
  }
  return out;
}

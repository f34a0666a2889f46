/**
 * The one table from typed errors to JSON-RPC error objects (SPEC §5). Handlers throw either an
 * `RpcError` (a deliberate JSON-RPC answer) or a typed chain error; everything else is an internal
 * error whose details stay in the server log and never reach the client.
 */
import { AddressError, DecodeError, RuleCode, RuleError, StoreCode, StoreError } from '../chain/errors.js';

/** JSON-RPC error codes used by timecoin (SPEC §5; the negative small ones are Bitcoin Core's). */
export const RpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Missing or unknown API key (HTTP 401). */
  Unauthorized: -32001,
  /** The key lacks the method's scope (HTTP 403). */
  Forbidden: -32002,
  /** Over the key's (or the client address's failed-auth) rate (HTTP 429). */
  RateLimited: -32005,
  /** Bitcoin Core RPC_INVALID_PARAMETER. */
  InvalidParameter: -8,
  /** Bitcoin Core RPC_INVALID_ADDRESS_OR_KEY: unknown transaction/block, invalid address. */
  NotFound: -5,
  /** Bitcoin Core RPC_DESERIALIZATION_ERROR. */
  DecodeFailed: -22,
  /** Bitcoin Core RPC_VERIFY_ERROR: missing or spent inputs. */
  MissingInputs: -25,
  /** Bitcoin Core RPC_VERIFY_REJECTED: a rule rejected it; the message is the rule name. */
  Rejected: -26,
  /** Bitcoin Core RPC_VERIFY_ALREADY_IN_CHAIN. */
  AlreadyInChain: -27,
} as const;
export type RpcCode = (typeof RpcCode)[keyof typeof RpcCode];

/** The `error` member of a JSON-RPC response. */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** An error a handler throws on purpose: it reaches the client as `{code, message, data}`. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
  }
}

/** −32602: the params do not match the method's parameter list. */
export const invalidParams = (message: string): RpcError => new RpcError(RpcCode.InvalidParams, message);
/** −8: a parameter is well-typed but its value is unacceptable. */
export const invalidParameter = (message: string): RpcError => new RpcError(RpcCode.InvalidParameter, message);
/** −5: the named transaction, block or address is unknown. */
export const notFound = (message: string): RpcError => new RpcError(RpcCode.NotFound, message);

/**
 * Rule codes → JSON-RPC codes. Built from every `RuleCode` value so a new rule can never fall
 * through to "internal error": the two special cases are Bitcoin Core's, the rest are −26.
 */
export const RULE_CODE_TO_RPC: Readonly<Record<RuleCode, number>> = Object.fromEntries(
  Object.values(RuleCode).map((rule) => [
    rule,
    rule === RuleCode.MissingInputs
      ? RpcCode.MissingInputs
      : rule === RuleCode.AlreadyInChain
        ? RpcCode.AlreadyInChain
        : RpcCode.Rejected,
  ]),
) as Record<RuleCode, number>;

const INTERNAL: RpcErrorObject = { code: RpcCode.InternalError, message: 'Internal error' };

/**
 * Maps anything a handler threw to the error object sent to the client, and says whether it was
 * unexpected (the server then logs it with its stack). Only the rows below pass a message through.
 *
 * | thrown | code | message |
 * | --- | --- | --- |
 * | `RpcError` | its code | its message (+ data) |
 * | `DecodeError` | −22 | `TX decode failed: <decode code>` |
 * | `RuleError` `missing-inputs` | −25 | `missing-inputs` |
 * | `RuleError` `already-in-chain` | −27 | `already-in-chain` |
 * | any other `RuleError` | −26 | the rule name, e.g. `bad-signature` |
 * | `AddressError` | −5 | `Invalid address: <address code>` |
 * | `StoreError` `store-not-found` | −5 | `Not found` |
 * | anything else | −32603 | `Internal error` |
 */
export function toRpcError(err: unknown): { error: RpcErrorObject; unexpected: boolean } {
  if (err instanceof RpcError) {
    const error: RpcErrorObject = { code: err.code, message: err.message };
    if (err.data !== undefined) error.data = err.data;
    return { error, unexpected: err.code === RpcCode.InternalError };
  }
  if (err instanceof DecodeError) {
    return { error: { code: RpcCode.DecodeFailed, message: `TX decode failed: ${err.code}` }, unexpected: false };
  }
  if (err instanceof RuleError) {
    const code = Object.hasOwn(RULE_CODE_TO_RPC, err.code) ? RULE_CODE_TO_RPC[err.code] : RpcCode.Rejected;
    // The message is exactly the rule name (wallets match on it); the human detail goes in data.
    return { error: { code, message: err.code, data: { detail: err.message } }, unexpected: false };
  }
  if (err instanceof AddressError) {
    return { error: { code: RpcCode.NotFound, message: `Invalid address: ${err.code}` }, unexpected: false };
  }
  if (err instanceof StoreError && err.code === StoreCode.NotFound) {
    return { error: { code: RpcCode.NotFound, message: 'Not found' }, unexpected: false };
  }
  return { error: { ...INTERNAL }, unexpected: true };
}

/**
 * Exact amount conversions (SPEC §1, §5). Amounts are bigint units; strings are parsed digit by
 * digit and never pass through a JS number, so "0.1" is exactly 10,000,000 units.
 */
import { TimecoinError } from '../chain/errors.js';
import { MAX_MONEY, UNITS_PER_TIME } from '../chain/constants.js';

/** Why a string is not an amount. */
export const AmountCode = {
  Empty: 'amount-empty',
  Negative: 'amount-negative',
  Exponent: 'amount-exponent',
  TooManyDecimals: 'amount-too-many-decimals',
  Malformed: 'amount-malformed',
  OutOfRange: 'amount-out-of-range',
} as const;
export type AmountCode = (typeof AmountCode)[keyof typeof AmountCode];

/** A string could not be read as an amount, or an amount is outside 0 … MAX_MONEY. */
export class AmountError extends TimecoinError<AmountCode> {}

/** Decimal places of one TIME. */
export const TIME_DECIMALS = 8;
/** Longest accepted input: 17 integer digits + "." + 8 decimals is already far above MAX_MONEY. */
const MAX_INPUT_LEN = 40;

/** Human-readable form of the input for error messages: quoted, cut, one line. */
function show(s: string): string {
  const cut = s.length > MAX_INPUT_LEN ? `${s.slice(0, MAX_INPUT_LEN)}…` : s;
  return JSON.stringify(cut);
}

/** Common rejections of both parsers, each with its own code. */
function precheck(s: unknown, what: string): string {
  if (typeof s !== 'string') throw new AmountError(AmountCode.Malformed, `${what} must be a string`);
  if (s.length === 0) throw new AmountError(AmountCode.Empty, `${what} is empty`);
  if (s.startsWith('-')) throw new AmountError(AmountCode.Negative, `${what} ${show(s)} is negative`);
  if (/^[+]?\d*\.?\d*[eE][+-]?\d+$/.test(s)) throw new AmountError(AmountCode.Exponent, `${what} ${show(s)} uses an exponent; write the digits out`);
  if (s.length > MAX_INPUT_LEN) throw new AmountError(AmountCode.OutOfRange, `${what} ${show(s)} is too long`);
  return s;
}

function checkRange(units: bigint, s: string, what: string): bigint {
  if (units > MAX_MONEY) throw new AmountError(AmountCode.OutOfRange, `${what} ${show(s)} is above MAX_MONEY (100,000,000 TIME)`);
  return units;
}

/**
 * Parse a TIME amount ("1.5", "0.00000001", "21") into units. Accepts digits with at most one
 * "." and 1–8 digits after it; no sign, exponent, spaces, separators or leading/trailing ".".
 */
export function parseTimeAmount(s: string): bigint {
  const what = 'amount';
  precheck(s, what);
  const m = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (m === null) throw new AmountError(AmountCode.Malformed, `${what} ${show(s)} is not a decimal number of TIME`);
  const frac = m[2] ?? '';
  if (frac.length > TIME_DECIMALS) {
    throw new AmountError(AmountCode.TooManyDecimals, `${what} ${show(s)} has more than ${TIME_DECIMALS} decimal places`);
  }
  const units = BigInt(m[1]!) * UNITS_PER_TIME + BigInt(frac.padEnd(TIME_DECIMALS, '0'));
  return checkRange(units, s, what);
}

/** Options of `formatTimeAmount`. */
export interface FormatOptions {
  /** Drop trailing zeros of the fraction (and the "." when nothing is left): "1.5", "2". Default false. */
  readonly trim?: boolean;
}

/**
 * Format units as TIME. Default is the fixed 8-decimal form "1.50000000" (as Bitcoin Core
 * prints BTC), which is exact and column-aligned; `{trim: true}` gives "1.5".
 */
export function formatTimeAmount(units: bigint, options: FormatOptions = {}): string {
  if (typeof units !== 'bigint') throw new AmountError(AmountCode.Malformed, 'amount must be a bigint of units');
  if (units < 0n) throw new AmountError(AmountCode.Negative, `amount ${units} is negative`);
  const whole = (units / UNITS_PER_TIME).toString();
  let frac = (units % UNITS_PER_TIME).toString().padStart(TIME_DECIMALS, '0');
  if (options.trim === true) frac = frac.replace(/0+$/, '');
  return frac.length === 0 ? whole : `${whole}.${frac}`;
}

/**
 * Parse an RPC amount: a string of integer units in canonical decimal form ("150000000"; no
 * sign, leading zeros, spaces or fraction), 0 … MAX_MONEY.
 */
export function parseUnits(s: string): bigint {
  const what = 'amount in units';
  precheck(s, what);
  if (/^\d+\.\d*$/.test(s)) throw new AmountError(AmountCode.Malformed, `${what} ${show(s)} must be an integer number of units`);
  if (!/^(0|[1-9]\d*)$/.test(s)) throw new AmountError(AmountCode.Malformed, `${what} ${show(s)} is not a canonical integer`);
  return checkRange(BigInt(s), s, what);
}

/** Format units for RPC JSON: the decimal integer string (SPEC §5). */
export function formatUnits(units: bigint): string {
  if (typeof units !== 'bigint') throw new AmountError(AmountCode.Malformed, 'amount must be a bigint of units');
  if (units < 0n) throw new AmountError(AmountCode.Negative, `amount ${units} is negative`);
  return units.toString();
}

/**
 * Leader rule and quorum sizes: the single place every consensus and chain path takes them from.
 *
 * Quorum is ⌊2n/3⌋ + 1 (strictly more than two thirds of n). For n = 3f + 1 — 4, 7, 10, … — this is
 * exactly SPEC §4's 2f + 1. For other n, 2f + 1 is unsafe: with n = 5 (f = 1) two quorums of 3 share
 * a single validator, which may be the faulty one, so two blocks could both become final; with
 * n = 2 a single vote would finalize. ⌊2n/3⌋ + 1 keeps any two quorums overlapping in at least
 * f + 1 validators (one honest) and is never more than n − f, so the honest validators alone still
 * reach it. docs/consensus.md records this as the closest sound reading of the SPEC.
 */
import type { Bytes } from './types.js';

/** Largest validator set the codec and certificate checks accept. */
export const MAX_VALIDATORS = 1000;

/** f: how many faulty validators a set of n tolerates, ⌊(n − 1) / 3⌋. */
export function faultTolerance(n: number): number {
  return n <= 0 ? 0 : Math.floor((n - 1) / 3);
}

/** Votes that make a certificate: ⌊2n/3⌋ + 1 (= 2f + 1 when n = 3f + 1). */
export function quorumSize(n: number): number {
  return Math.floor((2 * n) / 3) + 1;
}

/** f + 1: enough view changes that at least one honest validator asked for the view. */
export function weakQuorumSize(n: number): number {
  return faultTolerance(n) + 1;
}

/** Index of the leader of (height, view) in an ordered set of n validators: (height + view) mod n. */
export function leaderIndex(height: number, view: number, n: number): number {
  if (n <= 0) throw new RangeError('empty validator set');
  // Reduce each term first: height + view can exceed 2^53 for heights near the safe-integer limit.
  return ((height % n) + (view % n)) % n;
}

/** The operator key leading (height, view). */
export function leaderOf(validators: readonly Bytes[], height: number, view: number): Bytes {
  return validators[leaderIndex(height, view, validators.length)]!;
}

/** An ordered validator set with a key → index lookup. */
export interface ValidatorSet {
  readonly keys: readonly Bytes[];
  /** hex(public key) → position in `keys`. */
  readonly index: ReadonlyMap<string, number>;
  readonly quorum: number;
  readonly f: number;
}

/** Build a ValidatorSet; throws RangeError on an empty, oversized or duplicated set or a key not 32 bytes. */
export function makeValidatorSet(keys: readonly Bytes[]): ValidatorSet {
  if (keys.length === 0 || keys.length > MAX_VALIDATORS) throw new RangeError(`validator set of ${keys.length}`);
  const index = new Map<string, number>();
  keys.forEach((k, i) => {
    if (!(k instanceof Uint8Array) || k.length !== 32) throw new RangeError(`validator ${i} is not a 32-byte key`);
    const hex = Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('hex');
    if (index.has(hex)) throw new RangeError(`validator ${i} is listed twice`);
    index.set(hex, i);
  });
  return { keys: [...keys], index, quorum: quorumSize(keys.length), f: faultTolerance(keys.length) };
}

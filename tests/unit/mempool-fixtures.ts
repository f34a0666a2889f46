/**
 * Helpers for the mempool and assembler tests: transfers with an exact fee rate, and a check
 * that a rejection carries the expected RuleCode and left the pool exactly as it was.
 */
import { expect } from 'vitest';
import { RuleError, type RuleCode } from '../../chain/errors.js';
import { toHex } from '../../chain/hash.js';
import type { Mempool } from '../../chain/mempool.js';
import { SignatureCache, type Signer } from '../../chain/ed25519.js';
import { encodedTxSize, type Transaction } from '../../chain/transaction.js';
import { out, spend, type Coin } from './chain-fixtures.js';

/**
 * Spend `coin` to `owners` (one output each, the last one taking the change) paying exactly
 * `rate` units per encoded byte.
 */
export function txAtRate(coin: Coin, rate: bigint, owners: readonly Signer[], each = 1_000n): Transaction {
  const size = encodedTxSize(1, owners.length, 0);
  const fee = rate * BigInt(size);
  const rest = coin.amount - fee - each * BigInt(owners.length - 1);
  if (rest < 546n) throw new Error('fixture: coin too small for this fee');
  const outputs = owners.map((o, n) => out(n === owners.length - 1 ? rest : each, o));
  return spend([coin], outputs);
}

/** Everything observable about the pool, for "a rejection changes nothing" checks. */
export function snapshot(m: Mempool): unknown {
  const entries = [...m.entries()]
    .map((e) => ({ key: e.key, fee: e.fee, parents: [...e.parents].sort(), children: [...e.children].sort() }))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
  return { size: m.size, bytes: m.bytes, info: m.info(), entries, txids: m.txids().map(toHex).sort() };
}

/** `fn` throws a RuleError with `code`, and the pool is unchanged. */
export function expectRejected(m: Mempool, fn: () => unknown, code: RuleCode): RuleError {
  const before = snapshot(m);
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(RuleError);
  expect((caught as RuleError).code).toBe(code);
  expect(snapshot(m)).toEqual(before);
  return caught as RuleError;
}

/** A SignatureCache that counts signatures which actually reach the curve (cache misses). */
export class CountingCache extends SignatureCache {
  misses = 0;
  override verify(key: string, publicKey: Uint8Array, message: Uint8Array | (() => Uint8Array), signature: Uint8Array): boolean {
    if (!this.has(key)) this.misses++;
    return super.verify(key, publicKey, message, signature);
  }
}

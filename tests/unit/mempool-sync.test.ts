/**
 * Mempool reconciliation codec and responder (src/mempool-sync.ts) against a real Mempool:
 * decoders throw only P2pError decode-failed on any bytes; encode/decode round trips; the
 * responder never sends a transaction the digest names, sends parents before children (a parent
 * the requester holds counts as present), stays within the byte limit, sets "more" exactly when
 * it left something out, and orders independent transactions by fee rate.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareFeeRate } from '../../chain/fee-rate.js';
import { toHex } from '../../chain/hash.js';
import { Mempool } from '../../chain/mempool.js';
import type { Transaction } from '../../chain/transaction.js';
import { MapView } from '../../chain/utxo.js';
import { P2pCode, P2pError } from '../../p2p/errors.js';
import {
  DIGEST_HEADER_BYTES,
  MAX_DIGEST_IDS,
  RESPONSE_HEADER_BYTES,
  decodeDigestRequest,
  decodeDigestResponse,
  encodeDigestRequest,
  encodeDigestResponse,
  responseSize,
  selectMissing,
  shortId,
} from '../../src/mempool-sync.js';
import { CHAIN_ID, coinOf, fund, signer } from './chain-fixtures.js';
import { txAtRate } from './mempool-fixtures.js';

const owner = signer(41);

/** A pool of 8 families: root (2 outputs) → child → grandchild, fee rates chosen so children often pay more than parents. */
function buildPool(): { mempool: Mempool; txs: Transaction[] } {
  const view = new MapView();
  const mempool = new Mempool({ chainId: CHAIN_ID, sigCache: null });
  const txs: Transaction[] = [];
  const add = (tx: Transaction): Transaction => {
    mempool.accept(tx, view, 1);
    txs.push(tx);
    return tx;
  };
  for (let i = 0; i < 8; i++) {
    const root = add(txAtRate(fund(view, owner, 50_000_000n, `sync ${i}`), BigInt(1 + (i % 4)), [owner, owner]));
    const child = add(txAtRate(coinOf(root, 1, owner), BigInt(9 - i), [owner]));
    if (i % 2 === 0) add(txAtRate(coinOf(child, 0, owner), BigInt(20 + i), [owner]));
  }
  return { mempool, txs };
}

const expectDecodeFailed = (fn: () => unknown): void => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(P2pError);
    expect((err as P2pError).code).toBe(P2pCode.DecodeFailed);
    return;
  }
};

describe('mempool digest codec', () => {
  let txs: Transaction[];
  beforeAll(() => ({ txs } = buildPool()));

  it('request: random bytes and mutated valid requests throw only decode-failed', () => {
    const valid = encodeDigestRequest(new Uint8Array(8).fill(7), txs.map((t) => t.txid));
    const mutated = fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(valid.length)).map(([at, v, cut]) => {
      const b = Uint8Array.from(valid);
      b[at] = v;
      return b.subarray(0, cut);
    });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated), (bytes) => expectDecodeFailed(() => decodeDigestRequest(bytes))), { numRuns: 2_000 });
  });

  it('response: random bytes and mutated valid responses throw only decode-failed', () => {
    const valid = encodeDigestResponse(txs.slice(0, 4), true);
    const mutated = fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(valid.length)).map(([at, v, cut]) => {
      const b = Uint8Array.from(valid);
      b[at] = v;
      return b.subarray(0, cut);
    });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated), (bytes) => expectDecodeFailed(() => decodeDigestResponse(bytes))), { numRuns: 2_000 });
  });

  it('named refusals: wrong version, unknown flag, count past the cap, trailing bytes', () => {
    const req = encodeDigestRequest(new Uint8Array(8), [txs[0]!.txid]);
    const badVersion = Uint8Array.from(req);
    badVersion[0] = 2;
    expect(() => decodeDigestRequest(badVersion)).toThrow(/version 2/);
    const huge = Buffer.alloc(DIGEST_HEADER_BYTES);
    huge.writeUInt8(1, 0);
    huge.writeUInt32BE(MAX_DIGEST_IDS + 1, 9);
    expect(() => decodeDigestRequest(huge)).toThrow(/more than 10000/);
    const res = encodeDigestResponse([txs[0]!], false);
    const badFlag = Uint8Array.from(res);
    badFlag[1] = 2;
    expect(() => decodeDigestResponse(badFlag)).toThrow(/flags 2/);
    expect(() => decodeDigestResponse(Uint8Array.from([...res, 0]))).toThrow(/trailing/);
  });

  it('round trips: a request holds exactly the salted short ids; a response the same transactions and flag', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.subarray(txs), fc.boolean(), (salt, sub, more) => {
        const req = encodeDigestRequest(salt, sub.map((t) => t.txid));
        expect(req.length).toBe(DIGEST_HEADER_BYTES + 8 * sub.length);
        const d = decodeDigestRequest(req);
        expect([...d.salt]).toEqual([...salt]);
        expect(d.ids).toEqual(new Set(sub.map((t) => shortId(salt, t.txid))));
        const res = encodeDigestResponse(sub, more);
        expect(res.length).toBe(responseSize(sub));
        const back = decodeDigestResponse(res);
        expect(back.more).toBe(more);
        expect(back.txs.map((t) => toHex(t.bytes))).toEqual(sub.map((t) => toHex(t.bytes)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('selectMissing (the responder)', () => {
  let mempool: Mempool;
  let txs: Transaction[];
  beforeAll(() => ({ mempool, txs } = buildPool()));

  it('never sends a named transaction, parents first, within the byte limit, "more" exactly when something was left out', () => {
    const total = responseSize(txs);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.subarray(txs),
        fc.integer({ min: RESPONSE_HEADER_BYTES, max: total + 100 }),
        (salt, held, limit) => {
          const digest = decodeDigestRequest(encodeDigestRequest(salt, held.map((t) => t.txid)));
          const heldKeys = new Set(held.map((t) => toHex(t.txid)));
          const { txs: sent, more } = selectMissing(mempool, digest, limit);
          expect(responseSize(sent)).toBeLessThanOrEqual(limit);
          const present = new Set(heldKeys);
          for (const t of sent) {
            const key = toHex(t.txid);
            expect(heldKeys.has(key)).toBe(false);
            // Every pool parent is held by the requester or was sent before.
            for (const p of mempool.entry(key)!.parents) expect(present.has(p)).toBe(true);
            present.add(key);
          }
          const missing = txs.length - held.length;
          expect(more).toBe(sent.length < missing);
          if (limit >= total) expect(sent.length).toBe(missing);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a parent goes before its richer child; independent transactions leave best fee rate first', () => {
    const digest = decodeDigestRequest(encodeDigestRequest(new Uint8Array(8), []));
    const { txs: sent, more } = selectMissing(mempool, digest, 1 << 20);
    expect(more).toBe(false);
    expect(sent).toHaveLength(txs.length);
    const at = new Map(sent.map((t, i) => [toHex(t.txid), i]));
    let richerChildren = 0;
    for (const t of sent) {
      const e = mempool.entry(t.txid)!;
      for (const p of e.parents) {
        expect(at.get(p)!).toBeLessThan(at.get(e.key)!);
        const pe = mempool.entry(p)!;
        if (compareFeeRate(e.fee, BigInt(e.size), pe.fee, BigInt(pe.size)) > 0) richerChildren++;
      }
    }
    expect(richerChildren).toBeGreaterThan(0); // the fixture does exercise the topological rule
    // The roots have no pool parents: among them the order is by fee rate, best first.
    const roots = sent.map((t) => mempool.entry(t.txid)!).filter((e) => e.parents.size === 0);
    for (let i = 1; i < roots.length; i++) {
      expect(compareFeeRate(roots[i - 1]!.fee, BigInt(roots[i - 1]!.size), roots[i]!.fee, BigInt(roots[i]!.size))).toBeGreaterThanOrEqual(0);
    }
  });

  it('a limit too small for any transaction sends none and says "more"', () => {
    const digest = decodeDigestRequest(encodeDigestRequest(new Uint8Array(8), []));
    expect(selectMissing(mempool, digest, RESPONSE_HEADER_BYTES + 10)).toEqual({ txs: [], more: true });
  });
});

/**
 * The `/timecoin/tx/2` batch frame: splitting keeps order and both limits, decoding is the exact
 * inverse, and malformed frames are `decode-failed` (never another error).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TX_SIZE } from '../../chain/constants.js';
import { toHex } from '../../chain/hash.js';
import { P2pCode, P2pError } from '../../p2p/errors.js';
import { decodeTxBatch, encodeTxBatches, TX_BATCH_MAX_BYTES, TX_BATCH_MAX_COUNT } from '../../p2p/tx-batch.js';
import { txArb } from './p2p-decoders-table.js';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(P2pError);
    return (e as P2pError).code;
  }
};

describe('transaction batch frames', () => {
  it('round-trip in order, every frame within the count and byte limits', () => {
    fc.assert(
      fc.property(fc.array(txArb, { minLength: 1, maxLength: 12 }), (txs) => {
        const frames = encodeTxBatches(txs.map((t) => t.bytes));
        const back = frames.flatMap((f) => decodeTxBatch(f));
        expect(back.map((t) => toHex(t.txid))).toEqual(txs.map((t) => toHex(t.txid)));
        for (const f of frames) expect(f.length).toBeLessThanOrEqual(TX_BATCH_MAX_BYTES);
      }),
      { numRuns: 60 },
    );
  });

  it('with `wanted`, refused txids are skipped undecoded and the rest kept in order; malformed entries still fail', () => {
    fc.assert(
      fc.property(fc.array(txArb, { minLength: 1, maxLength: 12 }), fc.func(fc.boolean()), (txs, pick) => {
        const [frame] = encodeTxBatches(txs.map((t) => t.bytes));
        const asked: string[] = [];
        const back = decodeTxBatch(frame!, (id, bytes) => {
          expect(toHex(bytes)).toBe(toHex(txs[asked.length]!.bytes));
          asked.push(id);
          return pick(id);
        });
        expect(asked).toEqual(txs.map((t) => t.txidHex));
        expect(back.map((t) => t.txidHex)).toEqual(txs.filter((t) => pick(t.txidHex)).map((t) => t.txidHex));
      }),
      { numRuns: 60 },
    );
    // An entry whose input count does not fit has no txid: it is decoded, and refused, whatever `wanted` says.
    const junk = encodeTxBatches([Uint8Array.of(1, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0)])[0]!;
    expect(codeOf(() => decodeTxBatch(junk, () => false))).toBe(P2pCode.DecodeFailed);
  });

  it('splits at the count limit and at the byte limit', () => {
    const one = fc.sample(txArb, { numRuns: 1, seed: 3 })[0]!;
    const many = encodeTxBatches(Array.from({ length: TX_BATCH_MAX_COUNT + 1 }, () => one.bytes));
    expect(many.map((f) => decodeTxBatch(f).length)).toEqual([TX_BATCH_MAX_COUNT, 1]);
    // Big (undecodable, but the split is byte arithmetic) payloads: two of 600 kB cannot share a frame.
    const big = new Uint8Array(600_000);
    expect(encodeTxBatches([big, big])).toHaveLength(2);
    expect(codeOf(() => encodeTxBatches([new Uint8Array(MAX_TX_SIZE + 1)]))).toBe(P2pCode.FrameTooLarge);
  });

  it('malformed frames are decode-failed', () => {
    const good = encodeTxBatches(fc.sample(txArb, { numRuns: 2, seed: 5 }).map((t) => t.bytes))[0]!;
    expect(codeOf(() => decodeTxBatch(new Uint8Array([0])))).toBe(P2pCode.DecodeFailed);
    expect(codeOf(() => decodeTxBatch(new Uint8Array([0, 0])))).toBe(P2pCode.DecodeFailed); // count 0
    expect(codeOf(() => decodeTxBatch(Uint8Array.of(0xff, 0xff, 0, 0, 0, 1)))).toBe(P2pCode.DecodeFailed); // count over the cap
    expect(codeOf(() => decodeTxBatch(good.subarray(0, good.length - 1)))).toBe(P2pCode.DecodeFailed);
    expect(codeOf(() => decodeTxBatch(Buffer.concat([good, Buffer.of(0)])))).toBe(P2pCode.DecodeFailed);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        try {
          decodeTxBatch(b);
        } catch (e) {
          expect(e).toBeInstanceOf(P2pError);
          expect((e as P2pError).code).toBe(P2pCode.DecodeFailed);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a decoded transaction does not keep the frame buffer alive (at most a small pool slab)', () => {
    // A frame in its own ArrayBuffer, as the network delivers it, larger than Node's Buffer pool.
    const txs = fc.sample(txArb, { numRuns: 200, seed: 9 });
    const frame = new Uint8Array(encodeTxBatches(txs.map((t) => t.bytes))[0]!);
    expect(frame.byteLength).toBeGreaterThan(Buffer.poolSize);
    const decoded = decodeTxBatch(frame);
    expect(decoded.map((t) => Buffer.from(t.bytes).toString('hex'))).toEqual(txs.map((t) => Buffer.from(t.bytes).toString('hex')));
    for (const tx of decoded) {
      expect(tx.bytes.buffer).not.toBe(frame.buffer);
      if (tx.bytes.length < Buffer.poolSize / 2) expect(tx.bytes.buffer.byteLength).toBeLessThanOrEqual(Buffer.poolSize);
    }
    // The copies are the transactions' own: changing the frame afterwards changes none of them.
    frame.fill(0);
    expect(decoded.map((t) => Buffer.from(t.bytes).toString('hex'))).toEqual(txs.map((t) => Buffer.from(t.bytes).toString('hex')));
  });
});

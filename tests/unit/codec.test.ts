import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZERO_HASH, computeTxRoot, createBlock, decodeBlock, decodeBlockHeader, hashBlockBytes, HEADER_SIZE } from '../../chain/block.js';
import { TxKind } from '../../chain/constants.js';
import { DecodeCode, DecodeError } from '../../chain/errors.js';
import { createTransaction, decodeTransaction, outpointKey, outputKey, txidHexOfEncoding, withSignatures, type Transaction, type TransactionFields } from '../../chain/transaction.js';

const H = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const b = (n: number) => Uint8Array.of(n);

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const txFieldsArb: fc.Arbitrary<TransactionFields> = fc.record({
  kind: fc.constantFrom(TxKind.Transfer, TxKind.Coinbase, TxKind.MasternodeRegistration),
  inputs: fc.array(
    fc.record({ prevTxid: bytes32, prevIndex: fc.nat({ max: 0xffffffff }), signature: fc.uint8Array({ minLength: 64, maxLength: 64 }) }),
    { maxLength: 4 },
  ),
  outputs: fc.array(fc.record({ amount: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), publicKey: bytes32 }), { maxLength: 4 }),
  payload: fc.uint8Array({ maxLength: 40 }),
});
const txArb = txFieldsArb.map((f) => createTransaction(f));
const blockArb = fc
  .record({
    height: fc.nat({ max: 2 ** 40 }),
    prevHash: bytes32,
    timestampMs: fc.nat({ max: 2 ** 50 }),
    proposer: bytes32,
    view: fc.nat({ max: 0xffffffff }),
    txs: fc.array(txArb, { maxLength: 4 }),
  })
  .map((f) => createBlock(f));

/** Offsets of the u32 count fields of an encoded transaction (inputCount, outputCount, payloadLength). */
function txCountOffsets(tx: Transaction): number[] {
  const outputCountAt = 2 + 4 + tx.inputs.length * 100;
  return [2, outputCountAt, outputCountAt + 4 + tx.outputs.length * 40];
}

/** Apply one random mutation: flip a bit, truncate, extend, or overwrite a count with any u32. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('count' as const), which: fc.nat(), value: fc.nat({ max: 0xffffffff }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(src: Uint8Array, m: Mutation, countOffsets: number[]): Uint8Array {
  const out = Buffer.from(src);
  switch (m.op) {
    case 'flip':
      if (out.length > 0) out[m.at % out.length]! ^= 1 << m.bit;
      return out;
    case 'truncate':
      return out.subarray(0, m.at % Math.max(out.length, 1));
    case 'extend':
      return Buffer.concat([out, m.extra]);
    case 'count':
      out.writeUInt32LE(m.value, countOffsets[m.which % countOffsets.length]!);
      return out;
  }
}

/** Run `fn`; it must either succeed or throw a DecodeError (nothing else, ever). */
function onlyDecodeErrors(fn: () => unknown): 'ok' | DecodeCode {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (!(e instanceof DecodeError)) throw new Error(`decoder threw a non-DecodeError: ${String(e)}`);
    return e.code;
  }
}

/** Largest length passed to `new Array(n)` while `fn` runs (the decoders' only allocation by count). */
function largestArrayAllocation(fn: () => void): number {
  const Original = globalThis.Array;
  let largest = 0;
  globalThis.Array = new Proxy(Original, {
    construct(target, args, newTarget) {
      if (typeof args[0] === 'number') largest = Math.max(largest, args[0]);
      return Reflect.construct(target, args, newTarget) as object;
    },
  });
  try {
    fn();
  } finally {
    globalThis.Array = Original;
  }
  return largest;
}

describe('transaction codec', () => {
  it('round-trips every field, and a decodable mutation re-encodes to the same bytes (one encoding per value)', () => {
    fc.assert(
      fc.property(txArb, (tx) => {
        const back = decodeTransaction(tx.bytes);
        expect(back.kind).toBe(tx.kind);
        expect(back.inputs.map((i) => [Buffer.from(i.prevTxid), i.prevIndex, Buffer.from(i.signature)])).toEqual(
          tx.inputs.map((i) => [Buffer.from(i.prevTxid), i.prevIndex, Buffer.from(i.signature)]),
        );
        expect(back.outputs.map((o) => [o.amount, Buffer.from(o.publicKey)])).toEqual(tx.outputs.map((o) => [o.amount, Buffer.from(o.publicKey)]));
        expect(Buffer.from(back.payload)).toEqual(Buffer.from(tx.payload));
        expect(Buffer.from(back.txid)).toEqual(Buffer.from(tx.txid));
        expect(Buffer.from(createTransaction(back).bytes)).toEqual(Buffer.from(tx.bytes));
      }),
    );
  });

  it('never throws anything but DecodeError on mutated bytes; what decodes is canonical', () => {
    fc.assert(
      fc.property(txArb, mutation, (tx, m) => {
        const bad = mutate(tx.bytes, m, txCountOffsets(tx));
        let decoded: Transaction | undefined;
        const r = onlyDecodeErrors(() => (decoded = decodeTransaction(bad)));
        if (r === 'ok') expect(Buffer.from(createTransaction(decoded!).bytes)).toEqual(Buffer.from(bad));
      }),
      { numRuns: 500 },
    );
  });

  it('txidHexOfEncoding: the txid a decode gives, read from the bytes alone; null or a txid on anything else, never a throw', () => {
    fc.assert(
      fc.property(txArb, mutation, (tx, m) => {
        expect(txidHexOfEncoding(tx.bytes)).toBe(tx.txidHex);
        // Another signature leaves the txid unchanged.
        const resigned = withSignatures(tx, tx.inputs.map(() => new Uint8Array(64).fill(9)));
        expect(txidHexOfEncoding(resigned.bytes)).toBe(tx.txidHex);
        const bad = mutate(tx.bytes, m, txCountOffsets(tx));
        const id = txidHexOfEncoding(bad);
        let decoded: Transaction | undefined;
        if (onlyDecodeErrors(() => (decoded = decodeTransaction(bad))) === 'ok') expect(id).toBe(decoded!.txidHex);
      }),
      { numRuns: 300 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const id = txidHexOfEncoding(bytes);
      expect(id === null || /^[0-9a-f]{64}$/.test(id)).toBe(true);
    }), { numRuns: 500 });
    // An input count the bytes cannot hold: null, not a read past the end.
    expect(txidHexOfEncoding(Uint8Array.of(1, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0))).toBeNull();
    expect(txidHexOfEncoding(new Uint8Array(5))).toBeNull();
  });

  it('never throws anything but DecodeError on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => void onlyDecodeErrors(() => decodeTransaction(bytes))), { numRuns: 1000 });
  });

  it('rejects a count larger than the remaining input before allocating for it', () => {
    for (const at of [0, 1, 2]) {
      const tx = createTransaction({ kind: TxKind.Transfer, inputs: [], outputs: [], payload: new Uint8Array(6) }); // 20 bytes
      expect(tx.bytes.length).toBe(20);
      const bad = mutate(tx.bytes, { op: 'count', which: at, value: 0xffffffff }, txCountOffsets(tx));
      const started = performance.now();
      let code: string | undefined;
      const largest = largestArrayAllocation(() => {
        code = onlyDecodeErrors(() => decodeTransaction(bad));
      });
      expect(code).toBe(DecodeCode.Truncated);
      expect(largest).toBeLessThanOrEqual(20);
      expect(performance.now() - started).toBeLessThan(50);
    }
  });

  it('rejects trailing bytes, unknown versions and unknown kinds', () => {
    const tx = createTransaction({ kind: TxKind.Transfer, inputs: [], outputs: [], payload: new Uint8Array(0) });
    expect(onlyDecodeErrors(() => decodeTransaction(Buffer.concat([tx.bytes, b(0)])))).toBe(DecodeCode.TrailingBytes);
    const v2 = Buffer.from(tx.bytes);
    v2[0] = 2;
    expect(onlyDecodeErrors(() => decodeTransaction(v2))).toBe(DecodeCode.BadVersion);
    // 3 is evidence (docs/masternodes.md); 4..255 stay reserved.
    for (const kind of [4, 255]) {
      const k = Buffer.from(tx.bytes);
      k[1] = kind;
      expect(onlyDecodeErrors(() => decodeTransaction(k))).toBe(DecodeCode.BadKind);
    }
  });

  it('txid is SHA-256 of the encoding with every signature zeroed, at any size (also past the 4 KiB scratch buffer)', () => {
    const definitional = (tx: Transaction): Buffer => {
      const z = Buffer.from(tx.bytes);
      for (let i = 0; i < tx.inputs.length; i++) z.fill(0, 6 + i * 100 + 36, 6 + i * 100 + 100);
      return createHash('sha256').update(z).digest();
    };
    fc.assert(
      fc.property(txFieldsArb, fc.nat({ max: 9000 }), (f, extra) => {
        // A payload of up to 9,000 bytes puts some transactions past the scratch buffer.
        const tx = createTransaction({ ...f, payload: new Uint8Array(extra).fill(7) });
        expect(Buffer.from(tx.txid)).toEqual(definitional(tx));
        // The decoder computes the same txid, and an earlier large one leaves no trace in the next.
        expect(Buffer.from(decodeTransaction(tx.bytes).txid)).toEqual(definitional(tx));
        const small = createTransaction(f);
        expect(Buffer.from(small.txid)).toEqual(definitional(small));
      }),
      { numRuns: 150 },
    );
  });

  it("each input's outpoint is outpointKey(prevTxid, prevIndex) and txidHex the txid's hex, from the builder, the decoder (Buffer or plain Uint8Array, at an offset) and withSignatures", () => {
    fc.assert(
      fc.property(txFieldsArb, fc.nat({ max: 7 }), (f, pad) => {
        const tx = createTransaction(f);
        const want = f.inputs.map((i) => outpointKey(i.prevTxid, i.prevIndex));
        expect(tx.inputs.map((i) => i.outpoint)).toEqual(want);
        expect(decodeTransaction(tx.bytes).inputs.map((i) => i.outpoint)).toEqual(want);
        const shifted = new Uint8Array(pad + tx.bytes.length);
        shifted.set(tx.bytes, pad);
        expect(decodeTransaction(shifted.subarray(pad)).inputs.map((i) => i.outpoint)).toEqual(want);
        const resigned = withSignatures(tx, tx.inputs.map(() => new Uint8Array(64).fill(9)));
        expect(resigned.inputs.map((i) => i.outpoint)).toEqual(want);
        expect(tx.txidHex).toBe(Buffer.from(tx.txid).toString('hex'));
        expect(decodeTransaction(shifted.subarray(pad)).txidHex).toBe(tx.txidHex);
      }),
      { numRuns: 300 },
    );
  });

  it('outputKey(txid hex, n) and outpointKey(txid, n) are hex(txid || u32le(n)) for every u32 index, and refuse anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.oneof(fc.nat({ max: 300 }), fc.integer({ min: 0, max: 0xffffffff })), (txid, n) => {
        const index = Buffer.alloc(4);
        index.writeUInt32LE(n);
        const definition = Buffer.concat([txid, index]).toString('hex');
        expect(outputKey(Buffer.from(txid).toString('hex'), n)).toBe(definition);
        expect(outpointKey(txid, n)).toBe(definition);
        expect(outpointKey(new Uint8Array([9, ...txid]).subarray(1), n)).toBe(definition); // a view at an offset
      }),
      { numRuns: 500 },
    );
    for (const bad of [-1, 0x100000000, 1.5, Number.NaN]) expect(() => outputKey('00'.repeat(32), bad)).toThrow(RangeError);
    for (const len of [0, 31, 33, 36]) expect(() => outpointKey(new Uint8Array(len), 0)).toThrow(TypeError);
  });

  it('a changed prevIndex gets its own outpoint (never a stale copy from the input it was spread from)', () => {
    const tx = createTransaction({ kind: TxKind.Transfer, inputs: [{ prevTxid: new Uint8Array(32).fill(1), prevIndex: 0, signature: new Uint8Array(64) }], outputs: [] });
    const moved = createTransaction({ ...tx, inputs: [{ ...tx.inputs[0]!, prevIndex: 5 }] });
    expect(moved.inputs[0]!.outpoint).toBe(outpointKey(new Uint8Array(32).fill(1), 5));
  });

  it('txid is unchanged by signatures and changed by every other field', () => {
    fc.assert(
      fc.property(txFieldsArb.filter((f) => f.inputs.length > 0), fc.uint8Array({ minLength: 64, maxLength: 64 }), (f, sig) => {
        const tx = createTransaction(f);
        const resigned = withSignatures(tx, tx.inputs.map(() => sig));
        expect(Buffer.from(resigned.txid)).toEqual(Buffer.from(tx.txid));
        const moved = createTransaction({ ...f, inputs: f.inputs.map((i, n) => (n === 0 ? { ...i, prevIndex: (i.prevIndex + 1) % 2 ** 32 } : i)) });
        expect(Buffer.from(moved.txid)).not.toEqual(Buffer.from(tx.txid));
        const paid = createTransaction({ ...f, payload: Buffer.concat([f.payload ?? new Uint8Array(0), b(1)]) });
        expect(Buffer.from(paid.txid)).not.toEqual(Buffer.from(tx.txid));
      }),
      { numRuns: 100 },
    );
  });
});

describe('block codec', () => {
  it('round-trips and hashes the header only', () => {
    fc.assert(
      fc.property(blockArb, (block) => {
        const back = decodeBlock(block.bytes);
        expect(back.header).toEqual({ ...block.header, prevHash: Buffer.from(block.header.prevHash), txRoot: Buffer.from(block.header.txRoot), proposer: Buffer.from(block.header.proposer) });
        expect(back.txs.map((t) => Buffer.from(t.bytes))).toEqual(block.txs.map((t) => Buffer.from(t.bytes)));
        expect(Buffer.from(back.hash)).toEqual(Buffer.from(block.hash));
        expect(Buffer.from(hashBlockBytes(block.bytes))).toEqual(Buffer.from(H(block.bytes.subarray(0, HEADER_SIZE))));
        expect(decodeBlockHeader(block.bytes)).toEqual(back.header);
      }),
      { numRuns: 100 },
    );
  });

  it('never throws anything but DecodeError on mutated blocks', () => {
    fc.assert(
      fc.property(blockArb, mutation, (block, m) => {
        // Count fields of a block: txCount, then each transaction's length prefix.
        const offsets = [HEADER_SIZE];
        let pos = HEADER_SIZE + 4;
        for (const tx of block.txs) {
          offsets.push(pos);
          pos += 4 + tx.bytes.length;
        }
        const bad = mutate(block.bytes, m, offsets);
        onlyDecodeErrors(() => decodeBlock(bad));
        onlyDecodeErrors(() => decodeBlockHeader(bad));
        onlyDecodeErrors(() => hashBlockBytes(bad));
      }),
      { numRuns: 500 },
    );
  });

  it('rejects a huge txCount in a short block before allocating, and trailing bytes', () => {
    const block = createBlock({ height: 1, prevHash: ZERO_HASH, timestampMs: 1, proposer: ZERO_HASH, view: 0, txs: [] });
    const bad = Buffer.from(block.bytes);
    bad.writeUInt32LE(0xffffffff, HEADER_SIZE);
    let code: string | undefined;
    const largest = largestArrayAllocation(() => {
      code = onlyDecodeErrors(() => decodeBlock(bad));
    });
    expect(code).toBe(DecodeCode.Truncated);
    expect(largest).toBeLessThanOrEqual(bad.length);
    expect(onlyDecodeErrors(() => decodeBlock(Buffer.concat([block.bytes, b(0)])))).toBe(DecodeCode.TrailingBytes);
  });
});

describe('txRoot (SPEC §4), computed by hand', () => {
  const txids = [0, 1, 2, 3, 4].map((n) => H(new TextEncoder().encode(`tx ${n}`)));
  const leaf = (n: number) => H(b(0), txids[n]!);
  const node = (l: Uint8Array, r: Uint8Array) => H(b(1), l, r);

  it('0 leaves → 32 zero bytes', () => {
    expect(Buffer.from(computeTxRoot([]))).toEqual(Buffer.alloc(32));
  });
  it('1 leaf → H(0x00 || txid)', () => {
    expect(Buffer.from(computeTxRoot(txids.slice(0, 1)))).toEqual(Buffer.from(leaf(0)));
  });
  it('2 leaves → H(0x01 || l0 || l1)', () => {
    expect(Buffer.from(computeTxRoot(txids.slice(0, 2)))).toEqual(Buffer.from(node(leaf(0), leaf(1))));
  });
  it('3 leaves → the odd leaf is carried up unchanged', () => {
    expect(Buffer.from(computeTxRoot(txids.slice(0, 3)))).toEqual(Buffer.from(node(node(leaf(0), leaf(1)), leaf(2))));
  });
  it('5 leaves → carried up twice', () => {
    const expected = node(node(node(leaf(0), leaf(1)), node(leaf(2), leaf(3))), leaf(4));
    expect(Buffer.from(computeTxRoot(txids))).toEqual(Buffer.from(expected));
  });
  it('equals the definition (Hash objects over Buffers, levels built one by one) for any number of leaves', () => {
    const definitional = (ids: readonly Uint8Array[]): Buffer => {
      if (ids.length === 0) return Buffer.alloc(32);
      let level: Uint8Array[] = ids.map((id) => H(b(0), id));
      while (level.length > 1) {
        const next: Uint8Array[] = [];
        for (let i = 0; i + 1 < level.length; i += 2) next.push(node(level[i]!, level[i + 1]!));
        if (level.length % 2 === 1) next.push(level[level.length - 1]!);
        level = next;
      }
      return Buffer.from(level[0]!);
    };
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 70 }), (ids) => {
        expect(Buffer.from(computeTxRoot(ids))).toEqual(definitional(ids));
      }),
      { numRuns: 300 },
    );
  });
  it('refuses a txid that is not 32 bytes (a caller bug, not a rule)', () => {
    expect(() => computeTxRoot([new Uint8Array(31)])).toThrow(TypeError);
  });
  it('is not the same for a list and the list with its last element duplicated (CVE-2012-2459)', () => {
    expect(Buffer.from(computeTxRoot([...txids.slice(0, 3), txids[2]!]))).not.toEqual(Buffer.from(computeTxRoot(txids.slice(0, 3))));
  });
});

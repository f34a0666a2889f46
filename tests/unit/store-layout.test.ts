/**
 * chain/layout.ts: keys sort as documented (big-endian integers), every value codec
 * round-trips, and every damaged value is StoreError Corrupt (never a silent misread).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_U64 } from '../../chain/constants.js';
import { StoreCode } from '../../chain/errors.js';
import * as L from '../../chain/layout.js';

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const u64 = fc.bigInt({ min: 0n, max: MAX_U64 });
const height = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const utxo = fc.record({ amount: u64, publicKey: bytes32, height, coinbase: fc.boolean() });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const norm = (v: unknown): unknown =>
  v instanceof Uint8Array ? hex(v) : Array.isArray(v) ? v.map(norm) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)])) : v;

describe('layout keys', () => {
  it('heights and output indexes sort numerically; prefixes are distinct single bytes', () => {
    expect(Buffer.compare(L.heightKey(255), L.heightKey(256))).toBeLessThan(0);
    expect(Buffer.compare(L.heightKey(2 ** 32), L.heightKey(2 ** 32 + 1))).toBeLessThan(0);
    const txid = new Uint8Array(32).fill(9);
    expect(Buffer.compare(L.utxoKey(txid, 255), L.utxoKey(txid, 256))).toBeLessThan(0);
    expect(L.parseUtxoKey(L.utxoKey(txid, 70000))).toEqual({ txid: Buffer.from(txid), index: 70000 });
    const values = Object.values(L.Prefix);
    expect(new Set(values).size).toBe(values.length);
  });

  it('an address range holds exactly that key’s entries', () => {
    fc.assert(
      fc.property(bytes32, bytes32, bytes32, fc.nat({ max: 2 ** 32 - 1 }), (pk, other, txid, index) => {
        const { gte, lt } = L.addressRange(pk);
        const k = L.addressKey(pk, txid, index);
        expect(Buffer.compare(gte, k) <= 0 && Buffer.compare(k, lt) < 0).toBe(true);
        const parsed = L.parseAddressKey(k);
        expect(norm(parsed)).toEqual({ publicKey: hex(pk), txid: hex(txid), index });
        if (hex(other) !== hex(pk)) {
          const o = L.addressKey(other, txid, index);
          expect(Buffer.compare(gte, o) <= 0 && Buffer.compare(o, lt) < 0).toBe(false);
        }
      }),
    );
  });
});

describe('layout values', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(utxo, (e) => {
        expect(norm(L.decodeUtxo(L.encodeUtxo(e)))).toEqual(norm(e));
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.record({ txid: bytes32, index: fc.nat({ max: 2 ** 32 - 1 }), entry: utxo }), { maxLength: 5 }), (items) => {
        expect(norm(L.decodeUndo(L.encodeUndo(items)))).toEqual(norm(items));
      }),
    );
    fc.assert(
      fc.property(height, fc.nat({ max: 2 ** 32 - 1 }), height, u64, (h, txCount, utxoCount, utxoTotal) => {
        const m = { height: h, txCount, utxoCount, utxoTotal };
        expect(L.decodeBlockMeta(L.encodeBlockMeta(m))).toEqual(m);
      }),
    );
    fc.assert(
      fc.property(bytes32, height, fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }), (blockHash, h, position, offset, length) => {
        const l = { blockHash, height: h, position, offset, length };
        expect(norm(L.decodeTxLocation(L.encodeTxLocation(l)))).toEqual(norm(l));
      }),
    );
    fc.assert(fc.property(u64, height, (amount, h) => {
      expect(L.decodeAddressEntry(L.encodeAddressEntry({ amount, height: h }))).toEqual({ amount, height: h });
    }));
    fc.assert(fc.property(bytes32, height, (hash, h) => {
      expect(norm(L.decodePointer(L.encodePointer({ hash, height: h })))).toEqual({ hash: hex(hash), height: h });
    }));
    fc.assert(fc.property(height, u64, (count, totalAmount) => {
      expect(L.decodeStats(L.encodeStats({ count, totalAmount }))).toEqual({ count, totalAmount });
    }));
    const meta = { schemaVersion: L.SCHEMA_VERSION, chainId: new Uint8Array(32).fill(1), network: 'testnet' };
    expect(norm(L.decodeChainMeta(L.encodeChainMeta(meta)))).toEqual(norm(meta));
  });

  it('damaged values are StoreError Corrupt', () => {
    const e = { amount: 5n, publicKey: new Uint8Array(32), height: 3, coinbase: false };
    const good = L.encodeUtxo(e);
    const badFlags = Buffer.from(good);
    badFlags[48] = 0x02;
    const hugeHeight = Buffer.from(good);
    hugeHeight.writeBigUInt64LE(MAX_U64, 40);
    const cases: Array<[string, () => unknown]> = [
      ['utxo truncated', () => L.decodeUtxo(good.subarray(0, 48))],
      ['utxo trailing', () => L.decodeUtxo(Buffer.concat([good, Buffer.of(0)]))],
      ['utxo unknown flag', () => L.decodeUtxo(badFlags)],
      ['utxo height beyond safe range', () => L.decodeUtxo(hugeHeight)],
      ['undo count beyond data', () => L.decodeUndo(Buffer.from('05000000', 'hex'))],
      ['undo trailing', () => L.decodeUndo(Buffer.from('0000000000', 'hex'))],
      ['meta short', () => L.decodeBlockMeta(Buffer.alloc(27))],
      ['tx location short', () => L.decodeTxLocation(Buffer.alloc(51))],
      ['address entry long', () => L.decodeAddressEntry(Buffer.alloc(17))],
      ['pointer empty', () => L.decodePointer(Buffer.alloc(0))],
      ['stats short', () => L.decodeStats(Buffer.alloc(15))],
      ['chain meta name overruns', () => L.decodeChainMeta(Buffer.concat([Buffer.alloc(33), Buffer.of(9), Buffer.from('dev')]))],
      ['utxo key wrong length', () => L.parseUtxoKey(Buffer.alloc(36))],
      ['address key wrong prefix', () => L.parseAddressKey(Buffer.alloc(69))],
    ];
    for (const [name, fn] of cases) expect(fn, name).toThrow(expect.objectContaining({ code: StoreCode.Corrupt }));
  });
});

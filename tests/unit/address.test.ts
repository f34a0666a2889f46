import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bech32, bech32m } from '@scure/base';
import { MAX_ADDRESS_LENGTH, decodeAddress, encodeAddress, parseAnyAddress } from '../../chain/address.js';
import { NETWORKS, type NetworkName } from '../../chain/constants.js';
import { SMALL_ORDER_ENCODINGS, publicKeyOf } from '../../chain/ed25519.js';
import { AddressCode, AddressError } from '../../chain/errors.js';
import { signer } from './chain-fixtures.js';

const NETS = Object.keys(NETWORKS) as NetworkName[];
const pk = signer(1).publicKey;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AddressError) return e.code;
    throw e;
  }
  return 'ok';
}
const words = (bytes: Uint8Array) => bech32m.toWords(bytes);

describe('encodeAddress / decodeAddress', () => {
  it('round-trips any valid key on every network, with the SPEC §2 prefix', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom(...NETS), (secret, net) => {
        const key = publicKeyOf(secret);
        const addr = encodeAddress(key, net);
        expect(addr.startsWith(`${NETWORKS[net].hrp}1`)).toBe(true);
        expect(addr).toBe(addr.toLowerCase());
        expect(Buffer.from(decodeAddress(addr, net))).toEqual(Buffer.from(key));
        expect(parseAnyAddress(addr).network).toBe(net);
        // BIP-173: an all-uppercase string is the same address.
        expect(Buffer.from(decodeAddress(addr.toUpperCase(), net))).toEqual(Buffer.from(key));
      }),
      { numRuns: 100 },
    );
  });

  it('uses the bech32m constant (BIP-350), not bech32', () => {
    const addr = encodeAddress(pk, 'mainnet');
    expect(addr).toBe(bech32m.encode('time', words(pk)));
    expect(bech32.decodeUnsafe(addr)).toBeUndefined();
  });

  it('refuses an address of another network, or of an unknown prefix, as wrong-network', () => {
    expect(codeOf(() => decodeAddress(encodeAddress(pk, 'testnet'), 'mainnet'))).toBe(AddressCode.WrongNetwork);
    expect(codeOf(() => decodeAddress(encodeAddress(pk, 'mainnet'), 'dev'))).toBe(AddressCode.WrongNetwork);
    expect(codeOf(() => parseAnyAddress(bech32m.encode('btc', words(pk))))).toBe(AddressCode.WrongNetwork);
  });

  it('refuses any single-character substitution as bad-checksum (or bad-encoding for a non-alphabet char)', () => {
    const addr = encodeAddress(pk, 'mainnet');
    fc.assert(
      fc.property(fc.integer({ min: 5, max: addr.length - 1 }), fc.constantFrom(...'qpzry9x8gf2tvdw0s3jn54khce6mua7l'), (at, c) => {
        fc.pre(addr[at] !== c);
        const bad = addr.slice(0, at) + c + addr.slice(at + 1);
        expect(codeOf(() => decodeAddress(bad, 'mainnet'))).toBe(AddressCode.BadChecksum);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a bech32 (BIP-173, non-m) checksum as bad-checksum', () => {
    expect(codeOf(() => decodeAddress(bech32.encode('time', words(pk)), 'mainnet'))).toBe(AddressCode.BadChecksum);
  });

  it('refuses a payload that is not 32 bytes as bad-length', () => {
    for (const n of [0, 1, 20, 31, 33, 40]) {
      const addr = bech32m.encode('time', words(new Uint8Array(n).fill(9)));
      expect(codeOf(() => decodeAddress(addr, 'mainnet'))).toBe(AddressCode.BadLength);
    }
    // 51 words (255 bits) cannot hold a key either.
    expect(codeOf(() => decodeAddress(bech32m.encode('time', words(pk).slice(0, 51)), 'mainnet'))).toBe(AddressCode.BadLength);
  });

  it('refuses malformed strings as bad-encoding', () => {
    const addr = encodeAddress(pk, 'mainnet');
    const cases = [
      '',
      'time1',
      addr.slice(0, 6) + addr.slice(6, 7).toUpperCase() + addr.slice(7), // mixed case
      addr.replace(/^time1/, 'time'), // no separator ('1' is not in the data alphabet)
      addr.slice(0, -1) + 'b', // 'b' is not in the alphabet
      addr.slice(0, -1) + 'i',
      addr.slice(0, -1) + 'o',
      addr + 'q'.repeat(MAX_ADDRESS_LENGTH + 1 - addr.length), // too long
      addr.slice(0, -1) + 'é',
      ' ' + addr,
      '1' + addr.slice(5), // empty human-readable part
    ];
    for (const c of cases) {
      expect(codeOf(() => decodeAddress(c, 'mainnet')), JSON.stringify(c)).toBe(AddressCode.BadEncoding);
    }
  });

  it('refuses non-zero padding bits as bad-encoding', () => {
    const w = words(pk);
    w[51] = w[51]! | 1; // the last word carries 4 padding bits
    expect(codeOf(() => decodeAddress(bech32m.encode('time', w), 'mainnet'))).toBe(AddressCode.BadEncoding);
  });

  it('refuses keys no signature can satisfy (small-order, non-canonical, off-curve) but can still display them', () => {
    const nonCanonical = Buffer.from('ee' + 'ff'.repeat(30) + '7f', 'hex');
    const offCurve = Buffer.alloc(32);
    offCurve[0] = 2; // y = 2 has no x on ed25519
    for (const key of [...SMALL_ORDER_ENCODINGS.map((h) => Buffer.from(h, 'hex')), nonCanonical, offCurve]) {
      const addr = encodeAddress(key, 'dev');
      expect(codeOf(() => decodeAddress(addr, 'dev'))).toBe(AddressCode.BadEncoding);
    }
  });

  it('encodeAddress refuses a key that is not 32 bytes', () => {
    expect(() => encodeAddress(new Uint8Array(31), 'mainnet')).toThrow(TypeError);
  });
});

describe('BIP-350 vectors', () => {
  it('accepts the checksum of valid bech32m strings (their prefixes are not ours: wrong-network)', () => {
    for (const v of ['A1LQFN3A', 'a1lqfn3a', 'abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx', 'split1checkupstagehandshakeupstreamerranterredcaperredlc445v', '?1v759aa']) {
      expect(codeOf(() => parseAnyAddress(v)), v).toBe(AddressCode.WrongNetwork);
    }
  });

  it('refuses invalid bech32m strings', () => {
    const expected: [string, AddressCode][] = [
      ['\x201xj0phk', AddressCode.BadEncoding],
      ['\x7f1g6xzxy', AddressCode.BadEncoding],
      ['an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4', AddressCode.BadEncoding],
      ['qyrz8wqd2c9m', AddressCode.BadEncoding],
      ['1qyrz8wqd2c9m', AddressCode.BadEncoding],
      ['y1b0jsk6g', AddressCode.BadEncoding],
      ['lt1igcx5c0', AddressCode.BadEncoding],
      ['in1muywd', AddressCode.BadEncoding],
      ['mm1crxm3i', AddressCode.BadEncoding],
      ['au1s5cgom', AddressCode.BadEncoding],
      ['M1VUXWEZ', AddressCode.BadChecksum],
      ['16plkw9', AddressCode.BadEncoding],
      ['1p2gdwpf', AddressCode.BadEncoding],
    ];
    for (const [v, code] of expected) expect(codeOf(() => parseAnyAddress(v)), JSON.stringify(v)).toBe(code);
  });
});

/**
 * SPEC §2 pinned vectors, each built here from curve arithmetic (@noble/curves points, SHA-512
 * from @noble/hashes) rather than copied from the implementation, plus the cache contract.
 */
import { createPublicKey, verify as opensslVerify } from 'node:crypto';
import fc from 'fast-check';
import sodium from 'sodium-native';
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import {
  SMALL_ORDER_ENCODINGS,
  DEFAULT_SIGNATURE_CACHE_ENTRIES,
  SignatureCache,
  createSigner,
  isValidPublicKey,
  publicKeyOf,
  verifySignature,
} from '../../chain/ed25519.js';

const Point = ed25519.Point;
type Pt = InstanceType<typeof Point>;
const { p: P, n: L } = Point.CURVE();
const B = Point.BASE;
const msg = (s: string) => new TextEncoder().encode(s);
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');

function le(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((x >> BigInt(8 * i)) & 0xffn);
  return out;
}
function fromLe(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!);
  return x;
}
const mul = (pt: Pt, k: bigint): Pt => pt.multiplyUnsafe(((k % L) + L) % L);
/** RFC 8032 challenge k = SHA-512(R || A || M) mod L. */
const challenge = (R: Uint8Array, A: Uint8Array, M: Uint8Array) => fromLe(sha512(Uint8Array.from([...R, ...A, ...M]))) % L;

/** Sign with explicit secret scalar `a` and nonce `r` for the encoded key `A` (which may differ from [a]B). */
function signRaw(a: bigint, r: bigint, A: Uint8Array, M: Uint8Array): { sig: Uint8Array; k: bigint; S: bigint } {
  const R = mul(B, r).toBytes();
  const k = challenge(R, A, M);
  const S = (r + k * a) % L;
  return { sig: Uint8Array.from([...R, ...le(S)]), k, S };
}

/** A point of order exactly 8, found as the torsion component [L]P of curve points P. */
function torsionGenerator(): Pt {
  for (let y = 2n; ; y++) {
    let pt: Pt;
    try {
      pt = Point.fromBytes(le(y));
    } catch {
      continue; // no x for this y
    }
    const t = mul(pt, L - 1n).add(pt);
    if (!t.double().double().is0()) return t;
  }
}
const T8 = torsionGenerator();

const a = 0x1234_5678_9abc_def0_1122_3344_5566_7788_99aa_bbcc_ddeen % L;
const A = mul(B, a);

describe('SPEC §2 pinned vectors', () => {
  it('a valid signature → accept (explicit scalar and Node signer alike)', () => {
    const M = msg('valid');
    expect(verifySignature(A.toBytes(), M, signRaw(a, 77n, A.toBytes(), M).sig)).toBe(true);
    const s = createSigner(new Uint8Array(32).fill(7));
    expect(verifySignature(s.publicKey, M, s.sign(M))).toBe(true);
  });

  it('S + L → reject (the same equation, non-reduced S)', () => {
    const M = msg('malleable');
    const { sig, S } = signRaw(a, 99n, A.toBytes(), M);
    expect(verifySignature(A.toBytes(), M, sig)).toBe(true);
    const bumped = Uint8Array.from([...sig.subarray(0, 32), ...le(S + L)]);
    expect(S + L < 1n << 256n).toBe(true);
    expect(verifySignature(A.toBytes(), M, bumped)).toBe(false);
  });

  it('identity key with R = identity and S = 0 → reject, although [0]B = I + [k]I holds', () => {
    const I = Point.ZERO.toBytes();
    expect(hex(I)).toBe('01' + '00'.repeat(31));
    const M = msg('identity');
    expect(mul(B, 0n).equals(Point.ZERO.add(mul(Point.ZERO, challenge(I, I, M))))).toBe(true);
    expect(verifySignature(I, M, Uint8Array.from([...I, ...le(0n)]))).toBe(false);
  });

  it('non-canonical key y = p + 1 (the identity if reduced) → reject', () => {
    const key = le(P + 1n);
    expect(hex(key)).toBe('ee' + 'ff'.repeat(30) + '7f');
    const I = Point.ZERO.toBytes();
    expect(isValidPublicKey(key)).toBe(false);
    expect(verifySignature(key, msg('noncanonical'), Uint8Array.from([...I, ...le(0n)]))).toBe(false);
  });

  it('mixed-order key A + T8 with k mod 8 ≠ 0 → reject, though cofactored verification accepts it', () => {
    const mixed = A.add(T8);
    const key = mixed.toBytes();
    expect(isValidPublicKey(key)).toBe(true); // canonical and not small-order: only the equation rejects it
    let found = 0;
    for (let i = 0; found < 3; i++) {
      const M = msg(`mixed ${i}`);
      const { sig, k, S } = signRaw(a, 1000n + BigInt(i), key, M);
      if (k % 8n === 0n) continue;
      found++;
      const R = Point.fromBytes(sig.subarray(0, 32));
      // cofactored: [8][S]B = [8]R + [8][k]A' holds …
      expect(mul(B, S).multiplyUnsafe(8n).equals(R.add(mul(mixed, k)).multiplyUnsafe(8n))).toBe(true);
      // … cofactorless does not, and that is the rule.
      expect(verifySignature(key, M, sig)).toBe(false);
    }
  });

  it('mixed-order key A + T8 with k ≡ 0 mod 8 → accept (cofactorless equation holds; what OpenSSL computes)', () => {
    const key = A.add(T8).toBytes();
    for (let i = 0; ; i++) {
      const M = msg(`mixed-k0 ${i}`);
      const { sig, k } = signRaw(a, 5000n + BigInt(i), key, M);
      if (k % 8n !== 0n) continue;
      expect(verifySignature(key, M, sig)).toBe(true);
      return;
    }
  });
});

/**
 * SPEC §2's rule written out as the SPEC states it: the key checks, then what OpenSSL (Node's
 * crypto.verify) computes. The verifier computes it with libsodium; this is the oracle.
 */
function specRule(publicKey: Uint8Array, M: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 64 || !isValidPublicKey(publicKey)) return false;
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
    return opensslVerify(null, M, key, sig);
  } catch {
    return false;
  }
}

/**
 * A signature whose R is the small-order point `R`: with S = k·a, [S]B − [k]A' = −[k]T for the key
 * A' = [a]B + T, so it verifies exactly when −[k]T = R; messages are tried until k makes it so.
 */
function smallOrderRSignature(T: Pt, R: Uint8Array, tag: string): { key: Uint8Array; M: Uint8Array; sig: Uint8Array } {
  const key = A.add(T).toBytes();
  const target = Point.fromBytes(R);
  for (let i = 0; ; i++) {
    const M = msg(`${tag} ${i}`);
    const k = challenge(R, key, M);
    if (mul(T, k).negate().equals(target)) return { key, M, sig: Uint8Array.from([...R, ...le((k * a) % L)]) };
  }
}

describe('libsodium computes the SPEC rule (the OpenSSL equation plus the key checks)', () => {
  it('R = identity with a prime-order key: the rule accepts (the equation holds), libsodium alone would not', () => {
    const I = Point.ZERO.toBytes();
    const M = msg('small-order R');
    const sig = Uint8Array.from([...I, ...le((challenge(I, A.toBytes(), M) * a) % L)]);
    expect(specRule(A.toBytes(), M, sig)).toBe(true);
    expect(sodium.crypto_sign_verify_detached(sig, M, A.toBytes())).toBe(false);
    expect(verifySignature(A.toBytes(), M, sig)).toBe(true);
    const other = Uint8Array.from(sig);
    other[40]! ^= 1;
    expect(verifySignature(A.toBytes(), M, other)).toBe(false);
  });

  it('every small-order R encoding, either sign bit, on a key that makes the equation hold: the same verdict as the rule', () => {
    let accepted = 0;
    for (const e of SMALL_ORDER_ENCODINGS) {
      const R = Buffer.from(e, 'hex');
      const canonical = Uint8Array.from(R);
      canonical[31]! &= 0x7f;
      const { key, M, sig } = smallOrderRSignature(T8, canonical, `R ${e}`);
      const given = Uint8Array.from([...R, ...sig.subarray(32)]); // as given, sign bit included: a new challenge, the rule decides
      for (const [k, m, s] of [[key, M, sig], [key, M, given]] as const) {
        const verdict = specRule(k, m, s);
        expect(verifySignature(k, m, s)).toBe(verdict);
        if (verdict) accepted++;
      }
    }
    expect(accepted).toBeGreaterThanOrEqual(8); // each canonical small-order R verifies under its key
  });

  it('random, mutated and crafted signatures: the verifier and the rule agree', () => {
    const smallR = SMALL_ORDER_ENCODINGS.map((e) => Buffer.from(e, 'hex'));
    const mutation = fc.oneof(
      fc.constant({ kind: 'none' as const }),
      fc.record({ kind: fc.constant('bit' as const), bit: fc.nat({ max: 511 }) }),
      fc.record({ kind: fc.constant('smallR' as const), i: fc.nat({ max: smallR.length - 1 }) }),
      fc.record({ kind: fc.constant('sPlusL' as const) }),
      fc.record({ kind: fc.constant('bytes' as const), b: fc.uint8Array({ minLength: 64, maxLength: 64 }) }),
      fc.record({ kind: fc.constant('mixedKey' as const), t: fc.integer({ min: 1, max: 7 }) }),
      fc.record({ kind: fc.constant('smallKey' as const), i: fc.nat({ max: smallR.length - 1 }) }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: L - 1n }), fc.bigInt({ min: 1n, max: L - 1n }), fc.uint8Array({ maxLength: 80 }), mutation, (sk, r, M, mut) => {
        let key = mul(B, sk).toBytes();
        let { sig } = signRaw(sk, r, key, M);
        if (mut.kind === 'bit') sig[mut.bit >> 3]! ^= 1 << (mut.bit & 7);
        if (mut.kind === 'smallR') sig = Uint8Array.from([...smallR[mut.i]!, ...sig.subarray(32)]);
        if (mut.kind === 'sPlusL') sig = Uint8Array.from([...sig.subarray(0, 32), ...le(((fromLe(sig.subarray(32)) + L) % (1n << 256n)))]);
        if (mut.kind === 'bytes') sig = mut.b;
        if (mut.kind === 'mixedKey') {
          key = mul(B, sk).add(mul(T8, BigInt(mut.t))).toBytes();
          sig = signRaw(sk, r, key, M).sig;
        }
        if (mut.kind === 'smallKey') key = smallR[mut.i]!;
        expect(verifySignature(key, M, sig)).toBe(specRule(key, M, sig));
      }),
      { numRuns: 600 },
    );
  });
});

describe('key rule', () => {
  it('SMALL_ORDER_ENCODINGS is exactly the torsion subgroup plus the x = 0 sign-bit variants', () => {
    const derived = new Set<string>();
    for (let i = 0n; i < 8n; i++) {
      const t = mul(T8, i);
      derived.add(hex(t.toBytes()));
      if (t.toAffine().x === 0n) {
        const withSign = t.toBytes();
        withSign[31]! |= 0x80;
        derived.add(hex(withSign));
      }
    }
    expect(derived.size).toBe(10);
    expect([...derived].sort()).toEqual([...SMALL_ORDER_ENCODINGS].sort());
    for (const e of SMALL_ORDER_ENCODINGS) expect(isValidPublicKey(Buffer.from(e, 'hex'))).toBe(false);
  });

  it('every non-canonical y (p ≤ y < 2^255, either sign) is refused; p − 1 is judged as a point', () => {
    for (let y = P; y < 1n << 255n; y++) {
      expect(isValidPublicKey(le(y))).toBe(false);
      const signed = le(y);
      signed[31]! |= 0x80;
      expect(isValidPublicKey(signed)).toBe(false);
    }
    expect(isValidPublicKey(le(P - 1n))).toBe(false); // order-2 point (0, −1): small order
    expect(isValidPublicKey(A.toBytes())).toBe(true);
  });

  it('a key of the wrong length or off the curve → reject, never throw', () => {
    const M = msg('x');
    const s = createSigner(new Uint8Array(32).fill(1));
    const sig = s.sign(M);
    expect(verifySignature(s.publicKey.subarray(0, 31), M, sig)).toBe(false);
    expect(verifySignature(s.publicKey, M, sig.subarray(0, 63))).toBe(false);
    let offCurve = 2n;
    for (; ; offCurve++) {
      try {
        Point.fromBytes(le(offCurve));
      } catch {
        break;
      }
    }
    expect(verifySignature(le(offCurve), M, sig)).toBe(false);
  });

  it('a wrong message, wrong key or any flipped signature bit → reject', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 511 }), (secret, M, bit) => {
        const s = createSigner(secret);
        const sig = s.sign(M);
        expect(verifySignature(s.publicKey, M, sig)).toBe(true);
        expect(hex(s.publicKey)).toBe(hex(publicKeyOf(secret)));
        expect(verifySignature(s.publicKey, Uint8Array.from([...M, 0]), sig)).toBe(false);
        const other = createSigner(Uint8Array.from(secret, (x, i) => (i === 0 ? x ^ 1 : x)));
        expect(verifySignature(other.publicKey, M, sig)).toBe(false);
        const flipped = Uint8Array.from(sig);
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        expect(verifySignature(s.publicKey, M, flipped)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe('SignatureCache', () => {
  const s = createSigner(new Uint8Array(32).fill(3));
  const M = msg('cached');
  const sig = s.sign(M);

  it('remembers successes only', () => {
    const cache = new SignatureCache(10);
    const bad = Uint8Array.from(sig, (x, i) => (i === 40 ? x ^ 1 : x));
    expect(cache.verify('bad', s.publicKey, M, bad)).toBe(false);
    expect(cache.has('bad')).toBe(false);
    expect(cache.verify('good', s.publicKey, M, sig)).toBe(true);
    expect(cache.has('good')).toBe(true);
    expect(cache.size).toBe(1);
  });

  it('is bounded, evicting the oldest entry', () => {
    const cache = new SignatureCache(3);
    for (const k of ['a', 'b', 'c', 'd']) cache.add(k);
    expect(cache.size).toBe(3);
    expect(cache.has('a')).toBe(false);
    expect(['b', 'c', 'd'].every((k) => cache.has(k))).toBe(true);
    cache.add('d');
    expect(cache.size).toBe(3);
  });

  it('holds DEFAULT_SIGNATURE_CACHE_ENTRIES by default, then drops the oldest', () => {
    const cache = new SignatureCache();
    expect(cache.maxEntries).toBe(DEFAULT_SIGNATURE_CACHE_ENTRIES);
    for (let i = 0; i <= DEFAULT_SIGNATURE_CACHE_ENTRIES; i++) cache.add(`k${i}`);
    expect(cache.size).toBe(DEFAULT_SIGNATURE_CACHE_ENTRIES);
    expect(cache.has('k0')).toBe(false);
    expect(cache.has('k1')).toBe(true);
    expect(cache.has(`k${DEFAULT_SIGNATURE_CACHE_ENTRIES}`)).toBe(true);
  });
});

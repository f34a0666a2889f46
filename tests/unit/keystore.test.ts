import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_KDF,
  HEADER_LEN,
  KeystoreCode,
  KeystoreError,
  decryptSecret,
  encryptSecret,
  keyFilePayload,
  readKeyFile,
  writeKeyFile,
  type KdfParams,
} from '../../src/keystore.js';
import { generateSecretKey } from '../../chain/ed25519.js';

/** Cheap parameters so exhaustive tests stay fast; the format is identical. */
const FAST: KdfParams = { log2N: 10, r: 8, p: 1 };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KeystoreError) return err.code;
    throw err;
  }
  throw new Error('expected a KeystoreError, got success');
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'timecoin-keystore-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('encryptSecret / decryptSecret', () => {
  it('round-trips with the default parameters and records them in the header', async () => {
    const secret = generateSecretKey();
    const blob = await encryptSecret(secret, 'correct horse battery staple');
    expect(blob.length).toBe(HEADER_LEN + 32 + 16);
    expect(Buffer.from(blob.subarray(0, 4)).toString('ascii')).toBe('TCKS');
    expect([blob[4], blob[5], blob[6], blob[7], blob[8]]).toEqual([1, 1, DEFAULT_KDF.log2N, DEFAULT_KDF.r, DEFAULT_KDF.p]);
    expect(Buffer.from(await decryptSecret(blob, 'correct horse battery staple'))).toEqual(Buffer.from(secret));
  });

  it('uses a fresh salt and nonce each time', async () => {
    const secret = new Uint8Array(32).fill(7);
    const a = await encryptSecret(secret, 'pw', FAST);
    const b = await encryptSecret(secret, 'pw', FAST);
    expect(Buffer.from(a.subarray(9, 37)).equals(Buffer.from(b.subarray(9, 37)))).toBe(false);
  });

  it('round-trips arbitrary secrets and passphrases', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 100 }), fc.string({ minLength: 1, maxLength: 20 }), async (secret, pw) => {
        const blob = await encryptSecret(secret, pw, FAST);
        expect(Buffer.from(await decryptSecret(blob, pw))).toEqual(Buffer.from(secret));
      }),
      { numRuns: 30 },
    );
  });

  it('normalizes the passphrase (NFC): composed and decomposed é open the same blob', async () => {
    const blob = await encryptSecret(new Uint8Array([1, 2, 3]), 'caf\u00e9', FAST);
    expect(Array.from(await decryptSecret(blob, 'cafe\u0301'))).toEqual([1, 2, 3]);
  });

  it('wrong passphrase → keystore-bad-passphrase-or-corrupt', async () => {
    const blob = await encryptSecret(generateSecretKey(), 'right', FAST);
    expect(await codeOf(decryptSecret(blob, 'wrong'))).toBe(KeystoreCode.BadPassphraseOrCorrupt);
    expect(await codeOf(decryptSecret(blob, 'right '))).toBe(KeystoreCode.BadPassphraseOrCorrupt);
  });

  it('empty passphrase is refused on both sides', async () => {
    expect(await codeOf(encryptSecret(new Uint8Array(32), '', FAST))).toBe(KeystoreCode.EmptyPassphrase);
    const blob = await encryptSecret(new Uint8Array(32), 'x', FAST);
    expect(await codeOf(decryptSecret(blob, ''))).toBe(KeystoreCode.EmptyPassphrase);
  });

  it('KDF parameters out of bounds are refused when writing', async () => {
    for (const kdf of [{ log2N: 9, r: 8, p: 1 }, { log2N: 21, r: 8, p: 1 }, { log2N: 15, r: 0, p: 1 }, { log2N: 20, r: 32, p: 1 }, { log2N: 15, r: 8, p: 17 }]) {
      expect(await codeOf(encryptSecret(new Uint8Array(32), 'pw', kdf))).toBe(KeystoreCode.BadKdfParams);
    }
  });

  it('a truncated blob at every length → keystore-truncated (exhaustive and fast-check)', async () => {
    const blob = await encryptSecret(generateSecretKey(), 'pw', FAST);
    for (let len = 0; len < blob.length; len++) {
      expect(await codeOf(decryptSecret(blob.subarray(0, len), 'pw')), `length ${len}`).toBe(KeystoreCode.Truncated);
    }
    const big = await encryptSecret(new Uint8Array(500).fill(9), 'pw', FAST);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: big.length - 1 }), async (len) => {
        expect(await codeOf(decryptSecret(big.subarray(0, len), 'pw'))).toBe(KeystoreCode.Truncated);
      }),
    );
  });

  it('appended bytes → keystore-trailing-bytes', async () => {
    const blob = await encryptSecret(generateSecretKey(), 'pw', FAST);
    expect(await codeOf(decryptSecret(Buffer.concat([blob, Buffer.from([0])]), 'pw'))).toBe(KeystoreCode.TrailingBytes);
  });

  it('an unknown version byte → keystore-bad-version', async () => {
    const blob = Buffer.from(await encryptSecret(generateSecretKey(), 'pw', FAST));
    for (const v of [0, 2, 255]) {
      blob[4] = v;
      expect(await codeOf(decryptSecret(blob, 'pw'))).toBe(KeystoreCode.BadVersion);
    }
  });

  it('every single-bit flip anywhere in a small blob → the typed error of that region', async () => {
    const blob = await encryptSecret(generateSecretKey(), 'pw', FAST);
    const allowed = (byte: number): string[] => {
      if (byte < 4) return [KeystoreCode.BadFormat]; // magic
      if (byte === 4) return [KeystoreCode.BadVersion];
      if (byte === 5) return [KeystoreCode.BadFormat]; // KDF id
      if (byte <= 8) return [KeystoreCode.BadKdfParams, KeystoreCode.BadPassphraseOrCorrupt]; // log2N, r, p
      if (byte >= 37 && byte < 41) return [KeystoreCode.Truncated, KeystoreCode.TrailingBytes, KeystoreCode.BadFormat]; // length
      return [KeystoreCode.BadPassphraseOrCorrupt]; // salt, nonce (AAD), ciphertext, tag
    };
    const seen = new Set<string>();
    for (let bit = 0; bit < blob.length * 8; bit++) {
      const flipped = Buffer.from(blob);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const code = await codeOf(decryptSecret(flipped, 'pw'));
      expect(allowed(bit >> 3), `bit ${bit} gave ${code}`).toContain(code);
      seen.add(code);
    }
    expect(seen).toEqual(new Set(Object.values(KeystoreCode).filter((c) => ['keystore-bad-format', 'keystore-bad-version', 'keystore-bad-kdf-params', 'keystore-bad-passphrase-or-corrupt', 'keystore-truncated', 'keystore-trailing-bytes'].includes(c))));
  }, 120_000);
});

describe('writeKeyFile / readKeyFile', () => {
  const pw = 'operator passphrase';

  it('round-trips a payload, mode 0600, no temp file left', async () => {
    const payload = keyFilePayload(generateSecretKey(), 'testnet');
    expect(payload.address.startsWith('ttime1')).toBe(true);
    const path = join(dir, 'wallet.key');
    await writeKeyFile(path, payload, pw, { kdf: FAST });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['wallet.key']);
    const back = await readKeyFile(path, pw);
    expect(Buffer.from(back.secretKey)).toEqual(Buffer.from(payload.secretKey));
    expect(Buffer.from(back.publicKey)).toEqual(Buffer.from(payload.publicKey));
    expect(back.address).toBe(payload.address);
    expect(back.network).toBe('testnet');
  });

  it('the file holds no plaintext key material', async () => {
    const payload = keyFilePayload(generateSecretKey(), 'dev');
    const path = join(dir, 'k');
    await writeKeyFile(path, payload, pw, { kdf: FAST });
    const raw = await readFile(path);
    expect(raw.includes(Buffer.from(payload.secretKey))).toBe(false);
    expect(raw.toString('latin1')).not.toContain(Buffer.from(payload.secretKey).toString('hex'));
    expect(raw.toString('latin1')).not.toContain(payload.address);
  });

  it('refuses to overwrite unless asked, leaving the old file and no temp file', async () => {
    const path = join(dir, 'wallet.key');
    const first = keyFilePayload(generateSecretKey(), 'dev');
    await writeKeyFile(path, first, pw, { kdf: FAST });
    const before = await readFile(path);
    expect(await codeOf(writeKeyFile(path, keyFilePayload(generateSecretKey(), 'dev'), pw, { kdf: FAST }))).toBe(KeystoreCode.Exists);
    expect(await readdir(dir)).toEqual(['wallet.key']);
    expect((await readFile(path)).equals(before)).toBe(true);
    const second = keyFilePayload(generateSecretKey(), 'dev');
    await writeKeyFile(path, second, pw, { kdf: FAST, overwrite: true });
    expect(await readdir(dir)).toEqual(['wallet.key']);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(Buffer.from((await readKeyFile(path, pw)).secretKey)).toEqual(Buffer.from(second.secretKey));
  });

  it('a missing directory → keystore-not-found, a missing file → keystore-not-found', async () => {
    const p = keyFilePayload(generateSecretKey(), 'dev');
    expect(await codeOf(writeKeyFile(join(dir, 'nope', 'k'), p, pw, { kdf: FAST }))).toBe(KeystoreCode.NotFound);
    expect(await codeOf(readKeyFile(join(dir, 'absent'), pw))).toBe(KeystoreCode.NotFound);
  });

  it('wrong passphrase and a flipped bit in the file → typed errors', async () => {
    const path = join(dir, 'k');
    await writeKeyFile(path, keyFilePayload(generateSecretKey(), 'mainnet'), pw, { kdf: FAST });
    expect(await codeOf(readKeyFile(path, 'not it'))).toBe(KeystoreCode.BadPassphraseOrCorrupt);
    const raw = await readFile(path);
    for (const byte of [9, 30, HEADER_LEN, HEADER_LEN + 40, raw.length - 1]) {
      const bad = Buffer.from(raw);
      bad[byte]! ^= 0x10;
      await writeFile(path, bad);
      expect(await codeOf(readKeyFile(path, pw))).toBe(KeystoreCode.BadPassphraseOrCorrupt);
    }
    await writeFile(path, raw.subarray(0, raw.length - 3));
    expect(await codeOf(readKeyFile(path, pw))).toBe(KeystoreCode.Truncated);
    await writeFile(path, Buffer.alloc(0));
    expect(await codeOf(readKeyFile(path, pw))).toBe(KeystoreCode.Truncated);
  });

  it('a non-keystore file and an oversized file → keystore-bad-format', async () => {
    const path = join(dir, 'k');
    await writeFile(path, '{"secretKey":"00"}');
    expect(await codeOf(readKeyFile(path, pw))).toBe(KeystoreCode.BadFormat);
    await writeFile(path, Buffer.alloc(200_000));
    expect(await codeOf(readKeyFile(path, pw))).toBe(KeystoreCode.BadFormat);
    expect(await codeOf(readKeyFile(dir, pw))).toBe(KeystoreCode.BadFormat); // a directory
  });

  it('an inconsistent payload is refused before anything is written', async () => {
    const good = keyFilePayload(generateSecretKey(), 'dev');
    const other = keyFilePayload(generateSecretKey(), 'dev');
    const path = join(dir, 'k');
    const cases = [
      { ...good, publicKey: other.publicKey },
      { ...good, address: other.address },
      { ...good, network: 'mainnet' as const },
      { ...good, network: 'moon' as never },
      { ...good, secretKey: new Uint8Array(31) },
    ];
    for (const c of cases) expect(await codeOf(writeKeyFile(path, c, pw, { kdf: FAST }))).toBe(KeystoreCode.BadPayload);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a blob that decrypts but is not a key payload → keystore-bad-payload', async () => {
    const path = join(dir, 'k');
    for (const text of ['not json', '[]', '{"secretKey":"ab"}']) {
      await writeFile(path, await encryptSecret(Buffer.from(text), pw, FAST));
      expect(await codeOf(readKeyFile(path, pw))).toBe(KeystoreCode.BadPayload);
    }
    const p = keyFilePayload(generateSecretKey(), 'dev');
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    const extra = JSON.stringify({ secretKey: hex(p.secretKey), publicKey: hex(p.publicKey), address: p.address, network: 'dev', x: 1 });
    await writeFile(path, await encryptSecret(Buffer.from(extra), pw, FAST));
    expect(await codeOf(readKeyFile(path, pw))).toBe(KeystoreCode.BadPayload);
  });

  it('error messages never contain the passphrase or key material', async () => {
    const secret = 'hunter2-very-secret';
    const p = keyFilePayload(generateSecretKey(), 'dev');
    const path = join(dir, 'k');
    await writeKeyFile(path, p, secret, { kdf: FAST });
    // Thunks: a promise made before the previous one is awaited could reject unobserved.
    for (const attempt of [() => readKeyFile(path, secret + 'x'), () => writeKeyFile(path, p, secret, { kdf: FAST })]) {
      const err = await attempt().then(() => null, (e: unknown) => e as Error);
      expect(err).toBeInstanceOf(KeystoreError);
      expect(err!.message).not.toContain(secret);
      expect(err!.message).not.toContain(Buffer.from(p.secretKey).toString('hex'));
    }
  });
});

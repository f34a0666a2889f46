/**
 * Key files encrypted at rest (SPEC §6): scrypt (memory-hard KDF) derives an AES-256-GCM key
 * from the passphrase; the whole header (magic, version, KDF parameters, salt, nonce, length)
 * is authenticated as AAD, so one flipped bit anywhere is detected. docs/keystore.md documents
 * the format byte by byte. Nothing here logs, and no error message carries key material or the
 * passphrase.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import { open, link, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TimecoinError } from '../chain/errors.js';
import { NETWORKS, type NetworkName } from '../chain/constants.js';
import { encodeAddress } from '../chain/address.js';
import { publicKeyOf, SECRET_KEY_LENGTH } from '../chain/ed25519.js';

/** Why a key file could not be written or opened. */
export const KeystoreCode = {
  BadPassphraseOrCorrupt: 'keystore-bad-passphrase-or-corrupt',
  Truncated: 'keystore-truncated',
  TrailingBytes: 'keystore-trailing-bytes',
  BadVersion: 'keystore-bad-version',
  BadFormat: 'keystore-bad-format',
  BadKdfParams: 'keystore-bad-kdf-params',
  BadPayload: 'keystore-bad-payload',
  EmptyPassphrase: 'keystore-empty-passphrase',
  NotFound: 'keystore-not-found',
  Exists: 'keystore-exists',
  Io: 'keystore-io',
} as const;
export type KeystoreCode = (typeof KeystoreCode)[keyof typeof KeystoreCode];

/** A key file or blob is unreadable, tampered with, or the passphrase is wrong. */
export class KeystoreError extends TimecoinError<KeystoreCode> {}

/** scrypt cost parameters, stored in every file so they can be raised without breaking old files. */
export interface KdfParams {
  /** log2 of the scrypt CPU/memory cost N. */
  readonly log2N: number;
  readonly r: number;
  readonly p: number;
}

/** Defaults: N = 2^15, r = 8, p = 1 — 32 MiB and ≈ 0.27 s per derivation here (docs/keystore.md). */
export const DEFAULT_KDF: KdfParams = Object.freeze({ log2N: 15, r: 8, p: 1 });
/** Bounds applied on read and write: a tampered header cannot make us allocate gigabytes. */
export const KDF_BOUNDS = Object.freeze({ log2N: [10, 20], r: [1, 32], p: [1, 16] } as const);
const MAX_KDF_MEMORY = 256 * 1024 * 1024; // 128·N·r bytes; 2^20 · 8 · 128 = 1 GiB is refused

const MAGIC = Buffer.from('TCKS', 'ascii');
export const KEYSTORE_VERSION = 1;
const KDF_SCRYPT = 1;
const SALT_LEN = 16;
const NONCE_LEN = 12;
const TAG_LEN = 16;
/** Bytes before the ciphertext; all of them are the GCM additional authenticated data. */
export const HEADER_LEN = 4 + 1 + 1 + 3 + SALT_LEN + NONCE_LEN + 4; // 41
/** Largest secret accepted; key files are small and a bigger length field means tampering. */
export const MAX_SECRET_LEN = 64 * 1024;
const MAX_FILE_LEN = HEADER_LEN + MAX_SECRET_LEN + TAG_LEN;

function fail(code: KeystoreCode, message: string): never {
  throw new KeystoreError(code, message);
}

function checkKdf(k: KdfParams): void {
  const { log2N, r, p } = KDF_BOUNDS;
  const inRange = (v: number, [lo, hi]: readonly [number, number]) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!inRange(k.log2N, log2N) || !inRange(k.r, r) || !inRange(k.p, p) || 128 * 2 ** k.log2N * k.r > MAX_KDF_MEMORY) {
    fail(KeystoreCode.BadKdfParams, `keystore: scrypt parameters out of bounds (log2N=${k.log2N}, r=${k.r}, p=${k.p})`);
  }
}

/** UTF-8 bytes of the passphrase after Unicode NFC normalization (same text typed anywhere → same key). */
function passphraseBytes(passphrase: string | Uint8Array): Buffer {
  const b = typeof passphrase === 'string' ? Buffer.from(passphrase.normalize('NFC'), 'utf8') : Buffer.from(passphrase);
  if (b.length === 0) fail(KeystoreCode.EmptyPassphrase, 'keystore: the passphrase must not be empty');
  return b;
}

function deriveKey(pass: Buffer, salt: Uint8Array, k: KdfParams): Promise<Buffer> {
  const N = 2 ** k.log2N;
  // Node refuses when 128·N·r exceeds maxmem; leave headroom over the exact need.
  const opts: ScryptOptions = { N, r: k.r, p: k.p, maxmem: 2 * 128 * N * k.r + (1 << 20) };
  return new Promise((resolve, reject) => {
    scryptCb(pass, salt, 32, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Encrypt `secret` under `passphrase` (scrypt + AES-256-GCM); returns the complete file bytes. */
export async function encryptSecret(
  secret: Uint8Array,
  passphrase: string | Uint8Array,
  kdf: KdfParams = DEFAULT_KDF,
): Promise<Uint8Array> {
  checkKdf(kdf);
  if (secret.length > MAX_SECRET_LEN) fail(KeystoreCode.BadPayload, `keystore: secret longer than ${MAX_SECRET_LEN} bytes`);
  const pass = passphraseBytes(passphrase);
  const salt = randomBytes(SALT_LEN);
  const nonce = randomBytes(NONCE_LEN);
  const header = Buffer.alloc(HEADER_LEN);
  MAGIC.copy(header, 0);
  header[4] = KEYSTORE_VERSION;
  header[5] = KDF_SCRYPT;
  header[6] = kdf.log2N;
  header[7] = kdf.r;
  header[8] = kdf.p;
  salt.copy(header, 9);
  nonce.copy(header, 9 + SALT_LEN);
  header.writeUInt32LE(secret.length, 9 + SALT_LEN + NONCE_LEN);
  const key = await deriveKey(pass, salt, kdf);
  pass.fill(0);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LEN });
    cipher.setAAD(header);
    const ct = Buffer.concat([cipher.update(secret), cipher.final()]);
    return Buffer.concat([header, ct, cipher.getAuthTag()]);
  } finally {
    key.fill(0);
  }
}

/** The parsed header of a version-1 blob, before any decryption. */
interface ParsedHeader {
  readonly kdf: KdfParams;
  readonly salt: Buffer;
  readonly nonce: Buffer;
  readonly ctLen: number;
}

/** Structural checks in a fixed order: magic, version, length, KDF id, KDF bounds, exact size. */
function parseHeader(blob: Buffer): ParsedHeader {
  const magicSeen = blob.subarray(0, Math.min(blob.length, MAGIC.length));
  if (!magicSeen.equals(MAGIC.subarray(0, magicSeen.length))) fail(KeystoreCode.BadFormat, 'keystore: not a timecoin key file (bad magic)');
  if (blob.length <= 4) fail(KeystoreCode.Truncated, 'keystore: file is truncated');
  if (blob[4] !== KEYSTORE_VERSION) fail(KeystoreCode.BadVersion, `keystore: unsupported key file version ${blob[4]} (this node reads ${KEYSTORE_VERSION})`);
  if (blob.length < HEADER_LEN) fail(KeystoreCode.Truncated, 'keystore: file is truncated');
  if (blob[5] !== KDF_SCRYPT) fail(KeystoreCode.BadFormat, `keystore: unknown KDF id ${blob[5]}`);
  const kdf = { log2N: blob[6]!, r: blob[7]!, p: blob[8]! };
  checkKdf(kdf);
  const ctLen = blob.readUInt32LE(9 + SALT_LEN + NONCE_LEN);
  if (ctLen > MAX_SECRET_LEN) fail(KeystoreCode.BadFormat, 'keystore: length field out of range');
  const want = HEADER_LEN + ctLen + TAG_LEN;
  if (blob.length < want) fail(KeystoreCode.Truncated, 'keystore: file is truncated');
  if (blob.length > want) fail(KeystoreCode.TrailingBytes, 'keystore: unexpected bytes after the authentication tag');
  return {
    kdf,
    salt: blob.subarray(9, 9 + SALT_LEN),
    nonce: blob.subarray(9 + SALT_LEN, 9 + SALT_LEN + NONCE_LEN),
    ctLen,
  };
}

/** Decrypt a blob made by `encryptSecret`; every failure is a `KeystoreError`, never garbage bytes. */
export async function decryptSecret(blob: Uint8Array, passphrase: string | Uint8Array): Promise<Uint8Array> {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const h = parseHeader(buf);
  const pass = passphraseBytes(passphrase);
  const key = await deriveKey(pass, h.salt, h.kdf);
  pass.fill(0);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, h.nonce, { authTagLength: TAG_LEN });
    decipher.setAAD(buf.subarray(0, HEADER_LEN));
    decipher.setAuthTag(buf.subarray(HEADER_LEN + h.ctLen));
    const out = decipher.update(buf.subarray(HEADER_LEN, HEADER_LEN + h.ctLen));
    try {
      decipher.final(); // throws when the tag does not authenticate header + ciphertext
    } catch {
      out.fill(0);
      return fail(KeystoreCode.BadPassphraseOrCorrupt, 'keystore: wrong passphrase or corrupted key file');
    }
    return out;
  } finally {
    key.fill(0);
  }
}

/** What a wallet or operator key file holds (JSON inside the encrypted envelope). */
export interface KeyFilePayload {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly address: string;
  readonly network: NetworkName;
}

/** Build a consistent payload from a secret key alone (derives the public key and address). */
export function keyFilePayload(secretKey: Uint8Array, network: NetworkName): KeyFilePayload {
  if (secretKey.length !== SECRET_KEY_LENGTH) fail(KeystoreCode.BadPayload, 'keystore: secret key must be 32 bytes');
  const publicKey = publicKeyOf(secretKey);
  return { secretKey: Uint8Array.from(secretKey), publicKey, address: encodeAddress(publicKey, network), network };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Check that the fields agree: the public key is the secret's, the address is the key's on that network. */
function checkPayload(p: { secretKey: unknown; publicKey: unknown; address: unknown; network: unknown }): KeyFilePayload {
  const bad = (what: string): never => fail(KeystoreCode.BadPayload, `keystore: key file payload ${what}`);
  if (typeof p.network !== 'string' || !Object.hasOwn(NETWORKS, p.network)) bad('has an unknown network');
  const network = p.network as NetworkName;
  if (typeof p.secretKey !== 'string' || !HEX64.test(p.secretKey)) bad('secretKey is not 32-byte lowercase hex');
  if (typeof p.publicKey !== 'string' || !HEX64.test(p.publicKey)) bad('publicKey is not 32-byte lowercase hex');
  const expected = keyFilePayload(Buffer.from(p.secretKey as string, 'hex'), network);
  if (Buffer.from(expected.publicKey).toString('hex') !== p.publicKey) bad('publicKey does not match secretKey');
  if (p.address !== expected.address) bad(`address does not match publicKey on ${network}`);
  return expected;
}

function encodePayload(p: KeyFilePayload): Buffer {
  const checked = checkPayload({
    secretKey: Buffer.from(p.secretKey).toString('hex'),
    publicKey: Buffer.from(p.publicKey).toString('hex'),
    address: p.address,
    network: p.network,
  });
  const json = JSON.stringify({
    secretKey: Buffer.from(checked.secretKey).toString('hex'),
    publicKey: Buffer.from(checked.publicKey).toString('hex'),
    address: checked.address,
    network: checked.network,
  });
  return Buffer.from(json, 'utf8');
}

function decodePayload(bytes: Uint8Array): KeyFilePayload {
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return fail(KeystoreCode.BadPayload, 'keystore: decrypted payload is not JSON');
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return fail(KeystoreCode.BadPayload, 'keystore: decrypted payload is not an object');
  const o = obj as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !['secretKey', 'publicKey', 'address', 'network'].includes(k));
  if (extra.length > 0) fail(KeystoreCode.BadPayload, 'keystore: key file payload has unknown fields');
  return checkPayload({ secretKey: o.secretKey, publicKey: o.publicKey, address: o.address, network: o.network });
}

/** Options of `writeKeyFile`. */
export interface WriteKeyFileOptions {
  /** Replace an existing file (default false: refusing protects an existing wallet from being lost). */
  readonly overwrite?: boolean;
  /** scrypt parameters (default DEFAULT_KDF). */
  readonly kdf?: KdfParams;
}

const ioError = (err: unknown, path: string): KeystoreError => {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new KeystoreError(KeystoreCode.NotFound, `keystore: no key file at ${path}`);
  if (code === 'EEXIST') return new KeystoreError(KeystoreCode.Exists, `keystore: ${path} already exists; refusing to overwrite a key file`);
  return new KeystoreError(KeystoreCode.Io, `keystore: cannot access ${path}: ${code ?? (err as Error).message}`);
};

/**
 * Encrypt `payload` and write it to `path` atomically with mode 0600: a temp file in the same
 * directory is written and fsynced, then linked (no overwrite) or renamed into place, and the
 * directory is fsynced. A crash leaves either no file or the complete old/new file.
 */
export async function writeKeyFile(
  path: string,
  payload: KeyFilePayload,
  passphrase: string | Uint8Array,
  options: WriteKeyFileOptions = {},
): Promise<void> {
  const plain = encodePayload(payload);
  let blob: Uint8Array;
  try {
    blob = await encryptSecret(plain, passphrase, options.kdf ?? DEFAULT_KDF);
  } finally {
    plain.fill(0);
  }
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.chmod(0o600); // the umask can only remove bits, but be explicit
      await fh.writeFile(blob);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (options.overwrite === true) await rename(tmp, path);
    else {
      await link(tmp, path); // fails with EEXIST atomically, unlike rename
      await unlink(tmp);
    }
    await syncDir(dir);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err instanceof KeystoreError ? err : ioError(err, path);
  }
}

async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Read and decrypt a key file written by `writeKeyFile`; checks that key, public key and address agree. */
export async function readKeyFile(path: string, passphrase: string | Uint8Array): Promise<KeyFilePayload> {
  let blob: Buffer;
  try {
    // Size is checked on the open descriptor, so a swapped-in huge file is never read whole.
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) fail(KeystoreCode.BadFormat, `keystore: ${path} is not a regular file`);
      if (st.size > MAX_FILE_LEN) fail(KeystoreCode.BadFormat, `keystore: ${path} is too large to be a key file`);
      blob = await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw err instanceof KeystoreError ? err : ioError(err, path);
  }
  const plain = await decryptSecret(blob, passphrase);
  try {
    return decodePayload(plain);
  } finally {
    plain.fill(0);
  }
}

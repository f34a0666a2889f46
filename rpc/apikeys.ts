/**
 * API keys in `<datadir>/apikeys.json` (SPEC §5, §6). A key is shown once at creation; the file
 * holds only its SHA-256 (keys are 256 random bits, so a slow KDF adds nothing). Writers take a
 * lock file and replace the file atomically (temp + fsync + rename, mode 0600); a running server
 * notices the new file by its (inode, size, mtime) at most every `reloadIntervalMs`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SCOPES, type Scope } from './methods.js';

/** A key as listed: never the key or its hash. */
export interface KeyRecord {
  readonly id: string;
  readonly name: string | null;
  readonly scopes: readonly Scope[];
  /** Requests per second; null means the server's default. */
  readonly ratePerSecond: number | null;
  readonly createdAt: string;
}

/** What a new key is allowed to do. */
export interface KeyOptions {
  scopes: readonly Scope[];
  name?: string;
  /** Requests per second (default: the server's `defaultRatePerSecond`). */
  ratePerSecond?: number;
}

interface StoredKey extends KeyRecord {
  readonly hash: string;
}

export const APIKEYS_FILE = 'apikeys.json';
const KEY_PREFIX = 'tc_';
const ID_RE = /^k[0-9a-f]{12}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HASH_RE = /^[0-9a-f]{64}$/;
const KEY_RE = /^tc_[A-Za-z0-9_-]{43}$/;
/** Presented keys longer than this are not hashed at all (a real key is 46 characters). */
const MAX_PRESENTED = 256;
const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 5_000;

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Parses a comma-separated scope list ("read,submit"); throws one clear message on a bad scope. */
export function parseScopes(list: string): Scope[] {
  const parts = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new Error(`no scope given: expected a comma-separated list of ${SCOPES.join(', ')}`);
  const out: Scope[] = [];
  for (const p of parts) {
    if (!(SCOPES as readonly string[]).includes(p)) {
      throw new Error(`unknown scope '${p}': expected a comma-separated list of ${SCOPES.join(', ')}`);
    }
    if (!out.includes(p as Scope)) out.push(p as Scope);
  }
  return SCOPES.filter((s) => out.includes(s));
}

function validRate(r: unknown): r is number {
  return typeof r === 'number' && Number.isFinite(r) && r > 0 && r <= 1_000_000;
}

function parseFile(text: string, file: string): StoredKey[] {
  const bad = (why: string): Error => new Error(`${file}: invalid API key file: ${why}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (typeof doc !== 'object' || doc === null || (doc as { version?: unknown }).version !== 1) throw bad('version is not 1');
  const keys = (doc as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw bad('keys is not an array');
  return keys.map((k: unknown, i): StoredKey => {
    const r = k as Record<string, unknown>;
    const ok =
      typeof r === 'object' && r !== null &&
      typeof r['id'] === 'string' && ID_RE.test(r['id']) &&
      typeof r['hash'] === 'string' && HASH_RE.test(r['hash']) &&
      (r['name'] === null || (typeof r['name'] === 'string' && NAME_RE.test(r['name']))) &&
      Array.isArray(r['scopes']) && r['scopes'].length > 0 &&
      r['scopes'].every((s) => (SCOPES as readonly unknown[]).includes(s)) &&
      (r['ratePerSecond'] === null || validRate(r['ratePerSecond'])) &&
      typeof r['createdAt'] === 'string';
    if (!ok) throw bad(`entry ${i} is malformed`);
    return {
      id: r['id'] as string,
      hash: r['hash'] as string,
      name: r['name'] as string | null,
      scopes: r['scopes'] as Scope[],
      ratePerSecond: r['ratePerSecond'] as number | null,
      createdAt: r['createdAt'] as string,
    };
  });
}

const publicRecord = ({ hash: _hash, ...rec }: StoredKey): KeyRecord => rec;

/** Sleeps the thread (the lock wait is short and only writers — the CLI — ever wait). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The key store of one data directory. */
export class ApiKeyStore {
  readonly file: string;
  private readonly now: () => number;
  private readonly reloadIntervalMs: number;
  private readonly onReloadError: (err: Error) => void;
  private keys: { rec: KeyRecord; hash: Buffer }[] = [];
  private stamp = '';
  private lastCheck = -Infinity;

  /** Opens (without creating) `<datadir>/apikeys.json`; a malformed file throws here. */
  constructor(
    datadir: string,
    opts: { now?: () => number; reloadIntervalMs?: number; onReloadError?: (err: Error) => void } = {},
  ) {
    this.file = path.join(datadir, APIKEYS_FILE);
    this.now = opts.now ?? Date.now;
    this.reloadIntervalMs = opts.reloadIntervalMs ?? 1000;
    this.onReloadError = opts.onReloadError ?? (() => {});
    this.reload(true);
  }

  private statStamp(): string {
    try {
      const st = fs.statSync(this.file);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
      throw err;
    }
  }

  private readStored(): StoredKey[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return parseFile(text, this.file);
  }

  /**
   * Re-reads the file if it changed. A file that became unreadable or malformed fails closed: no
   * key authenticates until it is fixed (a revoked key must never come back through a bad edit).
   */
  private reload(initial = false): void {
    const stamp = this.statStamp();
    if (stamp === this.stamp) return;
    try {
      this.keys = this.readStored().map((k) => ({ rec: publicRecord(k), hash: Buffer.from(k.hash, 'hex') }));
      this.stamp = stamp;
    } catch (err) {
      if (initial) throw err;
      this.keys = [];
      this.stamp = stamp;
      this.onReloadError(err as Error);
    }
  }

  private maybeReload(): void {
    const now = this.now();
    if (now - this.lastCheck < this.reloadIntervalMs && now >= this.lastCheck) return;
    this.lastCheck = now;
    try {
      this.reload();
    } catch (err) {
      this.keys = [];
      this.stamp = '';
      this.onReloadError(err as Error);
    }
  }

  /** The key record for a presented key, or null. Compares every stored hash in constant time. */
  authenticate(presented: string): KeyRecord | null {
    this.maybeReload();
    if (presented.length === 0 || presented.length > MAX_PRESENTED) return null;
    const h = sha256(presented);
    let found: KeyRecord | null = null;
    for (const k of this.keys) {
      // No early exit: the time taken does not depend on which key (if any) matched.
      if (timingSafeEqual(h, k.hash)) found = k.rec;
    }
    return found;
  }

  /** All keys, without secrets, as the file holds them now. */
  list(): KeyRecord[] {
    return this.readStored().map(publicRecord);
  }

  /** Creates a key; the returned `key` is the only copy of the secret. */
  create(opts: KeyOptions): { key: string; record: KeyRecord } {
    const key = KEY_PREFIX + randomBytes(32).toString('base64url');
    return { key, record: this.importKey(key, opts) };
  }

  /**
   * Stores the hash of a key generated elsewhere (`timecoin testnet` gives every node the same
   * all-scopes key). The key must have the shape `create` produces.
   */
  importKey(key: string, opts: KeyOptions): KeyRecord {
    if (!KEY_RE.test(key)) throw new Error('invalid API key: expected tc_ followed by 43 base64url characters');
    const scopes = parseScopes(opts.scopes.join(','));
    const name = opts.name ?? null;
    if (name !== null && (!NAME_RE.test(name) || ID_RE.test(name))) {
      throw new Error(`invalid key name '${name}': 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit, not shaped like a key id`);
    }
    if (opts.ratePerSecond !== undefined && !validRate(opts.ratePerSecond)) {
      throw new Error(`invalid rate '${opts.ratePerSecond}': expected a number of requests per second above 0 and at most 1000000`);
    }
    const hash = sha256(key).toString('hex');
    let record: KeyRecord | undefined;
    this.mutate((keys) => {
      if (name !== null && keys.some((k) => k.name === name)) throw new Error(`an API key named '${name}' already exists`);
      if (keys.some((k) => k.hash === hash)) throw new Error('this API key is already stored');
      let id: string;
      do id = 'k' + randomBytes(6).toString('hex');
      while (keys.some((k) => k.id === id));
      const stored: StoredKey = {
        id,
        name,
        scopes,
        ratePerSecond: opts.ratePerSecond ?? null,
        createdAt: new Date(this.now()).toISOString(),
        hash,
      };
      record = publicRecord(stored);
      return [...keys, stored];
    });
    return record!;
  }

  /** Removes the key with this id (or, failing that, this name); throws if there is none. */
  revoke(idOrName: string): KeyRecord {
    let removed: KeyRecord | undefined;
    this.mutate((keys) => {
      const k = keys.find((x) => x.id === idOrName) ?? keys.find((x) => x.name === idOrName);
      if (k === undefined) throw new Error(`no API key with id or name '${idOrName}'`);
      removed = publicRecord(k);
      return keys.filter((x) => x !== k);
    });
    return removed!;
  }

  /** Read-modify-write under the lock file, then an atomic replace; refreshes this store's view. */
  private mutate(fn: (keys: StoredKey[]) => StoredKey[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const release = this.lock();
    try {
      const next = fn(this.readStored());
      writeAtomic(this.file, JSON.stringify({ version: 1, keys: next }, null, 2) + '\n');
    } finally {
      release();
    }
    this.reload();
  }

  private lock(): () => void {
    const lockFile = `${this.file}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        fs.closeSync(fs.openSync(lockFile, 'wx', 0o600));
        return () => fs.rmSync(lockFile, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      // A writer that died holding the lock leaves a stale file: take it over after a while.
      try {
        if (Date.now() - fs.statSync(lockFile).mtimeMs > LOCK_STALE_MS) fs.rmSync(lockFile, { force: true });
      } catch {
        // vanished between open and stat: retry at once
      }
      if (Date.now() > deadline) throw new Error(`${lockFile} is held by another process; try again`);
      sleepSync(20);
    }
  }
}

/** Writes `text` to `file` so readers see the old or the new file, never a mix; mode 0600. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  const dirFd = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}

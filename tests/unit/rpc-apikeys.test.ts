/**
 * API key store (hash-only storage, atomic 0600 file, reload on change, fail-closed), the token
 * buckets, the Authorization/client-address helpers and the `timecoin apikey` command.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKeyStore, parseScopes } from '../../rpc/apikeys.js';
import { clientKey, presentedKey } from '../../rpc/http-io.js';
import { resolveLimits } from '../../rpc/limits.js';
import { retryAfterSeconds, TokenBuckets } from '../../rpc/rate-limit.js';
import { registerApikeyCommand } from '../../src/commands/apikey.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'timecoin-keys-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('ApiKeyStore', () => {
  it('stores only a SHA-256 of the key, in a 0600 file, and lists no secrets', () => {
    const store = new ApiKeyStore(dir, { now: () => 0 });
    const { key, record } = store.create({ scopes: ['submit', 'read'], name: 'wallet', ratePerSecond: 5 });
    expect(key).toMatch(/^tc_[A-Za-z0-9_-]{43}$/);
    expect(record).toStrictEqual({ id: record.id, name: 'wallet', scopes: ['read', 'submit'], ratePerSecond: 5, createdAt: '1970-01-01T00:00:00.000Z' });
    const text = readFileSync(store.file, 'utf8');
    expect(text).not.toContain(key);
    expect(text).not.toContain(key.slice(3));
    expect(text).toContain(createHash('sha256').update(key).digest('hex'));
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['apikeys.json']); // no temp or lock file left behind
    const listed = store.list();
    expect(listed).toStrictEqual([record]);
    expect(JSON.stringify(listed)).not.toMatch(/hash|tc_/);
  });

  it('authenticates exactly the created keys', () => {
    const store = new ApiKeyStore(dir);
    const a = store.create({ scopes: ['read'] });
    const b = store.create({ scopes: ['admin'] });
    expect(store.authenticate(a.key)?.id).toBe(a.record.id);
    expect(store.authenticate(b.key)?.scopes).toEqual(['admin']);
    for (const wrong of ['', 'tc_', a.key + 'x', a.key.slice(0, -1), a.key.toUpperCase(), 'x'.repeat(100_000)]) {
      expect(store.authenticate(wrong)).toBeNull();
    }
  });

  it('revokes by id or by name; unknown → error; names are unique', () => {
    const store = new ApiKeyStore(dir);
    const a = store.create({ scopes: ['read'], name: 'one' });
    const b = store.create({ scopes: ['read'], name: 'two' });
    expect(() => store.create({ scopes: ['read'], name: 'one' })).toThrow(/already exists/);
    expect(store.revoke('one').id).toBe(a.record.id);
    expect(store.revoke(b.record.id).name).toBe('two');
    expect(() => store.revoke('one')).toThrow(/no API key with id or name 'one'/);
    expect(store.authenticate(a.key)).toBeNull();
    expect(store.list()).toEqual([]);
  });

  it('rejects bad names, rates and scopes', () => {
    const store = new ApiKeyStore(dir);
    for (const name of ['', 'has space', 'x'.repeat(65), '-lead', 'k0123456789ab']) {
      expect(() => store.create({ scopes: ['read'], name }), name).toThrow(/invalid key name/);
    }
    for (const rate of [0, -1, Number.NaN, Infinity, 2e6]) {
      expect(() => store.create({ scopes: ['read'], ratePerSecond: rate })).toThrow(/invalid rate/);
    }
    expect(() => store.create({ scopes: [] })).toThrow(/no scope/);
    expect(parseScopes(' admin,read ,read')).toEqual(['read', 'admin']);
    expect(() => parseScopes('read,wrte')).toThrow("unknown scope 'wrte'");
  });

  it('a running store sees another writer after reloadIntervalMs (injected clock)', () => {
    let t = 0;
    const server = new ApiKeyStore(dir, { now: () => t, reloadIntervalMs: 1000 });
    const cli = new ApiKeyStore(dir);
    expect(server.authenticate('tc_x')).toBeNull(); // first check at t=0
    const { key } = cli.create({ scopes: ['read'] });
    t = 999;
    expect(server.authenticate(key)).toBeNull(); // not re-checked yet
    t = 1000;
    expect(server.authenticate(key)).not.toBeNull();
    cli.revoke(cli.list()[0]!.id);
    t = 2000;
    expect(server.authenticate(key)).toBeNull();
  });

  it('fails closed when the file turns malformed, and recovers when it is fixed', () => {
    const errors: Error[] = [];
    const server = new ApiKeyStore(dir, { reloadIntervalMs: 0, onReloadError: (e) => void errors.push(e) });
    const { key } = server.create({ scopes: ['read'] });
    const good = readFileSync(server.file, 'utf8');
    writeFileSync(server.file, good.replace('"version": 1', '"version": 2'));
    expect(server.authenticate(key)).toBeNull();
    expect(errors[0]?.message).toMatch(/invalid API key file: version/);
    writeFileSync(server.file, good + ' ');
    expect(server.authenticate(key)).not.toBeNull();
  });

  it('refuses to open a malformed file, and refuses to overwrite one', () => {
    const file = path.join(dir, 'apikeys.json');
    for (const text of ['{', '{"version":1,"keys":[{"id":"k1"}]}', '{"version":1,"keys":{}}']) {
      writeFileSync(file, text);
      expect(() => new ApiKeyStore(dir)).toThrow(/invalid API key file/);
    }
    writeFileSync(file, '{"version":1,"keys":[]}');
    const store = new ApiKeyStore(dir);
    writeFileSync(file, 'garbage');
    expect(() => store.create({ scopes: ['read'] })).toThrow(/invalid API key file/);
    expect(readFileSync(file, 'utf8')).toBe('garbage');
  });

  it('importKey stores a key made elsewhere (one testnet key for every node), once', () => {
    const a = new ApiKeyStore(path.join(dir, 'node0'));
    const b = new ApiKeyStore(path.join(dir, 'node1'));
    const { key } = a.create({ scopes: ['read', 'submit', 'admin'], name: 'testnet' });
    b.importKey(key, { scopes: ['read', 'submit', 'admin'], name: 'testnet' });
    expect(b.authenticate(key)?.scopes).toEqual(['read', 'submit', 'admin']);
    expect(() => b.importKey(key, { scopes: ['read'] })).toThrow(/already stored/);
    for (const bad of ['tc_short', 'xx_' + 'a'.repeat(43), 'tc_' + '!'.repeat(43)]) {
      expect(() => b.importKey(bad, { scopes: ['read'] })).toThrow(/invalid API key/);
    }
  });

  it('a missing file means no keys', () => {
    const store = new ApiKeyStore(path.join(dir, 'not-yet'));
    expect(store.list()).toEqual([]);
    expect(store.authenticate('tc_anything')).toBeNull();
  });
});

describe('TokenBuckets', () => {
  it('allows a burst of rate × burstFactor, then refills at rate', () => {
    const b = new TokenBuckets({ burstFactor: 2, maxEntries: 10 });
    expect(b.take('k', 1, 2, 0).ok).toBe(true);
    expect(b.take('k', 1, 2, 0).ok).toBe(true);
    expect(b.take('k', 1, 2, 0).ok).toBe(true);
    expect(b.take('k', 1, 2, 0).ok).toBe(true);
    const r = b.take('k', 1, 2, 0);
    expect(r).toStrictEqual({ ok: false, retryAfterMs: 500 });
    expect(b.take('k', 1, 2, 499).ok).toBe(false);
    expect(b.take('k', 1, 2, 500).ok).toBe(true);
  });

  it('admits a cost over capacity on a full bucket and then waits it off (debt)', () => {
    const b = new TokenBuckets({ burstFactor: 2, maxEntries: 10 });
    expect(b.take('k', 50, 10, 0).ok).toBe(true); // capacity 20, goes to −30
    const r = b.take('k', 1, 10, 0);
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.retryAfterMs).toBe(3100);
    expect(b.check('k', 1, 10, 3100).ok).toBe(true);
  });

  it('a clock stepping back refills nothing; check() takes nothing', () => {
    const b = new TokenBuckets({ burstFactor: 1, maxEntries: 10 });
    expect(b.take('k', 1, 1, 10_000).ok).toBe(true);
    expect(b.take('k', 1, 1, 5_000).ok).toBe(false);
    expect(b.take('k', 1, 1, 10_999).ok).toBe(false);
    expect(b.check('k', 1, 1, 11_000).ok).toBe(true);
    expect(b.check('k', 1, 1, 11_000).ok).toBe(true);
    expect(b.take('k', 1, 1, 11_000).ok).toBe(true);
  });

  it('holds at most maxEntries keys, forgetting the least recently used', () => {
    const b = new TokenBuckets({ burstFactor: 1, maxEntries: 3 });
    for (let i = 0; i < 1000; i++) b.take(`ip${i}`, 1, 1, 0);
    expect(b.size).toBe(3);
  });

  it('Retry-After is whole seconds, at least 1', () => {
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
  });

  it('limits reject values that would disable a protection', () => {
    expect(() => resolveLimits({ maxBodyBytes: 0 })).toThrow(RangeError);
    expect(() => resolveLimits({ requestTimeoutMs: Number.NaN })).toThrow(RangeError);
    expect(() => resolveLimits({ headersTimeoutMs: 5000, requestTimeoutMs: 1000 })).toThrow(RangeError);
    expect(resolveLimits({ maxBatch: 5 }).maxBatch).toBe(5);
  });
});

describe('auth helpers', () => {
  it('parses Bearer and Basic (key as password)', () => {
    expect(presentedKey(undefined)).toBeNull();
    expect(presentedKey('Bearer tc_abc')).toBe('tc_abc');
    expect(presentedKey('bearer   tc_abc  ')).toBe('tc_abc');
    expect(presentedKey(`Basic ${Buffer.from('u:tc_k:x').toString('base64')}`)).toBe('tc_k:x');
    expect(presentedKey(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBe('');
    expect(presentedKey('Bearer')).toBe('');
    expect(presentedKey('Bearer a b')).toBe('');
    expect(presentedKey('tc_abc')).toBe('');
  });

  it('counts IPv4 per address and IPv6 per /64', () => {
    expect(clientKey('127.0.0.1')).toBe('127.0.0.1');
    expect(clientKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:DB8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });
});

describe('timecoin apikey', () => {
  async function run(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const program = new Command().exitOverride().configureOutput({ writeErr: (t) => void (stderr += t), writeOut: (t) => void (stdout += t) });
    registerApikeyCommand(program, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), defaultDatadir: () => dir });
    await program.parseAsync(['node', 'timecoin', 'apikey', ...args]);
    return { stdout, stderr };
  }

  it('create prints only the key on stdout, once; info goes to stderr', async () => {
    const r = await run('create', '--scope', 'read,submit', '--name', 'wallet', '--rate', '2.5');
    expect(r.stdout).toMatch(/^tc_[A-Za-z0-9_-]{43}\n$/);
    expect(r.stderr).toContain('with scopes read,submit');
    expect(r.stderr).not.toContain(r.stdout.trim());
    const store = new ApiKeyStore(dir);
    expect(store.authenticate(r.stdout.trim())).toMatchObject({ name: 'wallet', scopes: ['read', 'submit'], ratePerSecond: 2.5 });
  });

  it('--datadir wins over the default', async () => {
    const other = path.join(dir, 'other');
    await run('create', '--scope', 'admin', '--datadir', other);
    expect(new ApiKeyStore(other).list()).toHaveLength(1);
    expect(new ApiKeyStore(dir).list()).toHaveLength(0);
  });

  it('without --datadir it uses the node configuration (TIMECOIN_DATADIR)', async () => {
    let stdout = '';
    const program = new Command().exitOverride();
    registerApikeyCommand(program, { stdout: (t) => void (stdout += t), stderr: () => {} });
    const saved = process.env['TIMECOIN_DATADIR'];
    process.env['TIMECOIN_DATADIR'] = path.join(dir, 'from-env');
    try {
      await program.parseAsync(['node', 'timecoin', 'apikey', 'create', '--scope', 'read']);
    } finally {
      if (saved === undefined) delete process.env['TIMECOIN_DATADIR'];
      else process.env['TIMECOIN_DATADIR'] = saved;
    }
    expect(new ApiKeyStore(path.join(dir, 'from-env')).authenticate(stdout.trim())).not.toBeNull();
  });

  it('a bad scope or rate is one clear error and writes nothing', async () => {
    await expect(run('create', '--scope', 'read,sudo')).rejects.toThrow(
      "unknown scope 'sudo': expected a comma-separated list of read, submit, admin",
    );
    await expect(run('create', '--scope', 'read', '--rate', 'fast')).rejects.toThrow(/invalid --rate 'fast'/);
    await expect(run('create')).rejects.toBeInstanceOf(CommanderError);
    expect(new ApiKeyStore(dir).list()).toEqual([]);
  });

  it('list shows ids, names and scopes (table or --json) without secrets; revoke removes', async () => {
    const created = await run('create', '--scope', 'read', '--name', 'n1');
    const table = await run('list');
    expect(table.stdout).toMatch(/^id\tname\tscopes\trate\tcreated\nk[0-9a-f]{12}\tn1\tread\tdefault\t/);
    const json = JSON.parse((await run('list', '--json')).stdout) as { id: string }[];
    expect(json).toHaveLength(1);
    expect(JSON.stringify(json)).not.toContain(created.stdout.trim());
    const revoked = await run('revoke', json[0]!.id);
    expect(revoked.stderr).toContain('revoked API key');
    expect(revoked.stdout).toBe('');
    await expect(run('revoke', 'n1')).rejects.toThrow("no API key with id or name 'n1'");
    expect((await run('list')).stderr).toContain('no API keys');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigCode, ConfigError, loadConfig, type Config, type LoadConfigOptions } from '../../src/config.js';
import { FIELDS, envName } from '../../src/config-schema.js';

let root: string;
let home: string;
let cwd: string;
let datadir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'timecoin-config-'));
  home = join(root, 'home');
  cwd = join(root, 'cwd');
  datadir = join(root, 'data');
  await Promise.all([mkdir(home), mkdir(cwd), mkdir(datadir)]);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const load = (o: LoadConfigOptions = {}): Config => loadConfig({ env: {}, cwd, home, ...o });
const writeJson = (path: string, obj: unknown) => writeFile(path, typeof obj === 'string' ? obj : JSON.stringify(obj));

function errorOf(f: () => unknown): ConfigError {
  try {
    f();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** Value at a dotted key of the resolved config. */
function get(c: Config, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c);
}

/** Per leaf (except network/datadir): two valid values as text, their parsed form, and bad inputs. */
const SAMPLES: Record<string, { a: string; b: string; parse?: (s: string) => unknown; badText: string; badJson: unknown }> = {
  'rpc.host': { a: '0.0.0.0', b: '::1', badText: 'http://x', badJson: 5 },
  'rpc.port': { a: '30001', b: '30002', parse: Number, badText: 'abc', badJson: '30001' },
  'rpc.tls.certFile': { a: '/etc/a.pem', b: '/etc/b.pem', badText: '', badJson: 7 },
  'rpc.tls.keyFile': { a: '/etc/a.key', b: '/etc/b.key', badText: '', badJson: [] },
  'rpc.metricsAuth': { a: 'false', b: 'true', parse: (s) => s === 'true', badText: 'maybe', badJson: 'true' },
  'rpc.maxBodyBytes': { a: '2048', b: '4096', parse: Number, badText: '1e6', badJson: 10 },
  'rpc.maxBatch': { a: '5', b: '6', parse: Number, badText: '0', badJson: 1.5 },
  'rpc.defaultRatePerSecond': { a: '2.5', b: '7', parse: Number, badText: '-1', badJson: 0 },
  'p2p.port': { a: '30003', b: '30004', parse: Number, badText: '70000', badJson: 0 },
  'p2p.listenHost': { a: '127.0.0.1', b: 'node.example', badText: 'a b', badJson: null },
  'p2p.bootstrap': { a: '/ip4/1.2.3.4/tcp/1', b: '/dns4/x/tcp/2,/ip4/5.6.7.8/tcp/3', parse: (s) => s.split(','), badText: 'ip4/1.2.3.4', badJson: '/ip4/1.2.3.4/tcp/1' },
  'p2p.maxConnections': { a: '10', b: '11', parse: Number, badText: '', badJson: -1 },
  'p2p.maxPerIp': { a: '2', b: '3', parse: Number, badText: '2.0', badJson: true },
  'p2p.banMs': { a: '60000', b: '120000', parse: Number, badText: '999', badJson: '60000' },
  'p2p.redialMs': { a: '2000', b: '5000', parse: Number, badText: '1.5e3', badJson: 3_600_001 },
  'consensus.timeoutBaseMs': { a: '1000', b: '1500', parse: Number, badText: '99', badJson: '1000' },
  'consensus.timeoutFactor': { a: '1.5', b: '3', parse: Number, badText: 'NaN', badJson: 11 },
  'consensus.timeoutMaxMs': { a: '90000', b: '95000', parse: Number, badText: 'Infinity', badJson: 50 },
  'consensus.idleBlockIntervalMs': { a: '5000', b: '6000', parse: Number, badText: '0x10', badJson: 999 },
  'consensus.minBlockIntervalMs': { a: '200', b: '300', parse: Number, badText: '-1', badJson: 60_001 },
  'consensus.maxBlockTransactions': { a: '500', b: '1500', parse: Number, badText: '0', badJson: 100_001 },
  'consensus.heartbeatIntervalMs': { a: '3000', b: '4000', parse: Number, badText: '1e3', badJson: 999 },
  'mempool.maxTransactions': { a: '50', b: '60', parse: Number, badText: ' 50', badJson: 0 },
  'mempool.minFeeRate': { a: '2', b: '3', parse: BigInt, badText: '1.5', badJson: -1 },
  'log.level': { a: 'debug', b: 'warn', badText: 'verbose', badJson: 3 },
  operatorKeyFile: { a: '/k/op.key', b: '/k/op2.key', badText: '', badJson: {} },
};
const leaves = FIELDS.filter((f) => f.key !== 'network' && f.key !== 'datadir');
const parsed = (key: string, s: string) => (SAMPLES[key]!.parse ?? ((x: string) => x))(s);
/** Settings some samples need so cross-key rules hold (TLS needs both files). */
const companions = (key: string): Record<string, string> =>
  key === 'rpc.tls.certFile' ? { TIMECOIN_RPC_TLS_KEY_FILE: '/etc/k.pem' } : key === 'rpc.tls.keyFile' ? { TIMECOIN_RPC_TLS_CERT_FILE: '/etc/c.pem' } : {};

function fileObject(key: string, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const parts = key.split('.');
  let node = out;
  for (const p of parts.slice(0, -1)) node = (node[p] = {}) as Record<string, unknown>;
  node[parts.at(-1)!] = value;
  return out;
}
function asJson(key: string, text: string): unknown {
  const v = parsed(key, text);
  return typeof v === 'bigint' ? v.toString() : v;
}

describe('defaults', () => {
  it('every schema leaf has test samples', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(leaves.map((f) => f.key).sort());
  });

  it('mainnet with no file: ~/.timecoin, SPEC ports, loopback RPC, frozen', () => {
    const c = load();
    expect(c).toMatchObject({ network: 'mainnet', datadir: join(home, '.timecoin'), configFile: null, operatorKeyFile: null });
    expect(c.rpc).toMatchObject({ host: '127.0.0.1', port: 24001, tls: null, metricsAuth: true, maxBodyBytes: 4194304, maxBatch: 100, defaultRatePerSecond: 20 });
    expect(c.p2p).toMatchObject({ port: 24000, listenHost: '0.0.0.0', bootstrap: [], maxConnections: 64, maxPerIp: 8, banMs: 600_000, redialMs: 15_000 });
    expect(c.consensus).toEqual({ timeoutBaseMs: 2000, timeoutFactor: 2, timeoutMaxMs: 60000, idleBlockIntervalMs: 60000, minBlockIntervalMs: 0, maxBlockTransactions: 2000, heartbeatIntervalMs: 60000 });
    expect(c.mempool).toEqual({ maxTransactions: 10000, minFeeRate: 1n });
    expect(c.log.level).toBe('info');
    expect(Object.isFrozen(c) && Object.isFrozen(c.rpc) && Object.isFrozen(c.p2p.bootstrap)).toBe(true);
  });

  it('testnet and dev defaults (SPEC §5 ports, SPEC §6 ./.timecoin/dev)', () => {
    const t = load({ env: { TIMECOIN_NETWORK: 'testnet' } });
    expect([t.datadir, t.p2p.port, t.rpc.port]).toEqual([join(home, '.timecoin', 'testnet'), 24100, 24101]);
    const d = load({ flags: { dev: true } });
    expect([d.network, d.datadir, d.p2p.port, d.rpc.port]).toEqual(['dev', join(cwd, '.timecoin', 'dev'), 24200, 24201]);
  });

  it('a caller datadir is used when no flag or env names one', async () => {
    await writeJson(join(datadir, 'config.json'), { rpc: { port: 30100 } });
    const c = load({ datadir });
    expect([c.datadir, c.configFile, c.rpc.port]).toEqual([datadir, join(datadir, 'config.json'), 30100]);
    expect(load({ datadir, env: { TIMECOIN_DATADIR: home } }).datadir).toBe(home);
  });

  it('docs/config.md names every key, environment variable and flag', async () => {
    const doc = await readFile(new URL('../../docs/config.md', import.meta.url), 'utf8');
    for (const f of FIELDS) {
      expect(doc, f.key).toContain(`| \`${f.key}\` | \`${envName(f.key)}\` |`);
      if (f.flag !== undefined) expect(doc, f.flag).toContain(`\`${f.flag}\``);
    }
  });

  it('unrelated TIMECOIN_* variables (TIMECOIN_LONG, TIMECOIN_CONFIG-like typos) are ignored, not errors', () => {
    expect(load({ env: { TIMECOIN_LONG: '1', TIMECOIN_API_KEY: 'x' } }).network).toBe('mainnet');
  });
});

describe('precedence: flags > env > file > default, for every key', () => {
  for (const f of leaves) {
    it(`${f.key} (${envName(f.key)})`, async () => {
      const s = SAMPLES[f.key]!;
      const extra = companions(f.key);
      if (!f.key.startsWith('rpc.tls')) expect(get(load({ flags: { datadir } }), f.key)).toEqual(f.def('mainnet') ?? null);
      await writeJson(join(datadir, 'config.json'), fileObject(f.key, asJson(f.key, s.a)));
      expect(get(load({ flags: { datadir }, env: extra }), f.key)).toEqual(parsed(f.key, s.a));
      expect(get(load({ flags: { datadir }, env: { ...extra, [envName(f.key)]: s.b } }), f.key)).toEqual(parsed(f.key, s.b));
      if (f.flag !== undefined) {
        const prop = f.flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
        const c = load({ flags: { datadir, [prop]: s.a }, env: { ...extra, [envName(f.key)]: s.b } });
        expect(get(c, f.key)).toEqual(parsed(f.key, s.a));
      }
    });
  }

  it('network and datadir: flag > env > default', () => {
    expect(load({ flags: { network: 'dev' }, env: { TIMECOIN_NETWORK: 'testnet' } }).network).toBe('dev');
    expect(load({ flags: { datadir: 'rel' }, env: { TIMECOIN_DATADIR: '/elsewhere' } }).datadir).toBe(join(cwd, 'rel'));
    expect(load({ env: { TIMECOIN_DATADIR: 'rel2' } }).datadir).toBe(join(cwd, 'rel2'));
    expect(load({ flags: { dev: true }, env: { TIMECOIN_NETWORK: 'mainnet' } }).network).toBe('dev');
  });

  it('relative paths: flags/env against the working directory, the file against the datadir', async () => {
    await writeJson(join(datadir, 'config.json'), { operatorKeyFile: 'operator.key', rpc: { tls: { certFile: 'tls/c.pem', keyFile: 'tls/k.pem' } } });
    const c = load({ flags: { datadir } });
    expect(c.operatorKeyFile).toBe(join(datadir, 'operator.key'));
    expect(c.rpc.tls).toEqual({ certFile: join(datadir, 'tls/c.pem'), keyFile: join(datadir, 'tls/k.pem') });
    expect(load({ flags: { datadir, operatorKeyFile: 'op.key' } }).operatorKeyFile).toBe(join(cwd, 'op.key'));
  });

  it('explicit --config / TIMECOIN_CONFIG file, which may set datadir (relative to the file)', async () => {
    const file = join(root, 'etc', 'node.json');
    await mkdir(join(root, 'etc'));
    await writeJson(file, { network: 'testnet', datadir: '../var', p2p: { bootstrap: ['/ip4/10.0.0.1/tcp/24100'] } });
    for (const c of [load({ flags: { config: file } }), load({ env: { TIMECOIN_CONFIG: file } })]) {
      expect(c).toMatchObject({ network: 'testnet', datadir: join(root, 'var'), configFile: file });
      expect(c.p2p.bootstrap).toEqual(['/ip4/10.0.0.1/tcp/24100']);
      expect(c.rpc.port).toBe(24101);
    }
    expect(load({ flags: { config: file, datadir } }).datadir).toBe(datadir);
  });

  it('null leaves optional settings unset; a UTF-8 BOM is tolerated', async () => {
    await writeJson(join(datadir, 'config.json'), '\uFEFF{"rpc":{"tls":null},"operatorKeyFile":null}');
    const c = load({ flags: { datadir } });
    expect([c.rpc.tls, c.operatorKeyFile]).toEqual([null, null]);
  });
});

describe('errors: one line, typed, naming the key and the source', () => {
  const oneLine = (e: ConfigError) => {
    expect(e.message).not.toMatch(/[\r\n]/);
    expect(e.message.startsWith('config: ')).toBe(true);
  };

  for (const f of leaves) {
    it(`bad ${f.key} from env, file and flag`, async () => {
      const s = SAMPLES[f.key]!;
      const env = { ...companions(f.key), [envName(f.key)]: s.badText };
      let e = errorOf(() => load({ flags: { datadir }, env }));
      expect([e.code, e.meta?.key]).toEqual([ConfigCode.Invalid, f.key]);
      expect(e.message).toContain(`config: ${f.key} must be `);
      expect(e.message).toContain(`(from ${envName(f.key)}=${JSON.stringify(s.badText)})`);
      oneLine(e);

      const file = join(datadir, 'config.json');
      await writeJson(file, fileObject(f.key, s.badJson));
      // a bad file value is reported even when the environment overrides it
      e = errorOf(() => load({ flags: { datadir }, env: { ...companions(f.key), [envName(f.key)]: s.a } }));
      expect([e.code, e.meta?.key]).toEqual([ConfigCode.Invalid, f.key]);
      expect(e.message).toContain(`${f.key} must be `);
      expect(e.message).toContain(`(from ${file}: ${JSON.stringify(s.badJson)})`);
      oneLine(e);

      if (f.flag !== undefined) {
        const prop = f.flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
        await rm(file);
        e = errorOf(() => load({ flags: { datadir, [prop]: s.badText } }));
        expect([e.code, e.meta?.key]).toEqual([ConfigCode.Invalid, f.key]);
        expect(e.message).toContain(`(from ${f.flag}=${JSON.stringify(s.badText)})`);
      }
    });
  }

  it('the example of the brief, verbatim', () => {
    expect(errorOf(() => load({ env: { TIMECOIN_RPC_PORT: 'abc' } })).message).toBe(
      'config: rpc.port must be an integer 1–65535 (from TIMECOIN_RPC_PORT="abc")',
    );
  });

  it('bad network and datadir', () => {
    let e = errorOf(() => load({ env: { TIMECOIN_NETWORK: 'regtest' } }));
    expect([e.code, e.meta?.key]).toEqual([ConfigCode.Invalid, 'network']);
    expect(e.message).toBe('config: network must be one of mainnet, testnet, dev (from TIMECOIN_NETWORK="regtest")');
    e = errorOf(() => load({ flags: { datadir: '' } }));
    expect([e.code, e.meta?.key]).toEqual([ConfigCode.Invalid, 'datadir']);
  });

  it('unknown keys in the file, at any depth, and unknown flag options', async () => {
    const file = join(datadir, 'config.json');
    for (const [obj, key] of [[{ rpcport: 1 }, 'rpcport'], [{ rpc: { prot: 1 } }, 'rpc.prot'], [{ rpc: { tls: { cert: 'x' } } }, 'rpc.tls.cert'], ['{"__proto__": {"x": 1}}', '__proto__']] as const) {
      await writeJson(file, obj);
      const e = errorOf(() => load({ flags: { datadir } }));
      expect([e.code, e.meta?.key]).toEqual([ConfigCode.UnknownKey, key]);
      expect(e.message).toBe(`config: unknown key "${key}" in ${file}`);
    }
    expect(errorOf(() => load({ flags: { rpcport: '1' } as never })).code).toBe(ConfigCode.UnknownKey);
  });

  it('a section that is not an object, and a file that is not an object', async () => {
    const file = join(datadir, 'config.json');
    await writeJson(file, { rpc: 8 });
    let e = errorOf(() => load({ flags: { datadir } }));
    expect([e.code, e.meta?.key, e.message]).toEqual([ConfigCode.Invalid, 'rpc', `config: rpc must be an object (from ${file}: 8)`]);
    await writeJson(file, '[1]');
    e = errorOf(() => load({ flags: { datadir } }));
    expect(e.message).toBe(`config: ${file} must hold a JSON object`);
  });

  it('invalid JSON names the file, in one line', async () => {
    const file = join(datadir, 'config.json');
    await writeJson(file, '{\n  "rpc": {\n    "port": 1,\n  }\n}\n');
    const e = errorOf(() => load({ flags: { datadir } }));
    expect(e.code).toBe(ConfigCode.BadJson);
    expect(e.message.startsWith(`config: ${file} is not valid JSON: `)).toBe(true);
    oneLine(e);
  });

  it('an explicit config file that is missing or unreadable', async () => {
    let e = errorOf(() => load({ flags: { config: join(root, 'nope.json') } }));
    expect(e.code).toBe(ConfigCode.Unreadable);
    expect(e.message).toContain(join(root, 'nope.json'));
    e = errorOf(() => load({ flags: { config: root } })); // a directory
    expect(e.code).toBe(ConfigCode.Unreadable);
    await writeJson(join(datadir, 'config.json'), ' '.repeat(1024 * 1024 + 1));
    expect(errorOf(() => load({ flags: { datadir } })).code).toBe(ConfigCode.Unreadable);
  });

  it('datadir inside <datadir>/config.json is refused', async () => {
    await writeJson(join(datadir, 'config.json'), { datadir: '/x' });
    const e = errorOf(() => load({ flags: { datadir } }));
    expect([e.code, e.meta?.key]).toEqual([ConfigCode.Invalid, 'datadir']);
  });

  it('a file network that contradicts the default datadir it was found in', async () => {
    await mkdir(join(home, '.timecoin'));
    await writeJson(join(home, '.timecoin', 'config.json'), { network: 'testnet' });
    const e = errorOf(() => load());
    expect([e.code, e.meta?.key]).toEqual([ConfigCode.Conflict, 'network']);
    // with the datadir named, the file may choose the network
    await writeJson(join(datadir, 'config.json'), { network: 'testnet' });
    expect(load({ flags: { datadir } }).network).toBe('testnet');
    expect(load({ flags: { datadir, network: 'dev' } }).network).toBe('dev');
  });

  it('--dev with another --network conflicts', () => {
    const e = errorOf(() => load({ flags: { dev: true, network: 'testnet' } }));
    expect([e.code, e.message]).toEqual([ConfigCode.Conflict, 'config: --dev conflicts with --network="testnet"']);
  });

  it('cross-key rules: TLS pair, timeout cap, distinct ports', async () => {
    let e = errorOf(() => load({ env: { TIMECOIN_RPC_TLS_CERT_FILE: '/c.pem' } }));
    expect([e.code, e.meta?.key]).toEqual([ConfigCode.Invalid, 'rpc.tls.keyFile']);
    expect(e.message).toBe('config: rpc.tls.keyFile must be set together with rpc.tls.certFile (from TIMECOIN_RPC_TLS_CERT_FILE="/c.pem")');
    e = errorOf(() => load({ env: { TIMECOIN_CONSENSUS_TIMEOUT_BASE_MS: '90000' } }));
    expect([e.code, e.meta?.key]).toEqual([ConfigCode.Invalid, 'consensus.timeoutMaxMs']);
    expect(e.message).toContain('TIMECOIN_CONSENSUS_TIMEOUT_BASE_MS="90000"');
    e = errorOf(() => load({ env: { TIMECOIN_CONSENSUS_MIN_BLOCK_INTERVAL_MS: '5000', TIMECOIN_CONSENSUS_IDLE_BLOCK_INTERVAL_MS: '2000' } }));
    expect([e.code, e.meta?.key]).toEqual([ConfigCode.Invalid, 'consensus.minBlockIntervalMs']);
    expect(e.message).toBe('config: consensus.minBlockIntervalMs (TIMECOIN_CONSENSUS_MIN_BLOCK_INTERVAL_MS="5000") must be ≤ consensus.idleBlockIntervalMs (TIMECOIN_CONSENSUS_IDLE_BLOCK_INTERVAL_MS="2000")');
    expect(load({ env: { TIMECOIN_CONSENSUS_MIN_BLOCK_INTERVAL_MS: '2000', TIMECOIN_CONSENSUS_IDLE_BLOCK_INTERVAL_MS: '2000' } }).consensus.minBlockIntervalMs).toBe(2000);
    e = errorOf(() => load({ flags: { rpcPort: '24000' } }));
    expect([e.code, e.meta?.key]).toEqual([ConfigCode.Conflict, 'rpc.port']);
    expect(e.message).toContain('--rpc-port="24000"');
  });

  it('flag values may arrive as numbers from the option parser', () => {
    expect(load({ flags: { rpcPort: 30500, p2pPort: 30501 } }).rpc.port).toBe(30500);
    expect(errorOf(() => load({ flags: { rpcPort: 1.5 } })).meta?.key).toBe('rpc.port');
  });
});

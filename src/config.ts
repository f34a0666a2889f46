/**
 * Node configuration (SPEC §6): flags > environment (`TIMECOIN_*`) > config file > defaults.
 * `loadConfig` is pure apart from reading the one config file: the environment, working
 * directory and home directory are inputs, so tests need no process state. Every bad input is a
 * `ConfigError` whose message is one line naming the key and where the value came from.
 * docs/config.md lists every key; the table itself lives in config-schema.ts.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { TimecoinError } from '../chain/errors.js';
import type { NetworkName } from '../chain/constants.js';
import type { LogLevel } from './logger.js';
import { FIELDS, OBJECT_KEYS, envName, type Field, type Raw } from './config-schema.js';

/** Why a configuration was refused. */
export const ConfigCode = {
  Invalid: 'config-invalid',
  UnknownKey: 'config-unknown-key',
  BadJson: 'config-bad-json',
  Unreadable: 'config-unreadable',
  Conflict: 'config-conflict',
} as const;
export type ConfigCode = (typeof ConfigCode)[keyof typeof ConfigCode];

/** A configuration value, key or file is not acceptable; `meta.key` names the key when there is one. */
export class ConfigError extends TimecoinError<ConfigCode> {}

/** The resolved, validated, frozen configuration. Paths are absolute. */
export interface Config {
  readonly network: NetworkName;
  readonly datadir: string;
  /** The config file that was read, or null when none existed. */
  readonly configFile: string | null;
  readonly rpc: {
    readonly host: string;
    readonly port: number;
    readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
    readonly metricsAuth: boolean;
    readonly maxBodyBytes: number;
    readonly maxBatch: number;
    readonly defaultRatePerSecond: number;
  };
  readonly p2p: {
    readonly port: number;
    readonly listenHost: string;
    readonly bootstrap: readonly string[];
    readonly maxConnections: number;
    readonly maxPerIp: number;
    readonly banMs: number;
    readonly redialMs: number;
  };
  readonly consensus: {
    readonly timeoutBaseMs: number;
    readonly timeoutFactor: number;
    readonly timeoutMaxMs: number;
    readonly idleBlockIntervalMs: number;
    readonly minBlockIntervalMs: number;
    readonly maxBlockTransactions: number;
    readonly heartbeatIntervalMs: number;
  };
  readonly mempool: { readonly maxTransactions: number; readonly minFeeRate: bigint };
  readonly log: { readonly level: LogLevel };
  readonly operatorKeyFile: string | null;
}

/** Command-line options that map onto config keys (what `timecoin start` passes through). */
export interface ConfigFlags {
  readonly dev?: boolean;
  readonly config?: string;
  readonly network?: string;
  readonly datadir?: string;
  readonly rpcHost?: string;
  readonly rpcPort?: string | number;
  readonly p2pPort?: string | number;
  readonly logLevel?: string;
  readonly operatorKeyFile?: string;
}

/** Inputs of `loadConfig`; everything defaults to the real process. */
export interface LoadConfigOptions {
  readonly flags?: ConfigFlags;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A caller-chosen datadir, used only when neither --datadir nor TIMECOIN_DATADIR is set. */
  readonly datadir?: string;
  readonly cwd?: string;
  readonly home?: string;
}

/** Where a value came from: its label for messages and the directory relative paths start at. */
interface Source {
  readonly label: string;
  readonly raw: Raw;
  readonly base: string;
}

const MAX_FILE_BYTES = 1024 * 1024;
const fieldByKey = new Map(FIELDS.map((f) => [f.key, f]));
/** `--rpc-port` → `rpcPort`, the property name commander gives the option. */
const flagProp = (flag: string) => flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const fieldByFlagProp = new Map(FIELDS.filter((f) => f.flag !== undefined).map((f) => [flagProp(f.flag!), f]));

/** A value as it appears in a message: JSON-quoted, one line, cut to 80 characters. */
function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function where(src: Source): string {
  return 'text' in src.raw ? `${src.label}=${show(src.raw.text)}` : `${src.label}: ${show(src.raw.json)}`;
}

function fail(code: ConfigCode, message: string, key?: string): never {
  throw new ConfigError(code, `config: ${message}`, key === undefined ? undefined : { key });
}

/** Read and check one leaf from one source; relative paths resolve against the source's base. */
function readField(field: Field, src: Source): unknown {
  const v = field.kind.read(src.raw);
  if (v === undefined) fail(ConfigCode.Invalid, `${field.key} must be ${field.kind.expects} (from ${where(src)})`, field.key);
  return field.kind.isPath === true && typeof v === 'string' && !isAbsolute(v) ? resolve(src.base, v) : v;
}

function flagSources(flags: ConfigFlags, cwd: string): Map<string, Source> {
  const out = new Map<string, Source>();
  for (const [prop, value] of Object.entries(flags)) {
    if (value === undefined || prop === 'dev' || prop === 'config') continue;
    const field = fieldByFlagProp.get(prop);
    if (field === undefined) fail(ConfigCode.UnknownKey, `unknown flag option "${prop}"`);
    const raw: Raw = typeof value === 'string' ? { text: value } : { json: value };
    out.set(field.key, { label: field.flag!, raw, base: cwd });
  }
  return out;
}

function envSources(env: Readonly<Record<string, string | undefined>>, cwd: string): Map<string, Source> {
  const out = new Map<string, Source>();
  for (const f of FIELDS) {
    const name = envName(f.key);
    const value = env[name];
    if (value !== undefined) out.set(f.key, { label: name, raw: { text: value }, base: cwd });
  }
  return out;
}

/** Parse the config file into leaf values; missing is fine unless the file was named explicitly. */
function fileSources(file: string, namedBy: string | undefined): Map<string, Source> | null {
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_FILE_BYTES) fail(ConfigCode.Unreadable, `${file} is larger than 1 MiB`);
    text = buf.toString('utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && namedBy === undefined) return null;
    if (code === 'ENOENT') return fail(ConfigCode.Unreadable, `config file ${file} does not exist (from ${namedBy})`);
    return fail(ConfigCode.Unreadable, `cannot read ${file} (${code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const why = (err as Error).message.replace(/\s+/g, ' ').slice(0, 160);
    return fail(ConfigCode.BadJson, `${file} is not valid JSON: ${why}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(ConfigCode.Invalid, `${file} must hold a JSON object`);
  const out = new Map<string, Source>();
  walk(json as Record<string, unknown>, '', file, out);
  return out;
}

function walk(obj: Record<string, unknown>, prefix: string, file: string, out: Map<string, Source>): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (OBJECT_KEYS.has(key)) {
      if (v === null && allOptionalUnder(key)) continue; // e.g. "tls": null means no TLS
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(ConfigCode.Invalid, `${key} must be an object (from ${file}: ${show(v)})`, key);
      walk(v as Record<string, unknown>, key, file, out);
    } else if (fieldByKey.has(key)) {
      if (v === null && fieldByKey.get(key)!.def('mainnet') === undefined) continue; // optional leaf left unset
      out.set(key, { label: file, raw: { json: v }, base: '' }); // base set once the datadir is known
    } else {
      fail(ConfigCode.UnknownKey, `unknown key "${key}" in ${file}`, key);
    }
  }
}

function allOptionalUnder(key: string): boolean {
  return FIELDS.filter((f) => f.key.startsWith(`${key}.`)).every((f) => f.def('mainnet') === undefined);
}

/** Default data directory: `./.timecoin/dev` for dev (SPEC §6), `~/.timecoin[/testnet]` otherwise, as bitcoind. */
export function defaultDatadir(network: NetworkName, cwd: string, home: string): string {
  if (network === 'dev') return resolve(cwd, '.timecoin', 'dev');
  return network === 'testnet' ? join(home, '.timecoin', 'testnet') : join(home, '.timecoin');
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
  node[parts[parts.length - 1]!] = value;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Resolve the configuration from flags, environment, config file and defaults (SPEC §6). */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const flags = options.flags ?? {};
  const env = options.env ?? process.env;
  const cwd = resolve(options.cwd ?? process.cwd());
  const home = options.home ?? homedir();
  const fromFlags = flagSources(flags, cwd);
  const fromEnv = envSources(env, cwd);
  const first = (key: string) => fromFlags.get(key) ?? fromEnv.get(key);
  const networkField = fieldByKey.get('network')!;
  const datadirField = fieldByKey.get('datadir')!;

  // The network and datadir pick the config file, so they come from flags and env only.
  const netSrc = first('network');
  let network = netSrc === undefined ? undefined : (readField(networkField, netSrc) as NetworkName);
  if (flags.dev === true) {
    const fromFlag = fromFlags.get('network');
    if (fromFlag !== undefined && network !== 'dev') fail(ConfigCode.Conflict, `--dev conflicts with ${where(fromFlag)}`, 'network');
    network = 'dev';
  }
  const ddSrc = first('datadir');
  let datadir = ddSrc !== undefined ? (readField(datadirField, ddSrc) as string) : options.datadir !== undefined ? resolve(cwd, options.datadir) : undefined;
  const explicitSrc = flags.config !== undefined ? { label: '--config', value: flags.config } : env.TIMECOIN_CONFIG !== undefined ? { label: 'TIMECOIN_CONFIG', value: env.TIMECOIN_CONFIG } : undefined;
  let datadirDefaulted = false;
  let file: string;
  if (explicitSrc !== undefined) {
    if (explicitSrc.value === '') fail(ConfigCode.Invalid, `config file path must not be empty (from ${explicitSrc.label}="")`);
    file = resolve(cwd, explicitSrc.value);
  } else {
    if (datadir === undefined) {
      datadir = defaultDatadir(network ?? 'mainnet', cwd, home);
      datadirDefaulted = true;
    }
    file = join(datadir, 'config.json');
  }
  const fromFile = fileSources(file, explicitSrc?.label);

  const fileDatadir = fromFile?.get('datadir');
  if (fileDatadir !== undefined) {
    if (explicitSrc === undefined) fail(ConfigCode.Invalid, `datadir cannot be set inside ${file}; use --datadir or TIMECOIN_DATADIR`, 'datadir');
    const dd = readField(datadirField, { ...fileDatadir, base: dirname(file) }) as string;
    datadir ??= dd;
  }
  const fileNet = fromFile?.get('network');
  if (network === undefined && fileNet !== undefined) {
    network = readField(networkField, fileNet) as NetworkName;
    if (datadirDefaulted && network !== 'mainnet') {
      fail(ConfigCode.Conflict, `network "${network}" in ${file} conflicts with the default mainnet datadir; pass --datadir or --network`, 'network');
    }
  } else if (fileNet !== undefined) {
    readField(networkField, fileNet); // still validated, though flags or env win
  }
  network ??= 'mainnet';
  datadir ??= defaultDatadir(network, cwd, home);

  const out: Record<string, unknown> = { network, datadir, configFile: fromFile === null ? null : file };
  const chosen = new Map<string, Source>();
  for (const f of FIELDS) {
    if (f.key === 'network' || f.key === 'datadir') continue;
    const fileSrc = fromFile?.get(f.key);
    if (fileSrc !== undefined) readField(f, { ...fileSrc, base: datadir }); // a bad file value is an error even when overridden
    const src = first(f.key) ?? (fileSrc === undefined ? undefined : { ...fileSrc, base: datadir });
    if (src !== undefined) chosen.set(f.key, src);
    const value = src === undefined ? f.def(network) : readField(f, src);
    setPath(out, f.key, value ?? null);
  }
  crossChecks(out as unknown as Config, chosen);
  return deepFreeze(out as unknown as Config);
}

/** Rules between keys; the message names both keys and their sources. */
function crossChecks(c: Config, chosen: Map<string, Source>): void {
  const from = (key: string) => {
    const s = chosen.get(key);
    return s === undefined ? 'default' : where(s);
  };
  const tls = c.rpc.tls as unknown as { certFile: string | null; keyFile: string | null } | null;
  if (tls !== null && (tls.certFile === null) !== (tls.keyFile === null)) {
    const [set, unset] = tls.certFile !== null ? ['rpc.tls.certFile', 'rpc.tls.keyFile'] : ['rpc.tls.keyFile', 'rpc.tls.certFile'];
    fail(ConfigCode.Invalid, `${unset} must be set together with ${set} (from ${from(set)})`, unset);
  }
  if (tls !== null && tls.certFile === null) (c.rpc as { tls: unknown }).tls = null;
  if (c.consensus.timeoutMaxMs < c.consensus.timeoutBaseMs) {
    fail(ConfigCode.Invalid, `consensus.timeoutMaxMs (${from('consensus.timeoutMaxMs')}) must be ≥ consensus.timeoutBaseMs (${from('consensus.timeoutBaseMs')})`, 'consensus.timeoutMaxMs');
  }
  if (c.consensus.minBlockIntervalMs > c.consensus.idleBlockIntervalMs) {
    fail(ConfigCode.Invalid, `consensus.minBlockIntervalMs (${from('consensus.minBlockIntervalMs')}) must be ≤ consensus.idleBlockIntervalMs (${from('consensus.idleBlockIntervalMs')})`, 'consensus.minBlockIntervalMs');
  }
  if (c.rpc.port === c.p2p.port) {
    fail(ConfigCode.Conflict, `rpc.port (${from('rpc.port')}) and p2p.port (${from('p2p.port')}) must differ`, 'rpc.port');
  }
}

/**
 * The config schema as data: one row per leaf key with its type, bounds, default, environment
 * variable and flag. `config.ts` walks this table, so docs/config.md, the validator and the env
 * names cannot drift apart. Values arrive either as text (flags, environment) or as JSON (the
 * config file); each kind knows how to read both and says in one phrase what it accepts.
 */
import { MAX_MONEY, NETWORKS, DEFAULT_MAX_MEMPOOL_TRANSACTIONS, DEFAULT_MIN_FEE_RATE, type NetworkName } from '../chain/constants.js';
import { LOG_LEVELS } from './logger.js';

/** A value and whether it came as text (flag, env) or as a JSON value (config file). */
export type Raw = TextRaw | JsonRaw;
export interface TextRaw {
  readonly text: string;
}
export interface JsonRaw {
  readonly json: unknown;
}

/** How one leaf is read and checked; `read` returns undefined when the value is not acceptable. */
export interface Kind {
  /** The phrase after "<key> must be …". */
  readonly expects: string;
  readonly read: (raw: Raw) => unknown;
  /** Relative paths are resolved by config.ts. */
  readonly isPath?: true;
}

const isText = (raw: Raw): raw is TextRaw => 'text' in raw;

/** Integer min…max; text must be plain decimal digits (no "1e3", " 8", "0x10"). */
export function int(min: number, max: number): Kind {
  return {
    expects: `an integer ${min}–${max}`,
    read: (raw) => {
      const v = isText(raw) ? (/^-?\d{1,16}$/.test(raw.text) ? Number(raw.text) : NaN) : raw.json;
      return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : undefined;
    },
  };
}

/** Finite decimal min…max (for factors and rates). */
export function num(min: number, max: number): Kind {
  return {
    expects: `a number ${min}–${max}`,
    read: (raw) => {
      const v = isText(raw) ? (/^\d{1,12}(\.\d{1,12})?$/.test(raw.text) ? Number(raw.text) : NaN) : raw.json;
      return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : undefined;
    },
  };
}

/** bigint units min…max; JSON may be a safe integer or a string of digits (SPEC §5 style). */
export function units(min: bigint, max: bigint): Kind {
  return {
    expects: `an integer number of units ${min}–${max}`,
    read: (raw) => {
      const v = isText(raw) ? raw.text : raw.json;
      let b: bigint | undefined;
      if (typeof v === 'string' && /^\d{1,20}$/.test(v)) b = BigInt(v);
      else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
      return b !== undefined && b >= min && b <= max ? b : undefined;
    },
  };
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];
export const bool: Kind = {
  expects: 'true or false',
  read: (raw) => {
    if (!isText(raw)) return typeof raw.json === 'boolean' ? raw.json : undefined;
    const t = raw.text.toLowerCase();
    return TRUE.includes(t) ? true : FALSE.includes(t) ? false : undefined;
  },
};

export function oneOf(values: readonly string[]): Kind {
  return {
    expects: `one of ${values.join(', ')}`,
    read: (raw) => {
      const v = isText(raw) ? raw.text : raw.json;
      return typeof v === 'string' && values.includes(v) ? v : undefined;
    },
  };
}

const str = (raw: Raw): unknown => (isText(raw) ? raw.text : raw.json);

/** A host name, IPv4 or IPv6 address to bind or dial (no scheme, no port). */
export const host: Kind = {
  expects: 'a host name or IP address (no port)',
  read: (raw) => {
    const v = str(raw);
    if (typeof v !== 'string' || v.length === 0 || v.length > 253) return undefined;
    const ipv6 = v.includes(':') && /^[0-9a-fA-F:.]+(%[A-Za-z0-9_.-]+)?$/.test(v);
    return ipv6 || /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(v) ? v : undefined;
  },
};

/** A file or directory path: non-empty, no NUL or line breaks (they would corrupt logs and syscalls). */
export const path: Kind = {
  expects: 'a non-empty file path',
  isPath: true,
  read: (raw) => {
    const v = str(raw);
    return typeof v === 'string' && v.length > 0 && v.length <= 4096 && !/[\0\r\n]/.test(v) ? v : undefined;
  },
};

const MULTIADDR = /^\/[^\s,]+$/;
/** libp2p multiaddrs; as text a comma-separated list (an empty string is the empty list). */
export const multiaddrs: Kind = {
  expects: 'a list of multiaddrs like /ip4/203.0.113.5/tcp/24000/p2p/<peer id>',
  read: (raw) => {
    const list = isText(raw) ? (raw.text.trim() === '' ? [] : raw.text.split(',').map((s) => s.trim())) : raw.json;
    if (!Array.isArray(list) || list.length > 256) return undefined;
    return list.every((a) => typeof a === 'string' && a.length <= 1024 && MULTIADDR.test(a)) ? [...(list as string[])] : undefined;
  },
};

/** One leaf key of the config. */
export interface Field {
  /** Dotted key, e.g. `rpc.port`. */
  readonly key: string;
  readonly kind: Kind;
  /** Default for the resolved network; undefined means "unset" (the key is optional). */
  readonly def: (network: NetworkName) => unknown;
  /** Command-line flag (SPEC §6) that sets this key, if any. */
  readonly flag?: string;
  /** One line for docs/config.md. */
  readonly doc: string;
}

/** `rpc.maxBodyBytes` → `TIMECOIN_RPC_MAX_BODY_BYTES`. */
export function envName(key: string): string {
  return 'TIMECOIN_' + key.split('.').map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

const port = int(1, 65535);
const none = () => undefined;
/** Every leaf key, in the order docs/config.md lists them. */
export const FIELDS: readonly Field[] = [
  { key: 'network', kind: oneOf(Object.keys(NETWORKS)), def: () => 'mainnet', flag: '--network', doc: 'chain to join (`--dev` selects `dev`)' },
  { key: 'datadir', kind: path, def: none, flag: '--datadir', doc: 'data directory (see "datadir" below for defaults)' },
  { key: 'rpc.host', kind: host, def: () => '127.0.0.1', flag: '--rpc-host', doc: 'RPC bind address; loopback unless you mean to expose it' },
  { key: 'rpc.port', kind: port, def: (n) => NETWORKS[n].rpcPort, flag: '--rpc-port', doc: 'RPC port (SPEC §5)' },
  { key: 'rpc.tls.certFile', kind: path, def: none, doc: 'PEM certificate; with keyFile, RPC serves HTTPS' },
  { key: 'rpc.tls.keyFile', kind: path, def: none, doc: 'PEM private key for certFile (keep it mode 0600)' },
  { key: 'rpc.metricsAuth', kind: bool, def: () => true, doc: '`GET /metrics` requires an API key with the `read` scope' },
  { key: 'rpc.maxBodyBytes', kind: int(1024, 64 * 1024 * 1024), def: () => 4 * 1024 * 1024, doc: 'largest request body; larger → HTTP 413 (a max-size transaction is 2 MB of hex)' },
  { key: 'rpc.maxBatch', kind: int(1, 10_000), def: () => 100, doc: 'most calls in one JSON-RPC batch' },
  { key: 'rpc.defaultRatePerSecond', kind: num(0.01, 1_000_000), def: () => 20, doc: 'per-key requests per second for keys created without `--rate`' },
  { key: 'p2p.port', kind: port, def: (n) => NETWORKS[n].p2pPort, flag: '--p2p-port', doc: 'P2P listen port (SPEC §5)' },
  { key: 'p2p.listenHost', kind: host, def: () => '0.0.0.0', doc: 'P2P bind address' },
  { key: 'p2p.bootstrap', kind: multiaddrs, def: () => [], doc: 'peers dialled at start' },
  { key: 'p2p.maxConnections', kind: int(1, 10_000), def: () => 64, doc: 'most open peer connections' },
  { key: 'p2p.maxPerIp', kind: int(1, 10_000), def: () => 8, doc: 'most connections from one IP address (a local testnet needs ≥ its node count)' },
  { key: 'p2p.banMs', kind: int(1_000, 7 * 86_400_000), def: () => 600_000, doc: 'how long a peer whose score fell below the threshold stays banned' },
  { key: 'p2p.redialMs', kind: int(1_000, 3_600_000), def: () => 15_000, doc: 'how often disconnected bootstrap peers are dialled again (after a restart or a healed partition)' },
  { key: 'consensus.timeoutBaseMs', kind: int(100, 600_000), def: () => 2_000, doc: 'first view timer of a height' },
  { key: 'consensus.timeoutFactor', kind: num(1, 10), def: () => 2, doc: 'view timer multiplier per failed view' },
  { key: 'consensus.timeoutMaxMs', kind: int(100, 3_600_000), def: () => 60_000, doc: 'view timer cap; ≥ timeoutBaseMs' },
  { key: 'consensus.idleBlockIntervalMs', kind: int(1_000, 86_400_000), def: () => 60_000, doc: 'a leader proposes an empty block after this long without transactions' },
  { key: 'consensus.minBlockIntervalMs', kind: int(0, 60_000), def: () => 0, doc: 'a validator starts a height with transactions no sooner than this after the previous block\'s timestamp: fewer, larger blocks under moderate load, for up to this much more latency; ≤ idleBlockIntervalMs' },
  { key: 'consensus.maxBlockTransactions', kind: int(1, 100_000), def: () => 2_000, doc: 'most transactions a leader puts in one block: a round must fit well inside the view timer' },
  { key: 'consensus.heartbeatIntervalMs', kind: int(1_000, 3_600_000), def: () => 60_000, doc: 'a masternode signs and gossips a heartbeat this often (testnet/mainnet; docs/masternodes.md)' },
  { key: 'mempool.maxTransactions', kind: int(1, 10_000_000), def: () => DEFAULT_MAX_MEMPOOL_TRANSACTIONS, doc: 'mempool capacity (SPEC §1)' },
  { key: 'mempool.minFeeRate', kind: units(0n, MAX_MONEY), def: () => DEFAULT_MIN_FEE_RATE, doc: 'units per encoded byte (SPEC §1); JSON number or digit string' },
  { key: 'log.level', kind: oneOf(LOG_LEVELS), def: () => 'info', flag: '--log-level', doc: 'pino level' },
  { key: 'operatorKeyFile', kind: path, def: none, flag: '--operator-key-file', doc: 'encrypted operator key (docs/keystore.md), or a plain JSON key off mainnet (timecoin testnet); unset = not a validator' },
];

/** Keys that hold objects (so `{"rpc": 5}` is reported as "rpc must be an object"). */
export const OBJECT_KEYS: ReadonlySet<string> = new Set(
  FIELDS.flatMap((f) => f.key.split('.').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('.'))),
);

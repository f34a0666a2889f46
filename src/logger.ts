/**
 * Structured JSON logs (pino). One root logger per process; every module logs through
 * `childLogger(root, 'module')` so each line says where it came from. Secrets are censored by
 * field name at any depth up to four levels (the shapes we log: `{apiKey}`, `{req: {headers:
 * {authorization}}}`, `{wallet: {secretKey}}`); the real rule is still "never pass a secret to
 * a logger" — redaction is the safety net, not the plan.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { NonBlockingLogDestination } from './log-destination.js';

export type { Logger } from 'pino';

/** Levels accepted by config `log.level` (pino's, plus `silent`). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Field names whose values are never written, wherever they appear. */
export const SECRET_FIELDS = [
  'authorization',
  'Authorization',
  'apiKey',
  'apikey',
  'api_key',
  'passphrase',
  'password',
  'secretKey',
  'secret_key',
  'privateKey',
  'private_key',
  'secret',
  'seed',
  'mnemonic',
  'key',
] as const;

export const REDACTED = '[redacted]';

/** Redaction paths: each secret field at the top level and under up to three levels of nesting. */
export function redactPaths(): string[] {
  const paths: string[] = [];
  for (const field of SECRET_FIELDS) {
    for (let depth = 0; depth <= 3; depth++) paths.push([...Array<string>(depth).fill('*'), field].join('.'));
  }
  return paths;
}

/** Options of `createLogger`. */
export interface LoggerOptions {
  readonly level: LogLevel;
  /**
   * Where lines go: a stream, a file path (appended) or a file descriptor. Default: stdout. Paths
   * and descriptors are written without ever blocking the process (src/log-destination.ts).
   */
  readonly destination?: DestinationStream | string | number;
  /** Static fields on every line (e.g. `{network}`); never put secrets here. */
  readonly base?: Record<string, unknown>;
}

/** The root pino logger: JSON lines with ISO time, level names and secret fields censored. */
export function createLogger(options: LoggerOptions): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(options.level)) throw new TypeError(`unknown log level ${String(options.level)}`);
  const d = options.destination;
  const dest: DestinationStream =
    d === undefined ? NonBlockingLogDestination.toDescriptor(1) : typeof d === 'number' ? NonBlockingLogDestination.toDescriptor(d) : typeof d === 'string' ? NonBlockingLogDestination.toFile(d) : d;
  return pino(
    {
      level: options.level,
      base: { pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level as its name ("info"), which log shippers and humans read without a table.
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths(), censor: REDACTED },
    },
    dest,
  );
}

/** A child logger whose every line carries `{module}`. */
export function childLogger(root: Logger, module: string, bindings: Record<string, unknown> = {}): Logger {
  return root.child({ ...bindings, module });
}

/** True if `level` is a valid `log.level` value. */
export function isLogLevel(level: unknown): level is LogLevel {
  return typeof level === 'string' && (LOG_LEVELS as readonly string[]).includes(level);
}

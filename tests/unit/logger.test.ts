import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { REDACTED, SECRET_FIELDS, childLogger, createLogger, isLogLevel } from '../../src/logger.js';

/** A destination that keeps every line written, parsed. */
function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; raw: () => string } {
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString('utf8');
      cb();
    },
  });
  return {
    stream,
    raw: () => buf,
    lines: () => buf.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const SECRET = 'S3CR3T-value-that-must-not-leak';

describe('logger', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'timecoin-logger-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes JSON lines with level name, ISO time and message', () => {
    const c = capture();
    const log = createLogger({ level: 'info', destination: c.stream });
    log.info({ height: 5 }, 'block connected');
    log.debug('hidden at info');
    const [line, ...rest] = c.lines();
    expect(rest).toEqual([]);
    expect(line).toMatchObject({ level: 'info', msg: 'block connected', height: 5, pid: process.pid });
    expect(new Date(line!.time as string).toISOString()).toBe(line!.time);
  });

  it('childLogger adds {module} to every line', () => {
    const c = capture();
    const root = createLogger({ level: 'debug', destination: c.stream });
    const chain = childLogger(root, 'chain');
    chain.debug('x');
    childLogger(chain, 'store', { db: 'chainstate' }).warn('y');
    expect(c.lines().map((l) => [l.module, l.level])).toEqual([
      ['chain', 'debug'],
      ['store', 'warn'],
    ]);
    expect(c.lines()[1]!.db).toBe('chainstate');
  });

  it('never writes a secret field, at the top level or nested up to four levels', () => {
    const c = capture();
    const log = createLogger({ level: 'trace', destination: c.stream });
    for (const field of SECRET_FIELDS) {
      log.info({ [field]: SECRET }, 'top');
      log.info({ a: { [field]: SECRET } }, 'one');
      log.info({ a: { b: { [field]: SECRET } } }, 'two');
      log.info({ a: { b: { c: { [field]: SECRET } } } }, 'three');
      log.info({ list: [{ [field]: SECRET }] }, 'array');
    }
    log.info({ req: { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' } } }, 'request');
    childLogger(log, 'rpc').info({ apiKey: SECRET, passphrase: SECRET, wallet: { secretKey: SECRET, privateKey: SECRET } }, 'child');
    expect(c.raw()).not.toContain(SECRET);
    expect(c.lines()).toHaveLength(SECRET_FIELDS.length * 5 + 2);
    const req = c.lines().find((l) => l.msg === 'request') as { req: { headers: Record<string, string>; method: string } };
    expect(req.req.headers.authorization).toBe(REDACTED);
    expect(req.req.headers['content-type']).toBe('application/json');
    expect(req.req.method).toBe('POST');
  });

  it('redaction does not mutate the logged object and tolerates odd shapes', () => {
    const c = capture();
    const log = createLogger({ level: 'info', destination: c.stream });
    const obj = { apiKey: SECRET, n: 1 };
    log.info(obj, 'x');
    expect(obj.apiKey).toBe(SECRET);
    log.info({ a: 5, b: null, c: 'str', d: [1, 2] }, 'odd');
    expect(c.lines()[1]).toMatchObject({ a: 5, b: null, c: 'str', d: [1, 2] });
  });

  it('writes to a file path destination', async () => {
    const path = join(dir, 'logs', 'node.log');
    const log = createLogger({ level: 'info', destination: path });
    log.info({ apiKey: SECRET }, 'to file');
    await new Promise<void>((resolve) => log.flush(() => resolve()));
    const text = await readFile(path, 'utf8');
    expect(JSON.parse(text.trim())).toMatchObject({ msg: 'to file', apiKey: REDACTED });
    expect(text).not.toContain(SECRET);
  });

  it('silent writes nothing; unknown levels are refused', () => {
    const c = capture();
    createLogger({ level: 'silent', destination: c.stream }).fatal('nothing');
    expect(c.raw()).toBe('');
    expect(() => createLogger({ level: 'verbose' as never, destination: c.stream })).toThrow(TypeError);
    expect(isLogLevel('warn')).toBe(true);
    expect(isLogLevel('warning')).toBe(false);
  });
});

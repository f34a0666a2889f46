/**
 * Envelope nonces that never repeat, across restarts and even if the data directory is lost:
 *
 *   nonce = max(last + 1, nowMs << 20)      (2^20 nonces per millisecond; u64 until year ~2500)
 *
 * The clock part means a node that lost its data directory still starts above every nonce it
 * used before (as long as its clock moved forward), so peers do not refuse its first messages
 * as replays — which would cost it a ban at consensus rates. The persisted part covers a clock
 * that steps back: a high-water CEILING (one minute of nonces ahead) is written durably (temp
 * file, fsync, rename, directory fsync) before any nonce above the previous ceiling is handed
 * out, and a restart resumes from the stored ceiling. A crash can only skip values, never
 * reuse them. In normal running the ceiling is rewritten about once a minute.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const NONCE_FILE = 'p2p-nonce';
const TIME_SHIFT = 20n;
/** Nonces reserved ahead of use per durable write: one minute's worth at the clock rate. */
const RESERVE = 60_000n << TIME_SHIFT;
const MAX_U64 = (1n << 64n) - 1n;

/** Write `data` to `file` durably and atomically (sync: it runs about once a minute). */
function writeDurable(file: string, data: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** The clock part of a nonce at `nowMs`. */
export function clockNonce(nowMs: number): bigint {
  return BigInt(Math.max(0, Math.floor(nowMs))) << TIME_SHIFT;
}

export class NonceSource {
  private constructor(
    private readonly file: string,
    private last: bigint,
    private ceiling: bigint,
  ) {}

  /** Load the ceiling stored in `dir` (absent → 0), reserve a new one durably, resume above it. */
  static async open(dir: string, nowMs: number): Promise<NonceSource> {
    const file = join(dir, NONCE_FILE);
    let stored = 0n;
    try {
      const text = (await readFile(file, 'utf8')).trim();
      if (!/^\d{1,20}$/.test(text) || BigInt(text) > MAX_U64) throw new Error(`corrupt nonce file ${file}`);
      stored = BigInt(text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // Every nonce used before is ≤ stored, so resuming from it can only skip values.
    const src = new NonceSource(file, stored, stored);
    src.reserve(maxBig(stored, clockNonce(nowMs)));
    return src;
  }

  /** The persisted ceiling (tests). */
  get storedCeiling(): bigint {
    return this.ceiling;
  }

  /** The next nonce; strictly greater than every nonce handed out before, in any run. */
  next(nowMs: number): bigint {
    const n = maxBig(this.last + 1n, clockNonce(nowMs));
    if (n > this.ceiling) this.reserve(n);
    this.last = n;
    return n;
  }

  private reserve(from: bigint): void {
    const ceiling = from + RESERVE;
    if (ceiling > MAX_U64) throw new Error('nonce space exhausted');
    writeDurable(this.file, `${ceiling}\n`);
    this.ceiling = ceiling;
  }
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/**
 * Envelope nonces that never repeat across restarts: nonce = bootCounter << 32 | counter.
 * The boot counter is persisted (temp file, fsync, rename, directory fsync) BEFORE the first
 * nonce of a boot is handed out, so a crash at any instant can only skip values, never reuse
 * them. When the 32-bit counter runs out, the boot counter is bumped (and persisted) again.
 * If the data directory is lost the counter restarts; the replay window still refuses old
 * envelopes, so only an envelope from the last `windowMs` could be confused — document, not code.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const NONCE_FILE = 'p2p-nonce';
const MAX_BOOT = 0xffff_ffff;
const MAX_COUNTER = 0xffff_ffff;

/** Write `data` to `file` durably and atomically (sync: used on the rare boot-counter bump). */
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

export class NonceSource {
  private counter = 0;

  private constructor(private readonly file: string, private boot: number) {}

  /** Load the counter file in `dir` (absent → first boot), bump and persist it. */
  static async open(dir: string): Promise<NonceSource> {
    const file = join(dir, NONCE_FILE);
    let prev = 0;
    try {
      const text = (await readFile(file, 'utf8')).trim();
      if (!/^\d{1,10}$/.test(text)) throw new Error(`corrupt nonce file ${file}`);
      prev = Number(text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const src = new NonceSource(file, prev);
    src.bump();
    return src;
  }

  /** The boot counter in use. */
  get bootCounter(): number {
    return this.boot;
  }

  /** The next nonce; strictly greater than every nonce handed out before, in any boot. */
  next(): bigint {
    if (this.counter >= MAX_COUNTER) this.bump();
    this.counter++;
    return (BigInt(this.boot) << 32n) | BigInt(this.counter);
  }

  private bump(): void {
    if (this.boot >= MAX_BOOT) throw new Error('nonce boot counter exhausted');
    writeDurable(this.file, `${this.boot + 1}\n`);
    this.boot++;
    this.counter = 0;
  }
}

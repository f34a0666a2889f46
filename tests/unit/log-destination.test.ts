/**
 * The node's log destination over a real FIFO (src/log-destination.ts): while the reader does not
 * read, writing never blocks; past the queue bound lines are dropped and counted, and once the
 * reader reads again every kept line arrives in order, followed by one notice of how many were
 * lost. A reader that closed the pipe ends logging without an error; a file gets every line.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { droppedLogLines, NonBlockingLogDestination } from '../../src/log-destination.js';
import { tempDir } from '../e2e/helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A FIFO with a non-blocking reader and a blocking writer (as a node's inherited stdout is). */
function fifo(): { reader: number; writer: number; close: () => void } {
  const dir = tempDir('timecoin-log-');
  dirs.push(dir);
  const path = join(dir, 'out');
  execFileSync('mkfifo', [path]);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY);
  return { reader, writer, close: () => [reader, writer].forEach((fd) => closeSync(fd)) };
}

/** Read what the FIFO holds now (non-blocking). */
function readAvailable(fd: number): string {
  const buf = Buffer.alloc(1 << 16);
  let text = '';
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return text;
      throw err;
    }
    if (n === 0) return text;
    text += buf.toString('utf8', 0, n);
  }
}

const line = (i: number): string => `${JSON.stringify({ level: 'info', seq: i, msg: 'x'.repeat(180) })}\n`;

describe('non-blocking log destination', () => {
  it('never blocks on a reader that stopped, drops past its bound, then delivers in order with a notice', async () => {
    const p = fifo();
    const dest = NonBlockingLogDestination.toDescriptor(p.writer, 64 * 1024);
    const droppedBefore = droppedLogLines();
    const count = 2_000; // ~400 KB against a 64 KiB pipe and a 64 KiB queue
    const t0 = performance.now();
    for (let i = 0; i < count; i++) dest.write(line(i));
    const writeMs = performance.now() - t0;
    // The event loop runs while the reader still does not read.
    await new Promise((r) => setImmediate(r));
    const dropped = droppedLogLines() - droppedBefore;
    expect(dropped).toBeGreaterThan(count / 2);
    expect(dest.pendingBytes).toBeLessThanOrEqual(64 * 1024);
    expect(writeMs).toBeLessThan(2_000);
    expect(await dest.drain(50)).toBe(false); // nobody reads: not drained

    let text = '';
    const drained = dest.drain(10_000);
    let done = false;
    void drained.then(() => (done = true));
    while (!done) {
      text += readAvailable(p.reader);
      await new Promise((r) => setTimeout(r, 5));
    }
    text += readAvailable(p.reader);
    expect(await drained).toBe(true);
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { seq?: number; dropped?: number; module?: string; level: string });
    const data = lines.filter((l) => l.seq !== undefined);
    const notices = lines.filter((l) => l.module === 'log');
    // Kept lines: a prefix of what was written, whole and in order; the rest counted, once.
    expect(data.map((l) => l.seq)).toEqual([...Array(data.length).keys()]);
    expect(data.length + dropped).toBe(count);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ level: 'warn', dropped });
    expect(lines[lines.length - 1]).toBe(notices[0]);

    // Reading again, nothing is lost.
    for (let i = 0; i < 10; i++) dest.write(line(count + i));
    const more: string[] = [];
    const settled = dest.drain(10_000);
    let over = false;
    void settled.then(() => (over = true));
    while (!over) {
      more.push(readAvailable(p.reader));
      await new Promise((r) => setTimeout(r, 5));
    }
    more.push(readAvailable(p.reader));
    expect(more.join('').trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([...Array(10).keys()].map((i) => count + i));
    dest.close();
    p.close();
  });

  it('stops writing, without an error, once the reader has closed the pipe', async () => {
    const p = fifo();
    const dest = NonBlockingLogDestination.toDescriptor(p.writer, 64 * 1024);
    closeSync(p.reader);
    const before = droppedLogLines();
    for (let i = 0; i < 5; i++) dest.write(line(i));
    expect(await dest.drain(5_000)).toBe(true);
    dest.write(line(5));
    expect(await dest.drain(5_000)).toBe(true);
    expect(droppedLogLines() - before).toBe(6);
    dest.close();
    closeSync(p.writer);
  });

  it('appends every line to a file, and flush calls back once they are written', async () => {
    const dir = tempDir('timecoin-log-');
    dirs.push(dir);
    const path = join(dir, 'logs', 'node.log');
    const dest = NonBlockingLogDestination.toFile(path);
    for (let i = 0; i < 1_000; i++) dest.write(line(i));
    await new Promise<void>((resolve, reject) => dest.flush((err) => (err === undefined ? resolve() : reject(err))));
    const seqs = readFileSync(path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(seqs).toEqual([...Array(1_000).keys()]);
    dest.close();
  });
});

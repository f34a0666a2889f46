/**
 * Where the node's log lines go (stdout by default, or a file): written asynchronously, never
 * waited for. pino's synchronous destination blocked the whole process — consensus, p2p and RPC —
 * as soon as the reader of stdout stopped reading (a paused `| less`, a stuck log shipper): the
 * pipe fills at 64 KiB and the next `write(2)` waits for it. Here a line is queued and handed to
 * an asynchronous write; a pipe (stdout under Docker, `| less`, a shipper) is reopened through
 * /proc/self/fd in non-blocking mode, our own open file description, so a full pipe answers EAGAIN
 * (retried every 20 ms) instead of holding a thread — and exit never waits for the reader, which
 * it did with a blocked write even after process.exit (measured). While the reader is slow,
 * lines queue up to `maxQueuedBytes`, and past that they are dropped and counted (metric
 * `timecoin_log_lines_dropped_total`) and, once output flows again, one `warn` line says how many
 * were lost. A validator keeps voting rather than waiting for its log reader (docs/node.md "Logs
 * and metrics").
 */
import { closeSync, constants, fstatSync, mkdirSync, openSync, write as fsWrite } from 'node:fs';
import { dirname } from 'node:path';

/** Bytes of log lines queued while the reader is slow before new lines are dropped. */
export const LOG_QUEUE_MAX_BYTES = 4 * 1024 * 1024;
/** Largest single write handed to the OS. */
const CHUNK_BYTES = 64 * 1024;
/** Wait before retrying a write the OS refused for now (EAGAIN on a non-blocking descriptor). */
const RETRY_MS = 20;

let droppedTotal = 0;
const destinations = new Set<NonBlockingLogDestination>();
/** One destination per descriptor: loggers created one after another share it (and its order). */
const byDescriptor = new Map<number, NonBlockingLogDestination>();

/** Log lines dropped by every destination of this process since it started. */
export function droppedLogLines(): number {
  return droppedTotal;
}

/**
 * Wait until every destination of this process has written what it holds, at most `timeoutMs`:
 * true if all drained. Shutdown calls it so the last lines (a fatal error's) are not lost.
 */
export async function drainLogs(timeoutMs: number): Promise<boolean> {
  const results = await Promise.all([...destinations].map((d) => d.drain(timeoutMs)));
  return results.every(Boolean);
}

/** A pino destination that never blocks the event loop (see the file comment). */
export class NonBlockingLogDestination {
  private queue: string[] = [];
  private queuedBytes = 0;
  private writing = false;
  /** The reader is gone (EPIPE): nothing will be written again. */
  private broken = false;
  private droppedSinceNotice = 0;
  private drainWaiters: (() => void)[] = [];

  /**
   * @param fd where to write (the destination does not close it unless `ownsFd`)
   * @param maxQueuedBytes queue bound; lines past it are dropped
   */
  constructor(
    private readonly fd: number,
    private readonly maxQueuedBytes = LOG_QUEUE_MAX_BYTES,
    private readonly ownsFd = false,
  ) {
    destinations.add(this);
  }

  /**
   * A destination writing to descriptor `fd` (stdout: 1). A pipe is written through a non-blocking
   * reopen of it (Linux); anything else (a file, a terminal, a socket), or where /proc is missing,
   * through `fd` itself, whose writes wait in libuv's thread pool. One per descriptor per process
   * (`maxQueuedBytes` applies when it is created).
   */
  static toDescriptor(fd: number, maxQueuedBytes = LOG_QUEUE_MAX_BYTES): NonBlockingLogDestination {
    let d = byDescriptor.get(fd);
    if (d === undefined) {
      const own = reopenPipeNonBlocking(fd);
      d = own === null ? new NonBlockingLogDestination(fd, maxQueuedBytes) : new NonBlockingLogDestination(own, maxQueuedBytes, true);
      byDescriptor.set(fd, d);
    }
    return d;
  }

  /** A destination appending to the file at `path` (created with its directory if missing). */
  static toFile(path: string, maxQueuedBytes = LOG_QUEUE_MAX_BYTES): NonBlockingLogDestination {
    mkdirSync(dirname(path), { recursive: true });
    return new NonBlockingLogDestination(openSync(path, 'a', 0o600), maxQueuedBytes, true);
  }

  /** Queue one line (pino calls this with a whole JSON line); never blocks, never throws. */
  write(line: string): void {
    if (this.broken || this.queuedBytes + line.length > this.maxQueuedBytes) {
      this.dropped(1);
      return;
    }
    this.queue.push(line);
    this.queuedBytes += line.length;
    if (!this.writing) this.pump();
  }

  /** Lines waiting to be written (bytes, counting one per UTF-16 unit). */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /**
   * Resolve true once every queued line has been written, or false after `timeoutMs` (the reader
   * is not reading) — shutdown waits for its last lines, but not forever.
   */
  drain(timeoutMs: number): Promise<boolean> {
    if (!this.writing) return Promise.resolve(true);
    return new Promise((resolve) => {
      // Not unref'd: a process on its way out waits for its last lines this long, no longer.
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** pino's `logger.flush(cb)`: `cb` once the queue is written (or after 10 s of a reader not reading). */
  flush(cb?: (err?: Error) => void): void {
    void this.drain(10_000).then((ok) => cb?.(ok ? undefined : new Error('log output is not being read')));
  }

  /** Stop using this destination; a file it opened is closed once its queue is written. */
  close(): void {
    destinations.delete(this);
    for (const [fd, d] of byDescriptor) if (d === this) byDescriptor.delete(fd);
    if (this.ownsFd) void this.drain(10_000).then(() => closeSync(this.fd));
  }

  private dropped(n: number): void {
    this.droppedSinceNotice += n;
    droppedTotal += n;
  }

  private pump(): void {
    if (this.droppedSinceNotice > 0 && !this.broken && this.queuedBytes <= this.maxQueuedBytes / 2) {
      // Output flows again: say what was lost (after the lines queued before the loss), in the
      // node's own JSON line shape.
      const notice = `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), pid: process.pid, module: 'log', dropped: this.droppedSinceNotice, msg: 'log lines dropped: the log output was not read fast enough' })}\n`;
      this.droppedSinceNotice = 0;
      this.queue.push(notice);
      this.queuedBytes += notice.length;
    }
    if (this.queue.length === 0 || this.broken) {
      this.writing = false;
      for (const w of this.drainWaiters.splice(0)) w();
      return;
    }
    this.writing = true;
    let text = '';
    let taken = 0;
    while (taken < this.queue.length && (text.length === 0 || text.length + this.queue[taken]!.length <= CHUNK_BYTES)) text += this.queue[taken++]!;
    this.queue.splice(0, taken);
    this.queuedBytes -= text.length;
    this.writeChunk(Buffer.from(text, 'utf8'), taken);
  }

  /** Write `buf` whole (a pipe may take part of it), then go on with the queue. */
  private writeChunk(buf: Buffer, lines: number): void {
    fsWrite(this.fd, buf, 0, buf.length, null, (err, n) => {
      if (err !== null) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          setTimeout(() => this.writeChunk(buf, lines), RETRY_MS).unref();
          return;
        }
        if (code === 'EPIPE') {
          this.broken = true;
          this.dropped(lines + this.queue.length);
          this.queue = [];
          this.queuedBytes = 0;
        } else {
          this.dropped(lines);
        }
        this.pump();
        return;
      }
      if (n < buf.length) return this.writeChunk(buf.subarray(n), lines);
      this.pump();
    });
  }
}

/**
 * A new, non-blocking open file description of the pipe behind `fd`, or null when `fd` is not a
 * pipe or cannot be reopened. Setting O_NONBLOCK on `fd` itself would change the description the
 * node shares with its parent (a shell's terminal, other writers), which must stay as it is.
 */
function reopenPipeNonBlocking(fd: number): number | null {
  try {
    if (!fstatSync(fd).isFIFO()) return null;
    return openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
}

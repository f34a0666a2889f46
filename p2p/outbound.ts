/**
 * One outbound writer per (peer, gossip protocol): a long-lived stream and a bounded queue.
 * Frames queued in the same tick leave in ONE `stream.send` (cost is per send, not per byte),
 * up to `maxBatchBytes`; backpressure waits for `drain`. A failed stream drops its queue (gossip
 * is best effort; PBFT retransmits through view change) and the next frame opens a new one.
 */
import type { Stream } from '@libp2p/interface';
import { P2pCode, P2pError } from './errors.js';
import { encodeFrames } from './framing.js';
import { sendWithBackpressure } from './stream-io.js';

export interface OutboundLimits {
  /** Frames waiting per writer before `queue-full`. */
  readonly maxQueuedFrames: number;
  /** Bytes packed into one send. */
  readonly maxBatchBytes: number;
}

export const DEFAULT_OUTBOUND_LIMITS: OutboundLimits = { maxQueuedFrames: 4096, maxBatchBytes: 256 * 1024 };

export class OutboundWriter {
  private stream: Stream | null = null;
  private queue: Uint8Array[] = [];
  private running = false;
  private closed = false;

  constructor(
    private readonly open: () => Promise<Stream>,
    private readonly limits: OutboundLimits,
    /** Called with how many frames and bytes left in one send. */
    private readonly onSent: (frames: number, bytes: number) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Queue one frame body; throws `queue-full` when the peer is not keeping up. */
  enqueue(body: Uint8Array): void {
    if (this.closed) throw new P2pError(P2pCode.NotRunning, 'writer closed');
    if (this.queue.length >= this.limits.maxQueuedFrames) throw new P2pError(P2pCode.QueueFull, 'outbound queue full');
    this.queue.push(body);
    if (!this.running) {
      this.running = true;
      // Let the rest of this tick queue more frames, so they share one send.
      setImmediate(() => void this.pump());
    }
  }

  /** Frames waiting. */
  get queued(): number {
    return this.queue.length;
  }

  /** Stop: close the stream (flushing what was sent), drop the queue. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue = [];
    const s = this.stream;
    this.stream = null;
    if (s !== null) await s.close().catch(() => s.abort(new Error('closing')));
  }

  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.closed) {
        if (this.stream === null || this.stream.writeStatus !== 'writable') this.stream = await this.open();
        const batch: Uint8Array[] = [];
        let bytes = 0;
        while (this.queue.length > 0 && (batch.length === 0 || bytes + this.queue[0]!.length <= this.limits.maxBatchBytes)) {
          const f = this.queue.shift()!;
          batch.push(f);
          bytes += f.length;
        }
        await sendWithBackpressure(this.stream, encodeFrames(batch));
        this.onSent(batch.length, bytes);
      }
    } catch (err) {
      this.queue = [];
      const s = this.stream;
      this.stream = null;
      s?.abort(err as Error);
      this.onError(err as Error);
    } finally {
      this.running = false;
      // A frame queued after the loop's last check, or while failing, still goes out.
      if (this.queue.length > 0 && !this.closed) {
        this.running = true;
        setImmediate(() => void this.pump());
      }
    }
  }
}

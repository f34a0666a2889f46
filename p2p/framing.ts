/**
 * Length-prefixed frames over a libp2p stream: `u32 big-endian length | body`. The limit is
 * checked on the 4-byte prefix, BEFORE any body byte is buffered, so a peer announcing 4 GiB
 * costs us 4 bytes. Bodies are held as the chunks that arrived and joined once complete:
 * memory grows only with bytes actually received, never with the announced length.
 *
 * Batching: the cost of a libp2p send is per `stream.send` call, not per byte (≈ 44k sends/s
 * vs ≈ 690k msg/s when 64 are packed), so `encodeFrames` packs many frames into one buffer.
 */
import { P2pCode, P2pError } from './errors.js';

/** What a libp2p stream's 'message' event carries: bytes or a Uint8ArrayList (iterable of chunks). */
export type Chunk = Uint8Array | Iterable<Uint8Array>;

export const FRAME_PREFIX_BYTES = 4;
/** The largest body any protocol may declare; the prefix is a u32. */
export const MAX_FRAME_LIMIT = 0xffff_ffff;

/** `frames` each prefixed with its length, in one buffer (one `send`). */
export function encodeFrames(frames: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const f of frames) total += FRAME_PREFIX_BYTES + f.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const f of frames) {
    if (f.length === 0 || f.length > MAX_FRAME_LIMIT) throw new P2pError(P2pCode.DecodeFailed, `frame body of ${f.length} bytes`);
    out.writeUInt32BE(f.length, at);
    out.set(f, at + FRAME_PREFIX_BYTES);
    at += FRAME_PREFIX_BYTES + f.length;
  }
  return out;
}

/** One frame (a convenience over `encodeFrames`). */
export function encodeFrame(body: Uint8Array): Uint8Array {
  return encodeFrames([body]);
}

/**
 * Incremental decoder for one stream. `push` returns the frames completed by a chunk; it
 * throws `frame-too-large` as soon as a prefix over `maxFrameBytes` is seen and
 * `decode-failed` for a zero length (no protocol has empty messages). After a throw the
 * decoder is poisoned: the stream must be dropped, since its framing is lost.
 */
export class FrameDecoder {
  private readonly header = Buffer.alloc(FRAME_PREFIX_BYTES);
  private headerFill = 0;
  /** Announced body length of the frame in progress, or -1 while reading a prefix. */
  private want = -1;
  private parts: Uint8Array[] = [];
  private have = 0;
  private failed: P2pError | null = null;

  constructor(readonly maxFrameBytes: number) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > MAX_FRAME_LIMIT) {
      throw new RangeError(`maxFrameBytes out of range: ${maxFrameBytes}`);
    }
  }

  /** Bytes held for the frame in progress (for tests: bounded by what was received). */
  get buffered(): number {
    return this.headerFill + this.have;
  }

  /** Feed one chunk; returns the frames it completed, in order. */
  push(chunk: Chunk): Uint8Array[] {
    if (this.failed !== null) throw this.failed;
    const out: Uint8Array[] = [];
    const bufs = chunk instanceof Uint8Array ? [chunk] : [...chunk];
    for (const buf of bufs) this.consume(buf, out);
    return out;
  }

  private consume(buf: Uint8Array, out: Uint8Array[]): void {
    let at = 0;
    while (at < buf.length) {
      if (this.want < 0) {
        const take = Math.min(FRAME_PREFIX_BYTES - this.headerFill, buf.length - at);
        this.header.set(buf.subarray(at, at + take), this.headerFill);
        this.headerFill += take;
        at += take;
        if (this.headerFill < FRAME_PREFIX_BYTES) return;
        const len = this.header.readUInt32BE(0);
        this.headerFill = 0;
        if (len > this.maxFrameBytes) this.fail(P2pCode.FrameTooLarge, `frame of ${len} bytes over the limit of ${this.maxFrameBytes}`, len);
        if (len === 0) this.fail(P2pCode.DecodeFailed, 'empty frame', 0);
        this.want = len;
        continue;
      }
      const take = Math.min(this.want - this.have, buf.length - at);
      this.parts.push(buf.subarray(at, at + take));
      this.have += take;
      at += take;
      if (this.have === this.want) {
        out.push(this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.have));
        this.parts = [];
        this.have = 0;
        this.want = -1;
      }
    }
  }

  private fail(code: P2pCode, message: string, announced: number): never {
    this.failed = new P2pError(code, message, { announced, limit: this.maxFrameBytes });
    this.parts = [];
    this.have = 0;
    throw this.failed;
  }

  /** True when no frame is half-read (a clean end of stream). */
  get idle(): boolean {
    return this.want < 0 && this.headerFill === 0;
  }
}

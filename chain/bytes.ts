import { DecodeCode, DecodeError } from './errors.js';

/**
 * Little-endian fixed-width writer over one pre-sized Buffer. Encoders compute the exact size
 * first so there is a single allocation and no copying.
 */
export class ByteWriter {
  readonly buf: Buffer;
  private pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  u8(v: number): this {
    this.buf[this.pos++] = v;
    return this;
  }
  u16(v: number): this {
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
    return this;
  }
  u64(v: bigint): this {
    this.buf.writeBigUInt64LE(v, this.pos);
    this.pos += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  get offset(): number {
    return this.pos;
  }
  /** The written bytes; throws if the precomputed size was wrong (a codec bug, not bad input). */
  finish(): Buffer {
    if (this.pos !== this.buf.length) throw new Error(`ByteWriter: wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

/**
 * Little-endian reader that checks every read against the remaining bytes and throws only
 * DecodeError. Slices are zero-copy views of the input.
 */
export class ByteReader {
  private readonly buf: Buffer;
  private pos = 0;
  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  private need(n: number, what: string): void {
    if (n > this.buf.length - this.pos) {
      throw new DecodeError(DecodeCode.Truncated, `truncated: ${what} needs ${n} bytes, ${this.remaining} left`);
    }
  }
  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }
  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(what = 'u64'): bigint {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  /** A u64 that must fit a JS safe integer (heights, timestamps). */
  u64Number(what = 'u64'): number {
    const v = this.u64(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new DecodeError(DecodeCode.BadValue, `${what} ${v} exceeds the supported range`);
    }
    return Number(v);
  }
  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /**
   * A count whose items each take at least `minItemSize` bytes: rejected before any allocation
   * if the remaining input cannot possibly hold them, or if it exceeds `max`.
   */
  count(minItemSize: number, max: number, what: string): number {
    const n = this.u32(what);
    if (n > max) throw new DecodeError(DecodeCode.CountOutOfRange, `${what} ${n} exceeds ${max}`);
    if (n * minItemSize > this.remaining) {
      throw new DecodeError(DecodeCode.Truncated, `truncated: ${what} ${n} needs ${n * minItemSize} bytes, ${this.remaining} left`);
    }
    return n;
  }
  /** Throws unless every byte was consumed: a canonical encoding has no trailing bytes. */
  end(what: string): void {
    if (this.remaining !== 0) {
      throw new DecodeError(DecodeCode.TrailingBytes, `${what}: ${this.remaining} trailing bytes`);
    }
  }
}

/**
 * Writes held in memory between non-durable connects and the one LevelDB batch that lands them
 * (ChainStore ConnectOptions.durable = false; docs/storage.md "Deferred connects"). While held,
 * and while that batch is being written, every store read looks here first, so the chain a
 * reader sees is the one the in-memory tip describes.
 */
import type { BatchOp } from './store-batch.js';

/** Operations of consecutive connects, in order, with the newest value of each key. */
export class PendingWrites {
  private ops: BatchOp[] = [];
  /** Latest value per key (latin1 of the key bytes); null = deleted. */
  private readonly latest = new Map<string, Buffer | null>();
  private byteCount = 0;

  /** Append one block's operations (after the block's plan succeeded in full). */
  add(ops: readonly BatchOp[]): void {
    for (const op of ops) {
      this.ops.push(op);
      if (op.type === 'put') {
        this.latest.set(op.key.toString('latin1'), op.value);
        this.byteCount += op.key.length + op.value.length;
      } else {
        this.latest.set(op.key.toString('latin1'), null);
        this.byteCount += op.key.length;
      }
    }
  }

  /** The held value of `key`: a Buffer, null if deleted here, undefined if this batch does not touch it. */
  lookup(key: Buffer): Buffer | null | undefined {
    return this.latest.get(key.toString('latin1'));
  }

  /** The operations held, in the order they were added. */
  get operations(): readonly BatchOp[] {
    return this.ops;
  }

  /** Bytes of keys and values held (a bound on memory: the store writes early past its cap). */
  get bytes(): number {
    return this.byteCount;
  }

  get empty(): boolean {
    return this.ops.length === 0;
  }
}

/**
 * The value of `key` in the held batches, newest layer first (undefined: none touches it, read
 * LevelDB). Callers capture `layers` before any await, so a batch that lands meanwhile still
 * applies on top of what their read returned.
 */
export function overlayValue(layers: readonly PendingWrites[], key: Buffer): Buffer | null | undefined {
  for (const layer of layers) {
    const v = layer.lookup(key);
    if (v !== undefined) return v;
  }
  return undefined;
}

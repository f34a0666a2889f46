/**
 * Writes held in memory between non-durable connects and the one LevelDB batch that lands them
 * (ChainStore ConnectOptions.durable = false; docs/storage.md "Deferred connects"). While held,
 * and while that batch is being written, every store read looks here first, so the chain a
 * reader sees is the one the in-memory tip describes.
 */
import type { BatchOp } from './store-batch.js';

/**
 * Operations of consecutive connects, in order, with the newest value of each key. The per-key
 * index is built per key prefix (chain/layout.ts) on the first read of that prefix, then kept up to
 * date: between a connect and its landing, reads are of UTXOs (admission) and rarely of anything
 * else, and indexing every operation's key (a latin1 string and a map entry each, ~8 per
 * transaction) was ~12 % of the bytes a loaded validator promoted to its old generation, the held
 * writes altogether ~26 % (sampling heap profile, docs/performance.md twelfth session).
 */
export class PendingWrites {
  private ops: BatchOp[] = [];
  /** Per key prefix byte: latest value per key (latin1 of the key bytes); null = deleted. */
  private readonly byPrefix = new Map<number, Map<string, Buffer | null>>();
  private byteCount = 0;

  /** Append one block's operations (after the block's plan succeeded in full). */
  add(ops: readonly BatchOp[]): void {
    for (const op of ops) {
      this.ops.push(op);
      this.byteCount += op.type === 'put' ? op.key.length + op.value.length : op.key.length;
      this.byPrefix.get(prefixOf(op.key))?.set(op.key.toString('latin1'), heldValue(op));
    }
  }

  /** The held value of `key`: a Buffer, null if deleted here, undefined if this batch does not touch it. */
  lookup(key: Buffer): Buffer | null | undefined {
    const prefix = prefixOf(key);
    let latest = this.byPrefix.get(prefix);
    if (latest === undefined) {
      latest = new Map();
      for (const op of this.ops) if (prefixOf(op.key) === prefix) latest.set(op.key.toString('latin1'), heldValue(op));
      this.byPrefix.set(prefix, latest);
    }
    return latest.get(key.toString('latin1'));
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

/** What an operation leaves at its key: the value put, or null for a delete. */
function heldValue(op: BatchOp): Buffer | null {
  return op.type === 'put' ? op.value : null;
}

/** A key's first byte (its table, chain/layout.ts Prefix); -1 for the empty key. */
function prefixOf(key: Uint8Array): number {
  return key.length === 0 ? -1 : key[0]!;
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

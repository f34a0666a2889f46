/**
 * Transactions (SPEC §3): the immutable value, its one canonical encoding, txid and the
 * per-input signing message. Decoding checks every count against the remaining bytes before
 * allocating and throws only DecodeError.
 */
import { hash } from 'node:crypto';
import { ByteReader, ByteWriter } from './bytes.js';
import { MAX_BLOCK_SIZE, TX_SIGN_DOMAIN, TX_VERSION, TxKind } from './constants.js';
import { DecodeCode, DecodeError } from './errors.js';

/** An input as a caller describes it (createTransaction's argument). */
export interface TxInputFields {
  readonly prevTxid: Uint8Array;
  readonly prevIndex: number;
  readonly signature: Uint8Array;
}

/** An input of a transaction value. */
export interface TxInput extends TxInputFields {
  /**
   * `outpointKey(prevTxid, prevIndex)`, computed once when the value is built: admission, block
   * checks and the store each key maps by it, and recomputing it at every use was ~8 % of a loaded
   * validator's main thread (docs/performance.md).
   */
  readonly outpoint: string;
}

export interface TxOutput {
  readonly amount: bigint;
  readonly publicKey: Uint8Array;
}

export interface Transaction {
  readonly version: number;
  readonly kind: TxKind;
  readonly inputs: readonly TxInput[];
  readonly outputs: readonly TxOutput[];
  readonly payload: Uint8Array;
  /** SHA-256 of the encoding with every signature zeroed (signatures cannot change it). */
  readonly txid: Uint8Array;
  /** `toHex(txid)`, computed once: the mempool, gossip and block checks key maps by it. */
  readonly txidHex: string;
  /** The canonical encoding. */
  readonly bytes: Uint8Array;
}

export interface TransactionFields {
  readonly version?: number;
  readonly kind: TxKind;
  readonly inputs: readonly TxInputFields[];
  readonly outputs: readonly TxOutput[];
  readonly payload?: Uint8Array;
}

const INPUT_SIZE = 32 + 4 + 64;
const OUTPUT_SIZE = 8 + 32;
/** version + kind + inputCount + outputCount + payloadLength. */
export const MIN_TX_SIZE = 1 + 1 + 4 + 4 + 4;
const KNOWN_KINDS: ReadonlySet<number> = new Set(Object.values(TxKind));

/** Exact encoded size of a transaction with these counts. */
export function encodedTxSize(inputs: number, outputs: number, payloadLength: number): number {
  return MIN_TX_SIZE + inputs * INPUT_SIZE + outputs * OUTPUT_SIZE + payloadLength;
}

function fieldLength(b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new TypeError(`${what} must be ${n} bytes, got ${b.length}`);
}

/**
 * Build a transaction value from its fields (programmer-facing: wrong field widths are a
 * TypeError, not a consensus rejection).
 */
export function createTransaction(fields: TransactionFields): Transaction {
  const payload = fields.payload ?? new Uint8Array(0);
  const w = new ByteWriter(encodedTxSize(fields.inputs.length, fields.outputs.length, payload.length));
  w.u8(fields.version ?? TX_VERSION).u8(fields.kind).u32(fields.inputs.length);
  for (const i of fields.inputs) {
    fieldLength(i.prevTxid, 32, 'prevTxid');
    fieldLength(i.signature, 64, 'signature');
    w.bytes(i.prevTxid).u32(i.prevIndex).bytes(i.signature);
  }
  w.u32(fields.outputs.length);
  for (const o of fields.outputs) {
    fieldLength(o.publicKey, 32, 'publicKey');
    if (o.amount < 0n || o.amount >= 1n << 64n) throw new TypeError('amount must be a u64');
    w.u64(o.amount).bytes(o.publicKey);
  }
  w.u32(payload.length).bytes(payload);
  const bytes = w.finish();
  const { txid, txidHex } = txidOf(bytes, fields.inputs.length);
  return freezeTx({
    version: fields.version ?? TX_VERSION,
    kind: fields.kind,
    inputs: fields.inputs.map((i) => ({ prevTxid: i.prevTxid, prevIndex: i.prevIndex, signature: i.signature, outpoint: outpointKey(i.prevTxid, i.prevIndex) })),
    outputs: fields.outputs.map((o) => ({ ...o })),
    payload,
    txid,
    txidHex,
    bytes,
  });
}

/** The same transaction with its input signatures replaced (txid is unchanged by design). */
export function withSignatures(tx: Transaction, signatures: readonly Uint8Array[]): Transaction {
  if (signatures.length !== tx.inputs.length) throw new TypeError('one signature per input');
  return createTransaction({ ...tx, inputs: tx.inputs.map((i, n) => ({ ...i, signature: signatures[n]! })) });
}

/** Reused for txids of transactions up to this size: one copy and one one-shot hash, no allocation. */
const TXID_SCRATCH = Buffer.alloc(4096);

/**
 * txid: SHA-256 of the encoding with each 64-byte signature replaced by zeros. The encoding is
 * copied once into a scratch buffer, the signatures zeroed there, and hashed in one call
 * (node:crypto's one-shot `hash` is ~2x a Hash object fed piece by piece for ~150-byte transactions).
 * The digest is taken as hex and the bytes made from it: a 'buffer' digest is a fresh ArrayBuffer
 * each time, and with its hex that cost ~2.3-2.8 µs of CPU (GC threads included) against ~1.0-1.3 µs
 * for hex plus a Buffer from Node's shared pool (docs/performance.md).
 */
function txidOf(bytes: Uint8Array, inputCount: number): { txid: Buffer; txidHex: string } {
  const txidHex = txidHexOf(bytes, inputCount);
  return { txid: Buffer.from(txidHex, 'hex'), txidHex };
}

function txidHexOf(bytes: Uint8Array, inputCount: number): string {
  const zeroed = bytes.length <= TXID_SCRATCH.length ? TXID_SCRATCH.subarray(0, bytes.length) : Buffer.allocUnsafe(bytes.length);
  zeroed.set(bytes);
  let pos = 6 + 36; // version, kind, inputCount; then the first input's prevTxid and prevIndex
  for (let i = 0; i < inputCount; i++, pos += INPUT_SIZE) zeroed.fill(0, pos, pos + 64);
  return hash('sha256', zeroed, 'hex');
}

/**
 * The txid (hex) of an encoded transaction without decoding it: the digest decodeTransaction
 * would compute, or null when the bytes cannot hold their input count (decode them to learn why).
 * Gossip drops its copies of known transactions with it before building any value (a relay
 * receives most transactions two or three times).
 */
export function txidHexOfEncoding(bytes: Uint8Array): string | null {
  if (bytes.length < MIN_TX_SIZE) return null;
  // version u8, kind u8, then inputCount as a little-endian u32 (the layout decodeTransaction reads).
  const inputCount = (bytes[2]! | (bytes[3]! << 8) | (bytes[4]! << 16)) + bytes[5]! * 0x1000000;
  if (6 + inputCount * INPUT_SIZE > bytes.length) return null;
  return txidHexOf(bytes, inputCount);
}

function freezeTx(tx: Transaction): Transaction {
  for (const i of tx.inputs) Object.freeze(i);
  for (const o of tx.outputs) Object.freeze(o);
  Object.freeze(tx.inputs);
  Object.freeze(tx.outputs);
  return Object.freeze(tx);
}

/**
 * Decode one transaction that must span `bytes` exactly. `maxSize` bounds what is even looked
 * at (the consensus limit MAX_TX_SIZE is a rule, checked by validation with its own code).
 */
export function decodeTransaction(bytes: Uint8Array, maxSize = MAX_BLOCK_SIZE): Transaction {
  if (bytes.length > maxSize) throw new DecodeError(DecodeCode.TooLarge, `transaction of ${bytes.length} bytes exceeds ${maxSize}`);
  const r = new ByteReader(bytes);
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = r.u8('version');
  if (version !== TX_VERSION) throw new DecodeError(DecodeCode.BadVersion, `unknown transaction version ${version}`);
  const kind = r.u8('kind');
  if (!KNOWN_KINDS.has(kind)) throw new DecodeError(DecodeCode.BadKind, `unknown transaction kind ${kind}`);
  const inputCount = r.count(INPUT_SIZE, Number.MAX_SAFE_INTEGER, 'inputCount');
  const inputs: TxInput[] = new Array(inputCount);
  for (let i = 0; i < inputCount; i++) {
    // The encoding's prevTxid || u32le(prevIndex) is the outpoint key's 36 bytes: hex them in place.
    const at = r.offset;
    inputs[i] = { prevTxid: r.bytes(32), prevIndex: r.u32(), signature: r.bytes(64), outpoint: buf.toString('hex', at, at + 36) };
  }
  const outputCount = r.count(OUTPUT_SIZE, Number.MAX_SAFE_INTEGER, 'outputCount');
  const outputs: TxOutput[] = new Array(outputCount);
  for (let i = 0; i < outputCount; i++) {
    outputs[i] = { amount: r.u64(), publicKey: r.bytes(32) };
  }
  const payloadLength = r.count(1, Number.MAX_SAFE_INTEGER, 'payloadLength');
  const payload = r.bytes(payloadLength, 'payload');
  r.end('transaction');
  const { txid, txidHex } = txidOf(bytes, inputCount);
  return freezeTx({ version, kind: kind as TxKind, inputs, outputs, payload, txid, txidHex, bytes });
}

/** SPEC §3 signing message of input `index`: "TIMECOIN-TX-V1" || chainId || txid || u32(index). */
export function txSigningMessage(chainId: Uint8Array, txid: Uint8Array, index: number): Uint8Array {
  return new ByteWriter(TX_SIGN_DOMAIN.length + 32 + 32 + 4).bytes(TX_SIGN_DOMAIN).bytes(chainId).bytes(txid).u32(index).finish();
}

/** Fee-rate denominator and size limits use the encoded size. */
export function txSize(tx: Transaction): number {
  return tx.bytes.length;
}

/** 36-byte outpoint key `txid || u32le(index)` as a hex string, for maps (the one definition is `outputKey`). */
export function outpointKey(txid: Uint8Array, index: number): string {
  if (txid.length !== 32) throw new TypeError(`txid must be 32 bytes, got ${txid.length}`);
  return outputKey(Buffer.from(txid.buffer, txid.byteOffset, 32).toString('hex'), index);
}

const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, n) => n.toString(16).padStart(2, '0'));

/** The outpoint key from the txid's hex (a transaction's `txidHex`): its outputs' keys, without a Buffer each. */
export function outputKey(txidHex: string, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new RangeError(`output index ${index} is not a u32`);
  return txidHex + BYTE_HEX[index & 0xff]! + BYTE_HEX[(index >>> 8) & 0xff]! + BYTE_HEX[(index >>> 16) & 0xff]! + BYTE_HEX[index >>> 24]!;
}

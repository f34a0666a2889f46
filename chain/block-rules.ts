/**
 * Block rules (SPEC §3–4). checkBlockSanity needs nothing but the block; checkBlockContext
 * needs the parent (height, hash, timestamp), the UTXO view at the parent, the reward and the
 * validating node's clock. Proposer and commit-certificate checks belong to consensus/.
 */
import { MAX_BLOCK_SIZE, MAX_MONEY, TxKind } from './constants.js';
import { RuleCode, RuleError } from './errors.js';
import { bytesEqual } from './hash.js';
import { computeTxRoot, type Block } from './block.js';
import { checkTxInputs, type TxInputsContext } from './tx-inputs.js';
import { checkTxSanity } from './tx-rules.js';
import { OverlayView, type UtxoView } from './utxo.js';
import { BlockMasternodeChecks, type MasternodeContext } from './masternode-rules.js';

/** A block may be stamped at most this far ahead of the validating node's clock (Bitcoin's 2 h). */
export const MAX_FUTURE_BLOCK_TIME_MS = 2 * 60 * 60 * 1000;

export interface BlockContext extends TxInputsContext {
  /** Parent height + 1. */
  readonly expectedHeight: number;
  /** Hash of the parent block. */
  readonly prevHash: Uint8Array;
  /** Timestamp of the parent block; the child's must be strictly greater. */
  readonly parentTimestampMs: number;
  /** The validating node's clock (passed in, never read here). */
  readonly nowMs: number;
  /** Block reward at this height (the coinbase may claim at most reward + fees). */
  readonly reward: bigint;
  /**
   * The masternode registry at the parent and the evidence verifier. Without it, a block holding
   * a registration or evidence is refused (fail closed); the node always passes it.
   */
  readonly masternodes?: MasternodeContext;
}

function reject(code: RuleCode, message: string, meta?: Record<string, unknown>): never {
  throw new RuleError(code, message, meta);
}

/** The block height a coinbase claims (its u64 payload); call after checkTxSanity. */
export function coinbaseHeight(payload: Uint8Array): bigint {
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).readBigUInt64LE(0);
}

/** No outpoint is spent by two transactions of the block, and no txid appears twice. */
function checkUniqueness(block: Block): void {
  const txids = new Set<string>();
  const spent = new Set<string>();
  block.txs.forEach((tx, n) => {
    const id = tx.txidHex;
    if (txids.has(id)) reject(RuleCode.DuplicateTx, `transaction ${n} repeats an earlier txid`, { index: n });
    txids.add(id);
    for (const i of tx.inputs) {
      const key = i.outpoint;
      if (spent.has(key)) reject(RuleCode.BlockDoubleSpend, `transaction ${n} spends an outpoint spent earlier in the block`, { index: n });
      spent.add(key);
    }
  });
}

/** SPEC §3–4 context-free block rules; throws RuleError naming the first rule broken. */
export function checkBlockSanity(block: Block): void {
  if (block.bytes.length > MAX_BLOCK_SIZE) reject(RuleCode.BlockTooLarge, `block of ${block.bytes.length} bytes exceeds ${MAX_BLOCK_SIZE}`);
  if (!bytesEqual(computeTxRoot(block.txs.map((t) => t.txid)), block.header.txRoot)) {
    reject(RuleCode.BadTxRoot, 'txRoot does not commit to the transactions');
  }
  const [coinbase, ...rest] = block.txs;
  if (coinbase === undefined || coinbase.kind !== TxKind.Coinbase) reject(RuleCode.MissingCoinbase, 'first transaction is not a coinbase');
  rest.forEach((tx, n) => {
    if (tx.kind === TxKind.Coinbase) reject(RuleCode.UnexpectedCoinbase, `transaction ${n + 1} is a second coinbase`, { index: n + 1 });
  });
  block.txs.forEach((tx, n) => {
    try {
      checkTxSanity(tx);
    } catch (e) {
      if (e instanceof RuleError) throw new RuleError(e.code, `transaction ${n}: ${e.message}`, { ...e.meta, tx: n });
      throw e;
    }
  });
  if (coinbaseHeight(coinbase.payload) !== BigInt(block.header.height)) {
    reject(RuleCode.BadCoinbase, 'coinbase height differs from the header height');
  }
  checkUniqueness(block);
}

/** Height, parent and timestamp of the header against the parent and the local clock. */
function checkHeader(block: Block, ctx: BlockContext): void {
  const h = block.header;
  if (h.height !== ctx.expectedHeight) reject(RuleCode.BadHeight, `height ${h.height}, expected ${ctx.expectedHeight}`);
  if (!bytesEqual(h.prevHash, ctx.prevHash)) reject(RuleCode.BadPrevHash, 'prevHash is not the parent block');
  if (h.timestampMs <= ctx.parentTimestampMs) reject(RuleCode.BadTimestamp, 'timestamp not after the parent block');
  if (h.timestampMs > ctx.nowMs + MAX_FUTURE_BLOCK_TIME_MS) reject(RuleCode.BadTimestamp, 'timestamp too far in the future');
}

/**
 * SPEC §3–4 contextual block rules for a block that passed checkBlockSanity: the header
 * extends the parent, each non-coinbase transaction in order spends outputs of `view` or of an
 * earlier transaction of the same block, and the coinbase claims at most reward + fees.
 * `view` is not modified. Returns the block's total fees.
 */
export function checkBlockContext(block: Block, view: UtxoView, ctx: BlockContext): { fees: bigint } {
  checkHeader(block, ctx);
  const [coinbase, ...rest] = block.txs;
  if (coinbase === undefined || coinbase.kind !== TxKind.Coinbase) reject(RuleCode.MissingCoinbase, 'first transaction is not a coinbase');
  // The coinbase is not applied to the overlay: its outputs become spendable from the next
  // block on, so no transaction's validity depends on the coinbase it is paying fees to.
  const overlay = new OverlayView(view);
  const mn = new BlockMasternodeChecks(ctx.masternodes, ctx.chainId, block.header.height);
  let fees = 0n;
  rest.forEach((tx, n) => {
    try {
      mn.tx(tx, overlay);
      // Evidence spends nothing and pays no fee.
      if (tx.kind !== TxKind.Evidence) fees += checkTxInputs(tx, overlay, ctx);
    } catch (e) {
      if (e instanceof RuleError) throw new RuleError(e.code, `transaction ${n + 1}: ${e.message}`, { ...e.meta, tx: n + 1 });
      throw e;
    }
    if (fees > MAX_MONEY) reject(RuleCode.ValueOutOfRange, 'sum of fees exceeds MAX_MONEY');
    overlay.apply(tx, block.header.height);
  });
  mn.finish(block);
  let claimed = 0n;
  for (const o of coinbase.outputs) claimed += o.amount;
  if (claimed > ctx.reward + fees) reject(RuleCode.BadCoinbaseValue, `coinbase claims ${claimed}, allowed ${ctx.reward + fees}`);
  return { fees };
}

/**
 * Contextual transaction rules (SPEC §3): each input spends an unspent output, its signature
 * verifies under that output's key, and the money adds up. Validation is synchronous against
 * a view loaded beforehand (ARCHITECTURE example 5). Amount checks run before signature checks
 * so a transaction that fails cheaply never costs a curve operation.
 */
import { MAX_MONEY, TxKind } from './constants.js';
import { SignatureCache, verifySignature } from './ed25519.js';
import { RuleCode, RuleError } from './errors.js';
import { txSigningMessage, type Transaction } from './transaction.js';
import type { UtxoEntry, UtxoView } from './utxo.js';

export interface TxInputsContext {
  /** Genesis block hash: signatures are valid for one chain only. */
  readonly chainId: Uint8Array;
  /**
   * Remembers signatures already found valid. A cache must serve a single chainId for its whole
   * life (one per process/node): sigCacheKey does not include the chainId.
   */
  readonly sigCache: SignatureCache | null;
}

/**
 * Cache key of one input signature verdict: txid, input index, public key and signature bytes
 * (latin1 maps each byte to one character, so the key is injective and compact). Together with
 * the cache's fixed chainId these determine the signed message and the verdict exactly; a
 * different signature or key for the same txid and index is a different key.
 */
export function sigCacheKey(txid: Uint8Array, index: number, publicKey: Uint8Array, signature: Uint8Array): string {
  const b = Buffer.allocUnsafe(32 + 4 + 32 + 64);
  b.set(txid, 0);
  b.writeUInt32LE(index, 32);
  b.set(publicKey, 36);
  b.set(signature, 68);
  return b.toString('latin1');
}

/**
 * Verify every input signature of `tx` against the public keys of the outputs it spends
 * (`publicKeys[i]` for input i); throws RuleError bad-signature naming the first bad input.
 */
export function verifyTxSignatures(tx: Transaction, publicKeys: readonly Uint8Array[], ctx: TxInputsContext): void {
  if (publicKeys.length !== tx.inputs.length) throw new TypeError('one public key per input');
  tx.inputs.forEach((input, i) => {
    const pk = publicKeys[i]!;
    const message = () => txSigningMessage(ctx.chainId, tx.txid, i);
    const ok = ctx.sigCache
      ? ctx.sigCache.verify(sigCacheKey(tx.txid, i, pk, input.signature), pk, message, input.signature)
      : verifySignature(pk, message(), input.signature);
    if (!ok) throw new RuleError(RuleCode.BadSignature, `input ${i} signature does not verify`, { index: i });
  });
}

/** Look up every spent output; missing or spent → missing-inputs. Also refuses repeated inputs. */
function loadSpent(tx: Transaction, view: UtxoView): UtxoEntry[] {
  const seen = new Set<string>();
  return tx.inputs.map((input, i) => {
    // checkTxSanity already refuses this; repeated here because counting one coin twice is the
    // inflation bug (CVE-2018-17144) and this check must not depend on the caller's order.
    const key = input.outpoint;
    if (seen.has(key)) throw new RuleError(RuleCode.DuplicateInput, `input ${i} repeats an earlier input`, { index: i });
    seen.add(key);
    const entry = view.getUtxo(input.prevTxid, input.prevIndex, key);
    if (entry === undefined) throw new RuleError(RuleCode.MissingInputs, `input ${i} is missing or spent`, { index: i });
    return entry;
  });
}

/**
 * SPEC §3 contextual rules for a transfer or registration that passed checkTxSanity; returns
 * the fee = inputs − burned penalties − outputs (the one place the penalty rule lives). A coinbase has no inputs to check and is refused (unexpected-coinbase).
 */
export function checkTxInputs(tx: Transaction, view: UtxoView, ctx: TxInputsContext): bigint {
  if (tx.kind === TxKind.Coinbase) throw new RuleError(RuleCode.UnexpectedCoinbase, 'a coinbase spends no inputs');
  const spent = loadSpent(tx, view);
  let valueIn = 0n;
  for (const entry of spent) {
    valueIn += entry.amount;
    if (entry.amount > MAX_MONEY || valueIn > MAX_MONEY) {
      throw new RuleError(RuleCode.ValueOutOfRange, 'sum of inputs exceeds MAX_MONEY');
    }
  }
  // Masternode penalties recorded against a spent collateral are burned: they are neither
  // spendable nor fee (a proposer must not profit from the evidence it includes).
  let burned = 0n;
  for (const input of tx.inputs) burned += view.penaltyOf(input.prevTxid, input.prevIndex, input.outpoint);
  let valueOut = 0n;
  for (const o of tx.outputs) valueOut += o.amount;
  if (valueOut + burned > valueIn) {
    const why = burned === 0n ? '' : ` minus the masternode penalty ${burned}`;
    throw new RuleError(RuleCode.InsufficientFunds, `outputs ${valueOut} exceed inputs ${valueIn}${why}`, { burned: burned.toString() });
  }
  verifyTxSignatures(
    tx,
    spent.map((e) => e.publicKey),
    ctx,
  );
  return valueIn - burned - valueOut;
}

/**
 * Building and signing transfers: coin selection, exact fee from the encoded size, change
 * above dust. Used by the wallet CLI, tests and benchmarks so every signed transaction in the
 * project is built one way.
 */
import { DUST_THRESHOLD, TxKind } from './constants.js';
import type { Signer } from './ed25519.js';
import { TimecoinError } from './errors.js';
import { createTransaction, encodedTxSize, txSigningMessage, withSignatures, type Transaction, type TxOutput } from './transaction.js';

export const BuildCode = {
  NoRecipients: 'build-no-recipients',
  InsufficientFunds: 'build-insufficient-funds',
  Dust: 'build-dust-output',
} as const;
export type BuildCode = (typeof BuildCode)[keyof typeof BuildCode];

/** A wallet cannot build the requested transaction (before anything is signed or sent). */
export class BuildError extends TimecoinError<BuildCode> {}

/** A spendable output the signer's key controls. */
export interface Coin {
  readonly txid: Uint8Array;
  readonly index: number;
  readonly amount: bigint;
}

export interface TransferRequest {
  readonly chainId: Uint8Array;
  readonly signer: Signer;
  /** Candidate coins, all locked to signer.publicKey. */
  readonly coins: readonly Coin[];
  readonly recipients: readonly TxOutput[];
  /** Units per encoded byte. */
  readonly feeRate: bigint;
  /** Where change goes; defaults to the signer's key. */
  readonly changePublicKey?: Uint8Array;
}

/**
 * Select coins largest-first until they cover recipients + fee, add change when it is at least
 * DUST_THRESHOLD (otherwise it is left to the fee), and sign every input.
 */
export function buildTransfer(req: TransferRequest): Transaction {
  if (req.recipients.length === 0) throw new BuildError(BuildCode.NoRecipients, 'no recipients');
  for (const r of req.recipients) {
    if (r.amount < DUST_THRESHOLD) throw new BuildError(BuildCode.Dust, `output of ${r.amount} units is below the dust threshold ${DUST_THRESHOLD}`);
  }
  const target = req.recipients.reduce((s, r) => s + r.amount, 0n);
  const coins = [...req.coins].sort((a, b) => (a.amount === b.amount ? 0 : a.amount > b.amount ? -1 : 1));
  const chosen: Coin[] = [];
  let total = 0n;
  for (const coin of coins) {
    chosen.push(coin);
    total += coin.amount;
    const feeWithChange = feeFor(chosen.length, req.recipients.length + 1, req.feeRate);
    if (total >= target + feeWithChange) return sign(req, chosen, total - target - feeWithChange);
    const feeNoChange = feeFor(chosen.length, req.recipients.length, req.feeRate);
    if (total >= target + feeNoChange) return sign(req, chosen, 0n);
  }
  const need = target + feeFor(Math.max(1, chosen.length), req.recipients.length, req.feeRate);
  throw new BuildError(BuildCode.InsufficientFunds, `need ${need} units, have ${total}`);
}

function feeFor(inputs: number, outputs: number, feeRate: bigint): bigint {
  return BigInt(encodedTxSize(inputs, outputs, 0)) * feeRate;
}

function sign(req: TransferRequest, coins: readonly Coin[], change: bigint): Transaction {
  const outputs: TxOutput[] = [...req.recipients];
  // Change below dust would make the transaction invalid; it is left to the fee instead.
  if (change >= DUST_THRESHOLD) outputs.push({ amount: change, publicKey: req.changePublicKey ?? req.signer.publicKey });
  const unsigned = createTransaction({
    kind: TxKind.Transfer,
    inputs: coins.map((c) => ({ prevTxid: c.txid, prevIndex: c.index, signature: new Uint8Array(64) })),
    outputs,
  });
  return signInputs(unsigned, req.chainId, req.signer);
}

/** Sign every input of `tx` with one key (all inputs locked to signer.publicKey). */
export function signInputs(tx: Transaction, chainId: Uint8Array, signer: Signer): Transaction {
  return withSignatures(
    tx,
    tx.inputs.map((_, i) => signer.sign(txSigningMessage(chainId, tx.txid, i))),
  );
}

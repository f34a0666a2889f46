/**
 * Builders shared by the chain rule tests: deterministic keys, funded views, signed transfers
 * and coinbases. Everything here goes through the production constructors and signer.
 */
import { createSigner, type Signer } from '../../chain/ed25519.js';
import { sha256 } from '../../chain/hash.js';
import { TxKind } from '../../chain/constants.js';
import { createTransaction, outpointKey, txSigningMessage, withSignatures, type Transaction, type TxOutput } from '../../chain/transaction.js';
import { MapView } from '../../chain/utxo.js';

const ascii = (s: string) => new TextEncoder().encode(s);

export const CHAIN_ID = sha256(ascii('timecoin unit-test chain'));
export const ZERO_SIG = new Uint8Array(64);

/** A deterministic signer for test key number `n`. */
export function signer(n: number): Signer {
  return createSigner(sha256(ascii(`test key ${n}`)));
}

/** A deterministic 32-byte id for tests (txids of funding outputs). */
export function id(label: string | number): Uint8Array {
  return sha256(ascii(`id ${label}`));
}

export interface Coin {
  readonly txid: Uint8Array;
  readonly index: number;
  readonly amount: bigint;
  readonly owner: Signer;
}

/** Put an unspent output of `amount` owned by `owner` into `view`, returning it as a coin. */
export function fund(view: MapView, owner: Signer, amount: bigint, label: string | number, index = 0): Coin {
  const txid = id(`fund ${label}`);
  view.entries.set(outpointKey(txid, index), { amount, publicKey: owner.publicKey, height: 0, coinbase: false });
  return { txid, index, amount, owner };
}

export interface SpendOptions {
  readonly kind?: TxKind;
  readonly payload?: Uint8Array;
  readonly chainId?: Uint8Array;
  /** Sign input i with this signer instead of the coin's owner. */
  readonly signers?: readonly Signer[];
}

/** A transaction spending `coins` into `outputs`, each input signed per SPEC §3. */
export function spend(coins: readonly Coin[], outputs: readonly TxOutput[], opts: SpendOptions = {}): Transaction {
  const unsigned = createTransaction({
    kind: opts.kind ?? TxKind.Transfer,
    inputs: coins.map((c) => ({ prevTxid: c.txid, prevIndex: c.index, signature: ZERO_SIG })),
    outputs,
    payload: opts.payload ?? new Uint8Array(0),
  });
  const chainId = opts.chainId ?? CHAIN_ID;
  const sigs = coins.map((c, i) => (opts.signers?.[i] ?? c.owner).sign(txSigningMessage(chainId, unsigned.txid, i)));
  return withSignatures(unsigned, sigs);
}

/** A coinbase for `height` paying `outputs`. */
export function coinbase(height: number, outputs: readonly TxOutput[]): Transaction {
  const payload = Buffer.alloc(8);
  payload.writeBigUInt64LE(BigInt(height));
  return createTransaction({ kind: TxKind.Coinbase, inputs: [], outputs, payload });
}

/** The coin created as output `index` of `tx`, owned by `owner`. */
export function coinOf(tx: Transaction, index: number, owner: Signer): Coin {
  return { txid: tx.txid, index, amount: tx.outputs[index]!.amount, owner };
}

/** Output helper. */
export function out(amount: bigint, owner: Signer): TxOutput {
  return { amount, publicKey: owner.publicKey };
}

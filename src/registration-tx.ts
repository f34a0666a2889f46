/**
 * Building a masternode registration (transaction kind 2, SPEC §3): an ordinary fee-paying
 * transfer whose payload names the collateral, the operator key and the multiaddr, signed by the
 * collateral's key. The collateral itself must stay unspent, so it is never an input here; the
 * fee comes from the wallet's other coins and the rest returns to the wallet as one output (a
 * transfer needs at least one). Pure: coins and chain id come from the caller.
 */
import { DUST_THRESHOLD, TxKind } from '../chain/constants.js';
import { isValidPublicKey, type Signer } from '../chain/ed25519.js';
import { encodeRegistrationPayload, registrationSigningMessage, MAX_MN_ADDR_LENGTH } from '../chain/registration.js';
import { parseMultiaddr } from '../chain/multiaddr.js';
import { createTransaction, encodedTxSize, outpointKey, type Transaction } from '../chain/transaction.js';
import { BuildCode, BuildError, signInputs, type Coin } from '../chain/tx-builder.js';

export interface RegistrationRequest {
  readonly chainId: Uint8Array;
  /** The collateral output's key: signs the payload, and pays the fee from its other coins. */
  readonly signer: Signer;
  readonly collateral: { readonly txid: Uint8Array; readonly index: number };
  readonly operatorPublicKey: Uint8Array;
  /** libp2p multiaddr the masternode is reached at, e.g. /ip4/203.0.113.5/tcp/24000. */
  readonly addr: string;
  /** Candidate coins locked to signer.publicKey; the collateral is skipped if present. */
  readonly coins: readonly Coin[];
  /** Further outpoints never to spend (`outpointKey` form), e.g. other masternodes' collaterals. */
  readonly keepUnspent?: ReadonlySet<string>;
  /** Units per encoded byte. */
  readonly feeRate: bigint;
}

/** Checks a multiaddr with the chain's own rule (chain/multiaddr.ts), so the node never refuses it as bad-addr. */
export function checkMultiaddr(addr: string): Uint8Array {
  const bytes = new TextEncoder().encode(addr);
  if (bytes.length > MAX_MN_ADDR_LENGTH || parseMultiaddr(addr) === null) {
    throw new Error(`invalid --addr ${JSON.stringify(addr.slice(0, 80))}: expected /ip4|ip6|dns4|dns6|dns/<host>/tcp/<port>[/p2p/<id>], e.g. /ip4/203.0.113.5/tcp/24000 (at most ${MAX_MN_ADDR_LENGTH} bytes)`);
  }
  return bytes;
}

/** Build and sign the kind-2 transaction; throws BuildError when the other coins cannot pay the fee. */
export function buildRegistration(req: RegistrationRequest): Transaction {
  const addrBytes = checkMultiaddr(req.addr);
  if (!isValidPublicKey(req.operatorPublicKey)) throw new Error('the operator public key is not a valid ed25519 key');
  const ownerSignature = req.signer.sign(
    registrationSigningMessage(req.chainId, req.collateral.txid, req.collateral.index, req.operatorPublicKey, addrBytes),
  );
  const payload = encodeRegistrationPayload({
    collateralTxid: req.collateral.txid,
    collateralIndex: req.collateral.index,
    operatorPublicKey: req.operatorPublicKey,
    addr: req.addr,
    ownerSignature,
  });
  const skip = new Set(req.keepUnspent ?? []);
  skip.add(outpointKey(req.collateral.txid, req.collateral.index));
  const coins = req.coins
    .filter((c) => !skip.has(outpointKey(c.txid, c.index)))
    .sort((a, b) => (a.amount === b.amount ? 0 : a.amount > b.amount ? -1 : 1));
  const chosen: Coin[] = [];
  let total = 0n;
  for (const coin of coins) {
    chosen.push(coin);
    total += coin.amount;
    const fee = BigInt(encodedTxSize(chosen.length, 1, payload.length)) * req.feeRate;
    if (total >= fee + DUST_THRESHOLD) {
      const unsigned = createTransaction({
        kind: TxKind.MasternodeRegistration,
        inputs: chosen.map((c) => ({ prevTxid: c.txid, prevIndex: c.index, signature: new Uint8Array(64) })),
        outputs: [{ amount: total - fee, publicKey: req.signer.publicKey }],
        payload,
      });
      return signInputs(unsigned, req.chainId, req.signer);
    }
  }
  const need = BigInt(encodedTxSize(Math.max(1, chosen.length), 1, payload.length)) * req.feeRate + DUST_THRESHOLD;
  throw new BuildError(
    BuildCode.InsufficientFunds,
    `the fee needs coins besides the collateral: need ${need} units in other final outputs of this wallet, have ${total}`,
  );
}

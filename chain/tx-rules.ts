/**
 * Context-free transaction rules (SPEC §3): everything that can be decided from the
 * transaction alone, before any UTXO is loaded. Cheap checks come first so a hostile
 * transaction costs as little as possible. Contextual rules live in tx-inputs.ts.
 */
import { DUST_THRESHOLD, MAX_MONEY, MAX_TX_SIZE, TxKind } from './constants.js';
import { isValidPublicKey } from './ed25519.js';
import { DecodeError, RuleCode, RuleError } from './errors.js';
import { decodeEvidencePayload, type EvidencePayload } from './evidence.js';
import { decodeRegistrationPayload, type RegistrationPayload } from './registration.js';
import { parseMultiaddr } from './multiaddr.js';
import { outpointKey, type Transaction, type TxOutput } from './transaction.js';

/** Length of a coinbase payload: the u64 block height. */
export const COINBASE_PAYLOAD_LENGTH = 8;

function reject(code: RuleCode, message: string, meta?: Record<string, unknown>): never {
  throw new RuleError(code, message, meta);
}

/** Each output ≥ DUST_THRESHOLD and ≤ MAX_MONEY, and the running sum ≤ MAX_MONEY. Returns the sum. */
export function checkOutputs(outputs: readonly TxOutput[]): bigint {
  let total = 0n;
  outputs.forEach((o, n) => {
    // Range first: an amount above MAX_MONEY is "value-out-of-range" even though it is not dust.
    if (o.amount > MAX_MONEY) reject(RuleCode.ValueOutOfRange, `output ${n} amount exceeds MAX_MONEY`, { index: n });
    if (o.amount < DUST_THRESHOLD) reject(RuleCode.Dust, `output ${n} below the dust threshold`, { index: n });
    total += o.amount;
    if (total > MAX_MONEY) reject(RuleCode.ValueOutOfRange, 'sum of outputs exceeds MAX_MONEY', { index: n });
  });
  return total;
}

/** No outpoint may appear twice among the inputs (the CVE-2018-17144 inflation case). */
function checkNoDuplicateInputs(tx: Transaction): void {
  const seen = new Set<string>();
  tx.inputs.forEach((i, n) => {
    const key = i.outpoint;
    if (seen.has(key)) reject(RuleCode.DuplicateInput, `input ${n} repeats an earlier input`, { index: n });
    seen.add(key);
  });
}

/** Coinbase: no inputs, payload exactly the u64 height, outputs within dust and money range. */
function checkCoinbase(tx: Transaction): void {
  if (tx.inputs.length !== 0) reject(RuleCode.BadCoinbase, 'coinbase has inputs');
  if (tx.payload.length !== COINBASE_PAYLOAD_LENGTH) {
    reject(RuleCode.BadCoinbase, `coinbase payload must be ${COINBASE_PAYLOAD_LENGTH} bytes, got ${tx.payload.length}`);
  }
  // Zero outputs is allowed: the block's proposer may decline the reward (docs/chain.md).
  checkOutputs(tx.outputs);
}

/**
 * Kind 2: the payload decodes, the operator key is a valid SPEC §2 key, and the registration
 * does not spend its own collateral (the collateral must stay unspent, SPEC §3).
 */
export function checkRegistrationPayload(tx: Transaction): RegistrationPayload {
  let reg: RegistrationPayload;
  try {
    reg = decodeRegistrationPayload(tx.payload);
  } catch (e) {
    if (e instanceof DecodeError) reject(RuleCode.BadPayload, `bad registration payload: ${e.message}`, { decode: e.code });
    throw e;
  }
  if (!isValidPublicKey(reg.operatorPublicKey)) reject(RuleCode.BadPayload, 'registration operator key is not a valid public key');
  if (parseMultiaddr(reg.addr) === null) reject(RuleCode.BadAddr, 'registration addr is not an accepted multiaddr (/ip4|ip6|dns4|dns6|dns/…/tcp/port[/p2p/id])');
  const collateral = outpointKey(reg.collateralTxid, reg.collateralIndex);
  if (tx.inputs.some((i) => i.outpoint === collateral)) {
    reject(RuleCode.BadCollateral, 'registration spends its own collateral');
  }
  return reg;
}

/**
 * Kind 3: no inputs, no outputs (evidence moves no money and pays no fee: its inclusion is a
 * duty of the proposer, docs/masternodes.md), and the payload decodes exactly.
 */
export function checkEvidenceSanity(tx: Transaction): EvidencePayload {
  if (tx.inputs.length !== 0 || tx.outputs.length !== 0) reject(RuleCode.BadEvidence, 'an evidence transaction has no inputs and no outputs');
  try {
    return decodeEvidencePayload(tx.payload);
  } catch (e) {
    if (e instanceof DecodeError) reject(RuleCode.BadPayload, `bad evidence payload: ${e.message}`, { decode: e.code });
    throw e;
  }
}

/** SPEC §3 context-free rules; throws RuleError naming the first rule broken. */
export function checkTxSanity(tx: Transaction): void {
  if (tx.bytes.length > MAX_TX_SIZE) reject(RuleCode.TxTooLarge, `transaction of ${tx.bytes.length} bytes exceeds ${MAX_TX_SIZE}`);
  switch (tx.kind) {
    case TxKind.Coinbase:
      checkCoinbase(tx);
      return;
    case TxKind.Evidence:
      checkEvidenceSanity(tx);
      return;
    case TxKind.Transfer:
    case TxKind.MasternodeRegistration:
      break;
    default:
      // Unreachable through the decoder (it refuses unknown kinds); kept so a value built in
      // code with a reserved kind cannot slip through.
      reject(RuleCode.BadPayload, `unknown transaction kind ${String(tx.kind)}`);
  }
  if (tx.inputs.length === 0) reject(RuleCode.NoInputs, 'transaction has no inputs');
  if (tx.outputs.length === 0) reject(RuleCode.NoOutputs, 'transaction has no outputs');
  checkOutputs(tx.outputs);
  checkNoDuplicateInputs(tx);
  if (tx.kind === TxKind.Transfer) {
    if (tx.payload.length !== 0) reject(RuleCode.BadPayload, 'transfer payload must be empty');
  } else {
    checkRegistrationPayload(tx);
  }
}

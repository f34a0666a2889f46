/**
 * Contextual masternode rules (docs/masternodes.md): registrations (kind 2) and evidence (kind 3)
 * against the UTXO view and the registry at the parent, and the proposer's reward key. Run by
 * checkBlockContext for every block and by the mempool for registrations, so the rules live here
 * once. Cheap checks first; the owner signature and the evidence proof come last.
 */
import { MASTERNODE_COLLATERAL, TxKind } from './constants.js';
import { verifySignature } from './ed25519.js';
import { RuleCode, RuleError } from './errors.js';
import { evidenceKey, type EvidencePayload, type EvidenceVerifier } from './evidence.js';
import { bytesEqual, toHex } from './hash.js';
import { EVIDENCE_MAX_AGE, type RegistryView } from './masternode.js';
import { registrationSigningMessage, type RegistrationPayload } from './registration.js';
import { outpointKey, type Transaction } from './transaction.js';
import { checkEvidenceSanity, checkRegistrationPayload } from './tx-rules.js';
import type { UtxoView } from './utxo.js';
import type { Block } from './block.js';

/** What block validation needs for masternode transactions. */
export interface MasternodeContext {
  readonly registry: RegistryView;
  /** consensus/evidence-proof.ts verifyEvidenceProof in the node (chain/ cannot import consensus/). */
  readonly verifyEvidence: EvidenceVerifier;
}

function reject(code: RuleCode, message: string): never {
  throw new RuleError(code, message);
}

/** Claims made by earlier transactions of the same block (or of the mempool). */
export interface Claims {
  readonly operators: Set<string>;
  readonly collaterals: Set<string>;
  readonly evidence: Set<string>;
}

/** Fresh, empty claims. */
export function newClaims(): Claims {
  return { operators: new Set(), collaterals: new Set(), evidence: new Set() };
}

/**
 * A registration against `view` and the registry: collateral unspent and ≥ MASTERNODE_COLLATERAL,
 * not claimed by any registration (ever), operator key never registered, owner signature by the
 * collateral's key over SPEC §3's message. Records the claims in `claims`.
 */
export function checkRegistrationContext(
  reg: RegistrationPayload,
  view: UtxoView,
  registry: RegistryView,
  chainId: Uint8Array,
  claims: Claims,
): void {
  const coll = view.getUtxo(reg.collateralTxid, reg.collateralIndex);
  if (coll === undefined) reject(RuleCode.BadCollateral, 'collateral output is missing or spent');
  if (coll.amount < MASTERNODE_COLLATERAL) reject(RuleCode.BadCollateral, `collateral holds ${coll.amount} units, at least ${MASTERNODE_COLLATERAL} required`);
  const collKey = outpointKey(reg.collateralTxid, reg.collateralIndex);
  if (registry.byCollateral(reg.collateralTxid, reg.collateralIndex) !== undefined || claims.collaterals.has(collKey)) {
    reject(RuleCode.CollateralClaimed, 'collateral is already claimed by a registration');
  }
  const op = toHex(reg.operatorPublicKey);
  if (registry.byOperator(reg.operatorPublicKey) !== undefined || claims.operators.has(op)) {
    reject(RuleCode.DuplicateOperator, 'operator key is already registered');
  }
  const msg = registrationSigningMessage(chainId, reg.collateralTxid, reg.collateralIndex, reg.operatorPublicKey, reg.addrBytes);
  if (!verifySignature(coll.publicKey, msg, reg.ownerSignature)) reject(RuleCode.BadOwnerSignature, 'owner signature does not verify under the collateral key');
  claims.collaterals.add(collKey);
  claims.operators.add(op);
}

/**
 * Evidence in the block at `height`: the offence is at most EVIDENCE_MAX_AGE blocks old and
 * before this block; the offender is a registered validator of the offence's height whose
 * collateral is still unspent (else the penalty could not be enforced); the offence is not yet
 * recorded; and the proof holds. Records the dedup key in `claims`.
 */
export function checkEvidenceContext(e: EvidencePayload, height: number, ctx: MasternodeContext, chainId: Uint8Array, claims: Claims): void {
  const { registry } = ctx;
  if (e.height >= height || height - e.height > EVIDENCE_MAX_AGE) {
    reject(RuleCode.EvidenceTooOld, `offence at height ${e.height} is outside ${height - EVIDENCE_MAX_AGE}..${height - 1}`);
  }
  const rec = registry.byOperator(e.offender);
  if (rec === undefined) reject(RuleCode.BadEvidence, 'offender is not a registered masternode');
  if (!registry.validatorSetAt(e.height).some((k) => bytesEqual(k, e.offender))) reject(RuleCode.BadEvidence, `offender was not a validator at height ${e.height}`);
  if (rec.spentHeight !== null) reject(RuleCode.BadEvidence, 'offender collateral is already spent');
  const key = toHex(evidenceKey(e));
  if (registry.hasEvidence(evidenceKey(e)) || claims.evidence.has(key)) reject(RuleCode.DuplicateEvidence, 'offence is already recorded');
  const why = ctx.verifyEvidence(e, {
    chainId,
    validatorsAt: (h) => registry.validatorSetAt(h),
    ownerOf: (op) => registry.byOperator(op)?.owner,
  });
  if (why !== null) reject(RuleCode.BadEvidence, `evidence does not hold: ${why}`);
  claims.evidence.add(key);
}

/**
 * Walks a block's masternode transactions alongside checkBlockContext's input pass. `tx` is
 * called with the overlay as it is *before* the transaction (earlier transactions applied);
 * `finish` checks what only the whole block shows.
 */
export class BlockMasternodeChecks {
  private readonly claims = newClaims();
  private readonly collaterals: { key: string; what: 'registration' | 'evidence' }[] = [];

  constructor(
    private readonly ctx: MasternodeContext | undefined,
    private readonly chainId: Uint8Array,
    private readonly height: number,
  ) {}

  private need(): MasternodeContext {
    // Fail closed: a caller that did not wire the registry refuses these transactions.
    if (this.ctx === undefined) return reject(RuleCode.BadRegistration, 'no masternode registry available to check this transaction');
    return this.ctx;
  }

  /** Contextual checks of one non-coinbase transaction. */
  tx(tx: Transaction, view: UtxoView): void {
    if (tx.kind === TxKind.MasternodeRegistration) {
      const ctx = this.need();
      const reg = checkRegistrationPayload(tx);
      checkRegistrationContext(reg, view, ctx.registry, this.chainId, this.claims);
      this.collaterals.push({ key: outpointKey(reg.collateralTxid, reg.collateralIndex), what: 'registration' });
    } else if (tx.kind === TxKind.Evidence) {
      const ctx = this.need();
      const e = checkEvidenceSanity(tx);
      checkEvidenceContext(e, this.height, ctx, this.chainId, this.claims);
      const rec = ctx.registry.byOperator(e.offender)!;
      this.collaterals.push({ key: outpointKey(rec.collateralTxid, rec.collateralIndex), what: 'evidence' });
    }
  }

  /**
   * Whole-block rules: no registered or penalized collateral is spent anywhere in the same block
   * (a registration's collateral must stay unspent; a penalty must land before the spend it
   * burns from), and the coinbase pays only the proposer's registered owner key.
   */
  finish(block: Block): void {
    if (this.collaterals.length > 0) {
      const spent = new Set<string>();
      for (const t of block.txs) for (const i of t.inputs) spent.add(i.outpoint);
      for (const c of this.collaterals) {
        if (spent.has(c.key)) {
          if (c.what === 'registration') reject(RuleCode.BadCollateral, 'the block spends a collateral it registers');
          reject(RuleCode.BadEvidence, 'the block spends the collateral of an offender it penalizes');
        }
      }
    }
    const rec = this.ctx?.registry.byOperator(block.header.proposer);
    if (rec !== undefined) {
      for (const o of block.txs[0]!.outputs) {
        if (!bytesEqual(o.publicKey, rec.owner)) reject(RuleCode.BadRewardKey, "coinbase pays a key other than the proposer's registered owner key");
      }
    }
  }
}

/**
 * The masternode registry as values and pure functions (docs/masternodes.md): one record per
 * registration, the validator set of a height, the penalty table and the ban rule. The store keeps
 * the records in LevelDB (chain/layout.ts `n`, `k`, `e`, `R`) and in memory (MasternodeRegistry);
 * the simulator reuses `applyOffence` and `validatorSetOf` so both run the same rules.
 */
import { UNITS_PER_TIME } from './constants.js';
import { toHex } from './hash.js';
import { outpointKey } from './transaction.js';

/** Offence kinds carried by evidence transactions (the u8 in the evidence payload). */
export const EvidenceKind = {
  /** Two conflicting PBFT statements for one (height, view, type): consensus/types EquivocationEvidence. */
  Equivocation: 1,
  /** Two different heartbeats with the same (operator, sequence). */
  ConflictingHeartbeat: 2,
  /** An attestation of a heartbeat that is provably invalid. */
  FalseAttestation: 3,
} as const;
export type EvidenceKind = (typeof EvidenceKind)[keyof typeof EvidenceKind];

/** Penalty per offence, recorded against the offender's collateral and burned when it is spent. */
export const PENALTY: Readonly<Record<EvidenceKind, bigint>> = {
  [EvidenceKind.Equivocation]: 500n * UNITS_PER_TIME,
  [EvidenceKind.ConflictingHeartbeat]: 100n * UNITS_PER_TIME,
  [EvidenceKind.FalseAttestation]: 10n * UNITS_PER_TIME,
};

/** A masternode whose recorded penalty reaches this is POSE_BANNED. */
export const BAN_PENALTY = 500n * UNITS_PER_TIME;
/** … and so is one with this many recorded offences, whatever their size. */
export const BAN_OFFENCES = 3;
/** Evidence for an offence at height h is valid in blocks h + 1 … h + EVIDENCE_MAX_AGE. */
export const EVIDENCE_MAX_AGE = 100;

/** One registration and everything that happened to it since. */
export interface MasternodeRecord {
  readonly operator: Uint8Array;
  /** The collateral output's key: signed the registration, receives the block rewards. */
  readonly owner: Uint8Array;
  readonly collateralTxid: Uint8Array;
  readonly collateralIndex: number;
  readonly collateralAmount: bigint;
  /** The multiaddr bytes exactly as registered. */
  readonly addr: string;
  /** Height of the block holding the registration; a member from the next height on. */
  readonly registeredHeight: number;
  /** Height of the block that spent the collateral (last height it was a member), or null. */
  readonly spentHeight: number | null;
  /** Height of the block whose evidence banned it (last height it was a member), or null. */
  readonly bannedHeight: number | null;
  /** Sum of recorded penalties, capped at the collateral amount. */
  readonly penalty: bigint;
  readonly offences: number;
}

/** Dash status words as masternodelist reports them. */
export type MasternodeStatus = 'ENABLED' | 'PRE_ENABLED' | 'POSE_BANNED' | 'OUTPOINT_SPENT';

/** True iff `r` belongs to the validator set of `height`. */
export function isActiveAt(r: MasternodeRecord, height: number): boolean {
  if (r.registeredHeight >= height) return false;
  if (r.spentHeight !== null && height > r.spentHeight) return false;
  if (r.bannedHeight !== null && height > r.bannedHeight) return false;
  return true;
}

/** Byte order of operator keys: the deterministic order of every validator set. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** The ordered validator set of `height`: active records, by operator key bytes ascending. */
export function validatorSetOf(records: Iterable<MasternodeRecord>, height: number): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (const r of records) if (isActiveAt(r, height)) keys.push(r.operator);
  return keys.sort(compareKeys);
}

/** Status at `height` (normally the next height): banned first, then spent, then pending. */
export function statusAt(r: MasternodeRecord, height: number): MasternodeStatus {
  if (r.bannedHeight !== null) return 'POSE_BANNED';
  if (r.spentHeight !== null) return 'OUTPOINT_SPENT';
  return r.registeredHeight >= height ? 'PRE_ENABLED' : 'ENABLED';
}

/**
 * The record after an offence of `kind` recorded in the block at `height`: the penalty is added
 * (capped at the collateral, which is all that can be burned), the count goes up, and the ban
 * applies from height + 1 once BAN_PENALTY or BAN_OFFENCES is reached. A banned record keeps
 * collecting penalties (they are still burned at spend) but stays banned at its first ban height.
 */
export function applyOffence(r: MasternodeRecord, kind: EvidenceKind, height: number): MasternodeRecord {
  const sum = r.penalty + PENALTY[kind];
  const penalty = sum > r.collateralAmount ? r.collateralAmount : sum;
  const offences = r.offences + 1;
  const ban = r.bannedHeight === null && (penalty >= BAN_PENALTY || offences >= BAN_OFFENCES);
  return { ...r, penalty, offences, bannedHeight: ban ? height : r.bannedHeight };
}

/** Synchronous read access to the registry at the tip (block validation, mempool, RPC). */
export interface RegistryView {
  byOperator(operator: Uint8Array): MasternodeRecord | undefined;
  /** `key`, when given, is the outpoint's `outpointKey` (an input's `outpoint`). */
  byCollateral(txid: Uint8Array, index: number, key?: string): MasternodeRecord | undefined;
  /** Whether an offence (evidence dedup key, chain/evidence.ts) is already recorded. */
  hasEvidence(key: Uint8Array): boolean;
  /** Ordered validator set of a height ≤ tip + 1. */
  validatorSetAt(height: number): Uint8Array[];
}

/** In-memory registry: the store's cache of the `n` and `e` records, also used by tests. */
export class MasternodeRegistry implements RegistryView {
  private readonly byOp = new Map<string, MasternodeRecord>();
  private readonly byColl = new Map<string, string>();
  private readonly evidence = new Set<string>();

  /** Insert or replace a record. */
  put(r: MasternodeRecord): void {
    const op = toHex(r.operator);
    this.byOp.set(op, r);
    this.byColl.set(outpointKey(r.collateralTxid, r.collateralIndex), op);
  }

  /** Remove a record (disconnect of its registration). */
  delete(operator: Uint8Array): void {
    const op = toHex(operator);
    const r = this.byOp.get(op);
    if (r === undefined) return;
    this.byOp.delete(op);
    this.byColl.delete(outpointKey(r.collateralTxid, r.collateralIndex));
  }

  addEvidence(key: Uint8Array): void {
    this.evidence.add(toHex(key));
  }

  deleteEvidence(key: Uint8Array): void {
    this.evidence.delete(toHex(key));
  }

  byOperator(operator: Uint8Array): MasternodeRecord | undefined {
    return this.byOp.get(toHex(operator));
  }

  byCollateral(txid: Uint8Array, index: number, key?: string): MasternodeRecord | undefined {
    // Every input's penalty is looked up here: with no registration there is no key to build.
    if (this.byColl.size === 0) return undefined;
    const op = this.byColl.get(key ?? outpointKey(txid, index));
    return op === undefined ? undefined : this.byOp.get(op);
  }

  hasEvidence(key: Uint8Array): boolean {
    return this.evidence.has(toHex(key));
  }

  validatorSetAt(height: number): Uint8Array[] {
    return validatorSetOf(this.byOp.values(), height);
  }

  /** Every record, ordered by operator key. */
  records(): MasternodeRecord[] {
    return [...this.byOp.values()].sort((a, b) => compareKeys(a.operator, b.operator));
  }

  /** Number of recorded offences (dedup keys). */
  get evidenceCount(): number {
    return this.evidence.size;
  }
}

/**
 * Pure planning of the masternode-registry part of a block's one batch (docs/masternodes.md,
 * docs/storage.md): registrations add records, a spent collateral ends its record, evidence adds
 * penalties (and bans). The before-image of every touched record and every recorded evidence key
 * go into the block's `R` undo record, so disconnecting restores the registry exactly. Like
 * store-batch.ts, nothing here writes: the store runs these checks before its single write, and
 * applies `apply` to its in-memory registry only after the batch is on disk.
 */
import type { Block } from './block.js';
import { TxKind } from './constants.js';
import { StoreCode, StoreError } from './errors.js';
import { decodeEvidencePayload, evidenceKey } from './evidence.js';
import { toHex } from './hash.js';
import {
  collateralKey,
  encodeMasternode,
  encodeRegistryUndo,
  evidenceIndexKey,
  masternodeKey,
  registryUndoKey,
  decodeUtxo,
  utxoKey,
  type RegistryUndo,
} from './layout.js';
import type { ChainDb } from './store-queries.js';
import { applyOffence, type MasternodeRecord, type MasternodeRegistry, type RegistryView } from './masternode.js';
import { decodeRegistrationPayload } from './registration.js';
import type { BatchOp } from './store-batch.js';
import { outpointKey, outputKey } from './transaction.js';
import type { UtxoEntry } from './utxo.js';

export interface RegistryPlan {
  readonly ops: BatchOp[];
  /** Update the in-memory registry to match the batch (call after the write resolved). */
  readonly apply: (registry: MasternodeRegistry) => void;
}

function refuse(message: string): never {
  throw new StoreError(StoreCode.BadRegistry, message);
}

/** Outpoints of every registration's collateral in `block` (the store reads them before planning). */
export function registrationCollaterals(block: Block): { txid: Uint8Array; index: number }[] {
  return block.txs
    .filter((t) => t.kind === TxKind.MasternodeRegistration)
    .map((t) => {
      const p = decodeRegistrationPayload(t.payload);
      return { txid: p.collateralTxid, index: p.collateralIndex };
    });
}

/**
 * Registry ops for connecting `block`. `collateralOf` resolves a registration's collateral as it
 * was when the registration was applied (an output of the chain or of an earlier transaction of
 * the block). Refuses (StoreError store-bad-registry) what validation should have refused: a
 * reused operator or collateral, evidence twice or against an unknown operator.
 */
export function planRegistryConnect(
  block: Block,
  registry: RegistryView,
  collateralOf: (txid: Uint8Array, index: number) => UtxoEntry | undefined,
): RegistryPlan {
  const h = block.header.height;
  const current = new Map<string, MasternodeRecord>();
  const before = new Map<string, { operator: Uint8Array; record: MasternodeRecord | null }>();
  const byColl = new Map<string, string>();
  const newColl: { txid: Uint8Array; index: number; operator: Uint8Array }[] = [];
  const evidence: Uint8Array[] = [];
  const seenEvidence = new Set<string>();

  const get = (operator: Uint8Array): MasternodeRecord | undefined => current.get(toHex(operator)) ?? registry.byOperator(operator);
  const set = (r: MasternodeRecord, prior: MasternodeRecord | null): void => {
    const op = toHex(r.operator);
    if (!before.has(op)) before.set(op, { operator: r.operator, record: prior });
    current.set(op, r);
  };
  const byCollateral = (txid: Uint8Array, index: number, key?: string): MasternodeRecord | undefined => {
    const op = byColl.size === 0 ? undefined : byColl.get(key ?? outpointKey(txid, index));
    return op !== undefined ? current.get(op) : registry.byCollateral(txid, index, key);
  };

  for (const tx of block.txs) {
    for (const i of tx.inputs) {
      const r = byCollateral(i.prevTxid, i.prevIndex, i.outpoint);
      if (r !== undefined && r.spentHeight === null) set({ ...get(r.operator)!, spentHeight: h }, get(r.operator)!);
    }
    if (tx.kind === TxKind.MasternodeRegistration) {
      const p = decodeRegistrationPayload(tx.payload);
      if (get(p.operatorPublicKey) !== undefined) refuse(`operator ${toHex(p.operatorPublicKey)} is already registered`);
      if (byCollateral(p.collateralTxid, p.collateralIndex) !== undefined) refuse('collateral already claimed');
      const coll = collateralOf(p.collateralTxid, p.collateralIndex);
      if (coll === undefined) refuse(`collateral ${toHex(p.collateralTxid)}:${p.collateralIndex} is not unspent`);
      const rec: MasternodeRecord = {
        operator: Uint8Array.from(p.operatorPublicKey),
        owner: Uint8Array.from(coll.publicKey),
        collateralTxid: Uint8Array.from(p.collateralTxid),
        collateralIndex: p.collateralIndex,
        collateralAmount: coll.amount,
        addr: p.addr,
        registeredHeight: h,
        spentHeight: null,
        bannedHeight: null,
        penalty: 0n,
        offences: 0,
      };
      set(rec, null);
      byColl.set(outpointKey(rec.collateralTxid, rec.collateralIndex), toHex(rec.operator));
      newColl.push({ txid: rec.collateralTxid, index: rec.collateralIndex, operator: rec.operator });
    } else if (tx.kind === TxKind.Evidence) {
      const e = decodeEvidencePayload(tx.payload);
      const key = evidenceKey(e);
      const hex = toHex(key);
      if (seenEvidence.has(hex) || registry.hasEvidence(key)) refuse('offence already recorded');
      seenEvidence.add(hex);
      const r = get(e.offender);
      if (r === undefined) refuse(`evidence against unregistered operator ${toHex(e.offender)}`);
      set(applyOffence(r, e.kind, h), r);
      evidence.push(Uint8Array.from(key));
    }
  }

  const ops: BatchOp[] = [];
  for (const r of current.values()) ops.push({ type: 'put', key: masternodeKey(r.operator), value: encodeMasternode(r) });
  for (const c of newColl) ops.push({ type: 'put', key: collateralKey(c.txid, c.index), value: Buffer.from(c.operator) });
  const height = Buffer.alloc(8);
  height.writeBigUInt64LE(BigInt(h));
  for (const k of evidence) ops.push({ type: 'put', key: evidenceIndexKey(k), value: height });
  const undo: RegistryUndo = { before: [...before.values()], evidence };
  // Every block gets an `R` record (often empty), so disconnect can rely on it being there.
  ops.push({ type: 'put', key: registryUndoKey(block.hash), value: encodeRegistryUndo(undo) });
  const finals = [...current.values()];
  return {
    ops,
    apply: (reg) => {
      for (const r of finals) reg.put(r);
      for (const k of evidence) reg.addEvidence(k);
    },
  };
}

/** Registry ops for disconnecting `block`, from its `R` undo record and the registry at the tip. */
export function planRegistryDisconnect(block: Block, undo: RegistryUndo, registry: RegistryView): RegistryPlan {
  const ops: BatchOp[] = [];
  const removed: Uint8Array[] = [];
  const restored: MasternodeRecord[] = [];
  for (const b of undo.before) {
    const now = registry.byOperator(b.operator);
    if (now === undefined) throw new StoreError(StoreCode.Corrupt, `registry undo of block ${block.header.height} names unknown operator ${toHex(b.operator)}`);
    if (b.record === null) {
      ops.push({ type: 'del', key: masternodeKey(b.operator) }, { type: 'del', key: collateralKey(now.collateralTxid, now.collateralIndex) });
      removed.push(b.operator);
    } else {
      ops.push({ type: 'put', key: masternodeKey(b.operator), value: encodeMasternode(b.record) });
      restored.push(b.record);
    }
  }
  for (const k of undo.evidence) ops.push({ type: 'del', key: evidenceIndexKey(k) });
  ops.push({ type: 'del', key: registryUndoKey(block.hash) });
  return {
    ops,
    apply: (reg) => {
      for (const op of removed) reg.delete(op);
      for (const r of restored) reg.put(r);
      for (const k of undo.evidence) reg.deleteEvidence(k);
    },
  };
}

/**
 * planRegistryConnect with the collaterals resolved: from the block's own outputs, else with one
 * getMany from the UTXO set before the block (the store's only read for the registry).
 */
export async function readAndPlanRegistry(db: { getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]> }, block: Block, registry: RegistryView): Promise<RegistryPlan> {
  // Collaterals are resolved for registrations only: a block without one needs no output map.
  const collaterals = registrationCollaterals(block);
  if (collaterals.length === 0) return planRegistryConnect(block, registry, () => undefined);
  const inBlock = new Map<string, UtxoEntry>();
  for (const tx of block.txs) {
    tx.outputs.forEach((o, n) => inBlock.set(outputKey(tx.txidHex, n), { amount: o.amount, publicKey: o.publicKey, height: block.header.height, coinbase: false }));
  }
  const outside = collaterals.filter((o) => !inBlock.has(outpointKey(o.txid, o.index)));
  const raws = outside.length === 0 ? [] : await db.getMany(outside.map((o) => utxoKey(o.txid, o.index)));
  const read = new Map<string, UtxoEntry>();
  outside.forEach((o, i) => {
    const raw = raws[i];
    if (raw !== undefined) read.set(outpointKey(o.txid, o.index), decodeUtxo(raw));
  });
  return planRegistryConnect(block, registry, (txid, index) => inBlock.get(outpointKey(txid, index)) ?? read.get(outpointKey(txid, index)));
}

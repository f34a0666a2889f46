/**
 * Evidence transactions (kind 3, docs/masternodes.md): no inputs, no outputs, no fee, and a
 * payload naming one offence with its proof:
 *
 *   u8 evidenceKind | 32 offender | u64 height | 32 offenceId | u32 proofLength | proof
 *
 * chain/ reads the header (who, which offence, when) to deduplicate, age-check and apply the
 * penalty; the proof's meaning (signed PBFT statements, heartbeats, attestations) belongs to
 * consensus/ and reaches the block rules as an injected EvidenceVerifier, so chain/ never imports
 * consensus/. The verifier checks that the header is exactly what the proof implies, so one
 * offence has one dedup key however it is proven.
 */
import { ByteReader, ByteWriter } from './bytes.js';
import { MAX_TX_SIZE, TxKind } from './constants.js';
import { DecodeCode, DecodeError } from './errors.js';
import { EvidenceKind } from './masternode.js';
import { createTransaction, type Transaction } from './transaction.js';

export interface EvidencePayload {
  readonly kind: EvidenceKind;
  readonly offender: Uint8Array;
  /** Block height the offence refers to (PBFT height, or the heartbeat's height). */
  readonly height: number;
  /** Identifies the offence among the offender's offences of this kind (see consensus/evidence-proof.ts). */
  readonly offenceId: Uint8Array;
  readonly proof: Uint8Array;
}

const KINDS: ReadonlySet<number> = new Set(Object.values(EvidenceKind));
const HEADER = 1 + 32 + 8 + 32 + 4;

/** Encode an evidence payload. */
export function encodeEvidencePayload(e: EvidencePayload): Uint8Array {
  if (e.offender.length !== 32 || e.offenceId.length !== 32) throw new TypeError('offender and offenceId are 32 bytes');
  return new ByteWriter(HEADER + e.proof.length).u8(e.kind).bytes(e.offender).u64(BigInt(e.height)).bytes(e.offenceId).u32(e.proof.length).bytes(e.proof).finish();
}

/** Decode a payload that must span `bytes` exactly; throws only DecodeError. */
export function decodeEvidencePayload(bytes: Uint8Array): EvidencePayload {
  const r = new ByteReader(bytes);
  const kind = r.u8('evidence kind');
  if (!KINDS.has(kind)) throw new DecodeError(DecodeCode.BadValue, `unknown evidence kind ${kind}`);
  const offender = r.bytes(32, 'offender');
  const height = r.u64Number('evidence height');
  const offenceId = r.bytes(32, 'offenceId');
  const len = r.count(1, MAX_TX_SIZE, 'proof length');
  const proof = r.bytes(len, 'proof');
  r.end('evidence payload');
  return { kind: kind as EvidenceKind, offender, height, offenceId, proof };
}

/** The dedup key of an offence: kind · offender · offenceId (65 bytes). */
export function evidenceKey(e: Pick<EvidencePayload, 'kind' | 'offender' | 'offenceId'>): Uint8Array {
  const k = new Uint8Array(65);
  k[0] = e.kind;
  k.set(e.offender, 1);
  k.set(e.offenceId, 33);
  return k;
}

/** The kind-3 transaction carrying `e`. */
export function createEvidenceTx(e: EvidencePayload): Transaction {
  return createTransaction({ kind: TxKind.Evidence, inputs: [], outputs: [], payload: encodeEvidencePayload(e) });
}

/** What the verifier may ask of the chain. */
export interface EvidenceChainContext {
  readonly chainId: Uint8Array;
  /** Ordered validator set of a past height. */
  readonly validatorsAt: (height: number) => readonly Uint8Array[];
  /** Owner key of a registered operator (distinct-owner rule of attestations). */
  readonly ownerOf: (operator: Uint8Array) => Uint8Array | undefined;
}

/**
 * Checks the proof of an evidence payload: null iff the proof shows exactly the offence its header
 * names (kind, offender, height, offenceId), signed by the offender; else a reason. The node
 * passes consensus/evidence-proof.ts `verifyEvidenceProof`.
 */
export type EvidenceVerifier = (e: EvidencePayload, ctx: EvidenceChainContext) => string | null;

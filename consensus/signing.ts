/**
 * The only path by which the engine signs: check the equivocation guard, then emit `persist` with
 * the new record *before* the message's `broadcast`, so the record is durable before anything it
 * covers leaves the node (ARCHITECTURE example 3).
 *
 * Guard, per height, over (view, phase rank) with rank view-change 0 < pre-prepare 1 < prepare 2 <
 * commit 3: a new signature is allowed iff it is at a later view, or the same view and a rank not
 * lower than the last one, and — when both carry a hash — the same hash. Re-signing the identical
 * statement is allowed (ed25519 is deterministic, so the bytes are the same). Nothing is signed at a
 * height below the recorded one. This gives, across restarts: no two different votes for one
 * (height, view, phase), and no vote in a view below one already signed in.
 */
import { bytesEqual } from '../chain/hash.js';
import { ConsensusCode } from './errors.js';
import { isValidator, rejected, type EngineState } from './state.js';
import type { Bytes, ConsensusMessage, Effect, PersistRecord } from './types.js';

type Phase = PersistRecord['phase'];
const RANK: Readonly<Record<Phase, number>> = { 'view-change': 0, 'pre-prepare': 1, prepare: 2, commit: 3 };

/** True if signing (height, view, phase, hash) cannot contradict `last`. */
export function maySign(last: PersistRecord | null, height: number, view: number, phase: Phase, hash: Bytes | null): boolean {
  if (last === null || height > last.height) return true;
  if (height < last.height) return false;
  if (view !== last.view) return view > last.view;
  if (RANK[phase] < RANK[last.phase]) return false;
  return hash === null || last.blockHash === null || bytesEqual(hash, last.blockHash);
}

/**
 * Sign through the guard: on success push `persist` then a `broadcast` of each message `make`
 * returns, and return them; on refusal push `rejected(signing-refused)` and return null.
 */
export function signAndSend<M extends ConsensusMessage>(
  s: EngineState,
  out: Effect[],
  view: number,
  phase: Phase,
  hash: Bytes | null,
  make: () => readonly M[],
): readonly M[] | null {
  if (!isValidator(s)) return null;
  if (!maySign(s.lastSigned, s.height, view, phase, hash)) {
    rejected(out, ConsensusCode.SigningRefused, `would contradict the last signed ${s.lastSigned?.phase} at view ${s.lastSigned?.view}`);
    return null;
  }
  const record: PersistRecord = { height: s.height, view, phase, blockHash: hash, prepared: s.prepared };
  const msgs = make();
  s.lastSigned = record;
  out.push({ kind: 'persist', record });
  for (const msg of msgs) out.push({ kind: 'broadcast', msg });
  return msgs;
}

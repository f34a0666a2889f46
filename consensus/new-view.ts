/**
 * The NEW-VIEW rule, shared by the leader that builds one and the replicas that check it.
 *
 * A NEW-VIEW for (height, view) holds iff: it carries between quorum and n VIEW-CHANGEs, each for
 * exactly that height and view, from distinct validators, each validly signed; every carried prepared
 * certificate is for this height, from a lower view, and valid; its PRE-PREPARE is for the same
 * (height, view), signed by the NEW-VIEW's signer, over a block that hashes to its blockHash; and if
 * any certificate is carried, the PRE-PREPARE re-proposes the block of a certificate of the highest
 * carried view. (Two valid certificates of one view always agree while at most f are faulty; if they
 * somehow do not, either satisfies the rule, since both were prepared by a quorum.)
 */
import { bytesEqual, toHex } from '../chain/hash.js';
import { checkPreparedCertificate, safeHash, type CertContext } from './certificates.js';
import { ConsensusCode, reject, type Rejection } from './errors.js';
import type { ValidatorSet } from './leader.js';
import { verifyMessageSignature } from './messages.js';
import type { NewView, PreparedCertificate, ViewChange } from './types.js';

/** The prepared certificate of the highest view among `vcs` (first such in order), or null. */
export function highestPrepared(vcs: readonly ViewChange[]): PreparedCertificate | null {
  let best: PreparedCertificate | null = null;
  for (const vc of vcs) if (vc.prepared !== null && (best === null || vc.prepared.view > best.view)) best = vc.prepared;
  return best;
}

function bad(detail: string): Rejection {
  return reject(ConsensusCode.BadNewView, detail);
}

function checkViewChangeHeaders(set: ValidatorSet, nv: NewView, height: number): Rejection | null {
  const vcs = nv.viewChanges;
  if (vcs.length < set.quorum) return bad(`${vcs.length} view changes, quorum is ${set.quorum}`);
  if (vcs.length > set.keys.length) return bad('more view changes than validators');
  const seen = new Set<string>();
  for (const vc of vcs) {
    if (vc.height !== height || vc.view !== nv.view) return bad(`a view change for height ${vc.height} view ${vc.view}`);
    const key = toHex(vc.signer);
    if (!set.index.has(key)) return bad('a view change by a non-validator');
    if (seen.has(key)) return bad('two view changes by one signer');
    seen.add(key);
    if (vc.prepared !== null && vc.prepared.view >= nv.view) return bad('a prepared certificate not below the new view');
  }
  return null;
}

/** Null iff `nv` is a valid NEW-VIEW at `height` for `set` (see the module comment). */
export function checkNewView(ctx: CertContext, set: ValidatorSet, height: number, nv: NewView): Rejection | null {
  const pp = nv.prePrepare;
  if (pp.height !== height || pp.view !== nv.view || !bytesEqual(pp.signer, nv.signer)) return bad('re-proposal is not for this view or not by its leader');
  const headers = checkViewChangeHeaders(set, nv, height);
  if (headers !== null) return headers;
  const hash = safeHash(ctx.hashBlock, pp.block);
  if (hash === null || !bytesEqual(hash, pp.blockHash)) return bad('re-proposed block does not hash to its blockHash');
  if (!verifyMessageSignature(ctx, pp)) return bad('re-proposal signature does not verify');
  for (const vc of nv.viewChanges) if (!verifyMessageSignature(ctx, vc)) return bad('a view change signature does not verify');
  for (const vc of nv.viewChanges) {
    if (vc.prepared !== null && checkPreparedCertificate(ctx, set, vc.prepared, height) !== null) return bad('a view change carries an invalid prepared certificate');
  }
  const best = highestPrepared(nv.viewChanges);
  if (best === null) return null;
  const agrees = nv.viewChanges.some((vc) => vc.prepared !== null && vc.prepared.view === best.view && bytesEqual(vc.prepared.blockHash, pp.blockHash));
  return agrees ? null : bad(`re-proposal ignores the block prepared in view ${best.view}`);
}

/**
 * Checks of prepared and commit certificates and of equivocation evidence against a validator set.
 * A certificate holds iff it has at least a quorum of votes of the right type, each for exactly the
 * certificate's (height, view, blockHash), from distinct members of the set, each validly signed
 * under our chainId; a prepared certificate's block must also hash to its blockHash. Cheap checks
 * run before any signature is verified, and no more than n votes are ever looked at.
 */
import { bytesEqual, toHex } from '../chain/hash.js';
import { ConsensusCode, ConsensusError, reject, type Rejection } from './errors.js';
import type { ValidatorSet } from './leader.js';
import { preparedShape, verifyMessageSignature, type VerifyContext } from './messages.js';
import { MsgType, type Bytes, type CommitCertificate, type Evidence, type PreparedCertificate, type Vote } from './types.js';

/** Signature context plus the block hash function (for prepared certificates). */
export interface CertContext extends VerifyContext {
  readonly hashBlock: (block: Bytes) => Bytes;
}

/** hashBlock that turns a throwing hash function (undecodable block) into "no hash". */
export function safeHash(hashBlock: (block: Bytes) => Bytes, block: Bytes): Bytes | null {
  try {
    return hashBlock(block);
  } catch {
    return null;
  }
}

function checkVotes(
  ctx: VerifyContext,
  set: ValidatorSet,
  votes: readonly Vote[],
  want: { type: Vote['type']; height: number; view: number; blockHash: Bytes },
): Rejection | null {
  const what = want.type === MsgType.Prepare ? 'prepared' : 'commit';
  if (!Array.isArray(votes) || votes.length < set.quorum) {
    return reject(ConsensusCode.BadCertificate, `${what} certificate has ${votes?.length} votes, quorum is ${set.quorum}`);
  }
  if (votes.length > set.keys.length) return reject(ConsensusCode.BadCertificate, `${what} certificate has more votes than validators`);
  const seen = new Set<string>();
  for (const v of votes) {
    if (v.type !== want.type || v.height !== want.height || v.view !== want.view || !bytesEqual(v.blockHash, want.blockHash)) {
      return reject(ConsensusCode.BadCertificate, `${what} certificate holds a vote for another slot`);
    }
    const key = toHex(v.signer);
    if (!set.index.has(key)) return reject(ConsensusCode.BadCertificate, `${what} certificate vote by a non-validator`);
    if (seen.has(key)) return reject(ConsensusCode.BadCertificate, `${what} certificate counts a signer twice`);
    seen.add(key);
  }
  for (const v of votes) {
    if (!verifyMessageSignature(ctx, v)) return reject(ConsensusCode.BadCertificate, `${what} certificate holds a bad signature`);
  }
  return null;
}

/** Null iff `cert` proves that a quorum of `set` prepared its block; `height` is the expected height. */
export function checkPreparedCertificate(ctx: CertContext, set: ValidatorSet, cert: PreparedCertificate, height: number): Rejection | null {
  if (!preparedShape(cert)) return reject(ConsensusCode.BadCertificate, 'malformed prepared certificate');
  if (cert.height !== height) return reject(ConsensusCode.BadCertificate, `prepared certificate for height ${cert.height}, expected ${height}`);
  const h = safeHash(ctx.hashBlock, cert.block);
  if (h === null || !bytesEqual(h, cert.blockHash)) return reject(ConsensusCode.BadCertificate, 'prepared certificate block does not match its hash');
  return checkVotes(ctx, set, cert.prepares, { type: MsgType.Prepare, height, view: cert.view, blockHash: cert.blockHash });
}

/** Null iff `cert` proves that a quorum of `set` committed cert.blockHash at `height`. */
export function checkCommitCertificate(ctx: VerifyContext, set: ValidatorSet, cert: CommitCertificate, height: number): Rejection | null {
  if (typeof cert !== 'object' || cert === null || !(cert.blockHash instanceof Uint8Array) || cert.blockHash.length !== 32) {
    return reject(ConsensusCode.BadCertificate, 'malformed commit certificate');
  }
  if (cert.height !== height) return reject(ConsensusCode.BadCertificate, `commit certificate for height ${cert.height}, expected ${height}`);
  if (!Number.isInteger(cert.view) || cert.view < 0) return reject(ConsensusCode.BadCertificate, 'commit certificate view out of range');
  return checkVotes(ctx, set, cert.commits, { type: MsgType.Commit, height, view: cert.view, blockHash: cert.blockHash });
}

/** Throwing form of checkCommitCertificate for chain/ sync: ConsensusError(bad-certificate). */
export function verifyCommitCertificate(ctx: VerifyContext, set: ValidatorSet, cert: CommitCertificate, height: number): void {
  const r = checkCommitCertificate(ctx, set, cert, height);
  if (r !== null) throw new ConsensusError(r.code, r.detail);
}

/**
 * Null iff `e` proves equivocation: two statements of the same type, height and view with different
 * hashes, both validly signed by the offender, who is a member of `set`.
 */
export function checkEvidence(ctx: VerifyContext, set: ValidatorSet, e: Evidence): Rejection | null {
  const { first, second } = e;
  for (const s of [first, second]) {
    if (s.type !== e.msgType || s.height !== e.height || s.view !== e.view || !bytesEqual(s.signer, e.offender)) {
      return reject(ConsensusCode.BadMessage, 'evidence statements do not match its header');
    }
  }
  if (bytesEqual(first.blockHash, second.blockHash)) return reject(ConsensusCode.BadMessage, 'evidence statements agree');
  if (!set.index.has(toHex(e.offender))) return reject(ConsensusCode.UnknownSigner, 'evidence offender is not a validator');
  if (!verifyMessageSignature(ctx, first) || !verifyMessageSignature(ctx, second)) {
    return reject(ConsensusCode.BadSignature, 'evidence statement signature does not verify');
  }
  return null;
}

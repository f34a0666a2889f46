/**
 * Binary wire and storage codec of consensus messages, certificates and evidence (little-endian):
 *
 *   message      := u8 type || body
 *   PRE-PREPARE  := u64 height | u32 view | hash(32) | signer(32) | sig(64) | u32 blockLen | block
 *   PREPARE/COMMIT := u64 height | u32 view | hash(32) | signer(32) | sig(64)
 *   VIEW-CHANGE  := u64 height | u32 view | signer(32) | sig(64) | u8 hasPrepared | [prepared]
 *   NEW-VIEW     := u64 height | u32 view | signer(32) | sig(64) | u32 n | n × VIEW-CHANGE body | PRE-PREPARE body
 *   DECISION     := u64 height | u32 blockLen | block | commitCert
 *   prepared     := u64 height | u32 view | hash(32) | u32 blockLen | block | u32 n | n × (u8 type | vote body)
 *   commitCert   := u64 height | u32 view | hash(32) | u32 n | n × (u8 type | vote body)
 *   evidence     := u8 kind(1) | offender(32) | u64 height | u32 view | u8 msgType | message | message
 *
 * Votes inside certificates keep their own type/height/view/hash so that any certificate object
 * round-trips exactly; the certificate checks (certificates.ts) reject mismatches. Decoders check
 * every count and length against its limit and the remaining input before allocating, reject
 * trailing bytes, return zero-copy views of the input, and throw only DecodeError.
 */
import { ByteReader, ByteWriter } from '../chain/bytes.js';
import { MAX_BLOCK_SIZE } from '../chain/constants.js';
import { DecodeCode, DecodeError } from '../chain/errors.js';
import { MAX_VALIDATORS } from './leader.js';
import {
  MsgType,
  type Bytes,
  type CommitCertificate,
  type ConsensusMessage,
  type Decision,
  type Evidence,
  type NewView,
  type PreparedCertificate,
  type PrePrepare,
  type ViewChange,
  type Vote,
} from './types.js';

const HV = 8 + 4; // u64 height + u32 view
const VOTE_BODY = HV + 32 + 32 + 64;
const TAGGED_VOTE = 1 + VOTE_BODY;
const VC_MIN = HV + 32 + 64 + 1;
const EVIDENCE_KIND_EQUIVOCATION = 1;

// ---- sizes ----

function prePrepareBodySize(p: PrePrepare): number {
  return VOTE_BODY + 4 + p.block.length;
}
function preparedSize(c: PreparedCertificate): number {
  return HV + 32 + 4 + c.block.length + 4 + c.prepares.length * TAGGED_VOTE;
}
function commitCertSize(c: CommitCertificate): number {
  return HV + 32 + 4 + c.commits.length * TAGGED_VOTE;
}
function viewChangeBodySize(vc: ViewChange): number {
  return HV + 32 + 64 + 1 + (vc.prepared === null ? 0 : preparedSize(vc.prepared));
}
function bodySize(m: ConsensusMessage): number {
  switch (m.type) {
    case MsgType.PrePrepare:
      return prePrepareBodySize(m);
    case MsgType.Prepare:
    case MsgType.Commit:
      return VOTE_BODY;
    case MsgType.ViewChange:
      return viewChangeBodySize(m);
    case MsgType.NewView:
      return HV + 32 + 64 + 4 + m.viewChanges.reduce((s, vc) => s + viewChangeBodySize(vc), 0) + prePrepareBodySize(m.prePrepare);
    case MsgType.Decision:
      return 8 + 4 + m.block.length + commitCertSize(m.certificate);
  }
}

// ---- writers ----

function writeHV(w: ByteWriter, height: number, view: number): void {
  w.u64(BigInt(height)).u32(view);
}
function writeVoteBody(w: ByteWriter, v: Vote | PrePrepare): void {
  writeHV(w, v.height, v.view);
  w.bytes(v.blockHash).bytes(v.signer).bytes(v.signature);
}
function writePrePrepareBody(w: ByteWriter, p: PrePrepare): void {
  writeVoteBody(w, p);
  w.u32(p.block.length).bytes(p.block);
}
function writeVotes(w: ByteWriter, votes: readonly Vote[]): void {
  w.u32(votes.length);
  for (const v of votes) {
    w.u8(v.type);
    writeVoteBody(w, v);
  }
}
function writePrepared(w: ByteWriter, c: PreparedCertificate): void {
  writeHV(w, c.height, c.view);
  w.bytes(c.blockHash).u32(c.block.length).bytes(c.block);
  writeVotes(w, c.prepares);
}
function writeCommitCert(w: ByteWriter, c: CommitCertificate): void {
  writeHV(w, c.height, c.view);
  w.bytes(c.blockHash);
  writeVotes(w, c.commits);
}
function writeViewChangeBody(w: ByteWriter, vc: ViewChange): void {
  writeHV(w, vc.height, vc.view);
  w.bytes(vc.signer).bytes(vc.signature);
  if (vc.prepared === null) w.u8(0);
  else {
    w.u8(1);
    writePrepared(w, vc.prepared);
  }
}
function writeBody(w: ByteWriter, m: ConsensusMessage): void {
  switch (m.type) {
    case MsgType.PrePrepare:
      return writePrePrepareBody(w, m);
    case MsgType.Prepare:
    case MsgType.Commit:
      return writeVoteBody(w, m);
    case MsgType.ViewChange:
      return writeViewChangeBody(w, m);
    case MsgType.NewView:
      writeHV(w, m.height, m.view);
      w.bytes(m.signer).bytes(m.signature).u32(m.viewChanges.length);
      for (const vc of m.viewChanges) writeViewChangeBody(w, vc);
      return writePrePrepareBody(w, m.prePrepare);
    case MsgType.Decision:
      w.u64(BigInt(m.height)).u32(m.block.length).bytes(m.block);
      return writeCommitCert(w, m.certificate);
  }
}

/** Canonical bytes of a consensus message. */
export function encodeMessage(m: ConsensusMessage): Buffer {
  const w = new ByteWriter(1 + bodySize(m));
  w.u8(m.type);
  writeBody(w, m);
  return w.finish();
}

/** Canonical bytes of a prepared certificate. */
export function encodePreparedCertificate(c: PreparedCertificate): Buffer {
  const w = new ByteWriter(preparedSize(c));
  writePrepared(w, c);
  return w.finish();
}

/** Canonical bytes of a commit certificate (stored and served with its block). */
export function encodeCommitCertificate(c: CommitCertificate): Buffer {
  const w = new ByteWriter(commitCertSize(c));
  writeCommitCert(w, c);
  return w.finish();
}

/** Canonical bytes of evidence (p2p gossip and the evidence transaction payload). */
export function encodeEvidence(e: Evidence): Buffer {
  const first = encodeMessage(e.first);
  const second = encodeMessage(e.second);
  const w = new ByteWriter(1 + 32 + HV + 1 + first.length + second.length);
  w.u8(EVIDENCE_KIND_EQUIVOCATION).bytes(e.offender);
  writeHV(w, e.height, e.view);
  return w.u8(e.msgType).bytes(first).bytes(second).finish();
}

// ---- readers ----

function readHV(r: ByteReader): { height: number; view: number } {
  const height = r.u64Number('height');
  const view = r.u32('view');
  return { height, view };
}
function readBlock(r: ByteReader): Bytes {
  const len = r.count(1, MAX_BLOCK_SIZE, 'block length');
  return r.bytes(len, 'block');
}
function readVoteBody(r: ByteReader, type: Vote['type']): Vote {
  const { height, view } = readHV(r);
  const blockHash = r.bytes(32, 'block hash');
  const signer = r.bytes(32, 'signer');
  const signature = r.bytes(64, 'signature');
  return { type, height, view, blockHash, signer, signature };
}
function readPrePrepareBody(r: ByteReader): PrePrepare {
  const { height, view } = readHV(r);
  const blockHash = r.bytes(32, 'block hash');
  const signer = r.bytes(32, 'signer');
  const signature = r.bytes(64, 'signature');
  const block = readBlock(r);
  return { type: MsgType.PrePrepare, height, view, blockHash, block, signer, signature };
}
function readVoteType(r: ByteReader): Vote['type'] {
  const t = r.u8('vote type');
  if (t !== MsgType.Prepare && t !== MsgType.Commit) throw new DecodeError(DecodeCode.BadKind, `vote type ${t}`);
  return t;
}
function readVotes(r: ByteReader): Vote[] {
  const n = r.count(TAGGED_VOTE, MAX_VALIDATORS, 'vote count');
  const votes: Vote[] = [];
  for (let i = 0; i < n; i++) votes.push(readVoteBody(r, readVoteType(r)));
  return votes;
}
function readPrepared(r: ByteReader): PreparedCertificate {
  const { height, view } = readHV(r);
  const blockHash = r.bytes(32, 'block hash');
  const block = readBlock(r);
  return { height, view, blockHash, block, prepares: readVotes(r) };
}
function readCommitCert(r: ByteReader): CommitCertificate {
  const { height, view } = readHV(r);
  const blockHash = r.bytes(32, 'block hash');
  return { height, view, blockHash, commits: readVotes(r) };
}
function readViewChangeBody(r: ByteReader): ViewChange {
  const { height, view } = readHV(r);
  const signer = r.bytes(32, 'signer');
  const signature = r.bytes(64, 'signature');
  const has = r.u8('has prepared');
  if (has > 1) throw new DecodeError(DecodeCode.BadValue, `has-prepared flag ${has}`);
  const prepared = has === 1 ? readPrepared(r) : null;
  return { type: MsgType.ViewChange, height, view, prepared, signer, signature };
}
function readNewViewBody(r: ByteReader): NewView {
  const { height, view } = readHV(r);
  const signer = r.bytes(32, 'signer');
  const signature = r.bytes(64, 'signature');
  const n = r.count(VC_MIN, MAX_VALIDATORS, 'view-change count');
  const viewChanges: ViewChange[] = [];
  for (let i = 0; i < n; i++) viewChanges.push(readViewChangeBody(r));
  const prePrepare = readPrePrepareBody(r);
  return { type: MsgType.NewView, height, view, viewChanges, prePrepare, signer, signature };
}
function readDecisionBody(r: ByteReader): Decision {
  const height = r.u64Number('height');
  const block = readBlock(r);
  return { type: MsgType.Decision, height, block, certificate: readCommitCert(r) };
}
function readMessage(r: ByteReader): ConsensusMessage {
  const type = r.u8('message type');
  switch (type) {
    case MsgType.PrePrepare:
      return readPrePrepareBody(r);
    case MsgType.Prepare:
    case MsgType.Commit:
      return readVoteBody(r, type);
    case MsgType.ViewChange:
      return readViewChangeBody(r);
    case MsgType.NewView:
      return readNewViewBody(r);
    case MsgType.Decision:
      return readDecisionBody(r);
    default:
      throw new DecodeError(DecodeCode.BadKind, `message type ${type}`);
  }
}

/** Any exception escaping a decoder is a DecodeError; anything else is turned into one. */
function decodeWith<T>(bytes: Uint8Array, what: string, read: (r: ByteReader) => T): T {
  try {
    const r = new ByteReader(bytes);
    const v = read(r);
    r.end(what);
    return v;
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(DecodeCode.BadValue, `${what}: ${(e as Error)?.message ?? String(e)}`);
  }
}

/** Decode one consensus message; throws DecodeError on anything but its canonical encoding. */
export function decodeMessage(bytes: Uint8Array): ConsensusMessage {
  return decodeWith(bytes, 'consensus message', readMessage);
}

/** Decode a prepared certificate; throws DecodeError. */
export function decodePreparedCertificate(bytes: Uint8Array): PreparedCertificate {
  return decodeWith(bytes, 'prepared certificate', readPrepared);
}

/** Decode a commit certificate; throws DecodeError. */
export function decodeCommitCertificate(bytes: Uint8Array): CommitCertificate {
  return decodeWith(bytes, 'commit certificate', readCommitCert);
}

function readEvidenceStatement(r: ByteReader): Vote | PrePrepare {
  const m = readMessage(r);
  if (m.type !== MsgType.PrePrepare && m.type !== MsgType.Prepare && m.type !== MsgType.Commit) {
    throw new DecodeError(DecodeCode.BadKind, `evidence statement of type ${m.type}`);
  }
  return m;
}

/** Decode evidence; throws DecodeError. Signatures are not checked here (see certificates.verifyEvidence). */
export function decodeEvidence(bytes: Uint8Array): Evidence {
  return decodeWith(bytes, 'evidence', (r) => {
    const kind = r.u8('evidence kind');
    if (kind !== EVIDENCE_KIND_EQUIVOCATION) throw new DecodeError(DecodeCode.BadKind, `evidence kind ${kind}`);
    const offender = r.bytes(32, 'offender');
    const { height, view } = readHV(r);
    const msgType = r.u8('evidence msg type');
    if (msgType !== MsgType.PrePrepare && msgType !== MsgType.Prepare && msgType !== MsgType.Commit) {
      throw new DecodeError(DecodeCode.BadKind, `evidence msg type ${msgType}`);
    }
    const first = readEvidenceStatement(r);
    const second = readEvidenceStatement(r);
    return { kind: 'equivocation', offender, height, view, msgType, first, second };
  });
}

/**
 * Signature verification for simulated nodes, and the checkers' own certificate check.
 *
 * 'real' hands every engine the SPEC §2 verifier (chain/ed25519 verifySignature: Node's ed25519),
 * exactly as the node does. 'memo' still runs that verifier, but once per distinct
 * (key, message, signature) per run, sharing the answer between the simulated nodes: a pure
 * function's result is reused, never invented, so both modes give every engine the same answers;
 * only CPU time differs (n nodes check each signature once instead of n times).
 */
import { verifySignature } from '../../chain/ed25519.js';
import { toHex } from '../../chain/hash.js';
import { MsgType, type Bytes, type CommitCertificate } from '../../consensus/types.js';

export type SigMode = 'real' | 'memo';
export type Verify = (publicKey: Bytes, message: Bytes, signature: Bytes) => boolean;

export function makeVerifier(mode: SigMode): Verify {
  if (mode === 'real') return verifySignature;
  const memo = new Map<string, boolean>();
  return (publicKey, message, signature) => {
    const key = `${toHex(publicKey)}${toHex(signature)}${toHex(message)}`;
    let ok = memo.get(key);
    if (ok === undefined) {
      ok = verifySignature(publicKey, message, signature);
      memo.set(key, ok);
    }
    return ok;
  };
}

const DOMAIN = new TextEncoder().encode('TIMECOIN-PBFT-V1');

/**
 * The bytes a PRE-PREPARE, PREPARE or COMMIT signs, written here from the layout documented in
 * consensus/messages.ts rather than imported, so a signature over anything else fails this
 * independent check: "TIMECOIN-PBFT-V1" || chainId || u8 type || u64 height || u32 view || blockHash.
 */
export function voteBytes(chainId: Bytes, type: number, height: number, view: number, blockHash: Bytes): Bytes {
  const b = Buffer.alloc(DOMAIN.length + 32 + 1 + 8 + 4 + 32);
  let o = 0;
  b.set(DOMAIN, o);
  o += DOMAIN.length;
  b.set(chainId, o);
  o += 32;
  b.writeUInt8(type, o);
  o += 1;
  b.writeBigUInt64LE(BigInt(height), o);
  o += 8;
  b.writeUInt32LE(view, o);
  o += 4;
  b.set(blockHash, o);
  return b;
}

export function commitSignedBytes(chainId: Bytes, height: number, view: number, blockHash: Bytes): Bytes {
  return voteBytes(chainId, MsgType.Commit, height, view, blockHash);
}

/** True iff a proposal or vote carries a valid signature by its signer (for evidence checks). */
export function statementCheck(chainId: Bytes, verify: Verify) {
  return (m: { type: number; height: number; view: number; blockHash: Bytes; signer: Bytes; signature: Bytes }): boolean =>
    verify(m.signer, voteBytes(chainId, m.type, m.height, m.view, m.blockHash), m.signature);
}

/**
 * Independent check of a commit certificate: at least ⌊2n/3⌋+1 (= 2f+1 for n = 3f+1) COMMITs
 * for exactly this height and hash, all in the certificate's view, by distinct validators, each
 * signature valid. Signatures already checked once in the run are not checked again.
 */
export function certificateCheck(chainId: Bytes, validators: readonly Bytes[], verify: Verify) {
  const members = new Set(validators.map(toHex));
  const quorum = Math.floor((2 * validators.length) / 3) + 1;
  const good = new Set<string>();
  return (cert: CommitCertificate, height: number, blockHash: Bytes): string | null => {
    const hash = toHex(blockHash);
    const signers = new Set<string>();
    for (const v of cert.commits) {
      const who = toHex(v.signer);
      if (v.type !== MsgType.Commit) return `vote of type ${v.type} in a commit certificate`;
      if (v.height !== height || v.view !== cert.view || toHex(v.blockHash) !== hash) return `vote by ${who.slice(0, 12)}… for another slot`;
      if (!members.has(who)) return `vote by non-validator ${who.slice(0, 12)}…`;
      if (signers.has(who)) return `signer ${who.slice(0, 12)}… counted twice`;
      signers.add(who);
      const memo = `${who}/${height}/${cert.view}/${hash}/${toHex(v.signature)}`;
      if (!good.has(memo)) {
        if (!verify(v.signer, commitSignedBytes(chainId, height, cert.view, blockHash), v.signature)) return `bad signature by ${who.slice(0, 12)}…`;
        good.add(memo);
      }
    }
    if (signers.size < quorum) return `${signers.size} distinct signers, quorum is ${quorum}`;
    return null;
  };
}

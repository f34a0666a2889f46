/**
 * Safety checkers, fed by the drivers as effects are executed, so a violation is caught at the
 * step that causes it (ARCHITECTURE example 4). They judge only what honest code did:
 *
 *  - agreement: no two honest instances finalize different blocks at one height;
 *  - validity: a finalized block is one that some honest instance validated as valid;
 *  - certificate: every commit carries 2f+1 distinct validators' valid COMMIT signatures for it;
 *  - commit order: an instance finalizes heights 1, 2, 3 … each exactly once;
 *  - honest equivocation: a correct key never signs two different proposals/votes for one
 *    (height, view, type) — the property persist-before-send exists for, visible even when it
 *    happens not to cause a fork;
 *  - false evidence: evidence names only keys that really equivocated (never a correct key).
 *
 * "Honest instance" includes twins (honest code sharing a key): with ≤ f twinned keys PBFT's
 * quorum intersection still holds for every instance that commits from a valid certificate, so
 * agreement must hold for them too. "Correct key" excludes twinned and Byzantine keys.
 */
import { toHex } from '../../chain/hash.js';
import type { CommitCertificate, ConsensusMessage, Evidence } from '../../consensus/types.js';
import { MsgType } from '../../consensus/types.js';

export type ViolationKind =
  | 'agreement'
  | 'validity'
  | 'certificate'
  | 'commit-order'
  | 'honest-equivocation'
  | 'false-evidence'
  | 'liveness'
  | 'engine-error';

export interface Violation {
  readonly kind: ViolationKind;
  readonly time: number;
  readonly detail: string;
}

export interface CommitRecord {
  readonly instance: number;
  readonly height: number;
  readonly hash: string;
  readonly time: number;
}

/** Checks a certificate against the validator set; returns a reason, or null if it is sound. */
export type CertificateCheck = (cert: CommitCertificate, height: number, blockHash: Uint8Array) => string | null;

export class SafetyChecker {
  readonly violations: Violation[] = [];
  /** height → first finalized hash seen, and who finalized it. */
  private readonly finalized = new Map<number, { hash: string; instance: number }>();
  private readonly validatedValid = new Set<string>();
  /** instance → highest height finalized. */
  readonly heights = new Map<number, number>();
  readonly commits: CommitRecord[] = [];
  /** Highest view of any certificate seen: how far runs pushed view changes. */
  maxCommitView = 0;
  /** `${signer}/${type}/${height}/${view}` → block hash, for correct keys only. */
  private readonly signed = new Map<string, string>();

  constructor(
    private readonly correctKeys: ReadonlySet<string>,
    private readonly checkCertificate: CertificateCheck | null,
    private readonly clock: () => number,
    /** Signature check of an evidence statement; null skips it. */
    private readonly checkStatement: ((s: Evidence['first']) => boolean) | null = null,
  ) {}

  get ok(): boolean {
    return this.violations.length === 0;
  }

  fail(kind: ViolationKind, detail: string): void {
    this.violations.push({ kind, time: this.clock(), detail });
  }

  /** An honest instance's validation verdict. */
  onValidated(blockHash: Uint8Array, valid: boolean): void {
    if (valid) this.validatedValid.add(toHex(blockHash));
  }

  onCommit(instance: number, height: number, blockHash: Uint8Array, cert: CommitCertificate): void {
    const hash = toHex(blockHash);
    this.maxCommitView = Math.max(this.maxCommitView, cert.view);
    const prev = this.heights.get(instance) ?? 0;
    if (height !== prev + 1) this.fail('commit-order', `instance ${instance} finalized height ${height} after ${prev}`);
    this.heights.set(instance, Math.max(prev, height));
    this.commits.push({ instance, height, hash, time: this.clock() });
    const first = this.finalized.get(height);
    if (first === undefined) this.finalized.set(height, { hash, instance });
    else if (first.hash !== hash)
      this.fail('agreement', `height ${height}: instance ${first.instance} finalized ${first.hash.slice(0, 16)}…, instance ${instance} finalized ${hash.slice(0, 16)}…`);
    if (!this.validatedValid.has(hash))
      this.fail('validity', `instance ${instance} finalized ${hash.slice(0, 16)}… at height ${height}, which no honest instance validated as valid`);
    if (cert.height !== height || toHex(cert.blockHash) !== hash)
      this.fail('certificate', `instance ${instance}: certificate is for height ${cert.height} ${toHex(cert.blockHash).slice(0, 16)}…, commit is ${height} ${hash.slice(0, 16)}…`);
    const reason = this.checkCertificate?.(cert, height, blockHash) ?? null;
    if (reason !== null) this.fail('certificate', `instance ${instance} height ${height}: ${reason}`);
  }

  /** A signed message leaving an honest instance (own proposals and votes, and inside NEW-VIEW). */
  onSigned(msg: ConsensusMessage): void {
    if (msg.type === MsgType.NewView) {
      this.onSigned(msg.prePrepare);
      return;
    }
    if (msg.type !== MsgType.PrePrepare && msg.type !== MsgType.Prepare && msg.type !== MsgType.Commit) return;
    const signer = toHex(msg.signer);
    if (!this.correctKeys.has(signer)) return;
    const key = `${signer}/${msg.type}/${msg.height}/${msg.view}`;
    const hash = toHex(msg.blockHash);
    const before = this.signed.get(key);
    if (before === undefined) this.signed.set(key, hash);
    else if (before !== hash)
      this.fail('honest-equivocation', `correct key ${signer.slice(0, 12)}… signed type ${msg.type} at height ${msg.height} view ${msg.view} for ${before.slice(0, 16)}… and ${hash.slice(0, 16)}…`);
  }

  onEvidence(instance: number, ev: Evidence): void {
    const offender = toHex(ev.offender);
    if (this.correctKeys.has(offender)) this.fail('false-evidence', `instance ${instance} accused correct key ${offender.slice(0, 12)}…`);
    const a = ev.first;
    const b = ev.second;
    const sameSlot = a.height === b.height && a.view === b.view && a.type === b.type;
    const bothByOffender = toHex(a.signer) === offender && toHex(b.signer) === offender;
    const differ = toHex(a.blockHash) !== toHex(b.blockHash);
    if (!sameSlot || !bothByOffender || !differ) this.fail('false-evidence', `instance ${instance}: evidence statements do not conflict`);
    else if (this.checkStatement !== null && !(this.checkStatement(a) && this.checkStatement(b)))
      this.fail('false-evidence', `instance ${instance}: evidence against ${offender.slice(0, 12)}… carries a signature that does not verify`);
  }

  finalizedHash(height: number): string | undefined {
    return this.finalized.get(height)?.hash;
  }
}

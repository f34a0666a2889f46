/**
 * Pending evidence (kind-3 transactions) waiting for a block. Evidence pays no fee, so it does not
 * compete in the fee-rate mempool: the proposer includes every pending offence that still holds
 * against the registry (chain/masternode-rules.ts), ahead of transfers. One entry per offence
 * (dedup key); bounded so a flood of stale evidence cannot grow memory without limit.
 */
import { TxKind } from './constants.js';
import { RuleError } from './errors.js';
import { createEvidenceTx, decodeEvidencePayload, evidenceKey, type EvidencePayload } from './evidence.js';
import { toHex } from './hash.js';
import { OldestFirst } from './oldest-first.js';
import { checkEvidenceContext, newClaims, type MasternodeContext } from './masternode-rules.js';
import type { Block } from './block.js';
import type { Transaction } from './transaction.js';

/** At most this many offences wait at once (oldest dropped first). */
export const MAX_PENDING_EVIDENCE = 1000;

export class EvidencePool {
  private readonly pending = new Map<string, Transaction>();
  private readonly oldest = new OldestFirst(this.pending);

  /** Add an offence (a repeat of a pending one is ignored); returns whether it was new. */
  add(e: EvidencePayload): boolean {
    const key = toHex(evidenceKey(e));
    if (this.pending.has(key)) return false;
    this.oldest.trimTo(MAX_PENDING_EVIDENCE - 1);
    this.pending.set(key, createEvidenceTx(e));
    return true;
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * The pending evidence valid in a block at `height` on the current registry, in arrival order;
   * what no longer holds (too old, already recorded, offender gone) is dropped for good.
   */
  select(height: number, ctx: MasternodeContext, chainId: Uint8Array): Transaction[] {
    const claims = newClaims();
    const out: Transaction[] = [];
    for (const [key, tx] of this.pending) {
      try {
        checkEvidenceContext(decodeEvidencePayload(tx.payload), height, ctx, chainId, claims);
        out.push(tx);
      } catch (err) {
        if (!(err instanceof RuleError)) throw err;
        // An offence in the future (height not reached yet) may become valid; anything else never will.
        if (decodeEvidencePayload(tx.payload).height < height) this.pending.delete(key);
      }
    }
    return out;
  }

  /** Forget the offences a final block recorded. */
  removeForBlock(block: Block): void {
    for (const tx of block.txs) {
      if (tx.kind === TxKind.Evidence) this.pending.delete(toHex(evidenceKey(decodeEvidencePayload(tx.payload))));
    }
  }
}

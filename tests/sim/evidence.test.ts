/**
 * An equivocating validator's evidence ends up on chain, it is penalized and banned by the real
 * registry code, and it is excluded from every later validator set while the chain stays live
 * (tests/sim/evidence-world.ts describes the world).
 */
import { describe, expect, it } from 'vitest';
import { TxKind, UNITS_PER_TIME } from '../../chain/constants.js';
import { decodeEvidencePayload, evidenceKey } from '../../chain/evidence.js';
import { bytesEqual, toHex } from '../../chain/hash.js';
import { EvidenceKind, statusAt } from '../../chain/masternode.js';
import { chainHashes, runEvidenceWorld } from './evidence-world.js';

const HEIGHTS = 14;

describe('sim: equivocation evidence → on chain → offender excluded, chain live', () => {
  for (const [seed, n] of [[11, 4], [12, 4], [13, 7]] as const) {
    it(`seed=${seed} n=${n}`, () => {
      const byz = seed % n;
      const r = runEvidenceWorld(seed, n, byz, HEIGHTS);
      const offender = r.operators[byz]!;
      const honest = r.chains.filter((_, i) => i !== byz);
      expect(r.conflictsSent).toBeGreaterThan(0);

      // Liveness and agreement among the honest nodes.
      const common = Math.min(...honest.map((c) => c.length));
      expect(common).toBeGreaterThanOrEqual(HEIGHTS);
      const reference = chainHashes(honest[0]!).slice(0, common);
      for (const c of honest) expect(chainHashes(c).slice(0, common)).toEqual(reference);

      // The evidence is on chain, once per offence.
      const chain = honest[0]!.slice(0, common);
      const keys = new Set<string>();
      let firstEvidenceHeight: number | null = null;
      for (const b of chain) {
        for (const tx of b.txs.filter((t) => t.kind === TxKind.Evidence)) {
          const e = decodeEvidencePayload(tx.payload);
          expect(e.kind).toBe(EvidenceKind.Equivocation);
          expect(toHex(e.offender)).toBe(toHex(offender));
          const k = toHex(evidenceKey(e));
          expect(keys.has(k)).toBe(false);
          keys.add(k);
          firstEvidenceHeight ??= b.header.height;
        }
      }
      expect(firstEvidenceHeight).not.toBeNull();
      const e = firstEvidenceHeight!;

      // Penalized and banned on every honest node's registry, from the evidence block on.
      r.registries.forEach((reg, i) => {
        if (i === byz) return;
        const rec = reg.byOperator(offender)!;
        expect(rec.bannedHeight).toBe(e);
        expect(rec.penalty).toBeGreaterThanOrEqual(500n * UNITS_PER_TIME);
        expect(statusAt(rec, common + 1)).toBe('POSE_BANNED');
        expect(reg.validatorSetAt(e).some((k) => bytesEqual(k, offender))).toBe(true);
        for (let h = e + 1; h <= common + 1; h++) expect(reg.validatorSetAt(h).some((k) => bytesEqual(k, offender))).toBe(false);
        expect(reg.validatorSetAt(common + 1)).toHaveLength(n - 1);
      });

      // Excluded afterwards: it proposes nothing and no certificate counts its vote.
      for (const b of chain.filter((x) => x.header.height > e)) expect(bytesEqual(b.header.proposer, offender)).toBe(false);
      const honestIndex = byz === 0 ? 1 : 0;
      r.certs[honestIndex]!.slice(0, common).forEach((cert, i) => {
        const signedByOffender = cert.commits.some((v) => bytesEqual(v.signer, offender));
        if (i + 1 > e) expect(signedByOffender, `height ${i + 1}`).toBe(false);
      });
      expect(r.evidenceSeen.filter((_, i) => i !== byz).some((k) => k > 0)).toBe(true);
      expect(chain.length - e).toBeGreaterThanOrEqual(3); // the chain went on without it
    });
  }

  it('is deterministic per seed', () => {
    const a = runEvidenceWorld(21, 4, 1, 8);
    const b = runEvidenceWorld(21, 4, 1, 8);
    expect(a.chains.map(chainHashes)).toEqual(b.chains.map(chainHashes));
  });
});

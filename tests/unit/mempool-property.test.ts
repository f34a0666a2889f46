/**
 * Random admission / eviction / block-connect sequences against a small pool, checking the
 * pool's invariants after every step: within both capacities (count and bytes); no outpoint spent twice; every input
 * resolves to a pool parent (linked both ways) or to the chain view; rejections change
 * nothing; an eviction only happens for a strictly better fee rate.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOCK_REWARD } from '../../chain/constants.js';
import { createBlock } from '../../chain/block.js';
import { SignatureCache } from '../../chain/ed25519.js';
import { RuleCode, RuleError } from '../../chain/errors.js';
import { compareFeeRate } from '../../chain/fee-rate.js';
import { toHex } from '../../chain/hash.js';
import { Mempool } from '../../chain/mempool.js';
import { encodedTxSize, outpointKey, type Transaction } from '../../chain/transaction.js';
import { MapView } from '../../chain/utxo.js';
import { CHAIN_ID, coinbase, fund, id, out, signer, spend, type Coin } from './chain-fixtures.js';
import { snapshot } from './mempool-fixtures.js';

const owners = [signer(31), signer(32), signer(33)];

type Op =
  | { op: 'tx'; picks: number[]; rate: number; outputs: number }
  | { op: 'block'; include: number[]; conflict: number | null };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('tx' as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 2 }), rate: fc.integer({ min: 0, max: 12 }), outputs: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('block' as const), include: fc.array(fc.nat(), { maxLength: 3 }), conflict: fc.option(fc.nat()) }) },
);

function checkInvariants(m: Mempool, view: MapView, max: number): void {
  const entries = [...m.entries()];
  expect(entries.length).toBeLessThanOrEqual(max);
  expect(m.bytes).toBeLessThanOrEqual(m.maxBytes);
  expect(m.bytes).toBe(entries.reduce((s, e) => s + e.size, 0));
  const spent = new Set<string>();
  for (const e of entries) {
    e.tx.inputs.forEach((input) => {
      const op = outpointKey(input.prevTxid, input.prevIndex);
      expect(spent.has(op)).toBe(false);
      spent.add(op);
      expect(toHex(m.spentBy(input.prevTxid, input.prevIndex)!)).toBe(e.key);
      const parent = m.entry(input.prevTxid);
      if (parent !== undefined) {
        expect(parent.tx.outputs[input.prevIndex]).toBeDefined();
        expect(e.parents.has(parent.key)).toBe(true);
        expect(parent.children.has(e.key)).toBe(true);
      } else {
        expect(view.getUtxo(input.prevTxid, input.prevIndex)).toBeDefined();
      }
    });
    for (const p of e.parents) expect(m.entry(p)?.children.has(e.key)).toBe(true);
    for (const c of e.children) expect(m.entry(c)?.parents.has(e.key)).toBe(true);
  }
}

describe('Mempool invariants under random operations', () => {
  it('hold after every admission, rejection, eviction and block', () => {
    let round = 0;
    const seen = { accepted: 0, evictions: 0, conflicts: 0, full: 0, blockConflicts: 0, included: 0 };
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 150, max: 1_500 }), (ops, max, maxBytes) => {
        round++;
        const view = new MapView();
        const m = new Mempool({ chainId: CHAIN_ID, sigCache: new SignatureCache(), maxTransactions: max, maxBytes });
        const known: Coin[] = Array.from({ length: 6 }, (_, i) => fund(view, owners[i % 3]!, 1_000_000n, `prop ${round} ${i}`));
        let height = 1;
        for (const o of ops) {
          if (o.op === 'tx') {
            const coins = [...new Set(o.picks.map((p) => known[p % known.length]!))];
            const size = encodedTxSize(coins.length, o.outputs, 0);
            const fee = BigInt(o.rate * size);
            const total = coins.reduce((s, c) => s + c.amount, 0n) - fee;
            const each = total / BigInt(o.outputs);
            if (each < 546n) continue;
            const outs = Array.from({ length: o.outputs }, (_, k) => out(k === 0 ? total - each * BigInt(o.outputs - 1) : each, owners[k]!));
            const tx = spend(coins, outs);
            const before = snapshot(m);
            const fullBefore = m.size >= max || m.bytes + tx.bytes.length > maxBytes;
            const cheapest = [...m.entries()].reduce<{ fee: bigint; size: number } | undefined>(
              (best, e) => (best === undefined || compareFeeRate(e.fee, BigInt(e.size), best.fee, BigInt(best.size)) < 0 ? e : best),
              undefined,
            );
            try {
              const r = m.accept(tx, view, height);
              expect(o.rate).toBeGreaterThan(0); // the default minimum fee rate is 1 unit per byte
              outs.forEach((_, k) => known.push({ txid: tx.txid, index: k, amount: outs[k]!.amount, owner: owners[k]! }));
              seen.accepted++;
              if (r.evicted.length > 0) {
                seen.evictions++;
                expect(fullBefore).toBe(true);
                expect(compareFeeRate(r.fee, BigInt(r.size), cheapest!.fee, BigInt(cheapest!.size))).toBeGreaterThan(0);
              }
            } catch (e) {
              if (!(e instanceof RuleError)) throw e;
              expect(snapshot(m)).toEqual(before);
              if (e.code === RuleCode.MempoolFull) {
                seen.full++;
                expect(fullBefore).toBe(true);
              }
              if (e.code === RuleCode.MempoolConflict) seen.conflicts++;
            }
          } else {
            // A block of pool roots, plus optionally a foreign spend of some known chain coin.
            const roots = [...m.entries()].filter((e) => e.parents.size === 0);
            const txs: Transaction[] = [...new Set(o.include.filter(() => roots.length > 0).map((i) => roots[i % roots.length]!.tx))];
            if (o.conflict !== null) {
              const chainCoins = known.filter((c) => view.getUtxo(c.txid, c.index) !== undefined && !txs.some((t) => t.inputs.some((i) => outpointKey(i.prevTxid, i.prevIndex) === outpointKey(c.txid, c.index))));
              // Half the time aim at a coin the pool already spends, so the conflict path is reached on every run set.
              const spentByPool = chainCoins.filter((k) => m.spentBy(k.txid, k.index) !== undefined);
              const pool = o.conflict % 2 === 0 && spentByPool.length > 0 ? spentByPool : chainCoins;
              const c = pool[Math.floor(o.conflict / 2) % Math.max(1, pool.length)];
              if (c !== undefined) txs.push(spend([c], [out(c.amount - 1_000n, owners[0]!)]));
            }
            height++;
            const block = createBlock({ height, prevHash: id(height), timestampMs: height, proposer: owners[0]!.publicKey, view: 0, txs: [coinbase(height, [out(BLOCK_REWARD, owners[0]!)]), ...txs] });
            const removed = m.removeForBlock(block);
            seen.included += removed.included;
            seen.blockConflicts += removed.conflicts.length;
            for (const tx of txs) {
              for (const i of tx.inputs) view.entries.delete(outpointKey(i.prevTxid, i.prevIndex));
              tx.outputs.forEach((o2, k) => view.entries.set(outpointKey(tx.txid, k), { amount: o2.amount, publicKey: o2.publicKey, height, coinbase: false }));
            }
          }
          checkInvariants(m, view, max);
        }
      }),
      { numRuns: 120 },
    );
    // The generator must actually reach every path it is meant to exercise.
    for (const [what, count] of Object.entries(seen)) expect(count, what).toBeGreaterThan(0);
  }, 120_000);
});

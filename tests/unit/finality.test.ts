/**
 * FinalityTracker's waiters (src/finality.ts): the txid waiters of waittransactionfinality and the
 * height waiters of waitforblockheight. Each settles exactly once — with the first final block that
 * reaches it, or null at its timeout, abort, cancel or close — and leaves nothing registered.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBlock, ZERO_HASH, type Block } from '../../chain/block.js';
import { toHex } from '../../chain/hash.js';
import { FinalityTracker } from '../../src/finality.js';
import { coinbase, fund, out, signer, spend } from './chain-fixtures.js';
import { MapView } from '../../chain/utxo.js';

const PROPOSER = signer(1).publicKey;

/** A final block at `height` holding its coinbase and `transfers` spends. */
function blockAt(height: number, transfers = 0): Block {
  const view = new MapView();
  const txs = [coinbase(height, [out(1n, signer(2))])];
  for (let i = 0; i < transfers; i++) txs.push(spend([fund(view, signer(3), 10_000n, `${height}-${i}`)], [out(5_000n, signer(4))]));
  return createBlock({ height, prevHash: ZERO_HASH, timestampMs: 1_000 + height, proposer: PROPOSER, view: 0, txs });
}

const LONG = 3_600_000;

afterEach(() => {
  vi.useRealTimers();
});

describe('FinalityTracker height waiters (waitforblockheight)', () => {
  it('wakes a waiter at the first final block at or above its height, with that block', async () => {
    const t = new FinalityTracker(null, () => 0);
    const never = new AbortController().signal;
    const at3 = t.watchHeight(3, LONG, never);
    const at5 = t.watchHeight(5, LONG, never);
    expect(t.pending).toBe(2);
    t.onFinal(blockAt(2));
    const b4 = blockAt(4);
    t.onFinal(b4);
    expect(await at3.promise).toEqual({ height: 4, blockHash: b4.hash });
    expect(t.pending).toBe(1);
    const b5 = blockAt(5);
    t.onFinal(b5);
    expect(await at5.promise).toEqual({ height: 5, blockHash: b5.hash });
    expect(t.pending).toBe(0);
  });

  it('answers null at the timeout, on abort, on cancel and when the node closes; a later block changes nothing', async () => {
    vi.useFakeTimers();
    const t = new FinalityTracker(null, () => 0);
    const ac = new AbortController();
    const timed = t.watchHeight(1, 50, new AbortController().signal);
    const aborted = t.watchHeight(1, LONG, ac.signal);
    const cancelled = t.watchHeight(1, LONG, new AbortController().signal);
    const closed = t.watchHeight(1, LONG, new AbortController().signal);
    const alreadyAborted = new AbortController();
    alreadyAborted.abort();
    const early = t.watchHeight(1, LONG, alreadyAborted.signal);
    expect(await early.promise).toBeNull();
    expect(t.pending).toBe(4);
    vi.advanceTimersByTime(50);
    expect(await timed.promise).toBeNull();
    ac.abort();
    expect(await aborted.promise).toBeNull();
    cancelled.cancel();
    expect(await cancelled.promise).toBeNull();
    expect(t.pending).toBe(1);
    t.closeAll();
    expect(await closed.promise).toBeNull();
    expect(t.pending).toBe(0);
    t.onFinal(blockAt(1));
    expect(vi.getTimerCount()).toBe(0);
  });

  it('matches a model over any interleaving of waits, final blocks and aborts', async () => {
    type Op = { kind: 'wait'; height: number } | { kind: 'final' } | { kind: 'abort'; which: number };
    const op = fc.oneof(
      fc.record({ kind: fc.constant('wait' as const), height: fc.integer({ min: 1, max: 12 }) }),
      fc.record({ kind: fc.constant('final' as const) }),
      fc.record({ kind: fc.constant('abort' as const), which: fc.nat(20) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops: Op[]) => {
        const t = new FinalityTracker(null, () => 0);
        let finalHeight = 0;
        const waits: { height: number; ac: AbortController; w: ReturnType<FinalityTracker['watchHeight']>; expected: number | null | undefined }[] = [];
        for (const o of ops) {
          if (o.kind === 'wait') {
            const ac = new AbortController();
            waits.push({ height: o.height, ac, w: t.watchHeight(o.height, LONG, ac.signal), expected: undefined });
          } else if (o.kind === 'final') {
            finalHeight++;
            t.onFinal(blockAt(finalHeight));
            for (const x of waits) if (x.expected === undefined && x.height <= finalHeight) x.expected = finalHeight;
          } else if (waits.length > 0) {
            const x = waits[o.which % waits.length]!;
            x.ac.abort();
            if (x.expected === undefined) x.expected = null;
          }
        }
        const open = waits.filter((x) => x.expected === undefined).length;
        expect(t.pending).toBe(open);
        t.closeAll();
        for (const x of waits) {
          const got = await x.w.promise;
          expect(got === null ? null : got.height).toBe(x.expected ?? null);
        }
        expect(t.pending).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('FinalityTracker txid waiters (waittransactionfinality)', () => {
  it('wakes every waiter of a transaction when its block is final, and only then', async () => {
    const t = new FinalityTracker(null, () => 0);
    const never = new AbortController().signal;
    const b = blockAt(7, 2);
    const txid = b.txs[2]!.txidHex;
    const first = t.watch(txid, LONG, never);
    const second = t.watch(txid, LONG, never);
    const other = t.watch(toHex(new Uint8Array(32).fill(9)), LONG, never);
    t.onFinal(blockAt(6, 1));
    expect(t.pending).toBe(3);
    t.onFinal(b);
    expect(await first.promise).toEqual({ height: 7, blockHash: b.hash });
    expect(await second.promise).toEqual({ height: 7, blockHash: b.hash });
    expect(t.pending).toBe(1);
    other.cancel();
    expect(await other.promise).toBeNull();
    expect(t.pending).toBe(0);
  });
});

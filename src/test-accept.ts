/**
 * testmempoolaccept: would these transactions enter the mempool, in this order? Each is checked
 * with the mempool's own `accept` on a scratch pool layered over the real one (the real pool's
 * unconfirmed outputs are visible, its spent outpoints are not), so a package may hold a parent
 * and its child and nothing in the real pool changes. Not modelled: eviction when the real pool
 * is full (a full pool may still refuse an allowed transaction with `mempool-full`).
 */
import type { SignatureCache } from '../chain/ed25519.js';
import { RuleCode, RuleError } from '../chain/errors.js';
import { Mempool } from '../chain/mempool.js';
import type { ChainStore } from '../chain/store.js';
import type { Transaction } from '../chain/transaction.js';
import type { UtxoEntry, UtxoView } from '../chain/utxo.js';

/** One answer of testmempoolaccept (SPEC §5 `{txid, allowed, reject-reason}`, plus fee and size). */
export interface TestAcceptResult {
  readonly txid: Uint8Array;
  readonly allowed: boolean;
  readonly 'reject-reason'?: string;
  readonly fee?: bigint;
  readonly size?: number;
}

export interface TestAcceptDeps {
  readonly store: Pick<ChainStore, 'tip' | 'loadView' | 'hasTransaction' | 'registry'>;
  readonly mempool: Mempool;
  readonly chainId: Uint8Array;
  readonly sigCache: SignatureCache | null;
}

/** Check `txs` in order without changing the real mempool; rule failures become reject reasons. */
export async function testAccept(txs: readonly Transaction[], deps: TestAcceptDeps): Promise<TestAcceptResult[]> {
  const { store, mempool } = deps;
  const tip = store.tip();
  const chainView = await store.loadView(txs);
  const layered: UtxoView = {
    getUtxo(txid: Uint8Array, index: number, key?: string): UtxoEntry | undefined {
      if (mempool.spentBy(txid, index) !== undefined) return undefined;
      const o = mempool.output(txid, index);
      if (o !== undefined) return { amount: o.amount, publicKey: o.publicKey, height: tip.height + 1, coinbase: false };
      return chainView.getUtxo(txid, index, key);
    },
    penaltyOf(txid: Uint8Array, index: number, key?: string): bigint {
      return mempool.output(txid, index) !== undefined ? 0n : chainView.penaltyOf(txid, index, key);
    },
  };
  const scratch = new Mempool({
    chainId: deps.chainId,
    // The same registry rules as the real pool (registrations: owner signature, uniqueness).
    registry: () => store.registry,
    sigCache: deps.sigCache,
    minFeeRate: mempool.minFeeRate,
    maxTransactions: Number.MAX_SAFE_INTEGER,
    maxBytes: Number.MAX_SAFE_INTEGER,
  });
  const out: TestAcceptResult[] = [];
  for (const tx of txs) {
    try {
      if (mempool.has(tx.txid)) throw new RuleError(RuleCode.AlreadyInMempool, 'transaction already in the mempool');
      if (await store.hasTransaction(tx.txid)) throw new RuleError(RuleCode.AlreadyInChain, 'transaction already in the chain');
      for (const i of tx.inputs) {
        if (mempool.spentBy(i.prevTxid, i.prevIndex) !== undefined) {
          throw new RuleError(RuleCode.MempoolConflict, 'an input is already spent by a mempool transaction');
        }
      }
      const r = scratch.accept(tx, layered, tip.height);
      out.push({ txid: tx.txid, allowed: true, fee: r.fee, size: r.size });
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      out.push({ txid: tx.txid, allowed: false, 'reject-reason': err.code });
    }
  }
  return out;
}

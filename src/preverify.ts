/**
 * Input signatures verified in bulk on the verify pool's worker threads before the (synchronous)
 * rule pass that needs them, so that pass finds them in the signature cache and does no curve work
 * on the event loop. Two users:
 *
 * - a proposed block (`preverifyBlockSignatures`): a replica that did not see a transaction in its
 *   mempool would otherwise verify thousands of signatures on its event loop, and a large block's
 *   round would outlast the view timer;
 * - a batch of transactions for the mempool (`preverifyTxSignatures`: a JSON-RPC batch of
 *   `sendrawtransaction`, a gossip frame): admission verified every signature on the event loop
 *   (~200 µs each, ~40 % of a loaded validator's main thread), which delayed its consensus
 *   messages behind the verifies (docs/performance.md).
 *
 * Only verdicts go into the cache, keyed exactly as chain/tx-inputs.ts keys them, for the public
 * key the rule pass will use (the spent output's): a wrong answer here can only cost time, never
 * admit a bad signature — the rule pass verifies whatever is not cached.
 */
import type { Block } from '../chain/block.js';
import type { LoadedChainView, Mempool } from '../chain/mempool.js';
import type { SignatureCache } from '../chain/ed25519.js';
import { bytesEqual } from '../chain/hash.js';
import { outputKey, txSigningMessage, type Transaction, type TxInput } from '../chain/transaction.js';
import { sigCacheKey } from '../chain/tx-inputs.js';
import type { UtxoView } from '../chain/utxo.js';
import type { VerifyItem } from './verify-batch.js';
import type { VerifyPool } from './verify-pool.js';

/** Fewer unchecked signatures in a block than this are left to the rule pass (a pool round trip costs more). */
export const PREVERIFY_MIN = 32;

/** The public key an input spends, or undefined when the output is unknown (the rule pass refuses it or it waits). */
export type SpentKeyLookup = (input: TxInput) => Uint8Array | undefined;

/**
 * Verdicts on their way from the pool, per signature cache: a batch that holds a signature another
 * batch already sent (the same transaction relayed by two peers, or by a peer and RPC, while the
 * first is still being verified) waits for that verdict instead of verifying it again.
 */
const pending = new WeakMap<SignatureCache, Map<string, Promise<void>>>();

/**
 * Verify the uncached input signatures of `txs` on `pool` (when there are at least `min`) and remember
 * the valid ones in `cache`. `txs` are in order: a later one may spend an earlier one's outputs.
 * Returns how many signatures this call sent to the pool; on return, those another call had in flight
 * are settled too.
 */
export async function preverifyTxSignatures(txs: readonly Transaction[], spentKey: SpentKeyLookup, chainId: Uint8Array, cache: SignatureCache, pool: VerifyPool, min = 1): Promise<number> {
  let inflight = pending.get(cache);
  if (inflight === undefined) pending.set(cache, (inflight = new Map()));
  const created = new Map<string, Uint8Array>();
  const keys: string[] = [];
  const items: VerifyItem[] = [];
  const waits = new Set<Promise<void>>();
  for (const tx of txs) {
    const id = tx.txidHex;
    tx.inputs.forEach((input, i) => {
      const pk = spentKey(input) ?? created.get(input.outpoint);
      if (pk === undefined) return;
      const key = sigCacheKey(tx.txid, i, pk, input.signature);
      if (cache.has(key)) return;
      const other = inflight.get(key);
      if (other !== undefined) return void waits.add(other);
      keys.push(key);
      items.push({ publicKey: pk, message: txSigningMessage(chainId, tx.txid, i), signature: input.signature });
    });
    tx.outputs.forEach((o, n) => created.set(outputKey(id, n), o.publicKey));
  }
  if (items.length === 0 || items.length < min) {
    await Promise.all(waits);
    return 0;
  }
  const run = pool.verify(items).then((ok) =>
    ok.forEach((good, i) => {
      if (good) cache.add(keys[i]!);
    }),
  );
  // Others wait for the verdicts, not for our failure: they never see this call's rejection.
  const settled = run.catch(() => undefined);
  for (const k of keys) inflight.set(k, settled);
  try {
    await Promise.all([run, ...waits]);
  } finally {
    for (const k of keys) if (inflight.get(k) === settled) inflight.delete(k);
  }
  return items.length;
}

/** Verify the block's uncached input signatures on `pool` and remember the valid ones in `cache`. */
export async function preverifyBlockSignatures(block: Block, view: UtxoView, chainId: Uint8Array, cache: SignatureCache, pool: VerifyPool): Promise<void> {
  await preverifyTxSignatures(block.txs.slice(1), (i) => view.getUtxo(i.prevTxid, i.prevIndex, i.outpoint)?.publicKey, chainId, cache, pool, PREVERIFY_MIN);
}

/** What mempool pre-verification reads. */
export interface MempoolPreverifyDeps {
  readonly store: { tip(): { readonly hash: Uint8Array }; loadView(txs: readonly Transaction[]): Promise<UtxoView> };
  readonly mempool: Pick<Mempool, 'has' | 'output' | 'size' | 'maxTransactions'>;
  readonly chainId: Uint8Array;
  readonly sigCache: SignatureCache;
  readonly pool: VerifyPool;
}

/** What mempool pre-verification did: signatures it sent to the pool, and the chain view it read (null: none, or the tip moved while reading). */
export interface MempoolPreverified {
  readonly sent: number;
  readonly loaded: LoadedChainView | null;
}

/**
 * Pre-verify a batch bound for the mempool (in order, as it will be admitted). Skipped for
 * transactions already in the pool, and wholly while the pool is full: there a transaction may be
 * refused for its fee rate, and admission makes that cheap refusal before any signature work.
 * The chain view it reads is returned for admission to share (Mempool.acceptWithStore).
 * Never throws: on any failure the admission path simply verifies on the event loop.
 */
export async function preverifyForMempool(txs: readonly Transaction[], d: MempoolPreverifyDeps): Promise<MempoolPreverified> {
  if (d.mempool.size >= d.mempool.maxTransactions) return NOTHING;
  const fresh = txs.filter((t) => !d.mempool.has(t.txid));
  if (fresh.length === 0) return NOTHING;
  let loaded: LoadedChainView | null = null;
  try {
    const at = d.store.tip().hash;
    const view = await d.store.loadView(fresh);
    if (bytesEqual(at, d.store.tip().hash)) loaded = { at, view };
    const sent = await preverifyTxSignatures(fresh, (i) => view.getUtxo(i.prevTxid, i.prevIndex, i.outpoint)?.publicKey ?? d.mempool.output(i.prevTxid, i.prevIndex)?.publicKey, d.chainId, d.sigCache, d.pool);
    return { sent, loaded };
  } catch {
    return { sent: 0, loaded };
  }
}

const NOTHING: MempoolPreverified = Object.freeze({ sent: 0, loaded: null });

/**
 * Input signatures of a proposed block verified in bulk on the verify pool's worker threads
 * before the block's (synchronous) rule pass, so that pass finds them in the signature cache.
 * A replica that did not see a transaction in its mempool — e.g. its pool was full while the
 * leader's backlog grew — would otherwise verify thousands of signatures on its event loop, and
 * a large block's round would outlast the view timer (the cluster benchmark's view changes).
 *
 * Only verdicts go into the cache, keyed exactly as chain/tx-inputs.ts keys them, for the public
 * key the rule pass will use (the spent output's, from the same view): a wrong answer here can
 * only cost time, never admit a bad signature — the rule pass verifies whatever is not cached.
 */
import type { Block } from '../chain/block.js';
import type { SignatureCache } from '../chain/ed25519.js';
import { toHex } from '../chain/hash.js';
import { txSigningMessage } from '../chain/transaction.js';
import { sigCacheKey } from '../chain/tx-inputs.js';
import type { UtxoView } from '../chain/utxo.js';
import type { VerifyItem } from './verify-batch.js';
import type { VerifyPool } from './verify-pool.js';

/** Fewer unchecked signatures than this are left to the rule pass (a pool round trip costs more). */
export const PREVERIFY_MIN = 32;

/** Verify the block's uncached input signatures on `pool` and remember the valid ones in `cache`. */
export async function preverifyBlockSignatures(block: Block, view: UtxoView, chainId: Uint8Array, cache: SignatureCache, pool: VerifyPool): Promise<void> {
  // Outputs created earlier in the same block can be spent later in it.
  const created = new Map<string, Uint8Array>();
  const keys: string[] = [];
  const items: VerifyItem[] = [];
  for (const tx of block.txs.slice(1)) {
    const id = toHex(tx.txid);
    tx.inputs.forEach((input, i) => {
      const pk = view.getUtxo(input.prevTxid, input.prevIndex)?.publicKey ?? created.get(`${toHex(input.prevTxid)}:${input.prevIndex}`);
      if (pk === undefined) return; // missing input: the rule pass refuses the block
      const key = sigCacheKey(tx.txid, i, pk, input.signature);
      if (cache.has(key)) return;
      keys.push(key);
      items.push({ publicKey: pk, message: txSigningMessage(chainId, tx.txid, i), signature: input.signature });
    });
    tx.outputs.forEach((o, n) => created.set(`${id}:${n}`, o.publicKey));
  }
  if (items.length < PREVERIFY_MIN) return;
  const ok = await pool.verify(items);
  ok.forEach((good, i) => {
    if (good) cache.add(keys[i]!);
  });
}

import { performance } from 'node:perf_hooks';
import { TxKind } from '../chain/constants.js';
import { SignatureCache, createSigner } from '../chain/ed25519.js';
import { sha256 } from '../chain/hash.js';
import { Mempool } from '../chain/mempool.js';
import { assembleBlock } from '../chain/assembler.js';
import { createTransaction, outpointKey, txSigningMessage, withSignatures } from '../chain/transaction.js';
import { MapView } from '../chain/utxo.js';
const ascii = (s: string) => new TextEncoder().encode(s);
const N = 10_000;
const chainId = sha256(ascii('c'));
const keys = Array.from({ length: 100 }, (_, i) => createSigner(sha256(ascii(`k${i}`))));
const view = new MapView();
const txs = Array.from({ length: N }, (_, i) => {
  const o = keys[i % 100]!; const txid = sha256(ascii(`coin ${i}`));
  view.entries.set(outpointKey(txid, 0), { amount: 1_000_000n, publicKey: o.publicKey, height: 0, coinbase: false });
  const u = createTransaction({ kind: TxKind.Transfer, inputs: [{ prevTxid: txid, prevIndex: 0, signature: new Uint8Array(64) }], outputs: [{ amount: 400_000n, publicKey: keys[(i + 1) % 100]!.publicKey }, { amount: 599_000n - BigInt(i % 300), publicKey: o.publicKey }] });
  return withSignatures(u, [o.sign(txSigningMessage(chainId, u.txid, 0))]);
});
const cache = new SignatureCache();
new Mempool({ chainId, sigCache: cache, maxTransactions: N }).constructor;
{ const p = new Mempool({ chainId, sigCache: cache, maxTransactions: N }); for (const t of txs) p.accept(t, view, 0); }
for (let r = 0; r < 5; r++) {
  const p = new Mempool({ chainId, sigCache: cache, maxTransactions: N });
  let t = performance.now(); for (const tx of txs) p.accept(tx, view, 0); const acc = performance.now() - t;
  t = performance.now(); const b = assembleBlock({ mempool: p, height: 1, prevHash: chainId, timestampMs: 1, proposer: keys[0]!.publicKey, view: 0, rewardPublicKey: keys[0]!.publicKey, reward: 100n }); const asm = performance.now() - t;
  t = performance.now(); const rr = p.removeForBlock(b); const rem = performance.now() - t;
  console.log(JSON.stringify({ acceptUsPerTxWarm: (acc * 1000 / N).toFixed(1), assembleMs: asm.toFixed(1), removeMs: rem.toFixed(1), inBlock: b.txs.length, removed: rr.included }));
}

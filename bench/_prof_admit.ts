import { performance } from 'node:perf_hooks';
import { TxKind } from '/work/main/chain/constants.js';
import { SignatureCache, createSigner, verifySignature, type Signer } from '/work/main/chain/ed25519.js';
import { sha256 } from '/work/main/chain/hash.js';
import { Mempool } from '/work/main/chain/mempool.js';
import { createTransaction, outpointKey, txSigningMessage, withSignatures } from '/work/main/chain/transaction.js';
import { MapView } from '/work/main/chain/utxo.js';
const ascii = (s: string) => new TextEncoder().encode(s);
const N = Number(process.argv[2] ?? 4000);
const chainId = sha256(ascii('bench chain'));
const mk = (tag: string) => Array.from({ length: N }, (_, i) => createSigner(sha256(ascii(`${tag} ${i}`))));
const owners = mk('a'); const vkeys = mk('v');
const view = new MapView();
const txs = owners.map((o, i) => {
  const txid = sha256(ascii(`coin ${i}`));
  view.entries.set(outpointKey(txid, 0), { amount: 1_000_000n, publicKey: o.publicKey, height: 0, coinbase: false });
  const u = createTransaction({ kind: TxKind.Transfer, inputs: [{ prevTxid: txid, prevIndex: 0, signature: new Uint8Array(64) }], outputs: [{ amount: 400_000n, publicKey: owners[(i + 1) % N]!.publicKey }, { amount: 599_000n, publicKey: o.publicKey }] });
  return withSignatures(u, [o.sign(txSigningMessage(chainId, u.txid, 0))]);
});
const items = vkeys.map((k, i) => { const m = txSigningMessage(chainId, sha256(ascii(`m${i}`)), 0); return { pk: k.publicKey, m, s: k.sign(m) }; });
for (let round = 0; round < 2; round++) {
let t = performance.now();
for (const it of items) verifySignature(it.pk, it.m, it.s);
const v = N / ((performance.now() - t) / 1000);
const pool = new Mempool({ chainId, sigCache: new SignatureCache(), maxTransactions: N });
t = performance.now();
for (const tx of txs) pool.accept(tx, view, 0);
const a = N / ((performance.now() - t) / 1000);
// warm key cache V1
t = performance.now();
for (const it of items) verifySignature(it.pk, it.m, it.s);
const vw = N / ((performance.now() - t) / 1000);
console.log(JSON.stringify({ v, a, ratio: a / v, vWarmKeys: vw }));
}

import { performance } from 'node:perf_hooks';
import { createSigner, verifySignature } from '../chain/ed25519.js';
import { sha256 } from '../chain/hash.js';
const ascii = (s: string) => new TextEncoder().encode(s);
const N = 3000;
const keys = Array.from({ length: N }, (_, i) => createSigner(sha256(ascii(`k ${i}`))));
const items = keys.map((k, i) => { const m = sha256(ascii(`m ${i}`)); const s = k.sign(m); const big = Buffer.alloc(300); big.set(s, 100); return { pk: k.publicKey, m, s: Buffer.from(s), sub: big.subarray(100, 164) }; });
for (let r = 0; r < 4; r++) {
  let t = performance.now(); for (const it of items) verifySignature(it.pk, it.m, it.s); const a = performance.now() - t;
  t = performance.now(); for (const it of items) verifySignature(it.pk, it.m, it.sub); const b = performance.now() - t;
  console.log({ standalone: Math.round(N / a * 1000), subarray: Math.round(N / b * 1000) });
}

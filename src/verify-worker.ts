/**
 * Worker thread of src/verify-pool.ts: verifies batches of (publicKey, message, signature) with
 * the project's one verifier (chain/ed25519.ts `verifySignature`; no rule lives here).
 *
 * In:  {id, buf}  buf = the batch encoded by `encodeVerifyBatch` (transferred, not copied).
 * Out: {id, ok}   ok = one byte per item, 1 = valid (transferred back); or {id, error} if the
 *                 batch could not be read (a bug in the pool, reported instead of crashing).
 */
import { parentPort } from 'node:worker_threads';
import { verifyBatch } from './verify-batch.js';

if (parentPort === null) throw new Error('verify-worker.ts runs only as a worker thread (src/verify-pool.ts)');
const port = parentPort;

port.on('message', (m: { id: number; buf: ArrayBuffer }) => {
  let ok: Uint8Array<ArrayBuffer>;
  try {
    ok = verifyBatch(m.buf);
  } catch (err) {
    port.postMessage({ id: m.id, error: (err as Error).message });
    return;
  }
  port.postMessage({ id: m.id, ok: ok.buffer }, [ok.buffer]);
});

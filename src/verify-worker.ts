/**
 * Worker thread of src/verify-pool.ts: verifies batches of (publicKey, message, signature) with
 * the project's one verifier (chain/ed25519.ts `verifySignature`; no rule lives here).
 *
 * In:  {id, buf}  buf = the batch encoded by `encodeVerifyBatch` (transferred, not copied).
 * Out: {id, ok}   ok = one byte per item, 1 = valid (transferred back); or {id, error} if the
 *                 batch could not be read (a bug in the pool, reported instead of crashing).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort } from 'node:worker_threads';
import { keyObjectsImported } from '../chain/ed25519.js';
import { ImportedKeyCollector } from './key-garbage.js';
import { verifyBatch } from './verify-batch.js';

if (parentPort === null) throw new Error('verify-worker.ts runs only as a worker thread (src/verify-pool.ts)');
const port = parentPort;

const keyGarbage = new ImportedKeyCollector(keyObjectsImported, fullCollection());

/**
 * This thread's full garbage collection (why it needs one: src/key-garbage.ts). A worker cannot be
 * started with --expose-gc (Node refuses V8 flags in execArgv); set at run time, the flag gives
 * contexts made after it a `gc` function. Should a runtime ever not provide it, the thread still
 * verifies and leaves collection to V8, as before: memory, never answers, depends on it.
 */
function fullCollection(): () => void {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    if (typeof gc === 'function') return gc as () => void;
  } catch {
    // fall through
  }
  return () => undefined;
}

port.on('message', (m: { id: number; buf: ArrayBuffer }) => {
  let ok: Uint8Array<ArrayBuffer>;
  try {
    ok = verifyBatch(m.buf);
  } catch (err) {
    port.postMessage({ id: m.id, error: (err as Error).message });
    return;
  }
  port.postMessage({ id: m.id, ok: ok.buffer }, [ok.buffer]);
  keyGarbage.afterBatch(); // after the answer is on its way: the collection delays no caller
});

/**
 * Small helpers over libp2p 3 streams: waiting for `drain` (NOT `stream.onDrain()`, which in
 * @libp2p/utils 7.4 resolves immediately after the first drain) and reading frames with a
 * limit checked on each length prefix.
 */
import type { Stream, StreamMessageEvent } from '@libp2p/interface';
import { P2pCode, P2pError } from './errors.js';
import { FrameDecoder } from './framing.js';

/** Send `buf`, then wait until the stream can take more (backpressure). */
export async function sendWithBackpressure(stream: Stream, buf: Uint8Array): Promise<void> {
  if (stream.writeStatus !== 'writable') throw new P2pError(P2pCode.StreamFailed, `stream not writable (${stream.writeStatus})`);
  const more = stream.send(buf);
  if (more && !stream.writableNeedsDrain) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err: Error | null) => {
      stream.removeEventListener('drain', onDrain);
      stream.removeEventListener('close', onClose);
      if (err === null) resolve();
      else reject(err);
    };
    const onDrain = () => done(null);
    const onClose = () => done(new P2pError(P2pCode.StreamFailed, 'stream closed while waiting to drain'));
    stream.addEventListener('drain', onDrain);
    stream.addEventListener('close', onClose);
  });
}

/**
 * Read exactly one frame from `stream` (a request or a response). Rejects with the decoder's
 * `frame-too-large` / `decode-failed`, with `stream-failed` if the stream ends first, and with
 * `signal`'s reason when aborted. The stream is aborted on any failure.
 */
export function readOneFrame(stream: Stream, maxFrameBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  const decoder = new FrameDecoder(maxFrameBytes);
  return new Promise<Uint8Array>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, frame?: Uint8Array) => {
      if (settled) return;
      settled = true;
      stream.removeEventListener('message', onMessage);
      stream.removeEventListener('close', onClose);
      stream.removeEventListener('remoteCloseWrite', onRemoteEnd);
      signal?.removeEventListener('abort', onAbort);
      if (err !== null) {
        stream.abort(err);
        reject(err);
      } else resolve(frame!);
    };
    const onMessage = (e: StreamMessageEvent) => {
      try {
        const frames = decoder.push(e.data);
        if (frames.length > 1) finish(new P2pError(P2pCode.DecodeFailed, 'more than one frame'));
        else if (frames.length === 1) finish(null, frames[0]);
      } catch (err) {
        finish(err as Error);
      }
    };
    const onClose = () => finish(new P2pError(P2pCode.StreamFailed, 'stream ended before a full frame'));
    // The remote's end-of-write may be signalled before queued 'message' events run: let them run first.
    const onRemoteEnd = () => setImmediate(onClose);
    const onAbort = () => finish(signal!.reason instanceof Error ? signal!.reason : new P2pError(P2pCode.Timeout, 'aborted'));
    if (signal?.aborted) return onAbort();
    stream.addEventListener('message', onMessage);
    stream.addEventListener('close', onClose);
    stream.addEventListener('remoteCloseWrite', onRemoteEnd);
    signal?.addEventListener('abort', onAbort);
  });
}

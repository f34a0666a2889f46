import { describe, expect, it } from 'vitest';
import { decodeSyncRequest, decodeSyncResponse, encodeSyncRequest, encodeSyncResponse, SYNC_MAX_COUNT } from '../../src/block-sync.js';
import { P2pError } from '../../p2p/errors.js';

function code(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof P2pError ? err.code : 'other';
  }
}

describe('block sync wire format (docs/p2p.md "Block sync")', () => {
  it('round-trips a request and refuses malformed ones with decode-failed', () => {
    expect(decodeSyncRequest(encodeSyncRequest(7, 64))).toEqual({ fromHeight: 7, count: 64 });
    expect(code(() => decodeSyncRequest(new Uint8Array(11)))).toBe('decode-failed');
    expect(code(() => decodeSyncRequest(new Uint8Array(13)))).toBe('decode-failed');
    expect(code(() => decodeSyncRequest(encodeSyncRequest(0, 1)))).toBe('decode-failed');
    expect(code(() => decodeSyncRequest(encodeSyncRequest(1, 0)))).toBe('decode-failed');
    expect(code(() => decodeSyncRequest(encodeSyncRequest(1, SYNC_MAX_COUNT + 1)))).toBe('decode-failed');
    const huge = Buffer.from(encodeSyncRequest(1, 1));
    huge.writeBigUInt64BE(2n ** 63n, 0);
    expect(code(() => decodeSyncRequest(huge))).toBe('decode-failed');
  });

  it('round-trips a response and refuses truncated, padded or oversized ones', () => {
    const entries = [
      { block: new Uint8Array([1, 2, 3]), cert: new Uint8Array([4]) },
      { block: new Uint8Array([5]), cert: new Uint8Array([]) },
    ];
    const bytes = encodeSyncResponse(9, entries);
    const back = decodeSyncResponse(bytes);
    expect(back.finalHeight).toBe(9);
    expect(back.entries.map((e) => [...e.block, -1, ...e.cert])).toEqual([[1, 2, 3, -1, 4], [5, -1]]);
    expect(decodeSyncResponse(encodeSyncResponse(3, [])).entries).toEqual([]);
    expect(code(() => decodeSyncResponse(bytes.subarray(0, bytes.length - 1)))).toBe('decode-failed');
    expect(code(() => decodeSyncResponse(Buffer.concat([bytes, Buffer.from([0])])))).toBe('decode-failed');
    expect(code(() => decodeSyncResponse(new Uint8Array(5)))).toBe('decode-failed');
    const many = Buffer.from(encodeSyncResponse(1, []));
    many.writeUInt32BE(SYNC_MAX_COUNT + 1, 8);
    expect(code(() => decodeSyncResponse(many))).toBe('decode-failed');
  });
});

/** The `/timecoin/forkpoll/1` wire format (src/fork-poll.ts): round trips and typed refusals. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { P2pError } from '../../p2p/errors.js';
import { decodeForkPollRequest, decodeForkPollResponse, encodeForkPollRequest, encodeForkPollResponse } from '../../src/fork-poll.js';

function code(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof P2pError ? err.code : 'other';
  }
}

describe('forkpoll wire format', () => {
  it('round-trips requests and refuses other lengths or heights past 2^53 − 1', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (h) => {
      expect(decodeForkPollRequest(encodeForkPollRequest(h))).toBe(h);
    }));
    expect(code(() => decodeForkPollRequest(new Uint8Array(7)))).toBe('decode-failed');
    expect(code(() => decodeForkPollRequest(new Uint8Array(9)))).toBe('decode-failed');
    expect(code(() => decodeForkPollRequest(new Uint8Array(8).fill(0xff)))).toBe('decode-failed');
    expect(() => encodeForkPollRequest(-1)).toThrow(RangeError);
  });

  it('round-trips responses (a hash or none) and refuses anything else', () => {
    const hash = new Uint8Array(32).map((_, i) => i);
    expect(decodeForkPollResponse(encodeForkPollResponse(hash))).toEqual(hash);
    expect(decodeForkPollResponse(encodeForkPollResponse(null))).toBeNull();
    expect(encodeForkPollResponse(null)).toEqual(Uint8Array.of(0));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const ok = (bytes.length === 1 && bytes[0] === 0) || (bytes.length === 33 && bytes[0] === 1);
        expect(code(() => decodeForkPollResponse(bytes))).toBe(ok ? null : 'decode-failed');
      }),
    );
    expect(code(() => decodeForkPollResponse(Uint8Array.of(2, ...hash)))).toBe('decode-failed');
  });
});

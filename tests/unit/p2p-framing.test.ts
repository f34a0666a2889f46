import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { P2pCode, P2pError } from '../../p2p/errors.js';
import { encodeFrame, encodeFrames, FrameDecoder } from '../../p2p/framing.js';
import { PROTOCOLS, protocolById, protocolByName, resolveProtocols } from '../../p2p/protocols.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof P2pError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('framing', () => {
  it('round-trips a batch of frames fed one byte at a time', () => {
    const frames = [Buffer.from('a'), Buffer.alloc(300, 7), Buffer.from('hello')];
    const wire = encodeFrames(frames);
    const d = new FrameDecoder(1000);
    const out: Uint8Array[] = [];
    for (const b of wire) out.push(...d.push(Uint8Array.of(b)));
    expect(out.map((f) => Buffer.from(f).toString('hex'))).toEqual(frames.map((f) => f.toString('hex')));
    expect(d.idle).toBe(true);
  });

  it('accepts a Uint8ArrayList-like iterable of chunks', () => {
    const wire = encodeFrame(Buffer.from('xyz'));
    const d = new FrameDecoder(10);
    expect(d.push([wire.subarray(0, 2), wire.subarray(2)]).map((f) => Buffer.from(f).toString())).toEqual(['xyz']);
  });

  it('refuses an oversized frame on its 4-byte prefix, before buffering any body byte', () => {
    const d = new FrameDecoder(100);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(0xffff_ffff);
    let err: unknown;
    try {
      d.push(prefix);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(P2pError);
    expect((err as P2pError).code).toBe(P2pCode.FrameTooLarge);
    expect((err as P2pError).meta).toMatchObject({ announced: 0xffff_ffff, limit: 100 });
    expect(d.buffered).toBe(0);
    // poisoned: framing is lost
    expect(codeOf(() => d.push(Buffer.from('a')))).toBe(P2pCode.FrameTooLarge);
  });

  it('accepts exactly the limit, refuses limit + 1', () => {
    expect(new FrameDecoder(5).push(encodeFrame(Buffer.alloc(5, 1)))).toHaveLength(1);
    expect(codeOf(() => new FrameDecoder(5).push(encodeFrame(Buffer.alloc(6, 1))))).toBe(P2pCode.FrameTooLarge);
  });

  it('refuses an empty frame', () => {
    expect(codeOf(() => new FrameDecoder(5).push(Buffer.alloc(4)))).toBe(P2pCode.DecodeFailed);
  });

  it('buffers only what arrived, not what was announced', () => {
    const d = new FrameDecoder(1_000_000);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(1_000_000);
    d.push(prefix);
    d.push(Buffer.alloc(10));
    expect(d.buffered).toBe(10);
  });

  it('fuzz: random chunks never crash, only P2pError; valid batches always decode', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), fc.integer({ min: 1, max: 200 }), (chunks, max) => {
        const d = new FrameDecoder(max);
        for (const c of chunks) {
          try {
            for (const f of d.push(c)) expect(f.length).toBeLessThanOrEqual(max);
          } catch (e) {
            expect(e).toBeInstanceOf(P2pError);
            return;
          }
          expect(d.buffered).toBeLessThanOrEqual(max + 4);
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 100 }), { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: 50 }), (frames, cut) => {
        const wire = encodeFrames(frames);
        const d = new FrameDecoder(100);
        const out: Uint8Array[] = [];
        for (let i = 0; i < wire.length; i += cut) out.push(...d.push(wire.subarray(i, i + cut)));
        expect(out.map((f) => Buffer.from(f).toString('hex'))).toEqual(frames.map((f) => Buffer.from(f).toString('hex')));
      }),
      { numRuns: 500 },
    );
  });
});

describe('protocol table', () => {
  it('has the TIME Coin quotas and unique ids', () => {
    expect(protocolByName('tx').quota.perSecond).toBe(50);
    expect(protocolByName('consensus').quota.perSecond).toBe(100);
    expect(protocolByName('block').quota.perSecond).toBe(10);
    expect(protocolByName('sync').quota).toEqual({ burst: 100, perSecond: 10 }); // 100 per 10 s
    expect(new Set(PROTOCOLS.map((p) => p.id)).size).toBe(PROTOCOLS.length);
    for (const p of PROTOCOLS) {
      expect(p.id).toMatch(/^\/timecoin\/[a-z-]+\/[1-9][0-9]*$/);
      expect(p.masternodeOnly ? p.envelope : true).toBe(true); // masternode-only implies a signed sender
      expect(p.kind === 'request' ? p.maxResponseBytes > 0 : p.maxResponseBytes === 0).toBe(true);
    }
  });

  it('unknown ids are a typed refusal; overrides keep ids', () => {
    expect(codeOf(() => protocolById('/timecoin/nope/1'))).toBe(P2pCode.UnknownProtocol);
    const t = resolveProtocols({ tx: { maxFrameBytes: 10 } });
    expect(t.get('tx')).toMatchObject({ id: '/timecoin/tx/2', maxFrameBytes: 10 });
  });
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSigner, generateSecretKey } from '../../chain/ed25519.js';
import { admitEnvelope, openEnvelope, sealEnvelope, verifyEnvelope } from '../../p2p/envelope.js';
import { protocolByName } from '../../p2p/protocols.js';
import { P2pCode, P2pError } from '../../p2p/errors.js';
import { NONCE_FILE, NonceSource } from '../../p2p/nonce.js';
import { ReplayGuard } from '../../p2p/replay-guard.js';

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof P2pError && e.code === P2pCode.Replay) return String(e.meta?.reason);
    throw e;
  }
  return 'ok';
}

describe('replay guard', () => {
  it('refuses seen, stale and future envelopes and counts them', () => {
    const g = new ReplayGuard({ windowMs: 1000, futureMs: 100, maxEntries: 10 });
    expect(reasonOf(() => g.check('a', 1n, 5000, 5000))).toBe('ok');
    g.record('a', 1n, 5000, 5000);
    expect(reasonOf(() => g.check('a', 1n, 5000, 5001))).toBe('seen');
    expect(reasonOf(() => g.check('b', 1n, 5000, 5001))).toBe('ok'); // nonce is per sender
    expect(reasonOf(() => g.check('a', 2n, 3999, 5000))).toBe('stale');
    expect(reasonOf(() => g.check('a', 2n, 5101, 5000))).toBe('future');
    expect(g.rejected).toEqual({ seen: 1, stale: 1, future: 1 });
  });

  it('stays within maxEntries; an evicted entry cannot be replayed (floor)', () => {
    const g = new ReplayGuard({ windowMs: 60_000, futureMs: 0, maxEntries: 100 });
    for (let i = 0; i < 1000; i++) g.record('a', BigInt(i), 1000 + i, 2000);
    expect(g.size).toBe(100);
    // nonce 0 was evicted long ago, still inside the time window: refused by the floor
    expect(reasonOf(() => g.check('a', 0n, 1000, 2000))).toBe('stale');
    expect(reasonOf(() => g.check('a', 999n, 1999, 2000))).toBe('seen');
    expect(reasonOf(() => g.check('a', 1000n, 2000, 2000))).toBe('ok');
  });

  it('prune drops entries out of the window', () => {
    const g = new ReplayGuard({ windowMs: 100, futureMs: 0, maxEntries: 100 });
    for (let i = 0; i < 10; i++) g.record('a', BigInt(i), i * 10, 100);
    g.prune(150);
    expect(g.size).toBe(5);
  });
});

describe('envelope', () => {
  const s = createSigner(generateSecretKey());
  it('seals, opens and verifies; bound to network and protocol', () => {
    const wire = sealEnvelope(s, 'testnet', '/timecoin/consensus/1', 42n, 1234, Buffer.from('payload'));
    const env = openEnvelope(wire);
    expect(Buffer.from(env.sender).equals(Buffer.from(s.publicKey))).toBe(true);
    expect(env.nonce).toBe(42n);
    expect(env.timestampMs).toBe(1234);
    expect(Buffer.from(env.payload).toString()).toBe('payload');
    expect(verifyEnvelope(env, 'testnet', '/timecoin/consensus/1')).toBe(true);
    expect(verifyEnvelope(env, 'mainnet', '/timecoin/consensus/1')).toBe(false);
    expect(verifyEnvelope(env, 'testnet', '/timecoin/heartbeat/1')).toBe(false);
    const tampered = Buffer.from(wire);
    tampered[60]! ^= 1;
    expect(verifyEnvelope(openEnvelope(tampered), 'testnet', '/timecoin/consensus/1')).toBe(false);
  });

  it('refuses short or unknown-version bytes with decode-failed', () => {
    const wire = Buffer.from(sealEnvelope(s, 'dev', '/x', 1n, 1, Buffer.from('p')));
    expect(() => openEnvelope(wire.subarray(0, 50))).toThrow(expect.objectContaining({ code: P2pCode.DecodeFailed }));
    wire[0] = 2;
    expect(() => openEnvelope(wire)).toThrow(expect.objectContaining({ code: P2pCode.DecodeFailed }));
  });
});

describe('admitEnvelope', () => {
  const s = createSigner(generateSecretKey());
  const spec = protocolByName('consensus');
  const ctx = (replay: ReplayGuard, active = true) => ({ peerKey: s.publicKey, network: 'dev', spec, isActiveMasternode: () => active, replay, now: 10_000 });

  it('admits once, then refuses the copy; checks sender, masternode, signature', () => {
    const g = new ReplayGuard();
    const wire = sealEnvelope(s, 'dev', spec.id, 1n, 10_000, Buffer.from('v'));
    expect(Buffer.from(admitEnvelope(wire, ctx(g))).toString()).toBe('v');
    expect(() => admitEnvelope(wire, ctx(g))).toThrow(expect.objectContaining({ code: P2pCode.Replay }));
    const other = createSigner(generateSecretKey());
    expect(() => admitEnvelope(sealEnvelope(other, 'dev', spec.id, 2n, 10_000, Buffer.from('v')), ctx(g))).toThrow(expect.objectContaining({ code: P2pCode.BadSignature }));
    expect(() => admitEnvelope(sealEnvelope(s, 'dev', spec.id, 3n, 10_000, Buffer.from('v')), ctx(g, false))).toThrow(expect.objectContaining({ code: P2pCode.NotMasternode }));
    // a forged signature is refused and NOT recorded: the genuine envelope with that nonce still passes
    const genuine = Buffer.from(sealEnvelope(s, 'dev', spec.id, 4n, 10_000, Buffer.from('v')));
    const forged = Buffer.from(genuine);
    forged[forged.length - 1]! ^= 1;
    expect(() => admitEnvelope(forged, ctx(g))).toThrow(expect.objectContaining({ code: P2pCode.BadSignature }));
    expect(Buffer.from(admitEnvelope(genuine, ctx(g))).toString()).toBe('v');
  });

  it('fuzz: random bytes are only ever refused with a P2pError', () => {
    const g = new ReplayGuard();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          admitEnvelope(bytes, ctx(g));
        } catch (e) {
          expect(e).toBeInstanceOf(P2pError);
          return;
        }
        throw new Error('random bytes admitted');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('nonce source', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p2p-nonce-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is strictly increasing across simulated restarts, even when the clock steps back', async () => {
    let last = -1n;
    // restarts at t = 1,000,000 ms, then the clock jumps back an hour, then to 0
    for (const t0 of [1_000_000, 1_000_000 - 3_600_000, 0]) {
      const src = await NonceSource.open(dir, t0); // a restart: a new process reading the same file
      for (let i = 0; i < 1000; i++) {
        const n = src.next(t0 + Math.floor(i / 10)); // many nonces per millisecond too
        expect(n > last).toBe(true);
        last = n;
      }
      expect(src.storedCeiling >= last).toBe(true); // what is on disk covers what was handed out
      expect(BigInt((await readFile(join(dir, NONCE_FILE), 'utf8')).trim())).toBe(src.storedCeiling);
    }
  });

  it('a lost data directory still starts above earlier nonces while the clock moves forward', async () => {
    const first = await NonceSource.open(dir, 5_000);
    const used = first.next(5_000);
    await rm(join(dir, NONCE_FILE));
    const fresh = await NonceSource.open(dir, 5_001);
    expect(fresh.next(5_001) > used).toBe(true);
  });

  it('normal running rewrites the ceiling about once a minute, not per nonce', async () => {
    const src = await NonceSource.open(dir, 0);
    const c0 = src.storedCeiling;
    for (let t = 0; t < 59_000; t += 100) src.next(t);
    expect(src.storedCeiling).toBe(c0);
    src.next(61_000);
    expect(src.storedCeiling > c0).toBe(true);
  });

  it('refuses a corrupt nonce file rather than restarting at 0', async () => {
    await writeFile(join(dir, NONCE_FILE), 'garbage');
    await expect(NonceSource.open(dir, 0)).rejects.toThrow(/corrupt/);
  });
});

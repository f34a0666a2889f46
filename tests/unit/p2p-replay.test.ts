import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSigner, generateSecretKey } from '../../chain/ed25519.js';
import { openEnvelope, sealEnvelope, verifyEnvelope } from '../../p2p/envelope.js';
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

describe('nonce source', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p2p-nonce-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is strictly increasing within a boot and across simulated restarts', async () => {
    let last = -1n;
    for (let boot = 1; boot <= 3; boot++) {
      const src = await NonceSource.open(dir); // a restart: a new process reading the same file
      expect(src.bootCounter).toBe(boot);
      for (let i = 0; i < 1000; i++) {
        const n = src.next();
        expect(n > last).toBe(true);
        last = n;
      }
    }
    expect((await readFile(join(dir, NONCE_FILE), 'utf8')).trim()).toBe('3');
  });

  it('a boot that handed out nothing still moves the counter (crash before first use)', async () => {
    await NonceSource.open(dir);
    const b = await NonceSource.open(dir);
    expect(b.next()).toBe((2n << 32n) | 1n);
  });

  it('refuses a corrupt counter file rather than restarting at 0', async () => {
    await writeFile(join(dir, NONCE_FILE), 'garbage');
    await expect(NonceSource.open(dir)).rejects.toThrow(/corrupt/);
  });
});

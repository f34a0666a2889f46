import { describe, expect, it } from 'vitest';
import { P2pCode } from '../../p2p/errors.js';
import { PeerScores, PENALTIES } from '../../p2p/peer-score.js';
import { RateLimiter, TokenBucket } from '../../p2p/rate-limit.js';

describe('token bucket and rate limiter', () => {
  it('allows the burst, then refills at the rate', () => {
    const b = new TokenBucket({ burst: 3, perSecond: 2 }, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(499)).toBe(false);
    expect(b.take(500)).toBe(true); // 0.5 s × 2/s = 1 token
    expect(b.available(10_000)).toBe(3); // capped at burst
  });

  it('a clock stepping back mints nothing', () => {
    const b = new TokenBucket({ burst: 1, perSecond: 1 }, 10_000);
    expect(b.take(10_000)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.take(10_500)).toBe(false);
    expect(b.take(11_000)).toBe(true);
  });

  it('keys buckets by peer and protocol and bounds its state', () => {
    const r = new RateLimiter(3);
    const q = { burst: 1, perSecond: 1 };
    expect(r.allow('a', 'tx', q, 0)).toBe(true);
    expect(r.allow('a', 'tx', q, 0)).toBe(false);
    expect(r.allow('a', 'consensus', q, 0)).toBe(true);
    expect(r.allow('b', 'tx', q, 0)).toBe(true);
    for (let i = 0; i < 100; i++) r.allow(`p${i}`, 'tx', q, 0);
    expect(r.size).toBe(3);
    r.forget('p99');
    expect(r.size).toBe(2);
  });
});

describe('peer scores', () => {
  const cfg = { banThreshold: -100, banMs: 60_000, halfLifeMs: 10_000, maxPeers: 3, maxBans: 2 };

  it('penalties come from the one table; every code has one', () => {
    for (const code of Object.values(P2pCode)) expect(PENALTIES[code]).toBeGreaterThanOrEqual(0);
    const s = new PeerScores(cfg);
    expect(s.penalize('a', P2pCode.DecodeFailed, 0)).toEqual({ score: -20, ban: false });
  });

  it('decays by half each half-life', () => {
    const s = new PeerScores(cfg);
    s.penalize('a', P2pCode.BadSignature, 0); // −50
    expect(s.score('a', 10_000)).toBeCloseTo(-25);
    expect(s.score('a', 20_000)).toBeCloseTo(-12.5);
    s.prune(200_000);
    expect(s.size.scores).toBe(0);
  });

  it('crossing the threshold bans once, for banMs', () => {
    const s = new PeerScores(cfg);
    expect(s.penalize('a', P2pCode.BadSignature, 0).ban).toBe(false);
    expect(s.penalize('a', P2pCode.BadSignature, 0).ban).toBe(true);
    expect(s.penalize('a', P2pCode.BadSignature, 1).ban).toBe(false); // already banned
    expect(s.isBanned('a', 59_999)).toBe(true);
    expect(s.isBanned('a', 60_000)).toBe(false);
    expect(s.score('a', 60_000)).toBe(0); // a served ban starts clean
  });

  it('a slow trickle of rate-limit strikes decays; a flood bans', () => {
    const s = new PeerScores(cfg);
    for (let t = 0; t < 600_000; t += 1000) expect(s.penalize('slow', P2pCode.RateLimited, t).ban).toBe(false);
    let banned = false;
    for (let i = 0; i < 60 && !banned; i++) banned = s.penalize('flood', P2pCode.RateLimited, 0).ban;
    expect(banned).toBe(true);
  });

  it('frame-too-large bans at once; state is bounded', () => {
    const s = new PeerScores(cfg);
    expect(s.penalize('x', P2pCode.FrameTooLarge, 0).ban).toBe(true);
    for (let i = 0; i < 50; i++) s.penalize(`p${i}`, P2pCode.FrameTooLarge, 0);
    expect(s.size.scores).toBeLessThanOrEqual(3);
    expect(s.size.bans).toBeLessThanOrEqual(2);
    s.unban('p49');
    expect(s.isBanned('p49', 1)).toBe(false);
  });
});

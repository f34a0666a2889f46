/**
 * Hostile peers over REAL libp2p on loopback: an oversized frame refused on its prefix, a flood
 * rate-limited then banned and disconnected, replayed / stale / relayed envelopes refused and
 * counted, and the per-IP connection cap. Attackers write raw bytes on raw libp2p streams.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSigner } from '../../chain/ed25519.js';
import { peerIdFromString } from '@libp2p/peer-id';
import { sealEnvelope } from '../../p2p/envelope.js';
import { P2pCode, P2pError } from '../../p2p/errors.js';
import { encodeFrames } from '../../p2p/framing.js';
import { protocolByName } from '../../p2p/protocols.js';
import { link, MasternodeSet, metricValue, peersOf, startNode, stopAll, waitFor, type TestNode } from './p2p-harness.js';

afterEach(stopAll);

/** Open a raw stream from `from` to `to` on a protocol id and write `bytes` as they are. */
async function rawSend(from: TestNode, to: TestNode, protocolId: string, bytes: Uint8Array): Promise<void> {
  const stream = await from.net.node.dialProtocol(peerIdFromString(to.net.peerId), protocolId);
  stream.send(bytes);
}

describe('p2p abuse on loopback', () => {
  it('a frame over the limit is refused on its prefix, the sender banned and disconnected', async () => {
    const set = new MasternodeSet();
    const b = await startNode(set);
    const honest = await startNode(set);
    const attacker = await startNode(set);
    const got: Uint8Array[] = [];
    await b.net.onGossip('tx', (p) => void got.push(p));
    for (const n of [b, honest, attacker]) await n.net.start();
    await link(honest, b);
    await link(attacker, b);
    // 4 bytes announcing ~4 GiB; the body never comes and is never allocated
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(0xffff_fff0);
    await rawSend(attacker, b, protocolByName('tx').id, prefix);
    await waitFor(() => b.net.refusalCount(P2pCode.FrameTooLarge) === 1, 'frame-too-large refusal');
    expect(b.net.scores.isBanned(attacker.net.peerId, Date.now())).toBe(true);
    await waitFor(() => !peersOf(b).includes(attacker.net.peerId), 'attacker disconnected');
    // the ban holds: b's gater drops the reconnect right after the noise handshake names the
    // peer (the dialler may briefly believe it connected, so judge from b's side)
    await attacker.net.connect(b.net.addresses[0]!).catch((e: unknown) => expect(e).toBeInstanceOf(P2pError));
    await waitFor(() => attacker.net.node.getConnections().length === 0, 'reconnect dropped');
    expect(b.net.node.getConnections(peerIdFromString(attacker.net.peerId))).toHaveLength(0);
    expect(peersOf(b)).toEqual([honest.net.peerId]);
    // our own oversized message never leaves
    expect(() => honest.net.send(b.net.peerId, 'tx', Buffer.alloc(protocolByName('tx').maxFrameBytes + 1))).toThrow(expect.objectContaining({ code: P2pCode.FrameTooLarge }));
    honest.net.send(b.net.peerId, 'tx', Buffer.from('ok'));
    await waitFor(() => got.length === 1, 'honest traffic still flows');
  });

  it('a peer flooding over its quota is rate-limited, then banned and disconnected', async () => {
    const set = new MasternodeSet();
    const b = await startNode(set, { protocols: { tx: { quota: { burst: 5, perSecond: 1 } } } });
    const flooder = await startNode(set);
    let delivered = 0;
    await b.net.onGossip('tx', () => void delivered++);
    await b.net.start();
    await flooder.net.start();
    await link(flooder, b);
    for (let i = 0; i < 100; i++) flooder.net.send(b.net.peerId, 'tx', Buffer.from(`spam-${i}`));
    // 5 pass; each refusal costs 2 points, the 50th reaches −100: ban + disconnect
    await waitFor(() => b.net.scores.isBanned(flooder.net.peerId, Date.now()), 'flooder banned');
    await waitFor(() => peersOf(b).length === 0, 'flooder disconnected');
    expect(delivered).toBeGreaterThanOrEqual(5);
    expect(delivered).toBeLessThanOrEqual(6); // a refill of at most one token during the test
    expect(b.net.refusalCount(P2pCode.RateLimited)).toBeGreaterThanOrEqual(50);
    expect(await metricValue(b, 'rate_limited_total', { scope: 'p2p' })).toBe(b.net.refusalCount(P2pCode.RateLimited));
  });

  it('replayed, stale and relayed envelopes are refused and counted', async () => {
    const set = new MasternodeSet();
    const a = await startNode(set, { masternode: true });
    const b = await startNode(set, { masternode: true });
    const c = await startNode(set, { masternode: true });
    const seen: string[] = [];
    await b.net.onGossip('consensus', (p) => void seen.push(Buffer.from(p).toString()));
    for (const n of [a, b, c]) await n.net.start();
    await link(a, b);
    const id = '/timecoin/consensus/1';
    const signerA = createSigner(a.secret!);
    const env = sealEnvelope(signerA, 'dev', id, 7n, Date.now(), Buffer.from('commit h=3'));
    const stale = sealEnvelope(signerA, 'dev', id, 8n, Date.now() - 10 * 60_000, Buffer.from('old'));
    const otherNet = sealEnvelope(signerA, 'testnet', id, 9n, Date.now(), Buffer.from('wrong network'));
    // a relays an envelope signed by c: the sender is not the authenticated peer
    const relayed = sealEnvelope(createSigner(c.secret!), 'dev', id, 1n, Date.now(), Buffer.from('relayed'));
    await rawSend(a, b, id, encodeFrames([env, env, stale, otherNet, relayed]));
    await waitFor(() => b.net.refusalCount(P2pCode.BadSignature) === 2, 'all frames processed');
    expect(seen).toEqual(['commit h=3']);
    expect(b.net.refusalCount(P2pCode.Replay)).toBe(2); // the copy and the stale one
    expect(b.net.replay.rejected).toMatchObject({ seen: 1, stale: 1 });
    expect(await metricValue(b, 'replay_rejected_total')).toBe(2);
    // 10 + 10 + 50 + 50 = 120 ≥ 100: a is banned too
    expect(b.net.scores.isBanned(a.net.peerId, Date.now())).toBe(true);
  });

  it('requests over quota are refused at stream open and charged', async () => {
    const set = new MasternodeSet();
    const b = await startNode(set, { protocols: { forkpoll: { quota: { burst: 2, perSecond: 0.001 } } } });
    const a = await startNode(set);
    let answered = 0;
    await b.net.onRequest('forkpoll', () => {
      answered++;
      return Buffer.from('hash');
    });
    await a.net.start();
    await b.net.start();
    await link(a, b);
    for (let i = 0; i < 2; i++) expect(Buffer.from(await a.net.request(b.net.peerId, 'forkpoll', Uint8Array.of(i))).toString()).toBe('hash');
    await expect(a.net.request(b.net.peerId, 'forkpoll', Uint8Array.of(3))).rejects.toMatchObject({ code: P2pCode.StreamFailed });
    expect(answered).toBe(2);
    expect(b.net.refusalCount(P2pCode.RateLimited)).toBe(1);
    expect(await metricValue(b, 'rate_limited_total', { scope: 'p2p' })).toBe(1);
  });

  it('caps inbound connections per remote IP', async () => {
    const set = new MasternodeSet();
    const b = await startNode(set, { maxConnectionsPerIp: 1 });
    const first = await startNode(set);
    const second = await startNode(set);
    for (const n of [b, first, second]) await n.net.start();
    await link(first, b);
    await expect(second.net.connect(b.net.addresses[0]!)).rejects.toMatchObject({ code: P2pCode.NotConnected });
    expect(peersOf(b)).toEqual([first.net.peerId]);
  });
});

/**
 * P2pNetwork over REAL libp2p on loopback: identity binding, gossip (batched, in order),
 * masternode-only consensus traffic, request/response with timeouts. No mocked network.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { publicKeyOf } from '../../chain/ed25519.js';
import { toHex } from '../../chain/hash.js';
import { P2pCode, P2pError } from '../../p2p/errors.js';
import { operatorKeyOfPeer, peerIdOfOperatorSecret } from '../../p2p/libp2p.js';
import type { PeerRef } from '../../p2p/network.js';
import { link, MasternodeSet, metricValue, peersOf, startNode, stopAll, waitFor } from './p2p-harness.js';

afterEach(stopAll);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof P2pError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('p2p network on loopback', () => {
  it('binds the libp2p peer id to the operator key, and peers see it', async () => {
    const set = new MasternodeSet();
    const a = await startNode(set, { masternode: true });
    const b = await startNode(set);
    await a.net.start();
    await b.net.start();
    expect(a.net.peerId).toBe(await peerIdOfOperatorSecret(a.secret!));
    expect(toHex(operatorKeyOfPeer(a.net.peerId)!)).toBe(toHex(publicKeyOf(a.secret!)));
    expect(operatorKeyOfPeer('not-a-peer-id')).toBeNull();
    await link(b, a);
    const row = b.net.getPeerInfo().find((p) => p.id === a.net.peerId)!;
    expect(row.masternode).toBe(toHex(publicKeyOf(a.secret!)));
    expect(a.net.getPeerInfo()[0]!.masternode).toBeNull(); // b has no registered key
    expect(b.net.getNetworkInfo()).toMatchObject({ connections: 1, masternodes: 1, networkactive: true });
    expect(await metricValue(b, 'active_peers')).toBe(1);
    expect(await b.net.ping(a.net.peerId)).toBeGreaterThanOrEqual(0);
  });

  it('three nodes: bootstrap dialling, gossip reaches everyone, in order, batched', async () => {
    const set = new MasternodeSet();
    const a = await startNode(set);
    await a.net.start();
    const got = new Map<string, string[]>();
    // A burst of 500 is over the default tx quota (burst 100): raise it to test delivery itself.
    const quota = { tx: { quota: { burst: 10_000, perSecond: 10_000 } } };
    const b = await startNode(set, { bootstrap: a.net.addresses, protocols: quota });
    const c = await startNode(set, { bootstrap: a.net.addresses, protocols: quota });
    for (const n of [a, b, c]) {
      got.set(n.net.peerId, []);
      await n.net.onGossip('tx', (payload) => void got.get(n.net.peerId)!.push(Buffer.from(payload).toString()));
    }
    await b.net.start();
    await c.net.start();
    await waitFor(() => peersOf(a).length === 2, 'bootstrap connections');
    const N = 500;
    for (let i = 0; i < N; i++) expect(a.net.broadcast('tx', Buffer.from(`tx-${i}`))).toBe(2);
    await waitFor(() => got.get(b.net.peerId)!.length === N && got.get(c.net.peerId)!.length === N, 'gossip delivered');
    expect(got.get(b.net.peerId)).toEqual(Array.from({ length: N }, (_, i) => `tx-${i}`));
    expect(await metricValue(b, 'p2p_messages_total', { type: 'tx', direction: 'in' })).toBe(N);
    expect(await metricValue(a, 'p2p_messages_total', { type: 'tx', direction: 'out' })).toBe(2 * N);
    expect(b.net.refusalCount(P2pCode.RateLimited)).toBe(0);
    // one tick's messages share a send (cost is per send): far fewer sends than 2 × 500 messages
    expect(a.net.gossipSends).toBeLessThan(N / 10);
  });

  it('consensus: delivered between masternodes with the sender key; refused from a non-masternode', async () => {
    const set = new MasternodeSet();
    const a = await startNode(set, { masternode: true });
    const b = await startNode(set, { masternode: true });
    const outsider = await startNode(set, { withKey: true }); // has a key, but is not an active masternode
    const seen: Array<{ text: string; from: PeerRef }> = [];
    await b.net.onGossip('consensus', (payload, from) => void seen.push({ text: Buffer.from(payload).toString(), from }));
    for (const n of [a, b, outsider]) await n.net.start();
    await link(a, b);
    await link(outsider, b);
    a.net.send(b.net.peerId, 'consensus', Buffer.from('prepare h=1'));
    await waitFor(() => seen.length === 1, 'consensus delivered');
    expect(seen[0]!.text).toBe('prepare h=1');
    expect(toHex(seen[0]!.from.operatorKey!)).toBe(toHex(publicKeyOf(a.secret!)));
    // broadcast skips peers that are not active masternodes (b is linked to a and outsider)
    expect(b.net.broadcast('consensus', Buffer.from('x'))).toBe(1);
    outsider.net.send(b.net.peerId, 'consensus', Buffer.from('forged vote'));
    await waitFor(() => b.net.refusalCount(P2pCode.NotMasternode) >= 1, 'not-masternode refusal');
    expect(seen).toHaveLength(1);
    expect(b.net.scores.score(outsider.net.peerId, Date.now())).toBeLessThan(0);
    // a node without an operator key cannot even sign one
    const keyless = await startNode(set);
    await keyless.net.start();
    await link(keyless, b);
    expect(() => keyless.net.send(b.net.peerId, 'consensus', Buffer.from('x'))).toThrow(expect.objectContaining({ code: P2pCode.NotMasternode }));
  });

  it('a restarted masternode keeps its peer id and its envelopes are not taken for replays', async () => {
    const set = new MasternodeSet();
    const a = await startNode(set, { masternode: true });
    const b = await startNode(set, { masternode: true });
    const seen: string[] = [];
    await b.net.onGossip('consensus', (p) => void seen.push(Buffer.from(p).toString()));
    await a.net.start();
    await b.net.start();
    await link(a, b);
    a.net.send(b.net.peerId, 'consensus', Buffer.from('before restart'));
    await waitFor(() => seen.length === 1, 'first message');
    await a.net.stop();
    await waitFor(() => peersOf(b).length === 0, 'a gone');
    // same operator secret, same data directory: a new process in all but name
    const again = await startNode(set, { operatorSecret: a.secret, dataDir: a.dir });
    await again.net.start();
    expect(again.net.peerId).toBe(a.net.peerId);
    await link(again, b);
    again.net.send(b.net.peerId, 'consensus', Buffer.from('after restart'));
    await waitFor(() => seen.length === 2, 'message after restart');
    expect(seen).toEqual(['before restart', 'after restart']);
    expect(b.net.refusalCount(P2pCode.Replay)).toBe(0);
    // even with a LOST data directory the clock part of the nonce keeps it fresh: accepted
    await again.net.stop();
    await waitFor(() => peersOf(b).length === 0, 'again gone');
    const lost = await startNode(set, { operatorSecret: a.secret });
    await lost.net.start();
    await link(lost, b);
    lost.net.send(b.net.peerId, 'consensus', Buffer.from('after losing the datadir'));
    await waitFor(() => seen.length === 3, 'message after a lost datadir');
    expect(b.net.refusalCount(P2pCode.Replay)).toBe(0);
  });

  it('carries a full-size block message (2 MB) intact through batching and backpressure', async () => {
    const set = new MasternodeSet();
    const a = await startNode(set);
    const b = await startNode(set);
    const got: Uint8Array[] = [];
    await b.net.onGossip('block', (p) => void got.push(p));
    await a.net.start();
    await b.net.start();
    await link(a, b);
    const big = Buffer.alloc(2_000_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    a.net.send(b.net.peerId, 'block', big);
    a.net.send(b.net.peerId, 'block', Buffer.from('small after big'));
    await waitFor(() => got.length === 2, 'both blocks');
    expect(Buffer.compare(Buffer.from(got[0]!), big)).toBe(0);
    expect(Buffer.from(got[1]!).toString()).toBe('small after big');
  });

  it('request/response, timeout, unhandled protocol, oversized response', async () => {
    const set = new MasternodeSet();
    const a = await startNode(set, { protocols: { forkpoll: { maxResponseBytes: 100 } } });
    const b = await startNode(set);
    await b.net.onRequest('sync', (req, from) => Buffer.concat([Buffer.from('blocks-for:'), req, Buffer.from(`:${from.id === a.net.peerId}`)]));
    await b.net.onRequest('forkpoll', (req) => (req[0] === 1 ? Buffer.alloc(101, 1) : new Promise<Uint8Array>(() => undefined)));
    await a.net.start();
    await b.net.start();
    await link(a, b);
    const res = await a.net.request(b.net.peerId, 'sync', Buffer.from('h=5'));
    expect(Buffer.from(res).toString()).toBe('blocks-for:h=5:true');
    const t0 = Date.now();
    expect(await codeOf(a.net.request(b.net.peerId, 'forkpoll', Uint8Array.of(0), 300))).toBe(P2pCode.Timeout);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await codeOf(a.net.request(b.net.peerId, 'mempool-digest', Uint8Array.of(0)))).toBe(P2pCode.UnknownProtocol);
    expect(await codeOf(a.net.request(b.net.peerId, 'tx' as never, Uint8Array.of(1)))).toBe(P2pCode.UnknownProtocol);
    // the connection survived the timeout and the refusal
    expect(Buffer.from(await a.net.request(b.net.peerId, 'sync', Buffer.from('h=6'))).toString()).toBe('blocks-for:h=6:true');
    // b answers 101 bytes where a accepts 100: refused on the prefix; an oversized frame is a
    // deliberate violation, so b is banned at once and disconnected
    expect(await codeOf(a.net.request(b.net.peerId, 'forkpoll', Uint8Array.of(1)))).toBe(P2pCode.FrameTooLarge);
    expect(a.net.refusalCount(P2pCode.FrameTooLarge)).toBe(1);
    expect(a.net.scores.isBanned(b.net.peerId, Date.now())).toBe(true);
    await waitFor(() => peersOf(a).length === 0, 'banned peer disconnected');
    expect(await codeOf(a.net.request(b.net.peerId, 'sync', Buffer.from('h=7')))).toBe(P2pCode.Banned);
  });
});

/**
 * The driver seam over REAL libp2p: consensus messages encoded with the consensus codec travel
 * between two masternodes (broadcast and directed send by operator key) and arrive decoded with
 * the sender's peer id; garbage on the consensus protocol costs its sender `decode-failed`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSigner, publicKeyOf } from '../../chain/ed25519.js';
import { encodeMessage } from '../../consensus/codec.js';
import { signVote } from '../../consensus/messages.js';
import { MsgType, type ConsensusMessage } from '../../consensus/types.js';
import { attachConsensus, consensusTransport, peerIdOfOperatorKey, reportConsensusRejection } from '../../p2p/consensus-link.js';
import { P2pCode, type P2pError } from '../../p2p/errors.js';
import { link, MasternodeSet, startNode, stopAll, waitFor } from './p2p-harness.js';

afterEach(stopAll);

const hex = (m: ConsensusMessage): string => encodeMessage(m).toString('hex');

describe('consensus link', () => {
  it('carries real consensus messages both ways and reports drops', async () => {
    const set = new MasternodeSet();
    const a = await startNode(set, { masternode: true });
    const b = await startNode(set, { masternode: true });
    const atB: Array<{ msg: ConsensusMessage; from: string }> = [];
    const atA: Array<{ msg: ConsensusMessage; from: string }> = [];
    await attachConsensus(b.net, (msg, from) => void atB.push({ msg, from }));
    await attachConsensus(a.net, (msg, from) => void atA.push({ msg, from }));
    await a.net.start();
    await b.net.start();
    await link(a, b);
    expect(peerIdOfOperatorKey(publicKeyOf(a.secret!))).toBe(a.net.peerId);

    const chainId = new Uint8Array(32).fill(9);
    const vote = signVote(createSigner(a.secret!), chainId, MsgType.Prepare, 1, 0, new Uint8Array(32).fill(1));
    const drops: P2pError[] = [];
    consensusTransport(a.net, (e) => void drops.push(e)).broadcast(vote);
    await waitFor(() => atB.length === 1, 'vote at b');
    expect(atB[0]!.from).toBe(a.net.peerId);
    expect(hex(atB[0]!.msg)).toBe(hex(vote));

    const reply = signVote(createSigner(b.secret!), chainId, MsgType.Commit, 1, 0, new Uint8Array(32).fill(1));
    consensusTransport(b.net).send(publicKeyOf(a.secret!), reply);
    await waitFor(() => atA.length === 1, 'directed reply at a');
    expect(hex(atA[0]!.msg)).toBe(hex(reply));

    // a send to a masternode we are not connected to is dropped and reported, never thrown
    consensusTransport(a.net, (e) => void drops.push(e)).send(publicKeyOf(new Uint8Array(32).fill(3)), vote);
    expect(drops.map((e) => e.code)).toEqual([P2pCode.NotConnected]);

    // bytes that are not a consensus message: decode-failed, charged to the sender
    a.net.send(b.net.peerId, 'consensus', Buffer.from('not a consensus message'));
    await waitFor(() => b.net.refusalCount(P2pCode.DecodeFailed) === 1, 'decode-failed');
    expect(atB).toHaveLength(1);
    // the engine's provable refusals are charged through the same table
    const before = b.net.scores.score(a.net.peerId, Date.now());
    reportConsensusRejection(b.net, a.net.peerId, 'stale-view'); // a race, not misbehaviour
    reportConsensusRejection(b.net, a.net.peerId, 'bad-signature');
    expect(b.net.scores.score(a.net.peerId, Date.now())).toBeLessThan(before - 49);
  });
});

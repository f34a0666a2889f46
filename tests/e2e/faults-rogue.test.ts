/**
 * Rogue peers against a real testnet: validators 0–2 run as processes (3 of 4 is a quorum),
 * validator 3 does not run. The rogues are in-process `P2pNetwork`s (real libp2p on loopback)
 * that dial node 0:
 *  - a flooder far over its `/timecoin/tx/2` quota is banned (getnetworkinfo.banned, dropped
 *    from getpeerinfo, rate_limited_total on /metrics) while a transaction still becomes final;
 *  - a peer whose key is no active masternode sending a signed consensus vote is refused at the
 *    masternode-only gate (its score drops; the chain is unchanged by it);
 *  - a rogue holding validator 3's operator key sends one valid signed envelope twice: the copy
 *    is refused and counted in replay_rejected_total.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { peerIdFromString } from '@libp2p/peer-id';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAddress } from '../../chain/address.js';
import { createSigner, generateSecretKey } from '../../chain/ed25519.js';
import { fromHex, toHex } from '../../chain/hash.js';
import { buildTransfer } from '../../chain/tx-builder.js';
import { encodeMessage } from '../../consensus/codec.js';
import { signVote } from '../../consensus/messages.js';
import { MsgType } from '../../consensus/types.js';
import { sealEnvelope } from '../../p2p/envelope.js';
import { encodeFrames } from '../../p2p/framing.js';
import { P2pNetwork } from '../../p2p/network.js';
import { protocolByName } from '../../p2p/protocols.js';
import { encodeTxBatches } from '../../p2p/tx-batch.js';
import { coinsOf, tempDir, waitFor } from './helpers.js';
import { TestnetHarness } from './testnet-harness.js';

const RUNNING = [0, 1, 2];
const TARGET = 0;
/** p2p.banMs of every node (the default is 10 min). */
const BAN_MS = 1_234_567;
const CONSENSUS_ID = protocolByName('consensus').id;

describe('faults: rogue peers against a running testnet', () => {
  let h: TestnetHarness;
  let chainId: Uint8Array;
  const rogues: P2pNetwork[] = [];

  beforeAll(async () => {
    // A ban time of its own (p2p.banMs), so the test sees the setting reach the network.
    h = await TestnetHarness.create({ editConfig: (_i, config) => void ((config['p2p'] as Record<string, unknown>)['banMs'] = BAN_MS) });
    for (const i of RUNNING) h.start(i);
    try {
      await h.waitMesh(RUNNING);
    } catch (err) {
      h.dumpLogs();
      throw err;
    }
    chainId = fromHex((await h.rpc(TARGET).call<{ chainid: string }>('getblockchaininfo')).chainid);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(rogues.map((r) => r.stop()));
    await h?.close();
  });

  /** A rogue network node (operator secret: its identity and envelope key, or null) dialled into the target. */
  async function rogue(secret: Uint8Array | null): Promise<P2pNetwork> {
    const net = await P2pNetwork.create({
      network: 'testnet',
      listen: ['/ip4/127.0.0.1/tcp/0'],
      operatorSecret: secret,
      dataDir: secret === null ? null : tempDir('timecoin-rogue-'),
      isActiveMasternode: () => true,
    });
    rogues.push(net);
    await net.start();
    const t = h.net.nodes[TARGET]!;
    await net.connect(`/ip4/127.0.0.1/tcp/${t.p2pPort}/p2p/${t.peerId}`);
    return net;
  }

  /** A counter's value in the target's /metrics (sum over label sets that contain `labels`). */
  async function metric(name: string, labels = ''): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${h.net.nodes[TARGET]!.rpcPort}/metrics`, { headers: { authorization: `Bearer ${h.net.apiKey}` } });
    const text = await res.text();
    let sum = 0;
    for (const line of text.split('\n')) {
      const m = new RegExp(`^timecoin_${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
      if (m !== null && (m[1] ?? '').includes(labels)) sum += Number(m[2]);
    }
    return sum;
  }

  const peerRow = async (id: string) =>
    (await h.rpc(TARGET).call<{ id: string; score: number; masternode: string | null }[]>('getpeerinfo')).find((p) => p.id === id);

  it('a tx flooder is banned and disconnected; honest transactions still become final', async () => {
    try {
      const flooder = await rogue(null);
      await waitFor('the flooder connected', async () => ((await peerRow(flooder.peerId)) !== undefined ? true : undefined), 10_000, 100);
      const limitedBefore = await metric('rate_limited_total', 'scope="p2p"');
      // One valid transaction, sent 2,000 times: the quota is a burst of 100 then 50/s.
      const faucet = h.net.faucet;
      const owner = JSON.parse(readFileSync(join(h.net.nodes[1]!.datadir, 'owner-wallet.json'), 'utf8')) as { address: string };
      const tx = buildTransfer({
        chainId,
        signer: createSigner(fromHex(faucet.privateKey)),
        coins: await coinsOf(h.rpc(TARGET), faucet.address),
        recipients: [{ amount: 2_000_000n, publicKey: decodeAddress(owner.address, 'testnet') }],
        feeRate: 1n,
      });
      const frame = encodeTxBatches([tx.bytes])[0]!;
      for (let i = 0; i < 2_000; i++) flooder.send(h.net.nodes[TARGET]!.peerId, 'tx', frame);
      await waitFor('the flooder banned', async () => ((await h.rpc(TARGET).call<{ banned: number }>('getnetworkinfo')).banned >= 1 ? true : undefined), 20_000, 100);
      await waitFor('the flooder dropped', async () => ((await peerRow(flooder.peerId)) === undefined ? true : undefined), 10_000, 100);
      const banLine = h.log(TARGET).split('\n').find((l) => l.includes('"peer banned"') && l.includes(flooder.peerId));
      expect(JSON.parse(banLine!)).toMatchObject({ module: 'p2p', banMs: BAN_MS });
      expect(await metric('rate_limited_total', 'scope="p2p"')).toBeGreaterThanOrEqual(limitedBefore + 50);
      // The flooded transaction itself was valid: it is final on every running node, and so is a new one.
      const txid = toHex(tx.txid);
      await waitFor(
        'the flooded transaction final on the running nodes',
        async () => {
          const st = await Promise.all(RUNNING.map((i) => h.rpc(i).call<{ finalized: boolean }>('gettransactionfinality', [txid])));
          return st.every((s) => s.finalized) ? true : undefined;
        },
        30_000,
        100,
      );
      const at = await h.pay(RUNNING, 1);
      await h.assertSameChain(at, RUNNING);
      // The ban holds: the flooder cannot come back.
      const t = h.net.nodes[TARGET]!;
      await flooder.connect(`/ip4/127.0.0.1/tcp/${t.p2pPort}/p2p/${t.peerId}`).catch(() => undefined);
      await waitFor('the reconnect dropped', () => (flooder.node.getConnections().length === 0 ? true : undefined), 10_000, 50);
    } catch (err) {
      h.dumpLogs();
      throw err;
    }
  }, 90_000);

  it('consensus votes from a peer that is not an active masternode are refused and change nothing', async () => {
    try {
      const secret = generateSecretKey();
      const outsider = await rogue(secret);
      await waitFor('the outsider connected', async () => ((await peerRow(outsider.peerId)) !== undefined ? true : undefined), 10_000, 100);
      expect((await peerRow(outsider.peerId))!.masternode).toBeNull();
      const c = await h.rpc(TARGET).call<{ height: number; view: number }>('getconsensusinfo');
      const [before] = await h.finalHeights([TARGET]);
      const vote = signVote(createSigner(secret), chainId, MsgType.Commit, c.height, c.view, new Uint8Array(32).fill(7));
      outsider.send(h.net.nodes[TARGET]!.peerId, 'consensus', encodeMessage(vote));
      // Refused at the masternode-only gate: not-masternode costs 25 points.
      await waitFor('the outsider charged', async () => ((await peerRow(outsider.peerId))?.score ?? 0) < -10 ? true : undefined, 10_000, 100);
      // Nothing else changed: the chain goes on, identical on all running nodes, without the outsider.
      const at = await h.pay(RUNNING, 1);
      expect(at).toBeGreaterThan(before!);
      await h.assertSameChain(at, RUNNING);
      for (let x = before! + 1; x <= at; x++) expect((await h.block(TARGET, x)).proposer).not.toBe(toHex(createSigner(secret).publicKey));
    } catch (err) {
      h.dumpLogs();
      throw err;
    }
  }, 60_000);

  it("a replayed consensus envelope (validator 3's key, node 3 not running) is refused and counted", async () => {
    try {
      const op = JSON.parse(readFileSync(join(h.net.nodes[3]!.datadir, 'operator.json'), 'utf8')) as { privateKey: string };
      const signer = createSigner(fromHex(op.privateKey));
      const impostor = await rogue(fromHex(op.privateKey));
      await waitFor('validator 3 seen as a masternode', async () => ((await peerRow(impostor.peerId))?.masternode === toHex(signer.publicKey) ? true : undefined), 10_000, 100);
      const replaysBefore = await metric('replay_rejected_total');
      // A harmless stale vote (height 1 is long final), validly signed and enveloped, sent twice.
      const payload = encodeMessage(signVote(signer, chainId, MsgType.Prepare, 1, 0, new Uint8Array(32).fill(9)));
      const env = sealEnvelope(signer, 'testnet', CONSENSUS_ID, BigInt(Date.now()) << 20n, Date.now(), payload);
      const stream = await impostor.node.dialProtocol(peerIdFromString(h.net.nodes[TARGET]!.peerId), CONSENSUS_ID);
      stream.send(encodeFrames([env, env]));
      await waitFor('the copy refused as a replay', async () => ((await metric('replay_rejected_total')) === replaysBefore + 1 ? true : undefined), 10_000, 100);
      // The impostor is charged 10 for the replay, not banned; honest finality goes on.
      expect((await peerRow(impostor.peerId))!.score).toBeLessThan(0);
      const at = await h.pay(RUNNING, 2);
      await h.assertSameChain(at, RUNNING);
      expect(await metric('replay_rejected_total')).toBe(replaysBefore + 1);
    } catch (err) {
      h.dumpLogs();
      throw err;
    }
  }, 60_000);
});

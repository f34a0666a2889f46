/**
 * A testnet node (in process, real libp2p on 127.0.0.1) and a raw `P2pNetwork` peer: the node's
 * transaction gossip, its penalties for invalid transactions through the p2p penalty table, and
 * the RPC view of the network (getpeerinfo, getnetworkinfo, disconnectnode). Polls, never sleeps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAddress } from '../../chain/address.js';
import { createSigner, generateSecretKey, type Signer } from '../../chain/ed25519.js';
import { fromHex, toHex } from '../../chain/hash.js';
import { buildTransfer } from '../../chain/tx-builder.js';
import { decodeTxBatch, encodeTxBatches } from '../../p2p/tx-batch.js';
import { encodeAttestation, encodeHeartbeat, heartbeatId, signAttestation, signHeartbeat, type Heartbeat } from '../../consensus/heartbeat-codec.js';
import { createTestnet, type Testnet } from '../../src/commands/testnet.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Node } from '../../src/node.js';
import { coinsOf, freePort, Rpc, tempDir, waitFor } from './helpers.js';
import { MasternodeSet, startNode, stopAll, type TestNode } from './p2p-harness.js';

describe('testnet node ↔ p2p: tx gossip, penalties, network RPC', () => {
  let tn: Testnet;
  let node: Node;
  let rpc: Rpc;
  let peer: TestNode;
  const received: string[] = [];

  beforeAll(async () => {
    const dir = tempDir('timecoin-nodep2p-');
    const base = await freePort();
    tn = await createTestnet({ validators: 1, out: join(dir, 'tn'), basePort: base - (base % 2) });
    const config = loadConfig({ flags: { datadir: tn.nodes[0]!.datadir }, env: {} });
    node = await Node.create({ config, logger: createLogger({ level: 'silent' }), rpcPort: 0, p2pPort: 0 });
    rpc = new Rpc(node.rpcUrl, tn.apiKey);
    peer = await startNode(new MasternodeSet(), { network: 'testnet' });
    await peer.net.onGossip('tx', (payload) => void received.push(...decodeTxBatch(payload).map((t) => toHex(t.txid))));
    await peer.net.start();
    const info = await rpc.call<{ localaddresses: string[]; networkactive: boolean; peerId: string }>('getnetworkinfo');
    expect(info.networkactive).toBe(true);
    expect(info.peerId).toBe(tn.nodes[0]!.peerId);
    await peer.net.connect(info.localaddresses[0]!);
    await waitFor('the peer in getpeerinfo', async () => ((await rpc.call<unknown[]>('getpeerinfo')).length === 1 ? true : undefined));
  }, 30_000);

  afterAll(async () => {
    await stopAll();
    await node?.close();
  });

  const faucetSigner = () => createSigner(fromHex(tn.faucet.privateKey));

  it('a transaction submitted over RPC is gossiped to the peer', async () => {
    const { chainid } = await rpc.call<{ chainid: string }>('getblockchaininfo');
    const tx = buildTransfer({
      chainId: fromHex(chainid), signer: faucetSigner(), coins: await coinsOf(rpc, tn.faucet.address),
      recipients: [{ amount: 1_000_000n, publicKey: decodeAddress(tn.faucet.address, 'testnet') }], feeRate: 1n,
    });
    const txid = await rpc.call<string>('sendrawtransaction', [toHex(tx.bytes)]);
    await waitFor('the gossiped tx at the peer', () => (received.includes(txid) ? true : undefined));
  });

  it('a valid transaction from the peer enters the mempool; invalid ones cost the peer score', async () => {
    const { chainid } = await rpc.call<{ chainid: string }>('getblockchaininfo');
    // Wait for the previous test's tx to be final so the faucet's coins are stable.
    await waitFor('an empty mempool', async () => ((await rpc.call<{ size: number }>('getmempoolinfo')).size === 0 ? true : undefined), 20_000);
    const coins = await coinsOf(rpc, tn.faucet.address);
    const good = buildTransfer({
      chainId: fromHex(chainid), signer: faucetSigner(), coins,
      recipients: [{ amount: 2_000_000n, publicKey: decodeAddress(tn.faucet.address, 'testnet') }], feeRate: 1n,
    });
    expect(peer.net.broadcast('tx', encodeTxBatches([good.bytes])[0]!)).toBe(1);
    await waitFor('the peer tx final on the node', async () => {
      const f = await rpc.call<{ finalized: boolean }>('gettransactionfinality', [toHex(good.txid)]);
      return f.finalized ? true : undefined;
    });
    // Accepted, relayed (the 40 ms gossip batch flushed long before finality) — but not back to
    // the peer it came from, while the RPC transaction of the test before did reach that peer.
    expect(received.length).toBeGreaterThan(0);
    expect(received).not.toContain(toHex(good.txid));
    const scoreOf = async () => (await rpc.call<{ id: string; score: number }[]>('getpeerinfo')).find((p) => p.id === peer.net.peerId)?.score ?? 0;
    expect(await scoreOf()).toBe(0);
    // Signed by a key that does not own the coins: bad-signature → handler-rejected (5 points).
    const forged = buildTransfer({
      chainId: fromHex(chainid), signer: createSigner(generateSecretKey()), coins: await coinsOf(rpc, tn.faucet.address),
      recipients: [{ amount: 1_000_000n, publicKey: decodeAddress(tn.faucet.address, 'testnet') }], feeRate: 1n,
    });
    peer.net.broadcast('tx', encodeTxBatches([forged.bytes])[0]!);
    await waitFor('a handler-rejected penalty', async () => ((await scoreOf()) <= -4 ? true : undefined));
    const afterForged = await scoreOf();
    // Bytes that are no transaction: decode-failed (20 points).
    peer.net.broadcast('tx', new Uint8Array([1, 2, 3, 4]));
    await waitFor('a decode-failed penalty', async () => ((await scoreOf()) <= afterForged - 15 ? true : undefined));
    expect(await rpc.call<{ size: number }>('getmempoolinfo')).toMatchObject({ size: 0 });
  }, 30_000);

  it('disconnectnode hangs up on the peer; addnode dials it again', async () => {
    expect(await rpc.call('disconnectnode', [peer.net.peerId])).toBe(null);
    await waitFor('no peers', async () => ((await rpc.call<unknown[]>('getpeerinfo')).length === 0 ? true : undefined));
    expect(await rpc.call('addnode', [peer.net.addresses[0]!, 'onetry'])).toBe(null);
    await waitFor('the peer back', async () => ((await rpc.call<unknown[]>('getpeerinfo')).length === 1 ? true : undefined));
    expect((await rpc.error('addnode', ['/ip4/127.0.0.1/tcp/1', 'add'])).code).toBe(-8);
  }, 30_000);
});

describe('testnet node ↔ p2p: heartbeat evidence and penalties', () => {
  let tn: Testnet;
  let node: Node;
  let rpc: Rpc;
  let peer: TestNode;
  let chainId: Uint8Array;
  let op1: Signer;

  beforeAll(async () => {
    const dir = tempDir('timecoin-hbp2p-');
    const base = await freePort();
    tn = await createTestnet({ validators: 2, out: join(dir, 'tn'), basePort: base - (base % 2) });
    const config = loadConfig({ flags: { datadir: tn.nodes[0]!.datadir }, env: {} });
    node = await Node.create({ config, logger: createLogger({ level: 'silent' }), rpcPort: 0, p2pPort: 0 });
    rpc = new Rpc(node.rpcUrl, tn.apiKey);
    // The peer IS masternode 1 (its libp2p identity is node1's operator key), so its envelopes pass.
    const secret1 = fromHex((JSON.parse(readFileSync(join(tn.nodes[1]!.datadir, 'operator.json'), 'utf8')) as { privateKey: string }).privateKey);
    op1 = createSigner(secret1);
    const set = new MasternodeSet();
    set.add(secret1);
    set.keys.add(tn.nodes[0]!.operatorPublicKey); // the node under test is masternode 0
    peer = await startNode(set, { network: 'testnet', operatorSecret: secret1 });
    await peer.net.start();
    chainId = fromHex((await rpc.call<{ chainid: string }>('getblockchaininfo')).chainid);
    const info = await rpc.call<{ localaddresses: string[] }>('getnetworkinfo');
    await peer.net.connect(info.localaddresses[0]!);
    await waitFor('masternode 1 connected', async () => ((await rpc.call<{ masternode: string | null }[]>('getpeerinfo')).some((p) => p.masternode === tn.nodes[1]!.operatorPublicKey) ? true : undefined));
  }, 30_000);

  afterAll(async () => {
    await stopAll();
    await node?.close();
  });

  const detected = async (kind: string): Promise<number> => {
    const m = await node.registry.getSingleMetricAsString('timecoin_byzantine_detected_total');
    const line = m.split('\n').find((l) => l.startsWith('timecoin_byzantine_detected_total{') && l.includes(`kind="${kind}"`));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  };
  const hbFrame = (hb: Heartbeat) => Buffer.concat([Buffer.of(1), encodeHeartbeat(hb)]);

  it('two different heartbeats with one sequence: conflicting-heartbeat evidence', async () => {
    const height = (await rpc.call<{ blocks: number }>('getblockchaininfo')).blocks;
    const a = signHeartbeat(op1, chainId, { sequence: 1000, prevId: new Uint8Array(32), height, timeMs: Date.now() });
    const b = signHeartbeat(op1, chainId, { sequence: 1000, prevId: new Uint8Array(32), height, timeMs: Date.now() + 1 });
    expect(peer.net.broadcast('heartbeat', hbFrame(a))).toBe(1);
    expect(peer.net.broadcast('heartbeat', hbFrame(b))).toBe(1);
    await waitFor('conflicting-heartbeat evidence', async () => ((await detected('conflicting-heartbeat')) === 1 ? true : undefined));
  });

  it('attesting a heartbeat whose signature fails: false-attestation evidence', async () => {
    const height = (await rpc.call<{ blocks: number }>('getblockchaininfo')).blocks;
    const other = createSigner(generateSecretKey());
    const real = signHeartbeat(other, chainId, { sequence: 0, prevId: new Uint8Array(32), height, timeMs: Date.now() });
    // A heartbeat in masternode 0's name that masternode 0 never signed.
    const fake: Heartbeat = { ...real, operator: fromHex(tn.nodes[0]!.operatorPublicKey) };
    const att = signAttestation(op1, chainId, heartbeatId(chainId, fake));
    expect(peer.net.broadcast('heartbeat', Buffer.concat([Buffer.of(2), encodeAttestation(att), encodeHeartbeat(fake)]))).toBe(1);
    await waitFor('false-attestation evidence', async () => ((await detected('false-attestation')) === 1 ? true : undefined));
  });

  it('a heartbeat with a bad signature costs the sender bad-signature (50)', async () => {
    const height = (await rpc.call<{ blocks: number }>('getblockchaininfo')).blocks;
    const hb = signHeartbeat(op1, chainId, { sequence: 5000, prevId: new Uint8Array(32), height, timeMs: Date.now() });
    const bad: Heartbeat = { ...hb, signature: new Uint8Array(64).fill(7) };
    const scoreOf = async () => (await rpc.call<{ id: string; score: number }[]>('getpeerinfo')).find((p) => p.id === peer.net.peerId)?.score ?? 0;
    const before = await scoreOf();
    peer.net.broadcast('heartbeat', hbFrame(bad));
    await waitFor('a bad-signature penalty', async () => ((await scoreOf()) <= before - 45 ? true : undefined));
  });
});

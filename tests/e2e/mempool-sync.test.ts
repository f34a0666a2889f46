/**
 * Mempool reconciliation (docs/p2p.md "Mempool reconciliation") over real libp2p on loopback.
 *
 * 1. A 4-validator testnet with only nodes 0 (A) and 1 (B) ever up: no quorum, so no block is
 *    made and transactions stay in A's mempool. B is down while 13 transactions (a fan-out and
 *    its unconfirmed children, mixed fee rates) are submitted to A; then B starts and, without
 *    receiving any tx gossip, ends with A's mempool. A's digest to B is 8 bytes per txid plus a
 *    13-byte header — a fraction of the pool's bytes.
 *    A peer answering B with a forged transaction is charged `handler-rejected`.
 * 2. Malformed bytes cost the sender `decode-failed` through the penalty table, both ways: a
 *    request refused by a node, a response refused by the requester.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAddress } from '../../chain/address.js';
import { createSigner, generateSecretKey } from '../../chain/ed25519.js';
import { fromHex, toHex } from '../../chain/hash.js';
import { Mempool } from '../../chain/mempool.js';
import { buildTransfer } from '../../chain/tx-builder.js';
import type { Transaction } from '../../chain/transaction.js';
import { P2pCode, P2pError } from '../../p2p/errors.js';
import { createTestnet, type Testnet } from '../../src/commands/testnet.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { DIGEST_HEADER_BYTES, encodeDigestResponse, MempoolSync, serveMempoolDigest } from '../../src/mempool-sync.js';
import { Node } from '../../src/node.js';
import { coinsOf, freeBase, Rpc, tempDir, waitFor } from './helpers.js';
import { link, MasternodeSet, peersOf, startNode, stopAll } from './p2p-harness.js';

interface LogLine {
  module?: string;
  msg?: string;
  peer?: string;
  rounds?: number;
  requestBytes?: number[];
  digestIds?: number[];
  responseBytes?: number;
  received?: number;
  accepted?: number;
}

const CHILDREN = 12;

describe('mempool reconciliation between testnet nodes', () => {
  let tn: Testnet;
  const nodes: Node[] = [];
  const logs: LogLine[][] = [[], []];

  async function start(i: number): Promise<Rpc> {
    const config = loadConfig({ flags: { datadir: tn.nodes[i]!.datadir }, env: {} });
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => void logs[i]!.push(JSON.parse(s) as LogLine) } });
    nodes[i] = await Node.create({ config, logger, rpcPort: 0, statusIntervalMs: 600_000 });
    return new Rpc(nodes[i]!.rpcUrl, tn.apiKey);
  }

  beforeAll(async () => {
    tn = await createTestnet({
      validators: 4,
      out: join(tempDir('timecoin-mpsync-'), 'tn'),
      basePort: await freeBase(4),
      configOverrides: { consensus: { heartbeatIntervalMs: 600_000 } },
    });
  }, 20_000);

  afterAll(async () => {
    await stopAll();
    await Promise.allSettled(nodes.map((n) => n.close()));
  });

  it('B, down while A took transactions, starts and ends with A\'s mempool without tx gossip; the request is a digest', async () => {
    const a = await start(0);
    const { chainid } = await a.call<{ chainid: string }>('getblockchaininfo');
    const chainId = fromHex(chainid);
    const faucet = createSigner(fromHex(tn.faucet.privateKey));
    const me = decodeAddress(tn.faucet.address, 'testnet');
    // A fan-out to the faucet itself, then one child per output at fee rates 1–3 (unconfirmed parents).
    const fan = buildTransfer({
      chainId, signer: faucet, coins: await coinsOf(a, tn.faucet.address),
      recipients: Array.from({ length: CHILDREN }, () => ({ amount: 10_000_000n, publicKey: me })), feeRate: 1n,
    });
    const txs: Transaction[] = [fan];
    for (let i = 0; i < CHILDREN; i++) {
      txs.push(buildTransfer({
        chainId, signer: faucet, coins: [{ txid: fan.txid, index: i, amount: 10_000_000n }],
        recipients: [{ amount: 5_000_000n, publicKey: me }], feeRate: BigInt(1 + (i % 3)),
      }));
    }
    for (const tx of txs) await a.call('sendrawtransaction', [toHex(tx.bytes)]);
    const poolA = (await a.call<string[]>('getrawmempool')).sort();
    expect(poolA).toEqual(txs.map((t) => toHex(t.txid)).sort());
    const { bytes: poolBytes } = await a.call<{ bytes: number }>('getmempoolinfo');

    const b = await start(1); // bootstraps to A (and A redials B): both sides see a join
    await waitFor('B holds A\'s mempool', async () => {
      const poolB = (await b.call<string[]>('getrawmempool')).sort();
      return poolB.length === poolA.length ? poolB : undefined;
    }, 30_000, 100);
    expect((await b.call<string[]>('getrawmempool')).sort()).toEqual(poolA);
    expect(await a.call<number>('getblockcount')).toBe(0); // no block took them: they came from A's pool

    // B got them by reconciliation, not gossip: its tx protocol received nothing.
    const txMessages = async (direction: string): Promise<number> => {
      const metric = nodes[1]!.registry.getSingleMetric('timecoin_p2p_messages_total');
      expect(metric).toBeDefined();
      return (await metric!.get()).values.filter((v) => v.labels.type === 'tx' && v.labels.direction === direction).reduce((s, v) => s + v.value, 0);
    };
    expect(await txMessages('in')).toBe(0);
    // What B accepted it announced as usual (in batch frames; A ignores them: it holds them), so the counter works.
    await waitFor('B gossiped what it accepted', async () => ((await txMessages('out')) >= 1 ? true : undefined), 10_000);

    const peerA = tn.nodes[0]!.peerId;
    const peerB = tn.nodes[1]!.peerId;
    const reconciled = (i: number, peer: string) => logs[i]!.find((l) => l.module === 'mempool-sync' && l.msg === 'mempool reconciled' && l.peer === peer);
    const atB = await waitFor('B\'s reconciliation log', () => reconciled(1, peerA), 10_000);
    expect(atB).toMatchObject({ received: txs.length, accepted: txs.length, rounds: 1 });
    // Every transaction crossed once, in one response (each with a 4-byte length).
    expect(atB.responseBytes).toBe(6 + txs.reduce((s, t) => s + 4 + t.bytes.length, 0));
    // A pulled from B too (A had no peer before B: its join). Its digest named all its txids.
    const atA = await waitFor('A\'s reconciliation log', () => reconciled(0, peerB), 10_000);
    expect(atA.digestIds![0]).toBe(txs.length);
    expect(atA.requestBytes![0]).toBe(DIGEST_HEADER_BYTES + 8 * txs.length);
    expect(atA.requestBytes![0]! * 10).toBeLessThan(poolBytes);
    expect(atA.received).toBe(0);

    // B's second slot of this join: a peer that answers with a forged transaction is charged
    // handler-rejected (5) through TxGossip's acceptance, and B's pool does not change.
    const owner = JSON.parse(readFileSync(join(tn.nodes[3]!.datadir, 'owner-wallet.json'), 'utf8')) as { address: string };
    const forged = buildTransfer({
      chainId, signer: createSigner(generateSecretKey()), coins: await coinsOf(a, owner.address),
      recipients: [{ amount: 1_000_000n, publicKey: me }], feeRate: 1n,
    });
    const liar = await startNode(new MasternodeSet(), { network: 'testnet' });
    await liar.net.onRequest('mempool-digest', () => encodeDigestResponse([forged], false));
    await liar.net.start();
    await liar.net.connect((await b.call<{ localaddresses: string[] }>('getnetworkinfo')).localaddresses[0]!);
    const scoreAtB = async () => (await b.call<{ id: string; score: number }[]>('getpeerinfo')).find((p) => p.id === liar.net.peerId)?.score ?? 0;
    await waitFor('the liar charged at B', async () => ((await scoreAtB()) <= -4 ? true : undefined), 10_000, 100);
    expect((await b.call<string[]>('getrawmempool')).sort()).toEqual(poolA);
  }, 60_000);
});

describe('mempool reconciliation: malformed bytes are charged', () => {
  afterAll(stopAll);

  it('a malformed request costs decode-failed at the server; a malformed response costs it at the requester', async () => {
    const set = new MasternodeSet();
    const server = await startNode(set);
    const client = await startNode(set);
    await server.net.onRequest('mempool-digest', () => new Uint8Array([1, 0, 0, 0, 0, 9])); // announces 9 txs, holds none
    const log = createLogger({ level: 'silent' });
    const mempool = new Mempool({ chainId: new Uint8Array(32), sigCache: null });
    // acceptFromPeer is never reached: the response is refused while decoding.
    const gossip = { acceptFromPeer: async (): Promise<boolean> => { throw new Error('not reached'); } };
    // The client serves digests too, to be sent a malformed request.
    await serveMempoolDigest(client.net, mempool, 1 << 20);
    await server.net.start();
    await client.net.start();
    await link(client, server);

    const sync = new MempoolSync(client.net, { mempool, gossip, log });
    const err = await sync.reconcile(server.net.peerId).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(P2pError);
    expect((err as P2pError).code).toBe(P2pCode.DecodeFailed);
    expect(client.net.scores.score(server.net.peerId, Date.now())).toBeLessThanOrEqual(-19);

    await expect(server.net.request(client.net.peerId, 'mempool-digest', new Uint8Array([1, 2, 3]))).rejects.toBeInstanceOf(P2pError);
    await waitFor('the server charged at the client', () => (client.net.scores.score(server.net.peerId, Date.now()) <= -38 ? true : undefined), 5_000);
  }, 20_000);

  it('per join the node reconciles with the first 2 peers only; after losing every peer it joins again', async () => {
    const set = new MasternodeSet();
    const client = await startNode(set);
    const servers = [await startNode(set), await startNode(set), await startNode(set)];
    const asked = [0, 0, 0];
    for (const [i, srv] of servers.entries()) {
      await srv.net.onRequest('mempool-digest', () => {
        asked[i]!++;
        return encodeDigestResponse([], false);
      });
      await srv.net.start();
    }
    await client.net.start();
    const mempool = new Mempool({ chainId: new Uint8Array(32), sigCache: null });
    const gossip = { acceptFromPeer: async (): Promise<boolean> => false };
    const sync = new MempoolSync(client.net, { mempool, gossip, log: createLogger({ level: 'silent' }) });
    sync.start();
    try {
      await link(client, servers[0]!);
      await link(client, servers[1]!);
      await waitFor('two reconciliations', () => (asked[0] === 1 && asked[1] === 1 ? true : undefined), 5_000, 10);
      await link(client, servers[2]!);
      await client.net.ping(servers[2]!.net.peerId); // the connection is up and used, yet no digest goes to a third peer
      expect(asked).toEqual([1, 1, 0]);

      for (const srv of servers.slice(0, 2)) await client.net.disconnect(srv.net.peerId);
      await client.net.disconnect(servers[2]!.net.peerId);
      await waitFor('no peers', () => (client.net.node.getPeers().length === 0 && peersOf(client).length === 0 ? true : undefined), 5_000, 10);
      await link(client, servers[2]!); // a new join: the first peer back is asked
      await waitFor('a reconciliation on rejoin', () => (asked[2] === 1 ? true : undefined), 5_000, 10);
      expect(asked).toEqual([1, 1, 1]);
    } finally {
      sync.stop();
    }
  }, 20_000);
});

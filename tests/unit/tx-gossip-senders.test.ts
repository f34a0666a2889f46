/**
 * TxGossip's relay (src/node-p2p.ts): a transaction goes to every peer that did not send it, and
 * who sent a txid is remembered only until our relay of it has left — under load that memo held
 * ~15 MB when it kept every txid. Real LevelDB store and mempool; the network is a seam.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SignatureCache } from '../../chain/ed25519.js';
import { Mempool } from '../../chain/mempool.js';
import type { Transaction } from '../../chain/transaction.js';
import type { P2pNetwork } from '../../p2p/network.js';
import { decodeTxBatch, encodeTxBatches } from '../../p2p/tx-batch.js';
import { TxGossip } from '../../src/node-p2p.js';
import { out, signer, spend } from './chain-fixtures.js';
import { fundedStore, type FundedStore } from './store-fixtures.js';

const alice = signer(91);
const bob = signer(92);
let funded: FundedStore | undefined;

afterEach(async () => {
  await funded?.close();
  funded = undefined;
});

describe('TxGossip: relay and the senders memo', () => {
  it('relays to the peers that did not send it, then forgets its senders; late copies are not remembered', async () => {
    funded = await fundedStore('gossip-senders', alice, [1_000_000_000n, 2_000_000_000n]);
    const { store, genesis, coins } = funded;
    const chainId = genesis.hash;
    const tx1 = spend([coins[0]!], [out(999_990_000n, bob)], { chainId });
    const tx2 = spend([coins[1]!], [out(1_999_990_000n, bob)], { chainId });

    let handler!: (payload: Uint8Array, from: { id: string }) => Promise<void>;
    const sent: { peer: string; txids: string[] }[] = [];
    const net = {
      onGossip: async (_name: string, h: typeof handler) => void (handler = h),
      peerIds: () => ['peer-a', 'peer-b', 'peer-c'],
      send: (peer: string, _proto: string, frame: Uint8Array) => sent.push({ peer, txids: decodeTxBatch(frame, () => true).map((t) => t.txidHex) }),
    } as unknown as P2pNetwork;
    const mempool = new Mempool({ chainId, sigCache: new SignatureCache() });
    const gossip = new TxGossip(net, { mempool, store, log: pino({ level: 'silent' }), onAccepted: () => undefined });
    await gossip.attach();
    const frame = (t: Transaction) => encodeTxBatches([t.bytes])[0]!;

    await handler(frame(tx1), { id: 'peer-a' }); // admitted and announced; the relay waits for the flush
    await handler(frame(tx1), { id: 'peer-b' }); // a copy before our relay left: its sender counts
    expect(mempool.has(tx1.txid)).toBe(true);
    expect(gossip.sendersRemembered).toBe(1);
    expect(await gossip.acceptFromPeer(tx2)).toBe(true); // from RPC or reconciliation: no sender
    gossip.flush();
    expect(sent).toEqual([
      { peer: 'peer-a', txids: [tx2.txidHex] },
      { peer: 'peer-b', txids: [tx2.txidHex] },
      { peer: 'peer-c', txids: [tx1.txidHex, tx2.txidHex] },
    ]);
    expect(gossip.sendersRemembered).toBe(0);
    // A copy after the relay: nothing to remember, nothing sent again.
    await handler(frame(tx1), { id: 'peer-c' });
    await handler(frame(tx2), { id: 'peer-a' });
    expect(gossip.sendersRemembered).toBe(0);
    gossip.flush();
    expect(sent).toHaveLength(3);
    gossip.stop();
  });
});

/**
 * TxGossip's receive path (src/node-p2p.ts): copies of a transaction that arrive while its first
 * copy is still being admitted are dropped undecoded when byte-identical, and checked on their own
 * when their signature bytes differ (a malleated copy must not shadow an honest one). Real LevelDB
 * store and mempool; the network is a seam that hands frames to the handler.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SignatureCache } from '../../chain/ed25519.js';
import { Mempool } from '../../chain/mempool.js';
import { withSignatures, type Transaction } from '../../chain/transaction.js';
import { P2pCode } from '../../p2p/errors.js';
import { encodeTxBatches } from '../../p2p/tx-batch.js';
import type { P2pNetwork } from '../../p2p/network.js';
import { TxGossip } from '../../src/node-p2p.js';
import { out, signer, spend } from './chain-fixtures.js';
import { fundedStore, type FundedStore } from './store-fixtures.js';

const alice = signer(81);
const bob = signer(82);
let funded: FundedStore | undefined;

afterEach(async () => {
  await funded?.close();
  funded = undefined;
});

describe('TxGossip: copies arriving while the first is admitted', () => {
  it('a byte-identical copy is dropped undecoded; a copy with other signature bytes is checked, refused and charged, and does not shadow the honest one', async () => {
    funded = await fundedStore('gossip', alice, [1_000_000_000n]);
    const { store: real, genesis, coins } = funded;
    const chainId = genesis.hash;
    const tx = spend([coins[0]!], [out(999_990_000n, bob)], { chainId });
    const forged = withSignatures(tx, [new Uint8Array(64).fill(3)]); // same txid, other signature bytes

    let handler!: (payload: Uint8Array, from: { id: string }) => Promise<void>;
    const net = { onGossip: async (_name: string, h: typeof handler) => void (handler = h), peerIds: () => [], send: () => undefined } as unknown as P2pNetwork;
    const mempool = new Mempool({ chainId, sigCache: new SignatureCache() });
    const preverified: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const gossip = new TxGossip(net, {
      mempool, store: real, log: pino({ level: 'silent' }), onAccepted: () => undefined,
      // The first frame's pre-verification waits at the gate: its transaction is "being admitted".
      preverify: async (txs: readonly Transaction[]) => {
        preverified.push(txs.map((t) => toSig(t)));
        if (preverified.length === 1) await gate;
        return { loaded: null };
      },
    });
    await gossip.attach();
    const frame = (t: Transaction) => encodeTxBatches([t.bytes])[0]!;

    const first = handler(frame(tx), { id: 'peer-a' });
    await handler(frame(tx), { id: 'peer-b' }); // identical copy: nothing to pre-verify or admit
    expect(preverified).toEqual([[toSig(tx)], []]);
    // Other signature bytes: checked on its own, refused, and charged to its sender.
    await expect(handler(frame(forged), { id: 'peer-c' })).rejects.toMatchObject({ code: P2pCode.HandlerRejected });
    expect(preverified[2]).toEqual([toSig(forged)]);
    expect(mempool.has(tx.txid)).toBe(false);
    // It did not shadow the honest copy still being admitted.
    release();
    await first;
    expect(toSig(mempool.get(tx.txid)!)).toBe(toSig(tx));
    // Once admitted, the txid is known: any later copy is dropped undecoded.
    await handler(frame(tx), { id: 'peer-d' });
    expect(preverified).toHaveLength(4);
    expect(preverified[3]).toEqual([]);
    gossip.stop();
  });
});

const toSig = (t: Transaction): string => Buffer.from(t.inputs[0]!.signature).toString('hex');

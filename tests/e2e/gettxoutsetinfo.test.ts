/**
 * `gettxoutsetinfo` on a real dev node (in-process Node.create, real LevelDB, real HTTP): its
 * answer equals a recomputation of the UTXO set from the blocks themselves (replayed from
 * `getblock` hex: spend inputs, add outputs, hash in key order as docs/storage.md specifies),
 * it changes after a block with a transaction, and a bad call is a typed error that changes nothing.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBlock } from '../../chain/block.js';
import { TxKind } from '../../chain/constants.js';
import { fromHex, toHex } from '../../chain/hash.js';
import { encodeUtxo, utxoKey } from '../../chain/layout.js';
import type { UtxoEntry } from '../../chain/utxo.js';
import type { Node } from '../../src/node.js';
import { Rpc, devApiKey, devWallet, startDevNode, tempDir, transfer } from './helpers.js';

interface TxOutSetInfo {
  height: number;
  bestblock: string;
  txouts: number;
  total_amount: string;
  hash_serialized: string;
}

/** The UTXO set at the tip, rebuilt from every block's bytes, in the answer's shape. */
async function recompute(rpc: Rpc): Promise<TxOutSetInfo> {
  const tip = await rpc.call<number>('getblockcount');
  const set = new Map<string, { key: Buffer; entry: UtxoEntry }>();
  let bestblock = '';
  for (let h = 0; h <= tip; h++) {
    const block = decodeBlock(fromHex(await rpc.call<string>('getblock', [h, 0])));
    bestblock = toHex(block.hash);
    for (const tx of block.txs) {
      for (const i of tx.inputs) expect(set.delete(toHex(utxoKey(i.prevTxid, i.prevIndex))), 'an input spends a known output').toBe(true);
      tx.outputs.forEach((o, n) => {
        const key = utxoKey(tx.txid, n);
        set.set(toHex(key), { key, entry: { amount: o.amount, publicKey: o.publicKey, height: h, coinbase: tx.kind === TxKind.Coinbase } });
      });
    }
  }
  const sorted = [...set.values()].sort((a, b) => Buffer.compare(a.key, b.key));
  const hash = createHash('sha256');
  let total = 0n;
  for (const { key, entry } of sorted) {
    hash.update(key.subarray(1));
    hash.update(encodeUtxo(entry));
    total += entry.amount;
  }
  return { height: tip, bestblock, txouts: sorted.length, total_amount: total.toString(), hash_serialized: hash.digest('hex') };
}

describe('gettxoutsetinfo', () => {
  let datadir: string;
  let node: Node;
  let rpc: Rpc;

  beforeAll(async () => {
    datadir = tempDir();
    node = await startDevNode(datadir, { idleMs: 600_000 });
    rpc = new Rpc(node.rpcUrl, devApiKey(datadir));
  });
  afterAll(async () => {
    await node?.close();
    rmSync(datadir, { recursive: true, force: true });
  });

  it('equals a recomputation from the blocks, and changes after a block with a transaction', async () => {
    const before = await rpc.call<TxOutSetInfo>('gettxoutsetinfo');
    expect(before).toEqual(await recompute(rpc));
    expect(before.height).toBe(0);
    expect(before.hash_serialized).toMatch(/^[0-9a-f]{64}$/);
    expect(before.total_amount).toMatch(/^\d+$/);

    const wallet = devWallet(datadir);
    const { chainid } = await rpc.call<{ chainid: string }>('getblockchaininfo');
    const tx = await transfer(rpc, wallet, wallet.address, 7n * 100_000_000n, chainid);
    const txid = await rpc.call<string>('sendrawtransaction', [toHex(tx.bytes)]);
    const fin = await rpc.call<{ finalized: boolean; height: number; blockhash: string }>('waittransactionfinality', [txid, 30_000]);
    expect(fin.finalized).toBe(true);

    const after = await rpc.call<TxOutSetInfo>('gettxoutsetinfo');
    expect(after).toEqual(await recompute(rpc));
    expect(after.height).toBe(fin.height);
    expect(after.bestblock).toBe(fin.blockhash);
    expect(after.hash_serialized).not.toBe(before.hash_serialized);
    // One input spent, two outputs (payment + change) and a coinbase output created.
    expect(after.txouts).toBeGreaterThan(before.txouts);
  });

  it('refuses params with −32602 and answers the same afterwards', async () => {
    const first = await rpc.call<TxOutSetInfo>('gettxoutsetinfo');
    expect((await rpc.error('gettxoutsetinfo', ['muhash'])).code).toBe(-32602);
    expect(await rpc.call<TxOutSetInfo>('gettxoutsetinfo')).toEqual(first);
  });
});

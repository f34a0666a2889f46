/**
 * Every SPEC §5 error code reached by a real request to a real dev node: decode (−22), missing
 * inputs (−25), rules (−26 with the rule as the message), already in chain (−27), unknown (−5),
 * bad params (−32602, −8), no such method (−32601), parse (−32700), and HTTP 401/403/429; double
 * spends (−26 mempool-conflict, −25 once mined), oversize (−26 tx-too-large, HTTP 413), batches.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BLOCK_SIZE, MAX_TX_SIZE, TxKind } from '../../chain/constants.js';
import { fromHex, toHex } from '../../chain/hash.js';
import { createTransaction, encodedTxSize, withSignatures, type Transaction, type TxOutput } from '../../chain/transaction.js';
import { buildTransfer, signInputs, type Coin } from '../../chain/tx-builder.js';
import { ApiKeyStore } from '../../rpc/apikeys.js';
import type { Node } from '../../src/node.js';
import { Rpc, coinsOf, devApiKey, devWallet, rpcRaw, startDevNode, tempDir, transfer, waitFor } from './helpers.js';

describe('RPC errors from a real dev node', () => {
  let datadir: string;
  let node: Node;
  let rpc: Rpc;
  let chainId: Uint8Array;
  let coin: Coin;
  const wallet = () => devWallet(datadir);

  /** A transfer of `coin` with exactly these outputs, signed by the dev wallet. */
  const signed = (outputs: TxOutput[], from: Coin = coin): Transaction =>
    signInputs(
      createTransaction({ kind: TxKind.Transfer, inputs: [{ prevTxid: from.txid, prevIndex: from.index, signature: new Uint8Array(64) }], outputs }),
      chainId,
      wallet().signer,
    );

  beforeAll(async () => {
    datadir = tempDir();
    node = await startDevNode(datadir);
    rpc = new Rpc(node.rpcUrl, devApiKey(datadir));
    chainId = fromHex((await rpc.call<{ chainid: string }>('getblockchaininfo')).chainid);
    coin = (await coinsOf(rpc, wallet().address))[0]!;
  });
  afterAll(async () => {
    await node?.close();
    rmSync(datadir, { recursive: true, force: true });
  });

  it('−22 for bytes that are not hex and for hex that is not a transaction', async () => {
    expect(await rpc.error('sendrawtransaction', ['zz'])).toMatchObject({ code: -22 });
    expect(await rpc.error('sendrawtransaction', ['0102'])).toMatchObject({ code: -22, message: 'TX decode failed: decode-truncated' });
    expect(await rpc.error('testmempoolaccept', [['01']])).toMatchObject({ code: -22 });
  });

  it('−25 for an input that does not exist', async () => {
    const ghost = { txid: randomBytes(32), index: 0, amount: coin.amount };
    const tx = signed([{ amount: 1_000_000n, publicKey: wallet().signer.publicKey }], ghost);
    expect(await rpc.error('sendrawtransaction', [toHex(tx.bytes)])).toMatchObject({ code: -25, message: 'missing-inputs' });
  });

  it('−26 naming the rule: bad-signature, dust, insufficient-fee', async () => {
    const me = wallet().signer.publicKey;
    const ok = signed([{ amount: coin.amount - 10_000n, publicKey: me }]);
    const sig = Uint8Array.from(ok.inputs[0]!.signature);
    sig[0]! ^= 1;
    const forged = withSignatures(ok, [sig]);
    expect(await rpc.error('sendrawtransaction', [toHex(forged.bytes)])).toMatchObject({ code: -26, message: 'bad-signature' });
    const dust = signed([{ amount: 100n, publicKey: me }, { amount: coin.amount - 10_000n, publicKey: me }]);
    const e = await rpc.error('sendrawtransaction', [toHex(dust.bytes)]);
    expect(e).toMatchObject({ code: -26, message: 'dust' });
    expect((e.data as { detail: string }).detail).toMatch(/dust/);
    const free = signed([{ amount: coin.amount, publicKey: me }]);
    expect(await rpc.error('sendrawtransaction', [toHex(free.bytes)])).toMatchObject({ code: -26, message: 'insufficient-fee' });
    expect(await rpc.call('getrawmempool')).toEqual([]);
  });

  it('−27 for a transaction already in the chain', async () => {
    const { chainid } = await rpc.call<{ chainid: string }>('getblockchaininfo');
    const tx = await transfer(rpc, wallet(), wallet().address, 5_000n, chainid);
    const txid = await rpc.call<string>('sendrawtransaction', [toHex(tx.bytes)]);
    expect((await rpc.call<{ finalized: boolean }>('waittransactionfinality', [txid, 20_000])).finalized).toBe(true);
    expect(await rpc.error('sendrawtransaction', [toHex(tx.bytes)])).toMatchObject({ code: -27, message: 'already-in-chain' });
    coin = (await coinsOf(rpc, wallet().address)).sort((a, b) => (a.amount > b.amount ? -1 : 1))[0]!;
  });

  it('−5 for an unknown transaction or block', async () => {
    const unknown = toHex(randomBytes(32));
    expect(await rpc.error('getrawtransaction', [unknown])).toMatchObject({ code: -5 });
    expect(await rpc.error('gettransactionfinality', [unknown])).toMatchObject({ code: -5 });
    expect(await rpc.error('waittransactionfinality', [unknown, 100])).toMatchObject({ code: -5 });
    expect(await rpc.error('getblock', [unknown])).toMatchObject({ code: -5 });
    expect(await rpc.call('gettxout', [unknown, 0])).toBeNull();
    expect(await rpc.error('getaddressbalance', ['dtime1notanaddress'])).toMatchObject({ code: -5 });
    expect(await rpc.error('masternodestatus', [unknown])).toMatchObject({ code: -5 });
  });

  it('−32602 for ill-typed params, −8 for well-typed unacceptable values', async () => {
    expect(await rpc.error('getblockhash', ['abc'])).toMatchObject({ code: -32602 });
    expect(await rpc.error('getblockhash', [])).toMatchObject({ code: -32602 });
    expect(await rpc.error('getblock', [0, 3])).toMatchObject({ code: -32602 });
    expect(await rpc.error('getblockcount', [1])).toMatchObject({ code: -32602 });
    expect(await rpc.error('gettxout', ['00', 0])).toMatchObject({ code: -32602 });
    expect(await rpc.error('getblockhash', [1_000_000])).toMatchObject({ code: -8, message: 'Block height out of range' });
    expect(await rpc.error('getblock', [1_000_000])).toMatchObject({ code: -8 });
    expect(await rpc.error('addnode', ['/ip4/127.0.0.1/tcp/1', 'add'])).toMatchObject({ code: -8, message: 'p2p is not available in this build' });
    expect(await rpc.error('addnode', ['/ip4/127.0.0.1/tcp/1', 'bogus'])).toMatchObject({ code: -8 });
    expect(await rpc.error('disconnectnode', ['x'])).toMatchObject({ code: -8 });
  });

  it('−32601 for no such method, −32700 for a body that is not JSON', async () => {
    expect(await rpc.error('nosuchmethod')).toMatchObject({ code: -32601 });
    const res = await fetch(node.rpcUrl, { method: 'POST', headers: { authorization: `Bearer ${rpc.key}` }, body: '{not json' });
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32700);
  });

  it('double spend: −26 mempool-conflict while the first is pending, −25 missing-inputs once it is in a block', async () => {
    const me = wallet().signer.publicKey;
    const [spendable] = (await coinsOf(rpc, wallet().address)).sort((a, b) => (a.amount > b.amount ? -1 : 1));
    const first = signed([{ amount: spendable!.amount - 10_000n, publicKey: me }], spendable);
    const second = signed([{ amount: spendable!.amount - 20_000n, publicKey: me }], spendable); // same input, other tx
    expect(toHex(second.txid)).not.toBe(toHex(first.txid));
    const txid = await rpc.call<string>('sendrawtransaction', [toHex(first.bytes)]);
    // While the first may still be pending the second conflicts with it; once final, its input is spent.
    const pending = await rpc.raw('sendrawtransaction', [toHex(second.bytes)]);
    expect(pending.status).toBe(200);
    expect([
      { code: -26, message: 'mempool-conflict' },
      { code: -25, message: 'missing-inputs' },
    ]).toContainEqual({ code: pending.body.error?.code, message: pending.body.error?.message });
    expect((await rpc.call<{ finalized: boolean }>('waittransactionfinality', [txid, 20_000])).finalized).toBe(true);
    expect(await rpc.error('sendrawtransaction', [toHex(second.bytes)])).toMatchObject({ code: -25, message: 'missing-inputs' });
    coin = (await coinsOf(rpc, wallet().address)).sort((a, b) => (a.amount > b.amount ? -1 : 1))[0]!;
  });

  it('double spend held in the mempool: −26 mempool-conflict, deterministically', async () => {
    // A second node that waits 3 s before making a block, so the first spend is surely pending.
    const dir = tempDir();
    const slow = await startDevNode(dir, { idleMs: 600_000, txBatchDelayMs: 3_000 });
    try {
      const r = new Rpc(slow.rpcUrl, devApiKey(dir));
      const w = devWallet(dir);
      const cid = fromHex((await r.call<{ chainid: string }>('getblockchaininfo')).chainid);
      const [c] = await coinsOf(r, w.address);
      const mk = (fee: bigint) =>
        signInputs(
          createTransaction({ kind: TxKind.Transfer, inputs: [{ prevTxid: c!.txid, prevIndex: c!.index, signature: new Uint8Array(64) }], outputs: [{ amount: c!.amount - fee, publicKey: w.signer.publicKey }] }),
          cid,
          w.signer,
        );
      const a = mk(10_000n);
      await r.call('sendrawtransaction', [toHex(a.bytes)]);
      const e = await r.error('sendrawtransaction', [toHex(mk(20_000n).bytes)]);
      expect(e).toMatchObject({ code: -26, message: 'mempool-conflict' });
      expect(typeof (e.data as { detail: string }).detail).toBe('string');
      expect(await r.call('getrawmempool')).toEqual([toHex(a.txid)]);
    } finally {
      await slow.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('oversize: −26 tx-too-large for a transaction over 1,000,000 bytes (2 MB and 4 MB of hex accepted by the body limit)', async () => {
    const me = wallet().signer.publicKey;
    /** A signed transfer of `coin` whose encoding is at least `bytes` long (many small outputs). */
    const ofSize = (bytes: number): Transaction => {
      let n = 1;
      while (encodedTxSize(1, n, 0) < bytes) n++;
      return signed(Array.from({ length: n }, () => ({ amount: 1_000n, publicKey: me })));
    };
    const just = ofSize(MAX_TX_SIZE + 1);
    expect(just.bytes.length).toBeGreaterThan(MAX_TX_SIZE);
    expect(just.bytes.length).toBeLessThan(MAX_TX_SIZE + 100);
    const e = await rpc.error('sendrawtransaction', [toHex(just.bytes)]);
    expect(e).toMatchObject({ code: -26, message: 'tx-too-large' });
    expect((e.data as { detail: string }).detail).toContain(String(just.bytes.length));
    // The largest transaction the RPC decodes at all (MAX_BLOCK_SIZE, 4,000,000 hex characters).
    const big = ofSize(MAX_BLOCK_SIZE - 64);
    expect(big.bytes.length).toBeLessThanOrEqual(MAX_BLOCK_SIZE);
    expect(await rpc.error('sendrawtransaction', [toHex(big.bytes)])).toMatchObject({ code: -26, message: 'tx-too-large' });
    // Beyond it the hex parameter itself is refused (−32602), still under the 4 MiB body limit.
    const huge = ofSize(MAX_BLOCK_SIZE + 1);
    expect(await rpc.error('sendrawtransaction', [toHex(huge.bytes)])).toMatchObject({ code: -32602 });
    expect(await rpc.call('getrawmempool')).toEqual([]);
  });

  it('HTTP 413 for a body over the 4 MiB limit, and the node keeps serving', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'sendrawtransaction', params: ['00'.repeat(2 * 1024 * 1024 + 16)] });
    expect(body.length).toBeGreaterThan(4 * 1024 * 1024);
    const res = await fetch(node.rpcUrl, { method: 'POST', headers: { authorization: `Bearer ${rpc.key}`, 'content-type': 'application/json' }, body });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: number }; id: unknown })).toMatchObject({ error: { code: -32600 }, id: null });
    expect(typeof (await rpc.call('getblockcount'))).toBe('number');
  });

  it('a batch against the real node: results and errors in order, notifications unanswered, over the cap refused', async () => {
    const { chainid } = await rpc.call<{ chainid: string }>('getblockchaininfo');
    const tx = buildTransfer({ chainId: fromHex(chainid), signer: wallet().signer, coins: [coin], recipients: [{ amount: 3_000n, publicKey: wallet().signer.publicKey }], feeRate: 1n });
    const post = async (key: string, payload: unknown) => {
      const res = await fetch(node.rpcUrl, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(payload) });
      return { status: res.status, body: (await res.json()) as { id: unknown; result?: unknown; error?: { code: number; message: string } }[] };
    };
    const height = await rpc.call<number>('getblockcount');
    const batch = await post(rpc.key, [
      { jsonrpc: '2.0', id: 1, method: 'getblockcount' },
      { jsonrpc: '2.0', id: 'two', method: 'nosuchmethod' },
      { jsonrpc: '2.0', id: 3, method: 'sendrawtransaction', params: ['zz'] },
      { jsonrpc: '2.0', method: 'getblockcount' }, // a notification: runs, no entry
      { jsonrpc: '2.0', id: 4, method: 'getblockhash', params: ['abc'] },
      42, // malformed entry
      { jsonrpc: '2.0', id: 5, method: 'sendrawtransaction', params: [toHex(tx.bytes)] },
      { jsonrpc: '2.0', id: 6, method: 'sendrawtransaction', params: [toHex(tx.bytes)] },
      { id: 7, method: 'getblockhash', params: [0] }, // 1.0 shape inside the batch
    ]);
    expect(batch.status).toBe(200);
    const b = batch.body;
    expect(b).toHaveLength(8);
    expect(b[0]).toEqual({ jsonrpc: '2.0', id: 1, result: height });
    expect(b[1]).toMatchObject({ id: 'two', error: { code: -32601 } });
    expect(b[2]).toMatchObject({ id: 3, error: { code: -22 } });
    expect(b[3]).toMatchObject({ id: 4, error: { code: -32602 } });
    expect(b[4]).toMatchObject({ id: null, error: { code: -32600 } });
    expect(b[5]).toEqual({ jsonrpc: '2.0', id: 5, result: toHex(tx.txid) });
    expect(b[6]).toMatchObject({ id: 6, error: { code: -26 } }); // already-in-mempool, or −27 once final
    expect([-26, -27]).toContain(b[6]!.error!.code);
    expect(b[7]).toMatchObject({ id: 7, error: null, result: await rpc.call('getblockhash', [0]) });
    expect((await rpc.call<{ finalized: boolean }>('waittransactionfinality', [toHex(tx.txid), 20_000])).finalized).toBe(true);
    coin = (await coinsOf(rpc, wallet().address)).sort((a, x) => (a.amount > x.amount ? -1 : 1))[0]!;

    // Over the batch cap: one −32600 for the whole request, nothing runs.
    const capped = await fetch(node.rpcUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${rpc.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'getblockcount' }))),
    });
    expect(capped.status).toBe(200);
    expect((await capped.json()) as unknown).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('HTTP 401 without or with an unknown key, 403 outside the scope, 429 over the rate', async () => {
    const none = await rpcRaw(node.rpcUrl, null, 'getblockcount');
    expect(none.status).toBe(401);
    expect(none.body.error?.code).toBe(-32001);
    const wrong = await rpcRaw(node.rpcUrl, 'tc_' + 'A'.repeat(43), 'getblockcount');
    expect(wrong.status).toBe(401);

    const keys = new ApiKeyStore(datadir);
    const reader = keys.create({ scopes: ['read'], ratePerSecond: 1 }).key;
    // Created in the same reload as `reader` (polling with a not-yet-known key spends the address's failed-auth budget).
    const batchReader = keys.create({ scopes: ['read'], ratePerSecond: 1_000 }).key;
    // The node re-reads apikeys.json at most once a second: wait until it knows the new key.
    const deadline = Date.now() + 5_000;
    let first = await rpcRaw(node.rpcUrl, reader, 'getblockcount');
    while (first.status === 401 && Date.now() < deadline) {
      // Each 401 spends the address's failed-auth budget (10, then 1/s) and two were spent above:
      // polling every 350 ms across the ≤ 1 s reload keeps the total well under it.
      await new Promise((r) => setTimeout(r, 350));
      first = await rpcRaw(node.rpcUrl, reader, 'getblockcount');
    }
    expect(first.status).toBe(200);
    const forbidden = await rpcRaw(node.rpcUrl, reader, 'sendrawtransaction', ['00']);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error?.code).toBe(-32002);
    // Rate 1/s with a burst of 2: the bucket is now empty.
    const limited = await rpcRaw(node.rpcUrl, reader, 'getblockcount');
    expect(limited.status).toBe(429);
    expect(limited.body.error?.code).toBe(-32005);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // In a batch, a scope failure is −32002 in that entry's slot; the other entries run, HTTP stays 200.
    const res = await fetch(node.rpcUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${batchReader}`, 'content-type': 'application/json' },
      body: JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'getblockcount' },
        { jsonrpc: '2.0', id: 2, method: 'sendrawtransaction', params: ['00'] },
        { jsonrpc: '2.0', id: 3, method: 'stop' },
      ]),
    });
    expect(res.status).toBe(200);
    const scoped = (await res.json()) as { id: number; result?: unknown; error?: { code: number } }[];
    expect(scoped[0]).toMatchObject({ id: 1, result: expect.any(Number) });
    expect(scoped[1]).toMatchObject({ id: 2, error: { code: -32002 } });
    expect(scoped[2]).toMatchObject({ id: 3, error: { code: -32002 } });
    expect((await fetch(new URL('health', node.rpcUrl))).status).toBe(200);
  });
});

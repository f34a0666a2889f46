/**
 * Every SPEC §5 error code reached by a real request to a real dev node: decode (−22), missing
 * inputs (−25), rules (−26 with the rule as the message), already in chain (−27), unknown (−5),
 * bad params (−32602, −8), no such method (−32601), parse (−32700), and HTTP 401/403/429.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TxKind } from '../../chain/constants.js';
import { fromHex, toHex } from '../../chain/hash.js';
import { createTransaction, withSignatures, type Transaction, type TxOutput } from '../../chain/transaction.js';
import { signInputs, type Coin } from '../../chain/tx-builder.js';
import { ApiKeyStore } from '../../rpc/apikeys.js';
import type { Node } from '../../src/node.js';
import { Rpc, coinsOf, devApiKey, devWallet, rpcRaw, startDevNode, tempDir, transfer } from './helpers.js';

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

  it('HTTP 401 without or with an unknown key, 403 outside the scope, 429 over the rate', async () => {
    const none = await rpcRaw(node.rpcUrl, null, 'getblockcount');
    expect(none.status).toBe(401);
    expect(none.body.error?.code).toBe(-32001);
    const wrong = await rpcRaw(node.rpcUrl, 'tc_' + 'A'.repeat(43), 'getblockcount');
    expect(wrong.status).toBe(401);

    const keys = new ApiKeyStore(datadir);
    const reader = keys.create({ scopes: ['read'], ratePerSecond: 1 }).key;
    // The node re-reads apikeys.json at most once a second: wait until it knows the new key.
    const deadline = Date.now() + 5_000;
    let first = await rpcRaw(node.rpcUrl, reader, 'getblockcount');
    while (first.status === 401 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
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
  });
});

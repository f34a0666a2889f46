/**
 * A real dev node (in-process Node.create, real LevelDB in a temp datadir, real HTTP): the full
 * transaction life cycle, restart, idle-interval blocks, and the read methods of SPEC §5.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress } from '../../chain/address.js';
import { createSigner, generateSecretKey } from '../../chain/ed25519.js';
import { fromHex, toHex } from '../../chain/hash.js';
import { buildTransfer } from '../../chain/tx-builder.js';
import { ApiKeyStore } from '../../rpc/apikeys.js';
import type { Node } from '../../src/node.js';
import { Rpc, devApiKey, devWallet, rpcRaw, startDevNode, tempDir, transfer, waitFor } from './helpers.js';

const TIME = 100_000_000n;

interface ChainInfo {
  chain: string;
  blocks: number;
  bestblockhash: string;
  finalizedheight: number;
  finalizedhash: string;
  chainid: string;
}
interface Finality {
  txid: string;
  finalized: boolean;
  height: number | null;
  blockhash: string | null;
}
interface Balance {
  confirmed: string;
  unconfirmed: string;
  utxos: number;
}

describe('dev node: transaction life cycle over RPC', () => {
  let datadir: string;
  let node: Node;
  let rpc: Rpc;

  beforeAll(async () => {
    datadir = tempDir();
    // A long idle interval: every block in this suite is made because a transaction arrived.
    node = await startDevNode(datadir, { idleMs: 600_000 });
    rpc = new Rpc(node.rpcUrl, devApiKey(datadir));
  });
  afterAll(async () => {
    await node?.close();
    rmSync(datadir, { recursive: true, force: true });
  });

  it('starts a dev chain whose genesis funds the dev wallet with 1,000,000 TIME', async () => {
    const info = await rpc.call<ChainInfo>('getblockchaininfo');
    expect(info.chain).toBe('dev');
    expect(info.blocks).toBe(0);
    expect(info.chainid).toBe(info.bestblockhash);
    expect(info.finalizedheight).toBe(0);
    const wallet = devWallet(datadir);
    expect(node.dev!.wallet.address).toBe(wallet.address);
    const bal = await rpc.call<Balance>('getaddressbalance', [wallet.address]);
    expect(bal).toEqual({ confirmed: (1_000_000n * TIME).toString(), unconfirmed: '0', utxos: 1 });
    const cons = await rpc.call<Record<string, unknown>>('getconsensusinfo');
    expect(cons).toMatchObject({ height: 1, validators: 1, f: 0, quorum: 1, leader: toHex(node.dev!.operator.publicKey) });
  });

  it('build → sign → sendrawtransaction → waittransactionfinality → gettxout, with balances before and after', async () => {
    const { chainid } = await rpc.call<ChainInfo>('getblockchaininfo');
    const wallet = devWallet(datadir);
    const recipient = encodeAddress(createSigner(generateSecretKey()).publicKey, 'dev');
    const before = BigInt((await rpc.call<Balance>('getaddressbalance', [wallet.address])).confirmed);
    const amount = 12_345n * TIME;
    const tx = await transfer(rpc, wallet, recipient, amount, chainid);
    const fee = tx.bytes.length; // fee rate 1 unit/byte, and the change absorbs the rest

    const txid = await rpc.call<string>('sendrawtransaction', [toHex(tx.bytes)]);
    expect(txid).toBe(toHex(tx.txid));
    const started = Date.now();
    const fin = await rpc.call<Finality>('waittransactionfinality', [txid, 20_000]);
    expect(fin.finalized).toBe(true);
    expect(fin.height).toBeGreaterThanOrEqual(1);
    // Produced because the transaction arrived, not by the (10 minute) idle interval.
    expect(Date.now() - started).toBeLessThan(10_000);

    const out = await rpc.call<Record<string, unknown>>('gettxout', [txid, 0]);
    expect(out).toMatchObject({ amount: amount.toString(), address: recipient, height: fin.height, confirmations: 1 });
    const spent = tx.inputs[0]!;
    expect(await rpc.call('gettxout', [toHex(spent.prevTxid), spent.prevIndex])).toBeNull();

    const after = await rpc.call<Balance>('getaddressbalance', [wallet.address]);
    expect(BigInt(after.confirmed)).toBe(before - amount - BigInt(fee));
    expect(await rpc.call<Balance>('getaddressbalance', [recipient])).toEqual({ confirmed: amount.toString(), unconfirmed: '0', utxos: 1 });
    const unspent = await rpc.call<{ txid: string; vout: number; amount: string; height: number }[]>('listunspent', [recipient]);
    expect(unspent).toEqual([{ txid, vout: 0, amount: amount.toString(), height: fin.height }]);

    const status = await rpc.call<Finality>('gettransactionfinality', [txid]);
    expect(status).toEqual(fin);
    expect(await rpc.call('getmempoolinfo')).toMatchObject({ size: 0, bytes: 0, maxsize: 10_000, minfeerate: '1' });
  });

  it('waitforblockheight answers a reached height at once, the next one the moment its block is final, and the tip at the timeout', async () => {
    const info = await rpc.call<ChainInfo>('getblockchaininfo');
    const tip = { hash: info.finalizedhash, height: info.finalizedheight };
    expect(await rpc.call('waitforblockheight', [info.finalizedheight, 20_000])).toEqual(tip);

    const started = Date.now();
    expect(await rpc.call('waitforblockheight', [info.finalizedheight + 5, 300])).toEqual(tip);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    // No block comes by itself (10 minute idle interval): the wait is answered by the transaction's block.
    const next = rpc.call<{ hash: string; height: number }>('waitforblockheight', [info.finalizedheight + 1, 20_000]);
    const wallet = devWallet(datadir);
    const tx = await transfer(rpc, wallet, wallet.address, 2_000n, info.chainid);
    const txid = await rpc.call<string>('sendrawtransaction', [toHex(tx.bytes)]);
    const fin = await rpc.call<Finality>('waittransactionfinality', [txid, 20_000]);
    expect(await next).toEqual({ hash: fin.blockhash, height: fin.height });
    expect(fin.height).toBe(info.finalizedheight + 1);
    await expect(rpc.call('waitforblockheight', [-1])).rejects.toThrow(/-32602/);
  });

  it('serves the block and transaction in every verbosity', async () => {
    const { chainid } = await rpc.call<ChainInfo>('getblockchaininfo');
    const wallet = devWallet(datadir);
    const tx = await transfer(rpc, wallet, wallet.address, 1_000n, chainid);
    const txid = await rpc.call<string>('sendrawtransaction', [toHex(tx.bytes)]);
    const fin = await rpc.call<Finality>('waittransactionfinality', [txid, 20_000]);
    const height = fin.height!;

    expect(await rpc.call('getblockhash', [height])).toBe(fin.blockhash);
    expect(await rpc.call('getbestblockhash')).toBe(fin.blockhash);
    expect(await rpc.call('getblockcount')).toBe(height);
    const hex = await rpc.call<string>('getblock', [fin.blockhash, 0]);
    const b1 = await rpc.call<Record<string, unknown>>('getblock', [height]);
    expect(b1).toMatchObject({ hash: fin.blockhash, height, finalized: true, view: 0, size: hex.length / 2, proposer: toHex(node.dev!.operator.publicKey) });
    expect((b1.tx as string[]).slice(1)).toEqual([txid]);
    expect(typeof b1.certificate).toBe('string');
    const b2 = await rpc.call<{ tx: { txid: string; kind: string }[] }>('getblock', [height, 2]);
    expect(b2.tx.map((t) => [t.txid, t.kind])).toEqual([[(b1.tx as string[])[0], 'coinbase'], [txid, 'transfer']]);

    expect(await rpc.call('getrawtransaction', [txid])).toBe(toHex(tx.bytes));
    const verbose = await rpc.call<Record<string, unknown>>('getrawtransaction', [txid, true]);
    expect(verbose).toMatchObject({ txid, hex: toHex(tx.bytes), kind: 'transfer', blockhash: fin.blockhash, height, confirmations: 1, finalized: true });
    expect((verbose.vin as unknown[]).length).toBe(tx.inputs.length);
    expect((verbose.vout as { address: string }[])[0]!.address).toBe(wallet.address);
  });

  it('testmempoolaccept checks a parent and child package without adding them', async () => {
    const { chainid } = await rpc.call<ChainInfo>('getblockchaininfo');
    const wallet = devWallet(datadir);
    const height = await rpc.call<number>('getblockcount');
    const parent = await transfer(rpc, wallet, wallet.address, 50n * TIME, chainid);
    // The child spends the parent's first output, which exists only if the parent is accepted.
    const child = buildTransfer({
      chainId: fromHex(chainid),
      signer: wallet.signer,
      coins: [{ txid: parent.txid, index: 0, amount: 50n * TIME }],
      recipients: [{ amount: 10n * TIME, publicKey: wallet.signer.publicKey }],
      feeRate: 1n,
    });
    const hexes = [parent, child, parent].map((t) => toHex(t.bytes));
    const res = await rpc.call<{ txid: string; allowed: boolean }[]>('testmempoolaccept', [hexes]);
    expect(res[0]).toMatchObject({ txid: toHex(parent.txid), allowed: true, fee: String(parent.bytes.length) });
    expect(res[1]).toMatchObject({ txid: toHex(child.txid), allowed: true });
    expect(res[2]).toMatchObject({ allowed: false, 'reject-reason': 'already-in-mempool' });
    // Alone, the child's input does not exist.
    expect(await rpc.call('testmempoolaccept', [[toHex(child.bytes)]])).toEqual([{ txid: toHex(child.txid), allowed: false, 'reject-reason': 'missing-inputs' }]);
    expect(await rpc.call('getrawmempool')).toEqual([]);
    expect(await rpc.call('getblockcount')).toBe(height);
  });

  it('reports the single validator as the masternode list, and no peers', async () => {
    const op = toHex(node.dev!.operator.publicKey);
    const list = await rpc.call<Record<string, unknown>[]>('masternodelist');
    expect(list).toEqual([{ operator: op, owner: null, collateral: null, addr: null, status: 'ENABLED', registeredheight: 0, lastheartbeat: null, penalties: '0', offences: 0, uptime: null }]);
    expect(await rpc.call('masternodecount')).toEqual({ total: 1, enabled: 1 });
    expect(await rpc.call('masternodestatus')).toEqual(list[0]);
    expect(await rpc.call('masternodestatus', [op])).toEqual(list[0]);
    expect(await rpc.call('getpeerinfo')).toEqual([]);
    expect(await rpc.call('getnetworkinfo')).toMatchObject({ connections: 0, networkactive: false });
    const v = await rpc.call<Record<string, unknown>>('validateaddress', [node.dev!.wallet.address]);
    expect(v).toEqual({ isvalid: true, address: node.dev!.wallet.address, publickey: toHex(node.dev!.wallet.publicKey) });
    expect(await rpc.call('validateaddress', ['time1nope'])).toMatchObject({ isvalid: false });
  });

  it('updates metrics from the node and serves /health', async () => {
    const res = await fetch(new URL('metrics', node.rpcUrl), { headers: { authorization: `Bearer ${rpc.key}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    const height = await rpc.call<number>('getblockcount');
    expect(text).toContain(`timecoin_chain_height ${height}`);
    expect(text).toContain(`timecoin_finalized_height ${height}`);
    expect(text).toMatch(/timecoin_transactions_finalized_total [1-9]/);
    expect(text).toMatch(/timecoin_blocks_produced_total [1-9]/);
    expect(text).toMatch(/timecoin_rpc_requests_total\{method="sendrawtransaction",code="0"\} [1-9]/);
    expect(text).toMatch(/timecoin_rpc_http_responses_total\{status="200"\} [1-9]/);
    expect((await fetch(new URL('health', node.rpcUrl))).status).toBe(200);
    expect((await fetch(new URL('metrics', node.rpcUrl))).status).toBe(401);
    const again = await (await fetch(new URL('metrics', node.rpcUrl), { headers: { authorization: `Bearer ${rpc.key}` } })).text();
    expect(again).toMatch(/timecoin_rpc_http_responses_total\{status="401"\} [1-9]/);
  });
});

describe('dev node: idle blocks and restart', () => {
  it('produces empty blocks at the idle interval, and a restart resumes the same chain', async () => {
    const datadir = tempDir();
    try {
      let node = await startDevNode(datadir, { idleMs: 1_000 });
      let rpc = new Rpc(node.rpcUrl, devApiKey(datadir));
      const first = await rpc.call<ChainInfo>('getblockchaininfo');
      await waitFor('two idle blocks', async () => ((await rpc.call<number>('getblockcount')) >= 2 ? true : undefined), 15_000);
      const b1 = await rpc.call<{ timems: number; tx: string[] }>('getblock', [1]);
      const b2 = await rpc.call<{ timems: number; tx: string[] }>('getblock', [2]);
      expect(b1.tx).toHaveLength(1); // the coinbase alone
      expect(b2.timems - b1.timems).toBeGreaterThanOrEqual(1_000);
      await node.close();
      expect((await node.exited).fatal).toBeNull();
      const before = await (async () => {
        const n = await startDevNode(datadir, { idleMs: 600_000 });
        const r = new Rpc(n.rpcUrl, devApiKey(datadir));
        const info = await r.call<ChainInfo>('getblockchaininfo');
        await n.close();
        return info;
      })();
      expect(before.chainid).toBe(first.chainid);
      expect(before.blocks).toBeGreaterThanOrEqual(2);

      node = await startDevNode(datadir, { idleMs: 1_000 });
      rpc = new Rpc(node.rpcUrl, devApiKey(datadir));
      expect(node.dev!.created).toBe(false);
      const resumed = await rpc.call<ChainInfo>('getblockchaininfo');
      expect(resumed.chainid).toBe(first.chainid);
      expect(resumed.blocks).toBeGreaterThanOrEqual(before.blocks);
      await waitFor('a block after the restart', async () => ((await rpc.call<number>('getblockcount')) > before.blocks ? true : undefined), 15_000);
      // `stop` (admin) answers, then closes the node cleanly.
      expect(await rpc.call('stop')).toBe('timecoin stopping');
      expect((await node.exited).fatal).toBeNull();
      expect((await fetch(new URL('health', node.rpcUrl)).catch(() => null))?.status ?? 503).toBe(503);
    } finally {
      rmSync(datadir, { recursive: true, force: true });
    }
  });
});

describe('dev node: a transaction while it waits in the mempool', () => {
  it('is pending everywhere until its block is final, then final everywhere', async () => {
    const datadir = tempDir();
    // Hold transactions for 2 s before starting a block, so the pending state can be observed.
    const node = await startDevNode(datadir, { idleMs: 600_000, txBatchDelayMs: 2_000 });
    try {
      const rpc = new Rpc(node.rpcUrl, devApiKey(datadir));
      const { chainid } = await rpc.call<ChainInfo>('getblockchaininfo');
      const wallet = devWallet(datadir);
      const recipient = encodeAddress(createSigner(generateSecretKey()).publicKey, 'dev');
      const amount = 7n * TIME;
      const tx = await transfer(rpc, wallet, recipient, amount, chainid);
      const spent = tx.inputs[0]!;
      const txid = await rpc.call<string>('sendrawtransaction', [toHex(tx.bytes)]);

      expect(await rpc.call('getrawmempool')).toEqual([txid]);
      expect(await rpc.call('gettransactionfinality', [txid])).toEqual({ txid, finalized: false, height: null, blockhash: null });
      expect(await rpc.call<Balance>('getaddressbalance', [recipient])).toEqual({ confirmed: '0', unconfirmed: amount.toString(), utxos: 0 });
      const walletBal = await rpc.call<Balance>('getaddressbalance', [wallet.address]);
      expect(BigInt(walletBal.unconfirmed)).toBe(-(amount + BigInt(tx.bytes.length)));
      expect(await rpc.call('gettxout', [txid, 0])).toMatchObject({ amount: amount.toString(), confirmations: 0, height: null });
      expect(await rpc.call('gettxout', [txid, 0, false])).toBeNull();
      expect(await rpc.call('gettxout', [toHex(spent.prevTxid), spent.prevIndex])).toBeNull();
      expect(await rpc.call('gettxout', [toHex(spent.prevTxid), spent.prevIndex, false])).not.toBeNull();
      expect(await rpc.call<Record<string, unknown>>('getrawtransaction', [txid, 1])).toMatchObject({ blockhash: null, confirmations: 0, finalized: false });
      expect(await rpc.call('getconsensusinfo')).toMatchObject({ phase: 'idle', height: 1 });
      expect(await rpc.error('sendrawtransaction', [toHex(tx.bytes)])).toMatchObject({ code: -26, message: 'already-in-mempool' });

      // A short wait times out with the pending state; a longer one returns as soon as it is final.
      expect(await rpc.call('waittransactionfinality', [txid, 100])).toMatchObject({ finalized: false });
      const fin = await rpc.call<Finality>('waittransactionfinality', [txid, 20_000]);
      expect(fin).toMatchObject({ txid, finalized: true, height: 1 });
      expect(await rpc.call<Balance>('getaddressbalance', [recipient])).toEqual({ confirmed: amount.toString(), unconfirmed: '0', utxos: 1 });
      expect(await rpc.call('getrawmempool')).toEqual([]);
    } finally {
      await node.close();
      rmSync(datadir, { recursive: true, force: true });
    }
  });
});

describe('dev node: a restart keeps the chain, the API keys and the dev wallet', () => {
  it('an API key created before the restart works after it; dev-wallet.json and dev-apikey are unchanged', async () => {
    const datadir = tempDir();
    try {
      let node = await startDevNode(datadir, { idleMs: 600_000 });
      const wallet = readFileSync(join(datadir, 'dev-wallet.json'));
      const devKey = devApiKey(datadir);
      let rpc = new Rpc(node.rpcUrl, devKey);
      // A key created while the node runs (as `timecoin apikey create` does), used before the restart.
      const created = new ApiKeyStore(datadir).create({ scopes: ['read'], name: 'before-restart' });
      let reader = new Rpc(node.rpcUrl, created.key);
      await waitFor('the node to accept the new key', async () => ((await rpcRaw(node.rpcUrl, created.key, 'getblockcount')).status === 200 ? true : undefined), 5_000, 350);
      const { chainid } = await rpc.call<ChainInfo>('getblockchaininfo');
      const tx = await transfer(rpc, devWallet(datadir), encodeAddress(createSigner(generateSecretKey()).publicKey, 'dev'), 3n * TIME, chainid);
      const txid = await rpc.call<string>('sendrawtransaction', [toHex(tx.bytes)]);
      const fin = await rpc.call<Finality>('waittransactionfinality', [txid, 20_000]);
      expect(fin.finalized).toBe(true);
      const balance = await reader.call<Balance>('getaddressbalance', [node.dev!.wallet.address]);
      const before = await reader.call<ChainInfo>('getblockchaininfo');
      await node.close();
      expect((await node.exited).fatal).toBeNull();

      node = await startDevNode(datadir, { idleMs: 600_000 });
      try {
        expect(node.dev!.created).toBe(false);
        expect(readFileSync(join(datadir, 'dev-wallet.json')).equals(wallet)).toBe(true);
        expect(devApiKey(datadir)).toBe(devKey);
        expect(node.dev!.apiKey).toBe(devKey);
        rpc = new Rpc(node.rpcUrl, devKey);
        reader = new Rpc(node.rpcUrl, created.key);
        // The pre-restart key authenticates at once (apikeys.json is read at start), with its scope.
        const after = await reader.call<ChainInfo>('getblockchaininfo');
        expect(after).toMatchObject({ chainid: before.chainid, bestblockhash: before.bestblockhash, finalizedheight: before.finalizedheight });
        expect(await reader.call('gettransactionfinality', [txid])).toEqual(fin);
        expect(await reader.call('getaddressbalance', [node.dev!.wallet.address])).toEqual(balance);
        expect((await rpcRaw(node.rpcUrl, created.key, 'sendrawtransaction', ['00'])).status).toBe(403);
        expect(await rpc.call('getblockcount')).toBe(before.blocks);
      } finally {
        await node.close();
      }
    } finally {
      rmSync(datadir, { recursive: true, force: true });
    }
  });
});

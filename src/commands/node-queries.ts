/**
 * The node queries the wallet and masternode commands share, with every answer checked before it
 * is used to sign anything: chain id and network, spendable coins (amounts parsed exactly from
 * SPEC §5 unit strings), masternode collaterals to keep unspent, the fee rate, and submission
 * with an optional wait for finality.
 */
import { NETWORKS, type NetworkName } from '../../chain/constants.js';
import type { Coin } from '../../chain/tx-builder.js';
import { outpointKey, type Transaction } from '../../chain/transaction.js';
import { parseUnits } from '../amount.js';
import type { RpcClient } from '../rpc-client.js';
import { optionalCall } from './client-options.js';

const HASH = /^[0-9a-f]{64}$/;

export interface ChainInfo {
  readonly network: NetworkName;
  /** The genesis hash every signature commits to (SPEC §3, §4). */
  readonly chainId: Uint8Array;
  readonly height: number;
}

/** `getblockchaininfo.chain` → network; Bitcoin-style short names are accepted too. */
export function networkOfChain(chain: unknown): NetworkName {
  const names: Record<string, NetworkName> = { mainnet: 'mainnet', main: 'mainnet', testnet: 'testnet', test: 'testnet', dev: 'dev', regtest: 'dev' };
  const n = typeof chain === 'string' ? names[chain] : undefined;
  if (n === undefined) throw new Error(`the node reports an unknown chain ${JSON.stringify(chain)}`);
  return n;
}

export async function chainInfo(client: RpcClient): Promise<ChainInfo> {
  const info = await client.call<Record<string, unknown>>('getblockchaininfo');
  if (typeof info !== 'object' || info === null) throw new Error('getblockchaininfo: unexpected answer');
  const id = typeof info.chainid === 'string' ? info.chainid.toLowerCase() : '';
  if (!HASH.test(id)) throw new Error('getblockchaininfo: the node did not report a 32-byte hex chainid');
  return { network: networkOfChain(info.chain), chainId: Buffer.from(id, 'hex'), height: Number(info.blocks) };
}

/** Refuse to sign for a node of another network than the wallet's. */
export function checkSameNetwork(walletNetwork: NetworkName, info: ChainInfo, url: string): void {
  if (walletNetwork !== info.network) {
    throw new Error(`the wallet is for ${walletNetwork} (${NETWORKS[walletNetwork].hrp}1…) but the node at ${url} runs ${info.network}`);
  }
}

/** A SPEC §5 amount: a string of integer units (a safe-integer JSON number is tolerated). */
function units(v: unknown, what: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v !== 'string') throw new Error(`${what}: the node sent a non-string amount`);
  try {
    return parseUnits(v);
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}

export { units as parseNodeUnits };

export interface NodeCoin extends Coin {
  readonly height: number;
}

/** `listunspent [address]`: final outputs locked to the address, checked entry by entry. */
export async function listCoins(client: RpcClient, address: string): Promise<NodeCoin[]> {
  const list = await client.call<unknown>('listunspent', [address]);
  if (!Array.isArray(list)) throw new Error('listunspent: unexpected answer');
  return list.map((e: unknown) => {
    const o = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
    const txid = typeof o.txid === 'string' ? o.txid.toLowerCase() : '';
    if (!HASH.test(txid)) throw new Error('listunspent: an entry has no valid txid');
    if (typeof o.vout !== 'number' || !Number.isInteger(o.vout) || o.vout < 0 || o.vout > 0xffffffff) throw new Error('listunspent: an entry has no valid vout');
    return { txid: Buffer.from(txid, 'hex'), index: o.vout, amount: units(o.amount, 'listunspent'), height: Number(o.height) };
  });
}

export const outpointText = (txid: Uint8Array, index: number): string => `${Buffer.from(txid).toString('hex')}:${index}`;

/**
 * Outpoints that are masternode collaterals (`masternodelist`): spending one ends its
 * masternode (SPEC §3), so the wallet never picks them for a payment. A node without the
 * method yet answers −32601, meaning no masternodes are known.
 */
export async function masternodeCollaterals(client: RpcClient): Promise<Set<string>> {
  const list = await optionalCall<unknown>(client, 'masternodelist', [], []);
  const out = new Set<string>();
  if (Array.isArray(list)) {
    for (const e of list) {
      const c = (e as { collateral?: unknown } | null)?.collateral;
      if (typeof c === 'string') out.add(c.toLowerCase());
    }
  }
  return out;
}

/** `txid:n` → parts (the form `masternodelist` and Dash use). */
export function parseOutpoint(text: string, flag: string): { txid: Uint8Array; index: number } {
  const m = /^([0-9a-fA-F]{64}):(\d{1,10})$/.exec(text.trim());
  const index = m === null ? NaN : Number(m[2]);
  if (m === null || index > 0xffffffff) throw new Error(`invalid ${flag} ${JSON.stringify(text.slice(0, 80))}: expected <64-hex txid>:<output index>`);
  return { txid: Buffer.from(m[1]!, 'hex'), index };
}

/** `--fee-rate`: whole units per encoded byte. */
export function parseFeeRate(text: string): bigint {
  if (!/^\d{1,12}$/.test(text)) throw new Error(`invalid --fee-rate ${JSON.stringify(text.slice(0, 40))}: expected whole units per byte, e.g. 1`);
  return BigInt(text);
}

/** The node's minimum fee rate (`getmempoolinfo.minfeerate`), or SPEC §1's 1 unit/byte. */
export async function nodeFeeRate(client: RpcClient): Promise<bigint> {
  const info = await optionalCall<Record<string, unknown> | null>(client, 'getmempoolinfo', [], null);
  const v = info?.minfeerate;
  if (v === undefined || v === null) return 1n;
  const rate = units(v, 'getmempoolinfo.minfeerate');
  return rate < 1n ? 1n : rate;
}

/** Outpoints (outpointKey form) that `gettxout` with the mempool reports as no longer unspent. */
export async function pendingSpent(client: RpcClient, outpoints: readonly { txid: Uint8Array; index: number }[]): Promise<Set<string>> {
  const answers = await client.batch<unknown>('gettxout', outpoints.map((p) => [Buffer.from(p.txid).toString('hex'), p.index, true]));
  const out = new Set<string>();
  answers.forEach((a, i) => {
    if (a === null) out.add(outpointKey(outpoints[i]!.txid, outpoints[i]!.index));
  });
  return out;
}

export interface SubmitOptions {
  /** Seconds to wait for finality; undefined = do not wait. */
  readonly waitSeconds?: number;
  readonly out: (t: string) => void;
  readonly err: (t: string) => void;
}

/** `--wait [seconds]` → seconds (a bare `--wait` is 60 s). */
export function parseWait(v: string | boolean | undefined): number | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return 60;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1) throw new Error(`invalid --wait ${JSON.stringify(v.slice(0, 40))}: expected seconds, 1–99999`);
  return Number(v);
}

/**
 * `sendrawtransaction`, then print the txid on stdout (alone, so `TXID=$(…)` works). With a wait,
 * `waittransactionfinality`; not final in time is an error (exit 1), though the transaction was
 * sent and may still be final later — the message says so.
 */
export async function submitTransaction(client: RpcClient, tx: Transaction, o: SubmitOptions): Promise<void> {
  const local = Buffer.from(tx.txid).toString('hex');
  const txid = await client.call<unknown>('sendrawtransaction', [Buffer.from(tx.bytes).toString('hex')]);
  if (typeof txid !== 'string' || txid.toLowerCase() !== local) {
    throw new Error(`sendrawtransaction: the node answered txid ${JSON.stringify(txid)}, expected ${local}`);
  }
  o.out(`${local}\n`);
  if (o.waitSeconds === undefined) return;
  const ms = o.waitSeconds * 1000;
  // The server holds the call up to `ms`; give the HTTP request a margin beyond that.
  const r = await client.call<Record<string, unknown>>('waittransactionfinality', [local, ms], ms + 15_000);
  if (r?.finalized !== true) throw new Error(`transaction ${local} was sent but is not final after ${o.waitSeconds} s; check it with getrawtransaction`);
  o.err(`final at height ${String(r.height)} in block ${String(r.blockhash)}\n`);
}

/**
 * JSON shapes of SPEC §5 shared by the method groups. Amounts stay `bigint` and hashes/bytes stay
 * `Uint8Array`: the RPC envelope writes them as decimal strings and lowercase hex.
 */
import { encodeAddress } from '../../chain/address.js';
import type { Block } from '../../chain/block.js';
import { MAX_BLOCK_SIZE, TxKind, type NetworkName } from '../../chain/constants.js';
import { DecodeCode, DecodeError } from '../../chain/errors.js';
import { fromHex } from '../../chain/hash.js';
import { decodeTransaction, type Transaction } from '../../chain/transaction.js';
import { RpcCode, RpcError, invalidParameter, notFound } from '../../rpc/errors.js';
import type { NodeServices } from '../services.js';

const KIND_NAMES: Record<number, string> = {
  [TxKind.Transfer]: 'transfer',
  [TxKind.Coinbase]: 'coinbase',
  [TxKind.MasternodeRegistration]: 'masternode-registration',
  [TxKind.Evidence]: 'evidence',
};

/** Where a confirmed transaction is. */
export interface TxPlace {
  readonly blockHash: Uint8Array;
  readonly height: number;
}

/** Largest raw transaction accepted as a parameter: decoding then names `tx-too-large` (−26). */
export const MAX_RAW_HEX_CHARS = 2 * MAX_BLOCK_SIZE;

/** Hex → transaction; anything that is not a canonical encoding is −22 (Bitcoin Core's code). */
export function decodeTxHex(hex: string): Transaction {
  let bytes: Uint8Array;
  try {
    bytes = fromHex(hex);
  } catch {
    throw new RpcError(RpcCode.DecodeFailed, 'TX decode failed: not an even-length hex string');
  }
  if (bytes.length === 0) throw new DecodeError(DecodeCode.Truncated, 'empty transaction');
  return decodeTransaction(bytes);
}

/** decodeTxHex as a list: the transaction, or nothing when it does not decode. */
export function tryDecodeTxHex(hex: string): Transaction[] {
  try {
    return [decodeTxHex(hex)];
  } catch {
    return [];
  }
}

/** The verbose transaction object; `place` null for a mempool transaction. */
export function txJson(tx: Transaction, s: NodeServices, place: TxPlace | null): Record<string, unknown> {
  const tip = s.chain.tip().height;
  const finalHeight = s.chain.finalized().height;
  return {
    txid: tx.txid,
    hex: tx.bytes,
    kind: KIND_NAMES[tx.kind] ?? String(tx.kind),
    size: tx.bytes.length,
    vin: tx.inputs.map((i) => ({ txid: i.prevTxid, vout: i.prevIndex })),
    vout: tx.outputs.map((o, n) => ({ n, amount: o.amount, address: encodeAddress(o.publicKey, s.network) })),
    blockhash: place?.blockHash ?? null,
    height: place?.height ?? null,
    confirmations: place === null ? 0 : tip - place.height + 1,
    finalized: place !== null && place.height <= finalHeight,
  };
}

/** getblock verbosity 1 (txids) or 2 (transaction objects). */
export async function blockJson(block: Block, s: NodeServices, verbosity: 1 | 2): Promise<Record<string, unknown>> {
  const h = block.header;
  const cert = await s.chain.getCertificate(block.hash);
  const place = { blockHash: block.hash, height: h.height };
  return {
    hash: block.hash,
    height: h.height,
    previousblockhash: h.height === 0 ? null : h.prevHash,
    // Seconds, as Bitcoin-style clients read `time`; the exact header value is `timems`.
    time: Math.floor(h.timestampMs / 1000),
    timems: h.timestampMs,
    proposer: h.proposer,
    view: h.view,
    txroot: h.txRoot,
    size: block.bytes.length,
    confirmations: s.chain.tip().height - h.height + 1,
    tx: verbosity === 1 ? block.txs.map((t) => t.txid) : block.txs.map((t) => txJson(t, s, place)),
    finalized: h.height <= s.chain.finalized().height,
    certificate: cert ?? null,
  };
}

/** A best-chain block by hash (−5 if unknown) or height (−8 if out of range). */
export async function resolveBlock(s: NodeServices, hashOrHeight: string | number): Promise<Block> {
  if (typeof hashOrHeight === 'number') {
    if (hashOrHeight > s.chain.tip().height) throw invalidParameter('Block height out of range');
    const b = await s.chain.getBlockByHeight(hashOrHeight);
    if (b === undefined) throw invalidParameter('Block height out of range');
    return b;
  }
  const b = await s.chain.getBlock(fromHex(hashOrHeight));
  if (b === undefined) throw notFound('Block not found');
  return b;
}

/** The network's address of a key. */
export function addressOf(publicKey: Uint8Array, network: NetworkName): string {
  return encodeAddress(publicKey, network);
}

/** Transaction methods (SPEC §5): getrawtransaction, gettxout, sendrawtransaction, testmempoolaccept. */
import { fromHex } from '../../chain/hash.js';
import { notFound } from '../../rpc/errors.js';
import { defineMethod, type MethodTable } from '../../rpc/methods.js';
import type { NodeServices } from '../services.js';
import { MAX_RAW_HEX_CHARS, addressOf, decodeTxHex, tryDecodeTxHex, txJson } from './format.js';

/** Bitcoin Core's package limit, also a bound on the work one call can ask for. */
const MAX_TEST_PACKAGE = 25;

/** The transaction method group. */
export function txMethods(s: NodeServices): MethodTable {
  return {
    getrawtransaction: defineMethod({
      scope: 'read',
      params: [
        { name: 'txid', type: 'hash' },
        { name: 'verbose', type: ['bool', 'uint'], optional: true, default: false, max: 1 },
      ],
      handler: async ([txidHex, verbose]) => {
        const txid = fromHex(txidHex);
        const pooled = s.mempool.get(txid);
        const rec = pooled === undefined ? await s.chain.getTransaction(txid) : undefined;
        const tx = pooled ?? rec?.tx;
        if (tx === undefined) throw notFound('No such mempool or blockchain transaction');
        if (verbose === false || verbose === 0) return tx.bytes;
        return txJson(tx, s, rec === undefined ? null : { blockHash: rec.blockHash, height: rec.height });
      },
    }),
    gettxout: defineMethod({
      scope: 'read',
      params: [
        { name: 'txid', type: 'hash' },
        { name: 'n', type: 'uint', max: 0xffffffff },
        { name: 'includeMempool', type: 'bool', optional: true, default: true },
      ],
      handler: async ([txidHex, n, includeMempool]) => {
        const txid = fromHex(txidHex);
        if (includeMempool && s.mempool.spentBy(txid, n) !== undefined) return null;
        const u = await s.chain.getUtxo(txid, n);
        if (u !== undefined) {
          const tip = s.chain.tip().height;
          return { amount: u.amount, address: addressOf(u.publicKey, s.network), height: u.height, confirmations: tip - u.height + 1, coinbase: u.coinbase };
        }
        const o = includeMempool ? s.mempool.output(txid, n) : undefined;
        if (o === undefined) return null;
        return { amount: o.amount, address: addressOf(o.publicKey, s.network), height: null, confirmations: 0, coinbase: false };
      },
    }),
    sendrawtransaction: defineMethod({
      scope: 'submit',
      params: [{ name: 'hex', type: 'string', maxLength: MAX_RAW_HEX_CHARS }],
      handler: async ([hex]) => s.submit(decodeTxHex(hex)),
      // A batch's signatures are verified together on the worker threads first; undecodable ones are left to their own run.
      prepareBatch: async (list) => s.prepareSubmits(list.flatMap(([hex]) => tryDecodeTxHex(hex))),
    }),
    testmempoolaccept: defineMethod({
      scope: 'submit',
      params: [{ name: 'rawtxs', type: 'array', maxLength: MAX_TEST_PACKAGE, items: { name: 'rawtx', type: 'string', maxLength: MAX_RAW_HEX_CHARS } }],
      handler: async ([rawtxs]) => s.testAccept((rawtxs as string[]).map(decodeTxHex)),
    }),
  };
}

/** Address methods (SPEC §5): getaddressbalance, listunspent, validateaddress. */
import { decodeAddress, parseAnyAddress } from '../../chain/address.js';
import { AddressError } from '../../chain/errors.js';
import { defineMethod, type MethodTable } from '../../rpc/methods.js';
import type { NodeServices } from '../services.js';

/** Longest string looked at as an address (BIP-173's 90, with room for a wrong-network one). */
const MAX_ADDRESS_PARAM = 128;

/** The address method group. */
export function addressMethods(s: NodeServices): MethodTable {
  const finalOutputs = async (address: string) => {
    const pk = decodeAddress(address, s.network);
    const fin = s.chain.finalized().height;
    return { pk, utxos: (await s.chain.getAddressUtxos(pk)).filter((u) => u.height <= fin) };
  };
  return {
    getaddressbalance: defineMethod({
      scope: 'read',
      params: [{ name: 'address', type: 'string', maxLength: MAX_ADDRESS_PARAM }],
      handler: async ([address]) => {
        const { pk, utxos } = await finalOutputs(address);
        let confirmed = 0n;
        let spentInPool = 0n;
        for (const u of utxos) {
          confirmed += u.amount;
          if (s.mempool.spentBy(u.txid, u.index) !== undefined) spentInPool += u.amount;
        }
        let receivedInPool = 0n;
        for (const o of s.mempool.outputsTo(pk)) if (o.spentBy === undefined) receivedInPool += o.amount;
        // Net effect of the mempool on this address (negative while it spends more than it receives).
        return { confirmed, unconfirmed: receivedInPool - spentInPool, utxos: utxos.length };
      },
    }),
    listunspent: defineMethod({
      scope: 'read',
      params: [{ name: 'address', type: 'string', maxLength: MAX_ADDRESS_PARAM }],
      handler: async ([address]) => {
        const { utxos } = await finalOutputs(address);
        return utxos.map((u) => ({ txid: u.txid, vout: u.index, amount: u.amount, height: u.height }));
      },
    }),
    validateaddress: defineMethod({
      scope: 'read',
      params: [{ name: 'address', type: 'string', maxLength: MAX_ADDRESS_PARAM }],
      handler: ([address]) => {
        try {
          const parsed = parseAnyAddress(address);
          if (parsed.network !== s.network) return { isvalid: false, address, publickey: null, error: 'address-wrong-network' };
          return { isvalid: true, address, publickey: parsed.publicKey };
        } catch (err) {
          if (err instanceof AddressError) return { isvalid: false, address, publickey: null, error: err.code };
          throw err;
        }
      },
    }),
  };
}

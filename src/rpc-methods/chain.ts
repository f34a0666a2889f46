/** Chain methods (SPEC §5): getblockchaininfo, getblockcount, getbestblockhash, getblockhash, getblock, gettxoutsetinfo. */
import { defineMethod, type MethodTable } from '../../rpc/methods.js';
import { invalidParameter } from '../../rpc/errors.js';
import type { NodeServices } from '../services.js';
import { blockJson, resolveBlock } from './format.js';

/** The chain method group. */
export function chainMethods(s: NodeServices): MethodTable {
  return {
    getblockchaininfo: defineMethod({
      scope: 'read',
      params: [],
      handler: () => {
        const tip = s.chain.tip();
        const fin = s.chain.finalized();
        return {
          chain: s.network,
          blocks: tip.height,
          bestblockhash: tip.hash,
          finalizedheight: fin.height,
          finalizedhash: fin.hash,
          chainid: s.chainId,
        };
      },
    }),
    getblockcount: defineMethod({ scope: 'read', params: [], handler: () => s.chain.tip().height }),
    getbestblockhash: defineMethod({ scope: 'read', params: [], handler: () => s.chain.tip().hash }),
    getblockhash: defineMethod({
      scope: 'read',
      params: [{ name: 'height', type: 'uint' }],
      handler: async ([height]) => {
        const hash = height <= s.chain.tip().height ? await s.chain.getBlockHash(height) : undefined;
        if (hash === undefined) throw invalidParameter('Block height out of range');
        return hash;
      },
    }),
    getblock: defineMethod({
      scope: 'read',
      params: [
        { name: 'hashOrHeight', type: ['hash', 'uint'] },
        { name: 'verbosity', type: 'uint', optional: true, default: 1, max: 2 },
      ],
      handler: async ([hashOrHeight, verbosity]) => {
        const block = await resolveBlock(s, hashOrHeight as string | number);
        if (verbosity === 0) return block.bytes;
        return blockJson(block, s, verbosity as 1 | 2);
      },
    }),
    // Bitcoin Core's names; one full scan under a LevelDB snapshot, so height, bestblock and the
    // hash describe the same tip even while blocks connect. total_amount is units (a string).
    gettxoutsetinfo: defineMethod({
      scope: 'read',
      params: [],
      handler: async () => {
        const info = await s.chain.utxoSetHash();
        return { height: info.height, bestblock: info.bestHash, txouts: info.count, total_amount: info.totalAmount, hash_serialized: info.hash };
      },
    }),
  };
}

/** Mempool methods (SPEC §5): getmempoolinfo, getrawmempool. */
import { defineMethod, type MethodTable } from '../../rpc/methods.js';
import type { NodeServices } from '../services.js';

/** The mempool method group. */
export function mempoolMethods(s: NodeServices): MethodTable {
  return {
    getmempoolinfo: defineMethod({
      scope: 'read',
      params: [],
      handler: () => {
        const i = s.mempool.info();
        return { size: i.size, bytes: i.bytes, maxsize: i.maxsize, minfeerate: i.minfeerate };
      },
    }),
    getrawmempool: defineMethod({ scope: 'read', params: [], handler: () => s.mempool.txids() }),
  };
}

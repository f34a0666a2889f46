/**
 * Network methods (SPEC §5): getpeerinfo, getnetworkinfo. A node running p2p (testnet, mainnet)
 * reports its peers and addresses; the dev node runs none and reports exactly that: no peers,
 * no connections, networking inactive.
 */
import { defineMethod, type MethodTable } from '../../rpc/methods.js';
import type { NodeServices } from '../services.js';

/** The network method group. */
export function networkMethods(s: NodeServices): MethodTable {
  return {
    getpeerinfo: defineMethod({ scope: 'read', params: [], handler: () => s.p2p?.peerInfo() ?? [] }),
    getnetworkinfo: defineMethod({
      scope: 'read',
      params: [],
      handler: () => {
        const base = { version: s.version, subversion: `/timecoin:${s.version}/`, network: s.network };
        if (s.p2p === null) return { ...base, connections: s.peerCount(), networkactive: false, localaddresses: [] };
        const n = s.p2p.networkInfo();
        return { ...base, ...n, connections: n.connections, networkactive: n.networkactive, localaddresses: n.localaddresses };
      },
    }),
  };
}

/**
 * Network methods (SPEC §5): getpeerinfo, getnetworkinfo. This build has no p2p layer yet, so
 * they report exactly that: no peers, no connections, networking inactive.
 */
import { defineMethod, type MethodTable } from '../../rpc/methods.js';
import type { NodeServices } from '../services.js';

/** The network method group. */
export function networkMethods(s: NodeServices): MethodTable {
  return {
    getpeerinfo: defineMethod({ scope: 'read', params: [], handler: () => [] }),
    getnetworkinfo: defineMethod({
      scope: 'read',
      params: [],
      handler: () => ({
        version: s.version,
        subversion: `/timecoin:${s.version}/`,
        network: s.network,
        connections: s.peerCount(),
        networkactive: false,
        localaddresses: [],
      }),
    }),
  };
}

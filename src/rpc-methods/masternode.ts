/**
 * Masternode methods (SPEC §5): masternodelist, masternodecount, masternodestatus, from the
 * store's registry (docs/masternodes.md); on a chain without registrations (dev), the
 * genesis-designated validator. `penalties` is the recorded penalty in units (a string, like every
 * amount); heartbeat fields stay null until heartbeats travel over p2p.
 */
import { notFound } from '../../rpc/errors.js';
import { defineMethod, type MethodTable } from '../../rpc/methods.js';
import type { MasternodeEntry, NodeServices } from '../services.js';
import { bytesEqual, toHex } from '../../chain/hash.js';

function entryJson(e: MasternodeEntry): Record<string, unknown> {
  return {
    operator: e.operator,
    owner: e.owner,
    collateral: e.collateral,
    addr: e.addr,
    status: e.status,
    registeredheight: e.registeredheight,
    lastheartbeat: e.lastheartbeat,
    penalties: e.penalties.toString(),
    offences: e.offences,
    uptime: e.uptime,
  };
}

/** The masternode method group. */
export function masternodeMethods(s: NodeServices): MethodTable {
  return {
    masternodelist: defineMethod({ scope: 'read', params: [], handler: () => s.masternodes().map(entryJson) }),
    masternodecount: defineMethod({
      scope: 'read',
      params: [],
      handler: () => {
        const all = s.masternodes();
        return { total: all.length, enabled: all.filter((m) => m.status === 'ENABLED').length };
      },
    }),
    masternodestatus: defineMethod({
      scope: 'read',
      params: [{ name: 'operatorKeyOrCollateral', type: 'string', optional: true, maxLength: 80 }],
      handler: ([which]) => {
        const all = s.masternodes();
        if (which === undefined) {
          const self = s.operatorKey;
          const mine = self === null ? undefined : all.find((m) => bytesEqual(m.operator, self));
          if (mine === undefined) throw notFound('This node is not a masternode');
          return entryJson(mine);
        }
        const want = which.toLowerCase();
        const found = all.find((m) => toHex(m.operator) === want || (m.collateral !== null && m.collateral === want));
        if (found === undefined) throw notFound('Masternode not found');
        return entryJson(found);
      },
    }),
  };
}

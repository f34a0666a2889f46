/**
 * Admin methods (SPEC §5): addnode, disconnectnode, stop. On a node without p2p (the dev node)
 * the peer actions are refused with −8 "p2p is not available in this build" (after their params
 * are checked), never pretended to succeed; with p2p they dial / hang up (a failure is −8 with
 * the network's reason).
 */
import { invalidParameter } from '../../rpc/errors.js';
import { defineMethod, type MethodTable } from '../../rpc/methods.js';
import type { NodeServices } from '../services.js';

const NO_P2P = 'p2p is not available in this build';
const ADDNODE_COMMANDS = ['add', 'remove', 'onetry'];

/** The admin method group. */
export function adminMethods(s: NodeServices): MethodTable {
  return {
    addnode: defineMethod({
      scope: 'admin',
      params: [
        { name: 'node', type: 'string', maxLength: 1024 },
        { name: 'command', type: 'string', maxLength: 16 },
      ],
      handler: async ([node, command]) => {
        if (!ADDNODE_COMMANDS.includes(command)) throw invalidParameter(`command must be one of ${ADDNODE_COMMANDS.join(', ')}`);
        if (s.p2p === null) throw invalidParameter(NO_P2P);
        try {
          await s.p2p.addNode(node, command);
        } catch (err) {
          throw invalidParameter(`addnode failed: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`);
        }
        return null;
      },
    }),
    disconnectnode: defineMethod({
      scope: 'admin',
      params: [{ name: 'address', type: 'string', maxLength: 1024 }],
      handler: async ([address]) => {
        if (s.p2p === null) throw invalidParameter(NO_P2P);
        try {
          await s.p2p.disconnectNode(address);
        } catch (err) {
          throw invalidParameter(`disconnectnode failed: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`);
        }
        return null;
      },
    }),
    stop: defineMethod({
      scope: 'admin',
      params: [],
      handler: () => {
        s.requestStop();
        return 'timecoin stopping';
      },
    }),
  };
}

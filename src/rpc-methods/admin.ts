/**
 * Admin methods (SPEC §5): addnode, disconnectnode, stop. Until p2p/ exists the peer actions are
 * refused with −8 "p2p is not available in this build" (after their params are checked), never
 * pretended to succeed.
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
      handler: ([, command]) => {
        if (!ADDNODE_COMMANDS.includes(command)) throw invalidParameter(`command must be one of ${ADDNODE_COMMANDS.join(', ')}`);
        throw invalidParameter(NO_P2P);
      },
    }),
    disconnectnode: defineMethod({
      scope: 'admin',
      params: [{ name: 'address', type: 'string', maxLength: 1024 }],
      handler: () => {
        throw invalidParameter(NO_P2P);
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

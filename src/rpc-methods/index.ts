/**
 * The node's full JSON-RPC method table (every method of SPEC §5), with each handler counted in
 * `timecoin_rpc_requests_total{method,code}` and timed in `timecoin_rpc_request_duration_seconds`.
 */
import { toRpcError } from '../../rpc/errors.js';
import type { MethodDef, MethodTable } from '../../rpc/methods.js';
import { rpcMethodLabel, type Metrics } from '../metrics.js';
import type { NodeServices } from '../services.js';
import { addressMethods } from './address.js';
import { adminMethods } from './admin.js';
import { chainMethods } from './chain.js';
import { consensusMethods } from './consensus.js';
import { masternodeMethods } from './masternode.js';
import { mempoolMethods } from './mempool.js';
import { networkMethods } from './network.js';
import { txMethods } from './tx.js';

function instrument(name: string, def: MethodDef, metrics: Metrics): MethodDef {
  const method = rpcMethodLabel(name);
  return {
    ...def,
    handler: async (params, ctx) => {
      const end = metrics.rpcRequestDuration.startTimer({ method });
      try {
        const result = await def.handler(params, ctx);
        metrics.rpcRequests.inc({ method, code: '0' });
        return result;
      } catch (err) {
        metrics.rpcRequests.inc({ method, code: String(toRpcError(err).error.code) });
        throw err;
      } finally {
        end();
      }
    },
  };
}

/** Every SPEC §5 method, backed by `s`. */
export function nodeMethods(s: NodeServices, metrics: Metrics | null): MethodTable {
  const table: Record<string, MethodDef> = {
    ...chainMethods(s),
    ...txMethods(s),
    ...addressMethods(s),
    ...mempoolMethods(s),
    ...consensusMethods(s),
    ...masternodeMethods(s),
    ...networkMethods(s),
    ...adminMethods(s),
  };
  if (metrics === null) return table;
  return Object.fromEntries(Object.entries(table).map(([name, def]) => [name, instrument(name, def, metrics)]));
}

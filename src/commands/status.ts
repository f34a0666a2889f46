/**
 * `timecoin status`: one screen about the node at the configured RPC URL — chain, height,
 * finalized height, best block, peers, mempool and the consensus round — from the read-only
 * methods of SPEC §5. Methods a node does not serve (−32601) show as "n/a" rather than failing
 * the whole command; anything else (unreachable node, bad key) is an error.
 */
import type { Command } from 'commander';
import { addRpcOptions, optionalCall, rpcClient, type RpcOptions } from './client-options.js';
import type { ClientIo } from './wallet.js';

type Obj = Record<string, unknown> | null;

const s = (v: unknown): string => (v === undefined || v === null ? '?' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Adds `status` to `program`. */
export function registerStatusCommand(program: Command, io: ClientIo = {}): Command {
  const out = io.stdout ?? ((t: string) => void process.stdout.write(t));
  return addRpcOptions(program.command('status').description('show the node\'s height, finality, peers, mempool and consensus round')
    .option('--json', 'print the raw answers as one JSON object'))
    .action(async (o: RpcOptions & { json?: boolean }) => {
      const { client } = rpcClient(o);
      const chain = await client.call<Obj>('getblockchaininfo');
      const network = await optionalCall<Obj>(client, 'getnetworkinfo', [], null);
      const mempool = await optionalCall<Obj>(client, 'getmempoolinfo', [], null);
      const consensus = await optionalCall<Obj>(client, 'getconsensusinfo', [], null);
      if (o.json) {
        out(`${JSON.stringify({ url: client.origin, blockchain: chain, network, mempool, consensus })}\n`);
        return;
      }
      const lines: [string, string][] = [
        ['node', client.origin],
        ['chain', s(chain?.chain)],
        ['height', s(chain?.blocks)],
        ['best block', s(chain?.bestblockhash)],
        ['finalized', `${s(chain?.finalizedheight)} (${s(chain?.finalizedhash)})`],
        ['peers', network === null ? 'n/a' : s(network.connections)],
        ['mempool', mempool === null ? 'n/a' : `${s(mempool.size)} transactions, ${s(mempool.bytes)} bytes (min fee rate ${s(mempool.minfeerate)} units/byte)`],
        [
          'consensus',
          consensus === null
            ? 'n/a'
            : `height ${s(consensus.height)}, view ${s(consensus.view)}, phase ${s(consensus.phase)}, ` +
              `${s(consensus.validators)} validators (f ${s(consensus.f)}, quorum ${s(consensus.quorum)}), leader ${s(consensus.leader)}`,
        ],
      ];
      out(lines.map(([k, v]) => `${k.padEnd(11)}${v}`).join('\n') + '\n');
    });
}

/**
 * Consensus and finality methods (SPEC §5): getconsensusinfo, gettransactionfinality,
 * waittransactionfinality; and waitforblockheight (Bitcoin Core's, on the finalized height; docs/rpc.md).
 */
import { fromHex } from '../../chain/hash.js';
import { notFound } from '../../rpc/errors.js';
import { defineMethod, type MethodTable } from '../../rpc/methods.js';
import type { NodeServices } from '../services.js';

/** waittransactionfinality and waitforblockheight wait at most this long, whatever timeoutMs asks (docs/node.md). */
export const MAX_FINALITY_WAIT_MS = 300_000;
const DEFAULT_FINALITY_WAIT_MS = 30_000;

interface Finality {
  txid: string;
  finalized: boolean;
  height: number | null;
  blockhash: Uint8Array | null;
}

/** Where the transaction is now: final in the chain, pending, or unknown (undefined). */
async function lookup(s: NodeServices, txidHex: string): Promise<Finality | undefined> {
  const txid = fromHex(txidHex);
  const rec = await s.chain.getTransaction(txid);
  if (rec !== undefined) {
    return { txid: txidHex, finalized: rec.height <= s.chain.finalized().height, height: rec.height, blockhash: rec.blockHash };
  }
  if (s.mempool.has(txid)) return { txid: txidHex, finalized: false, height: null, blockhash: null };
  return undefined;
}

/** The consensus method group. */
export function consensusMethods(s: NodeServices): MethodTable {
  return {
    getconsensusinfo: defineMethod({
      scope: 'read',
      params: [],
      handler: () => {
        const c = s.consensusInfo();
        return { height: c.height, view: c.view, phase: c.phase, leader: c.leader, validators: c.validators, f: c.f, quorum: c.quorum };
      },
    }),
    gettransactionfinality: defineMethod({
      scope: 'read',
      params: [{ name: 'txid', type: 'hash' }],
      handler: async ([txid]) => {
        const f = await lookup(s, txid);
        if (f === undefined) throw notFound('No such mempool or blockchain transaction');
        return f;
      },
    }),
    waittransactionfinality: defineMethod({
      scope: 'read',
      params: [
        { name: 'txid', type: 'hash' },
        { name: 'timeoutMs', type: 'uint', optional: true, default: DEFAULT_FINALITY_WAIT_MS },
      ],
      handler: async ([txid, timeoutMs], ctx) => {
        // Watch first, then look: a commit between the two cannot be missed.
        const w = s.watchFinality(txid, Math.min(timeoutMs, MAX_FINALITY_WAIT_MS), ctx.signal);
        let now: Finality | undefined;
        try {
          now = await lookup(s, txid);
        } catch (err) {
          w.cancel();
          throw err;
        }
        if (now?.finalized === true) {
          w.cancel();
          return now;
        }
        if (now === undefined) {
          w.cancel();
          const place = await w.promise;
          // Not known, unless its block became final while we looked.
          if (place === null) throw notFound('No such mempool or blockchain transaction');
          return { txid, finalized: true, height: place.height, blockhash: place.blockHash };
        }
        const place = await w.promise;
        if (place !== null) return { txid, finalized: true, height: place.height, blockhash: place.blockHash };
        return (await lookup(s, txid)) ?? { txid, finalized: false, height: null, blockhash: null };
      },
    }),
    waitforblockheight: defineMethod({
      scope: 'read',
      params: [
        { name: 'height', type: 'uint' },
        { name: 'timeoutMs', type: 'uint', optional: true, default: DEFAULT_FINALITY_WAIT_MS },
      ],
      handler: async ([height, timeoutMs], ctx) => {
        // Watch first, then look, as waittransactionfinality does.
        const w = s.watchFinalHeight(height, Math.min(timeoutMs, MAX_FINALITY_WAIT_MS), ctx.signal);
        if (s.chain.finalized().height >= height) w.cancel();
        else await w.promise;
        // Bitcoin Core answers the tip it has when it returns, reached or not (the timeout is no error).
        const fin = s.chain.finalized();
        return { hash: fin.hash, height: fin.height };
      },
    }),
  };
}

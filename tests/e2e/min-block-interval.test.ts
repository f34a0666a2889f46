/**
 * `consensus.minBlockIntervalMs` on a real dev node: a block with transactions starts no sooner
 * than the interval after the tip's timestamp, and once the interval has passed a transaction
 * waits only the batching delay. Block timestamps are the proposer's clock at assembly, so the
 * first rule is exact, not a timing guess.
 */
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeAddress } from '../../chain/address.js';
import { UNITS_PER_TIME } from '../../chain/constants.js';
import { createSigner, generateSecretKey } from '../../chain/ed25519.js';
import { toHex } from '../../chain/hash.js';
import { Rpc, devApiKey, devWallet, startDevNode, tempDir, transfer, waitFor } from './helpers.js';

const INTERVAL_MS = 1_500;

interface BlockHeader {
  readonly height: number;
  readonly timems: number;
}

describe('dev node: the minimum block interval', () => {
  it('holds a block back until the interval since the tip has passed, and no longer', async () => {
    const datadir = tempDir();
    const node = await startDevNode(datadir, { idleMs: 600_000, env: { TIMECOIN_CONSENSUS_MIN_BLOCK_INTERVAL_MS: String(INTERVAL_MS) } });
    try {
      const rpc = new Rpc(node.rpcUrl, devApiKey(datadir));
      const { chainid } = await rpc.call<{ chainid: string }>('getblockchaininfo');
      const wallet = devWallet(datadir);
      const recipient = encodeAddress(createSigner(generateSecretKey()).publicKey, 'dev');
      /** Send one transfer and answer the header of the block that made it final. */
      const sendAndWait = async (): Promise<BlockHeader> => {
        const tx = await transfer(rpc, wallet, recipient, UNITS_PER_TIME, chainid);
        const txid = await rpc.call<string>('sendrawtransaction', [toHex(tx.bytes)]);
        const fin = await rpc.call<{ finalized: boolean; blockhash: string }>('waittransactionfinality', [txid, 20_000]);
        expect(fin.finalized).toBe(true);
        return rpc.call<BlockHeader>('getblock', [fin.blockhash, 1]);
      };

      const first = await sendAndWait();
      // Sent the moment the first is final: its block waits for the interval.
      const second = await sendAndWait();
      expect(second.height).toBe(first.height + 1);
      expect(second.timems - first.timems).toBeGreaterThanOrEqual(INTERVAL_MS);

      // Once the interval since the tip has passed, only the batching delay (25 ms) is left.
      await waitFor('the interval since the tip to pass', () => (Date.now() >= second.timems + INTERVAL_MS + 100 ? true : undefined), 10_000);
      const sentAt = Date.now();
      const third = await sendAndWait();
      expect(third.height).toBe(second.height + 1);
      expect(third.timems - sentAt).toBeLessThan(INTERVAL_MS);
    } finally {
      await node.close();
      rmSync(datadir, { recursive: true, force: true });
    }
  });
});

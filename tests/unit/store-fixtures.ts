/** A real LevelDB ChainStore for unit tests: a fresh temp directory and a dev genesis paying one owner. */
import type { Signer } from '../../chain/ed25519.js';
import type { Block } from '../../chain/block.js';
import { createGenesis } from '../../chain/genesis.js';
import { ChainStore } from '../../chain/store.js';
import { removeDir, tempDir } from '../fixtures/store-helpers.js';
import type { Coin } from './chain-fixtures.js';

export interface FundedStore {
  readonly store: ChainStore;
  readonly genesis: Block;
  /** The genesis outputs, one per amount, owned by `owner`. */
  readonly coins: readonly Coin[];
  /** Close the store and remove its directory. */
  close(): Promise<void>;
}

/** Open a store (no fsync) in a new temp directory, initialized with a genesis paying `owner` each of `amounts`. */
export async function fundedStore(prefix: string, owner: Signer, amounts: readonly bigint[]): Promise<FundedStore> {
  const dir = await tempDir(prefix);
  const store = await ChainStore.open(dir, { sync: false });
  const genesis = createGenesis({ network: 'dev', timestampMs: 1_700_000_000_000, allocations: amounts.map((amount) => ({ publicKey: owner.publicKey, amount })) });
  await store.initialize(genesis, 'dev');
  const coins = amounts.map((amount, index): Coin => ({ txid: genesis.txs[0]!.txid, index, amount, owner }));
  return {
    store,
    genesis,
    coins,
    async close() {
      await store.close();
      await removeDir(dir);
    },
  };
}

/**
 * RPC submission (src/services.ts) with a batch prepared first: the entries of a JSON-RPC batch of
 * sendrawtransaction share the chain view their pre-verification read, each entry takes its
 * transaction's view once, and an entry that was not prepared reads its own. Real LevelDB store and
 * mempool; the store is wrapped only to count its reads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SignatureCache } from '../../chain/ed25519.js';
import { RuleCode } from '../../chain/errors.js';
import { Mempool } from '../../chain/mempool.js';
import type { Transaction } from '../../chain/transaction.js';
import { FinalityTracker } from '../../src/finality.js';
import type { ConsensusDriver } from '../../src/driver.js';
import { createServices } from '../../src/services.js';
import { out, signer, spend } from './chain-fixtures.js';
import { fundedStore, type FundedStore } from './store-fixtures.js';

const alice = signer(71);
const bob = signer(72);

let funded: FundedStore | undefined;

afterEach(async () => {
  await funded?.close();
  funded = undefined;
});

describe('services: prepared submissions', () => {
  it('a prepared batch is admitted on the view its pre-verification read; an unprepared entry reads its own', async () => {
    funded = await fundedStore('services', alice, [1_000_000_000n, 1_000_000_000n, 1_000_000_000n]);
    const { store: real, genesis, coins } = funded;
    const chainId = genesis.hash;
    const [first, second, third] = coins.map((c) => spend([c], [out(999_990_000n, bob)], { chainId }));

    let loads = 0;
    const counted = new Proxy(real, {
      get(target, prop) {
        if (prop === 'loadView') return (txs: readonly Transaction[]) => (loads++, target.loadView(txs));
        const v: unknown = Reflect.get(target, prop);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const mempool = new Mempool({ chainId, sigCache: new SignatureCache() });
    let prepares = 0;
    const services = createServices({
      network: 'dev', chainId, version: 'test', store: counted, mempool, sigCache: new SignatureCache(),
      driver: { onTransactionsAvailable: () => undefined } as unknown as ConsensusDriver,
      finality: new FinalityTracker(null, () => 0), metrics: null, operatorKey: null, validatorsAt: () => [], requestStop: () => undefined,
      // Pre-verification's own read goes to the unwrapped store: only admission's reads are counted.
      preverifyMempool: async (txs) => (prepares++, { loaded: { at: real.tip().hash, view: await real.loadView(txs) } }),
    });

    await services.prepareSubmits([first!, second!]);
    expect(prepares).toBe(1);
    await services.submit(first!);
    await services.submit(second!);
    expect(loads).toBe(0);
    await services.submit(third!);
    expect(loads).toBe(1);
    expect(mempool.size).toBe(3);
    // The prepared view was taken once: a repeat is refused as known before any read.
    await expect(services.submit(first!)).rejects.toMatchObject({ code: RuleCode.AlreadyInMempool });
    expect(loads).toBe(1);
  });
});

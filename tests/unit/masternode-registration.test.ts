/**
 * Masternode registration rules, the validator set per height and its exact restoration across
 * a reorg, against the real LevelDB store (docs/masternodes.md).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MASTERNODE_COLLATERAL, TxKind } from '../../chain/constants.js';
import { RuleCode, StoreCode } from '../../chain/errors.js';
import { toHex } from '../../chain/hash.js';
import { compareKeys, statusAt } from '../../chain/masternode.js';
import { parseMultiaddr } from '../../chain/multiaddr.js';
import { ChainStore } from '../../chain/store.js';
import { SMALL_ORDER_ENCODINGS } from '../../chain/ed25519.js';
import { createGenesis } from '../../chain/genesis.js';
import { coinOf } from './chain-fixtures.js';
import { FEE, MnChain, T0, addrOf, operator, owner } from './masternode-fixtures.js';
import { dumpPrefix, removeDir, tempDir } from '../fixtures/store-helpers.js';

const hexes = (keys: readonly Uint8Array[]): string[] => keys.map(toHex);
const sorted = (keys: Uint8Array[]): string[] => hexes([...keys].sort(compareKeys));

let dir: string;
let c: MnChain;
beforeEach(async () => {
  dir = await tempDir('mn');
  c = await MnChain.create(dir, 6, 3);
});
afterEach(async () => {
  await c.close().catch(() => undefined);
  await removeDir(dir);
});

/** Owner 3's collateral registered for operator 3, fee from owner 3's spending coin. */
const reg3 = (o: Parameters<MnChain['registration']>[4] = {}, op = operator(3).publicKey, addr = addrOf(3)) =>
  c.registration(c.spending(3), c.collateral(3), op, addr, o);

describe('genesis registrations', () => {
  it('register the initial masternodes, members from height 1, ordered by operator key', () => {
    expect(c.store.validatorSetAt(0)).toEqual([]);
    const want = sorted([0, 1, 2].map((i) => operator(i).publicKey));
    expect(hexes(c.store.validatorSetAt(1))).toEqual(want);
    const rec = c.store.registry.byOperator(operator(1).publicKey)!;
    expect(toHex(rec.owner)).toBe(toHex(owner(1).publicKey));
    expect(rec.registeredHeight).toBe(0);
    expect(rec.collateralAmount).toBe(MASTERNODE_COLLATERAL);
    expect(statusAt(rec, 1)).toBe('ENABLED');
  });

  it('refuse a collateral below MASTERNODE_COLLATERAL, a reused operator or collateral, and a bad addr', () => {
    const allocations = [{ publicKey: owner(0).publicKey, amount: MASTERNODE_COLLATERAL - 1n }, { publicKey: owner(1).publicKey, amount: MASTERNODE_COLLATERAL }];
    const g = (registrations: { allocation: number; operatorPublicKey: Uint8Array; addr: string }[]) => () => createGenesis({ network: 'testnet', timestampMs: T0, allocations, registrations });
    expect(g([{ allocation: 0, operatorPublicKey: operator(0).publicKey, addr: addrOf(0) }])).toThrow(TypeError);
    expect(g([{ allocation: 1, operatorPublicKey: operator(0).publicKey, addr: '/ip4/1.2.3/tcp/1' }])).toThrow(TypeError);
    expect(g([{ allocation: 7, operatorPublicKey: operator(0).publicKey, addr: addrOf(0) }])).toThrow(TypeError);
    expect(g([{ allocation: 1, operatorPublicKey: operator(0).publicKey, addr: addrOf(0) }, { allocation: 1, operatorPublicKey: operator(1).publicKey, addr: addrOf(1) }])).toThrow(TypeError);
    expect(() => g([{ allocation: 1, operatorPublicKey: operator(0).publicKey, addr: addrOf(0) }])()).not.toThrow();
  });

  it('genesis.json carries registrations and rebuilds the same genesis', async () => {
    const { writeGenesisFile, readGenesisFile, genesisBlock } = await import('../../src/genesis-file.js');
    const file = `${dir}/genesis.json`;
    const allocations = [{ publicKey: owner(0).publicKey, amount: MASTERNODE_COLLATERAL }];
    const registrations = [{ allocation: 0, operatorPublicKey: operator(0).publicKey, addr: addrOf(0) }];
    await writeGenesisFile(file, { network: 'testnet', timestampMs: T0, proposer: null, allocations, registrations });
    const back = await readGenesisFile(file);
    expect(toHex(genesisBlock(back).hash)).toBe(toHex(createGenesis({ network: 'testnet', timestampMs: T0, allocations, registrations }).hash));
    await writeGenesisFile(file, { network: 'testnet', timestampMs: T0, proposer: null, allocations });
    expect(toHex(genesisBlock(await readGenesisFile(file)).hash)).toBe(toHex(createGenesis({ network: 'testnet', timestampMs: T0, allocations }).hash));
  });

  it('the input-less genesis form is refused in any later block (no-inputs)', async () => {
    const genesisReg = c.genesis.txs[1]!;
    expect(genesisReg.kind).toBe(TxKind.MasternodeRegistration);
    expect(await c.verdict([genesisReg])).toBe(RuleCode.NoInputs);
  });
});

describe('registration rules (kind 2)', () => {
  it('a valid registration joins the set from the next height', async () => {
    expect(await c.verdict([reg3()])).toBe('ok');
    await c.mine([reg3()]);
    expect(c.store.tip().height).toBe(1);
    expect(hexes(c.store.validatorSetAt(1))).not.toContain(toHex(operator(3).publicKey));
    expect(hexes(c.store.validatorSetAt(2))).toContain(toHex(operator(3).publicKey));
    expect(statusAt(c.store.registry.byOperator(operator(3).publicKey)!, 2)).toBe('ENABLED');
  });

  it('collateral missing or spent → bad-collateral', async () => {
    const ghost = { txid: new Uint8Array(32).fill(7), index: 0, owner: owner(3) };
    expect(await c.verdict([c.registration(c.spending(3), ghost, operator(3).publicKey, addrOf(3))])).toBe(RuleCode.BadCollateral);
    // Spent before the registration (in the same block): missing in the overlay.
    const move = c.transfer([c.collateral(3)], [{ amount: MASTERNODE_COLLATERAL - FEE, publicKey: owner(3).publicKey }]);
    expect(await c.verdict([move, reg3()])).toBe(RuleCode.BadCollateral);
  });

  it('collateral spent later in the same block → bad-collateral', async () => {
    const move = c.transfer([c.collateral(3)], [{ amount: MASTERNODE_COLLATERAL - FEE, publicKey: owner(3).publicKey }]);
    expect(await c.verdict([reg3(), move])).toBe(RuleCode.BadCollateral);
  });

  it('collateral below 1,000 TIME → bad-collateral; exactly 1,000 TIME is enough', async () => {
    const split = c.transfer([c.spending(4)], [
      { amount: MASTERNODE_COLLATERAL - 1n, publicKey: owner(4).publicKey },
      { amount: MASTERNODE_COLLATERAL, publicKey: owner(4).publicKey },
      { amount: c.spending(4).amount - 2n * MASTERNODE_COLLATERAL - FEE, publicKey: owner(4).publicKey },
    ]);
    await c.mine([split]);
    const small = c.registration(coinOf(split, 2, owner(4)), coinOf(split, 0, owner(4)), operator(4).publicKey, addrOf(4));
    expect(await c.verdict([small])).toBe(RuleCode.BadCollateral);
    const exact = c.registration(coinOf(split, 2, owner(4)), coinOf(split, 1, owner(4)), operator(4).publicKey, addrOf(4));
    expect(await c.verdict([exact])).toBe('ok');
  });

  it('collateral created earlier in the same block may be registered', async () => {
    const fresh = c.transfer([c.spending(4)], [
      { amount: MASTERNODE_COLLATERAL, publicKey: owner(4).publicKey },
      { amount: c.spending(4).amount - MASTERNODE_COLLATERAL - FEE, publicKey: owner(4).publicKey },
    ]);
    const r = c.registration(coinOf(fresh, 1, owner(4)), coinOf(fresh, 0, owner(4)), operator(4).publicKey, addrOf(4));
    await c.mine([fresh, r]);
    expect(hexes(c.store.validatorSetAt(2))).toContain(toHex(operator(4).publicKey));
  });

  it('collateral already claimed (registry or earlier in the block) → collateral-claimed', async () => {
    const again = c.registration(c.spending(0), c.collateral(0), operator(5).publicKey, addrOf(5));
    expect(await c.verdict([again])).toBe(RuleCode.CollateralClaimed);
    const second = c.registration(c.spending(4), c.collateral(3), operator(4).publicKey, addrOf(4), { signWith: owner(3) });
    expect(await c.verdict([reg3(), second])).toBe(RuleCode.CollateralClaimed);
  });

  it('operator key already registered (registry or earlier in the block) → duplicate-operator', async () => {
    expect(await c.verdict([reg3({}, operator(0).publicKey)])).toBe(RuleCode.DuplicateOperator);
    const other = c.registration(c.spending(4), c.collateral(4), operator(3).publicKey, addrOf(4));
    expect(await c.verdict([reg3(), other])).toBe(RuleCode.DuplicateOperator);
  });

  it('operator keys are never reused, even after the collateral is spent', async () => {
    const move = c.transfer([c.collateral(0)], [{ amount: MASTERNODE_COLLATERAL - FEE, publicKey: owner(0).publicKey }]);
    await c.mine([move]);
    expect(await c.verdict([reg3({}, operator(0).publicKey)])).toBe(RuleCode.DuplicateOperator);
  });

  it('owner signature by another key or for another chain → bad-owner-signature', async () => {
    expect(await c.verdict([reg3({ signWith: owner(4) })])).toBe(RuleCode.BadOwnerSignature);
    expect(await c.verdict([reg3({ chainId: new Uint8Array(32) })])).toBe(RuleCode.BadOwnerSignature);
  });

  it('invalid operator key (small order) → bad-payload', async () => {
    const bad = Buffer.from(SMALL_ORDER_ENCODINGS[1]!, 'hex');
    expect(await c.verdict([reg3({}, bad)])).toBe(RuleCode.BadPayload);
  });

  it('a malformed address → bad-addr', async () => {
    for (const addr of ['/ip4/10.0.0.1/tcp/0', '/ip4/256.0.0.1/tcp/1', '/ip4/10.0.0.1/udp/1', 'ip4/10.0.0.1/tcp/1', '/dns4/-bad-.example/tcp/1']) {
      expect(await c.verdict([reg3({}, operator(3).publicKey, addr)]), addr).toBe(RuleCode.BadAddr);
    }
  });

  it('a caller without the registry refuses registrations (fail closed)', async () => {
    const { checkBlockContext } = await import('../../chain/block-rules.js');
    const block = await c.nextBlock([reg3()]);
    const view = await c.store.loadView(block.txs.slice(1));
    const parent = (await c.store.getBlock(c.store.tip().hash))!;
    const ctx = { chainId: c.chainId, sigCache: null, expectedHeight: 1, prevHash: c.store.tip().hash, parentTimestampMs: parent.header.timestampMs, nowMs: block.header.timestampMs, reward: 0n };
    expect(() => checkBlockContext(block, view, ctx)).toThrow(expect.objectContaining({ code: RuleCode.BadRegistration }));
  });

  it('the store refuses a registration validation should have refused (store-bad-registry), writing nothing', async () => {
    const block = await c.nextBlock([reg3({}, operator(0).publicKey)]);
    await expect(c.store.connectBlock(block)).rejects.toMatchObject({ code: StoreCode.BadRegistry });
    expect(c.store.tip().height).toBe(0);
  });
});

describe('reward key', () => {
  it("a registered proposer's coinbase pays only its owner key → else bad-reward-key", async () => {
    const proposer = operator(0).publicKey;
    expect(await c.verdict([], { proposer, coinbaseOutputs: [{ amount: 1000n, publicKey: owner(0).publicKey }] })).toBe('ok');
    expect(await c.verdict([], { proposer, coinbaseOutputs: [{ amount: 1000n, publicKey: operator(0).publicKey }] })).toBe(RuleCode.BadRewardKey);
  });
});

describe('validator set across collateral spends and reorgs', () => {
  it('spending the collateral removes the masternode from the next height on', async () => {
    const move = c.transfer([c.collateral(1)], [{ amount: MASTERNODE_COLLATERAL - FEE, publicKey: owner(1).publicKey }]);
    await c.mine([]); // height 1
    await c.mine([move]); // height 2 spends it
    expect(hexes(c.store.validatorSetAt(2))).toContain(toHex(operator(1).publicKey));
    expect(hexes(c.store.validatorSetAt(3))).not.toContain(toHex(operator(1).publicKey));
    const rec = c.store.registry.byOperator(operator(1).publicKey)!;
    expect(rec.spentHeight).toBe(2);
    expect(statusAt(rec, 3)).toBe('OUTPOINT_SPENT');
  });

  it('disconnecting across a registration and a collateral spend restores the registry exactly (disk and memory)', async () => {
    await c.mine([]);
    await c.store.close();
    const before = { n: await dumpPrefix(dir, 'n'), k: await dumpPrefix(dir, 'k'), e: await dumpPrefix(dir, 'e'), R: await dumpPrefix(dir, 'R') };
    const reopened = await ChainStore.open(dir, { sync: false });
    Object.assign(c, { store: reopened });
    const sets = [1, 2].map((h) => hexes(c.store.validatorSetAt(h)));
    const move = c.transfer([c.collateral(1)], [{ amount: MASTERNODE_COLLATERAL - FEE, publicKey: owner(1).publicKey }]);
    await c.mine([reg3()]); // height 2: registers operator 3
    await c.mine([move]); // height 3: ends operator 1
    expect(hexes(c.store.validatorSetAt(4))).toEqual(sorted([0, 2, 3].map((i) => operator(i).publicKey)));
    await c.store.disconnectTip();
    expect(hexes(c.store.validatorSetAt(3))).toEqual(sorted([0, 1, 2, 3].map((i) => operator(i).publicKey)));
    await c.store.disconnectTip();
    expect([1, 2].map((h) => hexes(c.store.validatorSetAt(h)))).toEqual(sets);
    expect(c.store.registry.byOperator(operator(3).publicKey)).toBeUndefined();
    expect(c.store.registry.byCollateral(c.collateral(3).txid, c.collateral(3).index)).toBeUndefined();
    expect(c.store.registry.byOperator(operator(1).publicKey)!.spentHeight).toBeNull();
    await c.store.close();
    expect({ n: await dumpPrefix(dir, 'n'), k: await dumpPrefix(dir, 'k'), e: await dumpPrefix(dir, 'e'), R: await dumpPrefix(dir, 'R') }).toEqual(before);
    Object.assign(c, { store: await ChainStore.open(dir, { sync: false }) });
    expect(hexes(c.store.validatorSetAt(2))).toEqual(sets[1]);
  });

  it('validatorSetAt refuses heights beyond tip + 1', () => {
    expect(() => c.store.validatorSetAt(2)).toThrow(RangeError);
  });
});

describe('multiaddr parser', () => {
  const good = [
    '/ip4/203.0.113.5/tcp/24000',
    '/ip4/0.0.0.0/tcp/65535',
    '/ip6/::1/tcp/24000',
    '/ip6/2001:db8::8a2e:370:7334/tcp/1',
    '/ip6/2001:0db8:0000:0000:0000:ff00:0042:8329/tcp/24000',
    '/dns4/node1.example.com/tcp/24000',
    '/dns/a.b/tcp/1',
    '/dns6/x-1.example.org/tcp/24000/p2p/12D3KooWGzjhnmFoMQv8YqpT8Cu4x3yfCe9nnbZ5tDS4wBxEBQmB',
  ];
  const bad = [
    '', '/', '/ip4/203.0.113.5', '/ip4/203.0.113.5/tcp/', '/ip4/203.0.113.5/tcp/024000', '/ip4/203.0.113.5/tcp/65536',
    '/ip4/203.0.113.05/tcp/1', '/ip4/1.2.3.4.5/tcp/1', '/ip6/1::2::3/tcp/1', '/ip6/1:2:3:4:5:6:7:8:9/tcp/1', '/ip6/fe80::1%eth0/tcp/1',
    '/ip6/::ffff:1.2.3.4/tcp/1', '/dns4/localhost/tcp/1', '/dns4/a..b/tcp/1', '/dns4/1.2.3.4/tcp/1', '/dns4/a_b.c/tcp/1',
    '/ip4/1.2.3.4/tcp/1/p2p/', '/ip4/1.2.3.4/tcp/1/p2p/0OIl', '/ip4/1.2.3.4/tcp/1/ws', '/tcp/1/ip4/1.2.3.4', '/ip4/1.2.3.4/tcp/1/',
  ];
  it.each(good)('accepts %s', (a) => expect(parseMultiaddr(a)).not.toBeNull());
  it.each(bad)('refuses %j', (a) => expect(parseMultiaddr(a)).toBeNull());
});

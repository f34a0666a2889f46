/**
 * Certified chains for the fork tests (unit and e2e): one testnet genesis registering 4
 * masternodes (operators 0–3 of masternode-fixtures), blocks proposed by the leader of (height,
 * view 0) so they pass the driver's BlockChecks, and commit certificates signed by a quorum of the
 * operators through the production signer and codec. Two chains that share a prefix and then
 * differ are built with different timestamp offsets.
 */
import { createBlock, type Block } from '../../chain/block.js';
import { SignatureCache } from '../../chain/ed25519.js';
import { createGenesis } from '../../chain/genesis.js';
import { ChainStore } from '../../chain/store.js';
import type { Transaction } from '../../chain/transaction.js';
import { encodeCommitCertificate } from '../../consensus/codec.js';
import { leaderOf } from '../../consensus/leader.js';
import { signVote } from '../../consensus/messages.js';
import { MsgType } from '../../consensus/types.js';
import { BlockChecks } from '../../src/block-checks.js';
import type { SyncEntry } from '../../src/block-sync.js';
import { coinbase, coinOf, spend, type Coin } from './chain-fixtures.js';
import { addrOf, FEE, operator, owner, SPENDING, T0 } from './masternode-fixtures.js';
import { MASTERNODE_COLLATERAL } from '../../chain/constants.js';

export const VALIDATORS = 4;

/** The shared genesis: owners 0–5 funded (collateral + spending coin), operators 0–3 registered. */
export const GENESIS: Block = createGenesis({
  network: 'testnet',
  timestampMs: T0,
  allocations: Array.from({ length: 6 }, (_, i) => [
    { publicKey: owner(i).publicKey, amount: MASTERNODE_COLLATERAL },
    { publicKey: owner(i).publicKey, amount: SPENDING },
  ]).flat(),
  registrations: Array.from({ length: VALIDATORS }, (_, i) => ({ allocation: 2 * i, operatorPublicKey: operator(i).publicKey, addr: addrOf(i) })),
});
export const CHAIN_ID = GENESIS.hash;

/** The ordered validator set (every height of these chains: nothing registers or leaves). */
let orderedSet: Uint8Array[] | null = null;

/** A store in `dir` holding only GENESIS. */
export async function openStore(dir: string): Promise<ChainStore> {
  const store = await ChainStore.open(dir, { sync: false });
  await store.initialize(GENESIS, 'testnet');
  orderedSet ??= store.validatorSetAt(1);
  return store;
}

/** Owner i's genesis spending coin. */
export function spendingCoin(i: number): Coin {
  return coinOf(GENESIS.txs[0]!, 2 * i + 1, owner(i));
}

/** A transfer of owner i's spending coin to `to` (minus the fee). */
export function payFrom(i: number, to: Uint8Array, amount = SPENDING - FEE): Transaction {
  const coin = spendingCoin(i);
  return spend([coin], [{ amount, publicKey: to }], { chainId: CHAIN_ID });
}

export interface CertifiedBlock {
  readonly block: Block;
  readonly cert: Uint8Array;
}

/** A commit certificate for `block` signed by operators `signers` (default a quorum: 0, 1, 2). */
export function certify(block: Block, signers: readonly number[] = [0, 1, 2], chainId = CHAIN_ID): Uint8Array {
  const h = block.header.height;
  return encodeCommitCertificate({
    height: h,
    view: 0,
    blockHash: block.hash,
    commits: signers.map((i) => signVote(operator(i), chainId, MsgType.Commit, h, 0, block.hash)),
  });
}

/** The next certified block on `parent`, by the leader of (height, 0); `variant` changes its timestamp. */
export function nextBlock(parent: Block, variant = 0, txs: readonly Transaction[] = [], o: { coinbaseOutputs?: Parameters<typeof coinbase>[1] } = {}): CertifiedBlock {
  if (orderedSet === null) throw new Error('open a store first (the validator order comes from the registry)');
  const height = parent.header.height + 1;
  const block = createBlock({
    height,
    prevHash: parent.hash,
    timestampMs: parent.header.timestampMs + 1_000 + variant,
    proposer: leaderOf(orderedSet, height, 0),
    view: 0,
    txs: [coinbase(height, o.coinbaseOutputs ?? []), ...txs],
  });
  return { block, cert: certify(block) };
}

/** `n` certified blocks on `parent` (empty but for the coinbase), all with timestamp offset `variant`. */
export function extendChain(parent: Block, n: number, variant = 0): CertifiedBlock[] {
  const out: CertifiedBlock[] = [];
  let p = parent;
  for (let i = 0; i < n; i++) {
    const b = nextBlock(p, variant);
    out.push(b);
    p = b.block;
  }
  return out;
}

/** Connect `blocks` in order (with certificates); `final` marks each finalized. */
export async function connectAll(store: ChainStore, blocks: readonly CertifiedBlock[], final: boolean): Promise<void> {
  for (const b of blocks) await store.connectBlock(b.block, b.cert, { final });
}

/** The blocks as block sync serves them. */
export function asEntries(blocks: readonly CertifiedBlock[]): SyncEntry[] {
  return blocks.map((b) => ({ block: b.block.bytes, cert: b.cert }));
}

/** The driver's block checks on `store` (the real validation the resolver connects through). */
export function checksFor(store: ChainStore): BlockChecks {
  return new BlockChecks({ store, chainId: CHAIN_ID, sigCache: new SignatureCache(), validatorsAt: (h) => store.validatorSetAt(h), now: () => Date.now() });
}

/**
 * The genesis block (SPEC §4): height 0, prevHash all zeros, one coinbase (payload u64 0)
 * paying the initial allocations. Its hash is the chainId every signature commits to, so the
 * construction is fully deterministic: same parameters → same bytes → same chainId.
 *
 * Masternode registrations in genesis come with the masternode issue: a kind-2 transaction
 * cannot be placed in genesis as-is, because its ownerSignature signs the chainId while being
 * part of the payload, hence of the txid, hence of the genesis hash (see docs/chain.md).
 */
import { NETWORKS, TxKind, type NetworkName } from './constants.js';
import { isValidPublicKey } from './ed25519.js';
import { bytesEqual, sha256 } from './hash.js';
import { ZERO_HASH, createBlock, type Block } from './block.js';
import { checkBlockSanity } from './block-rules.js';
import { createTransaction } from './transaction.js';

export interface GenesisAllocation {
  readonly publicKey: Uint8Array;
  readonly amount: bigint;
}

export interface GenesisParams {
  readonly network: NetworkName;
  readonly timestampMs: number;
  /** Coinbase outputs, in this order. No reward cap applies at genesis; the total is ≤ MAX_MONEY. */
  readonly allocations: readonly GenesisAllocation[];
  /** Header proposer field; defaults to the network tag below (genesis has no proposer). */
  readonly proposer?: Uint8Array;
}

/**
 * Default genesis proposer: SHA-256("TIMECOIN-GENESIS-" + network). It makes two genesis blocks
 * that differ only in network differ in hash, so a signature for one network's chain is never
 * valid on another's.
 */
export function genesisTag(network: NetworkName): Uint8Array {
  return sha256(new TextEncoder().encode(`TIMECOIN-GENESIS-${network}`));
}

/** Build the genesis block; throws RuleError (dust, value-out-of-range, …) or TypeError on bad parameters. */
export function createGenesis(params: GenesisParams): Block {
  if (!(params.network in NETWORKS)) throw new TypeError(`unknown network ${String(params.network)}`);
  if (!Number.isSafeInteger(params.timestampMs) || params.timestampMs < 0) throw new TypeError('timestampMs must be a non-negative integer');
  const proposer = params.proposer ?? genesisTag(params.network);
  if (proposer.length !== 32) throw new TypeError('proposer must be 32 bytes');
  params.allocations.forEach((a, n) => {
    // An allocation to a key that can never sign would be burnt at birth.
    if (!isValidPublicKey(a.publicKey)) throw new TypeError(`allocation ${n}: not a valid ed25519 public key`);
  });
  const outputs = params.allocations.map((a) => ({ amount: a.amount, publicKey: a.publicKey }));
  const coinbase = createTransaction({ kind: TxKind.Coinbase, inputs: [], outputs, payload: new Uint8Array(8) });
  const block = createBlock({
    height: 0,
    prevHash: ZERO_HASH,
    timestampMs: params.timestampMs,
    proposer,
    view: 0,
    txs: [coinbase],
  });
  // Dust, MAX_MONEY and size (too many allocations → tx-too-large) through the ordinary rules.
  checkBlockSanity(block);
  return block;
}

/** The chainId of a chain: the hash of its genesis block (SPEC §4). */
export function chainIdOf(genesis: Block): Uint8Array {
  if (genesis.header.height !== 0 || !bytesEqual(genesis.header.prevHash, ZERO_HASH)) {
    throw new TypeError('not a genesis block: height must be 0 and prevHash all zeros');
  }
  return genesis.hash;
}

/**
 * The genesis block (SPEC §4): height 0, prevHash all zeros, one coinbase (payload u64 0)
 * paying the initial allocations. Its hash is the chainId every signature commits to, so the
 * construction is fully deterministic: same parameters → same bytes → same chainId.
 *
 * Genesis may register the initial masternodes (docs/masternodes.md "Genesis registrations"):
 * each is a kind-2 transaction after the coinbase with no inputs, no outputs, the collateral a
 * coinbase output, and an ownerSignature of 64 zero bytes. A live registration's owner signature
 * signs the chainId, which for genesis is the hash of the block holding the signature — circular.
 * Genesis is accepted by its hash (the configured chainId), so everything in it is trusted by
 * construction and a signature would prove nothing the hash does not; the input-less form is
 * refused by checkTxSanity (no-inputs) in every other block, so it cannot be replayed.
 */
import { MASTERNODE_COLLATERAL, MAX_BLOCK_SIZE, NETWORKS, TxKind, type NetworkName } from './constants.js';
import { encodeRegistrationPayload } from './registration.js';
import { parseMultiaddr } from './multiaddr.js';
import { toHex } from './hash.js';
import { checkRegistrationPayload } from './tx-rules.js';
import { isValidPublicKey } from './ed25519.js';
import { bytesEqual, sha256 } from './hash.js';
import { ZERO_HASH, createBlock, type Block } from './block.js';
import { checkBlockSanity } from './block-rules.js';
import { createTransaction } from './transaction.js';
import { RuleCode, RuleError } from './errors.js';

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
  /** Initial masternodes; each collateral is the allocation at `allocation` (≥ MASTERNODE_COLLATERAL). */
  readonly registrations?: readonly GenesisRegistration[];
}

export interface GenesisRegistration {
  /** Index into `allocations` of the collateral output (its key is the owner). */
  readonly allocation: number;
  readonly operatorPublicKey: Uint8Array;
  readonly addr: string;
}

/** The kind-2 transactions of genesis registrations (TypeError on a bad registration). */
function genesisRegistrationTxs(params: GenesisParams, coinbaseTxid: Uint8Array) {
  const operators = new Set<string>();
  const collaterals = new Set<number>();
  return (params.registrations ?? []).map((r, n) => {
    const alloc = params.allocations[r.allocation];
    if (!Number.isInteger(r.allocation) || alloc === undefined) throw new TypeError(`registration ${n}: no allocation ${r.allocation}`);
    if (alloc.amount < MASTERNODE_COLLATERAL) throw new TypeError(`registration ${n}: collateral below MASTERNODE_COLLATERAL`);
    if (collaterals.has(r.allocation)) throw new TypeError(`registration ${n}: collateral already registered`);
    if (!isValidPublicKey(r.operatorPublicKey)) throw new TypeError(`registration ${n}: operator key is not a valid public key`);
    if (operators.has(toHex(r.operatorPublicKey))) throw new TypeError(`registration ${n}: operator key registered twice`);
    if (parseMultiaddr(r.addr) === null) throw new TypeError(`registration ${n}: addr is not an accepted multiaddr`);
    collaterals.add(r.allocation);
    operators.add(toHex(r.operatorPublicKey));
    const payload = encodeRegistrationPayload({
      collateralTxid: coinbaseTxid,
      collateralIndex: r.allocation,
      operatorPublicKey: r.operatorPublicKey,
      addr: r.addr,
      ownerSignature: new Uint8Array(64),
    });
    return createTransaction({ kind: TxKind.MasternodeRegistration, inputs: [], outputs: [], payload });
  });
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
  const header = { height: 0, prevHash: ZERO_HASH, timestampMs: params.timestampMs, proposer, view: 0 };
  // Dust, MAX_MONEY and size (too many allocations → tx-too-large) through the ordinary rules.
  checkBlockSanity(createBlock({ ...header, txs: [coinbase] }));
  const registrations = genesisRegistrationTxs(params, coinbase.txid);
  if (registrations.length === 0) return createBlock({ ...header, txs: [coinbase] });
  // The payload rules of every registration (its inputs and outputs are absent by design).
  for (const tx of registrations) checkRegistrationPayload(tx);
  const block = createBlock({ ...header, txs: [coinbase, ...registrations] });
  if (block.bytes.length > MAX_BLOCK_SIZE) throw new RuleError(RuleCode.BlockTooLarge, 'genesis exceeds MAX_BLOCK_SIZE');
  return block;
}

/** The chainId of a chain: the hash of its genesis block (SPEC §4). */
export function chainIdOf(genesis: Block): Uint8Array {
  if (genesis.header.height !== 0 || !bytesEqual(genesis.header.prevHash, ZERO_HASH)) {
    throw new TypeError('not a genesis block: height must be 0 and prevHash all zeros');
  }
  return genesis.hash;
}

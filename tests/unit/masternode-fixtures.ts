/**
 * A real-LevelDB chain with masternodes for the registry tests: a genesis that registers the
 * first `registered` owners' collateral, and a helper that validates a block exactly as the node
 * does (checkBlockSanity + checkBlockContext with the store's view, registry and the consensus
 * evidence verifier) before connecting it. Production constructors and signers throughout.
 */
import { createBlock, type Block } from '../../chain/block.js';
import { checkBlockContext, checkBlockSanity } from '../../chain/block-rules.js';
import { BLOCK_REWARD, MASTERNODE_COLLATERAL, TxKind, UNITS_PER_TIME } from '../../chain/constants.js';
import type { Signer } from '../../chain/ed25519.js';
import { RuleError } from '../../chain/errors.js';
import { createGenesis } from '../../chain/genesis.js';
import { encodeRegistrationPayload, registrationSigningMessage } from '../../chain/registration.js';
import { ChainStore } from '../../chain/store.js';
import type { Transaction, TxOutput } from '../../chain/transaction.js';
import { verifyEvidenceProof } from '../../consensus/evidence-proof.js';
import { coinbase, coinOf, signer, spend, type Coin } from './chain-fixtures.js';

export const SPENDING = 5_000n * UNITS_PER_TIME;
export const FEE = 10_000n;
export const T0 = 1_700_000_000_000;

/** Owner i: key 100 + i; operator i: key 200 + i. Allocation 2i = collateral, 2i + 1 = spending coin. */
export const owner = (i: number): Signer => signer(100 + i);
export const operator = (i: number): Signer => signer(200 + i);
export const addrOf = (i: number): string => `/ip4/10.0.0.${i + 1}/tcp/24100`;

export class MnChain {
  private constructor(
    readonly store: ChainStore,
    readonly genesis: Block,
  ) {}

  /** A chain in `dir` with `owners` funded owners, the first `registered` of them registered in genesis. */
  static async create(dir: string, owners: number, registered: number): Promise<MnChain> {
    const allocations = [];
    for (let i = 0; i < owners; i++) {
      allocations.push({ publicKey: owner(i).publicKey, amount: MASTERNODE_COLLATERAL }, { publicKey: owner(i).publicKey, amount: SPENDING });
    }
    const registrations = Array.from({ length: registered }, (_, i) => ({ allocation: 2 * i, operatorPublicKey: operator(i).publicKey, addr: addrOf(i) }));
    const genesis = createGenesis({ network: 'testnet', timestampMs: T0, allocations, registrations });
    const store = await ChainStore.open(dir, { sync: false });
    await store.initialize(genesis, 'testnet');
    return new MnChain(store, genesis);
  }

  get chainId(): Uint8Array {
    return this.genesis.hash;
  }

  /** Owner i's genesis collateral coin (allocation 2i). */
  collateral(i: number): Coin {
    return coinOf(this.genesis.txs[0]!, 2 * i, owner(i));
  }

  /** Owner i's genesis spending coin (allocation 2i + 1). */
  spending(i: number): Coin {
    return coinOf(this.genesis.txs[0]!, 2 * i + 1, owner(i));
  }

  /** A signed transfer under this chain's id. */
  transfer(coins: readonly Coin[], outputs: readonly TxOutput[]): Transaction {
    return spend(coins, outputs, { chainId: this.chainId });
  }

  /** A registration of `collateral` for `op`, fee paid from `feeCoin` (change back to its owner). */
  registration(feeCoin: Coin, collateral: { txid: Uint8Array; index: number; owner: Signer }, op: Uint8Array, addr: string, o: { signWith?: Signer; chainId?: Uint8Array } = {}): Transaction {
    const addrBytes = new TextEncoder().encode(addr);
    const msg = registrationSigningMessage(o.chainId ?? this.chainId, collateral.txid, collateral.index, op, addrBytes);
    const ownerSignature = (o.signWith ?? collateral.owner).sign(msg);
    const payload = encodeRegistrationPayload({ collateralTxid: collateral.txid, collateralIndex: collateral.index, operatorPublicKey: op, addr, ownerSignature });
    return spend([feeCoin], [{ amount: feeCoin.amount - FEE, publicKey: feeCoin.owner.publicKey }], { chainId: this.chainId, kind: TxKind.MasternodeRegistration, payload });
  }

  /** The next block holding `txs`, proposed by `proposer` (default: a key no registration names) with an empty coinbase. */
  async nextBlock(txs: readonly Transaction[], o: { proposer?: Uint8Array; coinbaseOutputs?: readonly TxOutput[] } = {}): Promise<Block> {
    const tip = this.store.tip();
    const parent = (await this.store.getBlock(tip.hash))!;
    return createBlock({
      height: tip.height + 1,
      prevHash: tip.hash,
      timestampMs: parent.header.timestampMs + 1000,
      proposer: o.proposer ?? signer(999).publicKey,
      view: 0,
      txs: [coinbase(tip.height + 1, o.coinbaseOutputs ?? []), ...txs],
    });
  }

  /** Validate `block` as the node does; returns 'ok' or the RuleError code. */
  async check(block: Block): Promise<string> {
    try {
      checkBlockSanity(block);
      const view = await this.store.loadView(block.txs.slice(1));
      const tip = this.store.tip();
      const parent = (await this.store.getBlock(tip.hash))!;
      checkBlockContext(block, view, {
        chainId: this.chainId,
        sigCache: null,
        expectedHeight: tip.height + 1,
        prevHash: tip.hash,
        parentTimestampMs: parent.header.timestampMs,
        nowMs: block.header.timestampMs,
        reward: BLOCK_REWARD,
        masternodes: { registry: this.store.registry, verifyEvidence: verifyEvidenceProof },
      });
      return 'ok';
    } catch (e) {
      if (e instanceof RuleError) return e.code;
      throw e;
    }
  }

  /** Validate and connect a block of `txs`; throws with the code if it is refused. */
  async mine(txs: readonly Transaction[], o: { proposer?: Uint8Array; coinbaseOutputs?: readonly TxOutput[] } = {}): Promise<Block> {
    const block = await this.nextBlock(txs, o);
    const verdict = await this.check(block);
    if (verdict !== 'ok') throw new Error(`block refused: ${verdict}`);
    await this.store.connectBlock(block);
    return block;
  }

  /** Validation verdict of a block of `txs` on the tip. */
  async verdict(txs: readonly Transaction[], o: { proposer?: Uint8Array; coinbaseOutputs?: readonly TxOutput[] } = {}): Promise<string> {
    return this.check(await this.nextBlock(txs, o));
  }

  /** Connect `n` empty blocks. */
  async mineEmpty(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await this.mine([]);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/**
 * What a block *means*, for the consensus driver: full validation of a proposed block against the
 * stored tip (chain/block-rules, with the UTXO view loaded first — ARCHITECTURE example 5) and
 * the proposer check the engine cannot do (it sees only hashes), plus the leader's own proposal
 * built with chain/assembler. No consensus state lives here.
 */
import { assembleBlock } from '../chain/assembler.js';
import { decodeBlock, type Block, type KnownTransaction } from '../chain/block.js';
import { checkBlockContext, checkBlockSanity } from '../chain/block-rules.js';
import { BLOCK_REWARD } from '../chain/constants.js';
import type { Signer, SignatureCache } from '../chain/ed25519.js';
import { DecodeError, RuleCode, RuleError } from '../chain/errors.js';
import { bytesEqual, toHex } from '../chain/hash.js';
import { Mempool } from '../chain/mempool.js';
import type { ChainStore, LoadedInputs } from '../chain/store.js';
import { leaderOf } from '../consensus/leader.js';
import type { Bytes } from '../consensus/types.js';
import { verifyEvidenceProof } from '../consensus/evidence-proof.js';
import type { EvidencePool } from '../chain/evidence-pool.js';
import type { MasternodeContext } from '../chain/masternode-rules.js';
import { preverifyBlockSignatures } from './preverify.js';
import type { VerifyPool } from './verify-pool.js';

/**
 * A verdict: a valid block with the input entries validation loaded (for ChainStore
 * ConnectOptions.inputs), or the reason (a rule or decode code) it is refused.
 */
export type Verdict = { readonly valid: true; readonly block: Block; readonly inputs: LoadedInputs } | { readonly valid: false; readonly reason: string };

export interface BlockChecksOptions {
  readonly store: ChainStore;
  readonly chainId: Uint8Array;
  readonly sigCache: SignatureCache;
  /** The ordered validator set of a height (the leader rule needs it). */
  readonly validatorsAt: (height: number) => readonly Bytes[];
  readonly now: () => number;
  /** Pending evidence to include in this node's proposals (null: none). */
  readonly evidence?: EvidencePool | null;
  /** Worker threads for a block's uncached input signatures (src/block-preverify.ts); null: all inline. */
  readonly verifyPool?: VerifyPool | null;
  /** Most pool transactions in this node's proposals (config consensus.maxBlockTransactions; default: size cap only). */
  readonly maxBlockTransactions?: number;
  /** Already-decoded transactions a proposal's decode may reuse (the node's Mempool.withEncoding). */
  readonly knownTransaction?: KnownTransaction;
}

/** Validates proposals and builds this node's own. */
export class BlockChecks {
  private parentCache: { hash: string; timestampMs: number } | null = null;
  private nextParent: { hash: string; timestampMs: number } | null = null;

  constructor(private readonly o: BlockChecksOptions) {}

  /** The registry at the tip and the one evidence verifier (consensus/evidence-proof.ts). */
  private masternodes(): MasternodeContext {
    return { registry: this.o.store.registry, verifyEvidence: verifyEvidenceProof };
  }

  /** Timestamp of the stored tip (cached per tip hash). */
  async tipTimestamp(): Promise<number> {
    const tip = this.o.store.tip();
    const hex = toHex(tip.hash);
    if (this.parentCache?.hash !== hex && this.nextParent?.hash === hex) this.parentCache = this.nextParent;
    if (this.parentCache?.hash !== hex) {
      const parent = await this.o.store.getBlock(tip.hash);
      if (parent === undefined) throw new Error(`tip block ${hex} is not stored`);
      this.parentCache = { hash: hex, timestampMs: parent.header.timestampMs };
    }
    return this.parentCache.timestampMs;
  }

  /**
   * Decode (when given bytes) and check the block at `height`, proposed in `view`: SPEC §3–4 rules
   * on the current tip, and a header proposer that leads (height, header view ≤ view). A
   * re-proposal after a view change carries the header of the view it was first proposed in. A
   * `Block` value (this leader's own, or one decoded already) is checked as it is: decoding its
   * bytes again would give the same value.
   */
  async validate(proposal: Uint8Array | Block, height: number, view: number): Promise<Verdict> {
    try {
      const block = proposal instanceof Uint8Array ? decodeBlock(proposal, this.o.knownTransaction) : proposal;
      const tip = this.o.store.tip();
      if (height !== tip.height + 1) return { valid: false, reason: `height ${height} does not extend tip ${tip.height}` };
      checkBlockSanity(block);
      const h = block.header;
      const leader = leaderOf(this.o.validatorsAt(height), height, h.view);
      if (h.view > view || !bytesEqual(h.proposer, leader)) {
        throw new RuleError(RuleCode.BadProposer, `proposer is not the leader of height ${height} view ${h.view}`);
      }
      const parentTimestampMs = await this.tipTimestamp();
      const view0 = await this.o.store.loadView(block.txs.slice(1));
      if (this.o.verifyPool != null) await preverifyBlockSignatures(block, view0, this.o.chainId, this.o.sigCache, this.o.verifyPool);
      if (!bytesEqual(this.o.store.tip().hash, tip.hash)) return { valid: false, reason: 'tip moved during validation' };
      checkBlockContext(block, view0, {
        chainId: this.o.chainId,
        sigCache: this.o.sigCache,
        expectedHeight: tip.height + 1,
        prevHash: tip.hash,
        parentTimestampMs,
        nowMs: this.o.now(),
        reward: BLOCK_REWARD,
        masternodes: this.masternodes(),
      });
      // The next block's parent is usually this one: remember its timestamp so connecting it
      // does not cost a block read (block sync runs one validate per block).
      this.nextParent = { hash: toHex(block.hash), timestampMs: h.timestampMs };
      return { valid: true, block, inputs: { at: tip.hash, entries: view0.loaded } };
    } catch (err) {
      // Only the block's own faults are a verdict; a store or IO error is the node's problem.
      if (err instanceof RuleError || err instanceof DecodeError) return { valid: false, reason: `${err.code}: ${err.message}` };
      throw err;
    }
  }

  /**
   * This leader's block for (height, view): mempool transactions by fee rate, the coinbase paying
   * reward + fees to the registered owner (else `rewardPublicKey`), pending evidence first. It is
   * validated like anyone else's; if that block is invalid, it falls back to evidence only, then
   * pool only, then an empty block, so the chain keeps going.
   */
  async propose(height: number, view: number, signer: Signer, rewardPublicKey: Uint8Array, mempool: Mempool): Promise<{ block: Block; fallback: string | null; inputs?: LoadedInputs } | null> {
    const tip = this.o.store.tip();
    if (height !== tip.height + 1) return null;
    // Strictly after the parent (a rule), and never behind our own clock.
    const timestampMs = Math.max(this.o.now(), (await this.tipTimestamp()) + 1);
    // A registered operator's reward goes to its owner key (docs/masternodes.md); the
    // genesis-designated dev validator has no registration and uses `rewardPublicKey`.
    const owner = this.o.store.registry.byOperator(signer.publicKey)?.owner ?? rewardPublicKey;
    const params = { height, prevHash: tip.hash, timestampMs, proposer: signer.publicKey, view, rewardPublicKey: owner, reward: BLOCK_REWARD, maxTransactions: this.o.maxBlockTransactions };
    const evidence = this.o.evidence?.select(height, this.masternodes(), this.o.chainId) ?? [];
    const full = assembleBlock({ ...params, mempool, evidence });
    const verdict = await this.validate(full, height, view);
    if (verdict.valid) return { block: full, fallback: null, inputs: verdict.inputs };
    const none = new Mempool({ chainId: this.o.chainId, sigCache: null });
    if (evidence.length > 0) {
      // Evidence first: e.g. a pool transaction spends a collateral the evidence penalizes; once
      // the evidence is final, removeForBlock drops that spend, so the offender cannot escape.
      const onlyEvidence = assembleBlock({ ...params, mempool: none, evidence });
      if ((await this.validate(onlyEvidence, height, view)).valid) return { block: onlyEvidence, fallback: verdict.reason };
      const noEvidence = assembleBlock({ ...params, mempool });
      if ((await this.validate(noEvidence, height, view)).valid) return { block: noEvidence, fallback: verdict.reason };
    }
    const bare = assembleBlock({ ...params, mempool: none });
    const second = await this.validate(bare, height, view);
    if (!second.valid) throw new Error(`own empty block at height ${height} is invalid: ${second.reason}`);
    return { block: bare, fallback: verdict.reason };
  }
}

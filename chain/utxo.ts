/**
 * The UTXO view contract shared by validation, the store and the mempool: load a view
 * asynchronously (the store uses getMany), then validate synchronously against it
 * (ARCHITECTURE example 5).
 */
import type { Transaction } from './transaction.js';
import { outpointKey, outputKey } from './transaction.js';
import { TxKind } from './constants.js';

/** One unspent output as the chain records it. */
export interface UtxoEntry {
  readonly amount: bigint;
  readonly publicKey: Uint8Array;
  /** Height of the block that created it. */
  readonly height: number;
  /** Created by a coinbase transaction. */
  readonly coinbase: boolean;
}

/** Synchronous read access to unspent outputs (undefined = missing or spent). */
export interface UtxoView {
  /** `key`, when given, is the outpoint's `outpointKey` (an input's `outpoint`): views keyed by it need not recompute it. */
  getUtxo(txid: Uint8Array, index: number, key?: string): UtxoEntry | undefined;
  /**
   * Penalty recorded against the output as a masternode collateral (0n if none): spending it
   * burns this much (chain/tx-inputs.ts, docs/masternodes.md). Required, so no view can forget it.
   */
  penaltyOf(txid: Uint8Array, index: number, key?: string): bigint;
}

/**
 * An in-memory overlay over a base view: outputs added or spent by transactions applied on
 * top (earlier transactions of the same block, or mempool parents).
 */
export class OverlayView implements UtxoView {
  private readonly added = new Map<string, UtxoEntry>();
  private readonly spent = new Set<string>();
  constructor(private readonly base: UtxoView) {}

  getUtxo(txid: Uint8Array, index: number, key = outpointKey(txid, index)): UtxoEntry | undefined {
    if (this.spent.has(key)) return undefined;
    return this.added.get(key) ?? this.base.getUtxo(txid, index, key);
  }

  penaltyOf(txid: Uint8Array, index: number, key = outpointKey(txid, index)): bigint {
    // An output created on top has never been a registered collateral.
    return this.added.has(key) ? 0n : this.base.penaltyOf(txid, index, key);
  }

  /** Record `tx` as applied at `height`: its inputs spent, its outputs created. */
  apply(tx: Transaction, height: number): void {
    for (const i of tx.inputs) {
      if (!this.added.delete(i.outpoint)) this.spent.add(i.outpoint);
    }
    const coinbase = tx.kind === TxKind.Coinbase;
    tx.outputs.forEach((o, n) => {
      this.added.set(outputKey(tx.txidHex, n), { amount: o.amount, publicKey: o.publicKey, height, coinbase });
    });
  }
}

/** A view over a plain map keyed by outpointKey (tests, genesis, loaded snapshots). */
export class MapView implements UtxoView {
  constructor(
    readonly entries: Map<string, UtxoEntry> = new Map(),
    readonly penalties: Map<string, bigint> = new Map(),
  ) {}
  getUtxo(txid: Uint8Array, index: number, key = outpointKey(txid, index)): UtxoEntry | undefined {
    return this.entries.get(key);
  }
  penaltyOf(txid: Uint8Array, index: number, key = outpointKey(txid, index)): bigint {
    return this.penalties.get(key) ?? 0n;
  }
}

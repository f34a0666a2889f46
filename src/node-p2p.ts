/**
 * The node's network part (docs/p2p.md "Wiring into the node"): one `P2pNetwork` per non-dev
 * node, the consensus seam (p2p/consensus-link.ts), transaction gossip on `/timecoin/tx/2` (batched frames, p2p/tx-batch.ts), and
 * the RPC view of the network (getpeerinfo, getnetworkinfo, addnode, disconnectnode).
 *
 * Transaction gossip: a transaction the mempool accepts (from RPC or from a peer) is relayed
 * once — a bounded set of txids already gossiped stops echoes — to every peer that has not sent
 * it to us (in a full mesh most relays would be echoes: each node received each transaction
 * from all three others and decoded it three times). A received transaction goes
 * through the same mempool acceptance as `sendrawtransaction`; a refusal that proves the bytes
 * invalid costs the sender `handler-rejected` (or `decode-failed`) through the p2p penalty
 * table, while refusals an honest relay can hit (already known, a conflicting spend, missing
 * inputs after a race, a full pool, a low fee under our policy) are ignored.
 */
import '../p2p/polyfill.js';
import { RuleCode, RuleError } from '../chain/errors.js';
import { bytesEqual } from '../chain/hash.js';
import { addOne, hasOne, type OneOrSetMap } from '../chain/one-or-set.js';
import { OldestFirst } from '../chain/oldest-first.js';
import type { LoadedChainView, Mempool } from '../chain/mempool.js';
import type { ChainStore } from '../chain/store.js';
import type { Transaction } from '../chain/transaction.js';
import { decodeTxBatch, encodeTxBatches, TX_BATCH_FLUSH_MS } from '../p2p/tx-batch.js';
import { P2pCode, P2pError } from '../p2p/errors.js';
import type { P2pNetwork } from '../p2p/network.js';
import type { Logger } from './logger.js';

/** What RPC may ask of the network (null in NodeServices when p2p is not running). */
export interface NetworkServices {
  peerInfo(): unknown[];
  networkInfo(): { connections: number; localaddresses: string[]; networkactive: boolean; [k: string]: unknown };
  addNode(addr: string, command: string): Promise<void>;
  disconnectNode(target: string): Promise<void>;
  peerCount(): number;
}

/** Refusals an honest relay can run into: not the sender's fault. */
const RACES: ReadonlySet<string> = new Set([
  RuleCode.AlreadyInMempool,
  RuleCode.AlreadyInChain,
  RuleCode.MempoolConflict,
  RuleCode.MempoolFull,
  RuleCode.MissingInputs,
  RuleCode.InsufficientFee,
  RuleCode.CollateralClaimed,
  RuleCode.DuplicateOperator,
  RuleCode.DuplicateEvidence,
  RuleCode.EvidenceTooOld,
]);

const SEEN_MAX = 50_000;

/**
 * The peers each txid came from, for at most `max` txids (the oldest forgotten first; one peer or a
 * Set: chain/one-or-set.ts). Gossip forgets a txid once relayed, so it holds only txids in flight.
 */
export class TxSenders {
  private readonly byTxid: OneOrSetMap<string, string> = new Map();
  private readonly oldest = new OldestFirst(this.byTxid);

  constructor(private readonly max: number) {}

  /** Remember that `peer` sent txid `id`. */
  note(id: string, peer: string): void {
    if (addOne(this.byTxid, id, peer)) this.oldest.trimTo(this.max);
  }

  /** Forget who sent txid `id` (it was relayed: nobody asks again). */
  forget(id: string): void {
    this.byTxid.delete(id);
  }

  /** Did `peer` send txid `id` (as far as we still remember)? */
  has(id: string, peer: string): boolean {
    return hasOne(this.byTxid, id, peer);
  }

  /** Number of txids remembered. */
  get size(): number {
    return this.byTxid.size;
  }
}

/** Transaction gossip over one network: `announce` after a local accept, `attach` for arrivals. */
export class TxGossip {
  private readonly seen = new Map<string, true>();
  private readonly seenOldest = new OldestFirst(this.seen);
  /**
   * Peers that sent us a txid not relayed yet (bounded like `seen`): the relay skips them. Kept for
   * every txid until relayed, it held ~15 MB after a minute of full load (three peers per txid).
   */
  private readonly senders = new TxSenders(SEEN_MAX);
  /** Announced, not yet flushed (txid hex → encoding), in announcement order. */
  private pending = new Map<string, Uint8Array>();
  /** Encodings of received transactions while their admission runs (txid hex → bytes). */
  private readonly arriving = new Map<string, Uint8Array>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly net: P2pNetwork,
    private readonly deps: {
      readonly mempool: Mempool;
      readonly store: ChainStore;
      /** After a peer's transaction entered the mempool (finality note, metrics, driver wake-up). */
      readonly onAccepted: (tx: Transaction) => void;
      readonly log: Logger;
      /**
       * Verifies a received batch's signatures off the event loop before it is admitted in order
       * (src/preverify.ts); the chain view it read is shared by the batch's admissions.
       */
      readonly preverify?: ((txs: readonly Transaction[]) => Promise<{ readonly loaded: LoadedChainView | null }>) | null;
    },
  ) {}

  /** Gossip an accepted transaction to every peer, once per txid (batched: p2p/tx-batch.ts). */
  announce(tx: Transaction): void {
    const id = tx.txidHex;
    if (!this.mark(id)) return;
    this.pending.set(id, tx.bytes);
    this.flushTimer ??= setTimeout(() => this.flush(), TX_BATCH_FLUSH_MS);
  }

  /** Send what was announced since the last flush, in as few frames as the limits allow. */
  flush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const txs = this.pending;
    this.pending = new Map();
    // Senders known by now are skipped: a 40 ms batch usually learns most of them.
    for (const peer of this.net.peerIds()) {
      const list: Uint8Array[] = [];
      for (const [id, bytes] of txs) if (!this.senders.has(id, peer)) list.push(bytes);
      if (list.length === 0) continue;
      try {
        for (const frame of encodeTxBatches(list)) this.net.send(peer, 'tx', frame);
      } catch (err) {
        this.deps.log.debug({ err, peer }, 'tx gossip to a peer failed');
      }
    }
    for (const id of txs.keys()) this.senders.forget(id);
  }

  /** Number of txids whose senders are remembered (those not relayed yet, and refused ones). */
  get sendersRemembered(): number {
    return this.senders.size;
  }

  /** Stop the flush timer (node close); pending announcements are dropped — gossip is best effort. */
  stop(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.pending = new Map();
  }

  async attach(): Promise<void> {
    await this.net.onGossip('tx', async (payload, from) => {
      // Copies of known transactions are dropped undecoded (most copies are: a full mesh delivers
      // each transaction from every peer); their sender is still remembered, so we never relay back.
      // So are byte-identical copies of one still being admitted from another frame: their verdict
      // would be the same (a copy with other signature bytes is still checked on its own, so a
      // malleated copy cannot shadow an honest one).
      const txs = decodeTxBatch(payload, (id, bytes) => {
        const known = this.known(id);
        this.noteSender(id, from.id, known);
        if (known) return false;
        const other = this.arriving.get(id);
        return other === undefined || !bytesEqual(other, bytes);
      });
      const mine = txs.filter((t) => !this.arriving.has(t.txidHex));
      for (const t of mine) this.arriving.set(t.txidHex, t.bytes);
      try {
        // In order: a batch may carry a parent and then its child.
        const pre = await this.deps.preverify?.(txs.filter((t) => !this.known(t.txidHex)));
        // Their sender was noted above, while reading the frame.
        for (const tx of txs) await this.acceptFromPeer(tx, undefined, pre?.loaded);
      } finally {
        for (const t of mine) this.arriving.delete(t.txidHex);
      }
    });
  }

  /**
   * A peer's transaction through the same mempool acceptance as `sendrawtransaction` (also used by
   * mempool reconciliation, src/mempool-sync.ts). Resolves true if it entered the pool (then
   * announced), false if known or refused for a reason an honest relay can hit; throws
   * `handler-rejected` when the refusal proves it invalid (the caller charges the peer).
   */
  async acceptFromPeer(tx: Transaction, from?: string, loaded?: LoadedChainView | null): Promise<boolean> {
    const id = tx.txidHex;
    const known = this.known(id);
    if (from !== undefined) this.noteSender(id, from, known);
    if (known) return false;
    try {
      await this.deps.mempool.acceptWithStore(tx, this.deps.store, loaded);
    } catch (err) {
      if (err instanceof RuleError && RACES.has(err.code)) return false;
      if (err instanceof RuleError) throw new P2pError(P2pCode.HandlerRejected, `invalid transaction ${id}: ${err.code}`);
      this.deps.log.warn({ err, txid: id }, 'peer transaction could not be checked');
      return false; // our own failure (store closing, tip churn): not the peer's fault
    }
    this.deps.onAccepted(tx);
    this.announce(tx);
    return true;
  }

  /** Gossiped already, pooled, or confirmed lately: a copy needs no check (under load most copies are one of these). */
  private known(id: string): boolean {
    return this.seen.has(id) || this.deps.mempool.has(id) || this.deps.mempool.recentlyConfirmed(id);
  }

  /** Remember who sent `id` (`known`: this.known(id)) while that can still matter: until our own relay of it has left. */
  private noteSender(id: string, peer: string, known: boolean): void {
    // Relayed already, or known without a relay to come (confirmed, pooled without gossip).
    if (known && !this.pending.has(id)) return;
    this.senders.note(id, peer);
  }

  private mark(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.set(id, true);
    this.seenOldest.trimTo(SEEN_MAX);
    return true;
  }
}

/** The peer id named by `target`: a peer id, or a multiaddr ending in /p2p/<id>. */
function peerIdOf(target: string): string {
  if (!target.startsWith('/')) return target;
  const m = /\/p2p\/([^/]+)$/.exec(target);
  if (m === null) throw new P2pError(P2pCode.NotConnected, 'address has no /p2p/<peer id> component');
  return m[1]!;
}

/** The RPC view of `net`. */
export function networkServices(net: P2pNetwork): NetworkServices {
  return {
    peerInfo: () => net.getPeerInfo(),
    networkInfo: () => ({ ...net.getNetworkInfo() }),
    peerCount: () => net.getNetworkInfo().connections,
    async addNode(addr, command) {
      // add / onetry both dial now; "remove" only disconnects (there is no persistent added-node list yet).
      if (command === 'remove') await net.disconnect(peerIdOf(addr));
      else await net.connect(addr);
    },
    disconnectNode: async (target) => net.disconnect(peerIdOf(target)),
  };
}

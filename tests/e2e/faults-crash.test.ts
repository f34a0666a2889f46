/**
 * Crash and freeze faults on a real 4-validator testnet (processes over libp2p on loopback).
 * Blocks are made only for transactions (the idle interval is an hour), so between payments the
 * network is quiet — the case where a node one block behind gets no consensus traffic at all.
 *  - SIGKILL the leader of the next height → a payment through a survivor finalizes at a view
 *    above 0 without it; restarted, it syncs to the others' height (on a quiet network) and takes
 *    part again: it proposes a block or signs a commit certificate.
 *  - SIGSTOP a validator (then the leader) → the rest keep finalizing; SIGCONT → it catches up to
 *    the same chain and takes part again.
 * Everything is polled over RPC with deadlines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCommitCertificate } from '../../consensus/codec.js';
import { fromHex, toHex } from '../../chain/hash.js';
import { waitFor } from './helpers.js';
import { FAST_CONSENSUS, TestnetHarness } from './testnet-harness.js';

/** Does node `who` appear in block `height` (as proposer or commit signer), as node `ask` stores it? */
async function tookPart(h: TestnetHarness, ask: number, height: number, who: number): Promise<boolean> {
  const b = await h.block(ask, height);
  const key = h.net.nodes[who]!.operatorPublicKey;
  if (b.proposer === key) return true;
  return decodeCommitCertificate(fromHex(b.certificate)).commits.some((v) => toHex(v.signer) === key);
}

describe('faults: crashed and frozen validators', () => {
  let h: TestnetHarness;

  beforeAll(async () => {
    h = await TestnetHarness.create({ config: { consensus: { ...FAST_CONSENSUS, idleBlockIntervalMs: 3_600_000 } } });
    h.startAll();
    try {
      await h.waitMesh();
    } catch (err) {
      h.dumpLogs();
      throw err;
    }
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  /** `back` (just restarted or resumed) reaches the others' height on a quiet network, then takes part in a block. */
  async function rejoins(back: number, rest: number[]): Promise<void> {
    const [target] = await h.finalHeights([rest[0]!]);
    await waitFor('node answering RPC', () => h.finalHeights([back]).then(() => true), 30_000, 200);
    // Quiet network: no payment until it has caught up (no idle block comes).
    await h.waitAllFinal(target!, [back], 20_000);
    await h.assertSameChain(target!, h.all);
    await h.waitMesh();
    // The leader rotates per height: within four payments it proposes or at least signs a commit.
    let joined = -1;
    for (let k = 0; k < 6 && joined < 0; k++) {
      const at = await h.pay(h.all, rest[0]!);
      if (await tookPart(h, back, at, back)) joined = at;
    }
    expect(joined, `node${back} in no block after its return`).toBeGreaterThan(target!);
    await h.assertSameChain(joined, h.all);
  }

  it('SIGKILL the leader: the other three finalize at a higher view; restarted, it syncs and votes again', async () => {
    try {
      await h.pay();
      const { leader, height } = await h.leaderIndex(0);
      expect(leader).toBeGreaterThanOrEqual(0);
      await h.kill(leader);
      const rest = h.all.filter((i) => i !== leader);
      const at = await h.pay(rest, rest[0]!);
      expect(at).toBe(height);
      const b = await h.block(rest[0]!, at);
      expect(b.view).toBeGreaterThan(0);
      expect(b.proposer).not.toBe(h.net.nodes[leader]!.operatorPublicKey);
      h.start(leader); // exactly one block behind, on a quiet network: no Decision comes by itself
      await rejoins(leader, rest);
    } catch (err) {
      h.dumpLogs();
      throw err;
    }
  }, 120_000);

  it('SIGSTOP a validator: the rest stay live; SIGCONT: it catches up to the same chain', async () => {
    try {
      const { leader } = await h.leaderIndex(0);
      const frozen = h.all.find((i) => i !== leader)!; // not the next leader: a plain freeze
      const rest = h.all.filter((i) => i !== frozen);
      h.pause(frozen);
      for (let k = 0; k < 3; k++) await h.pay(rest, rest[0]!);
      h.resume(frozen);
      await rejoins(frozen, rest);
    } catch (err) {
      h.dumpLogs();
      throw err;
    }
  }, 120_000);

  it('SIGSTOP the leader: the rest view-change past it; SIGCONT: it catches up and votes again', async () => {
    try {
      const { leader, height } = await h.leaderIndex(0);
      const rest = h.all.filter((i) => i !== leader);
      h.pause(leader);
      const at = await h.pay(rest, rest[0]!);
      expect(at).toBe(height);
      expect((await h.block(rest[0]!, at)).view).toBeGreaterThan(0);
      h.resume(leader);
      await rejoins(leader, rest);
    } catch (err) {
      h.dumpLogs();
      throw err;
    }
  }, 120_000);
});

/**
 * A small simulated network for the evidence scenario (tests/sim/evidence.test.ts). The shared sim
 * (runner.ts) runs opaque blocks with a fixed validator set; this world instead runs the real
 * pieces end to end so an offence can travel from detection to exclusion:
 *
 *   engine `evidence` effect → chain/evidence-pool (equivocationEvidence) → the leader puts it in a
 *   real chain block (kind-3 transaction, chain/assembler) → every validator checks the block with
 *   checkBlockSanity + checkBlockContext (registry + consensus/evidence-proof) → on commit
 *   chain/store-registry planRegistryConnect applies the penalty and ban to the node's registry →
 *   `start(h + 1)` gets registry.validatorSetAt(h + 1), which no longer holds the offender.
 *
 * Messages travel encoded with 5–50 ms seeded delays; everything derives from the seed.
 */
import { assembleBlock } from '../../chain/assembler.js';
import { decodeBlock, hashBlockBytes, type Block } from '../../chain/block.js';
import { checkBlockContext, checkBlockSanity } from '../../chain/block-rules.js';
import { MASTERNODE_COLLATERAL, UNITS_PER_TIME } from '../../chain/constants.js';
import { createSigner, verifySignature, type Signer } from '../../chain/ed25519.js';
import { EvidencePool } from '../../chain/evidence-pool.js';
import { createGenesis } from '../../chain/genesis.js';
import { bytesEqual, toHex } from '../../chain/hash.js';
import { MasternodeRegistry } from '../../chain/masternode.js';
import type { MasternodeContext } from '../../chain/masternode-rules.js';
import { Mempool } from '../../chain/mempool.js';
import { planRegistryConnect } from '../../chain/store-registry.js';
import { MapView } from '../../chain/utxo.js';
import { decodeMessage, encodeMessage } from '../../consensus/codec.js';
import { initialState, step, type EngineState } from '../../consensus/engine.js';
import { equivocationEvidence, verifyEvidenceProof } from '../../consensus/evidence-proof.js';
import { leaderOf } from '../../consensus/leader.js';
import { signVote } from '../../consensus/messages.js';
import { MsgType, type CommitCertificate, type ConsensusMessage, type Effect, type Input } from '../../consensus/types.js';
import { Rng } from './prng.js';
import { EventQueue } from './queue.js';

const T0 = 1_700_000_000_000;

/** One validator process: engine, chain tip, registry and evidence pool of its own. */
interface Node {
  readonly index: number;
  readonly signer: Signer;
  readonly byzantine: boolean;
  state: EngineState;
  readonly registry: MasternodeRegistry;
  readonly pool: EvidencePool;
  readonly chain: Block[];
  readonly certs: CommitCertificate[];
  readonly backlog: Input[];
  busy: boolean;
  evidenceSeen: number;
}

export interface EvidenceRun {
  /** Finalized blocks per node (index 0 = height 1). */
  readonly chains: Block[][];
  /** Commit certificates per node, aligned with `chains`. */
  readonly certs: CommitCertificate[][];
  readonly registries: MasternodeRegistry[];
  readonly operators: Uint8Array[];
  readonly byzantine: number;
  readonly evidenceSeen: number[];
  readonly conflictsSent: number;
}

/** Run `n` validators, validator `byz` sending a conflicting PREPARE with each of its own, until every honest node has `heights` blocks. */
export function runEvidenceWorld(seed: number, n: number, byz: number, heights: number, limitMs = 300_000): EvidenceRun {
  const rng = new Rng(seed);
  const operators = Array.from({ length: n }, () => createSigner(rng.bytes(32)));
  const owners = Array.from({ length: n }, () => createSigner(rng.bytes(32)));
  const genesis = createGenesis({
    network: 'testnet',
    timestampMs: T0,
    allocations: owners.map((o) => ({ publicKey: o.publicKey, amount: MASTERNODE_COLLATERAL + 10n * UNITS_PER_TIME })),
    registrations: operators.map((op, i) => ({ allocation: i, operatorPublicKey: op.publicKey, addr: `/ip4/10.0.0.${i + 1}/tcp/24100` })),
  });
  const chainId = genesis.hash;
  const cb = genesis.txs[0]!;
  const genesisOutputs = (txid: Uint8Array, index: number) =>
    bytesEqual(txid, cb.txid) && cb.outputs[index] !== undefined ? { amount: cb.outputs[index]!.amount, publicKey: cb.outputs[index]!.publicKey, height: 0, coinbase: true } : undefined;
  const queue = new EventQueue<() => void>();
  const net = rng.fork();
  let conflictsSent = 0;

  const nodes: Node[] = operators.map((signer, index) => {
    const registry = new MasternodeRegistry();
    planRegistryConnect(genesis, registry, genesisOutputs).apply(registry);
    const config = { chainId, signer, hashBlock: hashBlockBytes, verify: verifySignature, timeouts: { baseMs: 1000, factor: 2, maxMs: 8000 }, maxBufferedMessages: 256, keepDecisions: 8 };
    return { index, signer, byzantine: index === byz, state: initialState(config), registry, pool: new EvidencePool(), chain: [], certs: [], backlog: [], busy: false, evidenceSeen: 0 };
  });
  const now = (): number => T0 + 1000 + queue.now;
  const tip = (node: Node): Block => node.chain[node.chain.length - 1] ?? genesis;
  const mnContext = (node: Node): MasternodeContext => ({ registry: node.registry, verifyEvidence: verifyEvidenceProof });

  const deliver = (from: Node, msg: ConsensusMessage): void => {
    const bytes = encodeMessage(msg);
    for (const to of nodes) {
      if (to === from) continue;
      queue.after(5 + net.int(46), () => input(to, { kind: 'message', msg: decodeMessage(bytes), now: now(), from: String(from.index) }));
    }
  };

  const validate = (node: Node, bytes: Uint8Array, height: number, view: number): boolean => {
    try {
      const block = decodeBlock(bytes);
      const parent = tip(node);
      if (height !== parent.header.height + 1) return false;
      checkBlockSanity(block);
      const leader = leaderOf(node.registry.validatorSetAt(height), height, block.header.view);
      if (block.header.view > view || !bytesEqual(block.header.proposer, leader)) return false;
      checkBlockContext(block, new MapView(), {
        chainId, sigCache: null, expectedHeight: height, prevHash: parent.hash, parentTimestampMs: parent.header.timestampMs, nowMs: now(), reward: 0n, masternodes: mnContext(node),
      });
      return true;
    } catch {
      return false;
    }
  };

  const execute = (node: Node, e: Effect): void => {
    switch (e.kind) {
      case 'broadcast':
        deliver(node, e.msg);
        if (node.byzantine && e.msg.type === MsgType.Prepare) {
          // The offence: a second, conflicting PREPARE for the same (height, view) to everyone.
          conflictsSent++;
          deliver(node, signVote(node.signer, chainId, MsgType.Prepare, e.msg.height, e.msg.view, rng.bytes(32)));
        }
        return;
      case 'send':
        for (const to of nodes) if (bytesEqual(to.signer.publicKey, e.to)) queue.after(5 + net.int(46), () => input(to, { kind: 'message', msg: e.msg, now: now(), from: String(node.index) }));
        return;
      case 'schedule-timeout':
        queue.after(e.afterMs, () => input(node, { kind: 'timeout', height: e.height, view: e.view, now: now() }));
        return;
      case 'persist':
        return;
      case 'request-proposal': {
        const parent = tip(node);
        const evidence = node.pool.select(e.height, mnContext(node), chainId);
        const block = assembleBlock({
          mempool: new Mempool({ chainId, sigCache: null }), height: e.height, prevHash: parent.hash, timestampMs: Math.max(now(), parent.header.timestampMs + 1),
          proposer: node.signer.publicKey, view: e.view, rewardPublicKey: node.signer.publicKey, reward: 0n, evidence,
        });
        queue.after(50, () => input(node, { kind: 'proposal', height: e.height, view: e.view, block: block.bytes, now: now() }));
        return;
      }
      case 'validate-block': {
        const valid = validate(node, e.block, e.height, e.view);
        queue.after(5, () => input(node, { kind: 'block-validated', height: e.height, view: e.view, blockHash: e.blockHash, valid, now: now() }));
        return;
      }
      case 'commit': {
        const block = decodeBlock(e.block);
        planRegistryConnect(block, node.registry, () => undefined).apply(node.registry);
        node.pool.removeForBlock(block);
        node.chain.push(block);
        node.certs.push(e.certificate);
        node.backlog.push({ kind: 'start', height: e.height + 1, validators: node.registry.validatorSetAt(e.height + 1), now: now() });
        return;
      }
      case 'evidence':
        node.evidenceSeen++;
        if (!node.byzantine) node.pool.add(equivocationEvidence(e.evidence));
        return;
      case 'rejected':
        return;
    }
  };

  function input(node: Node, i: Input): void {
    node.backlog.push(i);
    if (node.busy) return;
    node.busy = true;
    while (node.backlog.length > 0) {
      const r = step(node.state, node.backlog.shift()!);
      node.state = r.state;
      for (const e of r.effects) execute(node, e);
    }
    node.busy = false;
  }

  for (const node of nodes) input(node, { kind: 'start', height: 1, validators: node.registry.validatorSetAt(1), now: now() });
  const honest = nodes.filter((x) => !x.byzantine);
  while (honest.some((x) => x.chain.length < heights) && queue.now < limitMs) {
    const ev = queue.pop();
    if (ev === undefined) break;
    ev.event();
  }
  return {
    chains: nodes.map((x) => x.chain),
    certs: nodes.map((x) => x.certs),
    registries: nodes.map((x) => x.registry),
    operators: operators.map((o) => o.publicKey),
    byzantine: byz,
    evidenceSeen: nodes.map((x) => x.evidenceSeen),
    conflictsSent,
  };
}

/** Hex of each block hash, for agreement and determinism checks. */
export function chainHashes(chain: readonly Block[]): string[] {
  return chain.map((b) => toHex(b.hash));
}

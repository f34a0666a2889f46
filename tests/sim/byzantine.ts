/**
 * Byzantine behaviours that wrap an honest driver: the node runs the real engine with its own key
 * (so it looks legitimate and knows the protocol state) and the wrapper bends what leaves it —
 * equivocating proposals and votes, invalid proposals, silence as leader. Every crafted message
 * is really signed with the attacker's own key via consensus/messages.ts, so honest nodes have
 * to catch it by protocol rules, not by a bad signature. Attacks that forge, replay, mislabel or
 * flood live in attacks.ts.
 */
import type { Signer } from '../../chain/ed25519.js';
import { bytesEqual } from '../../chain/hash.js';
import { signNewView, signPrePrepare, signVote } from '../../consensus/messages.js';
import { MsgType, type Bytes, type ConsensusMessage, type PrePrepare, type Vote } from '../../consensus/types.js';
import { encodeBlock, FLAG_INVALID, hashBlock } from './blocks.js';
import type { Behaviour, SimNode } from './driver.js';
import type { Rng } from './prng.js';

/** What a Byzantine wrapper knows about the world beyond its own node. */
export interface ByzContext {
  readonly chainId: Bytes;
  readonly validators: readonly Bytes[];
  /** Keys outside the validator set (valid signatures, wrong signers). */
  readonly outsiders: readonly Signer[];
  readonly rng: Rng;
}

/** The other instances, split at random into two non-empty halves (when there are ≥ 2). */
export function splitOthers(node: SimNode, rng: Rng): [number[], number[]] {
  const others = rng.shuffle([...Array(node.world.instances).keys()].filter((i) => i !== node.index));
  const cut = others.length < 2 ? others.length : 1 + rng.int(others.length - 1);
  return [others.slice(0, cut), others.slice(cut)];
}

function sendAll(node: SimNode, to: readonly number[], msg: ConsensusMessage): void {
  for (const i of to) node.world.unicast(node.index, i, msg);
}

/** A second, different block for the same slot, on the same parent. */
function twinBlock(node: SimNode, p: PrePrepare): Bytes {
  return node.buildBlock(p.height, p.view, 0);
}

/**
 * Equivocating leader: each proposal (PRE-PREPARE, or the re-proposal inside NEW-VIEW) goes as
 * block A to one half and block B to the other; afterwards the leader's own PREPARE/COMMIT for A
 * go to the A half while the B half gets matching votes for B. Each half sees a consistent
 * leader, the strongest form of this attack.
 */
export function equivocatingLeader(ctx: ByzContext): Behaviour {
  const alt = new Map<string, { a: Bytes; b: Bytes; halfA: number[]; halfB: number[] }>();
  const slot = (h: number, v: number): string => `${h}/${v}`;
  const split = (node: SimNode, p: PrePrepare): PrePrepare => {
    const [halfA, halfB] = splitOthers(node, ctx.rng);
    const block = twinBlock(node, p);
    const b = signPrePrepare(node.signer, ctx.chainId, p.height, p.view, hashBlock(block), block);
    alt.set(slot(p.height, p.view), { a: p.blockHash, b: b.blockHash, halfA, halfB });
    return b;
  };
  return {
    name: 'equivocating-leader',
    attacks: 0,
    outgoing(node, msg, to) {
      if (to !== null) return false;
      if (msg.type === MsgType.PrePrepare || msg.type === MsgType.NewView) this.attacks++;
      if (msg.type === MsgType.PrePrepare) {
        const b = split(node, msg);
        const s = alt.get(slot(msg.height, msg.view))!;
        sendAll(node, s.halfA, msg);
        sendAll(node, s.halfB, b);
        return true;
      }
      if (msg.type === MsgType.NewView) {
        const b = split(node, msg.prePrepare);
        const s = alt.get(slot(msg.height, msg.view))!;
        sendAll(node, s.halfA, msg);
        sendAll(node, s.halfB, signNewView(node.signer, ctx.chainId, msg.height, msg.view, msg.viewChanges, b));
        return true;
      }
      if (msg.type === MsgType.Prepare || msg.type === MsgType.Commit) {
        const s = alt.get(slot(msg.height, msg.view));
        if (s === undefined || !bytesEqual(msg.blockHash, s.a)) return false;
        sendAll(node, s.halfA, msg);
        sendAll(node, s.halfB, signVote(node.signer, ctx.chainId, msg.type, msg.height, msg.view, s.b));
        return true;
      }
      return false;
    },
  };
}

/**
 * Conflicting votes: every PREPARE/COMMIT for X goes to a random half, and a vote for another
 * hash — a competing proposal seen at that height, or a random hash — to the rest; sometimes
 * both go to everyone (a blatant double vote that honest nodes should turn into evidence).
 */
export function conflictingVotes(ctx: ByzContext): Behaviour {
  const seen = new Map<number, Bytes[]>(); // height → proposal hashes observed
  return {
    name: 'conflicting-votes',
    attacks: 0,
    incoming(_node, msg) {
      const p = msg.type === MsgType.PrePrepare ? msg : msg.type === MsgType.NewView ? msg.prePrepare : null;
      if (p === null) return;
      const list = seen.get(p.height) ?? [];
      if (!list.some((h) => bytesEqual(h, p.blockHash)) && list.length < 8) list.push(p.blockHash);
      seen.set(p.height, list);
    },
    outgoing(node, msg, to) {
      if (to !== null || (msg.type !== MsgType.Prepare && msg.type !== MsgType.Commit)) return false;
      const others = (seen.get(msg.height) ?? []).filter((h) => !bytesEqual(h, msg.blockHash));
      const y = others.length > 0 && ctx.rng.chance(0.7) ? ctx.rng.pick(others) : ctx.rng.bytes(32);
      this.attacks++;
      const conflicting: Vote = signVote(node.signer, ctx.chainId, msg.type, msg.height, msg.view, y);
      if (ctx.rng.chance(0.3)) {
        node.world.broadcast(node.index, msg);
        node.world.broadcast(node.index, conflicting);
        return true;
      }
      const [a, b] = splitOthers(node, ctx.rng);
      sendAll(node, a, msg);
      sendAll(node, b, conflicting);
      return true;
    },
  };
}

/**
 * Invalid proposal: as leader, propose something honest validation must refuse — a block
 * flagged invalid, on the wrong parent, for the wrong height, or undecodable bytes — or send a
 * PRE-PREPARE whose block bytes do not hash to the signed hash.
 */
export function invalidProposal(ctx: ByzContext): Behaviour {
  return {
    name: 'invalid-proposal',
    attacks: 0,
    propose(node, height, view) {
      this.attacks++;
      switch (ctx.rng.int(4)) {
        case 0:
          return node.buildBlock(height, view, FLAG_INVALID);
        case 1:
          return node.buildBlock(height, view, 0, ctx.rng.bytes(32));
        case 2:
          return encodeBlock({ flags: 0, height: height + 1, view, proposer: node.signer.publicKey, parent: node.tipHash, builder: node.index, nonce: ctx.rng.bytes(8) });
        default:
          return ctx.rng.bytes(1 + ctx.rng.int(120));
      }
    },
    outgoing(node, msg, to) {
      if (to !== null || msg.type !== MsgType.PrePrepare || !ctx.rng.chance(0.3)) return false;
      // Same signed hash, other bytes: the signature still verifies, only the hash check catches it.
      this.attacks++;
      node.world.broadcast(node.index, { ...msg, block: node.buildBlock(msg.height, msg.view, 0) });
      return true;
    },
  };
}

/** Silent leader: votes like an honest replica but never proposes, as leader or in NEW-VIEW. */
export function silentLeader(): Behaviour {
  return {
    name: 'silent-leader',
    attacks: 0,
    propose() {
      this.attacks++;
      return null;
    },
    outgoing: (_node, msg) => msg.type === MsgType.PrePrepare || msg.type === MsgType.NewView,
  };
}

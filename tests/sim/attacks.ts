/**
 * Byzantine behaviours that inject extra traffic on a timer while the node otherwise runs the
 * honest engine: replaying old messages, forging signatures (garbage, or valid signatures by
 * non-validator keys, or certificates that count one signer many times), signing messages with
 * wrong heights and views, and flooding. Each forgery is built so that an engine that skipped the
 * check it targets would finalize a block no honest node validated — which the validity checker
 * reports — rather than merely log a rejection.
 */
import type { Signer } from '../../chain/ed25519.js';
import { signNewView, signPrePrepare, signViewChange, signVote, MAX_VIEW } from '../../consensus/messages.js';
import { MsgType, type Bytes, type CommitCertificate, type ConsensusMessage, type ViewChange, type Vote } from '../../consensus/types.js';
import { hashBlock } from './blocks.js';
import type { Behaviour, SimNode } from './driver.js';
import type { ByzContext } from './byzantine.js';

/** The current height and the highest view the node has heard of at it. */
class Tracker {
  private h = 0;
  private v = 0;
  readonly commits: Vote[] = [];
  see(node: SimNode, msg: ConsensusMessage): void {
    const height = node.height + 1;
    if (height !== this.h) {
      this.h = height;
      this.v = 0;
      this.commits.length = 0;
    }
    if (msg.type !== MsgType.Decision && msg.height === height && msg.view > this.v && msg.view < this.v + 64) this.v = msg.view;
    if (msg.type === MsgType.Commit && msg.height === height && this.commits.length < 64) this.commits.push(msg);
  }
  slot(node: SimNode): { height: number; view: number } {
    return { height: node.height + 1, view: node.height + 1 === this.h ? this.v : 0 };
  }
}

function others(node: SimNode): number[] {
  return [...Array(node.world.instances).keys()].filter((i) => i !== node.index);
}

function toAll(node: SimNode, msg: ConsensusMessage): void {
  for (const i of others(node)) node.world.unicast(node.index, i, msg);
}

/** Replay: remembers what it hears and re-sends old messages (any signer, any height) at random. */
export function replay(ctx: ByzContext): Behaviour {
  const heard: ConsensusMessage[] = [];
  return {
    name: 'replay',
    attacks: 0,
    tickMs: 50 + ctx.rng.int(200),
    incoming(_node, msg) {
      if (heard.length < 400) heard.push(msg);
      else heard[ctx.rng.int(heard.length)] = msg; // keep a sample reaching back to old heights
    },
    tick(node) {
      this.attacks++;
      for (let k = 0; k < 4 && heard.length > 0; k++) {
        const i = ctx.rng.pick(others(node));
        node.world.unicast(node.index, i, ctx.rng.pick(heard));
      }
    },
  };
}

const garbageSig = (ctx: ByzContext): Bytes => ctx.rng.bytes(64);

function garbageVote(ctx: ByzContext, signer: Bytes, type: Vote['type'], height: number, view: number, hash: Bytes): Vote {
  return { type, height, view, blockHash: hash, signer, signature: garbageSig(ctx) };
}

/** A commit certificate carrying `votes` as they are (the attacker decides what they prove). */
function certificate(height: number, view: number, hash: Bytes, votes: Vote[]): CommitCertificate {
  return { height, view, blockHash: hash, commits: votes };
}

/**
 * Forged signatures. The bait block B extends the attacker's tip and would pass honest
 * validation, but no honest node is ever asked to validate it; any engine that accepts one of
 * these forgeries as proof finalizes B and the validity checker fires.
 */
export function forgedSignatures(ctx: ByzContext): Behaviour {
  const track = new Tracker();
  const quorum = Math.floor((2 * ctx.validators.length) / 3) + 1;
  const otherChain = ctx.rng.bytes(32);
  return {
    name: 'forged-signatures',
    attacks: 0,
    tickMs: 80 + ctx.rng.int(200),
    incoming(node, msg) {
      track.see(node, msg);
    },
    tick(node) {
      this.attacks++;
      const { height, view } = track.slot(node);
      const block = node.buildBlock(height, view, 0);
      const hash = hashBlock(block);
      const outsiders: Signer[] = ctx.outsiders.slice(0, quorum);
      const msgs: ConsensusMessage[] = [];
      switch (ctx.rng.int(12)) {
        case 0: // every validator's PREPARE and COMMIT for B, garbage signatures
          for (const key of ctx.validators) {
            msgs.push(garbageVote(ctx, key, MsgType.Prepare, height, view, hash), garbageVote(ctx, key, MsgType.Commit, height, view, hash));
          }
          msgs.unshift({ type: MsgType.PrePrepare, height, view, blockHash: hash, block, signer: ctx.validators[(height + view) % ctx.validators.length]!, signature: garbageSig(ctx) });
          break;
        case 1: // valid signatures by non-validators
          for (const s of outsiders) {
            msgs.push(signVote(s, ctx.chainId, MsgType.Prepare, height, view, hash), signVote(s, ctx.chainId, MsgType.Commit, height, view, hash));
          }
          break;
        case 2: // DECISION whose certificate has garbage signatures by real validators
          msgs.push({ type: MsgType.Decision, height, block, certificate: certificate(height, view, hash, ctx.validators.slice(0, quorum).map((k) => garbageVote(ctx, k, MsgType.Commit, height, view, hash))) });
          break;
        case 3: // DECISION certified by non-validators
          msgs.push({ type: MsgType.Decision, height, block, certificate: certificate(height, view, hash, outsiders.map((s) => signVote(s, ctx.chainId, MsgType.Commit, height, view, hash))) });
          break;
        case 4: {
          // DECISION whose certificate counts the attacker's one valid commit `quorum` times
          const own = signVote(node.signer, ctx.chainId, MsgType.Commit, height, view, hash);
          msgs.push({ type: MsgType.Decision, height, block, certificate: certificate(height, view, hash, Array(quorum).fill(own)) });
          break;
        }
        case 5: {
          // Real honest commits for the real block R, attached to the bait bytes B
          const byHash = new Map<string, Vote[]>();
          for (const c of track.commits) {
            const k = `${c.view}/${Buffer.from(c.blockHash).toString('hex')}`;
            const list = byHash.get(k) ?? [];
            if (!list.some((v) => Buffer.compare(v.signer, c.signer) === 0)) list.push(c);
            byHash.set(k, list);
          }
          for (const votes of byHash.values()) {
            if (votes.length < quorum) continue;
            const c = votes[0]!;
            msgs.push({ type: MsgType.Decision, height, block, certificate: certificate(height, c.view, c.blockHash, votes.slice(0, quorum)) });
          }
          break;
        }
        case 6: // VIEW-CHANGEs "from" every validator with garbage signatures: a spurious view jump
          for (const key of ctx.validators) msgs.push({ type: MsgType.ViewChange, height, view: view + 1, prepared: null, signer: key, signature: garbageSig(ctx) });
          break;
        case 7: {
          // Own valid signatures, but for another chain
          msgs.push(signPrePrepare(node.signer, otherChain, height, view, hash, block));
          msgs.push(signVote(node.signer, otherChain, MsgType.Commit, height, view, hash));
          break;
        }
        case 9:
        case 10: {
          // Own valid VIEW-CHANGE carrying a forged prepared certificate for B in the current view
          // (garbage signatures by validators, or valid ones by outsiders): a new leader that
          // believed it would re-propose B over a block that may already be committed.
          const prepares = ctx.rng.chance(0.5)
            ? ctx.validators.slice(0, quorum).map((k) => garbageVote(ctx, k, MsgType.Prepare, height, view, hash))
            : outsiders.map((s) => signVote(s, ctx.chainId, MsgType.Prepare, height, view, hash));
          msgs.push(signViewChange(node.signer, ctx.chainId, height, view + 1, { height, view, blockHash: hash, block, prepares }));
          break;
        }
        case 11: {
          // Own valid NEW-VIEW whose proof is VIEW-CHANGEs with garbage signatures
          const vcs = ctx.validators.slice(0, quorum).map((k): ViewChange => ({ type: MsgType.ViewChange, height, view: view + 1, prepared: null, signer: k, signature: garbageSig(ctx) }));
          msgs.push(signNewView(node.signer, ctx.chainId, height, view + 1, vcs, signPrePrepare(node.signer, ctx.chainId, height, view + 1, hash, block)));
          break;
        }
        default: {
          // NEW-VIEW by an outsider carrying outsider VIEW-CHANGEs
          const vcs = outsiders.map((s) => signViewChange(s, ctx.chainId, height, view + 1, null));
          const pp = signPrePrepare(outsiders[0]!, ctx.chainId, height, view + 1, hash, block);
          msgs.push(signNewView(outsiders[0]!, ctx.chainId, height, view + 1, vcs, pp));
        }
      }
      for (const m of msgs) toAll(node, m);
    },
  };
}

/** Own valid signatures on messages for heights and views that are not the current ones. */
export function wrongViews(ctx: ByzContext): Behaviour {
  const track = new Tracker();
  return {
    name: 'wrong-views',
    attacks: 0,
    tickMs: 100 + ctx.rng.int(300),
    incoming(node, msg) {
      track.see(node, msg);
    },
    tick(node) {
      this.attacks++;
      const { height, view } = track.slot(node);
      const heights = [Math.max(0, height - 1), height, height + 1, height + 2, height + 1000, 0xffff_ffff, Number.MAX_SAFE_INTEGER];
      const views = [0, Math.max(0, view - 1), view + 1, view + 2, view + 100, MAX_VIEW];
      const h = ctx.rng.pick(heights);
      const v = ctx.rng.pick(views);
      const block = node.buildBlock(h % 0x1_0000_0000, v, 0);
      const hash = hashBlock(block);
      let msg: ConsensusMessage;
      switch (ctx.rng.int(4)) {
        case 0:
          msg = signPrePrepare(node.signer, ctx.chainId, h, v, hash, block);
          break;
        case 1:
          msg = signVote(node.signer, ctx.chainId, MsgType.Prepare, h, v, hash);
          break;
        case 2:
          msg = signVote(node.signer, ctx.chainId, MsgType.Commit, h, v, hash);
          break;
        default:
          msg = signViewChange(node.signer, ctx.chainId, h, v, null);
      }
      toAll(node, msg);
    },
  };
}

/**
 * Flood: bursts of validly signed votes and view changes for many distinct future views (each a
 * new slot the engine could be tempted to buffer), exact duplicates, and undecodable bytes.
 */
export function flood(ctx: ByzContext): Behaviour {
  const track = new Tracker();
  return {
    name: 'flood',
    attacks: 0,
    tickMs: 100,
    incoming(node, msg) {
      track.see(node, msg);
    },
    tick(node) {
      this.attacks++;
      const { height, view } = track.slot(node);
      const targets = others(node);
      const dup = signVote(node.signer, ctx.chainId, MsgType.Prepare, height, view, ctx.rng.bytes(32));
      for (let k = 0; k < 12; k++) {
        const to = ctx.rng.pick(targets);
        const h = height + ctx.rng.int(2);
        const v = view + 1 + ctx.rng.int(200);
        switch (k % 4) {
          case 0:
            node.world.unicast(node.index, to, signVote(node.signer, ctx.chainId, MsgType.Commit, h, v, ctx.rng.bytes(32)));
            break;
          case 1:
            node.world.unicast(node.index, to, signViewChange(node.signer, ctx.chainId, h, v, null));
            break;
          case 2:
            node.world.unicast(node.index, to, dup);
            break;
          default:
            node.world.sendRaw(node.index, to, ctx.rng.bytes(1 + ctx.rng.int(300)));
        }
      }
    },
  };
}

/**
 * Benchmarks of the pure PBFT core (no network, no disk): n engines in one process with instant
 * FIFO delivery and real ed25519 signatures, drivers that validate and propose at once.
 * Prints JSON lines {"name","value","unit"}. Run: npx tsx bench/consensus.ts
 */
import { createSigner, verifySignature, type Signer } from '../chain/ed25519.js';
import { sha256, toHex } from '../chain/hash.js';
import { initialState, step, type EngineState } from '../consensus/engine.js';
import { leaderIndex } from '../consensus/leader.js';
import { MsgType, type Bytes, type Effect, type Input } from '../consensus/types.js';

const enc = new TextEncoder();

/** Signature work, counted to relate decisions/s to the machine's ed25519 speed. */
const crypto = { verifies: 0, signs: 0 };
function countingVerify(publicKey: Bytes, message: Bytes, signature: Bytes): boolean {
  crypto.verifies++;
  return verifySignature(publicKey, message, signature);
}
function countingSigner(s: Signer): Signer {
  return { publicKey: s.publicKey, sign: (m) => (crypto.signs++, s.sign(m)) };
}

interface Stats {
  decisions: number;
  delivered: number;
  viewChanges: number;
  commitViews: number[];
}

class InstantNet {
  readonly states: EngineState[];
  readonly keys: Bytes[];
  readonly queue: { to: number; input: Input }[] = [];
  readonly timers: { to: number; height: number; view: number }[] = [];
  readonly crashed = new Set<number>();
  readonly stats: Stats = { decisions: 0, delivered: 0, viewChanges: 0, commitViews: [] };
  private readonly index = new Map<string, number>();

  constructor(signers: readonly Signer[], readonly untilHeight: number) {
    this.keys = signers.map((s) => s.publicKey);
    this.keys.forEach((k, i) => this.index.set(toHex(k), i));
    const chainId = sha256(enc.encode('bench-chain'));
    this.states = signers.map((signer) =>
      initialState({
        chainId, signer: countingSigner(signer), hashBlock: (b) => sha256(b), verify: countingVerify,
        timeouts: { baseMs: 1000, factor: 2, maxMs: 30_000 }, maxBufferedMessages: 1000, keepDecisions: 16,
      }),
    );
  }

  start(height: number): void {
    this.states.forEach((_, i) => this.queue.push({ to: i, input: { kind: 'start', height, validators: this.keys, now: 0 } }));
    this.run();
  }

  run(): void {
    while (this.queue.length > 0) {
      const { to, input } = this.queue.shift()!;
      if (this.crashed.has(to)) continue;
      this.handle(to, step(this.states[to]!, input).effects);
    }
  }

  fireTimers(): void {
    for (const t of this.timers.splice(0)) this.queue.push({ to: t.to, input: { kind: 'timeout', height: t.height, view: t.view, now: 0 } });
    this.run();
  }

  private send(from: number, to: number, input: Input): void {
    if (this.crashed.has(to) || to === from) return;
    this.stats.delivered++;
    this.queue.push({ to, input });
  }

  private handle(i: number, effects: readonly Effect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case 'broadcast':
          if (e.msg.type === MsgType.ViewChange) this.stats.viewChanges++;
          for (let j = 0; j < this.keys.length; j++) this.send(i, j, { kind: 'message', msg: e.msg, now: 0 });
          break;
        case 'send':
          this.send(i, this.index.get(toHex(e.to))!, { kind: 'message', msg: e.msg, now: 0 });
          break;
        case 'validate-block':
          this.queue.push({ to: i, input: { kind: 'block-validated', height: e.height, view: e.view, blockHash: e.blockHash, valid: true, now: 0 } });
          break;
        case 'request-proposal': {
          // a ~250-byte block, unique per (height, view, proposer)
          const block = new Uint8Array(250);
          block.set(enc.encode(`h${e.height}v${e.view}n${i}`));
          this.queue.push({ to: i, input: { kind: 'proposal', height: e.height, view: e.view, block, now: 0 } });
          break;
        }
        case 'schedule-timeout':
          this.timers.push({ to: i, height: e.height, view: e.view });
          break;
        case 'commit':
          if (i === this.firstLive()) {
            this.stats.decisions++;
            this.stats.commitViews.push(e.certificate.view);
          }
          if (e.height < this.untilHeight) this.queue.push({ to: i, input: { kind: 'start', height: e.height + 1, validators: this.keys, now: 0 } });
          break;
        default:
          break;
      }
    }
  }

  private firstLive(): number {
    for (let i = 0; i < this.keys.length; i++) if (!this.crashed.has(i)) return i;
    return -1;
  }
}

function signersFor(n: number): Signer[] {
  return Array.from({ length: n }, (_, i) => createSigner(sha256(enc.encode(`bench-validator-${i}`))));
}

function emit(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit }));
}

/** Decisions per second and messages per decision with every validator up. */
function throughput(n: number, heights: number): void {
  // measured next to each run: on a shared machine the available CPU drifts between runs
  const { verifyRate, signRate } = measureCrypto();
  const net = new InstantNet(signersFor(n), heights);
  crypto.verifies = 0;
  crypto.signs = 0;
  const t0 = process.hrtime.bigint();
  net.start(1);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (net.stats.decisions !== heights) throw new Error(`n=${n}: ${net.stats.decisions} of ${heights} decisions`);
  emit(`consensus_decisions_per_second_n${n}`, heights / secs, 'decisions/s');
  emit(`consensus_messages_per_decision_n${n}`, net.stats.delivered / heights, 'messages/decision');
  // all n validators run on this one thread, so these are summed over the whole network
  emit(`consensus_verifies_per_decision_n${n}`, crypto.verifies / heights, 'verifies/decision');
  emit(`consensus_signs_per_decision_n${n}`, crypto.signs / heights, 'signs/decision');
  // the signature ceiling: decisions/s if the process did nothing but this run's ed25519 work
  const ceiling = 1 / ((crypto.verifies / verifyRate + crypto.signs / signRate) / heights);
  emit(`consensus_signature_ceiling_share_n${n}`, (100 * heights) / secs / ceiling, 'percent');
}

/** The leader of the next height is silent: how many view changes until the next decision. */
function leaderCrash(n: number, trials: number): void {
  let views = 0;
  let vcMessages = 0;
  for (let t = 0; t < trials; t++) {
    const height = t + 1;
    const net = new InstantNet(signersFor(n), height);
    net.crashed.add(leaderIndex(height, 0, n));
    net.start(height);
    net.fireTimers();
    while (net.stats.decisions === 0) net.fireTimers();
    views += net.stats.commitViews[0]!;
    vcMessages += net.stats.viewChanges;
  }
  emit(`consensus_view_changes_per_leader_crash_n${n}`, views / trials, 'views');
  emit(`consensus_view_change_messages_per_leader_crash_n${n}`, vcMessages / trials, 'messages');
}

/** This machine's ed25519 speed right now (the bench shares the CPU with whatever else runs). */
function measureCrypto(): { verifyRate: number; signRate: number } {
  const s = signersFor(1)[0]!;
  const m = new Uint8Array(93);
  const sig = s.sign(m);
  const rate = (f: () => void, k: number) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < k; i++) f();
    return k / (Number(process.hrtime.bigint() - t) / 1e9);
  };
  return { verifyRate: rate(() => verifySignature(s.publicKey, m, sig), 3000), signRate: rate(() => s.sign(m), 3000) };
}

const rates = measureCrypto();
emit('ed25519_verifies_per_second', rates.verifyRate, 'verifies/s');
emit('ed25519_signs_per_second', rates.signRate, 'signs/s');
throughput(4, 300);
throughput(7, 150);
throughput(10, 80);
for (const n of [4, 7, 10]) leaderCrash(n, 5);

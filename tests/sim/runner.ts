/**
 * runScenario: builds a world from (seed, n, scenario), runs it on the virtual clock and returns
 * what happened. Safety checkers run as effects execute; at `healAt` every fault but the
 * Byzantine keys ends and liveness is judged: every honest instance must finalize
 * `extraHeights` heights beyond the highest any honest instance had at the heal, within
 * `livenessBoundMs` of virtual time. A run stops at its first violation.
 */
import { createSigner } from '../../chain/ed25519.js';
import { DecodeError } from '../../chain/errors.js';
import { sha256, toHex } from '../../chain/hash.js';
import * as realEngine from '../../consensus/engine.js';
import { decodeMessage, encodeMessage } from '../../consensus/messages.js';
import type { Bytes, ConsensusMessage, EngineConfig } from '../../consensus/types.js';
import { hashBlock } from './blocks.js';
import { SafetyChecker, type Violation } from './checkers.js';
import type { DelayedInput, EngineModule, World } from './driver.js';
import { SimNode } from './driver.js';
import { makePlan, type Plan, type Scenario } from './plan.js';
import { Rng } from './prng.js';
import { EventQueue } from './queue.js';
import { Network, type Delivery, type NetStats } from './network.js';
import { behaviourFor } from './roster.js';
import { certificateCheck, makeVerifier, statementCheck, type SigMode } from './signatures.js';

export interface RunOptions {
  readonly seed: number;
  readonly n: number;
  readonly scenario: Scenario;
  /** Heights every honest instance must finalize beyond the highest finalized at heal (default 2). */
  readonly extraHeights?: number;
  /** Virtual ms after heal by which liveness must be reached (default 90 s). */
  readonly livenessBoundMs?: number;
  /** 'real' (default): every verification runs Node's ed25519; 'memo': see signatures.ts. */
  readonly sigs?: SigMode;
  /** Replace the engine (tests of the simulator itself). */
  readonly engine?: EngineModule<unknown>;
  /** Adjust an instance's engine config (controls that break the engine on purpose). */
  readonly configure?: (config: EngineConfig, instance: number) => EngineConfig;
  readonly maxEvents?: number;
  /** Driver-level block sync (default true); see SimNode.requestSync / pushSync. */
  readonly blockSync?: boolean;
}

export interface RunResult {
  readonly seed: number;
  readonly n: number;
  readonly scenario: Scenario;
  readonly ok: boolean;
  readonly violations: readonly Violation[];
  readonly plan: Plan;
  /** Lowest and highest height finalized by honest instances at the end. */
  readonly minHeight: number;
  readonly maxHeight: number;
  readonly healAt: number;
  /** Virtual ms from heal until every honest instance finalized a height above the highest at heal. */
  readonly finalityAfterHealMs: number | null;
  readonly endTime: number;
  readonly events: number;
  readonly steps: number;
  readonly net: NetStats & { undecodable: number };
  readonly rejected: Readonly<Record<string, number>>;
  readonly evidence: number;
  /** Highest view of any commit certificate (how hard the run pushed view changes). */
  readonly maxCommitView: number;
  /** Crashes that struck with effects of a step still unexecuted. */
  readonly midStepCrashes: number;
  /** Block-sync requests by lagging instances plus blocks pushed to stuck ones. */
  readonly syncRequests: number;
  /** Messages Byzantine instances put on the wire, and how often their attacks fired. */
  readonly byzantineSent: number;
  readonly attacks: number;
  /** SHA-256 over every commit (instance, height, hash, time): equal for equal runs. */
  readonly trace: string;
  readonly wallMs: number;
  /** One line naming the run, its outcome and how to reproduce it. */
  readonly summary: string;
}

/** On the wire: an encoded consensus message, or a block-sync request (driver to driver). */
type Payload = Uint8Array | { readonly kind: 'sync'; readonly height: number };
type SimEvent = Delivery<Payload> | { kind: 'input'; node: number; incarnation: number; input: DelayedInput } | { kind: 'action'; run: () => void };

export const TIMEOUTS = { baseMs: 1000, factor: 2, maxMs: 8000 } as const;

export function runScenario(opts: RunOptions): RunResult {
  const wallStart = performance.now();
  const { seed, n, scenario } = opts;
  const engine = opts.engine ?? (realEngine as unknown as EngineModule<unknown>);
  const extraHeights = opts.extraHeights ?? 2;
  const bound = opts.livenessBoundMs ?? 90_000;
  const maxEvents = opts.maxEvents ?? 2_000_000;
  const rng = new Rng(seed);
  const plan = makePlan(scenario, n, rng.fork());
  const keyRng = rng.fork();
  const signers = Array.from({ length: n }, () => createSigner(keyRng.bytes(32)));
  const outsiders = Array.from({ length: n }, () => createSigner(keyRng.bytes(32)));
  const validators = signers.map((s) => s.publicKey);
  const chainId = keyRng.bytes(32);
  const followerSigner = createSigner(keyRng.bytes(32)); // a node key outside the validator set
  // instance → key index: validators, then twin copies, then followers (-1: no validator key)
  const keyOf = [...Array(n).keys(), ...plan.twins, ...Array<number>(plan.followers).fill(-1)];
  const instances = keyOf.length;
  const queue = new EventQueue<SimEvent>();
  const net = new Network<Payload>((d, e) => queue.after(d, e), rng.fork(), plan.net, instances);
  let undecodable = 0;
  let byzantineSent = 0;
  const correct = new Set(validators.filter((_, k) => !plan.byzantine.has(k) && !plan.twins.includes(k)).map(toHex));
  const verify = makeVerifier(opts.sigs ?? 'real');
  const checker = new SafetyChecker(correct, certificateCheck(chainId, validators, verify), () => queue.now, statementCheck(chainId, verify));

  const encode = (from: number, msg: ConsensusMessage): Uint8Array | null => {
    if (!nodes[from]!.honest) byzantineSent++;
    try {
      return encodeMessage(msg);
    } catch (err) {
      // A Byzantine crafter may build what the codec cannot carry; honest code never may.
      if (nodes[from]!.honest) checker.fail('engine-error', `instance ${from} emitted an unencodable message: ${String(err)}`);
      return null;
    }
  };
  const world: World = {
    now: () => queue.now,
    later: (node, incarnation, delayMs, input) => queue.after(delayMs, { kind: 'input', node, incarnation, input }),
    action: (delayMs, run) => queue.after(delayMs, { kind: 'action', run }),
    instances,
    broadcast(from, msg) {
      const bytes = encode(from, msg);
      if (bytes !== null) for (let i = 0; i < instances; i++) if (i !== from) net.send(from, i, bytes);
    },
    sendTo(from, key, msg) {
      const bytes = encode(from, msg);
      const hex = toHex(key);
      if (bytes === null) return;
      for (let i = 0; i < instances; i++) if (i !== from && keyOf[i]! >= 0 && toHex(validators[keyOf[i]!]!) === hex) net.send(from, i, bytes);
    },
    unicast(from, to, msg) {
      const bytes = encode(from, msg);
      if (bytes !== null && to !== from) net.send(from, to, bytes);
    },
    sendRaw(from, to, bytes) {
      byzantineSent++;
      net.send(from, to, bytes);
    },
    syncRequest: (from, to, height) => net.send(from, to, { kind: 'sync', height }),
    checker,
    validators,
    genesisHash: chainId,
    blockSync: opts.blockSync ?? true,
  };

  const byzCtx = { chainId, validators, outsiders, rng: rng.fork() };
  const nodes: SimNode[] = keyOf.map((k, i) => {
    const signer = k >= 0 ? signers[k]! : followerSigner;
    const kind = i < n ? plan.byzantine.get(k) : undefined;
    const base: EngineConfig = { chainId, signer: k >= 0 ? signer : null, hashBlock, verify, timeouts: plan.timeouts ?? TIMEOUTS, maxBufferedMessages: 256, keepDecisions: 64 };
    const config = opts.configure ? opts.configure(base, i) : base;
    return new SimNode(i, signer, kind === undefined, rng.fork(), engine, config, world, kind ? behaviourFor(kind, byzCtx) : null);
  });
  const silent = (i: number): boolean => plan.byzantine.get(keyOf[i]!) === 'silent' && i < n;
  const honest = nodes.filter((x) => x.honest);

  // The timeline: partitions and crashes, then the heal.
  for (const ev of plan.timeline) {
    queue.at(ev.at, {
      kind: 'action',
      run: () => {
        const node = ev.kind === 'partition' || ev.kind === 'reconnect' ? null : nodes[ev.instance]!;
        if (ev.kind === 'partition') net.partition(ev.groups);
        else if (ev.kind === 'reconnect') net.reconnect();
        else if (ev.kind === 'crash' && node!.up) ev.afterEffects === 0 ? node!.crash() : node!.armCrash(ev.afterEffects);
        else if (ev.kind === 'crash-on-send' && node!.up) node!.armCrashOnSend(ev.msgType);
        else if (ev.kind === 'restart' && !silent(ev.instance)) {
          if (node!.up && !node!.armed) return; // its crash never came (it was down, or restarted)
          if (node!.up) node!.crash(); // an armed crash that had not struck yet strikes now
          node!.boot();
        }
      },
    });
  }
  let healed = false;
  let h0 = 0;
  let finalityAfterHealMs: number | null = null;
  const minHonest = (): number => Math.min(...honest.map((x) => x.height));
  const maxHonest = (): number => Math.max(...honest.map((x) => x.height));
  queue.at(plan.healAt, {
    kind: 'action',
    run: () => {
      net.heal();
      nodes.forEach((x, i) => {
        x.disarm();
        if (!x.up && !silent(i)) x.boot();
      });
      healed = true;
      h0 = maxHonest();
    },
  });
  nodes.forEach((x, i) => {
    if (!silent(i)) queue.at(0, { kind: 'action', run: () => x.boot() });
  });

  const deliver = (d: Delivery<Payload>): void => {
    const to = nodes[d.to]!;
    if (!(d.payload instanceof Uint8Array)) return to.serveSync(d.from, d.payload.height);
    let msg: ConsensusMessage;
    try {
      msg = decodeMessage(Buffer.from(d.payload)); // each recipient decodes its own copy
    } catch (err) {
      undecodable++;
      if (!(err instanceof DecodeError)) checker.fail('engine-error', `decodeMessage threw a non-DecodeError: ${String(err)}`);
      return;
    }
    to.deliver(msg, d.from);
  };

  const deadline = plan.healAt + bound;
  let events = 0;
  let commitsSeen = 0;
  let done = false;
  while (!done) {
    const t = queue.peekTime();
    if (t === undefined || t > deadline || events >= maxEvents) break;
    const next = queue.pop()!;
    events++;
    const ev = next.event;
    if (ev.kind === 'deliver') {
      if (net.admit(ev)) deliver(ev);
    } else if (ev.kind === 'input') nodes[ev.node]!.fire(ev.incarnation, ev.input);
    else ev.run();
    if (!checker.ok) break;
    if (healed && checker.commits.length !== commitsSeen) {
      commitsSeen = checker.commits.length;
      const low = minHonest();
      if (finalityAfterHealMs === null && low > h0) finalityAfterHealMs = queue.now - plan.healAt;
      done = low >= h0 + extraHeights && !plan.control;
    }
  }
  if (checker.ok && !done && !plan.control) {
    const why = events >= maxEvents ? `event cap ${maxEvents} reached` : `deadline heal+${bound} ms passed`;
    checker.fail('liveness', `${why}: honest heights ${honest.map((x) => `${x.index}:${x.height}`).join(' ')}, needed ${h0 + extraHeights}`);
  }
  return finish();

  function finish(): RunResult {
    const rejected: Record<string, number> = {};
    for (const x of honest) for (const [code, c] of x.rejected) rejected[code] = (rejected[code] ?? 0) + c;
    const trace = toHex(sha256(new TextEncoder().encode(checker.commits.map((c) => `${c.instance}/${c.height}/${c.hash}/${c.time}`).join('\n'))));
    const v = checker.violations[0];
    const byz = [...plan.byzantine].map(([k, kind]) => `${k}:${kind}`).join(',');
    // The call that reproduces this run, non-default options included.
    const extra = [
      opts.sigs !== undefined ? `sigs: '${opts.sigs}'` : '',
      opts.blockSync === false ? 'blockSync: false' : '',
      opts.extraHeights !== undefined ? `extraHeights: ${opts.extraHeights}` : '',
      opts.livenessBoundMs !== undefined ? `livenessBoundMs: ${opts.livenessBoundMs}` : '',
    ].filter((x) => x !== '');
    const custom = opts.engine || opts.configure ? ' (with the same custom engine/configure)' : '';
    const summary =
      `seed=${seed} n=${n} scenario=${scenario} byz=[${byz}] twins=[${plan.twins}] followers=${plan.followers} ` +
      (v ? `FAILED ${v.kind} at t=${v.time}: ${v.detail.slice(0, 400)}` : `ok heights ${minHonest()}..${maxHonest()}`) +
      ` — reproduce: runScenario({ ${[`seed: ${seed}`, `n: ${n}`, `scenario: '${scenario}'`, ...extra].join(', ')} })${custom}`;
    return {
      seed, n, scenario, ok: checker.ok, violations: checker.violations, plan,
      minHeight: minHonest(), maxHeight: maxHonest(), healAt: plan.healAt, finalityAfterHealMs,
      endTime: queue.now, events, steps: nodes.reduce((s, x) => s + x.steps, 0),
      net: { ...net.stats, undecodable }, rejected, evidence: honest.reduce((s, x) => s + x.evidence, 0),
      maxCommitView: checker.maxCommitView,
      midStepCrashes: nodes.reduce((s, x) => s + x.midStepCrashes, 0),
      syncRequests: nodes.reduce((s, x) => s + x.syncRequests + x.syncPushes, 0),
      byzantineSent, attacks: nodes.reduce((s, x) => s + (x.behaviour?.attacks ?? 0), 0), trace, wallMs: performance.now() - wallStart, summary,
    };
  }
}

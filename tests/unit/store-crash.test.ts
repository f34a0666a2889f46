/**
 * Crash safety: a child process connects (and sometimes disconnects) blocks in a loop on a real
 * LevelDB while this test SIGKILLs it at a seeded random moment of its active window. After
 * every kill the store must reopen at a whole block: supply equals what the stored tip height
 * issued (by the cached stats, an independent full scan, the address index and a raw decode),
 * the tip's block and height index exist, and no partial block's keys are left anywhere.
 * One datadir is reused across rounds; each child continues from the tip it finds.
 * Env: TIMECOIN_CRASH_ROUNDS (default 40), TIMECOIN_CRASH_SEED, TIMECOIN_CRASH_DEBUG=1 (print heights).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../chain/hash.js';
import { ChainStore } from '../../chain/store.js';
import { CRASH_CHAIN_SEED, ChainBuilder, TestRng } from '../fixtures/chain-builder.js';
import { auditRaw, removeDir, tempDir } from '../fixtures/store-helpers.js';

const CHILD = fileURLToPath(new URL('../fixtures/crash-child.ts', import.meta.url));
const ROUNDS = Number(process.env['TIMECOIN_CRASH_ROUNDS'] ?? 40);
const SEED = Number(process.env['TIMECOIN_CRASH_SEED'] ?? 20_240_601);
/**
 * The kill lands at a seeded fraction of a window after "ready", during which the child is
 * initializing, building and connecting blocks. The window is about four block times as measured
 * in earlier rounds (clamped to 100–1000 ms), so the kills keep landing mid-chain-growth however
 * loaded the machine is.
 */
/** How many children boot ahead of their round (overlaps the loader's start-up with checks). */
const PREBOOT = 3;

function killWindowMs(elapsedMs: number, blocks: number): number {
  const blockMs = blocks === 0 ? 50 : elapsedMs / blocks;
  return Math.min(1000, Math.max(100, 4 * blockMs));
}

let dir: string;
/** Every child spawned, so a timed-out test still kills them before the datadir goes. */
const all: Child[] = [];
beforeAll(async () => {
  dir = await tempDir('crash');
});
afterAll(async () => {
  await Promise.all(all.map((c) => c.kill()));
  await removeDir(dir);
});

/**
 * One child process. It boots (loads its modules) as soon as it is spawned, but touches the
 * database only after go(): the next round's child boots while this round's is checked.
 */
class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private out = '';
  private err = '';
  private done = false;

  constructor(seed: number) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(seed)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    this.exited = new Promise((r) => this.proc.once('exit', (code, signal) => ((this.done = true), r({ code, signal }))));
  }

  get stderr(): string {
    return this.err;
  }

  /** Blocks the child reported connected. */
  get blocks(): number {
    return this.out.split('\n').filter((l) => l === 'c').length;
  }

  /** Resolve once stdout holds the line `token` (rejects if the child exits first or stalls). */
  async waitFor(token: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.out.includes(`${token}\n`)) {
      if (this.done) throw new Error(`child exited before "${token}": ${this.err}`);
      if (Date.now() > deadline) throw new Error(`child not "${token}" after ${timeoutMs} ms: ${this.err}`);
      await sleep(2);
    }
  }

  go(): void {
    this.proc.stdin!.write('go\n');
  }

  async kill(): Promise<NodeJS.Signals | null> {
    if (!this.done) this.proc.kill('SIGKILL');
    return (await this.exited).signal;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Everything that must hold after a kill at any instant. Returns the recovered tip height (-1: empty). */
async function verifyAfterKill(b: ChainBuilder): Promise<number> {
  const store = await ChainStore.open(dir); // open itself cross-checks tip, height index, meta and stats
  let height: number;
  try {
    if (!store.initialized) {
      height = -1;
    } else {
      const tip = store.tip();
      height = tip.height;
      const block = await store.getBlock(tip.hash);
      expect(block?.header.height).toBe(tip.height);
      expect(toHex((await store.getBlockHash(tip.height))!)).toBe(toHex(tip.hash));
      expect(await store.getBlockHash(tip.height + 1)).toBeUndefined();
      expect(toHex(store.chainId)).toBe(toHex(b.genesis.hash));
      expect(store.finalized().height).toBeLessThanOrEqual(tip.height);
      const issued = b.issuedAt(tip.height);
      expect(store.utxoStats().totalAmount).toBe(issued);
      const scan = await store.utxoSetHash();
      expect({ h: scan.height, total: scan.totalAmount, count: scan.count }).toEqual({ h: tip.height, total: issued, count: store.utxoStats().count });
      let byAddress = 0n;
      for (const s of b.signers) byAddress += await store.getAddressBalance(s.publicKey);
      expect(byAddress).toBe(issued);
    }
  } finally {
    await store.close();
  }
  // Raw pass: exactly one record of each per-block kind per block 0..tip, no leftovers.
  const raw = await auditRaw(dir);
  if (height < 0) {
    expect(raw.counts).toEqual({});
    return height;
  }
  const perBlock = height + 1;
  expect({ b: raw.counts['b'], m: raw.counts['m'], U: raw.counts['U'], h: raw.counts['h'] }).toEqual({ b: perBlock, m: perBlock, U: perBlock, h: perBlock });
  expect(raw.counts['t']).toBe(raw.txCountSum);
  expect(raw.counts['a']).toBe(raw.counts['u']);
  expect(raw.utxoSum).toBe(b.issuedAt(height));
  expect(raw.addressSum).toBe(b.issuedAt(height));
  expect(raw.counts['c'] ?? 0).toBeLessThanOrEqual(height); // genesis has none
  return height;
}

describe('ChainStore crash safety (SIGKILL at random moments)', () => {
  // Generous timeout: ~25 s on an idle 2-core box, but other suites may share the CPU.
  it(`survives ${ROUNDS} kills mid-connect with a whole block and exact supply`, { timeout: 180_000 }, async () => {
    const b = new ChainBuilder(CRASH_CHAIN_SEED);
    const rng = new TestRng(SEED);
    const heights: number[] = [];
    const active: number[] = [];
    let elapsed = 0;
    // Children boot (≈ 0.6 s of CPU each, mostly the tsx loader) ahead of their round.
    const booting: Child[] = [];
    const spawnNext = () => {
      if (all.length < ROUNDS) {
        const c = new Child(rng.int(2 ** 31));
        all.push(c);
        booting.push(c);
      }
    };
    try {
      for (let round = 0; round < ROUNDS; round++) {
        while (booting.length < PREBOOT && all.length < ROUNDS) spawnNext();
        const cur = booting.shift()!;
        await cur.waitFor('booted');
        cur.go();
        await cur.waitFor('ready');
        const readyAt = performance.now();
        await sleep(rng.next() * killWindowMs(elapsed, active.reduce((x, y) => x + y, 0)));
        const signal = await cur.kill();
        elapsed += performance.now() - readyAt;
        // A child that died on its own (e.g. a refused block) is a failure, not a crash to recover.
        expect(signal, `round ${round}: child stderr: ${cur.stderr}`).toBe('SIGKILL');
        active.push(cur.blocks);
        heights.push(await verifyAfterKill(b));
      }
    } finally {
      await Promise.all(all.map((c) => c.kill()));
    }
    if (process.env['TIMECOIN_CRASH_DEBUG']) console.log({ heights, active });
    // The kills must have landed while the chain was moving, not all before the first block.
    expect(active.filter((n) => n > 0).length).toBeGreaterThanOrEqual(ROUNDS / 4);
    expect(heights.at(-1)).toBeGreaterThan(0);
  });
});

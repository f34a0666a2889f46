/**
 * The consensus driver on a real LevelDB store and the real engine: every signed message leaves
 * only after its signing record is on disk, a failed persist stops everything after it, a final
 * block is written while the next height starts but before anything of that height is signed,
 * and a restart from the record resumes (through a view change when the round was cut short).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { hashBlockBytes } from '../../chain/block.js';
import { toHex } from '../../chain/hash.js';
import { createSigner, generateSecretKey, SignatureCache, verifySignature } from '../../chain/ed25519.js';
import { Mempool } from '../../chain/mempool.js';
import { ChainStore } from '../../chain/store.js';
import { MsgType, type ConsensusMessage } from '../../consensus/types.js';
import { BlockChecks } from '../../src/block-checks.js';
import { readRecordSync } from '../../src/consensus-state.js';
import { ConsensusDriver } from '../../src/driver.js';
import { FinalityTracker } from '../../src/finality.js';
import { genesisBlock } from '../../src/genesis-file.js';
import { tempDir, waitFor } from './helpers.js';

const PHASE_OF: Record<number, string> = { [MsgType.PrePrepare]: 'pre-prepare', [MsgType.Prepare]: 'prepare', [MsgType.Commit]: 'commit', [MsgType.ViewChange]: 'view-change' };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A single-validator driver over a fresh (or reopened) store in `dir`. */
async function setup(dir: string, secret: Uint8Array, opts: { stateFile?: string; onSent?: (m: ConsensusMessage) => void; onFatal?: (e: Error) => void } = {}) {
  const signer = createSigner(secret);
  const genesis = genesisBlock({ network: 'dev', timestampMs: 1_700_000_000_000, proposer: signer.publicKey, allocations: [] });
  const store = await ChainStore.open(join(dir, 'chain'));
  await store.initialize(genesis, 'dev');
  const sigCache = new SignatureCache();
  const mempool = new Mempool({ chainId: genesis.hash, sigCache });
  const validatorsAt = () => [signer.publicKey];
  const checks = new BlockChecks({ store, chainId: genesis.hash, sigCache, validatorsAt, now: Date.now });
  const send = (m: ConsensusMessage) => opts.onSent?.(m);
  const driver = new ConsensusDriver({
    engine: { chainId: genesis.hash, signer, hashBlock: hashBlockBytes, verify: verifySignature, timeouts: { baseMs: 300, factor: 2, maxMs: 5_000 }, maxBufferedMessages: 100, keepDecisions: 8 },
    store, mempool, checks,
    finality: new FinalityTracker(null, Date.now),
    stateFile: opts.stateFile ?? join(dir, 'consensus-state.json'),
    validatorsAt,
    rewardPublicKey: signer.publicKey,
    idleBlockIntervalMs: 1_000,
    txBatchDelayMs: 5,
    now: Date.now,
    logger: pino({ level: 'silent' }),
    metrics: null,
    transport: { broadcast: send, send: (_to, m) => send(m) },
    onFatal: opts.onFatal ?? (() => undefined),
  });
  return { store, driver, signer };
}

describe('consensus driver', () => {
  it('puts the signing record on disk before each signed message leaves, and finalizes with n = 1', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const seen: string[] = [];
    const { store, driver } = await setup(dir, generateSecretKey(), {
      onSent: (m) => {
        // Read what is on disk at the instant the message is handed to the transport.
        const rec = readRecordSync(join(dir, 'consensus-state.json'))!;
        expect({ height: rec.height, view: rec.view, phase: rec.phase }).toEqual({ height: m.height, view: 'view' in m ? m.view : 0, phase: PHASE_OF[m.type] });
        seen.push(PHASE_OF[m.type]!);
      },
    });
    await driver.boot();
    await waitFor('two idle blocks', () => (store.tip().height >= 2 ? true : undefined), 10_000);
    await driver.close();
    expect(seen.slice(0, 3)).toEqual(['pre-prepare', 'prepare', 'commit']);
    expect(store.finalized().height).toBe(store.tip().height);
    expect(await store.getCertificate(store.tip().hash)).toBeInstanceOf(Uint8Array);
    await store.close();
  });

  it('stops at a failed persist: nothing signed leaves and nothing is committed', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const sent: ConsensusMessage[] = [];
    let fatal: Error | null = null;
    const { store, driver } = await setup(dir, generateSecretKey(), {
      stateFile: join(dir, 'no-such-dir', 'consensus-state.json'),
      onSent: (m) => sent.push(m),
      onFatal: (e) => (fatal = e),
    });
    await driver.boot();
    await waitFor('the driver to fail', () => (fatal !== null ? true : undefined), 10_000);
    expect(driver.healthy).toBe(false);
    expect(sent).toEqual([]);
    expect(store.tip().height).toBe(0);
    await driver.close();
    await store.close();
  });

  it('resumes from a record cut short mid-round by leaving that view', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const secret = generateSecretKey();
    let stopAt: string | null = 'prepare';
    let stopped!: () => void;
    const cut = new Promise<void>((r) => (stopped = r));
    // First life: a "crash" right after the PREPARE left — the record says prepare, nothing is committed.
    const first = await setup(dir, secret, {
      onSent: (m) => {
        if (stopAt !== null && PHASE_OF[m.type] === stopAt) {
          stopAt = null;
          stopped();
          throw new Error('simulated crash after send');
        }
      },
    });
    await first.driver.boot();
    await cut;
    await first.driver.close();
    expect(first.store.tip().height).toBe(0);
    await first.store.close();
    const rec = readRecordSync(join(dir, 'consensus-state.json'))!;
    expect(rec).toMatchObject({ height: 1, view: 0, phase: 'prepare' });

    const phases: string[] = [];
    const second = await setup(dir, secret, { onSent: (m) => phases.push(`${PHASE_OF[m.type]}@${'view' in m ? m.view : 0}`) });
    await second.driver.boot();
    await waitFor('height 1 final after the restart', () => (second.store.tip().height >= 1 ? true : undefined), 10_000);
    await second.driver.close();
    // It did not sign anything else at view 0: it left the view and finished in view 1.
    expect(phases[0]).toBe('view-change@1');
    expect(phases.filter((p) => p.endsWith('@0'))).toEqual([]);
    expect((await second.store.getBlockByHeight(1))!.header.view).toBeLessThanOrEqual(1);
    await second.store.close();
  });

  it('writes a final block while the next height starts, and signs nothing of that height before the block is on disk', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const sent: { height: number; landed: number }[] = [];
    let landed = 0; // highest tip a finished flush made durable
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { store, driver } = await setup(dir, generateSecretKey(), { onSent: (m) => sent.push({ height: m.height, landed }) });
    const realFlush = store.flush.bind(store);
    store.flush = () => {
      const tip = store.tip().height;
      return gate.then(realFlush).then(() => void (landed = Math.max(landed, tip)));
    };
    await driver.boot();
    // Block 1 is final and committed in memory; its write waits at the gate, yet height 2 runs:
    // the proposal is built and stepped (with n = 1 one step decides it) and only the step's first
    // PERSIST waits, so none of its messages has left.
    await waitFor('height 2 decided in the engine', () => (driver.info().height === 2 && driver.info().phase === 'decided' ? true : undefined), 10_000);
    expect(store.tip().height).toBe(1);
    expect(store.finalized().height).toBe(1);
    expect(sent.filter((m) => m.height === 1).length).toBeGreaterThan(0);
    expect(sent.filter((m) => m.height >= 2)).toEqual([]);
    release();
    await waitFor('height 3 final', () => (store.tip().height >= 3 ? true : undefined), 10_000);
    await driver.close();
    // Every message of height h left after block h - 1 was durable.
    for (const m of sent) expect(m.landed).toBeGreaterThanOrEqual(m.height - 1);
    await store.close();
    // Reopened: the blocks are on disk.
    const again = await ChainStore.open(join(dir, 'chain'));
    expect(again.tip().height).toBeGreaterThanOrEqual(3);
    await again.close();
  });

  it('stops when a final block cannot be written: nothing of the next height is signed', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const sent: ConsensusMessage[] = [];
    let fatal: Error | null = null;
    const { store, driver } = await setup(dir, generateSecretKey(), { onSent: (m) => sent.push(m), onFatal: (e) => (fatal = e) });
    store.flush = () => Promise.reject(new Error('disk full'));
    await driver.boot();
    await waitFor('the driver to fail', () => (fatal !== null ? true : undefined), 10_000);
    expect(fatal!.message).toBe('disk full');
    expect(driver.healthy).toBe(false);
    expect(sent.filter((m) => m.height === 1).length).toBeGreaterThan(0);
    expect(sent.filter((m) => m.height >= 2)).toEqual([]);
    await driver.close();
    await store.close();
  });

  it('names the next height and its leader while it boots (no round started yet)', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const { store, driver, signer } = await setup(dir, generateSecretKey());
    const key = toHex(signer.publicKey);
    // Before boot, and while boot reads the signing record (as after block sync replaced the
    // engine state): no round has started, the next height is the store's tip (genesis) + 1.
    const before = driver.info();
    const booting = driver.boot();
    const during = driver.info();
    await booting;
    for (const c of [before, during]) {
      expect(c).toMatchObject({ height: 1, view: 0, phase: 'idle', validators: 1, f: 0, quorum: 1 });
      expect(c.leader === null ? null : toHex(c.leader)).toBe(key);
    }
    await waitFor('a final block', () => (store.tip().height >= 1 ? true : undefined), 10_000);
    await driver.close();
    await store.close();
  });

  it('refuses to boot from a damaged signing record', async () => {
    const dir = tempDir();
    dirs.push(dir);
    writeFileSync(join(dir, 'consensus-state.json'), '{"version":1,"height":1,"view":0,"phase":"prepare","blockHash":"zz","prepared":null}');
    const { store, driver } = await setup(dir, generateSecretKey());
    await expect(driver.boot()).rejects.toThrow(/consensus-state\.json is damaged \(blockHash\)/);
    await driver.close();
    await store.close();
  });
});

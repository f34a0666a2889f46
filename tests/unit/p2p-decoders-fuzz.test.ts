/**
 * Every decoder a peer's bytes reach, fuzzed from ONE table keyed by the protocol table
 * (p2p/protocols.ts): random frames and mutations of valid frames either decode or throw the
 * project's typed error (DecodeError, P2pError) with a code of its set — never a RangeError or
 * TypeError, never a hang — and decode(encode(x)) round-trips. Then random frames go through a
 * REAL `P2pNetwork` on loopback (tx gossip into a real mempool over a real LevelDB store, sync
 * requests served from it): the node stays up, answers an honest peer, and charges the fuzzing
 * peer per the penalty table until it is banned. `TIMECOIN_LONG=1` raises the run counts.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { encodeTxBatches } from '../../p2p/tx-batch.js';
import { peerIdFromString } from '@libp2p/peer-id';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSigner, generateSecretKey, SignatureCache } from '../../chain/ed25519.js';
import { DecodeCode, DecodeError } from '../../chain/errors.js';
import { Mempool } from '../../chain/mempool.js';
import { ChainStore } from '../../chain/store.js';
import { P2pCode, P2pError } from '../../p2p/errors.js';
import { encodeFrames, FrameDecoder } from '../../p2p/framing.js';
import { PENALTIES } from '../../p2p/peer-score.js';
import { PROTOCOLS, protocolByName } from '../../p2p/protocols.js';
import { decodeSyncResponse, encodeSyncRequest, serveSync, SYNC_MAX_COUNT } from '../../src/block-sync.js';
import { genesisBlock } from '../../src/genesis-file.js';
import { decodeDigestRequest, encodeDigestRequest, MAX_DIGEST_IDS, shortId } from '../../src/mempool-sync.js';
import { TxGossip } from '../../src/node-p2p.js';
import { link, MasternodeSet, peersOf, startNode, stopAll, waitFor, type TestNode } from '../e2e/p2p-harness.js';
import { CASES, decodeOrTypedError, digestTxids, hex, mutate, mutationArb, SALT, txArb, type DecoderCase } from './p2p-decoders-table.js';

const LONG = process.env['TIMECOIN_LONG'] === '1';
/** Run count: `n` normally, 20·n under TIMECOIN_LONG=1. */
const runs = (n: number): number => (LONG ? n * 20 : n);

describe('p2p decoders: one table, every protocol', () => {
  it('covers every protocol of p2p/protocols.ts', () => {
    const covered = new Set(CASES.map((c) => c.protocol));
    // heartbeat frames are enveloped too (the envelope row is keyed to consensus, its first user).
    expect(PROTOCOLS.map((p) => p.name).filter((n) => !covered.has(n))).toEqual([]);
  });

  for (const c of CASES) {
    describe(`${c.protocol}: ${c.name}`, () => {
      it('random frames: a value or the typed error, never anything else', () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: c.maxRandom }), (b) => void decodeOrTypedError(c, b)),
          { numRuns: runs(500) },
        );
      });

      it('decode(encode(x)) round-trips on valid frames', () => {
        fc.assert(
          fc.property(c.valid, (b) => {
            const r = decodeOrTypedError(c, b);
            expect(r.ok, `${c.name} refused a valid frame`).toBe(true);
            const again = (c.reencode as (v: unknown) => Uint8Array)((r as { value: unknown }).value);
            if (c.name.startsWith('mempool digest request')) return; // a set: checked below
            expect(hex(again)).toBe(hex(b));
          }),
          { numRuns: runs(100) },
        );
      });

      it('mutated valid frames: a value that re-encodes canonically, or the typed error', () => {
        fc.assert(
          fc.property(c.valid, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (b, ms) => {
            let m: Uint8Array = b;
            for (const x of ms) m = mutate(m, x);
            const r = decodeOrTypedError(c, m);
            // The envelope and the digest request are not canonical by construction (a signature
            // over other bytes, a set of ids): they only need to decode or refuse.
            if (!r.ok || c.name.startsWith('signed envelope') || c.name.startsWith('mempool digest request')) return;
            if (c.name.startsWith('framing')) return; // a framing decode may stop mid-frame
            expect(hex((c.reencode as (v: unknown) => Uint8Array)(r.value))).toBe(hex(m));
          }),
          { numRuns: runs(500) },
        );
      });
    });
  }

  it('the checker itself refuses untyped errors and codes outside the set (so the fuzz can fail)', () => {
    const base = CASES.find((c) => c.name.startsWith('consensus message'))!;
    const throwing = (e: unknown): DecoderCase => ({ ...base, decode: () => { throw e; } });
    expect(() => decodeOrTypedError(throwing(new RangeError('offset out of range')), Uint8Array.of(1))).toThrow(/RangeError/);
    expect(() => decodeOrTypedError(throwing(new TypeError('x')), Uint8Array.of(1))).toThrow(/TypeError/);
    expect(() => decodeOrTypedError(throwing(new P2pError(P2pCode.DecodeFailed, 'x')), Uint8Array.of(1))).toThrow();
    expect(() => decodeOrTypedError(throwing(new DecodeError('not-a-code' as DecodeCode, 'x')), Uint8Array.of(1))).toThrow();
    expect(decodeOrTypedError(throwing(new DecodeError(DecodeCode.Truncated, 'x')), Uint8Array.of(1))).toEqual({ ok: false, code: DecodeCode.Truncated });
  });

  it('mempool digest request: the decoded ids are exactly the encoded short ids', () => {
    fc.assert(
      fc.property(digestTxids, (txids) => {
        const r = decodeDigestRequest(encodeDigestRequest(SALT, txids));
        expect([...r.ids].sort()).toEqual([...new Set(txids.map((t) => shortId(SALT, t)))].sort());
        expect(hex(r.salt)).toBe(hex(SALT));
        expect(r.ids.size).toBeLessThanOrEqual(MAX_DIGEST_IDS);
      }),
      { numRuns: runs(100) },
    );
  });

  it('framing: random chunkings of random bytes, fed piece by piece, never throw untyped errors', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 30 }), fc.integer({ min: 1, max: 300 }), (chunks, max) => {
        const d = new FrameDecoder(max);
        for (const ch of chunks) {
          try {
            for (const f of d.push(ch)) expect(f.length).toBeLessThanOrEqual(max);
          } catch (err) {
            expect(err).toBeInstanceOf(P2pError);
            // Poisoned: the same error again, the stream must be dropped.
            expect(() => d.push(Uint8Array.of(1))).toThrow(err as Error);
            return;
          }
        }
      }),
      { numRuns: runs(300) },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Through a real P2pNetwork on loopback

/** A victim node serving tx gossip (real mempool, real LevelDB store at genesis) and sync. */
async function victimWithChain(set: MasternodeSet, dirs: string[]): Promise<{ node: TestNode; store: ChainStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'timecoin-p2pfuzz-'));
  dirs.push(dir);
  const signer = createSigner(generateSecretKey());
  const genesis = genesisBlock({ network: 'dev', timestampMs: 1_700_000_000_000, proposer: signer.publicKey, allocations: [] });
  const store = await ChainStore.open(join(dir, 'chain'));
  await store.initialize(genesis, 'dev');
  const mempool = new Mempool({ chainId: genesis.hash, sigCache: new SignatureCache() });
  // Every peer of these tests dials from 127.0.0.1: lift the per-IP cap (p2p-abuse tests it).
  const node = await startNode(set, { maxConnectionsPerIp: 64 });
  await new TxGossip(node.net, { mempool, store, onAccepted: () => undefined, log: pino({ level: 'silent' }) }).attach();
  await serveSync(node.net, store, protocolByName('sync').maxResponseBytes);
  return { node, store };
}

/** Open a raw stream and write `bytes` as they are (the fuzzing peer bypasses our own encoders). */
async function rawSend(from: TestNode, to: TestNode, protocolId: string, bytes: Uint8Array): Promise<void> {
  const stream = await from.net.node.dialProtocol(peerIdFromString(to.net.peerId), protocolId);
  stream.send(bytes);
}

/**
 * `link`, retried: libp2p's connection manager refuses more than a few inbound connections per
 * second from one host (its `inboundConnectionThreshold`), and every fuzzer here is 127.0.0.1.
 */
async function linkRetrying(a: TestNode, b: TestNode, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await link(a, b);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Random frames that the tx decoder refuses (decided by the decoder itself, not guessed). */
const badTxFrame = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 200 }),
  txArb.chain((t) => fc.array(mutationArb, { minLength: 1, maxLength: 3 }).map((ms) => ms.reduce((b, m) => mutate(b, m), encodeTxBatches([t.bytes])[0]!))),
).filter((b) => b.length > 0 && !decodeOrTypedError(CASES.find((c) => c.protocol === 'tx')!, b).ok);
const badSyncFrame = fc
  .uint8Array({ minLength: 1, maxLength: 40 })
  .filter((b) => !decodeOrTypedError(CASES.find((c) => c.name.startsWith('sync request'))!, b).ok);

describe('random frames through a real P2pNetwork on loopback', () => {
  const dirs: string[] = [];
  let stores: ChainStore[] = [];
  afterEach(async () => {
    await stopAll();
    for (const s of stores) await s.close();
    stores = [];
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('tx and sync: each undecodable frame costs decode-failed, the node keeps serving an honest peer, the fuzzer is banned', async () => {
    const set = new MasternodeSet();
    const { node: victim, store } = await victimWithChain(set, dirs);
    stores.push(store);
    const honest = await startNode(set);
    const fuzzer = await startNode(set);
    for (const n of [victim, honest, fuzzer]) await n.net.start();
    await link(honest, victim);
    await link(fuzzer, victim);
    const seed = Number(process.env['FC_SEED'] ?? Date.now() % 1_000_000);
    const txFrames = fc.sample(badTxFrame, { numRuns: 2, seed });
    const syncFrames = fc.sample(badSyncFrame, { numRuns: 2, seed });

    // Below the ban threshold: 4 × decode-failed (20) = 80 < 100. Each refusal is counted once.
    await rawSend(fuzzer, victim, protocolByName('tx').id, encodeFrames(txFrames));
    await waitFor(() => victim.net.refusalCount(P2pCode.DecodeFailed) === 2, `two tx decode-failed refusals (seed ${seed})`);
    for (const f of syncFrames) {
      await expect(fuzzer.net.request(victim.net.peerId, 'sync', f)).rejects.toBeInstanceOf(P2pError);
    }
    await waitFor(() => victim.net.refusalCount(P2pCode.DecodeFailed) === 4, `four decode-failed refusals (seed ${seed})`);
    expect(victim.net.scores.isBanned(fuzzer.net.peerId, Date.now())).toBe(false);
    // Four decode-failed penalties, decayed a little toward 0 (half-life 60 s) while the test ran.
    const score = victim.net.scores.score(fuzzer.net.peerId, Date.now());
    expect(score).toBeGreaterThanOrEqual(-4 * PENALTIES[P2pCode.DecodeFailed]);
    expect(score).toBeLessThanOrEqual(-4 * PENALTIES[P2pCode.DecodeFailed] * 0.9);

    // The node still serves: an honest sync request gets the genesis-only answer.
    const answer = decodeSyncResponse(await honest.net.request(victim.net.peerId, 'sync', encodeSyncRequest(1, SYNC_MAX_COUNT)));
    expect(answer).toEqual({ finalHeight: 0, entries: [] });

    // Two more undecodable frames cross −100 (the score decays toward 0 meanwhile, so one may
    // not): banned and disconnected; the honest peer stays.
    await rawSend(fuzzer, victim, protocolByName('tx').id, encodeFrames(fc.sample(badTxFrame, { numRuns: 2, seed: seed + 1 })));
    await waitFor(() => victim.net.scores.isBanned(fuzzer.net.peerId, Date.now()), 'fuzzer banned');
    await waitFor(() => !peersOf(victim).includes(fuzzer.net.peerId), 'fuzzer disconnected');
    expect(peersOf(victim)).toContain(honest.net.peerId);
    const again = decodeSyncResponse(await honest.net.request(victim.net.peerId, 'sync', encodeSyncRequest(1, 1)));
    expect(again.finalHeight).toBe(0);
  }, 60_000);

  it('random byte streams on every gossip and request protocol: the node never crashes and answers afterwards', async () => {
    const set = new MasternodeSet();
    const { node: victim, store } = await victimWithChain(set, dirs);
    stores.push(store);
    const honest = await startNode(set);
    for (const n of [victim, honest]) await n.net.start();
    await link(honest, victim);
    const seed = Number(process.env['FC_SEED'] ?? Date.now() % 1_000_000);
    const streams = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 300 }), { numRuns: LONG ? 40 : 6, seed });
    // A fresh fuzzer per protocol: a ban on one would hide the others.
    for (const spec of PROTOCOLS.filter((p) => p.name === 'tx' || p.name === 'sync')) {
      for (const bytes of streams) {
        const fuzzer = await startNode(set);
        await fuzzer.net.start();
        await linkRetrying(fuzzer, victim);
        const before = victim.net.refusalCount(P2pCode.DecodeFailed) + victim.net.refusalCount(P2pCode.FrameTooLarge) + victim.net.refusalCount(P2pCode.Timeout);
        await rawSend(fuzzer, victim, spec.id, bytes).catch(() => undefined);
        // Random bytes are one frame or garbage: charged as decode-failed / frame-too-large, or
        // an incomplete frame that is only charged when the stream ends or times out.
        const prefix = bytes.length >= 4 ? Buffer.from(bytes).readUInt32BE(0) : -1;
        if (prefix === 0 || prefix > spec.maxFrameBytes) {
          await waitFor(
            () => victim.net.refusalCount(P2pCode.DecodeFailed) + victim.net.refusalCount(P2pCode.FrameTooLarge) + victim.net.refusalCount(P2pCode.Timeout) > before,
            `${spec.name} refusal for ${hex(bytes).slice(0, 16)}`,
          );
        }
        await fuzzer.net.stop();
        await waitFor(() => !peersOf(victim).includes(fuzzer.net.peerId), 'fuzzer gone');
      }
    }
    const answer = decodeSyncResponse(await honest.net.request(victim.net.peerId, 'sync', encodeSyncRequest(1, 1)));
    expect(answer.finalHeight).toBe(0);
    expect(peersOf(victim)).toContain(honest.net.peerId);
  }, LONG ? 600_000 : 120_000);
});

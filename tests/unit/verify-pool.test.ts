/**
 * src/verify-pool.ts on real worker threads: every answer equals `verifySignature` on this thread
 * (valid, mutated, S + L, non-canonical and small-order keys, mixed-order keys, wrong lengths),
 * concurrent calls, close() while busy, a worker that dies (typed rejection, then replaced), a
 * worker that outgrows its heap limit, and the pre-verified `verify` that block sync hands to
 * checkCommitCertificate.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { SMALL_ORDER_ENCODINGS, createSigner, verifySignature } from '../../chain/ed25519.js';
import { checkCommitCertificate } from '../../consensus/certificates.js';
import { makeValidatorSet } from '../../consensus/leader.js';
import { signVote, signedBytesOf } from '../../consensus/messages.js';
import { MsgType } from '../../consensus/types.js';
import { VerifyPool, VerifyPoolCode, VerifyPoolError, preverified, type VerifyItem } from '../../src/verify-pool.js';

const Point = ed25519.Point;
const { n: L } = Point.CURVE();
const hexBytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const le = (x: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((x >> BigInt(8 * i)) & 0xffn));
const fromLe = (b: Uint8Array) => b.reduceRight((x, v) => (x << 8n) | BigInt(v), 0n);
const local = (items: readonly VerifyItem[]) => items.map((i) => verifySignature(i.publicKey, i.message, i.signature));
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof VerifyPoolError ? e.code : `untyped: ${String(e)}`));

const signer = createSigner(new Uint8Array(32).fill(9));
/** A valid item of `signer` over `m`. */
const valid = (m: Uint8Array): VerifyItem => ({ publicKey: signer.publicKey, message: m, signature: signer.sign(m) });

/** Items whose answers are pinned by SPEC §2, each built here, not copied from the verifier. */
function edgeItems(): VerifyItem[] {
  const m = new TextEncoder().encode('edge');
  const good = valid(m);
  const S = fromLe(good.signature.subarray(32));
  const identitySig = Uint8Array.from([...hexBytes(SMALL_ORDER_ENCODINGS[0]!), ...new Uint8Array(32)]);
  const t8 = Point.fromBytes(hexBytes(SMALL_ORDER_ENCODINGS[6]!)); // order 8
  const mixed = Point.fromBytes(signer.publicKey).add(t8).toBytes();
  const nonCanonical = le((1n << 255n) - 19n + 1n); // y = p + 1
  return [
    good,
    { ...good, signature: Uint8Array.from([...good.signature.subarray(0, 32), ...le(S + L)]) },
    ...SMALL_ORDER_ENCODINGS.map((h) => ({ publicKey: hexBytes(h), message: m, signature: identitySig })),
    { publicKey: nonCanonical, message: m, signature: good.signature },
    { publicKey: mixed, message: m, signature: good.signature },
    { ...good, signature: good.signature.subarray(0, 63) },
    { ...good, publicKey: good.publicKey.subarray(0, 31) },
    { ...good, message: new Uint8Array(0) },
  ];
}

/** A random tuple: a valid signature, possibly mutated in its key, message or signature. */
const itemArb = fc
  .record({
    seed: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    message: fc.uint8Array({ maxLength: 120 }),
    mutate: fc.constantFrom('none', 'none', 'signature', 'message', 'key', 'other-key'),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  })
  .map(({ seed, message, mutate, at, bit }): VerifyItem => {
    const s = createSigner(seed);
    const item = { publicKey: s.publicKey, message, signature: s.sign(message) };
    const flip = (b: Uint8Array): Uint8Array => {
      if (b.length === 0) return Uint8Array.of(1);
      const c = Uint8Array.from(b);
      c[at % c.length]! ^= 1 << bit;
      return c;
    };
    if (mutate === 'signature') return { ...item, signature: flip(item.signature) };
    if (mutate === 'message') return { ...item, message: flip(item.message) };
    if (mutate === 'key') return { ...item, publicKey: flip(item.publicKey) };
    if (mutate === 'other-key') return { ...item, publicKey: signer.publicKey };
    return item;
  });

const pools: VerifyPool[] = [];
const pool = (o: ConstructorParameters<typeof VerifyPool>[0] = {}) => {
  const p = new VerifyPool(o);
  pools.push(p);
  return p;
};
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('VerifyPool answers', () => {
  it('pinned edge cases: the same answers as verifySignature', async () => {
    const items = edgeItems();
    const want = local(items);
    expect(want.filter(Boolean)).toHaveLength(1); // only the untouched signature holds
    expect(await pool({ size: 2, minSlice: 1 }).verify(items)).toEqual(want);
  });

  it('random tuples and mutations: the same answers as verifySignature', async () => {
    const p = pool({ size: 2, minSlice: 4 });
    await fc.assert(
      fc.asyncProperty(fc.array(itemArb, { minLength: 1, maxLength: 40 }), async (items) => {
        expect(await p.verify(items)).toEqual(local(items));
      }),
      { numRuns: 40 },
    );
  });

  it('many concurrent calls each get their own answers', async () => {
    const p = pool({ size: 2, minSlice: 8 });
    const calls = Array.from({ length: 24 }, (_, c) =>
      Array.from({ length: 1 + ((c * 7) % 50) }, (_, i) => {
        const it = valid(new TextEncoder().encode(`call ${c} item ${i}`));
        return (c + i) % 3 === 0 ? { ...it, message: new TextEncoder().encode(`forged ${c} ${i}`) } : it;
      }),
    );
    const answers = await Promise.all(calls.map((items) => p.verify(items)));
    answers.forEach((a, c) => expect(a).toEqual(local(calls[c]!)));
    expect(p.running).toBe(2);
  });

  it('refuses bad input with a typed error and sends nothing', async () => {
    const p = pool({ size: 1 });
    expect(await codeOf(p.verify([{ publicKey: 'x', message: new Uint8Array(1), signature: new Uint8Array(64) } as unknown as VerifyItem]))).toBe(VerifyPoolCode.BadInput);
    expect(await codeOf(p.verify(null as unknown as VerifyItem[]))).toBe(VerifyPoolCode.BadInput);
    expect(p.running).toBe(0);
    expect(await p.verify([])).toEqual([]);
    expect(() => new VerifyPool({ size: 0 })).toThrow(VerifyPoolError);
  });
});

describe('VerifyPool lifecycle', () => {
  it('close() while busy rejects the pending call and every later one with verify-pool-closed', async () => {
    const p = pool({ size: 2 });
    const items = Array.from({ length: 3_000 }, (_, i) => valid(new TextEncoder().encode(`busy ${i}`)));
    expect(await p.verify(items.slice(0, 4))).toEqual([true, true, true, true]); // threads up
    const busy = codeOf(p.verify(items));
    await p.close();
    expect(await busy).toBe(VerifyPoolCode.Closed);
    expect(await codeOf(p.verify(items.slice(0, 1)))).toBe(VerifyPoolCode.Closed);
    expect(p.running).toBe(0);
  });

  it('a worker that dies rejects its pending calls with verify-worker-failed and is replaced', async () => {
    // The worker's glue around the real `verifyBatch`, except that a batch of exactly CRASH_BYTES
    // (one item with a 100,000-byte message) kills the thread.
    const tsxDir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
    const api = pathToFileURL(join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
    const batch = new URL('../../src/verify-batch.ts', import.meta.url).href;
    const code = `import { parentPort } from 'node:worker_threads';
      const { tsImport } = await import(${JSON.stringify(api)});
      const { verifyBatch } = await tsImport(${JSON.stringify(batch)}, ${JSON.stringify(import.meta.url)});
      parentPort.on('message', (m) => {
        if (m.buf.byteLength === ${4 + 12 + 32 + 100_000 + 64}) process.exit(3);
        const ok = verifyBatch(m.buf);
        parentPort.postMessage({ id: m.id, ok: ok.buffer }, [ok.buffer]);
      });`;
    const p = pool({ size: 1, workerUrl: new URL(`data:text/javascript,${encodeURIComponent(code)}`) });
    const ok = [valid(Uint8Array.of(1)), { ...valid(Uint8Array.of(2)), message: Uint8Array.of(3) }];
    expect(await p.verify(ok)).toEqual([true, false]);
    const before = p.verify(ok); // queued on the same thread ahead of the fatal batch
    const fatal = p.verify([valid(new Uint8Array(100_000))]);
    const after = p.verify(ok); // queued behind it: lost with the thread
    expect(await before).toEqual([true, false]);
    expect(await codeOf(fatal)).toBe(VerifyPoolCode.WorkerFailed);
    expect(await codeOf(after)).toBe(VerifyPoolCode.WorkerFailed);
    expect(await p.verify(ok)).toEqual([true, false]); // a new thread took its place
    expect(p.running).toBe(1);
  });

  it('a thread is heap-limited: one that outgrows its limit fails typed, the process lives on', async () => {
    // On a one-byte batch the thread holds ~400 MB of arrays (far above the pool's 128 MB old-space
    // limit, well within this process's default ~4 GB) before it answers; without the limit it would
    // answer normally.
    const code = `import { parentPort } from 'node:worker_threads';
      parentPort.on('message', (m) => {
        const keep = [];
        for (let i = 0; i < 400; i++) keep.push(new Array(128 * 1024).fill(i));
        const ok = Uint8Array.of(keep.length === 400 ? 1 : 0);
        parentPort.postMessage({ id: m.id, ok: ok.buffer }, [ok.buffer]);
      });`;
    const p = pool({ size: 1, workerUrl: new URL(`data:text/javascript,${encodeURIComponent(code)}`) });
    expect(await codeOf(p.verify([valid(Uint8Array.of(1))]))).toBe(VerifyPoolCode.WorkerFailed);
  });
});

describe('preverified', () => {
  it('answers from the bulk results on all three byte strings, and verifies anything else inline', () => {
    const a = valid(Uint8Array.of(1));
    const b = valid(Uint8Array.of(2));
    // A deliberately wrong recorded answer shows which path answered.
    const verify = preverified([a, b], [false, true]);
    expect(verify(a.publicKey, a.message, a.signature)).toBe(false); // from the results
    expect(verify(b.publicKey, b.message, b.signature)).toBe(true);
    expect(verify(b.publicKey, a.message, b.signature)).toBe(false); // same signature, other message: verified inline
    const c = valid(Uint8Array.of(3));
    expect(verify(c.publicKey, c.message, c.signature)).toBe(true); // not in the batch: verified inline
  });

  it('with checkCommitCertificate (as block sync uses it): pool answers decide, a forged vote is refused', async () => {
    const chainId = new Uint8Array(32).fill(4);
    const vals = [1, 2, 3, 4].map((n) => createSigner(new Uint8Array(32).fill(n)));
    const set = makeValidatorSet(vals.map((v) => v.publicKey));
    const blockHash = new Uint8Array(32).fill(8);
    const commits = vals.slice(0, 3).map((v) => signVote(v, chainId, MsgType.Commit, 7, 0, blockHash));
    const forged = { ...commits[2]!, signature: commits[1]!.signature };
    const p = pool({ size: 2, minSlice: 1 });
    for (const votes of [commits, [commits[0]!, commits[1]!, forged]]) {
      const items = votes.map((v) => ({ publicKey: v.signer, message: signedBytesOf(chainId, v), signature: v.signature }));
      const verify = preverified(items, await p.verify(items));
      const r = checkCommitCertificate({ chainId, verify }, set, { height: 7, view: 0, blockHash, commits: votes }, 7);
      const inline = checkCommitCertificate({ chainId, verify: verifySignature }, set, { height: 7, view: 0, blockHash, commits: votes }, 7);
      expect(r).toEqual(inline);
    }
    expect(checkCommitCertificate({ chainId, verify: verifySignature }, set, { height: 7, view: 0, blockHash, commits: [commits[0]!, commits[1]!, forged] }, 7)?.code).toBe('bad-certificate');
  });
});

/**
 * src/commands/testnet.ts `nodeProcessEnv`: the memory settings reach a real child process's V8
 * (old-space limit and semi-space size, read back as its heap limit) and malloc (arena count, mmap
 * threshold), an operator's own NODE_OPTIONS and malloc settings win, and other variables pass
 * through; the Dockerfile sets the same.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_MEMORY_ENV, nodeProcessEnv } from '../../src/commands/testnet.js';

const MB = 2 ** 20;

/** V8's heap limit (old space + 3 semi-spaces, MB) and the malloc settings as a node started with `env` sees them. */
function limitsUnder(env: NodeJS.ProcessEnv): { heapMb: number; arenas: string | undefined; mmapThreshold: string | undefined } {
  const code = `console.log(JSON.stringify({ heap: require('node:v8').getHeapStatistics().heap_size_limit, arenas: process.env.MALLOC_ARENA_MAX, mmap: process.env.MALLOC_MMAP_THRESHOLD_ }))`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', code], { env, encoding: 'utf8' })) as { heap: number; arenas?: string; mmap?: string };
  return { heapMb: out.heap / MB, arenas: out.arenas, mmapThreshold: out.mmap };
}

describe('nodeProcessEnv', () => {
  it('a node started with it has a ~1 GB heap limit, 16 MB semi-spaces, two malloc arenas and a 128 KB mmap threshold', () => {
    const base = { PATH: process.env.PATH, KEEP: 'me' };
    const env = nodeProcessEnv(base);
    expect(env.KEEP).toBe('me');
    expect(limitsUnder(base).heapMb).toBeGreaterThan(1024 + 3 * 16); // Node's default here: a multi-GB limit
    const tuned = limitsUnder(env);
    // heap_size_limit = old space + 3 semi-spaces: 1024 MB + 3 × 16 MB.
    expect(tuned.heapMb).toBe(1024 + 3 * 16);
    expect(tuned.arenas).toBe('2');
    expect(tuned.mmapThreshold).toBe('131072');
  });

  it("an operator's own NODE_OPTIONS and malloc settings override ours", () => {
    const env = nodeProcessEnv({ PATH: process.env.PATH, NODE_OPTIONS: '--max-old-space-size=2048', MALLOC_ARENA_MAX: '4', MALLOC_MMAP_THRESHOLD_: '65536' });
    expect(env.NODE_OPTIONS).toBe(`${NODE_MEMORY_ENV.NODE_OPTIONS} --max-old-space-size=2048`);
    const seen = limitsUnder(env);
    expect(seen.heapMb).toBe(2048 + 3 * 16);
    expect(seen.arenas).toBe('4');
    expect(seen.mmapThreshold).toBe('65536');
  });
});

describe('Dockerfile', () => {
  it('the runtime stage sets the same memory settings (one rule, two places: kept in step here)', () => {
    const text = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    const runtime = text.slice(text.lastIndexOf('\nFROM '));
    const env = new Map<string, string>();
    for (const line of runtime.split('\n').filter((l) => l.startsWith('ENV '))) {
      for (const m of line.slice(4).matchAll(/(\w+)=("[^"]*"|\S+)/g)) env.set(m[1]!, m[2]!.replace(/^"|"$/g, ''));
    }
    for (const [name, value] of Object.entries(NODE_MEMORY_ENV)) expect(env.get(name), name).toBe(value);
  });
});

/**
 * The newcomer path, measured: `npm start` (= `tsx src/cli.ts start --dev`) in a fresh checkout
 * whose `./.timecoin/dev` does not exist yet, timed from launch to (1) `/health` 200 and (2) a
 * funded wallet — `getaddressbalance` of the dev wallet > 0, called with the API key and address
 * read from the banner the node prints, as a newcomer would. Then SIGINT to the process group (Ctrl-C), after which the node must have closed cleanly.
 *
 * The "fresh checkout" is a temp directory holding symlinks to this repo's sources, package.json
 * and node_modules, so `./.timecoin/dev` is created from nothing. The RPC port is the dev default
 * (24201) when free; otherwise TIMECOIN_RPC_PORT picks a free one. Prints JSON lines
 * `{"name","value","unit"}`. Run: `npx tsx bench/newcomer.ts [runs=3]`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const LINKED = ['package.json', 'package-lock.json', 'tsconfig.json', 'node_modules', 'src', 'chain', 'consensus', 'p2p', 'rpc'];

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

async function once(): Promise<{ health: number; funded: number; exit: string; banner: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'timecoin-newcomer-'));
  for (const f of LINKED) symlinkSync(join(ROOT, f), join(dir, f));
  if (existsSync(join(dir, '.timecoin'))) throw new Error('not a fresh checkout');
  const port = (await portFree(24201)) ? 24201 : await freePort();
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TIMECOIN_') && v !== undefined) env[k] = v;
  if (port !== 24201) env.TIMECOIN_RPC_PORT = String(port);
  const t0 = performance.now();
  const child = spawn('npm', ['start'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<string>((r) => child.once('exit', (c, sig) => r(c !== null ? String(c) : String(sig))));
  const deadline = Date.now() + 60_000;
  const poll = async <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited: ${stderr}`);
      try {
        const v = await fn();
        if (v !== undefined) return v;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  try {
    const url = `http://127.0.0.1:${port}/`;
    await poll('/health', async () => ((await fetch(new URL('health', url))).status === 200 ? true : undefined));
    const health = performance.now() - t0;
    const { key, address } = await poll('the banner', async () => {
      const k = /api key:\s+(tc_\S+)/.exec(stderr)?.[1];
      const a = /wallet:\s+(\S+)/.exec(stderr)?.[1];
      return k !== undefined && a !== undefined ? { key: k, address: a } : undefined;
    });
    await poll('a funded wallet', async () => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getaddressbalance', params: [address] }),
      });
      const body = (await res.json()) as { result?: { confirmed: string } };
      return body.result !== undefined && BigInt(body.result.confirmed) > 0n ? true : undefined;
    });
    const funded = performance.now() - t0;
    // npm runs tsx which runs node: signal the whole process group, as Ctrl-C in a terminal does.
    // npm itself then dies of the signal (its usual behaviour); what must hold is that the node
    // closed cleanly once (its `node closed` log line with fatal null) and was not killed by a repeat.
    process.kill(-child.pid!, 'SIGINT');
    await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('no exit in 15 s'), 15_000))]);
    const closed = stdout.split('\n').some((l) => l.includes('"msg":"node closed"') && l.includes('"fatal":null'));
    const exit = closed && !stderr.includes('again, exiting without waiting') ? '0' : `unclean (closed line: ${closed})`;
    return { health, funded, exit, stderr, banner: stderr.slice(0, stderr.indexOf('stop with Ctrl-C') + 60) };
  } finally {
    if (child.exitCode === null) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = Number(process.argv[2] ?? 3);
const health: number[] = [];
const funded: number[] = [];
for (let i = 0; i < runs; i++) {
  const r = await once();
  if (i === 0) process.stderr.write(r.banner + '\n');
  if (r.exit !== '0') throw new Error(`npm start exited ${r.exit} after Ctrl-C; stderr: ${r.stderr}`);
  health.push(r.health);
  funded.push(r.funded);
}
const round = (x: number): number => Math.round(x);
console.log(JSON.stringify({ name: 'npm_start_to_health_ms_max', value: round(Math.max(...health)), unit: 'ms', runs: health.map(round) }));
console.log(JSON.stringify({ name: 'npm_start_to_funded_wallet_ms_max', value: round(Math.max(...funded)), unit: 'ms', runs: funded.map(round) }));

/**
 * The CLI as users install it: `npm run build` (tsc -p tsconfig.build.json → dist/) and then the
 * compiled `dist/src/cli.js` (package.json `bin`) run by plain `node`, without tsx: help, an API
 * key in a temp datadir, a dev node that serves /health and getblockchaininfo over real HTTP
 * (and `status` / `wallet balance` through the same binary) and exits 0 on SIGTERM.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../rpc/apikeys.js';
import { loadConfig } from '../../src/config.js';
import { VERSION } from '../../src/version.js';
import { cleanEnv } from '../unit/cli-harness.js';
import { Rpc, devApiKey, devWallet, freePort, rpcRaw, tempDir, waitFor } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli.js');
const run = promisify(execFile);

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `node dist/src/cli.js …` — plain node, no loader — with a clean environment. */
function spawnBin(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function runBin(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnBin(args, env);
  const code = await Promise.race([p.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timecoin ${args.join(' ')}: no exit in 30 s`)), 30_000))]);
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

const dirs: string[] = [];
const procs: Proc[] = [];

beforeAll(async () => {
  // The real build script, exactly as `npm run build` runs it.
  await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, timeout: 120_000 });
}, 150_000);

afterAll(() => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the built binary (dist/src/cli.js)', () => {
  it('is what package.json `bin` names, keeps its shebang, and its version matches package.json', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; version: string; scripts: Record<string, string> };
    expect(pkg.bin.timecoin).toBe('dist/src/cli.js');
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
    expect(existsSync(BIN)).toBe(true);
    expect(readFileSync(BIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(VERSION).toBe(pkg.version);
  });

  it('--help exits 0 and lists the commands', async () => {
    const r = await runBin(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['start', 'apikey', 'wallet', 'status', 'init', 'masternode']) expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    const start = await runBin(['start', '--help']);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('--datadir');
  });

  it('apikey create writes a hashed key into a temp datadir and prints only the key', async () => {
    const datadir = tempDir('timecoin-bin-');
    dirs.push(datadir);
    const r = await runBin(['apikey', 'create', '--scope', 'read', '--name', 'bin', '--datadir', datadir]);
    expect(r.code).toBe(0);
    const key = r.stdout.trim();
    expect(key).toMatch(/^tc_[A-Za-z0-9_-]{43}$/);
    const file = readFileSync(join(datadir, 'apikeys.json'), 'utf8');
    expect(file).not.toContain(key);
    expect(new ApiKeyStore(datadir).list().map((k) => k.name)).toEqual(['bin']);
    const bad = await runBin(['apikey', 'create', '--scope', 'nope', '--datadir', datadir]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^timecoin: /);
  });

  it('start --dev serves /health and getblockchaininfo with the printed key, and exits 0 on SIGTERM', async () => {
    const datadir = tempDir('timecoin-bin-');
    dirs.push(datadir);
    const port = await freePort();
    const p = spawnBin(['start', '--dev', '--datadir', datadir, '--rpc-port', String(port)]);
    procs.push(p);
    const url = `http://127.0.0.1:${port}/`;
    await waitFor(
      '/health 200 from the built binary',
      async () => {
        if (p.child.exitCode !== null) throw new Error(`exited early (${p.child.exitCode}): ${p.stderr()}`);
        return (await fetch(new URL('health', url))).status === 200 ? true : undefined;
      },
      30_000,
      100,
    );
    // The banner names the URL, the key and the wallet; the key is the one in dev-apikey.
    const key = devApiKey(datadir);
    await waitFor('the banner', () => (p.stderr().includes('stop with Ctrl-C') ? true : undefined), 5_000);
    const printed = /api key:\s+(tc_[A-Za-z0-9_-]{43})/.exec(p.stderr())?.[1];
    expect(printed).toBe(key);
    expect(p.stderr()).toContain(`rpc:      ${url}`);
    expect(p.stderr()).toContain(devWallet(datadir).address);

    const rpc = new Rpc(url, key);
    const info = await rpc.call<{ chain: string; blocks: number; chainid: string }>('getblockchaininfo');
    expect(info).toMatchObject({ chain: 'dev', blocks: 0 });
    expect(info.chainid).toMatch(/^[0-9a-f]{64}$/);
    expect(await rpc.call('getnetworkinfo')).toMatchObject({ version: VERSION });
    expect((await rpcRaw(url, null, 'getblockchaininfo')).status).toBe(401);
    // The new dev datadir names its network, so client commands given only --datadir find the dev ports.
    expect(JSON.parse(readFileSync(join(datadir, 'config.json'), 'utf8'))).toEqual({ network: 'dev' });
    expect(loadConfig({ datadir, env: {} })).toMatchObject({ network: 'dev', rpc: { port: 24201 } });
    // Client commands through the built binary too, against this node.
    const client = ['--rpc-url', url, '--api-key-file', join(datadir, 'dev-apikey'), '--datadir', datadir];
    const status = await runBin(['status', ...client]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^chain\s+dev$/m);
    const balance = await runBin(['wallet', 'balance', devWallet(datadir).address, '--json', ...client]);
    expect(balance.code, balance.stderr).toBe(0);
    expect(JSON.parse(balance.stdout)).toMatchObject({ confirmed: '100000000000000' });

    p.child.kill('SIGTERM');
    const code = await Promise.race([p.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit 15 s after SIGTERM')), 15_000))]);
    expect(code).toBe(0);
    // JSON log lines on stdout, the key never among them.
    const lines = p.stdout().trim().split('\n').map((l) => JSON.parse(l) as { module?: string; msg?: string });
    expect(lines.some((l) => l.module === 'node' && l.msg === 'node closed')).toBe(true);
    expect(p.stdout()).not.toContain(key);
  });
});

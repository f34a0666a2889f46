/**
 * Runs the real `timecoin` CLI (`node --import tsx src/cli.ts …`) as a child process, with an
 * environment stripped of the caller's TIMECOIN_* variables and a temporary HOME, so tests never
 * read or write the developer's own wallet or data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..', '..');
const CLI = join(REPO, 'src', 'cli.ts');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function tempDir(prefix = 'timecoin-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A clean environment: no TIMECOIN_* from the caller, HOME in a temp dir. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TIMECOIN_') && v !== undefined) env[k] = v;
  env.HOME = tempDir('timecoin-home-');
  return { ...env, ...extra };
}

/** Start the CLI; the caller owns the child (used for the long-running dev node). */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv(), cwd = REPO): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Run the CLI to completion (stdin closed, so it is never a TTY). */
export function runCli(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawnCli(args, opts.env ?? cleanEnv(), opts.cwd ?? REPO);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timecoin ${args.join(' ')} did not finish in time; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** SPEC §6: exit 1 and exactly one line on stderr, `timecoin: …`, without a stack trace. */
export function oneLineError(r: CliResult): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  if (r.code !== 1 || lines.length !== 1 || !lines[0]!.startsWith('timecoin: ') || /\n\s+at /.test(r.stderr)) {
    throw new Error(`expected exit 1 with one stderr line, got code ${r.code}, stderr ${JSON.stringify(r.stderr)}, stdout ${JSON.stringify(r.stdout)}`);
  }
  return lines[0]!;
}

/** A file holding `text` (for passphrases and keys), mode 0600. */
export function secretFile(dir: string, name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text, { mode: 0o600 });
  return f;
}

/** A TCP port that was free a moment ago (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

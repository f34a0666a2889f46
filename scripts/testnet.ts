/**
 * `npm run testnet [-- --validators N --out DIR --base-port P]`: a local testnet as processes.
 * Writes the testnet files with `timecoin testnet` logic (src/commands/testnet.ts) unless DIR
 * already holds one, starts `timecoin start --datadir DIR/nodeI` for every node (JSON logs to
 * DIR/nodeI/node.log), prints the RPC URLs, the API key file and the faucet wallet, and stops
 * every node on Ctrl-C (SIGTERM to each; a second Ctrl-C kills them). If any node exits on its
 * own, the others are stopped too and the exit code is 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestnet, DEFAULT_TESTNET_BASE_PORT, FAUCET_WALLET_FILE, nodeProcessEnv, TESTNET_APIKEY_FILE } from '../src/commands/testnet.js';

const { values } = parseArgs({
  options: {
    validators: { type: 'string', default: '4' },
    out: { type: 'string', default: '.timecoin/testnet' },
    'base-port': { type: 'string', default: String(DEFAULT_TESTNET_BASE_PORT) },
  },
});
const dir = resolve(values.out);
const root = resolve(import.meta.dirname, '..');

async function main(): Promise<void> {
  if (!existsSync(join(dir, 'genesis.json'))) {
    await createTestnet({ validators: Number(values.validators), out: dir, basePort: Number(values['base-port']) });
    process.stderr.write(`created testnet in ${dir}\n`);
  } else process.stderr.write(`resuming testnet in ${dir}\n`);
  const nodes = readdirSync(dir).filter((d) => /^node\d+$/.test(d)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  const procs: ChildProcess[] = [];
  let stopping = false;
  const stopAll = (signal: NodeJS.Signals): void => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill(signal);
  };
  for (const name of nodes) {
    const datadir = join(dir, name);
    const log = createWriteStream(join(datadir, 'node.log'), { flags: 'a' });
    const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli.ts'), 'start', '--datadir', datadir], {
      cwd: root,
      env: nodeProcessEnv(process.env), // the memory settings operators run with
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: a terminal's Ctrl-C reaches only this script, which then sends each node
      // ONE SIGTERM (a node treats a second signal as "exit now").
      detached: true,
    });
    p.stdout!.pipe(log);
    p.stderr!.on('data', (b: Buffer) => process.stderr.write(`[${name}] ${b.toString()}`));
    p.once('exit', (code, sig) => {
      if (!stopping) {
        process.stderr.write(`[${name}] exited (${code ?? sig}); stopping the testnet\n`);
        stopping = true;
        process.exitCode = 1;
        stopAll('SIGTERM');
      }
    });
    procs.push(p);
    const cfg = JSON.parse(readFileSync(join(datadir, 'config.json'), 'utf8')) as { rpc: { port: number }; p2p: { port: number } };
    process.stderr.write(`[${name}] rpc http://127.0.0.1:${cfg.rpc.port}/  p2p ${cfg.p2p.port}  logs ${join(datadir, 'node.log')}\n`);
  }
  const faucet = JSON.parse(readFileSync(join(dir, FAUCET_WALLET_FILE), 'utf8')) as { address: string };
  process.stderr.write(`api key: ${join(dir, TESTNET_APIKEY_FILE)}\nfaucet:  ${faucet.address} (${join(dir, FAUCET_WALLET_FILE)})\nstop with Ctrl-C\n`);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    stopping = true;
    stopAll(++signals > 1 ? 'SIGKILL' : 'SIGTERM');
    if (signals === 1) process.stderr.write(`${sig}: stopping ${procs.length} nodes\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once('exit', r)))));
}

main().catch((err: Error) => {
  process.stderr.write(`testnet: ${err.message}\n`);
  process.exitCode = 1;
});

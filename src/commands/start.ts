/**
 * `timecoin start [--dev] [--datadir D] [--rpc-port P] [--p2p-port Q] [--config F]` (SPEC §6):
 * resolve the configuration (flags > TIMECOIN_* > config file > defaults), run the node until
 * SIGINT/SIGTERM or the `stop` RPC, then close it cleanly. A bad config value is one line naming
 * the key (thrown for src/cli.ts to print, exit 1). With --dev the RPC URL, the API key and the
 * dev wallet address are printed on stderr at start (stdout carries the JSON log lines).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type ConfigFlags } from '../config.js';
import { DEV_APIKEY_FILE, DEV_WALLET_FILE } from '../dev-chain.js';
import { createLogger } from '../logger.js';
import { Node } from '../node.js';

interface StartFlags {
  dev?: boolean;
  datadir?: string;
  rpcPort?: string;
  rpcHost?: string;
  p2pPort?: string;
  config?: string;
  network?: string;
  logLevel?: string;
}

function banner(node: Node, datadir: string): string {
  const dev = node.dev!;
  const call = `{"jsonrpc":"2.0","id":1,"method":"getaddressbalance","params":["${dev.wallet.address}"]}`;
  return [
    `timecoin dev node running (${dev.created ? 'new chain' : 'resumed'}); JSON logs follow on stdout`,
    `  rpc:      ${node.rpcUrl}`,
    `  api key:  ${dev.apiKey}`,
    `            saved in ${join(datadir, DEV_APIKEY_FILE)}; send it as "Authorization: Bearer <key>"`,
    `  wallet:   ${dev.wallet.address}`,
    `            funded by genesis; address and keys in ${join(datadir, DEV_WALLET_FILE)}`,
    `  datadir:  ${datadir}`,
    `  try:      curl -s -H 'Authorization: Bearer ${dev.apiKey}' -d '${call}' ${node.rpcUrl}`,
    '  stop with Ctrl-C (the next start resumes this chain)',
    '',
  ].join('\n');
}

/** Run a node until it is stopped; resolves when it has closed, throws if it stopped on an error. */
export async function runStart(flags: StartFlags, stderr: (t: string) => void = (t) => void process.stderr.write(t)): Promise<void> {
  const configFlags: ConfigFlags = {
    ...(flags.dev === true ? { dev: true } : {}),
    ...(flags.config !== undefined ? { config: flags.config } : {}),
    ...(flags.network !== undefined ? { network: flags.network } : {}),
    ...(flags.datadir !== undefined ? { datadir: flags.datadir } : {}),
    ...(flags.rpcHost !== undefined ? { rpcHost: flags.rpcHost } : {}),
    ...(flags.rpcPort !== undefined ? { rpcPort: flags.rpcPort } : {}),
    ...(flags.p2pPort !== undefined ? { p2pPort: flags.p2pPort } : {}),
    ...(flags.logLevel !== undefined ? { logLevel: flags.logLevel } : {}),
  };
  const config = loadConfig({ flags: configFlags });
  const logger = createLogger({ level: config.log.level, base: { network: config.network } });
  const node = await Node.create({ config, logger });
  if (node.dev !== null) stderr(banner(node, config.datadir));
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      // A second signal means "now": LevelDB batches are atomic, so the store stays consistent.
      stderr(`timecoin: ${sig} again, exiting without waiting\n`);
      process.exit(130);
    }
    logger.info({ module: 'node', signal: sig }, 'shutting down');
    void node.close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const exit = await node.exited;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (exit.fatal !== null) throw new Error(`node stopped: ${exit.fatal.message}`);
}

/** Adds the `start` command to `program`. */
export function registerStartCommand(program: Command): Command {
  return program
    .command('start')
    .description('run a node (--dev: a single-validator development chain with a funded wallet)')
    .option('--dev', 'single-validator development chain (default datadir ./.timecoin/dev), created on first start')
    .option('--datadir <dir>', 'data directory')
    .option('--rpc-port <port>', 'RPC port')
    .option('--rpc-host <host>', 'RPC bind address (default 127.0.0.1)')
    .option('--p2p-port <port>', 'P2P port')
    .option('--network <name>', 'mainnet, testnet or dev')
    .option('--config <file>', 'config file (default <datadir>/config.json)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .action((o: StartFlags) => runStart(o));
}

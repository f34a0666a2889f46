#!/usr/bin/env node
/**
 * The `timecoin` command line. Commands are added as their issues land; every failure is one
 * clear line on stderr and exit code 1 (SPEC §6), with the stack only under --verbose.
 */
// First: libp2p 3 needs Promise.withResolvers, which Node 20 lacks (docs/p2p.md).
import '../p2p/polyfill.js';
import { Command, CommanderError } from 'commander';
import { registerApikeyCommand } from './commands/apikey.js';
import { registerStartCommand } from './commands/start.js';
import { registerClientCommands } from './commands/index.js';
import { drainLogs } from './log-destination.js';
import { VERSION } from './version.js';

const program = new Command()
  .name('timecoin')
  .description('TIME Coin-style blockchain node: stake-backed masternodes running PBFT over a LevelDB UTXO store')
  .version(VERSION, '-V, --version', 'print the version')
  .option('--verbose', 'print stack traces on errors')
  .exitOverride();

registerApikeyCommand(program);
registerClientCommands(program);

registerStartCommand(program);

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    const verbose = program.opts<{ verbose?: boolean }>().verbose === true;
    process.stderr.write(`timecoin: ${verbose && err instanceof Error ? err.stack : (err as Error).message}\n`);
    process.exitCode = 1;
  }
  // A node's last log lines (a fatal error's among them) leave before the process does; a log
  // reader that stopped reading is not waited for — its pending write would keep us alive.
  if (!(await drainLogs(2_000))) process.exit();
}

void main();

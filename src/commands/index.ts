/**
 * The client-side commands of SPEC §6 (issue 5): `wallet`, `masternode`, `status`, `init`, and
 * `testnet` (writes a local testnet's files).
 * src/cli.ts calls `registerClientCommands(program)` once.
 */
import type { Command } from 'commander';
import { registerInitCommand } from './init.js';
import { registerMasternodeCommand } from './masternode.js';
import { registerStatusCommand } from './status.js';
import { registerTestnetCommand } from './testnet.js';
import { registerWalletCommand, type ClientIo } from './wallet.js';

export function registerClientCommands(program: Command, io: ClientIo = {}): void {
  registerInitCommand(program, io);
  registerWalletCommand(program, io);
  registerMasternodeCommand(program, io);
  registerStatusCommand(program, io);
  registerTestnetCommand(program, io);
}

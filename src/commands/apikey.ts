/**
 * `timecoin apikey create|list|revoke` (SPEC §6). `create` prints the new key, and only the key,
 * on stdout (so `KEY=$(timecoin apikey create --scope read)` works); everything else goes to
 * stderr. Errors are thrown as one-line `Error`s for src/cli.ts to print (exit 1).
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { ApiKeyStore, parseScopes, type KeyRecord } from '../../rpc/apikeys.js';
import { loadConfig } from '../config.js';

export interface ApikeyCommandOptions {
  /** The data directory when `--datadir` is absent; default: `loadConfig().datadir`, as the node. */
  defaultDatadir?: () => string;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

/** Without `--datadir`: the node's own resolution (TIMECOIN_DATADIR, TIMECOIN_NETWORK, defaults). */
const configDatadir = (): string => loadConfig().datadir;

function parseRate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1_000_000) {
    throw new Error(`invalid --rate '${value}': expected requests per second, a number above 0 and at most 1000000`);
  }
  return n;
}

function describe(k: KeyRecord): string {
  const rate = k.ratePerSecond === null ? 'default' : `${k.ratePerSecond}/s`;
  return `${k.id}\t${k.name ?? '-'}\t${k.scopes.join(',')}\t${rate}\t${k.createdAt}`;
}

/** Adds the `apikey` command group to `program`. */
export function registerApikeyCommand(program: Command, options: ApikeyCommandOptions = {}): Command {
  const out = options.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = options.stderr ?? ((t: string) => void process.stderr.write(t));
  const datadirOf = (flag: string | undefined): string => path.resolve(flag ?? (options.defaultDatadir ?? configDatadir)());

  const apikey = program.command('apikey').description('manage RPC API keys (a running node picks up changes without a restart)');

  apikey
    .command('create')
    .description('create an API key and print it once on stdout')
    .requiredOption('--scope <scopes>', 'comma-separated scopes: read, submit, admin (each explicit; admin does not imply read)')
    .option('--name <name>', 'a unique name for the key')
    .option('--rate <perSecond>', 'requests per second allowed for this key (default: the node setting)')
    .option('--datadir <dir>', 'data directory holding apikeys.json')
    .action((o: { scope: string; name?: string; rate?: string; datadir?: string }) => {
      const scopes = parseScopes(o.scope);
      const rate = o.rate === undefined ? undefined : parseRate(o.rate);
      const store = new ApiKeyStore(datadirOf(o.datadir));
      const { key, record } = store.create({
        scopes,
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(rate !== undefined ? { ratePerSecond: rate } : {}),
      });
      out(`${key}\n`);
      err(
        `created API key ${record.id}${record.name === null ? '' : ` (${record.name})`} with scopes ${record.scopes.join(',')} ` +
          `in ${store.file}; it is shown only this once\n`,
      );
    });

  apikey
    .command('list')
    .description('list API keys (ids, names, scopes; never the keys)')
    .option('--datadir <dir>', 'data directory holding apikeys.json')
    .option('--json', 'print a JSON array')
    .action((o: { datadir?: string; json?: boolean }) => {
      const store = new ApiKeyStore(datadirOf(o.datadir));
      const keys = store.list();
      if (o.json) {
        out(`${JSON.stringify(keys)}\n`);
        return;
      }
      if (keys.length === 0) {
        err(`no API keys in ${store.file}\n`);
        return;
      }
      out(`id\tname\tscopes\trate\tcreated\n${keys.map(describe).join('\n')}\n`);
    });

  apikey
    .command('revoke')
    .description('revoke an API key by id or name')
    .argument('<idOrName>', 'the key id (k…) or its name')
    .option('--datadir <dir>', 'data directory holding apikeys.json')
    .action((idOrName: string, o: { datadir?: string }) => {
      const store = new ApiKeyStore(datadirOf(o.datadir));
      const k = store.revoke(idOrName);
      err(`revoked API key ${k.id}${k.name === null ? '' : ` (${k.name})`} in ${store.file}\n`);
    });

  return apikey;
}

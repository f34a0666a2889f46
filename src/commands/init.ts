/**
 * `timecoin init [--network N] [--datadir D]`: a new data directory holding a `config.json`
 * with the network's defaults (every key of docs/config.md, so an operator sees what can be
 * tuned) and an encrypted operator key `operator.key` that `config.json` points at. Nothing
 * existing is ever replaced: a present config.json or operator.key is an error and nothing is
 * written. stdout gets the operator public key alone (for `masternode register --operator-pubkey`).
 */
import { existsSync, mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { NETWORKS, type NetworkName } from '../../chain/constants.js';
import { generateSecretKey } from '../../chain/ed25519.js';
import { defaultDatadir, loadConfig } from '../config.js';
import { FIELDS } from '../config-schema.js';
import { keyFilePayload, writeKeyFile } from '../keystore.js';
import { getPassphrase } from '../passphrase.js';
import type { ClientIo } from './wallet.js';

export const OPERATOR_KEY_FILE = 'operator.key';
export const OPERATOR_PASSPHRASE_ENV = 'TIMECOIN_OPERATOR_PASSPHRASE';

function parsePort(v: string, flag: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new Error(`invalid ${flag} ${JSON.stringify(v.slice(0, 20))}: expected 1–65535`);
  return Number(v);
}

/** The defaults of every config key for `network` (docs/config.md), as a config.json object. */
export function defaultConfigJson(network: NetworkName, ports: { rpc?: number; p2p?: number }): Record<string, unknown> {
  const out: Record<string, unknown> = { network };
  for (const f of FIELDS) {
    if (f.key === 'network' || f.key === 'datadir') continue;
    let v = f.def(network);
    if (v === undefined) continue; // optional keys (TLS) stay unset
    if (typeof v === 'bigint') v = v.toString(); // config.json takes units as digit strings
    const parts = f.key.split('.');
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = v;
  }
  const rpc = out.rpc as Record<string, unknown>;
  const p2p = out.p2p as Record<string, unknown>;
  if (ports.rpc !== undefined) rpc.port = ports.rpc;
  if (ports.p2p !== undefined) p2p.port = ports.p2p;
  out.operatorKeyFile = OPERATOR_KEY_FILE; // relative: resolved against the datadir
  return out;
}

/** Adds `init` to `program`. */
export function registerInitCommand(program: Command, io: ClientIo = {}): Command {
  const out = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = io.stderr ?? ((t: string) => void process.stderr.write(t));
  return program
    .command('init')
    .description('create a data directory: config.json with the network defaults and an encrypted operator key')
    .option('--network <name>', 'mainnet, testnet or dev (default: TIMECOIN_NETWORK, else mainnet)')
    .option('--datadir <dir>', 'directory to create (default: TIMECOIN_DATADIR, else the network default)')
    .option('--rpc-port <port>', 'rpc.port to write instead of the network default')
    .option('--p2p-port <port>', 'p2p.port to write instead of the network default')
    .option('--passphrase-file <file>', `file holding the operator key passphrase (default: ${OPERATOR_PASSPHRASE_ENV}, else asked twice)`)
    .action(async (o: { network?: string; datadir?: string; rpcPort?: string; p2pPort?: string; passphraseFile?: string }) => {
      const netText = o.network ?? process.env.TIMECOIN_NETWORK ?? 'mainnet';
      if (!Object.hasOwn(NETWORKS, netText)) throw new Error(`invalid --network ${JSON.stringify(netText.slice(0, 40))}: expected one of ${Object.keys(NETWORKS).join(', ')}`);
      const network = netText as NetworkName;
      const ddText = o.datadir ?? process.env.TIMECOIN_DATADIR;
      if (ddText === '') throw new Error('the data directory path is empty');
      const datadir = ddText !== undefined ? resolve(ddText) : defaultDatadir(network, process.cwd(), homedir());
      const ports = {
        ...(o.rpcPort !== undefined ? { rpc: parsePort(o.rpcPort, '--rpc-port') } : {}),
        ...(o.p2pPort !== undefined ? { p2p: parsePort(o.p2pPort, '--p2p-port') } : {}),
      };
      const configFile = join(datadir, 'config.json');
      const keyFile = join(datadir, OPERATOR_KEY_FILE);
      for (const f of [configFile, keyFile]) {
        if (existsSync(f)) throw new Error(`${f} already exists; refusing to overwrite an initialized data directory`);
      }
      if (existsSync(datadir) && !statSync(datadir).isDirectory()) throw new Error(`${datadir} exists and is not a directory`);
      const config = defaultConfigJson(network, ports);
      if ((config.rpc as { port: number }).port === (config.p2p as { port: number }).port) throw new Error('rpc.port and p2p.port must differ');
      // Ask before creating anything, so an aborted prompt leaves no half-made directory.
      const passphrase = await getPassphrase({ file: o.passphraseFile, envName: OPERATOR_PASSPHRASE_ENV, fileFlag: '--passphrase-file', what: 'operator key', confirm: true });

      mkdirSync(datadir, { recursive: true, mode: 0o700 });
      writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
      const secret = generateSecretKey();
      const payload = keyFilePayload(secret, network);
      secret.fill(0);
      try {
        // The written file must load exactly as the node will load it (empty env: only the file counts).
        loadConfig({ flags: { datadir }, env: {} });
        await writeKeyFile(keyFile, payload, passphrase);
      } catch (e) {
        unlinkSync(configFile);
        throw e;
      } finally {
        payload.secretKey.fill(0);
      }
      out(`${Buffer.from(payload.publicKey).toString('hex')}\n`);
      err(
        `initialized ${network} data directory ${datadir}: ${configFile}, encrypted operator key ${keyFile} ` +
          '(the line above is its public key)\n',
      );
    });
}

/**
 * Options shared by the client commands (wallet, masternode, status): which node to talk to,
 * with which API key, and which configuration. Precedence follows SPEC §6: flags > environment
 * (`TIMECOIN_*`) > `<datadir>/config.json` > defaults, with `src/config.ts loadConfig` doing the
 * config part exactly as the node does, so a client finds the node's RPC port without flags.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { RpcClient, checkApiKey } from '../rpc-client.js';

/** Options every client command accepts (commander's camel-cased names). */
export interface ConfigOptions {
  datadir?: string;
  network?: string;
  config?: string;
}

export interface RpcOptions extends ConfigOptions {
  rpcUrl?: string;
  apiKey?: string;
  apiKeyFile?: string;
}

/** `--datadir`, `--network`, `--config`: the same meaning as for `timecoin start`. */
export function addConfigOptions(cmd: Command): Command {
  return cmd
    .option('--datadir <dir>', 'data directory (default: the node\'s, from TIMECOIN_DATADIR / network)')
    .option('--network <name>', 'mainnet, testnet or dev (default: TIMECOIN_NETWORK, config.json, mainnet)')
    .option('--config <file>', 'config file (default: <datadir>/config.json)');
}

/** Config options plus the RPC endpoint and API key. */
export function addRpcOptions(cmd: Command): Command {
  return addConfigOptions(cmd)
    .option('--rpc-url <url>', 'node RPC URL (default: TIMECOIN_RPC_URL, else http://127.0.0.1:<rpc.port> from the config)')
    .option('--api-key-file <file>', 'file holding the API key, e.g. <datadir>/dev-apikey (default: TIMECOIN_API_KEY_FILE)')
    .option('--api-key <key>', 'API key (visible to other local users in the process list; prefer --api-key-file or TIMECOIN_API_KEY)');
}

/** The node configuration as `timecoin start` would resolve it for the same flags and environment. */
export function clientConfig(o: ConfigOptions, operatorKeyFile?: string): Config {
  return loadConfig({
    flags: {
      ...(operatorKeyFile !== undefined ? { operatorKeyFile } : {}),
      ...(o.datadir !== undefined ? { datadir: o.datadir } : {}),
      ...(o.network !== undefined ? { network: o.network } : {}),
      ...(o.config !== undefined ? { config: o.config } : {}),
    },
  });
}

/** `http(s)://host:port` of the configured node; a wildcard bind address is dialled on loopback. */
export function configRpcUrl(c: Config): string {
  let host = c.rpc.host;
  if (host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  if (host.includes(':')) host = `[${host}]`;
  return `${c.rpc.tls === null ? 'http' : 'https'}://${host}:${c.rpc.port}`;
}

function readApiKeyFile(file: string, from: string): string {
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    throw new Error(`cannot read the API key file ${file} (${from}): ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!st.isFile() || st.size > 4096) throw new Error(`${file} (${from}) is not an API key file`);
  return checkApiKey(readFileSync(file, 'utf8'), `${file}`);
}

/**
 * The API key: --api-key / --api-key-file, then TIMECOIN_API_KEY / TIMECOIN_API_KEY_FILE, then
 * `<datadir>/dev-apikey` when it exists (written by `timecoin start --dev`), else none (the node
 * will answer 401 and the message says how to pass one).
 */
export function resolveApiKey(o: RpcOptions, datadir: string, env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  if (o.apiKey !== undefined && o.apiKeyFile !== undefined) throw new Error('give either --api-key or --api-key-file, not both');
  if (o.apiKey !== undefined) return checkApiKey(o.apiKey, '--api-key');
  if (o.apiKeyFile !== undefined) return readApiKeyFile(o.apiKeyFile, '--api-key-file');
  if (env.TIMECOIN_API_KEY !== undefined) return checkApiKey(env.TIMECOIN_API_KEY, 'TIMECOIN_API_KEY');
  if (env.TIMECOIN_API_KEY_FILE !== undefined) return readApiKeyFile(env.TIMECOIN_API_KEY_FILE, 'TIMECOIN_API_KEY_FILE');
  const devKey = join(datadir, 'dev-apikey');
  return existsSync(devKey) ? readApiKeyFile(devKey, 'the dev node\'s key') : null;
}

/** A client for the node these options point at, with the config it was resolved from. */
export function rpcClient(o: RpcOptions, env: Readonly<Record<string, string | undefined>> = process.env): { client: RpcClient; config: Config } {
  const config = clientConfig(o);
  const url = o.rpcUrl ?? env.TIMECOIN_RPC_URL ?? configRpcUrl(config);
  return { client: new RpcClient({ url, apiKey: resolveApiKey(o, config.datadir, env) }), config };
}

/** Tolerate a method the node does not serve yet (−32601): returns `fallback` instead. */
export async function optionalCall<T>(client: RpcClient, method: string, params: readonly unknown[], fallback: T): Promise<T> {
  try {
    return await client.call<T>(method, params);
  } catch (err) {
    if ((err as { code?: unknown }).code === -32601) return fallback;
    throw err;
  }
}

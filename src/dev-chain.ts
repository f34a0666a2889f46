/**
 * `timecoin start --dev` set-up (SPEC §6): on first start the dev data directory receives a dev
 * wallet, a dev operator (validator) key, an all-scopes API key and the genesis parameters; every
 * later start reuses them, so the same chain resumes. Each file is written atomically and only
 * if missing, so a start interrupted half-way completes the set on the next start.
 *
 * Files (all mode 0600, plain text — a dev chain holds no real value; docs/node.md):
 *   dev-wallet.json    {address, publicKey, privateKey}  hex; privateKey is the 32-byte ed25519 seed
 *   dev-operator.json  {publicKey, privateKey}           the single validator's key
 *   dev-apikey         the API key (read, submit, admin) followed by a newline
 *   genesis.json       the genesis parameters (src/genesis-file.ts)
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeAddress } from '../chain/address.js';
import { UNITS_PER_TIME } from '../chain/constants.js';
import { createSigner, generateSecretKey, publicKeyOf, type Signer } from '../chain/ed25519.js';
import { fromHex, toHex } from '../chain/hash.js';
import { ApiKeyStore } from '../rpc/apikeys.js';
import { writeFileDurably } from './consensus-state.js';
import { GENESIS_FILE, readGenesisFile, writeGenesisFile, type GenesisFile } from './genesis-file.js';

export const DEV_WALLET_FILE = 'dev-wallet.json';
export const DEV_OPERATOR_FILE = 'dev-operator.json';
export const DEV_APIKEY_FILE = 'dev-apikey';
/** What genesis pays the dev wallet: 1,000,000 TIME. */
export const DEV_GENESIS_FUNDS = 1_000_000n * UNITS_PER_TIME;
const DEV_KEY_NAME = 'dev';

/** A key pair as the dev files hold it. */
export interface DevKey {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** Everything the dev node and its operator need to know about the dev data directory. */
export interface DevChain {
  readonly wallet: DevKey & { readonly address: string };
  readonly operator: Signer;
  readonly apiKey: string;
  readonly genesis: GenesisFile;
  /** True when this call created the genesis (the first start). */
  readonly created: boolean;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Read a {publicKey, privateKey} file and check that the two agree. */
export async function readDevKey(file: string): Promise<DevKey> {
  let o: { publicKey?: unknown; privateKey?: unknown };
  try {
    o = JSON.parse(await readFile(file, 'utf8')) as typeof o;
  } catch (err) {
    throw new Error(`${file} is not a readable JSON key file (${(err as Error).message.split('\n')[0]})`);
  }
  const hex64 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  if (!hex64(o.privateKey) || !hex64(o.publicKey)) throw new Error(`${file} must hold 32-byte lowercase hex publicKey and privateKey`);
  const secretKey = fromHex(o.privateKey);
  const publicKey = publicKeyOf(secretKey);
  if (toHex(publicKey) !== o.publicKey) throw new Error(`${file}: publicKey does not belong to privateKey`);
  return { publicKey, secretKey };
}

/** Create `file` with a fresh key (plus `extra` fields) unless it exists; return the key either way. */
async function ensureKeyFile(file: string, extra: (publicKey: Uint8Array) => Record<string, string>): Promise<DevKey> {
  if (!(await exists(file))) {
    const secretKey = generateSecretKey();
    const publicKey = publicKeyOf(secretKey);
    const body = { ...extra(publicKey), publicKey: toHex(publicKey), privateKey: toHex(secretKey) };
    await writeFileDurably(file, JSON.stringify(body, null, 2) + '\n');
  }
  return readDevKey(file);
}

/** Reuse `dev-apikey`, or create an all-scopes key named `dev` and write it there. */
async function ensureApiKey(datadir: string): Promise<string> {
  const file = join(datadir, DEV_APIKEY_FILE);
  if (await exists(file)) {
    const key = (await readFile(file, 'utf8')).trim();
    if (key.length > 0) return key;
  }
  const keys = new ApiKeyStore(datadir);
  // A start killed between the two writes left a key nobody knows: replace it.
  if (keys.list().some((k) => k.name === DEV_KEY_NAME)) keys.revoke(DEV_KEY_NAME);
  const { key } = keys.create({ scopes: ['read', 'submit', 'admin'], name: DEV_KEY_NAME });
  await writeFileDurably(file, key + '\n');
  return key;
}

/**
 * Make sure the dev data directory holds wallet, operator key, API key and genesis parameters.
 * The genesis funds the dev wallet with DEV_GENESIS_FUNDS, and its proposer field names the
 * operator key: on the dev network that field is the single validator (docs/node.md).
 */
export async function ensureDevChain(datadir: string, nowMs: number): Promise<DevChain> {
  const walletKey = await ensureKeyFile(join(datadir, DEV_WALLET_FILE), (pk) => ({ address: encodeAddress(pk, 'dev') }));
  const operatorKey = await ensureKeyFile(join(datadir, DEV_OPERATOR_FILE), () => ({}));
  const apiKey = await ensureApiKey(datadir);
  const genesisPath = join(datadir, GENESIS_FILE);
  const created = !(await exists(genesisPath));
  if (created) {
    // So that client commands given only `--datadir D` find the dev network and its ports.
    const configPath = join(datadir, 'config.json');
    if (!(await exists(configPath))) await writeFileDurably(configPath, JSON.stringify({ network: 'dev' }, null, 2) + '\n');
    await writeGenesisFile(genesisPath, {
      network: 'dev',
      timestampMs: nowMs,
      proposer: operatorKey.publicKey,
      allocations: [{ publicKey: walletKey.publicKey, amount: DEV_GENESIS_FUNDS }],
    });
  }
  const genesis = await readGenesisFile(genesisPath);
  if (genesis.network !== 'dev' || genesis.proposer === null || toHex(genesis.proposer) !== toHex(operatorKey.publicKey)) {
    throw new Error(`${genesisPath} does not describe this dev chain (network dev, proposer = the key in ${DEV_OPERATOR_FILE})`);
  }
  return {
    wallet: { ...walletKey, address: encodeAddress(walletKey.publicKey, 'dev') },
    operator: createSigner(operatorKey.secretKey),
    apiKey,
    genesis,
    created,
  };
}

/**
 * Opening the key a wallet command signs with: the encrypted wallet file (src/keystore.ts;
 * default `<datadir>/wallet.key`) or, for dev and test chains only, the plain dev/faucet wallet
 * JSON `{address, publicKey, privateKey}` that `timecoin start --dev` and `timecoin testnet`
 * write (SPEC §6; unencrypted by design). The secret key leaves this file only inside a Signer.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseAnyAddress } from '../../chain/address.js';
import type { NetworkName } from '../../chain/constants.js';
import { createSigner, publicKeyOf, type Signer } from '../../chain/ed25519.js';
import type { Config } from '../config.js';
import { readKeyFile } from '../keystore.js';
import { getPassphrase } from '../passphrase.js';

export interface WalletOptions {
  file?: string;
  devWallet?: string;
  passphraseFile?: string;
}

/** A wallet key opened for signing. */
export interface LoadedWallet {
  readonly signer: Signer;
  readonly publicKey: Uint8Array;
  readonly address: string;
  readonly network: NetworkName;
  /** Where it came from, for messages. */
  readonly source: string;
}

export const WALLET_FILE_NAME = 'wallet.key';
export const WALLET_PASSPHRASE_ENV = 'TIMECOIN_WALLET_PASSPHRASE';

/** `--file`, `--passphrase-file`, `--dev-wallet`. */
export function addWalletOptions(cmd: Command): Command {
  return cmd
    .option('--file <file>', `encrypted wallet file (default: TIMECOIN_WALLET_FILE, else <datadir>/${WALLET_FILE_NAME})`)
    .option('--passphrase-file <file>', `file holding the wallet passphrase (default: ${WALLET_PASSPHRASE_ENV}, else a hidden prompt)`)
    .option('--dev-wallet <file>', 'use a plain dev/faucet wallet JSON instead (UNENCRYPTED; dev and testnet chains only)');
}

/** The encrypted wallet file these options name. */
export function walletFilePath(o: WalletOptions, config: Config, env = process.env): string {
  return resolve(o.file ?? env.TIMECOIN_WALLET_FILE ?? join(config.datadir, WALLET_FILE_NAME));
}

const HEX64 = /^[0-9a-fA-F]{64}$/;
const HEX128 = /^[0-9a-fA-F]{128}$/;

/**
 * Read and check a dev wallet JSON: the private key (a 32-byte seed, or seed‖publicKey as some
 * tools write it), the public key and the address must all agree. Mainnet is refused: real money
 * never sits in an unencrypted file this CLI will open.
 */
export function readDevWallet(file: string): { secretKey: Uint8Array; publicKey: Uint8Array; address: string; network: NetworkName } {
  const bad = (why: string): never => {
    throw new Error(`dev wallet ${file}: ${why}`);
  };
  let text = '';
  try {
    if (statSync(file).size > 65536) bad('too large to be a dev wallet');
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('dev wallet')) throw err;
    bad(`cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return bad('not valid JSON');
  }
  const o = (typeof obj === 'object' && obj !== null ? obj : {}) as Record<string, unknown>;
  const { address, publicKey, privateKey } = o;
  if (typeof privateKey !== 'string' || !(HEX64.test(privateKey) || HEX128.test(privateKey))) bad('privateKey must be 32 bytes of hex');
  if (typeof publicKey !== 'string' || !HEX64.test(publicKey)) bad('publicKey must be 32 bytes of hex');
  if (typeof address !== 'string') bad('address missing');
  const raw = Buffer.from(privateKey as string, 'hex');
  const secretKey = Uint8Array.from(raw.subarray(0, 32));
  raw.fill(0);
  const pk = publicKeyOf(secretKey);
  const pkHex = Buffer.from(pk).toString('hex');
  if (pkHex !== (publicKey as string).toLowerCase()) bad('publicKey does not belong to privateKey');
  if ((privateKey as string).length === 128 && (privateKey as string).slice(64).toLowerCase() !== pkHex) bad('privateKey does not end with its publicKey');
  let parsed;
  try {
    parsed = parseAnyAddress(address as string);
  } catch (err) {
    return bad(`address: ${(err as Error).message}`);
  }
  if (Buffer.from(parsed.publicKey).toString('hex') !== pkHex) bad('address does not belong to publicKey');
  if (parsed.network === 'mainnet') bad('an unencrypted wallet is refused on mainnet; use an encrypted wallet (timecoin wallet new)');
  return { secretKey, publicKey: pk, address: (address as string).toLowerCase(), network: parsed.network };
}

/** The network of a `--dev-wallet` file, so its commands default to that network's RPC port. */
export function devWalletNetwork(o: WalletOptions): NetworkName | undefined {
  return o.devWallet === undefined ? undefined : readDevWallet(o.devWallet).network;
}

/** Open the wallet for signing (asks for the passphrase of an encrypted file). */
export async function loadWallet(o: WalletOptions, config: Config): Promise<LoadedWallet> {
  if (o.devWallet !== undefined && (o.file !== undefined || o.passphraseFile !== undefined)) {
    throw new Error('--dev-wallet cannot be combined with --file or --passphrase-file');
  }
  if (o.devWallet !== undefined) {
    const w = readDevWallet(o.devWallet);
    const signer = createSigner(w.secretKey);
    w.secretKey.fill(0);
    return { signer, publicKey: w.publicKey, address: w.address, network: w.network, source: resolve(o.devWallet) };
  }
  const file = walletFilePath(o, config);
  try {
    statSync(file);
  } catch {
    throw new Error(`no wallet file at ${file}; create one with \`timecoin wallet new\` or name it with --file`);
  }
  const passphrase = await getPassphrase({ file: o.passphraseFile, envName: WALLET_PASSPHRASE_ENV, fileFlag: '--passphrase-file', what: 'wallet' });
  let payload;
  try {
    payload = await readKeyFile(file, passphrase);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  const signer = createSigner(payload.secretKey);
  payload.secretKey.fill(0);
  return { signer, publicKey: payload.publicKey, address: payload.address, network: payload.network, source: file };
}

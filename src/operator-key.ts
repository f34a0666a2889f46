/**
 * The operator (validator) key of a non-dev node, from `operatorKeyFile` (docs/node.md):
 *  - an encrypted key file written by `timecoin init` (docs/keystore.md), opened with the
 *    passphrase in TIMECOIN_OPERATOR_PASSPHRASE (a node runs unattended: it never prompts);
 *  - or a plain JSON `{publicKey, privateKey}` file (mode 0600), the form `timecoin testnet`
 *    writes for local throw-away testnets, like the dev node's `dev-operator.json`. A plain file
 *    is refused on mainnet.
 * Unset: the node follows the chain but signs nothing.
 */
import { readFile } from 'node:fs/promises';
import type { NetworkName } from '../chain/constants.js';
import { createSigner, type Signer } from '../chain/ed25519.js';
import { OPERATOR_PASSPHRASE_ENV } from './commands/init.js';
import { readDevKey } from './dev-chain.js';
import { readKeyFile } from './keystore.js';

export async function loadOperatorKey(
  file: string | null,
  network: NetworkName,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ signer: Signer; secretKey: Uint8Array } | null> {
  if (file === null) return null;
  const head = (await readFile(file)).subarray(0, 1).toString('latin1');
  if (head === '{') {
    if (network === 'mainnet') throw new Error(`${file}: a plain (unencrypted) operator key is refused on mainnet; use timecoin init`);
    const k = await readDevKey(file);
    return { signer: createSigner(k.secretKey), secretKey: k.secretKey };
  }
  const passphrase = env[OPERATOR_PASSPHRASE_ENV];
  if (passphrase === undefined || passphrase === '') throw new Error(`${file} is encrypted: set ${OPERATOR_PASSPHRASE_ENV} to its passphrase`);
  const payload = await readKeyFile(file, passphrase);
  if (payload.network !== network) throw new Error(`${file} holds a ${payload.network} key, but this node runs ${network}`);
  return { signer: createSigner(payload.secretKey), secretKey: payload.secretKey };
}

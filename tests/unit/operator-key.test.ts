/** src/operator-key.ts: the operator key a testnet/mainnet node starts with. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSecretKey, publicKeyOf } from '../../chain/ed25519.js';
import { toHex } from '../../chain/hash.js';
import { keyFilePayload, writeKeyFile } from '../../src/keystore.js';
import { loadOperatorKey } from '../../src/operator-key.js';

const dir = () => mkdtempSync(join(tmpdir(), 'timecoin-opkey-'));

describe('loadOperatorKey', () => {
  it('unset: not a validator', async () => {
    expect(await loadOperatorKey(null, 'testnet', {})).toBe(null);
  });

  it('an encrypted key from timecoin init opens with TIMECOIN_OPERATOR_PASSPHRASE and must match the network', async () => {
    const secret = generateSecretKey();
    const file = join(dir(), 'operator.key');
    await writeKeyFile(file, keyFilePayload(secret, 'testnet'), 'pass phrase');
    const k = await loadOperatorKey(file, 'testnet', { TIMECOIN_OPERATOR_PASSPHRASE: 'pass phrase' });
    expect(toHex(k!.signer.publicKey)).toBe(toHex(publicKeyOf(secret)));
    await expect(loadOperatorKey(file, 'testnet', {})).rejects.toThrow(/set TIMECOIN_OPERATOR_PASSPHRASE/);
    await expect(loadOperatorKey(file, 'testnet', { TIMECOIN_OPERATOR_PASSPHRASE: 'wrong' })).rejects.toThrow();
    await expect(loadOperatorKey(file, 'mainnet', { TIMECOIN_OPERATOR_PASSPHRASE: 'pass phrase' })).rejects.toThrow(/testnet key, but this node runs mainnet/);
  });

  it('a plain JSON key (timecoin testnet) loads on testnet and is refused on mainnet', async () => {
    const secret = generateSecretKey();
    const file = join(dir(), 'operator.json');
    writeFileSync(file, JSON.stringify({ publicKey: toHex(publicKeyOf(secret)), privateKey: toHex(secret) }), { mode: 0o600 });
    expect(toHex((await loadOperatorKey(file, 'testnet', {}))!.signer.publicKey)).toBe(toHex(publicKeyOf(secret)));
    await expect(loadOperatorKey(file, 'mainnet', {})).rejects.toThrow(/refused on mainnet/);
  });
});

/**
 * `timecoin wallet …` through the real CLI, for everything that needs no node: encrypted wallet
 * files, passphrase sources, dev wallet checks, and every input refused before a node or a
 * passphrase is involved (amounts, addresses, flags). Node-backed flows are in cli-node.test.ts.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress } from '../../chain/address.js';
import { generateSecretKey, publicKeyOf } from '../../chain/ed25519.js';
import { cleanEnv, freePort, oneLineError, runCli, secretFile, tempDir } from './cli-harness.js';

const PASS = 'correct horse battery staple';

describe('wallet new / address', () => {
  const dir = tempDir();
  const datadir = join(dir, 'dd');
  const passFile = secretFile(dir, 'pass', `${PASS}\n`); // one trailing newline is not part of it
  let address = '';

  beforeAll(async () => {
    const r = await runCli(['wallet', 'new', '--network', 'dev', '--datadir', datadir, '--passphrase-file', passFile]);
    expect(r.code, r.stderr).toBe(0);
    address = r.stdout.trim();
  });

  it('creates an encrypted file with mode 0600 and prints only the address', () => {
    expect(address).toMatch(/^dtime1[02-9ac-hj-np-z]{52,}$/);
    const file = join(datadir, 'wallet.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(datadir).mode & 0o777).toBe(0o700);
    const bytes = readFileSync(file);
    expect(bytes.subarray(0, 4).toString('ascii')).toBe('TCKS'); // docs/keystore.md envelope
    expect(bytes.includes(Buffer.from(address))).toBe(false); // nothing readable inside
  });

  it('prints the same address when opened with the passphrase (file and env)', async () => {
    const viaFile = await runCli(['wallet', 'address', '--network', 'dev', '--datadir', datadir, '--passphrase-file', passFile]);
    expect(viaFile.code, viaFile.stderr).toBe(0);
    expect(viaFile.stdout).toBe(`${address}\n`);
    const viaEnv = await runCli(['wallet', 'address', '--json', '--file', join(datadir, 'wallet.key')], { env: cleanEnv({ TIMECOIN_WALLET_PASSPHRASE: PASS }) });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    const j = JSON.parse(viaEnv.stdout) as { address: string; publicKey: string; network: string };
    expect(j).toEqual({ address, publicKey: expect.stringMatching(/^[0-9a-f]{64}$/), network: 'dev' });
    expect(viaEnv.stdout + viaEnv.stderr).not.toContain('secret');
  });

  it('refuses a wrong passphrase with one line and exit 1', async () => {
    const wrong = secretFile(dir, 'wrong', 'not the passphrase');
    const line = oneLineError(await runCli(['wallet', 'address', '--network', 'dev', '--datadir', datadir, '--passphrase-file', wrong]));
    expect(line).toMatch(/wrong passphrase or corrupted key file/);
    expect(line).not.toContain('not the passphrase');
  });

  it('refuses to overwrite an existing wallet, leaving it unchanged', async () => {
    const file = join(datadir, 'wallet.key');
    const before = readFileSync(file);
    const line = oneLineError(await runCli(['wallet', 'new', '--network', 'dev', '--datadir', datadir, '--passphrase-file', passFile]));
    expect(line).toMatch(/already exists; refusing to overwrite/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('without a passphrase source and no terminal, says how to give one', async () => {
    const line = oneLineError(await runCli(['wallet', 'address', '--network', 'dev', '--datadir', datadir]));
    expect(line).toMatch(/--passphrase-file.*TIMECOIN_WALLET_PASSPHRASE/);
  });

  it('a missing wallet file and a missing --file directory are clear errors', async () => {
    expect(oneLineError(await runCli(['wallet', 'address', '--file', join(dir, 'nope.key'), '--passphrase-file', passFile]))).toMatch(/no wallet file at/);
    expect(oneLineError(await runCli(['wallet', 'new', '--file', join(dir, 'no', 'such', 'w.key'), '--passphrase-file', passFile]))).toMatch(/does not exist/);
    expect(oneLineError(await runCli(['wallet', 'new', '--file', join(dir, 'x.key'), '--passphrase-file', secretFile(dir, 'empty', '\n')]))).toMatch(/is empty/);
  });
});

describe('wallet send refuses bad input before touching a node', () => {
  const to = encodeAddress(publicKeyOf(generateSecretKey()), 'dev');
  // No node runs at this URL: every case must fail on its input, not on the connection.
  const common = ['--rpc-url', 'http://127.0.0.1:9', '--file', '/nonexistent/wallet.key'];

  it.each([
    ['1.123456789', /more than 8 decimal places/],
    ['-1', /is negative/],
    ['1e5', /exponent/],
    ['abc', /not a decimal number/],
    ['1,5', /not a decimal number/],
    ['.5', /not a decimal number/],
    ['100000001', /above MAX_MONEY/],
    ['0', /below the dust threshold of 0\.00000546 TIME/],
    ['0.00000545', /below the dust threshold/],
  ])('amount %s', async (amount, why) => {
    expect(oneLineError(await runCli(['wallet', 'send', to, amount, ...common]))).toMatch(why);
  });

  it.each([
    ['garbage', /invalid address "garbage": not a bech32m address/],
    [to.slice(0, -1) + (to.endsWith('q') ? 'p' : 'q'), /bad checksum/],
    ['bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', /unknown address prefix "bc"|checksum/],
    [to.toUpperCase().slice(0, 10) + to.slice(10), /mixed case/],
  ])('address %s', async (addr, why) => {
    expect(oneLineError(await runCli(['wallet', 'send', addr, '1', ...common]))).toMatch(why);
  });

  it('bad --fee-rate, --max-fee and --wait values', async () => {
    expect(oneLineError(await runCli(['wallet', 'send', to, '1', '--fee-rate', '1.5', ...common]))).toMatch(/invalid --fee-rate/);
    expect(oneLineError(await runCli(['wallet', 'send', to, '1', '--max-fee', '0.1.1', ...common]))).toMatch(/invalid --max-fee/);
    expect(oneLineError(await runCli(['wallet', 'send', to, '1', '--wait', 'soon', ...common]))).toMatch(/invalid --wait/);
  });

  it('a missing argument is one commander line', async () => {
    const r = await runCli(['wallet', 'send', to]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing required argument 'amount'/);
  });
});

describe('RPC connection and dev wallets', () => {
  const dir = tempDir();
  const sk = generateSecretKey();
  const pk = publicKeyOf(sk);
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

  it('says clearly when no node answers at the URL', async () => {
    const port = await freePort();
    const addr = encodeAddress(pk, 'dev');
    const line = oneLineError(await runCli(['wallet', 'balance', addr, '--rpc-url', `http://127.0.0.1:${port}`]));
    expect(line).toContain(`no node answering at http://127.0.0.1:${port}`);
    expect(oneLineError(await runCli(['status', '--rpc-url', 'ftp://x']))).toMatch(/only http and https/);
    expect(oneLineError(await runCli(['status', '--rpc-url', 'http://u:p@127.0.0.1:1']))).toMatch(/must not carry credentials/);
  });

  it('reads a dev wallet JSON and checks that its fields agree', async () => {
    const good = join(dir, 'dev-wallet.json');
    writeFileSync(good, JSON.stringify({ address: encodeAddress(pk, 'dev'), publicKey: hex(pk), privateKey: hex(sk) }));
    const r = await runCli(['wallet', 'address', '--dev-wallet', good]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${encodeAddress(pk, 'dev')}\n`);
    expect(r.stdout + r.stderr).not.toContain(hex(sk));

    const other = publicKeyOf(generateSecretKey());
    const mismatched = join(dir, 'bad.json');
    writeFileSync(mismatched, JSON.stringify({ address: encodeAddress(pk, 'dev'), publicKey: hex(other), privateKey: hex(sk) }));
    expect(oneLineError(await runCli(['wallet', 'address', '--dev-wallet', mismatched]))).toMatch(/publicKey does not belong to privateKey/);

    const mainnet = join(dir, 'main.json');
    writeFileSync(mainnet, JSON.stringify({ address: encodeAddress(pk, 'mainnet'), publicKey: hex(pk), privateKey: hex(sk) }));
    const line = oneLineError(await runCli(['wallet', 'address', '--dev-wallet', mainnet]));
    expect(line).toMatch(/refused on mainnet/);
    expect(line).not.toContain(hex(sk));
  });
});

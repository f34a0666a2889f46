/**
 * `timecoin init`, `masternode register` input checks and `--help` of every client command,
 * through the real CLI.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { readKeyFile } from '../../src/keystore.js';
import { cleanEnv, oneLineError, runCli, secretFile, tempDir } from './cli-harness.js';

describe('timecoin init', () => {
  it('creates config.json with the network defaults and an encrypted operator key, then refuses a second time', async () => {
    const dir = tempDir();
    const datadir = join(dir, 'node');
    const pass = secretFile(dir, 'pass', 'operator pass\n');
    const r = await runCli(['init', '--network', 'testnet', '--datadir', datadir, '--passphrase-file', pass, '--rpc-port', '25101']);
    expect(r.code, r.stderr).toBe(0);
    const pubkey = r.stdout.trim();
    expect(pubkey).toMatch(/^[0-9a-f]{64}$/);
    expect(readdirSync(datadir).sort()).toEqual(['config.json', 'operator.key']);
    expect(statSync(datadir).mode & 0o777).toBe(0o700);
    expect(statSync(join(datadir, 'operator.key')).mode & 0o777).toBe(0o600);

    // The node reads it back exactly: testnet defaults, the port given, the key file resolved in the datadir.
    const c = loadConfig({ flags: { datadir }, env: {} });
    expect(c.network).toBe('testnet');
    expect(c.rpc.port).toBe(25101);
    expect(c.p2p.port).toBe(24100);
    expect(c.mempool.minFeeRate).toBe(1n);
    expect(c.operatorKeyFile).toBe(join(datadir, 'operator.key'));
    const key = await readKeyFile(join(datadir, 'operator.key'), 'operator pass');
    expect(Buffer.from(key.publicKey).toString('hex')).toBe(pubkey);
    expect(key.network).toBe('testnet');

    const before = readFileSync(join(datadir, 'config.json'));
    const again = oneLineError(await runCli(['init', '--network', 'testnet', '--datadir', datadir, '--passphrase-file', pass]));
    expect(again).toMatch(/already exists; refusing to overwrite/);
    expect(readFileSync(join(datadir, 'config.json')).equals(before)).toBe(true);
  });

  it('takes the network and datadir from the environment; rejects bad values with one line', async () => {
    const dir = tempDir();
    const env = cleanEnv({ TIMECOIN_NETWORK: 'dev', TIMECOIN_DATADIR: join(dir, 'd'), TIMECOIN_OPERATOR_PASSPHRASE: 'pw' });
    const r = await runCli(['init'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(loadConfig({ flags: { datadir: join(dir, 'd') }, env: {} }).rpc.port).toBe(24201);

    expect(oneLineError(await runCli(['init', '--network', 'moon', '--datadir', join(dir, 'x')], { env }))).toMatch(/invalid --network "moon"/);
    expect(oneLineError(await runCli(['init', '--datadir', join(dir, 'y'), '--rpc-port', '70000'], { env }))).toMatch(/invalid --rpc-port/);
    expect(oneLineError(await runCli(['init', '--network', 'dev', '--datadir', join(dir, 'z')]))).toMatch(/no operator key passphrase/);
    expect(() => statSync(join(dir, 'z'))).toThrow(); // nothing created when it fails
  });
});

describe('masternode register refuses bad input before touching a node', () => {
  const base = ['masternode', 'register', '--rpc-url', 'http://127.0.0.1:9', '--operator-pubkey', 'ab'.repeat(32)];
  const txid = 'cd'.repeat(32);

  it.each([
    [['--collateral', 'xyz', '--addr', '/ip4/1.2.3.4/tcp/24000'], /invalid --collateral "xyz"/],
    [['--collateral', `${txid}:4294967296`, '--addr', '/ip4/1.2.3.4/tcp/24000'], /invalid --collateral/],
    [['--collateral', `${txid}:0`, '--addr', 'not a multiaddr'], /invalid --addr/],
    [['--collateral', `${txid}:0`, '--addr', `/dns4/${'a'.repeat(300)}/tcp/1`], /at most 256 bytes/],
    [['--collateral', `${txid}:0`, '--addr', '/ip4/1.2.3.4/tcp/1', '--fee-rate', '-1'], /invalid --fee-rate/],
  ])('%j', async (args, why) => {
    expect(oneLineError(await runCli([...base, ...args]))).toMatch(why);
  });

  it('a required option missing is a commander error', async () => {
    const r = await runCli(['masternode', 'register', '--addr', '/ip4/1.2.3.4/tcp/1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/required option '--collateral <txid:n>' not specified/);
  });
});

describe('--help', () => {
  it.each([
    [['init'], /--network <name>[\s\S]*--passphrase-file/],
    [['wallet'], /new[\s\S]*address[\s\S]*balance[\s\S]*send/],
    [['wallet', 'new'], /--file <file>[\s\S]*--passphrase-file/],
    [['wallet', 'address'], /--dev-wallet <file>/],
    [['wallet', 'balance'], /\[address\][\s\S]*--rpc-url/],
    [['wallet', 'send'], /<address> <amount>[\s\S]*--fee-rate[\s\S]*--max-fee[\s\S]*--wait/],
    [['masternode'], /register[\s\S]*status/],
    [['masternode', 'register'], /--collateral <txid:n>[\s\S]*--addr <multiaddr>[\s\S]*--operator-key-file/],
    [['masternode', 'status'], /\[operatorKeyOrCollateral\]/],
    [['status'], /--api-key-file <file>/],
  ])('timecoin %j --help', async (cmd, want) => {
    const r = await runCli([...cmd, '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Usage: timecoin ${cmd.join(' ')}`);
    expect(r.stdout).toMatch(want);
  });
});

/**
 * Client commands against a real dev node started through the CLI (`timecoin start --dev`):
 * status, balances, sends signed by the dev wallet and by an encrypted wallet (exact amounts and
 * fees), refusals that need the node (network, funds, fee cap, API key), masternode status and
 * a registration built from a `timecoin init` operator key. No mocked servers.
 *
 * Skipped (with the reason printed) only while the node is not assembled in this tree.
 */
import { existsSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress, parseAnyAddress } from '../../chain/address.js';
import { generateSecretKey, publicKeyOf } from '../../chain/ed25519.js';
import { encodedTxSize } from '../../chain/transaction.js';
import { REPO, cleanEnv, freePort, oneLineError, runCli, secretFile, spawnCli, tempDir } from './cli-harness.js';

const cliSource = readFileSync(join(REPO, 'src', 'cli.ts'), 'utf8');
const nodeReady = existsSync(join(REPO, 'src', 'node.ts')) && existsSync(join(REPO, 'src', 'commands', 'start.ts')) && cliSource.includes('registerStartCommand(program)');
if (!nodeReady) console.warn('cli-node.test.ts: skipped — `timecoin start` is not wired to src/node.ts in this tree yet');

function health(url: string): Promise<number> {
  return new Promise((res) => {
    const req = get(`${url}/health`, (r) => {
      r.resume();
      res(r.statusCode ?? 0);
    });
    req.on('error', () => res(0));
  });
}

describe.skipIf(!nodeReady)('client commands against a dev node', () => {
  const dir = tempDir();
  const datadir = join(dir, 'dev');
  const pass = secretFile(dir, 'pass', 'wallet pass\n');
  let node: ChildProcess;
  let nodeErr = '';
  let url = '';
  let rpc: string[] = [];
  let devWallet: string[] = [];
  let devAddress = '';
  let mine = '';
  const walletFile = join(dir, 'w.key');
  const encWallet = ['--file', walletFile, '--passphrase-file', pass];
  const units = async (address: string): Promise<bigint> => {
    const r = await runCli(['wallet', 'balance', address, '--json', ...rpc]);
    expect(r.code, r.stderr).toBe(0);
    return BigInt((JSON.parse(r.stdout) as { confirmed: string }).confirmed);
  };

  beforeAll(async () => {
    const rpcPort = await freePort();
    const p2pPort = await freePort();
    url = `http://127.0.0.1:${rpcPort}`;
    node = spawnCli(['start', '--dev', '--datadir', datadir, '--rpc-port', String(rpcPort), '--p2p-port', String(p2pPort), '--log-level', 'warn']);
    node.stderr!.on('data', (d: Buffer) => (nodeErr += d.toString('utf8')));
    node.stdout!.resume();
    const deadline = Date.now() + 60_000;
    while ((await health(url)) !== 200) {
      if (node.exitCode !== null || Date.now() > deadline) throw new Error(`dev node did not come up: ${nodeErr}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    rpc = ['--rpc-url', url, '--api-key-file', join(datadir, 'dev-apikey'), '--datadir', datadir];
    devWallet = ['--dev-wallet', join(datadir, 'dev-wallet.json')];
    devAddress = (JSON.parse(readFileSync(join(datadir, 'dev-wallet.json'), 'utf8')) as { address: string }).address;
    const w = await runCli(['wallet', 'new', '--network', 'dev', ...encWallet]);
    expect(w.code, w.stderr).toBe(0);
    mine = w.stdout.trim();
  }, 90_000);

  afterAll(async () => {
    if (node === undefined || node.exitCode !== null) return;
    const exited = new Promise((r) => node.once('exit', r));
    node.kill('SIGTERM');
    const timer = setTimeout(() => node.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });

  it('status shows the dev chain', async () => {
    const r = await runCli(['status', ...rpc]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^chain\s+dev$/m);
    expect(r.stdout).toMatch(/^height\s+\d+$/m);
    expect(r.stdout).toMatch(/^best block\s+[0-9a-f]{64}$/m);
    expect(r.stdout).toMatch(/^consensus\s+height \d+, view \d+, phase /m);
  });

  it('sends from the dev wallet with --wait and the recipient holds exactly the amount', async () => {
    const r = await runCli(['wallet', 'send', mine, '1.5', ...devWallet, ...rpc, '--wait', '60']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(r.stderr).toMatch(/fee 0\.00000194 TIME/);
    expect(await units(mine)).toBe(150_000_000n);
  });

  it('sends back from the encrypted wallet: change = amount − sent − size × fee rate, to the unit', async () => {
    const r = await runCli(['wallet', 'send', devAddress, '0.5', ...encWallet, ...rpc, '--wait']);
    expect(r.code, r.stderr).toBe(0);
    const fee = BigInt(encodedTxSize(1, 2, 0)); // min fee rate 1 unit/byte
    expect(await units(mine)).toBe(150_000_000n - 50_000_000n - fee);
    const human = await runCli(['wallet', 'balance', ...encWallet, ...rpc]);
    expect(human.stdout).toMatch(/^confirmed {4}0\.99999806 TIME$/m);
  });

  it('finds the API key in <datadir>/dev-apikey when none is given, and refuses a wrong one', async () => {
    const r = await runCli(['wallet', 'balance', mine, '--rpc-url', url, '--datadir', datadir]);
    expect(r.code, r.stderr).toBe(0);
    expect(oneLineError(await runCli(['status', '--rpc-url', url, '--api-key', 'tc_wrong']))).toMatch(/refused the API key \(HTTP 401\)/);
    expect(oneLineError(await runCli(['status', '--rpc-url', url, '--datadir', dir]))).toMatch(/requires an API key/);
  });

  it('refuses what the node makes wrong: another network, too little money, a fee above --max-fee', async () => {
    const testnetAddr = encodeAddress(parseAnyAddress(mine).publicKey, 'testnet');
    expect(oneLineError(await runCli(['wallet', 'send', testnetAddr, '1', ...devWallet, ...rpc]))).toMatch(/is a testnet address .* but the node runs dev/);
    expect(oneLineError(await runCli(['wallet', 'send', devAddress, '5', ...encWallet, ...rpc]))).toMatch(/insufficient funds/);
    expect(oneLineError(await runCli(['wallet', 'send', mine, '1', ...devWallet, ...rpc, '--fee-rate', '1000000']))).toMatch(/exceeds --max-fee 0\.10000000 TIME; nothing was sent/);
    expect(await units(mine)).toBe(99_999_806n); // nothing moved
  });

  it('masternode status shows this node\'s validator entry', async () => {
    const r = await runCli(['masternode', 'status', ...rpc]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^status\s+ENABLED$/m);
    expect(oneLineError(await runCli(['masternode', 'status', 'ab'.repeat(32), ...rpc]))).toMatch(/not found/i);
  });

  it('registers a masternode with an init operator key; the collateral stays unspent', async () => {
    const initDir = join(dir, 'mn');
    const env = cleanEnv({ TIMECOIN_OPERATOR_PASSPHRASE: 'op pass' });
    const init = await runCli(['init', '--network', 'dev', '--datadir', initDir], { env });
    expect(init.code, init.stderr).toBe(0);
    const coll = await runCli(['wallet', 'send', mine, '1000', ...devWallet, ...rpc, '--wait']);
    expect(coll.code, coll.stderr).toBe(0);
    const collTxid = coll.stdout.trim();
    const before = await units(mine);
    const addr = '/ip4/127.0.0.1/tcp/24200';
    const r = await runCli(
      ['masternode', 'register', '--collateral', `${collTxid}:0`, '--addr', addr, '--operator-key-file', join(initDir, 'operator.key'), ...encWallet, ...rpc, '--wait', '60'],
      { env },
    );
    // The chain-side masternode rules arrive with a later issue: a node may still refuse the kind-2
    // transaction (−26 …). Either way the command is exact: a txid and a fee of size × rate, or one line.
    const payloadLength = 32 + 4 + 32 + 2 + addr.length + 64;
    if (r.code === 0) {
      expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
      expect(r.stderr).toContain(`registering operator ${init.stdout.trim()}`);
      expect(await units(mine)).toBe(before - BigInt(encodedTxSize(1, 1, payloadLength)));
    } else {
      expect(oneLineError(r)).toMatch(/sendrawtransaction: .*RPC error -2\d/);
      expect(await units(mine)).toBe(before);
    }
    expect(before >= 100_000_000_000n).toBe(true);
    // Output 1 of that send is the dev wallet's change: not this wallet's key, so it cannot be a collateral here.
    const operator = Buffer.from(publicKeyOf(generateSecretKey())).toString('hex');
    expect(oneLineError(await runCli(['masternode', 'register', '--collateral', `${collTxid}:1`, '--addr', addr, '--operator-pubkey', operator, ...encWallet, ...rpc])))
      .toMatch(/collateral .*:1 is locked to dtime1.*, not to this wallet/);
  });
});

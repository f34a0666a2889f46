/**
 * `timecoin wallet new|address|balance|send` (SPEC §6). Keys live in an encrypted key file
 * (src/keystore.ts); transactions are built and signed here and only the signed bytes go to the
 * node (`sendrawtransaction`), so the node never sees a key. Amounts are typed in TIME with up to
 * 8 decimals and converted exactly (src/amount.ts). Results go to stdout (an address, a txid, a
 * balance), explanations to stderr; errors are one-line `Error`s that src/cli.ts prints (exit 1).
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { parseAnyAddress } from '../../chain/address.js';
import { DUST_THRESHOLD, NETWORKS, type NetworkName } from '../../chain/constants.js';
import { generateSecretKey } from '../../chain/ed25519.js';
import { outpointKey, type Transaction } from '../../chain/transaction.js';
import { BuildCode, BuildError, buildTransfer, type Coin, type TransferRequest } from '../../chain/tx-builder.js';
import { formatTimeAmount, parseTimeAmount } from '../amount.js';
import { keyFilePayload, writeKeyFile } from '../keystore.js';
import { getPassphrase } from '../passphrase.js';
import type { RpcClient } from '../rpc-client.js';
import { addConfigOptions, addRpcOptions, clientConfig, rpcClient, type RpcOptions } from './client-options.js';
import {
  chainInfo, checkSameNetwork, listCoins, masternodeCollaterals, nodeFeeRate, parseFeeRate, parseNodeUnits, parseWait, pendingSpent, submitTransaction,
} from './node-queries.js';
import { WALLET_PASSPHRASE_ENV, addWalletOptions, devWalletNetwork, loadWallet, walletFilePath, type WalletOptions } from './wallet-key.js';

export interface ClientIo {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

type WalletRpcOptions = WalletOptions & RpcOptions;

/** Default cap on the fee of one transaction: a typo in --fee-rate must not burn a fortune. */
export const DEFAULT_MAX_FEE = '0.1';

const TIME = (units: bigint) => `${formatTimeAmount(units)} TIME`;

/** A `--dev-wallet` implies its network for the config (RPC port, datadir) unless one is named. */
export function withWalletNetwork<T extends WalletOptions & { network?: string }>(o: T): T {
  if (o.network !== undefined || process.env.TIMECOIN_NETWORK !== undefined) return o;
  const n = devWalletNetwork(o);
  return n === undefined ? o : { ...o, network: n };
}

/** Parse a user-typed address of any network; the message says what is wrong with it. */
export function parseUserAddress(text: string): { network: NetworkName; publicKey: Uint8Array; address: string } {
  try {
    const p = parseAnyAddress(text);
    return { ...p, address: text.toLowerCase() };
  } catch (err) {
    throw new Error(`invalid address ${JSON.stringify(text.slice(0, 100))}: ${(err as Error).message}`);
  }
}

function checkAddressNetwork(addr: { network: NetworkName; address: string }, network: NetworkName): void {
  if (addr.network !== network) {
    throw new Error(`address ${addr.address} is a ${addr.network} address (${NETWORKS[addr.network].hrp}1…), but the node runs ${network} (${NETWORKS[network].hrp}1…)`);
  }
}

/** `--amount`-like TIME value with its flag name in the message. */
function parseTime(text: string, what: string): bigint {
  try {
    return parseTimeAmount(text);
  } catch (err) {
    throw new Error(`invalid ${what}: ${(err as Error).message}`);
  }
}

/** A signed units string (the unconfirmed delta may be negative). */
function signedUnits(v: unknown, what: string): bigint {
  if (typeof v === 'string' && v.startsWith('-')) return -parseNodeUnits(v.slice(1), what);
  return parseNodeUnits(v, what);
}

const signedTime = (u: bigint) => (u < 0n ? `-${TIME(-u)}` : TIME(u));

/**
 * buildTransfer, then drop inputs that a pending transaction of ours already spends (listunspent
 * shows final outputs; spending one again would be a mempool conflict) and choose again.
 */
async function buildPayment(client: RpcClient, req: TransferRequest, err: (t: string) => void): Promise<{ tx: Transaction; coins: Coin[] }> {
  let coins = [...req.coins];
  for (;;) {
    let tx: Transaction;
    try {
      tx = buildTransfer({ ...req, coins });
    } catch (e) {
      if (e instanceof BuildError && e.code === BuildCode.InsufficientFunds) {
        const available = coins.reduce((s, c) => s + c.amount, 0n);
        const amount = req.recipients.reduce((s, r) => s + r.amount, 0n);
        throw new Error(`insufficient funds: sending ${TIME(amount)} plus the fee needs more than the ${TIME(available)} in this wallet's final, unspent outputs`);
      }
      throw e;
    }
    const pending = await pendingSpent(client, tx.inputs.map((i) => ({ txid: i.prevTxid, index: i.prevIndex })));
    if (pending.size === 0) return { tx, coins };
    err(`skipping ${pending.size} output(s) already spent by pending transactions\n`);
    coins = coins.filter((c) => !pending.has(outpointKey(c.txid, c.index)));
  }
}

/** Adds the `wallet` command group to `program`. */
export function registerWalletCommand(program: Command, io: ClientIo = {}): Command {
  const out = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = io.stderr ?? ((t: string) => void process.stderr.write(t));
  const wallet = program.command('wallet').description('create a wallet, show its address and balance, send TIME');

  addConfigOptions(
    wallet
      .command('new')
      .description('create an encrypted wallet file with a new key and print its address')
      .option('--file <file>', 'where to write it (default: TIMECOIN_WALLET_FILE, else <datadir>/wallet.key); never overwritten')
      .option('--passphrase-file <file>', `file holding the new passphrase (default: ${WALLET_PASSPHRASE_ENV}, else asked twice on the terminal)`),
  ).action(async (o: { file?: string; passphraseFile?: string; datadir?: string; network?: string; config?: string }) => {
    const config = clientConfig(o);
    const file = walletFilePath(o, config);
    if (existsSync(file)) throw new Error(`${file} already exists; refusing to overwrite a wallet (choose another --file)`);
    const dir = dirname(file);
    if (!existsSync(dir)) {
      // Only the data directory is created on the user's behalf; a typo in --file should not make folders.
      if (o.file !== undefined || process.env.TIMECOIN_WALLET_FILE !== undefined) throw new Error(`directory ${dir} does not exist`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } else if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
    const passphrase = await getPassphrase({ file: o.passphraseFile, envName: WALLET_PASSPHRASE_ENV, fileFlag: '--passphrase-file', what: 'wallet', confirm: true });
    const secret = generateSecretKey();
    const payload = keyFilePayload(secret, config.network);
    secret.fill(0);
    try {
      await writeKeyFile(file, payload, passphrase);
    } finally {
      payload.secretKey.fill(0);
    }
    out(`${payload.address}\n`);
    err(`wrote encrypted ${config.network} wallet ${file}; back up the file and remember the passphrase: without both the coins are lost\n`);
  });

  addRpcOptions(addWalletOptions(wallet.command('address').description('print the wallet address (decrypts the wallet file)')
    .option('--json', 'print {address, publicKey, network}')))
    .action(async (o: WalletRpcOptions & { json?: boolean }) => {
      const opts = withWalletNetwork(o);
      const w = await loadWallet(opts, clientConfig(opts));
      if (o.json) out(`${JSON.stringify({ address: w.address, publicKey: Buffer.from(w.publicKey).toString('hex'), network: w.network })}\n`);
      else out(`${w.address}\n`);
    });

  addRpcOptions(addWalletOptions(wallet.command('balance').description('print the confirmed and unconfirmed balance (of the wallet, or of any address)')
    .argument('[address]', 'an address to look up instead of the wallet\'s (needs no passphrase)')
    .option('--json', 'print {address, confirmed, unconfirmed, utxos} with amounts in units')))
    .action(async (addressArg: string | undefined, o: WalletRpcOptions & { json?: boolean }) => {
      const given = addressArg === undefined ? undefined : parseUserAddress(addressArg);
      const opts = withWalletNetwork(given !== undefined && o.network === undefined && process.env.TIMECOIN_NETWORK === undefined ? { ...o, network: given.network } : o);
      const { client, config } = rpcClient(opts);
      const info = await chainInfo(client);
      const address = given ?? (await loadWallet(opts, config));
      checkAddressNetwork(address, info.network);
      const b = await client.call<Record<string, unknown>>('getaddressbalance', [address.address]);
      const confirmed = parseNodeUnits(b?.confirmed, 'getaddressbalance');
      const unconfirmed = signedUnits(b?.unconfirmed ?? '0', 'getaddressbalance');
      if (o.json) {
        out(`${JSON.stringify({ address: address.address, confirmed: confirmed.toString(), unconfirmed: unconfirmed.toString(), utxos: b?.utxos ?? null })}\n`);
        return;
      }
      out(`address      ${address.address}\nconfirmed    ${TIME(confirmed)}\nunconfirmed  ${signedTime(unconfirmed)}\n`);
      if (typeof b?.utxos === 'number') out(`utxos        ${b.utxos}\n`);
    });

  addRpcOptions(addWalletOptions(wallet.command('send').description('build, sign and submit a transfer; prints the txid')
    .argument('<address>', 'destination address of the node\'s network')
    .argument('<amount>', 'amount in TIME, up to 8 decimals (e.g. 1.5 or 0.00001)')
    .option('--fee-rate <units>', 'fee in units per encoded byte (default: the node\'s minimum, getmempoolinfo.minfeerate)')
    .option('--max-fee <time>', `refuse to send if the fee exceeds this many TIME (default ${DEFAULT_MAX_FEE})`)
    .option('--wait [seconds]', 'wait until the transaction is final (default 60 s); not final in time → exit 1')))
    .action(async (addressArg: string, amountArg: string, o: WalletRpcOptions & { feeRate?: string; maxFee?: string; wait?: string | boolean }) => {
      // Everything the user typed is checked before any passphrase is asked or the node is called.
      const amount = parseTime(amountArg, 'amount');
      if (amount < DUST_THRESHOLD) throw new Error(`amount ${TIME(amount)} is below the dust threshold of ${TIME(DUST_THRESHOLD)}`);
      const dest = parseUserAddress(addressArg);
      const flagRate = o.feeRate === undefined ? undefined : parseFeeRate(o.feeRate);
      const maxFee = parseTime(o.maxFee ?? DEFAULT_MAX_FEE, '--max-fee');
      const waitSeconds = parseWait(o.wait);
      const opts = withWalletNetwork(o);
      const { client, config } = rpcClient(opts);
      const info = await chainInfo(client); // before the passphrase: an unreachable node fails fast
      checkAddressNetwork(dest, info.network);
      const w = await loadWallet(opts, config);
      checkSameNetwork(w.network, info, client.origin);

      const keep = await masternodeCollaterals(client);
      const all = await listCoins(client, w.address);
      const coins = all.filter((c) => !keep.has(`${Buffer.from(c.txid).toString('hex')}:${c.index}`));
      if (coins.length < all.length) err(`keeping ${all.length - coins.length} masternode collateral output(s) unspent\n`);
      const feeRate = flagRate ?? (await nodeFeeRate(client));
      const { tx, coins: used } = await buildPayment(client, { chainId: info.chainId, signer: w.signer, coins, recipients: [{ amount, publicKey: dest.publicKey }], feeRate }, err);
      // Recompute the fee from the coins actually spent, independently of the builder.
      const byKey = new Map(used.map((c) => [outpointKey(c.txid, c.index), c.amount]));
      const spent = tx.inputs.reduce((s, i) => s + byKey.get(outpointKey(i.prevTxid, i.prevIndex))!, 0n);
      const paid = tx.outputs.reduce((s, x) => s + x.amount, 0n);
      const fee = spent - paid;
      const [pay, ...rest] = tx.outputs;
      const toDest = pay !== undefined && pay.amount === amount && Buffer.from(pay.publicKey).equals(Buffer.from(dest.publicKey));
      const changeOk = rest.length <= 1 && rest.every((x) => Buffer.from(x.publicKey).equals(Buffer.from(w.publicKey)));
      if (!toDest || !changeOk || fee < 0n) throw new Error('internal error: the built transaction does not match the request; nothing was sent');
      if (fee > maxFee) throw new Error(`the fee ${TIME(fee)} exceeds --max-fee ${TIME(maxFee)}; nothing was sent`);
      const change = rest[0]?.amount ?? 0n;
      err(`sending ${TIME(amount)} to ${dest.address}, fee ${TIME(fee)} (${tx.bytes.length} bytes at ${feeRate} units/byte), change ${TIME(change)}\n`);
      await submitTransaction(client, tx, { ...(waitSeconds !== undefined ? { waitSeconds } : {}), out, err });
    });

  return wallet;
}

/**
 * `timecoin masternode register|status` (SPEC §3, §6). `register` builds the kind-2 registration
 * locally: the wallet key owns the collateral (≥ MASTERNODE_COLLATERAL, final, unspent) and signs
 * the payload; the wallet's other coins pay the fee; the collateral is never spent. The chain-side
 * masternode rules may not be live on a node yet, in which case the node's rejection is printed
 * as it comes (−26 …) and nothing else happens.
 */
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { MASTERNODE_COLLATERAL } from '../../chain/constants.js';
import { isValidPublicKey } from '../../chain/ed25519.js';
import { outpointKey } from '../../chain/transaction.js';
import { formatTimeAmount, parseTimeAmount } from '../amount.js';
import { readKeyFile } from '../keystore.js';
import { getPassphrase } from '../passphrase.js';
import { buildRegistration, checkMultiaddr } from '../registration-tx.js';
import { addRpcOptions, clientConfig, rpcClient, type RpcOptions } from './client-options.js';
import { OPERATOR_PASSPHRASE_ENV } from './init.js';
import {
  chainInfo, checkSameNetwork, listCoins, masternodeCollaterals, nodeFeeRate, outpointText, parseFeeRate, parseOutpoint, parseWait, pendingSpent,
  submitTransaction, type ChainInfo,
} from './node-queries.js';
import { DEFAULT_MAX_FEE, withWalletNetwork, type ClientIo } from './wallet.js';
import { addWalletOptions, loadWallet, type LoadedWallet, type WalletOptions } from './wallet-key.js';
import type { RpcClient } from '../rpc-client.js';

interface RegisterOptions extends WalletOptions, RpcOptions {
  collateral: string;
  addr: string;
  operatorKeyFile?: string;
  operatorPubkey?: string;
  operatorPassphraseFile?: string;
  feeRate?: string;
  maxFee?: string;
  wait?: string | boolean;
}

const TIME = (u: bigint) => `${formatTimeAmount(u)} TIME`;

/** The operator public key: given as hex, or read from the (encrypted) operator key file. */
async function operatorKey(o: RegisterOptions, info: ChainInfo): Promise<Uint8Array> {
  if (o.operatorPubkey !== undefined) {
    if (o.operatorKeyFile !== undefined) throw new Error('give either --operator-pubkey or --operator-key-file, not both');
    if (!/^[0-9a-fA-F]{64}$/.test(o.operatorPubkey)) throw new Error('invalid --operator-pubkey: expected 64 hex characters');
    const pk = Buffer.from(o.operatorPubkey, 'hex');
    if (!isValidPublicKey(pk)) throw new Error('invalid --operator-pubkey: not a valid ed25519 public key');
    return pk;
  }
  // --operator-key-file > TIMECOIN_OPERATOR_KEY_FILE > operatorKeyFile in config.json (as the node reads it).
  const file = clientConfig(o, o.operatorKeyFile).operatorKeyFile;
  if (file === null) throw new Error('no operator key: pass --operator-key-file F (as written by `timecoin init`) or --operator-pubkey HEX');
  try {
    statSync(file);
  } catch {
    throw new Error(`no operator key file at ${file}`);
  }
  const passphrase = await getPassphrase({ file: o.operatorPassphraseFile, envName: OPERATOR_PASSPHRASE_ENV, fileFlag: '--operator-passphrase-file', what: 'operator key' });
  let payload;
  try {
    payload = await readKeyFile(file, passphrase);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  payload.secretKey.fill(0); // only the public key is needed
  if (payload.network !== info.network) throw new Error(`the operator key ${file} is for ${payload.network}, but the node runs ${info.network}`);
  return payload.publicKey;
}

/** The collateral must be a final unspent output of ≥ 1,000 TIME locked to the wallet key; say precisely why not. */
async function checkCollateral(client: RpcClient, w: LoadedWallet, c: { txid: Uint8Array; index: number }, amountInWallet: bigint | undefined): Promise<bigint> {
  const name = outpointText(c.txid, c.index);
  if (amountInWallet === undefined) {
    const out = await client.call<Record<string, unknown> | null>('gettxout', [Buffer.from(c.txid).toString('hex'), c.index, true]);
    if (out === null || typeof out !== 'object') throw new Error(`collateral ${name} is not an unspent output (spent, unknown, or a typo)`);
    if (typeof out.address === 'string' && out.address !== w.address) {
      throw new Error(`collateral ${name} is locked to ${out.address}, not to this wallet (${w.address}); the owner signature must come from the collateral's key`);
    }
    throw new Error(`collateral ${name} is not final yet (listunspent shows final outputs only); wait for finality and retry`);
  }
  if (amountInWallet < MASTERNODE_COLLATERAL) {
    throw new Error(`collateral ${name} holds ${TIME(amountInWallet)}; a masternode needs at least ${TIME(MASTERNODE_COLLATERAL)}`);
  }
  return amountInWallet;
}

/** Adds the `masternode` command group to `program`. */
export function registerMasternodeCommand(program: Command, io: ClientIo = {}): Command {
  const out = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = io.stderr ?? ((t: string) => void process.stderr.write(t));
  const mn = program.command('masternode').description('register a masternode, show masternode status');

  addRpcOptions(addWalletOptions(mn.command('register').description('build, sign and submit a masternode registration (kind-2 transaction); prints the txid')
    .requiredOption('--collateral <txid:n>', 'the wallet\'s unspent output of ≥ 1000 TIME to bind (it stays unspent)')
    .requiredOption('--addr <multiaddr>', 'where the masternode is reached, e.g. /ip4/203.0.113.5/tcp/24000')
    .option('--operator-key-file <file>', 'encrypted operator key (default: TIMECOIN_OPERATOR_KEY_FILE, else operatorKeyFile in config.json)')
    .option('--operator-passphrase-file <file>', `file holding the operator key passphrase (default: ${OPERATOR_PASSPHRASE_ENV}, else a prompt)`)
    .option('--operator-pubkey <hex>', 'the operator public key, instead of reading the operator key file')
    .option('--fee-rate <units>', 'fee in units per encoded byte (default: the node\'s minimum)')
    .option('--max-fee <time>', `refuse if the fee exceeds this many TIME (default ${DEFAULT_MAX_FEE})`)
    .option('--wait [seconds]', 'wait until the registration is final (default 60 s)')))
    .action(async (o: RegisterOptions) => {
      const collateral = parseOutpoint(o.collateral, '--collateral');
      checkMultiaddr(o.addr);
      const flagRate = o.feeRate === undefined ? undefined : parseFeeRate(o.feeRate);
      const maxFee = parseTimeAmount(o.maxFee ?? DEFAULT_MAX_FEE);
      const waitSeconds = parseWait(o.wait);
      const opts = withWalletNetwork(o);
      const { client, config } = rpcClient(opts);
      const info = await chainInfo(client);
      const operatorPublicKey = await operatorKey(opts, info);
      const w = await loadWallet(opts, config);
      checkSameNetwork(w.network, info, client.origin);

      const coins = await listCoins(client, w.address);
      const inWallet = coins.find((c) => Buffer.from(c.txid).equals(Buffer.from(collateral.txid)) && c.index === collateral.index);
      const collateralAmount = await checkCollateral(client, w, collateral, inWallet?.amount);
      // Other masternodes' collaterals held by this wallet are not fee coins either.
      const keep = new Set<string>();
      for (const t of await masternodeCollaterals(client)) {
        const p = parseOutpoint(t, 'masternodelist collateral');
        keep.add(outpointKey(p.txid, p.index));
      }
      const feeRate = flagRate ?? (await nodeFeeRate(client));
      if ((await pendingSpent(client, [collateral])).size > 0) {
        throw new Error(`collateral ${outpointText(collateral.txid, collateral.index)} is being spent by a pending transaction`);
      }
      let tx;
      // Fee coins a pending transaction already spends would conflict in the mempool: drop, re-choose.
      for (;;) {
        tx = buildRegistration({ chainId: info.chainId, signer: w.signer, collateral, operatorPublicKey, addr: o.addr, coins, keepUnspent: keep, feeRate });
        const pending = await pendingSpent(client, tx.inputs.map((i) => ({ txid: i.prevTxid, index: i.prevIndex })));
        if (pending.size === 0) break;
        for (const k of pending) keep.add(k);
      }
      const byKey = new Map(coins.map((c) => [outpointText(c.txid, c.index), c.amount]));
      const spent = tx.inputs.reduce((s, i) => s + byKey.get(outpointText(i.prevTxid, i.prevIndex))!, 0n);
      const fee = spent - tx.outputs[0]!.amount;
      if (tx.inputs.some((i) => outpointText(i.prevTxid, i.prevIndex) === outpointText(collateral.txid, collateral.index))) {
        throw new Error('internal error: the registration would spend its collateral; nothing was sent');
      }
      if (fee > maxFee) throw new Error(`the fee ${TIME(fee)} exceeds --max-fee ${TIME(maxFee)}; nothing was sent`);
      err(
        `registering operator ${Buffer.from(operatorPublicKey).toString('hex')} at ${o.addr} with collateral ` +
          `${outpointText(collateral.txid, collateral.index)} (${TIME(collateralAmount)}), fee ${TIME(fee)}\n`,
      );
      await submitTransaction(client, tx, { ...(waitSeconds !== undefined ? { waitSeconds } : {}), out, err });
    });

  addRpcOptions(mn.command('status').description('show this node\'s masternode entry, or the one named')
    .argument('[operatorKeyOrCollateral]', 'operator public key (hex) or collateral txid:n')
    .option('--json', 'print the raw entry'))
    .action(async (which: string | undefined, o: RpcOptions & { json?: boolean }) => {
      if (which !== undefined && !/^[0-9a-fA-F]{64}$/.test(which)) parseOutpoint(which, 'masternode (expected an operator key or txid:n)');
      const { client } = rpcClient(o);
      const entry = await client.call<Record<string, unknown> | null>('masternodestatus', which === undefined ? [] : [which.toLowerCase()]);
      if (o.json) {
        out(`${JSON.stringify(entry)}\n`);
        return;
      }
      if (entry === null || typeof entry !== 'object') throw new Error('masternodestatus: no masternode entry');
      const show = (v: unknown) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
      const keys = ['status', 'operator', 'owner', 'collateral', 'addr', 'registeredheight', 'lastheartbeat', 'penalties'];
      const rest = Object.keys(entry).filter((k) => !keys.includes(k));
      out([...keys.filter((k) => k in entry), ...rest].map((k) => `${k.padEnd(17)}${show(entry[k])}`).join('\n') + '\n');
    });

  return mn;
}

/**
 * `timecoin testnet --validators N --out DIR [--base-port P] [--host H] [--compose]` (SPEC §6):
 * the files of an N-validator testnet, run as local processes or (`--compose`) in containers.
 * Addresses and ports come from src/testnet-topology.ts (the one source shared with the compose
 * file); `--compose` also writes DIR/docker-compose.yml (src/compose-file.ts).
 *
 *   DIR/genesis.json          the shared genesis (also copied into every node folder)
 *   DIR/faucet-wallet.json    {address, publicKey, privateKey} hex, funded by genesis (dev-wallet shape)
 *   DIR/apikey                an all-scopes API key, imported into every node's apikeys.json
 *   DIR/nodeI/config.json     network testnet, listen/RPC/bootstrap from the topology (local: P2P on
 *                             P + 2i, RPC on P + 2i + 1; compose: docs/docker.md)
 *   DIR/docker-compose.yml    --compose only: one service per node, mounting ./nodeI at /data
 *   DIR/nodeI/operator.json   the operator key, plain JSON, mode 0600 (like the dev node's
 *                             dev-operator.json: a local testnet holds no value; docs/node.md)
 *   DIR/nodeI/owner-wallet.json  the collateral owner key (block rewards are paid to it)
 *
 * Genesis registers node i as a masternode (collateral: a genesis allocation of
 * MASTERNODE_COLLATERAL to its owner key; docs/masternodes.md "Genesis registrations"). Peer ids
 * are derived from the operator keys (docs/p2p.md "Identity binding"), so each node's bootstrap
 * list names the other nodes with their /p2p/<id>. stdout: one line per node (datadir, RPC URL).
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { encodeAddress } from '../../chain/address.js';
import { MASTERNODE_COLLATERAL, UNITS_PER_TIME } from '../../chain/constants.js';
import { generateSecretKey, publicKeyOf } from '../../chain/ed25519.js';
import { toHex } from '../../chain/hash.js';
import { peerIdOfOperatorKey } from '../../p2p/consensus-link.js';
import { ApiKeyStore } from '../../rpc/apikeys.js';
import { COMPOSE_IMAGE, renderCompose } from '../compose-file.js';
import { loadConfig } from '../config.js';
import { writeFileDurably } from '../consensus-state.js';
import { bootstrapOf, DEFAULT_TESTNET_BASE_PORT, testnetTopology, TopologyCode, TopologyError, type TopologyMode } from '../testnet-topology.js';
import { genesisBlock, GENESIS_FILE, writeGenesisFile, type GenesisFile } from '../genesis-file.js';
import { defaultConfigJson } from './init.js';
import type { ClientIo } from './wallet.js';

export const FAUCET_WALLET_FILE = 'faucet-wallet.json';
export const TESTNET_APIKEY_FILE = 'apikey';
export const TESTNET_OPERATOR_FILE = 'operator.json';
export const TESTNET_OWNER_FILE = 'owner-wallet.json';
export { DEFAULT_TESTNET_BASE_PORT };
export const TESTNET_COMPOSE_FILE = 'docker-compose.yml';
/**
 * Memory settings for a validator process (docs/performance.md "Memory (RSS)"; the Dockerfile sets
 * the same). Node's defaults on a large machine let V8 grow old space to 4× the live heap (the
 * heap limit is ~4 GB, so its growing factor is the maximum) and the young generation to 32 MB,
 * and glibc keep up to 8 × cores malloc arenas: 400+ MB RSS for a ~60 MB live heap after load.
 * A 1 GB old-space limit (far above the live heap, so no OOM risk; a smaller limit also means a
 * growing factor of ~1.6) halves the V8 heap, two arenas save ~20 MB. The semi-space stays at
 * 16 MB (Node's default): 4 MB saved ~24 MB but doubled the time in young-generation GC under load
 * (4.8 s → 2.4 s of pauses per node in a 20 s max-load run) and cost ~10 % of the throughput.
 * A fixed 128 KB mmap threshold keeps blocks, frames and LevelDB buffers out of glibc's heap: its
 * default threshold climbs to 32 MB after the first large free, after which those buffers fragment
 * the heap and are never returned (−15 MB of malloc'd memory per node, no CPU cost measured).
 */
export const NODE_MEMORY_ENV = {
  NODE_OPTIONS: '--max-old-space-size=1024 --max-semi-space-size=16',
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
} as const;

/** The glibc malloc settings in NODE_MEMORY_ENV: an operator's own value of each is kept. */
const MALLOC_SETTINGS = ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_'] as const;

/**
 * The environment to start a node process with: `base` plus NODE_MEMORY_ENV. NODE_OPTIONS given in
 * `base` come after ours (the last flag wins, so an operator's own limit overrides), and a malloc
 * setting already in `base` is kept.
 */
export function nodeProcessEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, NODE_OPTIONS: `${NODE_MEMORY_ENV.NODE_OPTIONS} ${base.NODE_OPTIONS ?? ''}`.trim() };
  for (const name of MALLOC_SETTINGS) env[name] = base[name] ?? NODE_MEMORY_ENV[name];
  return env;
}

/** What genesis pays the faucet: 1,000,000 TIME. */
export const FAUCET_FUNDS = 1_000_000n * UNITS_PER_TIME;

export interface TestnetOptions {
  readonly validators: number;
  readonly out: string;
  readonly basePort?: number;
  /** Address the nodes listen on and dial (default 127.0.0.1; local mode only). */
  readonly host?: string;
  /** `local` (default): processes on one host; `compose`: containers, plus DIR/docker-compose.yml. */
  readonly mode?: TopologyMode;
  /** The 32-byte secrets to use instead of fresh random ones (tests: one key set, both modes). */
  readonly keys?: TestnetKeys;
  readonly nowMs?: number;
  /** Extra config.json keys for every node (tests: short timeouts). */
  readonly configOverrides?: Record<string, unknown>;
}

export interface TestnetKeys {
  readonly faucet: Uint8Array;
  readonly operators: readonly Uint8Array[];
  readonly owners: readonly Uint8Array[];
}

export interface TestnetNode {
  readonly datadir: string;
  readonly p2pPort: number;
  readonly rpcPort: number;
  readonly peerId: string;
  readonly operatorPublicKey: string;
}

export interface Testnet {
  readonly dir: string;
  readonly mode: TopologyMode;
  readonly nodes: readonly TestnetNode[];
  readonly apiKey: string;
  readonly faucet: { readonly address: string; readonly publicKey: string; readonly privateKey: string };
}

function keyPair(secret: Uint8Array = generateSecretKey()): { secret: Uint8Array; publicKey: Uint8Array } {
  return { secret, publicKey: publicKeyOf(secret) };
}

function merge(into: Record<string, unknown>, extra: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(extra)) {
    const cur = into[k];
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof cur === 'object' && cur !== null && !Array.isArray(cur)) {
      merge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else into[k] = v;
  }
}

/** Write the testnet files; refuses a non-empty `out`. */
export async function createTestnet(o: TestnetOptions): Promise<Testnet> {
  const mode = o.mode ?? 'local';
  const topo = testnetTopology({ validators: o.validators, mode, ...(o.basePort !== undefined ? { basePort: o.basePort } : {}), ...(o.host !== undefined ? { host: o.host } : {}) });
  const n = topo.nodes.length;
  const keys = o.keys;
  if (keys !== undefined && (keys.operators.length !== n || keys.owners.length !== n)) {
    throw new TopologyError(TopologyCode.Invalid, `keys must hold ${n} operator and ${n} owner secrets`, { key: 'keys' });
  }
  const dir = resolve(o.out);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${dir} is not empty; refusing to overwrite`);

  const faucet = keyPair(keys?.faucet);
  const operators = Array.from({ length: n }, (_, i) => keyPair(keys?.operators[i]));
  const owners = Array.from({ length: n }, (_, i) => keyPair(keys?.owners[i]));
  const nodes: TestnetNode[] = operators.map((op, i) => ({
    datadir: join(dir, topo.nodes[i]!.datadir),
    p2pPort: topo.nodes[i]!.p2pPort,
    rpcPort: topo.nodes[i]!.rpcPort,
    peerId: peerIdOfOperatorKey(op.publicKey),
    operatorPublicKey: toHex(op.publicKey),
  }));
  const peerIds = nodes.map((nd) => nd.peerId);
  const addr = (i: number): string => topo.nodes[i]!.dialAddr;
  const genesis: GenesisFile = {
    network: 'testnet',
    timestampMs: o.nowMs ?? Date.now(),
    proposer: null,
    allocations: [
      { publicKey: faucet.publicKey, amount: FAUCET_FUNDS },
      ...owners.map((w) => ({ publicKey: w.publicKey, amount: MASTERNODE_COLLATERAL })),
    ],
    registrations: operators.map((op, i) => ({ allocation: i + 1, operatorPublicKey: op.publicKey, addr: addr(i) })),
  };
  genesisBlock(genesis); // refuses bad parameters before anything else is written
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await writeGenesisFile(join(dir, GENESIS_FILE), genesis);

  const wallet = (k: { secret: Uint8Array; publicKey: Uint8Array }) => ({
    address: encodeAddress(k.publicKey, 'testnet'), publicKey: toHex(k.publicKey), privateKey: toHex(k.secret),
  });
  const faucetFile = wallet(faucet);
  await writeFileDurably(join(dir, FAUCET_WALLET_FILE), JSON.stringify(faucetFile, null, 2) + '\n');
  const apiKey = new ApiKeyStore(dir).create({ scopes: ['read', 'submit', 'admin'], name: 'testnet' }).key;
  await writeFileDurably(join(dir, TESTNET_APIKEY_FILE), apiKey + '\n');

  for (let i = 0; i < n; i++) {
    const nd = nodes[i]!;
    mkdirSync(nd.datadir, { recursive: true, mode: 0o700 });
    const tn = topo.nodes[i]!;
    const config = defaultConfigJson('testnet', { rpc: nd.rpcPort, p2p: nd.p2pPort });
    merge(config, {
      rpc: { host: tn.rpcHost },
      p2p: { listenHost: tn.p2pListenHost, bootstrap: bootstrapOf(topo, i, peerIds), maxPerIp: topo.maxPerIp },
      operatorKeyFile: TESTNET_OPERATOR_FILE,
    });
    if (o.configOverrides !== undefined) merge(config, o.configOverrides);
    await writeFileDurably(join(nd.datadir, 'config.json'), JSON.stringify(config, null, 2) + '\n', 0o644);
    const op = operators[i]!;
    await writeFileDurably(join(nd.datadir, TESTNET_OPERATOR_FILE), JSON.stringify({ publicKey: toHex(op.publicKey), privateKey: toHex(op.secret) }, null, 2) + '\n');
    await writeFileDurably(join(nd.datadir, TESTNET_OWNER_FILE), JSON.stringify(wallet(owners[i]!), null, 2) + '\n');
    await writeGenesisFile(join(nd.datadir, GENESIS_FILE), genesis);
    new ApiKeyStore(nd.datadir).importKey(apiKey, { scopes: ['read', 'submit', 'admin'], name: 'testnet' });
    loadConfig({ flags: { datadir: nd.datadir }, env: {} }); // the written config must load as the node will load it
  }
  if (mode === 'compose') {
    const by = `timecoin testnet --validators ${n} --out DIR --compose`;
    const compose = renderCompose(topo, { dataDir: '.', generatedBy: by, datadirsBy: by });
    await writeFileDurably(join(dir, TESTNET_COMPOSE_FILE), compose, 0o644);
  }
  return { dir, mode, nodes, apiKey, faucet: faucetFile };
}

/** Adds `testnet` to `program`. */
export function registerTestnetCommand(program: Command, io: ClientIo = {}): Command {
  const out = io.stdout ?? ((t: string) => void process.stdout.write(t));
  return program
    .command('testnet')
    .description('write an N-validator testnet: node folders, shared genesis, faucet wallet, API key (--compose: for docker compose)')
    .requiredOption('--validators <n>', 'number of validators (masternodes)')
    .requiredOption('--out <dir>', 'directory to create (must be empty or missing)')
    .option('--base-port <port>', `node i listens for P2P on P + 2i and RPC on P + 2i + 1 (default ${DEFAULT_TESTNET_BASE_PORT})`)
    .option('--host <ipv4>', 'address the nodes listen on and dial (default 127.0.0.1; not with --compose)')
    .option('--compose', 'configure the nodes as containers (service node<i>, P2P 24100 on the compose network, RPC P + 2i + 1 published on 127.0.0.1) and write DIR/docker-compose.yml')
    .action(async (o: { validators: string; out: string; basePort?: string; host?: string; compose?: boolean }) => {
      if (!/^\d{1,3}$/.test(o.validators)) throw new Error(`invalid --validators ${JSON.stringify(o.validators.slice(0, 20))}`);
      if (o.basePort !== undefined && !/^\d{1,5}$/.test(o.basePort)) throw new Error(`invalid --base-port ${JSON.stringify(o.basePort.slice(0, 20))}`);
      const t = await createTestnet({
        validators: Number(o.validators), out: o.out,
        ...(o.basePort !== undefined ? { basePort: Number(o.basePort) } : {}),
        ...(o.host !== undefined ? { host: o.host } : {}),
        ...(o.compose === true ? { mode: 'compose' as const } : {}),
      });
      for (const [i, nd] of t.nodes.entries()) out(`node${i} ${nd.datadir} rpc http://127.0.0.1:${nd.rpcPort}/ p2p ${nd.p2pPort} peer ${nd.peerId}\n`);
      out(`faucet ${t.faucet.address} (${join(t.dir, FAUCET_WALLET_FILE)})\napikey ${join(t.dir, TESTNET_APIKEY_FILE)}\n`);
      if (t.mode === 'compose') out(`start it with: docker compose -f ${join(t.dir, TESTNET_COMPOSE_FILE)} up (image ${COMPOSE_IMAGE}: docs/docker.md)\n`);
      else out(`start node i with: timecoin start --datadir ${join(t.dir, 'node<i>')}\n`);
    });
}

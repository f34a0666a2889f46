/**
 * docker-compose.yml and the Dockerfile against the one topology source (src/testnet-topology.ts):
 * (a) the committed compose file is exactly what the generator writes; (b) a local and a compose
 * testnet made from the same keys agree on masternodes, genesis, bootstrap peers, datadir layout
 * and loopback-only RPC; (c) the Dockerfile's shape, its CMD parsed by the real commander
 * commands, and its healthcheck run against a real node; (d) `docker-compose config` accepts the
 * files when Debian's docker-compose is installed (skipped, with the reason printed, when not).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSecretKey } from '../../chain/ed25519.js';
import { toHex } from '../../chain/hash.js';
import { peerIdOfOperatorKey } from '../../p2p/consensus-link.js';
import { committedComposeText } from '../../scripts/compose.js';
import { registerApikeyCommand } from '../../src/commands/apikey.js';
import { registerClientCommands } from '../../src/commands/index.js';
import { registerStartCommand } from '../../src/commands/start.js';
import { createTestnet, TESTNET_COMPOSE_FILE, type Testnet, type TestnetKeys } from '../../src/commands/testnet.js';
import { REGENERATE_COMMAND } from '../../src/compose-file.js';
import { loadConfig } from '../../src/config.js';
import { genesisBlock, readGenesisFile, type GenesisFile } from '../../src/genesis-file.js';
import { COMPOSE_P2P_PORT, testnetTopology, TopologyError } from '../../src/testnet-topology.js';
import { startDevNode, tempDir } from '../e2e/helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const N = 4;
const read = (f: string): string => readFileSync(f, 'utf8');

/** The services of a generated compose file: name → its volume and port entries (our own, fixed shape). */
function composeServices(text: string): Map<string, { volumes: string[]; ports: string[] }> {
  const out = new Map<string, { volumes: string[]; ports: string[] }>();
  let section = '';
  let svc: { volumes: string[]; ports: string[] } | undefined;
  let list: 'volumes' | 'ports' | null = null;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) section = line;
    else if (section === 'services:' && /^ {2}[a-z0-9]+:$/.test(line)) out.set(line.trim().slice(0, -1), (svc = { volumes: [], ports: [] }));
    else if (svc !== undefined && /^ {4}\S/.test(line)) list = line.trim() === 'volumes:' ? 'volumes' : line.trim() === 'ports:' ? 'ports' : null;
    else if (svc !== undefined && list !== null && /^ {6}- /.test(line)) svc[list].push(line.trim().slice(2).replace(/^"|"$/g, ''));
  }
  return out;
}

/** The `timecoin` program as src/cli.ts builds it, with `start` only recording its options. */
function cliProgram(stdout: (t: string) => void = () => {}): { program: Command; started: () => Record<string, unknown> | null } {
  const program = new Command().name('timecoin').option('--verbose').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  registerApikeyCommand(program);
  registerClientCommands(program, { stdout });
  registerStartCommand(program);
  let opts: Record<string, unknown> | null = null;
  program.commands.find((c) => c.name() === 'start')!.action((o: Record<string, unknown>) => void (opts = o));
  return { program, started: () => opts };
}

describe('docker-compose.yml (committed)', () => {
  it('is exactly what the topology generator writes', () => {
    const committed = read(join(ROOT, 'docker-compose.yml'));
    const expected = committedComposeText();
    if (committed !== expected) {
      throw new Error(`docker-compose.yml differs from the generator's output (src/testnet-topology.ts, src/compose-file.ts); run \`${REGENERATE_COMMAND}\` to regenerate it`);
    }
    expect(committed).toBe(expected);
  });

  it('mounts ./testnet/node<i> (written by npm run testnet:compose, gitignored) and publishes only RPC on 127.0.0.1', () => {
    const pkg = JSON.parse(read(join(ROOT, 'package.json'))) as { scripts: Record<string, string> };
    expect(pkg.scripts['testnet:compose']).toMatch(/testnet --validators 4 --out testnet --compose$/);
    expect(read(join(ROOT, '.gitignore')).split('\n')).toContain('/testnet/');
    const services = composeServices(read(join(ROOT, 'docker-compose.yml')));
    const topo = testnetTopology({ validators: N, mode: 'compose' });
    expect([...services.keys()]).toEqual(topo.nodes.map((nd) => nd.name));
    for (const nd of topo.nodes) {
      expect(services.get(nd.name)).toEqual({ volumes: [`./testnet/${nd.datadir}:/data`], ports: [`127.0.0.1:${nd.rpcPort}:${nd.rpcPort}`] });
    }
  });
});

describe('testnet topology', () => {
  it('refuses bad parameters with a typed error', () => {
    for (const bad of [
      { validators: 0, mode: 'local' as const },
      { validators: 65, mode: 'compose' as const },
      { validators: 4, mode: 'local' as const, basePort: 65530 },
      { validators: 4, mode: 'compose' as const, host: '10.0.0.1' },
      { validators: 4, mode: 'local' as const, host: '999.1.1.1' },
      { validators: 1, mode: 'compose' as const, basePort: COMPOSE_P2P_PORT - 1 }, // RPC would take the P2P port
    ]) {
      expect(() => testnetTopology(bad), JSON.stringify(bad)).toThrow(TopologyError);
    }
  });
});

describe('a local and a compose testnet from the same keys', () => {
  let local: Testnet;
  let compose: Testnet;
  let out: string;
  const stdout: string[] = [];

  beforeAll(async () => {
    const keys: TestnetKeys = {
      faucet: generateSecretKey(),
      operators: Array.from({ length: N }, () => generateSecretKey()),
      owners: Array.from({ length: N }, () => generateSecretKey()),
    };
    const dir = tempDir('timecoin-compose-');
    const nowMs = Date.UTC(2026, 0, 1);
    local = await createTestnet({ validators: N, out: join(dir, 'local'), keys, nowMs });
    compose = await createTestnet({ validators: N, out: join(dir, 'compose'), keys, nowMs, mode: 'compose' });
    // And the real command line: `timecoin testnet --validators 4 --out DIR --compose`.
    out = join(dir, 'cli');
    const { program } = cliProgram((t) => stdout.push(t));
    await program.parseAsync(['testnet', '--validators', String(N), '--out', out, '--compose'], { from: 'user' });
  });

  it('the same masternodes: operator keys, peer ids and owner wallets per node', () => {
    for (let i = 0; i < N; i++) {
      const [l, c] = [local.nodes[i]!, compose.nodes[i]!];
      expect(c.operatorPublicKey).toBe(l.operatorPublicKey);
      expect(c.peerId).toBe(peerIdOfOperatorKey(Buffer.from(l.operatorPublicKey, 'hex')));
      for (const f of ['operator.json', 'owner-wallet.json']) expect(read(join(c.datadir, f))).toBe(read(join(l.datadir, f)));
    }
    expect(new Set(local.nodes.map((n) => n.operatorPublicKey)).size).toBe(N);
  });

  it('the same genesis except each registration addr, which is that mode\'s dial address', async () => {
    const [gl, gc] = [await readGenesisFile(join(local.dir, 'genesis.json')), await readGenesisFile(join(compose.dir, 'genesis.json'))];
    const lt = testnetTopology({ validators: N, mode: 'local' });
    const ct = testnetTopology({ validators: N, mode: 'compose' });
    expect(gl.registrations!.map((r) => r.addr)).toEqual(lt.nodes.map((n) => n.dialAddr));
    expect(gc.registrations!.map((r) => r.addr)).toEqual(ct.nodes.map((n) => n.dialAddr));
    // With the addrs swapped in, the compose genesis is the local one: same chain id.
    const swapped: GenesisFile = { ...gc, registrations: gc.registrations!.map((r, i) => ({ ...r, addr: gl.registrations![i]!.addr })) };
    expect(toHex(genesisBlock(swapped).hash)).toBe(toHex(genesisBlock(gl).hash));
    expect(gc.registrations!.map((r) => toHex(r.operatorPublicKey))).toEqual(local.nodes.map((n) => n.operatorPublicKey));
    // Every node folder holds its testnet's genesis.
    for (const t of [local, compose]) for (const nd of t.nodes) expect(read(join(nd.datadir, 'genesis.json'))).toBe(read(join(t.dir, 'genesis.json')));
  });

  it('the same bootstrap peers per node (same peer ids; only host and port differ by mode)', () => {
    const parse = (a: string): { host: string; port: number; id: string } => {
      const m = /^\/(?:ip4|dns4)\/([^/]+)\/tcp\/(\d+)\/p2p\/(\w+)$/.exec(a);
      if (m === null) throw new Error(`unexpected bootstrap ${a}`);
      return { host: m[1]!, port: Number(m[2]), id: m[3]! };
    };
    for (let i = 0; i < N; i++) {
      const lc = loadConfig({ flags: { datadir: local.nodes[i]!.datadir }, env: {} });
      const cc = loadConfig({ flags: { datadir: compose.nodes[i]!.datadir }, env: {} });
      const [lb, cb] = [lc.p2p.bootstrap.map(parse), cc.p2p.bootstrap.map(parse)];
      const others = local.nodes.filter((_, j) => j !== i);
      expect(lb.map((b) => b.id)).toEqual(others.map((o) => o.peerId));
      expect(cb.map((b) => b.id)).toEqual(lb.map((b) => b.id));
      expect(lb.map((b) => `${b.host}:${b.port}`)).toEqual(others.map((o) => `127.0.0.1:${o.p2pPort}`));
      expect(cb.map((b) => `${b.host}:${b.port}`)).toEqual(local.nodes.flatMap((_, j) => (j === i ? [] : [`node${j}.timecoin:${COMPOSE_P2P_PORT}`])));
      expect([lc.p2p.listenHost, cc.p2p.listenHost]).toEqual(['127.0.0.1', '0.0.0.0']);
      // RPC: the same port in both modes (so host-side client commands find it in config.json).
      expect(cc.rpc.port).toBe(lc.rpc.port);
    }
  });

  it('the same datadir layout; the compose testnet adds only docker-compose.yml', () => {
    const ls = (d: string): string[] => readdirSync(d).sort();
    expect(ls(compose.dir)).toEqual([...ls(local.dir), TESTNET_COMPOSE_FILE].sort());
    for (let i = 0; i < N; i++) {
      expect(ls(compose.nodes[i]!.datadir)).toEqual(ls(local.nodes[i]!.datadir));
      expect(compose.nodes[i]!.datadir).toBe(join(compose.dir, `node${i}`));
    }
    expect(existsSync(join(local.dir, TESTNET_COMPOSE_FILE))).toBe(false);
  });

  it('RPC reachable on 127.0.0.1 only: loopback bind locally; in compose, 0.0.0.0 inside the container but published on 127.0.0.1 only', () => {
    const services = composeServices(read(join(compose.dir, TESTNET_COMPOSE_FILE)));
    expect([...services.keys()]).toEqual(compose.nodes.map((_, i) => `node${i}`));
    for (let i = 0; i < N; i++) {
      expect(loadConfig({ flags: { datadir: local.nodes[i]!.datadir }, env: {} }).rpc.host).toBe('127.0.0.1');
      const cc = loadConfig({ flags: { datadir: compose.nodes[i]!.datadir }, env: {} });
      expect(cc.rpc.host).toBe('0.0.0.0');
      // Exactly one published port per service: its RPC port, host side bound to loopback.
      expect(services.get(`node${i}`)).toEqual({ volumes: [`./node${i}:/data`], ports: [`127.0.0.1:${cc.rpc.port}:${cc.rpc.port}`] });
    }
  });

  it('`timecoin testnet --compose` writes the same kind of testnet and says how to start it', () => {
    expect(read(join(out, TESTNET_COMPOSE_FILE))).toBe(read(join(compose.dir, TESTNET_COMPOSE_FILE)));
    expect(readdirSync(out).sort()).toEqual(readdirSync(compose.dir).sort());
    expect(stdout.join('')).toContain(`docker compose -f ${join(out, TESTNET_COMPOSE_FILE)} up`);
  });

  describe('docker-compose config', () => {
    const which = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
    const present = which.status === 0;
    if (!present) process.stdout.write('compose.test: docker-compose is not installed (apt-get install -y docker-compose); skipping `docker-compose config -q`\n');

    it.skipIf(!present)('accepts the generated testnet\'s compose file and the committed one, resolving volumes to existing datadirs', () => {
      for (const file of [join(compose.dir, TESTNET_COMPOSE_FILE), join(ROOT, 'docker-compose.yml')]) {
        const q = spawnSync('docker-compose', ['-f', file, 'config', '-q'], { encoding: 'utf8', timeout: 30_000 });
        expect(q.status, `${file}: ${q.stderr}`).toBe(0);
      }
      const full = spawnSync('docker-compose', ['-f', join(compose.dir, TESTNET_COMPOSE_FILE), 'config'], { encoding: 'utf8', timeout: 30_000 });
      expect(full.status, full.stderr).toBe(0);
      const mounts = [...full.stdout.matchAll(/^\s*- (\/\S+):\/data:rw$/gm)].map((m) => m[1]!);
      expect(mounts).toEqual(compose.nodes.map((nd) => nd.datadir));
      const ports = [...full.stdout.matchAll(/^\s*- (\S+:\d+:\d+\/tcp)$/gm)].map((m) => m[1]!);
      expect(ports).toEqual(compose.nodes.map((nd) => `127.0.0.1:${nd.rpcPort}:${nd.rpcPort}/tcp`));
    });
  });
});

describe('Dockerfile', () => {
  const text = read(join(ROOT, 'Dockerfile'));
  // Instructions with their continuation lines joined, comments dropped.
  const instructions = text.replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  const all = (op: string): string[] => instructions.filter((l) => l.startsWith(`${op} `)).map((l) => l.slice(op.length + 1).trim());
  const json = (op: string): string[] => JSON.parse(all(op).at(-1)!) as string[];

  it('is multi-stage, runs as a non-root user, declares /data and the testnet ports', () => {
    const froms = all('FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(all('ARG').join(' ')).toMatch(/node:(22|24)-bookworm-slim/);
    // The runtime stage (the last) copies node_modules from a production-only install.
    expect(instructions.some((l) => /^RUN npm ci --omit=dev/.test(l))).toBe(true);
    expect(instructions.some((l) => /^RUN npm run build/.test(l))).toBe(true);
    // The build stage copies every folder the build compiles (tsconfig.build.json), so a new one cannot be missed.
    const include = (JSON.parse(read(join(ROOT, 'tsconfig.build.json'))) as { include: string[] }).include;
    for (const dir of include) expect(all('COPY'), `COPY ${dir}`).toContain(`${dir} ./${dir}`);
    const runtime = instructions.slice(instructions.findLastIndex((l) => l.startsWith('FROM ')));
    expect(runtime.some((l) => /^COPY --from=deps .*node_modules/.test(l))).toBe(true);
    const user = all('USER').at(-1);
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user!.split(':')[0]);
    expect(all('VOLUME')).toEqual(['/data']);
    expect(all('EXPOSE').join(' ').split(/\s+/)).toEqual(['24100', '24101']);
    expect(all('WORKDIR').length).toBeGreaterThan(0);
  });

  it('ENTRYPOINT is the package bin and CMD is a valid `timecoin start --datadir /data`', async () => {
    const pkg = JSON.parse(read(join(ROOT, 'package.json'))) as { bin: { timecoin: string } };
    expect(json('ENTRYPOINT')).toEqual(['node', pkg.bin.timecoin]);
    const cmd = json('CMD');
    expect(cmd).toEqual(['start', '--datadir', '/data']);
    const { program, started } = cliProgram();
    await program.parseAsync(cmd, { from: 'user' });
    expect(started()).toEqual({ datadir: '/data' });
    // The same parser refuses a misspelt command line, so the check above can fail.
    await expect(cliProgram().program.parseAsync(['start', '--datadri', '/data'], { from: 'user' })).rejects.toThrow(CommanderError);
  });

  it('HEALTHCHECK probes /health with node itself: exit 0 while a real node serves, 1 once it is gone', async () => {
    const hc = all('HEALTHCHECK').at(-1)!;
    const argv = JSON.parse(hc.slice(hc.indexOf('CMD ') + 4)) as string[];
    expect(argv.slice(0, 2)).toEqual(['node', '-e']);
    expect(argv[2]).toContain('/health');
    const node = await startDevNode(tempDir('timecoin-hc-'));
    const port = new URL(node.rpcUrl).port;
    // Asynchronous: the node answers from this process's event loop.
    const probe = (): Promise<number | null> =>
      new Promise((resolve, reject) => {
        const p = spawn(process.execPath, argv.slice(1), { env: { ...process.env, TIMECOIN_RPC_PORT: port }, stdio: 'ignore', timeout: 20_000 });
        p.once('error', reject);
        p.once('exit', (code) => resolve(code));
      });
    try {
      expect(await probe()).toBe(0);
    } finally {
      await node.close();
    }
    expect(await probe()).toBe(1);
  });
});

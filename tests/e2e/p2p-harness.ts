/**
 * Real libp2p nodes on loopback for the p2p e2e tests: `P2pNetwork` instances listening on
 * 127.0.0.1 port 0, each with a temp data directory, a shared "active masternode" set the test
 * controls, and a real prom-client registry. `waitFor` polls; nothing sleeps and hopes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { generateSecretKey, publicKeyOf } from '../../chain/ed25519.js';
import { toHex } from '../../chain/hash.js';
import { P2pNetwork, type P2pNetworkOptions } from '../../p2p/network.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';

export interface TestNode {
  readonly net: P2pNetwork;
  readonly secret: Uint8Array | null;
  readonly metrics: Metrics;
  readonly registry: Registry;
  readonly dir: string;
}

/** The active masternode set shared by a test's nodes (hex operator keys). */
export class MasternodeSet {
  readonly keys = new Set<string>();
  add(secret: Uint8Array): void {
    this.keys.add(toHex(publicKeyOf(secret)));
  }
  has = (key: Uint8Array): boolean => this.keys.has(toHex(key));
}

const started: TestNode[] = [];

/** Start a node; `masternode: true` adds its key to `set`. */
export async function startNode(
  set: MasternodeSet,
  opts: { masternode?: boolean; withKey?: boolean } & Partial<Omit<P2pNetworkOptions, 'isActiveMasternode' | 'metrics'>> = {},
): Promise<TestNode> {
  const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'timecoin-p2p-'));
  const secret = opts.operatorSecret ?? (opts.masternode === true || opts.withKey === true ? generateSecretKey() : null);
  if (opts.masternode === true) set.add(secret!);
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const net = await P2pNetwork.create({
    network: 'dev',
    listen: ['/ip4/127.0.0.1/tcp/0'],
    operatorSecret: secret,
    dataDir: dir,
    ...opts,
    isActiveMasternode: set.has,
    metrics,
  });
  const node = { net, secret, metrics, registry, dir };
  started.push(node);
  return node;
}

/** Stop every node started by this file and remove their directories. */
export async function stopAll(): Promise<void> {
  const nodes = started.splice(0);
  await Promise.allSettled(nodes.map((n) => n.net.stop()));
  for (const dir of new Set(nodes.map((n) => n.dir))) rmSync(dir, { recursive: true, force: true });
}

/** Poll `cond` every 10 ms until true or `ms` passes (then throw with `what`). */
export async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Connect `a` to `b` and wait until both see the connection. */
export async function link(a: TestNode, b: TestNode): Promise<void> {
  await a.net.connect(b.net.addresses[0]!);
  await waitFor(() => peersOf(a).includes(b.net.peerId) && peersOf(b).includes(a.net.peerId), 'link');
}

/** Peer ids `n` is connected to. */
export function peersOf(n: TestNode): string[] {
  return n.net.getPeerInfo().map((p) => p.id);
}

/** A counter's value from the node's registry (sum over matching labels). */
export async function metricValue(n: TestNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await n.registry.getSingleMetric(`timecoin_${name}`)?.get();
  if (m === undefined) throw new Error(`no metric ${name}`);
  return m.values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((s, v) => s + v.value, 0);
}

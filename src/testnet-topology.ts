/**
 * The one source of truth for where the nodes of a generated testnet listen and how they find
 * each other (SPEC §6). `createTestnet` writes each node's config.json from it, and
 * `src/compose-file.ts` renders `docker-compose.yml` from it, so the local-process testnet and
 * the compose testnet cannot drift (tests/unit/compose.test.ts).
 *
 *   local    every node on one host (loopback): P2P on P + 2i, RPC on P + 2i + 1, both on `host`.
 *   compose  one container per node, service `node<i>`: P2P on the standard testnet port 24100
 *            inside every container (only the compose network sees it), dialled as
 *            /dns4/node<i>.timecoin/tcp/24100 (a network alias: the chain's multiaddr rule wants a
 *            dotted host name, chain/multiaddr.ts); RPC on P + 2i + 1 bound to 0.0.0.0 inside the container and
 *            published as 127.0.0.1:PORT:PORT on the host, so the same port works from the host
 *            and inside, and the host's client commands find it in the mounted config.json.
 *
 * Pure: no IO, no keys. Peer ids are passed to `bootstrapOf`.
 */
import { TimecoinError } from '../chain/errors.js';

export const TopologyCode = { Invalid: 'testnet-invalid' } as const;
export type TopologyCode = (typeof TopologyCode)[keyof typeof TopologyCode];
/** A bad testnet parameter (validator count, base port, host). Nothing is written. */
export class TopologyError extends TimecoinError<TopologyCode> {}

export type TopologyMode = 'local' | 'compose';

export const DEFAULT_TESTNET_BASE_PORT = 24100;
/** P2P port of every container in compose mode: the testnet default (SPEC §5). */
export const COMPOSE_P2P_PORT = 24100;
/** Where a node's datadir is mounted inside its container (the Dockerfile's VOLUME and CMD). */
export const CONTAINER_DATADIR = '/data';
export const MAX_TESTNET_VALIDATORS = 64;
/** The compose network, and the domain of the nodes' dialled names (`node<i>.timecoin`). */
export const COMPOSE_NETWORK = 'timecoin';

export interface TopologyNode {
  readonly index: number;
  /** Folder name under the testnet directory, and the compose service / host name: `node<i>`. */
  readonly name: string;
  /** The datadir relative to the testnet directory (the same in both modes). */
  readonly datadir: string;
  /** Where the node's datadir is seen by the node: `null` = the host path (local), else a container path. */
  readonly containerDatadir: string | null;
  readonly p2pListenHost: string;
  readonly p2pPort: number;
  /** Compose only: the DNS name the others dial (a network alias), else null. */
  readonly dnsName: string | null;
  /** How the other nodes dial this one (no /p2p/<id>); also its genesis registration addr. */
  readonly dialAddr: string;
  /** `rpc.host` in config.json. */
  readonly rpcHost: string;
  readonly rpcPort: number;
  /** Compose `ports:` entry (host loopback only), or null when nothing is published. */
  readonly rpcPublish: string | null;
}

export interface TestnetTopology {
  readonly mode: TopologyMode;
  readonly basePort: number;
  readonly nodes: readonly TopologyNode[];
  /** `p2p.maxPerIp` for every node: all local nodes share 127.0.0.1. */
  readonly maxPerIp: number;
}

export interface TopologyOptions {
  readonly validators: number;
  readonly mode: TopologyMode;
  /** Default 24100 (SPEC §6). */
  readonly basePort?: number;
  /** Local mode only: the address the nodes listen on and dial (default 127.0.0.1). */
  readonly host?: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The addresses, ports and datadirs of an N-node testnet; throws `TopologyError` on bad input. */
export function testnetTopology(o: TopologyOptions): TestnetTopology {
  const n = o.validators;
  if (!Number.isInteger(n) || n < 1 || n > MAX_TESTNET_VALIDATORS) {
    throw new TopologyError(TopologyCode.Invalid, `--validators must be an integer 1–${MAX_TESTNET_VALIDATORS}`, { key: 'validators' });
  }
  const base = o.basePort ?? DEFAULT_TESTNET_BASE_PORT;
  if (!Number.isInteger(base) || base < 1 || base + 2 * n - 1 > 65535) {
    throw new TopologyError(TopologyCode.Invalid, `--base-port must leave room for ${2 * n} ports below 65536`, { key: 'basePort' });
  }
  if (o.mode !== 'local' && o.mode !== 'compose') throw new TopologyError(TopologyCode.Invalid, 'mode must be local or compose', { key: 'mode' });
  if (o.mode === 'compose' && o.host !== undefined) {
    throw new TopologyError(TopologyCode.Invalid, '--host applies to a local testnet only (compose nodes dial each other by service name)', { key: 'host' });
  }
  const host = o.host ?? '127.0.0.1';
  if (!IPV4.test(host)) throw new TopologyError(TopologyCode.Invalid, '--host must be an IPv4 address', { key: 'host' });

  const nodes = Array.from({ length: n }, (_, i): TopologyNode => {
    const name = `node${i}`;
    const rpcPort = base + 2 * i + 1;
    if (o.mode === 'local') {
      const p2pPort = base + 2 * i;
      return { index: i, name, datadir: name, containerDatadir: null, p2pListenHost: host, p2pPort, dnsName: null, dialAddr: `/ip4/${host}/tcp/${p2pPort}`, rpcHost: '127.0.0.1', rpcPort, rpcPublish: null };
    }
    if (rpcPort === COMPOSE_P2P_PORT) {
      throw new TopologyError(TopologyCode.Invalid, `--base-port gives node${i} RPC port ${rpcPort}, the containers' P2P port`, { key: 'basePort' });
    }
    const dnsName = `${name}.${COMPOSE_NETWORK}`;
    return {
      index: i, name, datadir: name, containerDatadir: CONTAINER_DATADIR, dnsName,
      // Inside a container 0.0.0.0 is that container's own interfaces; the publish below decides
      // what the host exposes (loopback only).
      p2pListenHost: '0.0.0.0', p2pPort: COMPOSE_P2P_PORT, dialAddr: `/dns4/${dnsName}/tcp/${COMPOSE_P2P_PORT}`,
      rpcHost: '0.0.0.0', rpcPort, rpcPublish: `127.0.0.1:${rpcPort}:${rpcPort}`,
    };
  });
  return { mode: o.mode, basePort: base, nodes, maxPerIp: Math.max(8, n + 2) };
}

/** Node i's `p2p.bootstrap`: every other node's dial address with its `/p2p/<peer id>`. */
export function bootstrapOf(t: TestnetTopology, i: number, peerIds: readonly string[]): string[] {
  if (peerIds.length !== t.nodes.length) throw new TopologyError(TopologyCode.Invalid, `expected ${t.nodes.length} peer ids, got ${peerIds.length}`);
  return t.nodes.flatMap((other, j) => (j === i ? [] : [`${other.dialAddr}/p2p/${peerIds[j]!}`]));
}

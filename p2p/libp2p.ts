/**
 * The ONE `createLibp2p` call of the project: TCP + noise + yamux, ping and identify, with
 * connection caps (total and per remote IP) and a gater that refuses banned peers.
 *
 * Identity: a masternode's libp2p key IS its operator key. The libp2p Ed25519 private key is
 * derived from the operator's 32-byte secret (the same RFC 8032 seed), so the peer id embeds
 * the operator public key and the noise handshake proves possession of the operator secret.
 * `operatorKeyOfPeer` reads that key back from a remote peer id.
 */
import './polyfill.js';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { identify, type Identify } from '@libp2p/identify';
import type { Ed25519PrivateKey, Libp2p, PeerId } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { ping, type Ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import type { Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { SECRET_KEY_LENGTH } from '../chain/ed25519.js';

export type TimecoinLibp2p = Libp2p<{ ping: Ping; identify: Identify }>;

export interface Libp2pOptions {
  /** Listen multiaddrs, e.g. `/ip4/0.0.0.0/tcp/24100` (tests: `/ip4/127.0.0.1/tcp/0`). */
  readonly listen: readonly string[];
  /** The operator's 32-byte secret (masternode), or null for a random identity. */
  readonly operatorSecret: Uint8Array | null;
  /** Total connection cap. */
  readonly maxConnections: number;
  /** Inbound connections allowed from one remote IP (sybil and socket exhaustion guard). */
  readonly maxConnectionsPerIp: number;
  /** Refuse connections to/from a peer (bans); called on every dial and inbound handshake. */
  readonly isDenied: (peerId: string) => boolean;
}

export const DEFAULT_MAX_CONNECTIONS = 128;
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 8;

/** The libp2p private key of an operator secret (same seed, so the same public key). */
export async function privateKeyFromOperatorSecret(secret: Uint8Array): Promise<Ed25519PrivateKey> {
  if (secret.length !== SECRET_KEY_LENGTH) throw new TypeError('operator secret must be 32 bytes');
  return generateKeyPairFromSeed('Ed25519', secret);
}

/** The peer id (string) a node started from `secret` has. */
export async function peerIdOfOperatorSecret(secret: Uint8Array): Promise<string> {
  return peerIdFromPrivateKey(await privateKeyFromOperatorSecret(secret)).toString();
}

/** The raw 32-byte ed25519 public key embedded in a peer id, or null (other key types, bad id). */
export function operatorKeyOfPeer(peer: PeerId | string): Uint8Array | null {
  let id: PeerId;
  try {
    id = typeof peer === 'string' ? peerIdFromString(peer) : peer;
  } catch {
    return null;
  }
  if (id.type !== 'Ed25519') return null;
  return id.publicKey.raw;
}

/** The IP (v4 or v6) of a multiaddr, or null (e.g. a DNS or relay address). */
export function ipOf(addr: Multiaddr): string | null {
  for (const c of addr.getComponents()) if ((c.name === 'ip4' || c.name === 'ip6') && c.value !== undefined) return c.value;
  return null;
}

/** Create (not start) the node's libp2p instance. */
export async function createTimecoinLibp2p(o: Libp2pOptions): Promise<TimecoinLibp2p> {
  const privateKey = o.operatorSecret !== null ? await privateKeyFromOperatorSecret(o.operatorSecret) : await generateKeyPair('Ed25519');
  // The gater runs before the node exists; it reads the node through this late-bound reference.
  let node: TimecoinLibp2p | null = null;
  const inboundFromIp = (ip: string): number => {
    if (node === null) return 0;
    let n = 0;
    for (const c of node.getConnections()) if (c.direction === 'inbound' && ipOf(c.remoteAddr) === ip) n++;
    return n;
  };
  node = await createLibp2p({
    privateKey,
    start: false,
    addresses: { listen: [...o.listen] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: o.maxConnections,
      // Bounds half-open handshakes, which cost CPU (noise) before any peer id is known.
      maxIncomingPendingConnections: Math.max(4, Math.ceil(o.maxConnections / 8)),
    },
    connectionGater: {
      denyInboundConnection: (maConn) => {
        const ip = ipOf(maConn.remoteAddr);
        return ip !== null && inboundFromIp(ip) >= o.maxConnectionsPerIp;
      },
      denyInboundEncryptedConnection: (peerId) => o.isDenied(peerId.toString()),
      denyOutboundEncryptedConnection: (peerId) => o.isDenied(peerId.toString()),
      denyDialPeer: (peerId) => o.isDenied(peerId.toString()),
    },
    services: { ping: ping(), identify: identify() },
  });
  return node;
}

/**
 * A small strict parser for the multiaddr forms a masternode registration may carry
 * (docs/masternodes.md). It is consensus code: every node must give the same verdict on the same
 * string, so it is written out here (no library whose accepted set can change between versions).
 *
 *   /ip4/<a.b.c.d>/tcp/<port>[/p2p/<peer id>]
 *   /ip6/<ipv6>/tcp/<port>[/p2p/<peer id>]
 *   /dns4|dns6|dns/<hostname>/tcp/<port>[/p2p/<peer id>]
 *
 * Ports are 1..65535 in decimal without leading zeros; IPv4 octets 0..255 without leading zeros;
 * IPv6 is 8 groups of 1..4 hex digits with at most one `::` (no zone id, no embedded IPv4);
 * hostnames are RFC 1123 labels (letters, digits, inner hyphens, 1..63 bytes, ≤ 253 in all, at
 * least two labels, last label not all digits); a peer id is base58btc (40..100 characters) or a
 * lowercase base32 CIDv1 (`b` + 50..100 characters).
 */

export interface Multiaddr {
  readonly proto: 'ip4' | 'ip6' | 'dns4' | 'dns6' | 'dns';
  readonly host: string;
  readonly port: number;
  readonly peerId: string | null;
}

const DEC = /^(0|[1-9][0-9]*)$/;
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]{40,100}$/;
const BASE32_CID = /^b[a-z2-7]{50,100}$/;

function isIp4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => DEC.test(p) && p.length <= 3 && Number(p) <= 255);
}

function isIp6(s: string): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (h: string): string[] | null => {
    if (h === '') return [];
    const g = h.split(':');
    return g.every((x) => HEX_GROUP.test(x)) ? g : null;
  };
  const left = groups(halves[0]!);
  if (left === null) return false;
  if (halves.length === 1) return left.length === 8;
  const right = groups(halves[1]!);
  // `::` stands for at least one zero group.
  return right !== null && left.length + right.length <= 7;
}

function isHostname(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

function isPort(s: string): boolean {
  return DEC.test(s) && s.length <= 5 && Number(s) >= 1 && Number(s) <= 65535;
}

/** Parse `addr` as one of the accepted forms; null if it is anything else. */
export function parseMultiaddr(addr: string): Multiaddr | null {
  if (!addr.startsWith('/')) return null;
  const parts = addr.slice(1).split('/');
  if (parts.length !== 4 && parts.length !== 6) return null;
  const [proto, host, tcp, port, p2p, peerId] = parts as [string, string, string, string, string?, string?];
  if (tcp !== 'tcp' || !isPort(port)) return null;
  let ok: boolean;
  switch (proto) {
    case 'ip4':
      ok = isIp4(host);
      break;
    case 'ip6':
      ok = isIp6(host);
      break;
    case 'dns4':
    case 'dns6':
    case 'dns':
      ok = isHostname(host);
      break;
    default:
      return null;
  }
  if (!ok) return null;
  if (parts.length === 6 && (p2p !== 'p2p' || !(BASE58.test(peerId!) || BASE32_CID.test(peerId!)))) return null;
  return { proto, host, port: Number(port), peerId: parts.length === 6 ? peerId! : null };
}

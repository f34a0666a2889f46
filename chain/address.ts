/**
 * Addresses (SPEC §2): bech32m (BIP-350) of the 32-byte ed25519 public key, with the HRP of the
 * network (`time` / `ttime` / `dtime`). Parsing classifies every failure with an AddressCode
 * so RPC can answer `validateaddress` precisely and wallets can say why a string was refused.
 */
import { bech32, bech32m } from '@scure/base';
import { ed25519 } from '@noble/curves/ed25519.js';
import { NETWORKS, type NetworkName } from './constants.js';
import { AddressCode, AddressError } from './errors.js';
import { PUBLIC_KEY_LENGTH, isValidPublicKey } from './ed25519.js';

/** BIP-173/350 upper bound on the length of a bech32 string. */
export const MAX_ADDRESS_LENGTH = 90;
const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
/** 256 bits in 5-bit words: 52 words, the last carrying 4 zero padding bits. */
const PUBLIC_KEY_WORDS = Math.ceil((PUBLIC_KEY_LENGTH * 8) / 5);

const networkByHrp: ReadonlyMap<string, NetworkName> = new Map(
  (Object.keys(NETWORKS) as NetworkName[]).map((n) => [NETWORKS[n].hrp, n]),
);

/** The bech32m address of a 32-byte public key on `network`. */
export function encodeAddress(publicKey: Uint8Array, network: NetworkName): string {
  if (publicKey.length !== PUBLIC_KEY_LENGTH) throw new TypeError(`public key must be ${PUBLIC_KEY_LENGTH} bytes`);
  return bech32m.encode(NETWORKS[network].hrp, bech32m.toWords(publicKey), MAX_ADDRESS_LENGTH);
}

/**
 * Structural checks of BIP-173 done here rather than inside @scure/base, so that each failure
 * gets its own code (the library throws untyped errors with messages only). Returns the
 * lower-cased string. An all-uppercase address is accepted, as BIP-173 requires.
 */
function checkFormat(str: string): string {
  const bad = (why: string): never => {
    throw new AddressError(AddressCode.BadEncoding, `not a bech32m address: ${why}`);
  };
  if (str.length < 8 || str.length > MAX_ADDRESS_LENGTH) bad(`length ${str.length} outside 8..${MAX_ADDRESS_LENGTH}`);
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (c < 33 || c > 126) bad('character outside printable ASCII');
  }
  const lower = str.toLowerCase();
  if (str !== lower && str !== str.toUpperCase()) bad('mixed case');
  const sep = lower.lastIndexOf('1');
  if (sep < 1) bad('missing human-readable part or separator');
  if (lower.length - sep - 1 < 6) bad('data part shorter than the checksum');
  for (let i = sep + 1; i < lower.length; i++) {
    if (!CHARSET.includes(lower[i]!)) bad(`character "${lower[i]}" outside the bech32 alphabet`);
  }
  return lower;
}

/** Decode words to the 32-byte key: any other length is BadLength, bad padding BadEncoding. */
function wordsToPublicKey(words: number[]): Uint8Array {
  if (words.length !== PUBLIC_KEY_WORDS) {
    throw new AddressError(AddressCode.BadLength, `address carries ${words.length} words, a public key is ${PUBLIC_KEY_WORDS}`);
  }
  const bytes = bech32m.fromWordsUnsafe(words);
  if (bytes === undefined) throw new AddressError(AddressCode.BadEncoding, 'non-zero padding bits');
  const publicKey = Uint8Array.from(bytes);
  if (!canEverSign(publicKey)) {
    throw new AddressError(AddressCode.BadEncoding, 'payload is not a usable ed25519 public key', { reason: 'invalid-key' });
  }
  return publicKey;
}

/**
 * An output locked to a key that no signature can ever satisfy under SPEC §2 (non-canonical,
 * small-order, or not a curve point) is burnt. Such a string is refused as an address so a
 * wallet or RPC caller cannot send money to it by mistake; encodeAddress still renders any
 * 32 bytes so existing outputs can be displayed.
 */
function canEverSign(publicKey: Uint8Array): boolean {
  if (!isValidPublicKey(publicKey)) return false;
  try {
    ed25519.Point.fromBytes(publicKey);
    return true;
  } catch {
    return false;
  }
}

/** Parse an address of any known network. */
export function parseAnyAddress(str: string): { network: NetworkName; publicKey: Uint8Array } {
  const lower = checkFormat(str);
  const decoded = bech32m.decodeUnsafe(lower, MAX_ADDRESS_LENGTH);
  if (decoded === undefined) {
    // A BIP-173 (bech32, non-m) checksum is still a checksum failure, named so in the message.
    const legacy = bech32.decodeUnsafe(lower, MAX_ADDRESS_LENGTH) !== undefined;
    throw new AddressError(AddressCode.BadChecksum, legacy ? 'bech32 checksum where bech32m is required' : 'bad checksum');
  }
  const network = networkByHrp.get(decoded.prefix);
  if (network === undefined) throw new AddressError(AddressCode.WrongNetwork, `unknown address prefix "${decoded.prefix}"`);
  return { network, publicKey: wordsToPublicKey(decoded.words) };
}

/** Parse an address that must belong to `network`; returns its 32-byte public key. */
export function decodeAddress(str: string, network: NetworkName): Uint8Array {
  const parsed = parseAnyAddress(str);
  if (parsed.network !== network) {
    throw new AddressError(AddressCode.WrongNetwork, `address is for ${parsed.network}, expected ${network}`);
  }
  return parsed.publicKey;
}

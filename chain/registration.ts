/**
 * Masternode registration payload (transaction kind 2, SPEC §3):
 *
 *   32 collateralTxid | u32 collateralIndex | 32 operatorPublicKey | u16 addrLength | addr | 64 ownerSignature
 *
 * This file is the payload codec and the owner's signing message only. The contextual rules
 * (collateral ≥ MASTERNODE_COLLATERAL and unspent, owner signature by the collateral's key,
 * uniqueness of operator key and collateral) belong to the masternode issue.
 */
import { ByteReader, ByteWriter } from './bytes.js';
import { MN_SIGN_DOMAIN } from './constants.js';
import { DecodeCode, DecodeError } from './errors.js';
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH } from './ed25519.js';

/**
 * Upper bound on the UTF-8 multiaddr (consensus): a libp2p multiaddr with DNS name, port and
 * peer id is well under 200 bytes; the bound keeps registrations and the masternode list small.
 */
export const MAX_MN_ADDR_LENGTH = 256;

export interface RegistrationPayload {
  readonly collateralTxid: Uint8Array;
  readonly collateralIndex: number;
  readonly operatorPublicKey: Uint8Array;
  /** The multiaddr exactly as encoded (the owner signs these bytes). */
  readonly addrBytes: Uint8Array;
  /** The same, decoded as UTF-8. */
  readonly addr: string;
  readonly ownerSignature: Uint8Array;
}

export interface RegistrationFields {
  readonly collateralTxid: Uint8Array;
  readonly collateralIndex: number;
  readonly operatorPublicKey: Uint8Array;
  readonly addr: string;
  readonly ownerSignature: Uint8Array;
}

// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: a leading BOM is kept, so the
// string re-encodes to the very bytes that were signed.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const FIXED_SIZE = 32 + 4 + PUBLIC_KEY_LENGTH + 2 + SIGNATURE_LENGTH;

function checkWidth(b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new TypeError(`${what} must be ${n} bytes, got ${b.length}`);
}

/** Encode a registration payload (programmer-facing: bad field widths are TypeErrors). */
export function encodeRegistrationPayload(f: RegistrationFields): Uint8Array {
  checkWidth(f.collateralTxid, 32, 'collateralTxid');
  checkWidth(f.operatorPublicKey, PUBLIC_KEY_LENGTH, 'operatorPublicKey');
  checkWidth(f.ownerSignature, SIGNATURE_LENGTH, 'ownerSignature');
  const addr = new TextEncoder().encode(f.addr);
  if (addr.length === 0 || addr.length > MAX_MN_ADDR_LENGTH) {
    throw new TypeError(`addr must be 1..${MAX_MN_ADDR_LENGTH} UTF-8 bytes, got ${addr.length}`);
  }
  return new ByteWriter(FIXED_SIZE + addr.length)
    .bytes(f.collateralTxid)
    .u32(f.collateralIndex)
    .bytes(f.operatorPublicKey)
    .u16(addr.length)
    .bytes(addr)
    .bytes(f.ownerSignature)
    .finish();
}

/**
 * Decode a payload that must span `bytes` exactly; throws only DecodeError. The addr must be
 * 1..MAX_MN_ADDR_LENGTH bytes of valid UTF-8. Key validity is a rule, checked by tx-rules.
 */
export function decodeRegistrationPayload(bytes: Uint8Array): RegistrationPayload {
  const r = new ByteReader(bytes);
  const collateralTxid = r.bytes(32, 'collateralTxid');
  const collateralIndex = r.u32('collateralIndex');
  const operatorPublicKey = r.bytes(PUBLIC_KEY_LENGTH, 'operatorPublicKey');
  const addrLength = r.u16('addrLength');
  if (addrLength === 0 || addrLength > MAX_MN_ADDR_LENGTH) {
    throw new DecodeError(DecodeCode.BadValue, `addrLength ${addrLength} outside 1..${MAX_MN_ADDR_LENGTH}`);
  }
  const addrBytes = r.bytes(addrLength, 'addr');
  let addr: string;
  try {
    addr = utf8.decode(addrBytes);
  } catch {
    throw new DecodeError(DecodeCode.BadValue, 'addr is not valid UTF-8');
  }
  const ownerSignature = r.bytes(SIGNATURE_LENGTH, 'ownerSignature');
  r.end('registration payload');
  return Object.freeze({ collateralTxid, collateralIndex, operatorPublicKey, addrBytes, addr, ownerSignature });
}

/**
 * SPEC §3 owner-signed message: "TIMECOIN-MN-V1" || chainId || collateralTxid ||
 * u32 collateralIndex || operatorPublicKey || addr (addr last, so no length prefix is needed).
 */
export function registrationSigningMessage(
  chainId: Uint8Array,
  collateralTxid: Uint8Array,
  collateralIndex: number,
  operatorPublicKey: Uint8Array,
  addrBytes: Uint8Array,
): Uint8Array {
  checkWidth(chainId, 32, 'chainId');
  checkWidth(collateralTxid, 32, 'collateralTxid');
  checkWidth(operatorPublicKey, PUBLIC_KEY_LENGTH, 'operatorPublicKey');
  return new ByteWriter(MN_SIGN_DOMAIN.length + 32 + 32 + 4 + PUBLIC_KEY_LENGTH + addrBytes.length)
    .bytes(MN_SIGN_DOMAIN)
    .bytes(chainId)
    .bytes(collateralTxid)
    .u32(collateralIndex)
    .bytes(operatorPublicKey)
    .bytes(addrBytes)
    .finish();
}

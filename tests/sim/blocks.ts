/**
 * The simulator's blocks. The engine treats blocks as opaque bytes (consensus/types.ts), so the
 * simulator uses a tiny fixed layout instead of chain/ blocks: it carries exactly what honest
 * validation in the sim needs (height, parent, an "invalid" flag a Byzantine proposer can set)
 * plus a builder id and nonce so two proposers — even twins sharing a key — never build the
 * same bytes.
 *
 *   4 magic "SIMB" | u8 flags (bit 0: invalid) | u32 height | u32 view | 32 proposer key |
 *   32 parent hash | u32 builder (node instance) | 8 nonce           = 89 bytes
 *
 * hashBlock = SHA-256(bytes): the real hash function, so the engine's hash checks are exercised.
 */
import { sha256, bytesEqual } from '../../chain/hash.js';

const MAGIC = [0x53, 0x49, 0x4d, 0x42]; // "SIMB"
export const SIM_BLOCK_LENGTH = 4 + 1 + 4 + 4 + 32 + 32 + 4 + 8;
export const FLAG_INVALID = 0x01;

export interface SimBlock {
  readonly flags: number;
  readonly height: number;
  readonly view: number;
  readonly proposer: Uint8Array;
  readonly parent: Uint8Array;
  readonly builder: number;
  readonly nonce: Uint8Array;
}

export function encodeBlock(b: SimBlock): Uint8Array {
  if (b.proposer.length !== 32 || b.parent.length !== 32 || b.nonce.length !== 8) throw new RangeError('bad block field length');
  const out = Buffer.alloc(SIM_BLOCK_LENGTH);
  out.set(MAGIC, 0);
  out.writeUInt8(b.flags, 4);
  out.writeUInt32LE(b.height, 5);
  out.writeUInt32LE(b.view, 9);
  out.set(b.proposer, 13);
  out.set(b.parent, 45);
  out.writeUInt32LE(b.builder, 77);
  out.set(b.nonce, 81);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Parse, or null for anything that is not exactly a sim block (a forged or truncated blob). */
export function decodeBlock(bytes: Uint8Array): SimBlock | null {
  if (bytes.length !== SIM_BLOCK_LENGTH) return null;
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) return null;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    flags: buf.readUInt8(4),
    height: buf.readUInt32LE(5),
    view: buf.readUInt32LE(9),
    proposer: bytes.slice(13, 45),
    parent: bytes.slice(45, 77),
    builder: buf.readUInt32LE(77),
    nonce: bytes.slice(81, 89),
  };
}

export function hashBlock(block: Uint8Array): Uint8Array {
  return sha256(block);
}

/**
 * The honest validation rule of the sim, standing in for chain/ validation: the bytes hash to
 * the hash the engine named, decode, carry no invalid flag, are for this height and extend
 * this node's last finalized block. The proposer and view fields are deliberately not checked:
 * after a view change a new leader re-proposes a block built in an earlier view by someone else.
 */
export function isValidBlock(block: Uint8Array, claimedHash: Uint8Array, height: number, parent: Uint8Array): boolean {
  if (!bytesEqual(hashBlock(block), claimedHash)) return false;
  const b = decodeBlock(block);
  if (b === null) return false;
  return (b.flags & FLAG_INVALID) === 0 && b.height === height && bytesEqual(b.parent, parent);
}

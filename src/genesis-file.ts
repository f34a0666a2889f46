/**
 * `<datadir>/genesis.json`: the parameters of chain/genesis.ts createGenesis, from which every
 * start rebuilds the same genesis block (same parameters → same bytes → same chainId) and checks
 * it against the store. Amounts are decimal strings of units, keys lowercase hex.
 *
 *   {"network": "dev", "timestampMs": 1700000000000, "proposer": "<hex>" | null,
 *    "allocations": [{"publicKey": "<hex>", "amount": "100000000000000"}],
 *    "registrations": [{"allocation": 0, "operatorPublicKey": "<hex>", "addr": "/ip4/…/tcp/24100"}]}
 *
 * `registrations` (optional; docs/masternodes.md "Genesis registrations") names the initial
 * masternodes; a file without it describes a genesis with none.
 */
import { readFile } from 'node:fs/promises';
import { NETWORKS, type NetworkName } from '../chain/constants.js';
import type { Block } from '../chain/block.js';
import { createGenesis, type GenesisAllocation, type GenesisRegistration } from '../chain/genesis.js';
import { fromHex, toHex } from '../chain/hash.js';
import { writeFileDurably } from './consensus-state.js';

export const GENESIS_FILE = 'genesis.json';

/** The decoded genesis parameters. */
export interface GenesisFile {
  readonly network: NetworkName;
  readonly timestampMs: number;
  /** Header proposer field; null = the network tag (chain/genesis.ts genesisTag). */
  readonly proposer: Uint8Array | null;
  readonly allocations: readonly GenesisAllocation[];
  /** Initial masternodes (empty: none). */
  readonly registrations?: readonly GenesisRegistration[];
}

/** Write the parameters durably (temp file, fsync, rename). */
export async function writeGenesisFile(file: string, g: GenesisFile): Promise<void> {
  const body = {
    network: g.network,
    timestampMs: g.timestampMs,
    proposer: g.proposer === null ? null : toHex(g.proposer),
    allocations: g.allocations.map((a) => ({ publicKey: toHex(a.publicKey), amount: a.amount.toString(10) })),
    // Omitted when empty, so files written before registrations existed stay byte-identical.
    ...(g.registrations === undefined || g.registrations.length === 0
      ? {}
      : { registrations: g.registrations.map((r) => ({ allocation: r.allocation, operatorPublicKey: toHex(r.operatorPublicKey), addr: r.addr })) }),
  };
  await writeFileDurably(file, JSON.stringify(body, null, 2) + '\n', 0o644);
}

/** Read and check the parameters; every problem is one line naming the file and the field. */
export async function readGenesisFile(file: string): Promise<GenesisFile> {
  const bad = (why: string): never => {
    throw new Error(`${file}: ${why}`);
  };
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    return bad(`not a readable JSON file (${(err as Error).message.split('\n')[0]})`);
  }
  const hex32 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  if (typeof o.network !== 'string' || !Object.hasOwn(NETWORKS, o.network)) bad('network must be mainnet, testnet or dev');
  if (!Number.isSafeInteger(o.timestampMs) || (o.timestampMs as number) < 0) bad('timestampMs must be a non-negative integer');
  if (o.proposer !== null && !hex32(o.proposer)) bad('proposer must be null or 32-byte lowercase hex');
  if (!Array.isArray(o.allocations)) bad('allocations must be an array');
  const allocations = (o.allocations as unknown[]).map((a, i) => {
    const x = a as { publicKey?: unknown; amount?: unknown };
    if (!hex32(x.publicKey)) bad(`allocations[${i}].publicKey must be 32-byte lowercase hex`);
    if (typeof x.amount !== 'string' || !/^[0-9]{1,20}$/.test(x.amount)) bad(`allocations[${i}].amount must be a decimal string of units`);
    return { publicKey: fromHex(x.publicKey as string), amount: BigInt(x.amount as string) };
  });
  if (o.registrations !== undefined && !Array.isArray(o.registrations)) bad('registrations must be an array');
  const registrations = ((o.registrations ?? []) as unknown[]).map((r, i) => {
    const x = r as { allocation?: unknown; operatorPublicKey?: unknown; addr?: unknown };
    if (!Number.isSafeInteger(x.allocation) || (x.allocation as number) < 0) bad(`registrations[${i}].allocation must be an allocation index`);
    if (!hex32(x.operatorPublicKey)) bad(`registrations[${i}].operatorPublicKey must be 32-byte lowercase hex`);
    if (typeof x.addr !== 'string') bad(`registrations[${i}].addr must be a multiaddr string`);
    return { allocation: x.allocation as number, operatorPublicKey: fromHex(x.operatorPublicKey as string), addr: x.addr as string };
  });
  return {
    network: o.network as NetworkName,
    timestampMs: o.timestampMs as number,
    proposer: o.proposer === null ? null : fromHex(o.proposer as string),
    allocations,
    registrations,
  };
}

/** The genesis block these parameters describe (throws RuleError/TypeError if they are invalid). */
export function genesisBlock(g: GenesisFile): Block {
  return createGenesis({
    network: g.network,
    timestampMs: g.timestampMs,
    allocations: g.allocations,
    ...(g.proposer === null ? {} : { proposer: g.proposer }),
    ...(g.registrations === undefined ? {} : { registrations: g.registrations }),
  });
}

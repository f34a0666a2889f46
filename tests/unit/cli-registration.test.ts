/**
 * The kind-2 registration the `masternode register` command builds (src/registration-tx.ts),
 * checked against SPEC §3 with the project's own decoder and verifier: payload layout, owner
 * signature by the collateral key over the MN message, input signatures over the TX message,
 * the collateral never spent, and the fee exactly size × rate.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DUST_THRESHOLD, MASTERNODE_COLLATERAL, TxKind } from '../../chain/constants.js';
import { createSigner, generateSecretKey, publicKeyOf, verifySignature } from '../../chain/ed25519.js';
import { decodeRegistrationPayload, registrationSigningMessage } from '../../chain/registration.js';
import { decodeTransaction, outpointKey, txSigningMessage } from '../../chain/transaction.js';
import { BuildCode, type Coin } from '../../chain/tx-builder.js';
import { buildRegistration, checkMultiaddr } from '../../src/registration-tx.js';

const h = (s: string) => createHash('sha256').update(s).digest();
const chainId = h('genesis');
const owner = createSigner(generateSecretKey());
const operator = publicKeyOf(generateSecretKey());
const collateral = { txid: h('collateral'), index: 1 };
const addr = '/ip4/203.0.113.5/tcp/24000';
const coin = (name: string, index: number, amount: bigint): Coin => ({ txid: h(name), index, amount });

describe('buildRegistration', () => {
  const coins = [{ ...collateral, amount: MASTERNODE_COLLATERAL }, coin('a', 0, 5_000n), coin('b', 2, 2_000_000n)];
  const tx = buildRegistration({ chainId, signer: owner, collateral, operatorPublicKey: operator, addr, coins, feeRate: 3n });

  it('encodes a kind-2 transaction whose payload is SPEC §3 exactly', () => {
    const decoded = decodeTransaction(tx.bytes);
    expect(decoded.kind).toBe(TxKind.MasternodeRegistration);
    const p = decodeRegistrationPayload(decoded.payload);
    expect(Buffer.from(p.collateralTxid).equals(collateral.txid)).toBe(true);
    expect(p.collateralIndex).toBe(1);
    expect(Buffer.from(p.operatorPublicKey).equals(Buffer.from(operator))).toBe(true);
    expect(p.addr).toBe(addr);
    expect(decoded.payload.length).toBe(32 + 4 + 32 + 2 + addr.length + 64);
  });

  it('carries an owner signature by the collateral key over the MN message of this chain', () => {
    const p = decodeRegistrationPayload(tx.payload);
    const msg = registrationSigningMessage(chainId, collateral.txid, collateral.index, operator, new TextEncoder().encode(addr));
    expect(verifySignature(owner.publicKey, msg, p.ownerSignature)).toBe(true);
    const otherChain = registrationSigningMessage(h('other'), collateral.txid, collateral.index, operator, new TextEncoder().encode(addr));
    expect(verifySignature(owner.publicKey, otherChain, p.ownerSignature)).toBe(false);
  });

  it('never spends the collateral, signs every input, and pays exactly size × rate', () => {
    expect(tx.inputs.map((i) => outpointKey(i.prevTxid, i.prevIndex))).toEqual([outpointKey(h('b'), 2)]); // largest non-collateral first
    tx.inputs.forEach((i, n) => expect(verifySignature(owner.publicKey, txSigningMessage(chainId, tx.txid, n), i.signature)).toBe(true));
    expect(tx.outputs).toHaveLength(1);
    expect(Buffer.from(tx.outputs[0]!.publicKey).equals(Buffer.from(owner.publicKey))).toBe(true);
    expect(2_000_000n - tx.outputs[0]!.amount).toBe(BigInt(tx.bytes.length) * 3n);
  });

  it('takes more coins when one cannot cover fee + dust, and respects keepUnspent', () => {
    const small = [coin('s1', 0, 400n), coin('s2', 0, 400n), coin('s3', 0, 500n)];
    const t = buildRegistration({ chainId, signer: owner, collateral, operatorPublicKey: operator, addr, coins: small, feeRate: 1n });
    expect(t.inputs.length).toBe(3);
    expect(1_300n - t.outputs[0]!.amount).toBe(BigInt(t.bytes.length));
    expect(t.outputs[0]!.amount >= DUST_THRESHOLD).toBe(true);
    const keep = new Set([outpointKey(h('b'), 2)]);
    const k = buildRegistration({ chainId, signer: owner, collateral, operatorPublicKey: operator, addr, coins: [...coins, coin('c', 0, 10_000n)], keepUnspent: keep, feeRate: 1n });
    expect(k.inputs.map((i) => outpointKey(i.prevTxid, i.prevIndex))).toEqual([outpointKey(h('c'), 0)]);
  });

  it('fails with insufficient funds when only the collateral could pay', () => {
    expect(() => buildRegistration({ chainId, signer: owner, collateral, operatorPublicKey: operator, addr, coins: [coins[0]!], feeRate: 1n }))
      .toThrow(expect.objectContaining({ code: BuildCode.InsufficientFunds }));
  });

  it('refuses a bad operator key or multiaddr', () => {
    expect(() => buildRegistration({ chainId, signer: owner, collateral, operatorPublicKey: new Uint8Array(32), addr, coins, feeRate: 1n })).toThrow(/operator public key/);
    expect(() => checkMultiaddr('ip4/1.2.3.4')).toThrow(/invalid --addr/);
    expect(() => checkMultiaddr('/ip4/1.2.3.4/tcp/1 /x')).toThrow(/invalid --addr/);
    expect(checkMultiaddr('/dns4/node.example/tcp/24000').length).toBe(28);
  });
});

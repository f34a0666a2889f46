import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BuildCode, BuildError, buildTransfer } from '../../chain/tx-builder.js';
import { DUST_THRESHOLD } from '../../chain/constants.js';
import { checkTxSanity } from '../../chain/tx-rules.js';
import { checkTxInputs } from '../../chain/tx-inputs.js';
import { MapView } from '../../chain/utxo.js';
import { CHAIN_ID, fund, signer } from './chain-fixtures.js';

const alice = signer(1);
const bob = signer(2);

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof BuildError) return err.code;
    throw err;
  }
  return undefined;
}

describe('buildTransfer', () => {
  it('builds a transfer that passes every chain rule and pays at least the requested fee rate', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 10_000n, max: 10n ** 12n }), { minLength: 1, maxLength: 6 }),
        fc.bigInt({ min: DUST_THRESHOLD, max: 10n ** 11n }),
        fc.bigInt({ min: 1n, max: 50n }),
        (amounts, send, feeRate) => {
          const view = new MapView();
          const coins = amounts.map((a, i) => fund(view, alice, a, `c${i}`));
          const total = amounts.reduce((s, a) => s + a, 0n);
          let tx;
          try {
            tx = buildTransfer({ chainId: CHAIN_ID, signer: alice, coins, recipients: [{ amount: send, publicKey: bob.publicKey }], feeRate });
          } catch (err) {
            expect(err).toBeInstanceOf(BuildError);
            expect((err as BuildError).code).toBe(BuildCode.InsufficientFunds);
            // Refusal is only allowed when even all coins cannot pay amount + a one-output fee.
            expect(total).toBeLessThan(send + BigInt(14 + 100 * amounts.length + 40) * feeRate);
            return;
          }
          checkTxSanity(tx);
          const fee = checkTxInputs(tx, view, { chainId: CHAIN_ID, sigCache: null });
          expect(fee).toBeGreaterThanOrEqual(BigInt(tx.bytes.length) * feeRate);
          expect(tx.outputs[0]!.amount).toBe(send);
          for (const o of tx.outputs) expect(o.amount).toBeGreaterThanOrEqual(DUST_THRESHOLD);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('returns change to the sender when it is above dust, and folds dust change into the fee', () => {
    const view = new MapView();
    const coin = fund(view, alice, 1_000_000n, 'big');
    const withChange = buildTransfer({ chainId: CHAIN_ID, signer: alice, coins: [coin], recipients: [{ amount: 100_000n, publicKey: bob.publicKey }], feeRate: 1n });
    expect(withChange.outputs).toHaveLength(2);
    expect(Buffer.from(withChange.outputs[1]!.publicKey)).toEqual(Buffer.from(alice.publicKey));
    const exactSize = 14 + 100 + 40; // one input, one output: change would be dust
    const noChange = buildTransfer({ chainId: CHAIN_ID, signer: alice, coins: [coin], recipients: [{ amount: 1_000_000n - BigInt(exactSize) - 100n, publicKey: bob.publicKey }], feeRate: 1n });
    expect(noChange.outputs).toHaveLength(1);
  });

  it('refuses dust recipients, no recipients and insufficient funds with typed codes', () => {
    const view = new MapView();
    const coin = fund(view, alice, 10_000n, 'small');
    const base = { chainId: CHAIN_ID, signer: alice, coins: [coin], feeRate: 1n };
    expect(code(() => buildTransfer({ ...base, recipients: [] }))).toBe(BuildCode.NoRecipients);
    expect(code(() => buildTransfer({ ...base, recipients: [{ amount: DUST_THRESHOLD - 1n, publicKey: bob.publicKey }] }))).toBe(BuildCode.Dust);
    expect(code(() => buildTransfer({ ...base, recipients: [{ amount: 10_000n, publicKey: bob.publicKey }] }))).toBe(BuildCode.InsufficientFunds);
  });
});

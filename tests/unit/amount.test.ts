import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AmountCode, AmountError, formatTimeAmount, formatUnits, parseTimeAmount, parseUnits } from '../../src/amount.js';
import { MAX_MONEY } from '../../chain/constants.js';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof AmountError) return err.code;
    throw err;
  }
  throw new Error('expected an AmountError');
}

describe('parseTimeAmount', () => {
  const ok: [string, bigint][] = [
    ['0', 0n],
    ['0.0', 0n],
    ['1', 100_000_000n],
    ['1.5', 150_000_000n],
    ['0.1', 10_000_000n],
    ['0.00000001', 1n],
    ['12.34567891', 1_234_567_891n],
    ['007.5', 750_000_000n],
    ['100000000', MAX_MONEY],
    ['100000000.00000000', MAX_MONEY],
    ['99999999.99999999', MAX_MONEY - 1n],
  ];
  it.each(ok)('%s → %s units', (s, units) => {
    expect(parseTimeAmount(s)).toBe(units);
  });

  const bad: [string, string][] = [
    ['', AmountCode.Empty],
    ['-1', AmountCode.Negative],
    ['-0', AmountCode.Negative],
    ['-0.5', AmountCode.Negative],
    ['1e8', AmountCode.Exponent],
    ['1E-2', AmountCode.Exponent],
    ['1.5e+3', AmountCode.Exponent],
    ['0.000000001', AmountCode.TooManyDecimals],
    ['1.123456789', AmountCode.TooManyDecimals],
    ['100000000.00000001', AmountCode.OutOfRange],
    ['100000001', AmountCode.OutOfRange],
    ['18446744073709551616', AmountCode.OutOfRange],
    ['9'.repeat(41), AmountCode.OutOfRange],
    ['.5', AmountCode.Malformed],
    ['5.', AmountCode.Malformed],
    ['+1', AmountCode.Malformed],
    [' 1', AmountCode.Malformed],
    ['1 ', AmountCode.Malformed],
    ['1\n', AmountCode.Malformed],
    ['1,5', AmountCode.Malformed],
    ['1_000', AmountCode.Malformed],
    ['1.2.3', AmountCode.Malformed],
    ['0x10', AmountCode.Malformed],
    ['Infinity', AmountCode.Malformed],
    ['NaN', AmountCode.Malformed],
    ['one', AmountCode.Malformed],
    ['١', AmountCode.Malformed], // Arabic-Indic digit one
  ];
  it.each(bad)('%j → %s', (s, code) => {
    expect(codeOf(() => parseTimeAmount(s))).toBe(code);
  });

  it('rejects non-strings (a JS number would have passed through a float)', () => {
    expect(codeOf(() => parseTimeAmount(1.5 as unknown as string))).toBe(AmountCode.Malformed);
  });
});

describe('formatTimeAmount', () => {
  const table: [bigint, string, string][] = [
    [0n, '0.00000000', '0'],
    [1n, '0.00000001', '0.00000001'],
    [150_000_000n, '1.50000000', '1.5'],
    [100_000_000n, '1.00000000', '1'],
    [MAX_MONEY, '100000000.00000000', '100000000'],
    [1_234_567_891n, '12.34567891', '12.34567891'],
  ];
  it.each(table)('%s → %s / %s', (units, fixed, trimmed) => {
    expect(formatTimeAmount(units)).toBe(fixed);
    expect(formatTimeAmount(units, { trim: true })).toBe(trimmed);
  });
  it('rejects negative', () => {
    expect(codeOf(() => formatTimeAmount(-1n))).toBe(AmountCode.Negative);
  });
});

describe('parseUnits / formatUnits', () => {
  it.each([
    ['0', 0n],
    ['546', 546n],
    ['150000000', 150_000_000n],
    [MAX_MONEY.toString(), MAX_MONEY],
  ] as [string, bigint][])('%s → %s', (s, units) => {
    expect(parseUnits(s)).toBe(units);
    expect(formatUnits(units)).toBe(s);
  });
  it.each([
    ['', AmountCode.Empty],
    ['-5', AmountCode.Negative],
    ['1e3', AmountCode.Exponent],
    ['1.5', AmountCode.Malformed],
    ['1.0', AmountCode.Malformed],
    ['007', AmountCode.Malformed],
    ['00', AmountCode.Malformed],
    [' 1', AmountCode.Malformed],
    ['+1', AmountCode.Malformed],
    ['0x1', AmountCode.Malformed],
    [(MAX_MONEY + 1n).toString(), AmountCode.OutOfRange],
    ['18446744073709551616', AmountCode.OutOfRange],
  ] as [string, string][])('%j → %s', (s, code) => {
    expect(codeOf(() => parseUnits(s))).toBe(code);
  });
  it('rejects a JSON number', () => {
    expect(codeOf(() => parseUnits(150000000 as unknown as string))).toBe(AmountCode.Malformed);
    expect(codeOf(() => formatUnits(-1n))).toBe(AmountCode.Negative);
  });
});

describe('round trips (fast-check)', () => {
  const units = fc.bigInt({ min: 0n, max: MAX_MONEY });
  it('parseTimeAmount(formatTimeAmount(u)) = u, fixed and trimmed', () => {
    fc.assert(
      fc.property(units, (u) => {
        expect(parseTimeAmount(formatTimeAmount(u))).toBe(u);
        expect(parseTimeAmount(formatTimeAmount(u, { trim: true }))).toBe(u);
      }),
      { numRuns: 2000 },
    );
  });
  it('parseUnits(formatUnits(u)) = u', () => {
    fc.assert(fc.property(units, (u) => {
      expect(parseUnits(formatUnits(u))).toBe(u);
    }), { numRuns: 2000 });
  });
  it('formatTimeAmount(parseTimeAmount(s)) is s padded to 8 decimals for every valid input', () => {
    const str = fc
      .tuple(fc.bigInt({ min: 0n, max: 99_999_999n }), fc.stringMatching(/^\d{0,8}$/))
      .map(([w, f]) => (f.length === 0 ? `${w}` : `${w}.${f}`));
    fc.assert(
      fc.property(str, (s) => {
        const [w, f = ''] = s.split('.');
        expect(formatTimeAmount(parseTimeAmount(s))).toBe(`${w}.${f.padEnd(8, '0')}`);
      }),
    );
  });
  it('any other string either parses to a value within range or throws an AmountError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        try {
          const u = parseTimeAmount(s);
          expect(u >= 0n && u <= MAX_MONEY).toBe(true);
          expect(/^\d+(\.\d{1,8})?$/.test(s)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(AmountError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

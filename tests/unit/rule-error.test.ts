import { describe, expect, it } from 'vitest';
import { DecodeCode, DecodeError, RuleCode, RuleError, TimecoinError } from '../../chain/errors.js';

describe('RuleError', () => {
  it('keeps code, message, meta and its class, but captures no stack frames', () => {
    const e = new RuleError(RuleCode.MissingInputs, 'an input is missing', { n: 1 });
    expect(e).toBeInstanceOf(RuleError);
    expect(e).toBeInstanceOf(TimecoinError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('RuleError');
    expect(e.code).toBe(RuleCode.MissingInputs);
    expect(e.message).toBe('an input is missing');
    expect(e.meta).toEqual({ n: 1 });
    expect(e.stack).toBe('RuleError: an input is missing');
  });

  it('restores the stack trace limit: other errors still carry their frames', () => {
    const before = Error.stackTraceLimit;
    new RuleError(RuleCode.InsufficientFee, 'low fee');
    expect(Error.stackTraceLimit).toBe(before);
    expect(new DecodeError(DecodeCode.Truncated, 'short').stack).toMatch(/\n\s+at /);
    expect(new Error('plain').stack).toMatch(/\n\s+at /);
  });
});

import { z } from 'zod';
import { UsageError } from '../../../services/shared/errors.js';
import { StrictNumber, StrictOptionalNumber, UInt32Param, parseUInt32 } from '../../../services/shared/numbers.js';

/** The messages a schema gives for `v`, or [] when it accepts it. */
const messages = (schema: z.ZodType, v: unknown): string[] => {
  const r = schema.safeParse(v);
  return r.success ? [] : r.error.issues.map((i) => i.message);
};

describe('StrictNumber', () => {
  it.each([
    [1e3, 1000],
    [-0.5, -0.5],
    ['1e3', 1000],
    ['-0.5', -0.5],
    ['.5', 0.5],
    ['12.', 12],
    ['+7', 7],
    [' 42 ', 42],
    ['1E-2', 0.01],
    [0, 0],
  ])('accepts %j as %p', (v, expected) => {
    expect(StrictNumber.parse(v)).toBe(expected);
  });

  it.each([
    [null, 'expected a number, got null'],
    [true, 'expected a number, got true'],
    [false, 'expected a number, got false'],
    [[], 'expected a number, got an array'],
    [[5], 'expected a number, got an array'],
    [{}, 'expected a number, got an object'],
    ['', 'expected a number, got an empty string'],
    [' ', 'expected a number, got a blank string'],
    ['\t\n', 'expected a number, got a blank string'],
    ['0x10', 'expected a number, got "0x10"'],
    ['0o17', 'expected a number, got "0o17"'],
    ['0b101', 'expected a number, got "0b101"'],
    ['Infinity', 'expected a number, got "Infinity"'],
    ['-Infinity', 'expected a number, got "-Infinity"'],
    ['NaN', 'expected a number, got "NaN"'],
    ['1_000', 'expected a number, got "1_000"'],
    ['1,5', 'expected a number, got "1,5"'],
    ['12abc', 'expected a number, got "12abc"'],
    ['.', 'expected a number, got "."'],
    ['e5', 'expected a number, got "e5"'],
    ['1e309', 'expected a finite number, got "1e309" (too large)'],
    [Infinity, 'expected a finite number, got Infinity'],
    [NaN, 'expected a finite number, got NaN'],
    [undefined, 'expected a number, got nothing'],
  ])('refuses %j: %s', (v, message) => {
    expect(messages(StrictNumber, v)).toEqual([message]);
  });
});

describe('StrictOptionalNumber', () => {
  it('reads an absent field or an empty CSV cell as no value, and numbers as StrictNumber does', () => {
    expect(StrictOptionalNumber.parse(undefined)).toBeUndefined();
    expect(StrictOptionalNumber.parse('')).toBeUndefined();
    expect(StrictOptionalNumber.parse('.5')).toBe(0.5);
    expect(z.object({ n: StrictOptionalNumber }).parse({})).toEqual({});
  });

  it('refuses JSON null with a reason, and every form StrictNumber refuses', () => {
    expect(messages(StrictOptionalNumber, null)).toEqual(['expected a number, got null (leave the field out when there is no value)']);
    expect(messages(StrictOptionalNumber, ' ')).toEqual(['expected a number, got a blank string']);
    expect(messages(StrictOptionalNumber, false)).toEqual(['expected a number, got false']);
    expect(messages(StrictOptionalNumber, '0x10')).toEqual(['expected a number, got "0x10"']);
  });
});

describe('UInt32 parameters', () => {
  it('accepts digits up to 4294967295', () => {
    expect(parseUInt32('0', 'revision')).toBe(0);
    expect(parseUInt32('007', 'revision')).toBe(7);
    expect(parseUInt32('4294967295', 'revision')).toBe(4294967295);
    expect(UInt32Param.parse('12')).toBe(12);
    expect(UInt32Param.parse(12)).toBe(12);
  });

  it.each(['4294967296', '4294967297', '99999999999', '-1', '+1', '1.0', '1e3', ' 1', '', '0x10', 'one'])('refuses %j rather than wrap or guess', (text) => {
    expect(() => parseUInt32(text, 'revision')).toThrow(UsageError);
    expect(() => parseUInt32(text, 'revision')).toThrow(/^revision: expected a whole number from 0 to 4294967295, got /);
    expect(messages(UInt32Param, text)).toHaveLength(1);
  });

  it('names a number too large as such', () => {
    expect(() => parseUInt32('4294967297', 'revision')).toThrow('revision: expected a whole number from 0 to 4294967295, got "4294967297" (too large)');
    expect(messages(UInt32Param, 4294967296)).toEqual(['expected a whole number from 0 to 4294967295, got 4294967296']);
    expect(messages(UInt32Param, -1)).toEqual(['expected a whole number from 0 to 4294967295, got -1']);
    expect(messages(UInt32Param, null)).toEqual(['expected a whole number from 0 to 4294967295, got null']);
  });
});

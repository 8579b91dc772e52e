import { z } from 'zod';
import { UsageError } from './errors.js';

/**
 * Numbers as people and scripts send them, read strictly. `Number()` and `z.coerce.number()`
 * turn null, '', ' ', [], false into 0, true into 1, '0x10' into 16 and '1e309' into
 * Infinity; a stored KPI input or target must never come from such a guess. Pure: no I/O.
 */

/** Decimal notation only: sign, digits with an optional point, optional exponent. No hex, no `_`, no Infinity. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** What a value was, for a message: `true`, `null`, `an array`, `"0x10"`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.trim() === '' ? (v === '' ? 'an empty string' : 'a blank string') : JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return `a ${typeof v}`;
}

/** The number `v` stands for, or the reason it is not one. */
function readNumber(v: unknown): number | string {
  if (typeof v === 'number') return Number.isFinite(v) ? v : `expected a finite number, got ${describeValue(v)}`;
  if (typeof v === 'string') {
    const text = v.trim();
    if (!DECIMAL.test(text)) return `expected a number, got ${describeValue(v)}`;
    const n = Number(text);
    return Number.isFinite(n) ? n : `expected a finite number, got ${describeValue(v)} (too large)`;
  }
  return `expected a number, got ${describeValue(v)}`;
}

/** A schema from a reader that gives the number, or the reason the value is not one. */
function readWith(read: (v: unknown) => number | string) {
  return z.unknown().transform((v, ctx): number => {
    const n = read(v);
    if (typeof n === 'string') {
      ctx.addIssue({ code: 'custom', message: n });
      return z.NEVER;
    }
    return n;
  });
}

/** A finite JS number, or a string in decimal notation (trimmed) whose value is finite. */
export const StrictNumber = readWith(readNumber);
export type StrictNumber = z.infer<typeof StrictNumber>;

/**
 * A StrictNumber, or nothing: an absent field or an empty CSV cell. JSON null is refused
 * rather than read as "no value", since in most tools null has meant 0 as often as nothing.
 */
export const StrictOptionalNumber = z
  .unknown()
  .transform((v, ctx): number | undefined => {
    if (v === undefined || v === '') return undefined;
    const n = v === null ? 'expected a number, got null (leave the field out when there is no value)' : readNumber(v);
    if (typeof n === 'string') {
      ctx.addIssue({ code: 'custom', message: n });
      return z.NEVER;
    }
    return n;
  })
  // Optional outside the transform: zod 4 refuses `undefined` from a required key's transform.
  .optional();
export type StrictOptionalNumber = z.infer<typeof StrictOptionalNumber>;

/** ClickHouse UInt32: 0 … 4 294 967 295. */
export const UINT32_MAX = 4_294_967_295;

/** The UInt32 `v` stands for (digits only, or a whole JS number), or the reason it is not one. */
function readUInt32(v: unknown): number | string {
  const expected = `expected a whole number from 0 to ${UINT32_MAX}`;
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= UINT32_MAX ? v : `${expected}, got ${describeValue(v)}`;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return `${expected}, got ${describeValue(v)}`;
  // Compared as digits, so 4294967297 is refused rather than wrapped, and 1e400 digits cost nothing.
  const digits = v.replace(/^0+(?=\d)/, '');
  if (digits.length > 10 || (digits.length === 10 && digits > String(UINT32_MAX))) return `${expected}, got ${describeValue(v)} (too large)`;
  return Number(digits);
}

/** A query or CLI parameter such as `revision`; throws a UsageError naming the parameter. */
export function parseUInt32(text: string, name: string): number {
  const n = readUInt32(text);
  if (typeof n === 'string') throw new UsageError(`${name}: ${n}`);
  return n;
}

/** A UInt32 query parameter: a string of digits (or a whole JS number) no larger than 4294967295. */
export const UInt32Param = readWith(readUInt32);
export type UInt32Param = z.infer<typeof UInt32Param>;

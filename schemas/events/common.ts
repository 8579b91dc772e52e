import { z } from 'zod';
import { isCurrency } from './currencies.js';

/**
 * Building blocks shared by every event family. Money is never a float, so every sum is
 * exact: integer minor units (fen, cents) in the first versions of the contracts, decimal
 * strings of up to six decimals (`"0.001"`) in the later ones. Times are ISO-8601 with an
 * explicit offset and are stored in UTC.
 */

/** Producer-assigned unique id; letters, digits and . _ : - only, so ids are safe anywhere. */
export const EventId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'expected 1-128 letters, digits or . _ : - (starting with a letter or digit)');
export type EventId = z.infer<typeof EventId>;

/** Ids of business entities and org units: sale, order, return, ticket, store, region… */
export const EntityId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'expected 1-64 letters, digits or _ . : - (starting with a letter or digit)');
export type EntityId = z.infer<typeof EntityId>;

/**
 * Free text such as a category or a reason: printable, no control, format (bidi overrides,
 * zero-width) or line-separator characters. At most 120 characters.
 */
export const Label = z
  .string()
  .min(1)
  .regex(/^[^\p{Cc}\p{Cs}\p{Cf}\p{Zl}\p{Zp}]+$/u, 'expected printable text without control characters, format characters or line separators')
  // Characters are code points; no string has more of them than UTF-16 units.
  .refine((v) => v.length <= 120 || [...v].length <= 120, 'expected at most 120 characters');
export type Label = z.infer<typeof Label>;

/** Money in integer minor units (1 CNY = 100). Bounded well inside 2^53. */
export const MinorUnits = z.number().int('money is integer minor units, never a fraction').min(0).max(1e13);
export type MinorUnits = z.infer<typeof MinorUnits>;

/** A currency a country pays in, by its ISO 4217 code (CNY, HKD, MOP…); anything else is refused by name. */
export const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as CNY')
  .superRefine((code, ctx) => {
    if (/^[A-Z]{3}$/.test(code) && !isCurrency(code)) ctx.addIssue({ code: 'custom', message: `${code} is not an ISO 4217 currency code (such as CNY, HKD, USD)` });
  });
export type Currency = z.infer<typeof Currency>;

/** Digits a decimal amount may carry: millionths of a currency unit, finer than any currency's minor unit. */
export const AMOUNT_DECIMALS = 6;

/** Largest amount of one line or one event, in currency units: 10^13 (as 10^15 minor units in the first versions). */
export const MAX_AMOUNT_UNITS = 10n ** 13n;

/**
 * An amount of money as a decimal string in currency units, never a JSON number (which a
 * producer's float could have rounded): `"12.5"`, `"0.001"`, at most six decimals and no
 * exponent, sign or spaces. Read exactly by `toMicros`.
 */
export const DecimalAmount = z
  .string()
  // abort: the refinement reads the text as digits, so it must not run on anything else.
  .regex(/^(0|[1-9][0-9]{0,13})(\.[0-9]{1,6})?$/, { message: 'expected a decimal amount as a string, such as "12.50" or "0.001": digits, at most 6 decimals, no sign or exponent', abort: true })
  .refine((v) => toMicros(v) <= MAX_AMOUNT_UNITS * 1_000_000n, 'expected at most 10^13');
export type DecimalAmount = z.infer<typeof DecimalAmount>;

/** A decimal amount in millionths of its currency unit, exactly: `"0.001"` → 1000n. */
export function toMicros(amount: string): bigint {
  const [whole = '0', fraction = ''] = amount.split('.');
  return BigInt(whole + fraction.padEnd(AMOUNT_DECIMALS, '0'));
}

/** Most lines one sale may carry (wholesale invoices run to thousands). */
export const MAX_SALE_LINES = 10_000;

/** Earliest instant an event may carry; anything before is a broken clock. */
export const EARLIEST_EVENT_TIME = Date.UTC(2000, 0, 1);

/** How far ahead of the broker's clock an event may be stamped (producer clock skew). */
export const MAX_CLOCK_SKEW_MS = 24 * 3_600_000;

const ISO_WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** The two digits of `text` at `at` as a number (the format is checked first). */
function twoDigits(text: string, at: number): number {
  return (text.charCodeAt(at) - 48) * 10 + (text.charCodeAt(at + 1) - 48);
}

/**
 * True when the calendar fields exist: no 30 February, no hour 24, an offset from -14:00
 * to +14:00. Read by position once the pattern matches: every event carries one or two
 * instants, and this runs for each.
 */
function calendarValid(text: string): boolean {
  if (!ISO_WITH_OFFSET.test(text)) return false;
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monthDays = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  // Real offsets run from -12:00 to +14:00.
  const offsetValid = text.endsWith('Z') || (twoDigits(text, text.length - 5) <= 14 && twoDigits(text, text.length - 2) < 60);
  return month >= 1 && month <= 12 && day >= 1 && day <= monthDays && twoDigits(text, 11) < 24 && twoDigits(text, 14) < 60 && twoDigits(text, 17) < 60 && offsetValid;
}

/** An instant as ISO-8601 with an offset (`2026-07-15T09:30:00+08:00` or `…Z`). */
export const Instant = z
  .string()
  .regex(ISO_WITH_OFFSET, 'expected ISO-8601 date-time with an offset, e.g. 2026-07-15T09:30:00+08:00')
  .refine(calendarValid, 'not a real calendar date or time')
  .refine((v) => Date.parse(v) >= EARLIEST_EVENT_TIME, 'before 2000-01-01');
export type Instant = z.infer<typeof Instant>;

export const CHANNELS = ['store', 'online', 'phone', 'marketplace'] as const;

/** Where in the organisation the event happened; the units KPIs roll up by. */
export const OrgUnit = z
  .object({
    region: EntityId,
    store: EntityId,
    department: EntityId,
    channel: z.enum(CHANNELS),
  })
  .strict();
export type OrgUnit = z.infer<typeof OrgUnit>;

/** The envelope every event shares, with its type, version and payload fixed per schema. */
export function envelope<const T extends string, const V extends number, P extends z.ZodType>(type: T, version: V, payload: P) {
  return z
    .object({
      event_id: EventId,
      type: z.literal(type),
      version: z.literal(version),
      occurred_at: Instant,
      producer: EntityId,
      org: OrgUnit,
      payload,
    })
    .strict();
}

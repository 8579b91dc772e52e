import { z } from 'zod';

/**
 * Building blocks shared by every event family. Money is integer minor units (fen, cents):
 * never a float, so every sum is exact. Times are ISO-8601 with an explicit offset and are
 * stored in UTC.
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
  .refine((v) => [...v].length <= 120, 'expected at most 120 characters');
export type Label = z.infer<typeof Label>;

/** Money in integer minor units (1 CNY = 100). Bounded well inside 2^53. */
export const MinorUnits = z.number().int('money is integer minor units, never a fraction').min(0).max(1e13);
export type MinorUnits = z.infer<typeof MinorUnits>;

export const Currency = z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as CNY');
export type Currency = z.infer<typeof Currency>;

/** Earliest instant an event may carry; anything before is a broken clock. */
export const EARLIEST_EVENT_TIME = Date.UTC(2000, 0, 1);

/** How far ahead of the broker's clock an event may be stamped (producer clock skew). */
export const MAX_CLOCK_SKEW_MS = 24 * 3_600_000;

const ISO_WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** True when the calendar fields exist: no 30 February, no hour 24. */
function calendarValid(text: string): boolean {
  const m = ISO_WITH_OFFSET.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const probe = new Date(Date.UTC(year, month - 1, day));
  const offset = m[8] ?? 'Z';
  // Real offsets run from -12:00 to +14:00.
  const offsetValid = offset === 'Z' || (Number(offset.slice(1, 3)) <= 14 && Number(offset.slice(4, 6)) < 60);
  return probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day && hour < 24 && minute < 60 && second < 60 && offsetValid;
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

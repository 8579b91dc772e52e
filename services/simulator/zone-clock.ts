/**
 * Business-zone calendar arithmetic for the simulator, on top of the business calendar's
 * zone functions. Days are counted as whole days since 1970-01-01 of the local calendar
 * ("day numbers"); instants are UTC milliseconds. Offsets come from Intl once per 15
 * minutes of UTC (every real offset change falls on a quarter hour), so formatting
 * hundreds of thousands of timestamps stays cheap.
 */

import { civilDate, daysInMonth, isoWeekday, zoneOffsetMs } from '../../schemas/calendar/zone.js';

const DAY_MS = 86_400_000;
const BUCKET_MS = 900_000;

/** Day number of a `YYYY-MM-DD` string, or undefined when it is not a real date. */
export function parseDay(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(year, month - 1, day);
  const probe = new Date(ms);
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return undefined;
  return ms / DAY_MS;
}

/** `YYYY-MM-DD` of a day number. */
export function formatDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** `YYYYMMDD` of a day number: compact, for ids. */
export function compactDay(day: number): string {
  return formatDay(day).replaceAll('-', '');
}

/** Calendar fields of a day number; weekday 0 = Sunday. */
export function dayFields(day: number): { year: number; month: number; date: number; weekday: number; daysInMonth: number } {
  const { year, month, day: date } = civilDate(day);
  return { year, month, date, weekday: isoWeekday(day) % 7, daysInMonth: daysInMonth(year, month) };
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

export class ZoneClock {
  private readonly offsets = new Map<number, number>();
  private lastBucket = Number.NaN;
  private lastOffset = 0;

  /** Throws a RangeError for a zone Intl does not know. */
  constructor(readonly timeZone: string) {
    zoneOffsetMs(timeZone, 0);
  }

  /** Offset of local time from UTC at an instant, in ms (+08:00 → 28_800_000). */
  offsetMs(utcMs: number): number {
    const bucket = Math.floor(utcMs / BUCKET_MS);
    if (bucket === this.lastBucket) return this.lastOffset;
    let offset = this.offsets.get(bucket);
    if (offset === undefined) {
      offset = zoneOffsetMs(this.timeZone, bucket * BUCKET_MS);
      this.offsets.set(bucket, offset);
    }
    this.lastBucket = bucket;
    this.lastOffset = offset;
    return offset;
  }

  /** The instant of a local wall time: a day number plus ms into that local day. */
  toUtc(day: number, msOfDay: number): number {
    const local = day * DAY_MS + msOfDay;
    const guess = local - this.offsetMs(local);
    return local - this.offsetMs(guess);
  }

  /** Day number of the local date at an instant. */
  localDay(utcMs: number): number {
    return Math.floor((utcMs + this.offsetMs(utcMs)) / DAY_MS);
  }

  /** ISO-8601 with the zone's offset, to the second: `2026-07-15T09:30:00+08:00`. */
  format(utcMs: number): string {
    const offset = this.offsetMs(utcMs);
    const d = new Date(utcMs + offset);
    const sign = offset < 0 ? '-' : '+';
    const abs = Math.abs(offset) / 60_000;
    return (
      `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}` +
      `T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}` +
      `${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`
    );
  }
}

/**
 * Local calendar dates ↔ UTC instants in an IANA time zone, using only `Intl.DateTimeFormat`
 * (available inside Temporal's workflow sandbox). Pure and deterministic: the answer depends
 * only on the arguments and the ICU time-zone data the runtime ships.
 *
 * A local date is a "day number": whole days since 1970-01-01 in the proleptic Gregorian
 * calendar, independent of any zone. Instants are epoch milliseconds.
 */

const MS_PER_DAY = 86_400_000;

/** Offsets never exceed ±18 h; used to bracket the search for a day's first instant. */
const MAX_OFFSET_MS = 18 * 3_600_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    // Throws RangeError for an unknown zone, which is the loud failure we want.
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, fmt);
  }
  return fmt;
}

/** True when the runtime knows `timeZone` as an IANA zone. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The zone's UTC offset in ms at `instantMs` (positive east of Greenwich). Second precision. */
export function zoneOffsetMs(timeZone: string, instantMs: number): number {
  const wholeSecond = Math.floor(instantMs / 1000) * 1000;
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(wholeSecond)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const { year = NaN, month = NaN, day = NaN, hour = NaN, minute = NaN, second = NaN } = fields;
  // Some ICU versions print midnight as hour 24 even with h23.
  const asUtc = utcMs(year, month, day) + (hour % 24) * 3_600_000 + minute * 60_000 + second * 1000;
  return asUtc - wholeSecond;
}

/** Milliseconds of midnight UTC of a civil date; correct for years 0-99 too. */
function utcMs(year: number, month: number, day: number): number {
  const d = new Date(Date.UTC(2000, month - 1, day));
  d.setUTCFullYear(year, month - 1, day);
  return d.getTime();
}

export function dayNumber(year: number, month: number, day: number): number {
  return utcMs(year, month, day) / MS_PER_DAY;
}

export interface CivilDate {
  year: number;
  /** 1-12 */
  month: number;
  /** 1-31 */
  day: number;
}

export function civilDate(dayNum: number): CivilDate {
  const d = new Date(dayNum * MS_PER_DAY);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** ISO weekday: Monday 1 … Sunday 7. 1970-01-01 (day 0) was a Thursday. */
export function isoWeekday(dayNum: number): number {
  return ((((dayNum + 3) % 7) + 7) % 7) + 1;
}

export function daysInMonth(year: number, month: number): number {
  return dayNumber(month === 12 ? year + 1 : year, (month % 12) + 1, 1) - dayNumber(year, month, 1);
}

/** Wall-clock time at `instantMs`, as ms since 1970-01-01T00:00 local. */
function wallMs(timeZone: string, instantMs: number): number {
  return instantMs + zoneOffsetMs(timeZone, instantMs);
}

/** The local date (day number) in `timeZone` at `instantMs`. */
export function localDayNumber(timeZone: string, instantMs: number): number {
  return Math.floor(wallMs(timeZone, instantMs) / MS_PER_DAY);
}

/**
 * The first instant of local date `dayNum` in `timeZone`: local midnight, or, where midnight
 * is skipped by a DST jump, the moment of the jump. Where midnight happens twice (clocks set
 * back across it), the earlier one. Invariant: `localDayNumber(tz, start(d)) === d` and
 * every instant before it is on an earlier local date, so consecutive days tile time.
 */
export function startOfLocalDay(timeZone: string, dayNum: number): number {
  const key = `${timeZone}|${dayNum}`;
  let start = dayStarts.get(key);
  if (start === undefined) {
    // A pure function's memo: bounded so a long-lived process does not grow without limit.
    if (dayStarts.size >= MAX_MEMO_ENTRIES) dayStarts.clear();
    start = computeStartOfLocalDay(timeZone, dayNum);
    dayStarts.set(key, start);
  }
  return start;
}

const MAX_MEMO_ENTRIES = 50_000;
const dayStarts = new Map<string, number>();

function computeStartOfLocalDay(timeZone: string, dayNum: number): number {
  const wall = dayNum * MS_PER_DAY;
  // Offsets in force a day either side cover any transition near midnight.
  const before = zoneOffsetMs(timeZone, wall - MS_PER_DAY);
  const after = zoneOffsetMs(timeZone, wall + MS_PER_DAY);
  // No transition within a day of midnight (the common case): one offset applies throughout.
  if (before === after && zoneOffsetMs(timeZone, wall - before) === before) return wall - before;
  const offsets = new Set([before, zoneOffsetMs(timeZone, wall), after]);
  let best = Infinity;
  for (const offset of offsets) {
    // Iterate so the offset is the one in force at the candidate itself.
    let t = wall - offset;
    t = wall - zoneOffsetMs(timeZone, t);
    if (wallMs(timeZone, t) === wall && t < best) best = t;
  }
  if (best !== Infinity) return best;
  // Midnight does not exist: find the first instant whose wall clock is at or after it.
  let lo = wall - MAX_OFFSET_MS; // wall clock certainly before midnight
  let hi = wall + MAX_OFFSET_MS; // wall clock certainly after
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallMs(timeZone, mid) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

import { z } from 'zod';
import { civilDate, dayNumber, daysInMonth, isValidTimeZone, isoWeekday, localDayNumber, startOfLocalDay } from './zone.js';

/**
 * Reporting periods in a business time zone. Pure and deterministic (no clock, no I/O), so
 * workflows may call it. Every period is a run of whole local days, from local midnight to
 * local midnight, as UTC instants with an exclusive end; periods of one grain tile time with
 * no gap or overlap, including across DST changes (a local day may be 23, 23.5, 25 h long).
 *
 * Ids: day `2026-07-15`, ISO week `2026-W29`, month `2026-07`, quarter `2026-Q3`, year `2026`.
 * Days, weeks and months are always calendar periods. Quarters and years follow the fiscal
 * year: a fiscal year is named by the calendar year in which it ENDS. With
 * `fiscalYearStartMonth` 4, FY2027 runs 2026-04-01 … 2027-03-31 and `2027-Q1` is
 * April-June 2026. With start month 1 fiscal and calendar years coincide.
 */

export const GRAINS = ['day', 'week', 'month', 'quarter', 'year'] as const;
export type Grain = (typeof GRAINS)[number];

/** Ids carry four-digit years; earlier years are outside any business history. */
const MIN_YEAR = 1000;
const MAX_YEAR = 9999;

export const CalendarConfig = z
  .object({
    /** IANA zone whose local midnights bound every period, e.g. `Asia/Shanghai`. */
    timeZone: z.string().refine(isValidTimeZone, 'expected an IANA time zone such as Asia/Shanghai'),
    /** Month (1-12) in which the fiscal year starts; 1 makes fiscal and calendar years equal. */
    fiscalYearStartMonth: z.number().int().min(1).max(12),
  })
  .strict();
export type CalendarConfig = z.infer<typeof CalendarConfig>;

/** What a caller names: a grain and a period id of that grain. */
export const PeriodRef = z.object({ grain: z.enum(GRAINS), period: z.string() });
export type PeriodRef = z.infer<typeof PeriodRef>;

/** A resolved period. `start` and `end` are UTC ISO instants (`…Z`); `end` is exclusive. */
export const Period = z.object({ grain: z.enum(GRAINS), id: z.string(), start: z.string(), end: z.string() });
export type Period = z.infer<typeof Period>;

/** A period id that is malformed or names a date that does not exist. */
export class InvalidPeriodError extends Error {
  override readonly name = 'InvalidPeriodError';
  constructor(
    readonly grain: string,
    readonly id: string,
    reason: string,
  ) {
    super(`invalid ${grain} period "${id}": ${reason}`);
  }
}

/** A period as a half-open run of local days [firstDay, endDay). */
interface DaySpan {
  id: string;
  firstDay: number;
  endDay: number;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function fiscalStartMonth(config: CalendarConfig): number {
  const m = config.fiscalYearStartMonth;
  if (!Number.isInteger(m) || m < 1 || m > 12) throw new RangeError(`fiscalYearStartMonth must be an integer 1-12, got ${m}`);
  return m;
}

/** Monday of ISO week 1: the week holding the year's first Thursday (equivalently 4 January). */
function isoWeekOneMonday(isoYear: number): number {
  const jan4 = dayNumber(isoYear, 1, 4);
  return jan4 - (isoWeekday(jan4) - 1);
}

function isoWeeksInYear(isoYear: number): number {
  return (isoWeekOneMonday(isoYear + 1) - isoWeekOneMonday(isoYear)) / 7;
}

/** Month index: months since January of year 0, so month arithmetic is plain integer math. */
const monthIndex = (year: number, month: number): number => year * 12 + (month - 1);
const dayOfMonthIndex = (mi: number): number => dayNumber(Math.floor(mi / 12), (mi % 12) + 1, 1);

/** First month index of fiscal year `fy` (named by the calendar year it ends in). */
function fiscalYearStartIndex(fy: number, startMonth: number): number {
  return monthIndex(startMonth === 1 ? fy : fy - 1, startMonth);
}

function spanOfDay(day: number): DaySpan {
  const { year, month, day: dom } = civilDate(day);
  return { id: `${pad(year, 4)}-${pad(month)}-${pad(dom)}`, firstDay: day, endDay: day + 1 };
}

function spanOfWeek(isoYear: number, week: number): DaySpan {
  const firstDay = isoWeekOneMonday(isoYear) + (week - 1) * 7;
  return { id: `${pad(isoYear, 4)}-W${pad(week)}`, firstDay, endDay: firstDay + 7 };
}

function spanOfMonth(year: number, month: number): DaySpan {
  const mi = monthIndex(year, month);
  return { id: `${pad(year, 4)}-${pad(month)}`, firstDay: dayOfMonthIndex(mi), endDay: dayOfMonthIndex(mi + 1) };
}

function spanOfQuarter(fy: number, quarter: number, startMonth: number): DaySpan {
  const mi = fiscalYearStartIndex(fy, startMonth) + (quarter - 1) * 3;
  return { id: `${pad(fy, 4)}-Q${quarter}`, firstDay: dayOfMonthIndex(mi), endDay: dayOfMonthIndex(mi + 3) };
}

function spanOfYear(fy: number, startMonth: number): DaySpan {
  const mi = fiscalYearStartIndex(fy, startMonth);
  return { id: pad(fy, 4), firstDay: dayOfMonthIndex(mi), endDay: dayOfMonthIndex(mi + 12) };
}

/** ISO year and week of a local date: the week belongs to the year of its Thursday. */
function isoWeekOf(day: number): { isoYear: number; week: number } {
  const thursday = day - (isoWeekday(day) - 1) + 3;
  const isoYear = civilDate(thursday).year;
  return { isoYear, week: Math.floor((thursday - isoWeekOneMonday(isoYear)) / 7) + 1 };
}

/** Fiscal year and quarter of a calendar month. */
function fiscalOf(year: number, month: number, startMonth: number): { fy: number; quarter: number } {
  const monthsIntoYear = (month - startMonth + 12) % 12;
  const startYear = Math.floor((monthIndex(year, month) - monthsIntoYear) / 12);
  return { fy: startMonth === 1 ? startYear : startYear + 1, quarter: Math.floor(monthsIntoYear / 3) + 1 };
}

/** The span of `grain` holding local date `day`. */
function spanContaining(grain: Grain, day: number, startMonth: number): DaySpan {
  switch (grain) {
    case 'day':
      return spanOfDay(day);
    case 'week': {
      const { isoYear, week } = isoWeekOf(day);
      return spanOfWeek(isoYear, week);
    }
    case 'month': {
      const { year, month } = civilDate(day);
      return spanOfMonth(year, month);
    }
    case 'quarter': {
      const { year, month } = civilDate(day);
      const { fy, quarter } = fiscalOf(year, month, startMonth);
      return spanOfQuarter(fy, quarter, startMonth);
    }
    case 'year': {
      const { year, month } = civilDate(day);
      return spanOfYear(fiscalOf(year, month, startMonth).fy, startMonth);
    }
  }
}

const ID_PATTERNS: Record<Grain, { re: RegExp; example: string }> = {
  day: { re: /^(\d{4})-(\d{2})-(\d{2})$/, example: '2026-07-15' },
  week: { re: /^(\d{4})-W(\d{2})$/, example: '2026-W29' },
  month: { re: /^(\d{4})-(\d{2})$/, example: '2026-07' },
  quarter: { re: /^(\d{4})-Q(\d)$/, example: '2026-Q3' },
  year: { re: /^(\d{4})$/, example: '2026' },
};

/** The span named by `id`, or InvalidPeriodError saying what is wrong with it. */
function spanOfId(grain: Grain, id: string, startMonth: number): DaySpan {
  const pattern = ID_PATTERNS[grain];
  if (!pattern) throw new InvalidPeriodError(String(grain), id, `unknown grain; expected one of ${GRAINS.join(', ')}`);
  const m = pattern.re.exec(id);
  if (!m) throw new InvalidPeriodError(grain, id, `expected the form ${pattern.example}`);
  const [year = NaN, second = NaN, third = NaN] = m.slice(1).map(Number);
  const fail = (reason: string): never => {
    throw new InvalidPeriodError(grain, id, reason);
  };
  if (year < MIN_YEAR || year > MAX_YEAR) fail(`year must be ${MIN_YEAR}-${MAX_YEAR}`);
  switch (grain) {
    case 'day': {
      if (second < 1 || second > 12) fail(`month ${second} does not exist`);
      const days = daysInMonth(year, second);
      if (third < 1 || third > days) fail(`${pad(year, 4)}-${pad(second)} has ${days} days`);
      return spanOfDay(dayNumber(year, second, third));
    }
    case 'week': {
      const weeks = isoWeeksInYear(year);
      if (second < 1 || second > weeks) fail(`ISO year ${year} has weeks 01-${weeks}`);
      return spanOfWeek(year, second);
    }
    case 'month':
      if (second < 1 || second > 12) fail(`month ${second} does not exist`);
      return spanOfMonth(year, second);
    case 'quarter':
      if (second < 1 || second > 4) fail('quarter must be 1-4');
      return spanOfQuarter(year, second, startMonth);
    case 'year':
      return spanOfYear(year, startMonth);
  }
}

function toPeriod(grain: Grain, span: DaySpan, config: CalendarConfig): Period {
  return {
    grain,
    id: span.id,
    start: new Date(startOfLocalDay(config.timeZone, span.firstDay)).toISOString(),
    end: new Date(startOfLocalDay(config.timeZone, span.endDay)).toISOString(),
  };
}

/** Resolves a period id of `grain`; throws InvalidPeriodError for a malformed or impossible id. */
export function parsePeriod(grain: Grain, id: string, config: CalendarConfig): Period {
  return toPeriod(grain, spanOfId(grain, id, fiscalStartMonth(config)), config);
}

/** The period of `grain` containing `instantMs` (epoch ms): `start <= instant < end`. */
export function periodOf(grain: Grain, instantMs: number, config: CalendarConfig): Period {
  if (!Number.isFinite(instantMs)) throw new RangeError(`instant must be finite epoch milliseconds, got ${instantMs}`);
  const day = localDayNumber(config.timeZone, instantMs);
  return toPeriod(grain, spanContaining(grain, day, fiscalStartMonth(config)), config);
}

/** The period immediately before `period`; its end is `period`'s start. */
export function previousPeriod(period: Pick<Period, 'grain' | 'id'>, config: CalendarConfig): Period {
  const span = spanOfId(period.grain, period.id, fiscalStartMonth(config));
  return toPeriod(period.grain, spanContaining(period.grain, span.firstDay - 1, config.fiscalYearStartMonth), config);
}

/** The period immediately after `period`; its start is `period`'s end. */
export function nextPeriod(period: Pick<Period, 'grain' | 'id'>, config: CalendarConfig): Period {
  const span = spanOfId(period.grain, period.id, fiscalStartMonth(config));
  return toPeriod(period.grain, spanContaining(period.grain, span.endDay, config.fiscalYearStartMonth), config);
}

/**
 * The matching period one year earlier: the same date (29 February → 28 February), month,
 * fiscal quarter or fiscal year; for weeks the same ISO week number of the previous ISO year,
 * clamped to that year's last week (W53 → W52).
 */
export function samePeriodLastYear(period: Pick<Period, 'grain' | 'id'>, config: CalendarConfig): Period {
  const startMonth = fiscalStartMonth(config);
  const { grain, id } = period;
  spanOfId(grain, id, startMonth); // validates the id before it is taken apart below
  const year = Number(id.slice(0, 4)) - 1;
  if (year < MIN_YEAR) throw new InvalidPeriodError(grain, id, `no period before year ${MIN_YEAR}`);
  const rest = id.slice(4);
  switch (grain) {
    case 'day': {
      const month = Number(id.slice(5, 7));
      const day = Math.min(Number(id.slice(8, 10)), daysInMonth(year, month));
      return toPeriod(grain, spanOfDay(dayNumber(year, month, day)), config);
    }
    case 'week':
      return toPeriod(grain, spanOfWeek(year, Math.min(Number(id.slice(6, 8)), isoWeeksInYear(year))), config);
    case 'month':
    case 'quarter':
    case 'year':
      return toPeriod(grain, spanOfId(grain, `${pad(year, 4)}${rest}`, startMonth), config);
  }
}

/** Every period of `grain` overlapping [fromMs, toMs), in order; empty when `toMs <= fromMs`. */
export function periodsBetween(grain: Grain, fromMs: number, toMs: number, config: CalendarConfig): Period[] {
  const out: Period[] = [];
  if (!(toMs > fromMs)) return out;
  const startMonth = fiscalStartMonth(config);
  let span = spanContaining(grain, localDayNumber(config.timeZone, fromMs), startMonth);
  for (;;) {
    const period = toPeriod(grain, span, config);
    if (Date.parse(period.start) >= toMs) return out;
    out.push(period);
    span = spanContaining(grain, span.endDay, startMonth);
  }
}

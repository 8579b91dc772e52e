import { AMOUNT_DECIMALS } from '../../schemas/events/common.js';
import { isCurrency, minorDigits } from '../../schemas/events/currencies.js';
import { Rng } from './rng.js';
import { formatDay, parseDay, type ZoneClock } from './zone-clock.js';

/**
 * The simulated money of several currencies: which stores sell in which currency, how the
 * assortment's prices (in fen) read in another currency, and the daily exchange rates a
 * finance team would import for the simulated days. Pure and deterministic: a rate depends
 * only on the seed, the currency and the day, so overlapping runs agree on shared days.
 */

/**
 * What one unit of each currency the simulator can sell in is worth in CNY, roughly: the
 * anchor of plausible prices and of the simulated daily rates. The assortment is priced in
 * CNY; a store in another currency charges the same goods at this rate.
 */
export const REFERENCE_CNY_VALUE: Readonly<Record<string, number>> = Object.freeze({
  CNY: 1,
  HKD: 0.92,
  MOP: 0.89,
  TWD: 0.22,
  USD: 7.2,
  EUR: 7.8,
  GBP: 9.1,
  JPY: 0.048,
  KRW: 0.0052,
  SGD: 5.35,
  MYR: 1.6,
  THB: 0.2,
  AUD: 4.7,
  CAD: 5.2,
  CHF: 8.1,
  KWD: 23.4,
});

/** Every fourth store (S004, S008, …) sells in a currency other than the reporting one. */
export const FOREIGN_STORE_EVERY = 4;

/** Largest share (±) by which a simulated rate drifts from its reference value. */
const RATE_DRIFT = 0.02;

/** Significant digits of a simulated rate; never more than RATE_DECIMALS decimals. */
const RATE_SIGNIFICANT_DIGITS = 6;

/** Most decimals an imported rate may carry. */
export const RATE_DECIMALS = 10;

export interface CurrencyPlan {
  /** The currency money KPIs are reported in; stores not given another currency sell in it. */
  reporting: string;
  /** Other currencies, handed to every FOREIGN_STORE_EVERY-th store in turn. */
  foreign: readonly string[];
}

/**
 * Why a plan cannot be simulated, or undefined when it can: unknown codes, the reporting
 * currency listed as a second one, a currency without a reference value, too few stores to
 * give each currency one.
 */
export function currencyPlanProblem(plan: CurrencyPlan, stores: number): string | undefined {
  const known = Object.keys(REFERENCE_CNY_VALUE).join(', ');
  if (!isCurrency(plan.reporting)) return `the reporting currency ${plan.reporting} is not an ISO 4217 currency code`;
  if (REFERENCE_CNY_VALUE[plan.reporting] === undefined) return `the simulator has no reference value for the reporting currency ${plan.reporting}; it knows ${known}`;
  const seen = new Set<string>();
  for (const code of plan.foreign) {
    if (!isCurrency(code)) return `${code} is not an ISO 4217 currency code (such as HKD or MOP)`;
    if (code === plan.reporting) return `${code} is the reporting currency; list only other currencies`;
    if (seen.has(code)) return `${code} is listed twice`;
    if (REFERENCE_CNY_VALUE[code] === undefined) return `the simulator has no reference value for ${code}; it knows ${known}`;
    seen.add(code);
  }
  const count = plan.foreign.length;
  const needed = count * FOREIGN_STORE_EVERY;
  if (needed > stores) {
    return `every ${FOREIGN_STORE_EVERY}th store (S004, S008, …) sells in a second currency: ${count} ${count === 1 ? 'currency needs' : 'currencies need'} at least ${needed} stores, got ${stores}`;
  }
  return undefined;
}

/** The currency store number `n` (1-based) sells and refunds in. */
export function storeCurrency(n: number, plan: CurrencyPlan): string {
  if (plan.foreign.length === 0 || n % FOREIGN_STORE_EVERY !== 0) return plan.reporting;
  return plan.foreign[(n / FOREIGN_STORE_EVERY - 1) % plan.foreign.length] ?? plan.reporting;
}

/**
 * Converts the assortment's prices (fen) into minor units of `currency` at the reference
 * value: the same goods, priced the way a till in that currency would. CNY is the identity,
 * so CNY stores keep the catalog's prices to the fen.
 */
export function fenConverter(currency: string): (fen: number) => number {
  if (currency === 'CNY') return (fen) => fen;
  const value = REFERENCE_CNY_VALUE[currency];
  if (value === undefined) throw new RangeError(`no reference value for ${currency}`);
  const factor = 10 ** (minorDigits(currency) - 2) / value;
  return (fen) => Math.max(1, Math.round(fen * factor));
}

/** Micros (millionths of a unit) as a decimal string with at least the currency's minor digits: 12.9 HKD → "12.90", 0.0259 → "0.0259". */
export function microsToDecimal(micros: bigint, currency: string): string {
  if (micros < 0n) throw new RangeError('amounts in events are never negative');
  const scale = 10n ** BigInt(AMOUNT_DECIMALS);
  const whole = micros / scale;
  const digits = minorDigits(currency);
  let fraction = (micros % scale).toString().padStart(AMOUNT_DECIMALS, '0');
  while (fraction.length > digits && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return fraction.length === 0 ? whole.toString() : `${whole}.${fraction}`;
}

/** Minor units of a currency as a decimal string: 1290 CNY → "12.90", 1290 JPY → "1290". */
export function minorToDecimal(minor: number, currency: string): string {
  return microsToDecimal(BigInt(minor) * 10n ** BigInt(AMOUNT_DECIMALS - minorDigits(currency)), currency);
}

export interface ExchangeRate {
  /** Business day, YYYY-MM-DD, in the simulation's time zone. */
  day: string;
  currency: string;
  /** Value of one unit of `currency` in the reporting currency, a decimal string of at most RATE_DECIMALS decimals. */
  rate: string;
}

export interface ExchangeRateOptions {
  /** First business day, YYYY-MM-DD. */
  from: string;
  /** Last business day, YYYY-MM-DD, inclusive. */
  to: string;
  seed: number;
  plan: CurrencyPlan;
}

/**
 * One rate per day and second currency, days in order: the reference value relative to the
 * reporting currency, drifting slowly (±RATE_DRIFT over about two months) with a little
 * daily noise, rounded to six significant digits.
 */
export function exchangeRates(options: ExchangeRateOptions): ExchangeRate[] {
  const first = parseDay(options.from);
  const last = parseDay(options.to);
  if (first === undefined || last === undefined) throw new RangeError(`from and to must be real dates YYYY-MM-DD, got ${options.from} and ${options.to}`);
  const reporting = REFERENCE_CNY_VALUE[options.plan.reporting];
  if (reporting === undefined) throw new RangeError(`no reference value for ${options.plan.reporting}`);
  const out: ExchangeRate[] = [];
  for (let day = first; day <= last; day += 1) {
    for (const currency of [...options.plan.foreign].sort()) {
      const value = REFERENCE_CNY_VALUE[currency];
      if (value === undefined) throw new RangeError(`no reference value for ${currency}`);
      out.push({ day: formatDay(day), currency, rate: formatRate((value / reporting) * drift(options.seed, currency, day)) });
    }
  }
  return out;
}

/**
 * The days whose rates a run needs: its first day through the last day an event can fall on
 * (follow-ups run `followUpDays` past the last day), and no later than the local day of
 * `notAfterMs`, since no event happens after it.
 */
export function rateDays(options: { from: string; to: string; followUpDays: number; clock: ZoneClock; notAfterMs?: number }): { from: string; to: string } {
  const to = parseDay(options.to);
  if (to === undefined) throw new RangeError(`to must be a real date YYYY-MM-DD, got ${options.to}`);
  let last = to + options.followUpDays;
  if (options.notAfterMs !== undefined) last = Math.min(last, options.clock.localDay(options.notAfterMs));
  const from = parseDay(options.from) ?? to;
  return { from: options.from, to: formatDay(Math.max(from, last)) };
}

/** The rates as CSV: `day,currency,rate`, one line per day and currency. */
export function exchangeRatesCsv(rates: readonly ExchangeRate[]): string {
  return ['day,currency,rate', ...rates.map((r) => `${r.day},${r.currency},${r.rate}`)].join('\n') + '\n';
}

/** Multiplier near 1 for a currency on a day: a slow wave plus daily noise, from the seed. */
function drift(seed: number, currency: string, day: number): number {
  const phase = new Rng(seed, 'fx-phase', currency).range(0, 2 * Math.PI);
  const noise = new Rng(seed, 'fx', currency, day).range(-1, 1);
  return 1 + RATE_DRIFT * 0.8 * Math.sin((2 * Math.PI * day) / 61 + phase) + RATE_DRIFT * 0.2 * noise;
}

/** A positive rate to RATE_SIGNIFICANT_DIGITS significant digits, as an exact decimal string. */
function formatRate(value: number): string {
  const magnitude = Math.floor(Math.log10(value));
  const decimals = Math.min(RATE_DECIMALS, Math.max(0, RATE_SIGNIFICANT_DIGITS - 1 - magnitude));
  const scaled = BigInt(Math.round(value * 10 ** decimals));
  if (scaled <= 0n) throw new RangeError(`rate ${value} is too small to write with ${RATE_DECIMALS} decimals`);
  const scale = 10n ** BigInt(decimals);
  const whole = scaled / scale;
  let fraction = (scaled % scale).toString().padStart(decimals, '0');
  while (fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return fraction.length === 0 ? whole.toString() : `${whole}.${fraction}`;
}

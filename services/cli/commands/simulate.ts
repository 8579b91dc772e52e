import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { AMOUNT_DECIMALS } from '../../../schemas/events/common.js';
import { minorDigits } from '../../../schemas/events/currencies.js';
import type { Config } from '../../shared/config.js';
import { UsageError } from '../../shared/errors.js';
import { kafkaFromConfig } from '../../shared/kafka.js';
import type { Logger } from '../../shared/logger.js';
import { currencyPlanProblem, exchangeRates, exchangeRatesCsv, rateDays, type CurrencyPlan } from '../../simulator/currency-plan.js';
import { APPROX_EVENTS_PER_STORE_DAY, FOLLOW_UP_HORIZON_DAYS, generateEvents, type Ledger } from '../../simulator/generate.js';
import { publish, writeNdjson } from '../../simulator/produce.js';
import { LARGE_SALE_MAX_LINES, LARGE_SALE_MIN_LINES } from '../../simulator/sale-shapes.js';
import { BASE_TRANSACTIONS_PER_DAY } from '../../simulator/store-day.js';
import { ZoneClock, formatDay, parseDay } from '../../simulator/zone-clock.js';
import { formatMs } from '../output.js';

/** Longest range one run may cover, in days. */
export const MAX_RANGE_DAYS = 400;

/** Most valid events one run holds in memory (about 1 KB each, with their bytes). */
export const MAX_EVENTS_PER_RUN = 1_500_000;

/** Most wholesale invoices one run holds in memory (up to about 1 MB each, with their bytes). */
export const MAX_LARGE_SALES_PER_RUN = 300;

const FLAGS: Record<string, string> = {
  from: '--from',
  to: '--to',
  stores: '--stores',
  regions: '--regions',
  seed: '--seed',
  duplicates: '--duplicates',
  malformed: '--malformed',
  late: '--late',
  outOfOrder: '--out-of-order',
  scale: '--scale',
  out: '--out',
  largeSales: '--large-sales',
  finePrices: '--fine-prices',
  currencies: '--currencies',
  ratesOut: '--rates-out',
};

const day = z.string().refine((v) => parseDay(v) !== undefined && v >= '2000-01-01', 'expected a real date from 2000-01-01 on, as YYYY-MM-DD');
const faultFraction = z.number('expected a number').min(0, 'expected a fraction from 0 to 0.5').max(0.5, 'expected a fraction from 0 to 0.5');
const shareOfSales = z.number('expected a number').min(0, 'expected a fraction from 0 to 1').max(1, 'expected a fraction from 0 to 1');
/** ISO 4217 codes, comma-separated on the command line ("HKD,MOP"); spaces and case do not matter. */
const currencyList = z
  .union([z.string(), z.array(z.string())], 'expected ISO 4217 codes separated by commas, such as HKD,MOP')
  .transform((v) => (typeof v === 'string' ? v.split(',') : v).map((code) => code.trim().toUpperCase()).filter((code) => code.length > 0));

export const SimulateOptions = z
  .object({
    from: day,
    to: day,
    stores: z.number('expected a number').int('expected a whole number').min(1, 'expected 1 to 1000 stores').max(1_000, 'expected 1 to 1000 stores'),
    regions: z.number('expected a number').int('expected a whole number').min(1, 'expected at least 1 region').optional(),
    seed: z.number('expected a number').int('expected a whole number').min(0, 'expected a whole number from 0').max(Number.MAX_SAFE_INTEGER),
    duplicates: faultFraction,
    malformed: faultFraction,
    late: faultFraction,
    outOfOrder: faultFraction,
    scale: z.number('expected a number').gt(0, 'expected a factor above 0').max(100, 'expected a factor up to 100'),
    json: z.boolean().optional(),
    out: z.string().min(1, 'expected a file path').optional(),
    dryRun: z.boolean().optional(),
    largeSales: shareOfSales.optional(),
    finePrices: shareOfSales.optional(),
    currencies: currencyList.optional(),
    ratesOut: z.string().min(1, 'expected a file path').optional(),
  })
  .superRefine((o, ctx) => {
    const from = parseDay(o.from);
    const to = parseDay(o.to);
    if (from !== undefined && to !== undefined) {
      if (from > to) ctx.addIssue({ code: 'custom', path: ['to'], message: `must not be before --from (${o.from})` });
      else if (to - from + 1 > MAX_RANGE_DAYS) ctx.addIssue({ code: 'custom', path: ['to'], message: `the range is ${to - from + 1} days; at most ${MAX_RANGE_DAYS}` });
    }
    if (o.regions !== undefined && o.regions > o.stores) ctx.addIssue({ code: 'custom', path: ['regions'], message: `must not exceed --stores (${o.stores})` });
    if (o.ratesOut !== undefined && (o.currencies ?? []).length === 0) ctx.addIssue({ code: 'custom', path: ['ratesOut'], message: 'needs --currencies: rates are written for the second currencies' });
  });
export type SimulateOptions = z.infer<typeof SimulateOptions>;

/**
 * Checks the command's options; throws a UsageError naming each wrong flag. `today` is the
 * current local day in the business zone: the ingest refuses events stamped in its future.
 * `reportingCurrency` (@default 'CNY') is the one --currencies must not name.
 */
export function parseSimulateOptions(raw: unknown, context: { today: string; reportingCurrency?: string }): SimulateOptions {
  const parsed = SimulateOptions.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '');
      return `  ${FLAGS[field] ?? (field || 'options')}: ${issue.message}`;
    });
    throw new UsageError(`Invalid simulate options:\n${lines.join('\n')}`);
  }
  const options = parsed.data;
  const plan: CurrencyPlan = { reporting: context.reportingCurrency ?? 'CNY', foreign: options.currencies ?? [] };
  const problem = currencyPlanProblem(plan, options.stores);
  if (problem !== undefined) throw new UsageError(`Invalid simulate options:\n  --currencies: ${problem}`);
  if (options.to > context.today) {
    throw new UsageError(`Invalid simulate options:\n  --to: ${options.to} is after today (${context.today}); the ingest refuses events stamped in the future`);
  }
  const days = (parseDay(options.to) ?? 0) - (parseDay(options.from) ?? 0) + 1;
  const estimate = Math.round(days * options.stores * options.scale * APPROX_EVENTS_PER_STORE_DAY);
  if (estimate > MAX_EVENTS_PER_RUN) {
    throw new UsageError(
      `Invalid simulate options:\n  that is about ${estimate.toLocaleString('en-US')} events, more than the ${MAX_EVENTS_PER_RUN.toLocaleString('en-US')} one run holds; ` +
        'shorten the range or lower --stores or --scale, and simulate consecutive ranges with the same seed (they fit together)',
    );
  }
  const largeSales = Math.round(days * options.stores * options.scale * BASE_TRANSACTIONS_PER_DAY * (options.largeSales ?? 0));
  if (largeSales > MAX_LARGE_SALES_PER_RUN) {
    throw new UsageError(
      `Invalid simulate options:\n  --large-sales: that is about ${largeSales.toLocaleString('en-US')} wholesale invoices of ${n(LARGE_SALE_MIN_LINES)}-${n(LARGE_SALE_MAX_LINES)} lines, ` +
        `more than the ${MAX_LARGE_SALES_PER_RUN} one run holds; lower the fraction (0.001 is one sale in a thousand) or shorten the range`,
    );
  }
  return options;
}

/** The simulator's ledger, plus what was generated and sent. */
export interface SimulateResult extends Ledger {
  /** Messages generated, in send order. */
  messages: number;
  /** Messages sent to Kafka (0 with --dry-run). */
  sent: number;
  seconds: number;
}

export async function simulateCommand(
  config: Config,
  baseLogger: Logger,
  options: {
    from: string;
    to: string;
    stores: number;
    regions?: number;
    seed: number;
    duplicates: number;
    malformed: number;
    late: number;
    outOfOrder: number;
    scale: number;
    json?: boolean;
    out?: string;
    dryRun?: boolean;
    largeSales?: number;
    finePrices?: number;
    /** ISO 4217 codes, comma-separated as typed ("HKD,MOP") or a list. */
    currencies?: string | string[];
    ratesOut?: string;
  },
): Promise<void> {
  const started = performance.now();
  const { timeZone, reportingCurrency } = config.business;
  const now = Date.now();
  const clock = new ZoneClock(timeZone);
  const opts = parseSimulateOptions(options, { today: formatDay(clock.localDay(now)), reportingCurrency });
  const say = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const regions = opts.regions ?? Math.ceil(opts.stores / 5);

  say(`simulate: ${opts.from} … ${opts.to} (${timeZone}), ${opts.stores} store(s) in ${regions} region(s), seed ${opts.seed}, scale ${opts.scale}`);
  const t0 = performance.now();
  const { messages, ledger } = generateEvents({
    from: opts.from,
    to: opts.to,
    stores: opts.stores,
    regions,
    seed: opts.seed,
    timeZone,
    scale: opts.scale,
    duplicates: opts.duplicates,
    malformed: opts.malformed,
    late: opts.late,
    outOfOrder: opts.outOfOrder,
    // Follow-ups that would happen after now have not happened yet.
    notAfterMs: now,
    largeSales: opts.largeSales,
    finePrices: opts.finePrices,
    currencies: opts.currencies,
    reportingCurrency,
  });
  say(`generated ${n(messages.length)} messages (${n(ledger.valid)} valid, ${n(ledger.duplicates)} duplicates, ${n(ledger.malformed)} malformed) in ${formatMs(performance.now() - t0)}`);

  if (opts.ratesOut && opts.currencies) {
    // Every day an event can fall on, follow-ups included, so that no amount lacks its rate.
    const days = rateDays({ from: opts.from, to: opts.to, followUpDays: FOLLOW_UP_HORIZON_DAYS, clock, notAfterMs: now });
    const rates = exchangeRates({ ...days, seed: opts.seed, plan: { reporting: reportingCurrency, foreign: opts.currencies } });
    await writeFile(opts.ratesOut, exchangeRatesCsv(rates));
    say(`wrote ${n(rates.length)} exchange rates (${days.from} … ${days.to}, 1 unit in ${reportingCurrency}) to ${opts.ratesOut}`);
  }

  if (opts.out) {
    const written = await writeNdjson(opts.out, messages);
    say(`wrote ${n(written.lines)} lines (${n(written.bytes)} bytes) to ${opts.out}`);
  }

  let sent = 0;
  if (!opts.dryRun) {
    // Client warnings only at LOG_LEVEL=debug or below; the command reports its own progress.
    const logger = config.logLevel === 'info' ? baseLogger.child({}, { level: 'error' }) : baseLogger;
    const result = await publish(kafkaFromConfig(config, logger), messages, {
      topicPrefix: config.kafka.topicPrefix,
      partitions: config.kafka.topicPartitions,
      onProgress: (p) => say(`sent ${n(p.sent)}/${n(p.total)} messages (${n(Math.round(p.ratePerSecond))}/s)`),
    });
    sent = result.sent;
  }

  const summary: SimulateResult = {
    valid: ledger.valid,
    duplicates: ledger.duplicates,
    malformed: ledger.malformed,
    late: ledger.late,
    outOfOrder: ledger.outOfOrder,
    messages: messages.length,
    sent,
    byType: ledger.byType,
    byMalformedKind: ledger.byMalformedKind,
    money: ledger.money,
    moneyByCurrency: ledger.moneyByCurrency,
    sales: ledger.sales,
    seconds: Math.round(performance.now() - started) / 1_000,
  };
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  out(`Simulated ${opts.from} … ${opts.to}: ${opts.stores} store(s), ${regions} region(s), seed ${opts.seed}`);
  out(`  valid events   ${n(ledger.valid)}  (${n(ledger.late)} late, ${n(ledger.outOfOrder)} out of order)`);
  out(`  duplicates     ${n(ledger.duplicates)}`);
  out(`  malformed      ${n(ledger.malformed)}  (${Object.keys(ledger.byMalformedKind).length} kinds)`);
  for (const line of moneyLines(ledger)) out(line);
  out(opts.dryRun ? `  dry run: nothing sent (${n(messages.length)} messages generated) in ${summary.seconds} s` : `  sent           ${n(sent)} messages in ${summary.seconds} s`);
}

const n = (v: number): string => v.toLocaleString('en-US');

/**
 * The summary's money: net sale lines and refunds in each currency, exactly, and how many
 * sales took the rarer shapes when there were any.
 */
function moneyLines(ledger: Ledger): string[] {
  if (Object.keys(ledger.moneyByCurrency).length === 0) return ['  net sales      none: no sales in the range'];
  const lines = Object.entries(ledger.moneyByCurrency).map(
    ([code, m], i) => `  ${i === 0 ? 'net sales' : ''.padEnd(9)}      ${amount(m.saleLinesNetMicros, code)} ${code} in sale lines, ${amount(m.refundsMicros, code)} ${code} refunded`,
  );
  if (ledger.sales.large > 0 || ledger.sales.v3 > 0) lines.push(`  sale shapes    ${n(ledger.sales.large)} wholesale invoices, ${n(ledger.sales.v3)} with decimal prices (v3)`);
  return lines;
}

/**
 * Micros (a decimal string) in currency units with thousands separators: the currency's
 * minor-unit digits always (12.90 CNY, 1,290 JPY), finer digits only when there are any.
 */
function amount(micros: string, currency: string): string {
  const value = BigInt(micros);
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  const scale = 10n ** BigInt(AMOUNT_DECIMALS);
  const digits = minorDigits(currency);
  let fraction = String(abs % scale).padStart(AMOUNT_DECIMALS, '0');
  while (fraction.length > digits && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return `${sign}${(abs / scale).toLocaleString('en-US')}${fraction.length > 0 ? `.${fraction}` : ''}`;
}

import { z } from 'zod';
import type { Config } from '../../shared/config.js';
import { UsageError } from '../../shared/errors.js';
import { kafkaFromConfig } from '../../shared/kafka.js';
import type { Logger } from '../../shared/logger.js';
import { APPROX_EVENTS_PER_STORE_DAY, generateEvents, type Ledger } from '../../simulator/generate.js';
import { publish, writeNdjson } from '../../simulator/produce.js';
import { ZoneClock, formatDay, parseDay } from '../../simulator/zone-clock.js';
import { formatMs } from '../output.js';

/** Longest range one run may cover, in days. */
export const MAX_RANGE_DAYS = 400;

/** Most valid events one run holds in memory (about 1 KB each, with their bytes). */
export const MAX_EVENTS_PER_RUN = 1_500_000;

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
};

const day = z.string().refine((v) => parseDay(v) !== undefined && v >= '2000-01-01', 'expected a real date from 2000-01-01 on, as YYYY-MM-DD');
const faultFraction = z.number('expected a number').min(0, 'expected a fraction from 0 to 0.5').max(0.5, 'expected a fraction from 0 to 0.5');

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
  })
  .superRefine((o, ctx) => {
    const from = parseDay(o.from);
    const to = parseDay(o.to);
    if (from !== undefined && to !== undefined) {
      if (from > to) ctx.addIssue({ code: 'custom', path: ['to'], message: `must not be before --from (${o.from})` });
      else if (to - from + 1 > MAX_RANGE_DAYS) ctx.addIssue({ code: 'custom', path: ['to'], message: `the range is ${to - from + 1} days; at most ${MAX_RANGE_DAYS}` });
    }
    if (o.regions !== undefined && o.regions > o.stores) ctx.addIssue({ code: 'custom', path: ['regions'], message: `must not exceed --stores (${o.stores})` });
  });
export type SimulateOptions = z.infer<typeof SimulateOptions>;

/**
 * Checks the command's options; throws a UsageError naming each wrong flag. `today` is the
 * current local day in the business zone: the ingest refuses events stamped in its future.
 */
export function parseSimulateOptions(raw: unknown, context: { today: string }): SimulateOptions {
  const parsed = SimulateOptions.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '');
      return `  ${FLAGS[field] ?? (field || 'options')}: ${issue.message}`;
    });
    throw new UsageError(`Invalid simulate options:\n${lines.join('\n')}`);
  }
  const options = parsed.data;
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
  },
): Promise<void> {
  const started = performance.now();
  const { timeZone } = config.business;
  const now = Date.now();
  const clock = new ZoneClock(timeZone);
  const opts = parseSimulateOptions(options, { today: formatDay(clock.localDay(now)) });
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
  });
  say(`generated ${n(messages.length)} messages (${n(ledger.valid)} valid, ${n(ledger.duplicates)} duplicates, ${n(ledger.malformed)} malformed) in ${formatMs(performance.now() - t0)}`);

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
  out(`  net sales      ${yuan(ledger.money.saleLinesNetMinor)} CNY in sale lines, ${yuan(ledger.money.refundsMinor)} CNY refunded`);
  out(opts.dryRun ? `  dry run: nothing sent (${n(messages.length)} messages generated) in ${summary.seconds} s` : `  sent           ${n(sent)} messages in ${summary.seconds} s`);
}

const n = (v: number): string => v.toLocaleString('en-US');

/** Minor units (a decimal string) as yuan with two decimals and thousands separators. */
function yuan(minor: string): string {
  const value = BigInt(minor);
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  return `${sign}${(abs / 100n).toLocaleString('en-US')}.${String(abs % 100n).padStart(2, '0')}`;
}

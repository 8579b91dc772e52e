import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../../services/shared/errors.js';
import { loadConfig } from '../../../services/shared/config.js';
import { createLogger } from '../../../services/shared/logger.js';
import { MAX_RANGE_DAYS, parseSimulateOptions, simulateCommand, type SimulateResult } from '../../../services/cli/commands/simulate.js';
import { generateEvents } from '../../../services/simulator/generate.js';
import { readNdjson } from '../../../services/simulator/produce.js';
import { tempDir } from '../../support/env.js';

const DEFAULTS = { from: '2026-03-02', to: '2026-03-08', stores: 20, seed: 1, duplicates: 0, malformed: 0, late: 0, outOfOrder: 0, scale: 1 };
const TODAY = { today: '2026-11-27' };

function usageMessage(raw: Record<string, unknown>): string {
  try {
    parseSimulateOptions({ ...DEFAULTS, ...raw }, TODAY);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('parseSimulateOptions', () => {
  it('accepts the defaults and a full set of faults', () => {
    expect(parseSimulateOptions(DEFAULTS, TODAY)).toEqual(DEFAULTS);
    const full = { ...DEFAULTS, regions: 3, duplicates: 0.5, malformed: 0.01, late: 0.02, outOfOrder: 0.03, scale: 0.5, json: true, dryRun: true, out: 'x.ndjson' };
    expect(parseSimulateOptions(full, TODAY)).toEqual(full);
  });

  it.each<[Record<string, unknown>, RegExp]>([
    [{ from: '2026-02-30' }, /--from: expected a real date/],
    [{ to: '26-03-08' }, /--to: expected a real date/],
    [{ from: '1999-12-31' }, /--from: expected a real date from 2000-01-01/],
    [{ from: '2026-03-09' }, /--to: must not be before --from/],
    [{ from: '2025-01-01', to: '2026-03-08' }, new RegExp(`--to: the range is 432 days; at most ${MAX_RANGE_DAYS}`)],
    [{ duplicates: 0.6 }, /--duplicates: expected a fraction from 0 to 0.5/],
    [{ outOfOrder: -0.1 }, /--out-of-order: expected a fraction from 0 to 0.5/],
    [{ malformed: Number.NaN }, /--malformed: expected a number/],
    [{ stores: 0 }, /--stores: expected 1 to 1000 stores/],
    [{ stores: 1001 }, /--stores: expected 1 to 1000 stores/],
    [{ stores: 2.5 }, /--stores: expected a whole number/],
    [{ regions: 21 }, /--regions: must not exceed --stores \(20\)/],
    [{ seed: -1 }, /--seed: expected a whole number from 0/],
    [{ scale: 0 }, /--scale: expected a factor above 0/],
    [{ to: '2026-11-28' }, /--to: 2026-11-28 is after today \(2026-11-27\)/],
    [{ from: '2025-11-01', to: '2026-11-01', stores: 1_000 }, /about [\d,]+ events, more than the 1,500,000 one run holds/],
  ])('rejects %j', (raw, message) => {
    expect(usageMessage(raw)).toMatch(message);
  });

  it('accepts the money options, reading --currencies as comma-separated codes', () => {
    const parsed = parseSimulateOptions({ ...DEFAULTS, largeSales: 0.001, finePrices: 1, currencies: ' hkd, MOP ', ratesOut: 'rates.csv' }, TODAY);
    expect(parsed).toEqual({ ...DEFAULTS, largeSales: 0.001, finePrices: 1, currencies: ['HKD', 'MOP'], ratesOut: 'rates.csv' });
  });

  it.each<[Record<string, unknown>, RegExp]>([
    [{ largeSales: 1.5 }, /--large-sales: expected a fraction from 0 to 1/],
    [{ finePrices: -0.5 }, /--fine-prices: expected a fraction from 0 to 1/],
    [{ finePrices: Number.NaN }, /--fine-prices: expected a number/],
    [{ currencies: 'HKD,XYZ' }, /--currencies: XYZ is not an ISO 4217 currency code/],
    [{ currencies: 'CNY' }, /--currencies: CNY is the reporting currency; list only other currencies/],
    [{ currencies: 'HKD', stores: 3 }, /--currencies: .*1 currency needs at least 4 stores, got 3/],
    [{ ratesOut: 'rates.csv' }, /--rates-out: needs --currencies/],
    [{ largeSales: 0.5 }, /--large-sales: that is about [\d,]+ wholesale invoices of 1,000-5,000 lines, more than the 300 one run holds/],
  ])('rejects the money option %j', (raw, message) => {
    expect(usageMessage(raw)).toMatch(message);
  });

  it('refuses the reporting currency of the configuration as a second currency', () => {
    expect(() => parseSimulateOptions({ ...DEFAULTS, currencies: 'HKD' }, { ...TODAY, reportingCurrency: 'HKD' })).toThrow(/--currencies: HKD is the reporting currency/);
    expect(parseSimulateOptions({ ...DEFAULTS, currencies: 'CNY' }, { ...TODAY, reportingCurrency: 'HKD' }).currencies).toEqual(['CNY']);
  });

  it('names every wrong flag at once', () => {
    const message = usageMessage({ stores: 0, late: 2 });
    expect(message).toMatch(/--stores/);
    expect(message).toMatch(/--late/);
  });
});

describe('simulateCommand', () => {
  it('with --dry-run --json --out: generates, writes the file, sends nothing, prints one JSON line last', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const out = path.join(tempDir('sim-cmd'), 'run.ndjson');
    const options = { ...DEFAULTS, from: '2026-03-02', to: '2026-03-03', stores: 3, malformed: 0.02, duplicates: 0.01, json: true, dryRun: true, out };
    const stdout: string[] = [];
    const stderr: string[] = [];
    const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
    process.stdout.write = ((chunk: string) => stdout.push(chunk) > 0);
    process.stderr.write = ((chunk: string) => stderr.push(chunk) > 0);
    try {
      await simulateCommand(config, createLogger({ level: 'silent' }), options);
    } finally {
      process.stdout.write = write.out;
      process.stderr.write = write.err;
    }
    const lines = stdout.join('').trim().split('\n');
    const result = JSON.parse(lines.at(-1) ?? '') as SimulateResult;
    const expected = generateEvents({ ...options, regions: 1, timeZone: config.business.timeZone });
    expect(result).toMatchObject({
      valid: expected.ledger.valid,
      duplicates: expected.ledger.duplicates,
      malformed: expected.ledger.malformed,
      sent: 0,
      messages: expected.messages.length,
      byType: expected.ledger.byType,
      byMalformedKind: expected.ledger.byMalformedKind,
      money: expected.ledger.money,
    });
    for (const field of ['valid', 'duplicates', 'malformed', 'sent'] as const) expect(Number.isInteger(result[field])).toBe(true);
    expect(typeof result.seconds).toBe('number');
    expect(stderr.join('')).toMatch(/generated [\d,]+ messages/);

    const written = await readNdjson(out);
    expect(written.map((m) => m.value.toString('base64'))).toEqual(expected.messages.map((m) => m.value.toString('base64')));
  });

  it('with --currencies and --rates-out: writes the daily rates as CSV and reports money per currency', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const ratesOut = path.join(tempDir('sim-cmd-rates'), 'rates.csv');
    const options = { ...DEFAULTS, from: '2026-03-02', to: '2026-03-03', stores: 4, currencies: 'HKD', finePrices: 0.2, ratesOut, json: true, dryRun: true };
    const stdout: string[] = [];
    const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
    process.stdout.write = ((chunk: string) => stdout.push(chunk) > 0);
    process.stderr.write = (() => true);
    try {
      await simulateCommand(config, createLogger({ level: 'silent' }), options);
    } finally {
      process.stdout.write = write.out;
      process.stderr.write = write.err;
    }
    const result = JSON.parse(stdout.join('').trim().split('\n').at(-1) ?? '') as SimulateResult;
    const expected = generateEvents({ ...options, currencies: ['HKD'], regions: 1, timeZone: config.business.timeZone });
    expect(result.moneyByCurrency).toEqual(expected.ledger.moneyByCurrency);
    expect(Object.keys(result.moneyByCurrency)).toEqual(['CNY', 'HKD']);
    expect(result.sales.v3).toBe(expected.ledger.sales.v3);
    const csv = readFileSync(ratesOut, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('day,currency,rate');
    // Two simulated days and the ten days their follow-ups may fall on.
    expect(csv.slice(1).map((line) => line.split(',').slice(0, 2).join(' '))).toEqual(Array.from({ length: 12 }, (_, i) => `2026-03-${String(2 + i).padStart(2, '0')} HKD`));
    for (const line of csv.slice(1)) expect(line).toMatch(/^\d{4}-\d\d-\d\d,HKD,0\.9\d{1,8}$/);
  });

  it('throws a UsageError before doing anything when an option is wrong', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    await expect(simulateCommand(config, createLogger({ level: 'silent' }), { ...DEFAULTS, stores: 0, dryRun: true })).rejects.toThrow(UsageError);
  });
});

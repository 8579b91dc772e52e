import { createHash, randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { GRAINS, InvalidPeriodError, parsePeriod, type CalendarConfig } from '../../schemas/calendar/index.js';
import { MANUAL_KPI_IDS, TARGETED_KPI_IDS, type KpiId } from '../../schemas/kpis/catalog.js';
import { COMPANY_UNIT, LEVELS } from '../../schemas/kpis/compile.js';
import { Currency } from '../../schemas/events/common.js';
import type { Config } from '../shared/config.js';
import { commandInPlace, insertRows, queryRows, type ClickHouseClient } from '../shared/clickhouse.js';
import { KpiError, UsageError, describeError } from '../shared/errors.js';
import { StrictNumber, StrictOptionalNumber } from '../shared/numbers.js';
import { appendChained } from './audit-chain.js';

/**
 * Targets, manual KPI inputs and exchange rates, imported from CSV (or posted as rows through the API).
 * A file is all or nothing: every row is checked first, and one bad row stores nothing, with
 * every problem named by line. Each import is recorded with who, when, which file and its
 * SHA-256; the latest import of a (KPI, grain, period, level, unit) is the one in force.
 * Numbers are read strictly (services/shared/numbers.ts): null, true, '0x10' or 1e309 is a
 * problem named by line, never a 0, 1, 16 or Infinity stored.
 */

export const IMPORT_KINDS = ['targets', 'inputs', 'rates'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

/** What an import is checked against: the calendar of periods, and the reporting currency rates convert into. */
export type ImportContext = Config['business'];

/** Unit ids as the events carry them (store S001, region R01, department, channel). */
const UnitId = z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, 'expected a unit id: letters, digits, . _ : - (at most 100)');
const common = {
  grain: z.enum(GRAINS),
  period: z.string().trim().min(1),
  level: z.enum(LEVELS),
  unit: UnitId,
};

export const TargetRow = z.object({ kpi: z.enum(TARGETED_KPI_IDS), ...common, value: StrictNumber.refine((v) => v > 0, 'a target must be above 0') }).strict();
export type TargetRow = z.infer<typeof TargetRow>;

export const InputRow = z
  .object({ kpi: z.enum(MANUAL_KPI_IDS as [KpiId, ...KpiId[]]), ...common, value: StrictOptionalNumber, numerator: StrictOptionalNumber, denominator: StrictOptionalNumber })
  .strict()
  .superRefine((row, ctx) => {
    const parts = row.numerator !== undefined && row.denominator !== undefined;
    if (row.value === undefined && !parts) ctx.addIssue({ code: 'custom', path: ['value'], message: 'give a value, or a numerator and a denominator' });
    if ((row.numerator === undefined) !== (row.denominator === undefined)) ctx.addIssue({ code: 'custom', path: ['denominator'], message: 'numerator and denominator go together' });
    if (row.denominator === 0) ctx.addIssue({ code: 'custom', path: ['denominator'], message: 'the denominator must not be 0' });
    if (row.numerator !== undefined && row.denominator) {
      // Two finite numbers can still divide to Infinity (1e308 ÷ 1e-308).
      const parts = row.numerator / row.denominator;
      if (!Number.isFinite(parts)) ctx.addIssue({ code: 'custom', path: ['value'], message: 'numerator ÷ denominator is not a finite number' });
      else if (row.value !== undefined && Math.abs(row.value - parts) > 1e-9 * Math.max(1, Math.abs(parts))) ctx.addIssue({ code: 'custom', path: ['value'], message: `${row.value} is not numerator ÷ denominator (${parts})` });
    }
  });
export type InputRow = z.infer<typeof InputRow>;

/** A day's rate, as text: 1 to 8 digits, at most 10 decimals (what the store's Decimal(38, 10) keeps exactly). */
const RATE = /^(0|[1-9][0-9]{0,7})(\.[0-9]{1,10})?$/;
const Day = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a day as YYYY-MM-DD')
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'not a real calendar day')
  .refine((d) => d >= '2000-01-01', 'before 2000-01-01');

/**
 * One exchange rate: on `day` (a business day in KPI_TIME_ZONE), one unit of `currency` is
 * worth `rate` units of `to` (the reporting currency when not given). Kept as written: a
 * rate is never a float.
 */
export const RateRow = z
  .object({
    day: Day,
    currency: z.string().trim().pipe(Currency),
    rate: z
      .union([z.string(), z.number()])
      .transform((v) => (typeof v === 'number' ? String(v) : v.trim()))
      .pipe(z.string().regex(RATE, 'expected a decimal rate above 0 such as 0.9213: up to 8 digits, at most 10 decimals, no exponent'))
      .refine((v) => /[1-9]/.test(v), 'a rate must be above 0'),
    to: z.string().trim().pipe(Currency).optional(),
  })
  .strict();
export type RateRow = z.infer<typeof RateRow>;

export interface StoredRate {
  day: string;
  currency: string;
  to_currency: string;
  rate: string;
}

export interface StoredRow {
  kpi: string;
  grain: string;
  period: string;
  level: string;
  unit: string;
  value: number;
  numerator?: number | null;
  denominator?: number | null;
}

const COLUMNS: Record<ImportKind, string[]> = {
  targets: ['kpi', 'grain', 'period', 'level', 'unit', 'value'],
  inputs: ['kpi', 'grain', 'period', 'level', 'unit', 'value', 'numerator', 'denominator'],
  rates: ['day', 'currency', 'rate', 'to'],
};

const MAX_ROWS = 100_000;

/** Refuses an import with every problem named by line, shown up to 25. */
function refuse(kind: ImportKind, problems: readonly string[]): never {
  const shown = problems.slice(0, 25);
  const more = problems.length > shown.length ? `\n  … and ${problems.length - shown.length} more` : '';
  throw new UsageError(`${kind} import refused, nothing stored (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${shown.join('\n  ')}${more}`);
}

function checkCount(kind: ImportKind, records: readonly unknown[]): void {
  if (records.length === 0) throw new UsageError(`no ${kind} rows to import`);
  if (records.length > MAX_ROWS) throw new UsageError(`${records.length} rows; one import takes at most ${MAX_ROWS}`);
}

/**
 * Checks exchange rates (from CSV or JSON): each a real day, ISO currencies, a decimal rate
 * above 0, no currency into itself, and one rate per day and pair in a file.
 */
export function validateRates(records: readonly Record<string, unknown>[], reportingCurrency: string, options: { firstLine?: number } = {}): StoredRate[] {
  const firstLine = options.firstLine ?? 1;
  checkCount('rates', records);
  const problems: string[] = [];
  const rows: StoredRate[] = [];
  const seen = new Map<string, number>();
  records.forEach((record, i) => {
    const line = firstLine + i;
    // An empty `to` cell in CSV means the reporting currency.
    const given = record['to'] === '' ? Object.fromEntries(Object.entries(record).filter(([k]) => k !== 'to')) : record;
    const parsed = RateRow.safeParse(given);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`line ${line}: ${issue.path.join('.') || 'row'}: ${issue.message}`);
      return;
    }
    const r = parsed.data;
    const to = r.to ?? reportingCurrency;
    // `to` guards against a file made for another reporting currency: its rates would never be read.
    if (to !== reportingCurrency) problems.push(`line ${line}: to: rates convert into the reporting currency ${reportingCurrency}, not ${to}`);
    else if (r.currency === to) problems.push(`line ${line}: currency: ${r.currency} converts into itself at 1; give rates of other currencies`);
    const key = `${r.day}|${r.currency}|${to}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) problems.push(`line ${line}: the same day and currencies as line ${earlier}`);
    seen.set(key, line);
    rows.push({ day: r.day, currency: r.currency, to_currency: to, rate: r.rate });
  });
  if (problems.length > 0) refuse('rates', problems);
  return rows;
}

/** Checks rows (from CSV or JSON); returns them ready to store, or throws a UsageError listing every problem. */
export function validateImport(kind: 'targets' | 'inputs', records: readonly Record<string, unknown>[], calendar: CalendarConfig, options: { firstLine?: number } = {}): StoredRow[] {
  const firstLine = options.firstLine ?? 1;
  checkCount(kind, records);
  const problems: string[] = [];
  const rows: StoredRow[] = [];
  const seen = new Map<string, number>();
  records.forEach((record, i) => {
    const line = firstLine + i;
    const parsed = (kind === 'targets' ? TargetRow : InputRow).safeParse(record);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`line ${line}: ${issue.path.join('.') || 'row'}: ${issue.message}`);
      return;
    }
    const r = parsed.data;
    let period: string;
    try {
      period = parsePeriod(r.grain, r.period, calendar).id;
    } catch (err) {
      if (err instanceof InvalidPeriodError) problems.push(`line ${line}: period: ${err.message}`);
      else throw err;
      return;
    }
    if (r.level === 'company' && r.unit !== COMPANY_UNIT) problems.push(`line ${line}: unit: the company unit is "${COMPANY_UNIT}"`);
    const key = `${r.kpi}|${r.grain}|${period}|${r.level}|${r.unit}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) problems.push(`line ${line}: the same KPI, period and unit as line ${earlier}`);
    seen.set(key, line);
    const input = kind === 'inputs' ? (r as InputRow) : undefined;
    const value = r.value ?? (input?.numerator ?? 0) / (input?.denominator ?? 1);
    rows.push({ kpi: r.kpi, grain: r.grain, period, level: r.level, unit: r.unit, value, numerator: input?.numerator ?? null, denominator: input?.denominator ?? null });
  });
  if (problems.length > 0) refuse(kind, problems);
  return rows;
}

/** Checks rows of any kind (CSV records or JSON objects). */
export function validateRows(kind: 'targets' | 'inputs', records: readonly Record<string, unknown>[], context: CalendarConfig, options?: { firstLine?: number }): StoredRow[];
export function validateRows(kind: ImportKind, records: readonly Record<string, unknown>[], context: ImportContext, options?: { firstLine?: number }): StoredRow[] | StoredRate[];
export function validateRows(kind: ImportKind, records: readonly Record<string, unknown>[], context: CalendarConfig & { reportingCurrency?: string }, options: { firstLine?: number } = {}): StoredRow[] | StoredRate[] {
  if (kind !== 'rates') return validateImport(kind, records, context, options);
  if (!context.reportingCurrency) throw new RangeError('rates are checked against the reporting currency');
  return validateRates(records, context.reportingCurrency, options);
}

/** Parses CSV text with a header row; columns: see COLUMNS. */
export function parseImportCsv(kind: 'targets' | 'inputs', text: string, context: CalendarConfig): StoredRow[];
export function parseImportCsv(kind: ImportKind, text: string, context: ImportContext): StoredRow[] | StoredRate[];
export function parseImportCsv(kind: ImportKind, text: string, context: CalendarConfig & { reportingCurrency?: string }): StoredRow[] | StoredRate[] {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true, relax_column_count: false });
  } catch (err) {
    throw new UsageError(`not readable as CSV: ${err instanceof Error ? err.message : String(err)}`);
  }
  const header = records[0] ? Object.keys(records[0]) : [];
  const unknown = header.filter((h) => !COLUMNS[kind].includes(h));
  if (unknown.length > 0) throw new UsageError(`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; a ${kind} file has ${COLUMNS[kind].join(', ')}`);
  // Line 1 is the header.
  return validateRows(kind, records, context as ImportContext, { firstLine: 2 });
}

export interface ImportReceipt {
  importId: string;
  kind: ImportKind;
  rows: number;
  importedBy: string;
  importedAt: string;
  source: string;
  sha256: string;
}

/**
 * Stores validated rows, then the import's record, appended to the `imports` hash chain.
 * ClickHouse has no transaction over two tables, so the record is the commit point: every
 * reader of kpi_targets and kpi_inputs takes only rows whose import_id `imports` lists
 * (schemas/kpis/compile.ts). Rows stored without their record are never in force; when the
 * record cannot be written they are deleted as well as can be, and the error says nothing
 * was imported. `audit.importedBy` is the authenticated principal, named by the caller.
 */
export async function storeImport(
  client: ClickHouseClient,
  kind: ImportKind,
  rows: readonly StoredRow[] | readonly StoredRate[],
  audit: { importedBy: string; source: string; content: string },
): Promise<ImportReceipt> {
  const importId = randomUUID();
  const importedAt = new Date().toISOString();
  const at = importedAt.replace('T', ' ').replace('Z', '');
  const sha256 = createHash('sha256').update(audit.content).digest('hex');
  const table = IMPORT_TABLES[kind];
  const receipt: ImportReceipt = { importId, kind, rows: rows.length, importedBy: audit.importedBy, importedAt, source: audit.source, sha256 };
  const failed = (what: string, err: unknown, after: string): KpiError =>
    new KpiError(`${kind} import failed, nothing was imported: ${what} (${describeError(err)})${after}`, { cause: err, retriable: true });
  try {
    await insertRows(client, table, tableRows(kind, rows, { import_id: importId, imported_at: at }));
  } catch (err) {
    throw failed('its rows could not be stored', err, await discardRows(client, table, importId));
  }
  try {
    await appendChained(client, 'imports', [{ import_id: importId, kind, imported_by: audit.importedBy, imported_at: at, source: audit.source, sha256, rows: rows.length }]);
  } catch (err) {
    // An insert can reach the store and still fail on its way back: then the import is in force.
    let recorded: boolean;
    try {
      recorded = (await queryRows(client, 'SELECT 1 FROM imports WHERE import_id = {id: String} LIMIT 1', { id: importId })).length > 0;
    } catch {
      throw new KpiError(
        `${kind} import ${importId}: writing its record failed (${describeError(err)}), and whether it was written could not be checked; ` +
          `the import is in force only if the imports table lists ${importId}`,
        { cause: err, retriable: false },
      );
    }
    if (recorded) return receipt;
    throw failed('its record could not be written', err, await discardRows(client, table, importId));
  }
  return receipt;
}

/** Where each kind of import is stored. */
const IMPORT_TABLES = { targets: 'kpi_targets', inputs: 'kpi_inputs', rates: 'fx_rates' } as const satisfies Record<ImportKind, string>;

/** The table's rows of an import, each with the import's id and time. */
function tableRows(kind: ImportKind, rows: readonly StoredRow[] | readonly StoredRate[], stamp: { import_id: string; imported_at: string }): Record<string, unknown>[] {
  const isRate = (r: StoredRow | StoredRate): r is StoredRate => 'to_currency' in r;
  return rows.map((r: StoredRow | StoredRate) => {
    if (isRate(r)) {
      if (kind !== 'rates') throw new RangeError(`a rate in a ${kind} import`);
      return { day: r.day, currency: r.currency, to_currency: r.to_currency, rate: r.rate, ...stamp };
    }
    if (kind === 'rates') throw new RangeError('a KPI row in a rates import');
    if (kind === 'targets') return { kpi: r.kpi, grain: r.grain, period: r.period, level: r.level, unit: r.unit, value: r.value, ...stamp };
    return { kpi: r.kpi, grain: r.grain, period: r.period, level: r.level, unit: r.unit, value: r.value, numerator: r.numerator ?? null, denominator: r.denominator ?? null, ...stamp };
  });
}

/**
 * Deletes the rows of an import that has no record, best effort: readers ignore them
 * anyway. Returns a note for the error message when they could not be deleted.
 */
async function discardRows(client: ClickHouseClient, table: (typeof IMPORT_TABLES)[ImportKind], importId: string): Promise<string> {
  try {
    await commandInPlace(client, { query: `DELETE FROM ${table} WHERE import_id = {id: String}`, query_params: { id: importId } });
    return '';
  } catch (err) {
    return `; its stored rows (import ${importId} in ${table}) could not be deleted (${describeError(err)}), and are ignored because the import has no record`;
  }
}

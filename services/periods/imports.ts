import { createHash, randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { GRAINS, InvalidPeriodError, parsePeriod, type CalendarConfig } from '../../schemas/calendar/index.js';
import { MANUAL_KPI_IDS, TARGETED_KPI_IDS, type KpiId } from '../../schemas/kpis/catalog.js';
import { COMPANY_UNIT, LEVELS } from '../../schemas/kpis/compile.js';
import { insertRows, queryRows, type ClickHouseClient } from '../shared/clickhouse.js';
import { KpiError, UsageError, describeError } from '../shared/errors.js';
import { StrictNumber, StrictOptionalNumber } from '../shared/numbers.js';
import { appendChained } from './audit-chain.js';

/**
 * Targets and manual KPI inputs, imported from CSV (or posted as rows through the API).
 * A file is all or nothing: every row is checked first, and one bad row stores nothing, with
 * every problem named by line. Each import is recorded with who, when, which file and its
 * SHA-256; the latest import of a (KPI, grain, period, level, unit) is the one in force.
 * Numbers are read strictly (services/shared/numbers.ts): null, true, '0x10' or 1e309 is a
 * problem named by line, never a 0, 1, 16 or Infinity stored.
 */

export const IMPORT_KINDS = ['targets', 'inputs'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

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
};

const MAX_ROWS = 100_000;

/** Checks rows (from CSV or JSON); returns them ready to store, or throws a UsageError listing every problem. */
export function validateImport(kind: ImportKind, records: readonly Record<string, unknown>[], calendar: CalendarConfig, options: { firstLine?: number } = {}): StoredRow[] {
  const firstLine = options.firstLine ?? 1;
  if (records.length === 0) throw new UsageError(`no ${kind} rows to import`);
  if (records.length > MAX_ROWS) throw new UsageError(`${records.length} rows; one import takes at most ${MAX_ROWS}`);
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
  if (problems.length > 0) {
    const shown = problems.slice(0, 25);
    const more = problems.length > shown.length ? `\n  … and ${problems.length - shown.length} more` : '';
    throw new UsageError(`${kind} import refused, nothing stored (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${shown.join('\n  ')}${more}`);
  }
  return rows;
}

/** Parses CSV text with a header row; columns: see COLUMNS. */
export function parseImportCsv(kind: ImportKind, text: string, calendar: CalendarConfig): StoredRow[] {
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
  return validateImport(kind, records, calendar, { firstLine: 2 });
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
  rows: readonly StoredRow[],
  audit: { importedBy: string; source: string; content: string },
): Promise<ImportReceipt> {
  const importId = randomUUID();
  const importedAt = new Date().toISOString();
  const at = importedAt.replace('T', ' ').replace('Z', '');
  const sha256 = createHash('sha256').update(audit.content).digest('hex');
  const table = kind === 'targets' ? 'kpi_targets' : 'kpi_inputs';
  const receipt: ImportReceipt = { importId, kind, rows: rows.length, importedBy: audit.importedBy, importedAt, source: audit.source, sha256 };
  const failed = (what: string, err: unknown, after: string): KpiError =>
    new KpiError(`${kind} import failed, nothing was imported: ${what} (${describeError(err)})${after}`, { cause: err, retriable: true });
  try {
    await insertRows(
      client,
      table,
      rows.map((r) =>
        kind === 'targets'
          ? { kpi: r.kpi, grain: r.grain, period: r.period, level: r.level, unit: r.unit, value: r.value, import_id: importId, imported_at: at }
          : { kpi: r.kpi, grain: r.grain, period: r.period, level: r.level, unit: r.unit, value: r.value, numerator: r.numerator ?? null, denominator: r.denominator ?? null, import_id: importId, imported_at: at },
      ),
    );
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

/**
 * Deletes the rows of an import that has no record, best effort: readers ignore them
 * anyway. Returns a note for the error message when they could not be deleted.
 */
async function discardRows(client: ClickHouseClient, table: 'kpi_targets' | 'kpi_inputs', importId: string): Promise<string> {
  try {
    await client.command({ query: `DELETE FROM ${table} WHERE import_id = {id: String}`, query_params: { id: importId } });
    return '';
  } catch (err) {
    return `; its stored rows (import ${importId} in ${table}) could not be deleted (${describeError(err)}), and are ignored because the import has no record`;
  }
}

import { parsePeriod, previousPeriod, type Grain } from '../../schemas/calendar/index.js';
import { TARGETED_KPI_IDS, isKpiId, kpiById, type Kpi, type KpiUnit } from '../../schemas/kpis/catalog.js';
import { COMPANY_UNIT, childLevels, compileKpiEvents, type Level } from '../../schemas/kpis/compile.js';
import { LATEST_BY, MEASURES, type Measure } from '../../schemas/kpis/measures.js';
import { queryRows, type ClickHouseClient } from '../shared/clickhouse.js';
import { moneySettings, type Config } from '../shared/config.js';
import { UsageError } from '../shared/errors.js';
import { readValues } from './read.js';

/**
 * Why a KPI value is what it is: the stored value of a revision with its numerator and
 * denominator, the same KPI for the unit's children, the previous period and the target,
 * and the rows of the warehouse it is made of, page by page, each with what it contributes
 * (the compiler's event mode, from the same measures as the close). Rows that reached the
 * warehouse after the period's first close began reading are late: restatements added them.
 */

/** Rows per page unless asked otherwise. */
export const DEFAULT_PAGE_SIZE = 50;
/** At most this many rows per page. */
export const MAX_PAGE_SIZE = 5_000;

export interface ExplainQuery {
  grain: Grain;
  period: string;
  kpi: string;
  level: Level;
  /** @default 'all' at company level; required at every other level */
  unit?: string;
  /** @default the current revision (0, provisional, before the first close) */
  revision?: number;
  /** 1-based. @default 1 */
  page?: number;
  /** @default DEFAULT_PAGE_SIZE */
  pageSize?: number;
  /** Page through the late rows only. */
  late?: boolean;
}

/** One row a value is made of: an event (a sale line), an order or ticket, a buyer, or the import of a target or input. */
export interface ExplainedRow {
  /** The compiler's source: sales, returns, ticket_events, orders, tickets, customers, members, targets, inputs. */
  source: string;
  /** Event type (sale.completed, refund.issued, …), or order, ticket, customer, member, target, input, `distinct sale_id`. */
  type: string;
  /** event_id; order, ticket, sale, customer or member id; import id. */
  id: string;
  /** Sale line number; 0 otherwise. */
  line: number;
  /** When it happened (for an order or ticket: the step measured), ISO UTC. */
  occurredAt: string | null;
  /** When it first reached the warehouse (the last of an entity's events), ISO UTC. */
  arrivedAt: string | null;
  late: boolean;
  /** What it adds to the numerator and the denominator (fen for money, ms for durations); null for a side the KPI has not. */
  numerator: number | null;
  denominator: number | null;
  /** For a percentile: the value (hours) the percentile is taken of; for a manual KPI, the imported value. */
  statistic: number | null;
}

export interface StoredValue {
  level: Level;
  unit: string;
  value: number | null;
  numerator: number | null;
  denominator: number | null;
}

export interface Explanation {
  kpi: string;
  en: string;
  zh: string;
  kpiUnit: KpiUnit;
  grain: Grain;
  period: string;
  level: Level;
  unit: string;
  revision: number;
  status: string;
  /** Whether the revision holds a value for the unit; when not, value, numerator and denominator are null. */
  stored: boolean;
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  /** What a missing value lacks: exchange rates as "HKD 2026-03-04". */
  missing: string[];
  /** How the value is formed from the rows, in words. */
  formula: string;
  children: StoredValue[];
  previous: { period: string; revision: number; value: number | null; numerator: number | null; denominator: number | null } | null;
  /** The imported target of the KPI (or of the KPI it attains), in that KPI's unit. */
  target: { kpi: string; value: number; importId: string; importedAt: string } | null;
  events: { page: number; pageSize: number; pages: number; rows: number; numerator: number | null; denominator: number | null; statistic: number | null; items: ExplainedRow[] };
  /** Null before the first close. */
  late: { since: string; closedAt: string | null; rows: number; numerator: number | null; denominator: number | null; items: ExplainedRow[] } | null;
}

/** ClickHouse DateTime64 text in UTC → ISO, or null. */
const iso = (text: string | null): string | null => (text === null || text.startsWith('1970-01-01') ? null : `${text.replace(' ', 'T')}Z`);

function describeFormula(kpi: Kpi, reportingCurrency: string): string {
  if (kpi.kind === 'manual') return 'imported: the value of the import in force, with the numerator and denominator it gave';
  const f = kpi.formula;
  const units = kpi.unit === 'money' ? ` (hundredths → ${reportingCurrency})` : kpi.unit === 'hours' ? ' (ms → h)' : '';
  const factor = f.scale === undefined || f.scale === 1 ? '' : `${f.scale < 1 ? ` ÷ ${Math.round(1 / f.scale)}` : ` × ${f.scale}`}${units}`;
  const terms = [...f.numerator, ...(f.denominator ?? [])].map((t) => (MEASURES as Record<string, Measure>)[t.replace(/^-/, '')]);
  const distinct = [...new Set(terms.flatMap((m) => (m?.row.agg === 'distinct' ? [String(m.row.of)] : [])))];
  const distinctOnce = distinct.length > 0 ? `; each distinct ${distinct.join(', ')} counts once` : '';
  const money = terms.some((m) => m?.money)
    ? `; money in ${reportingCurrency}: each row's exact amount at its business day's rate, each total rounded once to 0.01, half away from zero (a row's contribution is before that rounding)`
    : '';
  const once = `${distinctOnce}${money}`;
  if (f.statistic) return `value = the 90th percentile of the rows' statistic (quantileExact: the ⌊0.9·n⌋-th of the n sorted values, from 0); denominator = n${once}`;
  if (!f.denominator) return `value = Σ numerator${factor}${once}`;
  return `value = Σ numerator ÷ Σ denominator${factor}, empty when the denominator is 0${once}`;
}

/** The KPI whose imported target belongs with this one: itself, or the one its attainment divides by. */
function targetKpiOf(kpi: Kpi): string | undefined {
  if ((TARGETED_KPI_IDS as readonly string[]).includes(kpi.id)) return kpi.id;
  if (kpi.kind === 'manual') return undefined;
  const terms = [...kpi.formula.numerator, ...(kpi.formula.denominator ?? [])];
  return terms.map((t) => (MEASURES as Record<string, Measure>)[t.replace(/^-/, '')]?.targetOf).find((k) => k !== undefined);
}

interface PageRow {
  source: string;
  type: string;
  id: string;
  line: number;
  occurred_at: string | null;
  arrived_at: string | null;
  late: number;
  numerator: number | null;
  denominator: number | null;
  statistic: number | null;
}

interface Totals {
  rows: string;
  numerator: number | null;
  denominator: number | null;
  statistic: number | null;
  late_rows: string;
  late_numerator: number | null;
  late_denominator: number | null;
}

const explained = (r: PageRow): ExplainedRow => ({
  source: r.source,
  type: r.type,
  id: r.id,
  line: r.line,
  occurredAt: iso(r.occurred_at),
  arrivedAt: iso(r.arrived_at),
  late: Number(r.late) === 1,
  numerator: r.numerator,
  denominator: r.denominator,
  statistic: r.statistic,
});

/** When the period's first close began reading the warehouse (by the clock of ingested_at), and when it was recorded closed. */
async function firstClose(client: ClickHouseClient, grain: Grain, period: string): Promise<{ readAt: string; closedAt: string | null } | null> {
  const [revision] = await queryRows<{ read_at: string }>(
    client,
    "SELECT toString(read_at) AS read_at FROM period_revisions FINAL WHERE grain = {grain: String} AND period = {period: String} AND revision = 1 AND state != 'computing'",
    { grain, period },
  );
  if (!revision) return null;
  const [audit] = await queryRows<{ at: string; n: string }>(
    client,
    "SELECT toString(min(at)) AS at, toString(count()) AS n FROM period_audit FINAL WHERE grain = {grain: String} AND period = {period: String} AND revision = 1 AND action IN ('close', 'close_forced')",
    { grain, period },
  );
  return { readAt: `${revision.read_at.replace(' ', 'T')}Z`, closedAt: audit && Number(audit.n) > 0 ? iso(audit.at) : null };
}

async function importedTarget(client: ClickHouseClient, key: { grain: Grain; period: string; kpi: string; level: Level; unit: string }): Promise<Explanation['target']> {
  // In force as the close reads it: the latest import whose record was committed.
  // Aliases unlike the columns: an alias would stand for its column in WHERE.
  const [row] = await queryRows<{ target: number; target_import: string; target_at: string; n: string }>(
    client,
    `SELECT argMax(value, ${LATEST_BY}) AS target, argMax(import_id, ${LATEST_BY}) AS target_import, toString(max(imported_at)) AS target_at, toString(count()) AS n FROM kpi_targets ` +
      'WHERE grain = {grain: String} AND period = {period: String} AND kpi = {kpi: String} AND level = {level: String} AND unit = {unit: String} AND import_id IN (SELECT import_id FROM imports)',
    key,
  );
  if (!row || Number(row.n) === 0) return null;
  return { kpi: key.kpi, value: row.target, importId: row.target_import, importedAt: `${row.target_at.replace(' ', 'T')}Z` };
}

/** Explains one KPI value of one unit; throws UsageError for a KPI, level, unit or page that cannot be. */
export async function explainValue(client: ClickHouseClient, calendar: Config['business'], query: ExplainQuery): Promise<Explanation> {
  const id = query.kpi;
  if (!isKpiId(id)) throw new UsageError(`unknown KPI ${JSON.stringify(id)}; kpi kpis lists them`);
  const kpi = kpiById(id);
  const { grain, level } = query;
  const unit = query.unit ?? (level === 'company' ? COMPANY_UNIT : undefined);
  if (unit === undefined || unit === '') throw new UsageError(`a ${level} is named by its unit: give unit (e.g. ${level === 'store' ? 'S001' : level === 'region' ? 'R01' : 'the id kpi values lists'})`);
  if (level === 'company' && unit !== COMPANY_UNIT) throw new UsageError(`the company's unit is ${COMPANY_UNIT}, not ${JSON.stringify(unit)}`);
  const page = query.page ?? 1;
  const pageSize = query.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(page) || page < 1) throw new UsageError(`page must be a whole number from 1, got ${page}`);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw new UsageError(`page size must be a whole number from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
  const period = parsePeriod(grain, query.period, calendar);
  const previous = previousPeriod(period, calendar);

  const values = await readValues(client, { grain, period: period.id, kpi: kpi.id, ...(query.revision !== undefined ? { revision: query.revision } : {}) });
  const own = values.values.find((v) => v.level === level && v.unit === unit);
  const children = childLevels(level);
  const before = await readValues(client, { grain, period: previous.id, kpi: kpi.id, level });
  const was = before.values.find((v) => v.unit === unit);
  const targetKpi = targetKpiOf(kpi);
  const close = await firstClose(client, grain, period.id);

  const compiled = (lateOnly: boolean, p: number) =>
    compileKpiEvents({ kpi: id, period, previous, level, unit, page: { number: p, size: pageSize }, money: moneySettings(calendar), ...(close ? { lateAfter: close.readAt } : {}), lateOnly });
  const listed = compiled(query.late === true, page);
  const [totals] = await queryRows<Totals>(client, listed.totals, listed.params);
  const items = (await queryRows<PageRow>(client, listed.page, listed.params)).map(explained);
  const lateRows = Number(totals?.late_rows ?? 0);
  let lateItems: ExplainedRow[] = [];
  if (query.late === true && page === 1) lateItems = items;
  else if (lateRows > 0) {
    const first = compiled(true, 1);
    lateItems = (await queryRows<PageRow>(client, first.page, first.params)).map(explained);
  }
  const rows = query.late === true ? lateRows : Number(totals?.rows ?? 0);
  const pick = (v: StoredValue): StoredValue => ({ level: v.level, unit: v.unit, value: v.value, numerator: v.numerator, denominator: v.denominator });
  return {
    kpi: kpi.id,
    en: kpi.en,
    zh: kpi.zh,
    kpiUnit: kpi.unit,
    grain,
    period: period.id,
    level,
    unit,
    revision: values.revision,
    status: values.status,
    stored: own !== undefined,
    value: own?.value ?? null,
    numerator: own?.numerator ?? null,
    denominator: own?.denominator ?? null,
    missing: own?.missing ?? [],
    formula: describeFormula(kpi, calendar.reportingCurrency),
    children: values.values.filter((v) => children.includes(v.level) && v.parent === unit).map(pick),
    previous: was ? { period: previous.id, revision: before.revision, value: was.value, numerator: was.numerator, denominator: was.denominator } : null,
    target: targetKpi ? await importedTarget(client, { grain, period: period.id, kpi: targetKpi, level, unit }) : null,
    events: {
      page,
      pageSize,
      pages: Math.max(1, Math.ceil(rows / pageSize)),
      rows,
      numerator: query.late === true ? (totals?.late_numerator ?? null) : (totals?.numerator ?? null),
      denominator: query.late === true ? (totals?.late_denominator ?? null) : (totals?.denominator ?? null),
      statistic: query.late === true ? null : (totals?.statistic ?? null),
      items,
    },
    late: close ? { since: close.readAt, closedAt: close.closedAt, rows: lateRows, numerator: totals?.late_numerator ?? null, denominator: totals?.late_denominator ?? null, items: lateItems } : null,
  };
}

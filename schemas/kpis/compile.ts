import type { Period } from '../calendar/index.js';
import { kpiById, type EventFormula, type Kpi, type KpiId, type Term } from './catalog.js';
import { MEASURES, inPeriod, type Measure, type SourceId } from './measures.js';

/**
 * The KPI compiler: (KPIs, period, levels) → one ClickHouse SELECT whose rows are
 * (level, unit, parent, kpi, numerator, denominator, value), one per KPI per unit that one
 * of the KPI's sources has something of in the period (a sale, an order, a ticket, a
 * target, an input…). Pure.
 *
 * Every source table is scanned once for all the KPIs and levels asked for: each row is
 * fanned out to its units (ARRAY JOIN over the levels), aggregated per unit, the sources'
 * results are merged per unit, and the KPIs are formed from the merged measures. Values
 * reach the SQL only as bound parameters (`params`); every identifier and literal in the
 * text comes from the catalog.
 */

export const LEVELS = ['company', 'region', 'store', 'department', 'channel'] as const;
export type Level = (typeof LEVELS)[number];

/** The company-level unit id. */
export const COMPANY_UNIT = 'all';

/** A unit of each level, and the unit it is ranked within (stores within their region). */
const LEVEL_KEYS: Record<Level, { unit: string; parent: string }> = {
  company: { unit: `'${COMPANY_UNIT}'`, parent: "''" },
  region: { unit: 'region', parent: `'${COMPANY_UNIT}'` },
  store: { unit: 'store', parent: 'region' },
  department: { unit: 'department', parent: `'${COMPANY_UNIT}'` },
  channel: { unit: 'channel', parent: `'${COMPANY_UNIT}'` },
};

export interface KpiRequest {
  kpis: readonly KpiId[];
  /** The period to compute. */
  period: Period;
  /** The period before it (start used by member churn and customer growth). */
  previous: Pick<Period, 'start'>;
  levels: readonly Level[];
}

export interface CompiledQuery {
  sql: string;
  /** Bound as ClickHouse query parameters. */
  params: Record<string, string | string[]>;
  /** The output columns, in order. */
  columns: readonly ['level', 'unit', 'parent', 'kpi', 'numerator', 'denominator', 'value'];
}

const OUTPUT_COLUMNS = ['level', 'unit', 'parent', 'kpi', 'numerator', 'denominator', 'value'] as const;

/** ISO instant → the text ClickHouse parses for DateTime64(3, 'UTC'). */
export function chInstant(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new RangeError(`not an instant: ${iso}`);
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

const NULL_F64 = "CAST(NULL, 'Nullable(Float64)')";
const f64 = (sql: string): string => `CAST(${sql}, 'Nullable(Float64)')`;

/** Measures of one source: catalog measures, or for `inputs` the imported parts of each manual KPI. */
interface Column {
  id: string;
  merge: Measure['merge'];
  sql: string;
}

function inputColumns(kpi: Kpi): Column[] {
  // The latest import of the KPI for the unit (ties broken by import id), or NULL without one.
  const pick = (i: number): string =>
    `if(countIf(kpi = '${kpi.id}') = 0, NULL, tupleElement(argMaxIf(tuple(value, numerator, denominator), (imported_at, import_id), kpi = '${kpi.id}'), ${i}))`;
  return [
    { id: `input_${kpi.id}_num`, merge: 'stat', sql: pick(2) },
    { id: `input_${kpi.id}_den`, merge: 'stat', sql: pick(3) },
    { id: `input_${kpi.id}_value`, merge: 'stat', sql: pick(1) },
  ];
}

function fanOut(levels: readonly Level[]): string {
  return `[${levels.map((l) => `('${l}', toString(${LEVEL_KEYS[l].unit}), toString(${LEVEL_KEYS[l].parent}))`).join(', ')}] AS lu`;
}

const inPreviousPeriod = (col: string): string => `(${col} >= {p_prev_start: DateTime64(3, 'UTC')} AND ${col} < {p_start: DateTime64(3, 'UTC')})`;

/**
 * Sources whose measures are all counts, sums or distinct counts of sales, computed per
 * organisation tuple (region, store, department, channel) and then added up per unit. Exact
 * because every event carries exactly one tuple, so a sale or a row is in exactly one of
 * them; and fast, because the fan-out to levels then works on a few thousand tuples instead
 * of every row.
 */
const BY_TUPLE: Partial<Record<SourceId, string>> = { sales: 'sale_lines', returns: 'return_events', ticket_events: 'ticket_events' };
const TUPLE = 'region, store, department, channel';

/**
 * The query of one source: a row per unit with `level`, `unit`, `parent`, then every
 * column of the statement in the same order in every source (UNION ALL matches columns by
 * position): the source's own measures, the other sources' as NULL, then `flags`.
 */
function sourceQuery(source: SourceId, levels: readonly Level[], columns: readonly Column[], flags: readonly string[]): string {
  const units = 'lu.1 AS level, lu.2 AS unit, lu.3 AS parent';
  const byUnit = 'GROUP BY level, unit, parent';
  const mine = (c: Column): boolean => sourceOf(c) === source;
  const own = columns.filter(mine);
  const listed = (expr: (c: Column) => string): string => [...columns.map((c) => (mine(c) ? `${f64(expr(c))} AS ${c.id}` : `${NULL_F64} AS ${c.id}`)), ...flags].join(', ');
  const select = listed((c) => c.sql);
  const org = 'max(region) AS region, max(store) AS store, max(department) AS department, max(channel) AS channel';
  const table = BY_TUPLE[source];
  if (table) {
    const inner = own.map((c) => `${c.sql} AS ${c.id}__t`).join(', ');
    const outer = listed((c) => `sum(${c.id}__t)`);
    return `SELECT ${units}, ${outer} FROM (SELECT ${TUPLE}, ${inner} FROM ${table} FINAL WHERE ${inPeriod('occurred_at')} GROUP BY ${TUPLE}) ARRAY JOIN ${fanOut(levels)} ${byUnit}`;
  }
  // Buyers: distinct sales per buyer and tuple, added up per unit (a sale has one tuple);
  // duplicates change neither a distinct count nor a first purchase, so no FINAL is needed.
  const buyers = (key: 'customer_id' | 'member_id', extra: string, from: string): string =>
    `SELECT level, unit, parent, ${select} FROM (` +
    `SELECT ${units}, ${key}, sum(cur) AS current_sales, sum(prev) AS previous_sales${extra ? ', min(first) AS first_purchase_at' : ''} FROM (` +
    `SELECT ${key}, ${TUPLE}, uniqExactIf(sale_id, ${inPeriod('occurred_at')}) AS cur, uniqExactIf(sale_id, ${inPreviousPeriod('occurred_at')}) AS prev${extra} ` +
    `FROM sale_lines WHERE ${key} IS NOT NULL AND ${from} occurred_at < {p_end: DateTime64(3, 'UTC')} GROUP BY ${key}, ${TUPLE}` +
    `) ARRAY JOIN ${fanOut(levels)} GROUP BY level, unit, parent, ${key}) ${byUnit}`;
  switch (source) {
    case 'sales':
    case 'returns':
    case 'ticket_events':
      throw new Error(`source ${source} is aggregated by tuple`);
    case 'orders':
      return (
        `SELECT ${units}, ${select} FROM (SELECT order_id, ${org}, ` +
        "minIfOrNull(occurred_at, type = 'order.placed') AS placed_at, maxOrNull(promised_delivery_at) AS promised_delivery_at, " +
        "minIfOrNull(occurred_at, type = 'order.shipped') AS shipped_at, minIfOrNull(occurred_at, type = 'order.delivered') AS delivered_at, " +
        "minIfOrNull(occurred_at, type = 'order.cancelled') AS cancelled_at " +
        `FROM order_events WHERE order_id IN (SELECT order_id FROM order_events WHERE ${inPeriod('occurred_at')}) GROUP BY order_id) ` +
        `ARRAY JOIN ${fanOut(levels)} ${byUnit}`
      );
    case 'tickets':
      return (
        `SELECT ${units}, ${select} FROM (SELECT ticket_id, ${org}, ` +
        "minIfOrNull(occurred_at, type = 'ticket.opened') AS opened_at, maxIfOrNull(priority, type = 'ticket.opened') AS priority, " +
        "minIfOrNull(occurred_at, type = 'ticket.first_response') AS first_response_at, maxIfOrNull(occurred_at, type = 'ticket.resolved') AS resolved_at " +
        `FROM ticket_events WHERE ticket_id IN (SELECT ticket_id FROM ticket_events WHERE ${inPeriod('occurred_at')}) GROUP BY ticket_id) ` +
        `ARRAY JOIN ${fanOut(levels)} ${byUnit}`
      );
    case 'customers':
      return buyers('customer_id', ', min(occurred_at) AS first', '');
    case 'members':
      return buyers('member_id', '', "occurred_at >= {p_prev_start: DateTime64(3, 'UTC')} AND");
    case 'targets':
    case 'inputs':
      // An import is in force only once its record is in `imports` (the commit point of
      // storeImport): rows whose record was never written are not read.
      return (
        `SELECT level, unit, '' AS parent, ${select} FROM ${source === 'targets' ? 'kpi_targets' : 'kpi_inputs'} ` +
        `WHERE grain = {p_grain: String} AND period = {p_period: String} AND level IN {p_levels: Array(String)} ` +
        `AND import_id IN (SELECT import_id FROM imports) ${byUnit}`
      );
  }
}

const termColumn = (t: Term): { id: string; sign: '+' | '-' } => (t.startsWith('-') ? { id: t.slice(1), sign: '-' } : { id: t, sign: '+' });

function sumOfTerms(terms: readonly Term[]): string {
  if (terms.length === 0) return NULL_F64;
  return terms.map((t, i) => {
    const { id, sign } = termColumn(t);
    return `${i === 0 && sign === '+' ? '' : ` ${sign} `}ifNull(${id}, 0)`;
  }).join('').trim();
}

/** (numerator, denominator, value) expressions over the merged measure columns. */
function kpiExpressions(kpi: Kpi): [string, string, string] {
  if (kpi.kind === 'manual') {
    const num = `input_${kpi.id}_num`;
    const den = `input_${kpi.id}_den`;
    return [num, den, `input_${kpi.id}_value`];
  }
  const f: EventFormula = kpi.formula;
  const scale = f.scale ?? 1;
  const scaled = (x: string): string => (scale === 1 ? x : `${x} * ${scale}`);
  const num = sumOfTerms(f.numerator);
  if (f.statistic) return [NULL_F64, sumOfTerms(f.denominator ?? []), f.statistic];
  if (!f.denominator) return [num, NULL_F64, scaled(`(${num})`)];
  const den = sumOfTerms(f.denominator);
  return [num, den, `if((${den}) = 0, NULL, ${scaled(`(${num}) / (${den})`)})`];
}

function columnsOf(kpi: Kpi): Column[] {
  if (kpi.kind === 'manual') return inputColumns(kpi);
  const f = kpi.formula;
  const ids = [...f.numerator, ...(f.denominator ?? [])].map((t) => termColumn(t).id);
  if (f.statistic) ids.push(f.statistic);
  return ids.map((id) => {
    const m = (MEASURES as Record<string, Measure>)[id];
    if (!m) throw new RangeError(`KPI ${kpi.id} uses unknown measure ${id}`);
    return { id, merge: m.merge, sql: m.sql };
  });
}

function sourceOf(column: Column): SourceId {
  if (column.id.startsWith('input_')) return 'inputs';
  const m = (MEASURES as Record<string, Measure>)[column.id];
  if (!m) throw new RangeError(`unknown measure ${column.id}`);
  return m.source;
}

/** Compiles the KPIs asked for, for every unit of the levels asked for, in one statement. */
export function compileKpis(request: KpiRequest): CompiledQuery {
  const { period, previous } = request;
  const levels = [...new Set(request.levels)];
  const kpis = [...new Set(request.kpis)].map(kpiById);
  if (kpis.length === 0) throw new RangeError('no KPI to compile');
  if (levels.length === 0) throw new RangeError('no level to compile');
  for (const l of levels) if (!LEVELS.includes(l)) throw new RangeError(`unknown level "${String(l)}"; known: ${LEVELS.join(', ')}`);

  const columns = new Map<string, Column>();
  for (const kpi of kpis) for (const c of columnsOf(kpi)) columns.set(c.id, c);
  const all = [...columns.values()];
  const sources = [...new Set(all.map(sourceOf))];

  // Each branch also says which source saw the unit: a unit gets a row for a KPI only when
  // one of the KPI's own sources has something of it in the period.
  const present = (source: SourceId): string => `present_${source}`;
  // A source sees a unit when it has a row of it; customers only when someone bought there
  // in this period or the one before (not merely at some time in the past).
  const sees = (source: SourceId): string => (source === 'customers' ? 'toUInt8(countIf(current_sales > 0 OR previous_sales > 0) > 0)' : 'toUInt8(1)');
  const branches = sources.map((source) => sourceQuery(source, levels, all, sources.map((s) => `${s === source ? sees(s) : 'toUInt8(0)'} AS ${present(s)}`)));
  const merged = [...all.map((c) => `${c.merge === 'sum' ? 'sum' : 'max'}(${c.id}) AS ${c.id}`), ...sources.map((s) => `max(${present(s)}) AS ${present(s)}`)].join(', ');
  const tuples = kpis.map((kpi) => {
    const [num, den, value] = kpiExpressions(kpi);
    // A manual KPI has a row only where it was imported.
    const seen = kpi.kind === 'manual' ? `isNotNull(input_${kpi.id}_value)` : [...new Set(columnsOf(kpi).map(sourceOf))].map(present).join(' OR ');
    return `tuple('${kpi.id}', ${f64(num)}, ${f64(den)}, ${f64(value)}, toUInt8(${seen}))`;
  });
  const sql =
    `SELECT level, unit, parent, k.1 AS kpi, k.2 AS numerator, k.3 AS denominator, k.4 AS value FROM (` +
    `SELECT level, unit, max(parent) AS parent, ${merged} FROM (${branches.join(' UNION ALL ')}) GROUP BY level, unit` +
    `) ARRAY JOIN [${tuples.join(', ')}] AS k WHERE k.5 = 1 ORDER BY level, unit, kpi`;
  return {
    sql,
    params: {
      p_start: chInstant(period.start),
      p_end: chInstant(period.end),
      p_prev_start: chInstant(previous.start),
      p_grain: period.grain,
      p_period: period.id,
      p_levels: levels,
    },
    columns: OUTPUT_COLUMNS,
  };
}

/** One KPI for one level: the same compiler, asked for less. */
export function compileKpi(kpi: KpiId, period: Period, previous: Pick<Period, 'start'>, level: Level): CompiledQuery {
  return compileKpis({ kpis: [kpi], period, previous, levels: [level] });
}

/**
 * Splits KPIs into groups that share no source table, so each table is scanned by one
 * query of a close and the groups can run side by side. Deterministic order.
 */
export function kpiGroups(kpis: readonly KpiId[]): KpiId[][] {
  const groups: { sources: Set<SourceId>; kpis: KpiId[] }[] = [];
  for (const id of kpis) {
    const sources = new Set(columnsOf(kpiById(id)).map(sourceOf));
    const touching = groups.filter((g) => [...sources].some((s) => g.sources.has(s)));
    const merged = { sources: new Set([...sources, ...touching.flatMap((g) => [...g.sources])]), kpis: [...touching.flatMap((g) => g.kpis), id] };
    for (const g of touching) groups.splice(groups.indexOf(g), 1);
    groups.push(merged);
  }
  return groups.map((g) => g.kpis);
}

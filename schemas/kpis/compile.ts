import type { Period } from '../calendar/index.js';
import { kpiById, type EventFormula, type Kpi, type KpiId, type Term } from './catalog.js';
import { LATEST_BY, MEASURES, MONEY_CURRENCY, aggregateSql, inPeriod, type Measure, type MeasureId, type SourceId } from './measures.js';
import { isPartialSource, moneyKeys, partialRows, tupleMergeSql, unitMergeSql, type PartialSource } from './partials.js';
import { BUYERS, BY_TUPLE, ORDERS, TICKETS, TUPLE, type BuyerSource } from './sources.js';

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
 *
 * `compileKpiEvents` is the same compiler in event mode: for one KPI, period and unit, the
 * rows those aggregates are taken over, each with what it contributes.
 *
 * Money is exact end to end: amounts in micros of their currency, multiplied by the rate of
 * their business day (a rate carries ten decimals, so the product is an exact Int128 in
 * 10^-16 of the reporting currency), added, and each unit's total rounded once to hundredths
 * of the reporting currency, half away from zero. A unit's total that needs a rate nobody
 * imported is NULL, and the value names what it lacks (`missing`: "HKD 2026-03-04").
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

/** How money is reported: the currency, and the time zone whose calendar day picks an event's exchange rate. */
export interface MoneySettings {
  reportingCurrency: string;
  timeZone: string;
}

export interface KpiRequest {
  kpis: readonly KpiId[];
  /** The period to compute. */
  period: Period;
  /** The period before it (start used by member churn and customer growth). */
  previous: Pick<Period, 'start'>;
  levels: readonly Level[];
  money: MoneySettings;
  /**
   * Read the events themselves, or the day partials (kpi_day_partials) of the period's days,
   * which must be fresh (services/periods/day-partials.ts). The two give the same values.
   * @default 'events'
   */
  from?: 'events' | 'partials';
}

export interface CompiledQuery {
  sql: string;
  /** Bound as ClickHouse query parameters. */
  params: Record<string, string | string[]>;
  /** The output columns, in order. */
  columns: readonly ['level', 'unit', 'parent', 'kpi', 'numerator', 'denominator', 'value', 'missing', 'as_of'];
}

const OUTPUT_COLUMNS = ['level', 'unit', 'parent', 'kpi', 'numerator', 'denominator', 'value', 'missing', 'as_of'] as const;

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
  /** For a money measure: its row (what it sums, and when). */
  money?: Measure['row'];
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

/** Business days (Date, in the business time zone) of the period and of the window with the period before. */
const PERIOD_FIRST_DAY = "toDate({p_start: DateTime64(3, 'UTC')}, {p_time_zone: String})";
const PERIOD_END_DAY = "toDate({p_end: DateTime64(3, 'UTC')}, {p_time_zone: String})";
const WINDOW_FIRST_DAY = "toDate({p_prev_start: DateTime64(3, 'UTC')}, {p_time_zone: String})";

const inPreviousPeriod = (col: string): string => `(${col} >= {p_prev_start: DateTime64(3, 'UTC')} AND ${col} < {p_start: DateTime64(3, 'UTC')})`;

/** A time a row does not have: min() and max() pass over it. */
const EPOCH = "toDateTime64(0, 3, 'UTC')";
const NO_TIME = "CAST(NULL, 'Nullable(DateTime64(3, \\'UTC\\'))')";
/** A first purchase a row does not say. */
const NO_FIRST = NO_TIME;

/** A buyer's sale lines of this period and the one before: all a buyer KPI reads of sale_lines. */
const buyerWindow = (key: string): string =>
  `${key} IS NOT NULL AND occurred_at >= {p_prev_start: DateTime64(3, 'UTC')} AND occurred_at < {p_end: DateTime64(3, 'UTC')}`;

/**
 * Distinct sales per buyer and organisation tuple, this period and the one before (with the
 * last sale's time when `last`); for customers also `first`, the first purchase ever at the
 * tuple, from customer_first_purchases (kept at ingest, migration 0012), so no close scans
 * the history. A unit's first purchase is the minimum over its tuples; at a unit where the
 * customer bought in the window that minimum lies before the period's end, so the minimum
 * over all time equals the minimum before it, and a unit where they did not is not counted.
 * Duplicates change neither a distinct count nor a minimum, so no FINAL is needed.
 */
function buyerSales(source: BuyerSource, options: { last?: boolean; from?: 'events' | 'partials' } = {}): string {
  const { key } = BUYERS[source];
  const window = buyerWindow(key);
  const last = options.last ? ', max(occurred_at) AS last' : '';
  const first = source === 'customers' ? `, ${NO_FIRST} AS first` : '';
  const partials = options.from === 'partials';
  if (partials && options.last) throw new RangeError('day partials keep no sale times; list rows from the events');
  // From day partials: a buyer's distinct sales of each day of the window, merged. From the
  // events: filtered before the key is made non-Nullable (an alias would shadow the column in WHERE).
  const sales = partials
    ? `SELECT buyer AS ${key}, ${TUPLE}, uniqExactArrayIf(id_sets['sales'], day >= ${PERIOD_FIRST_DAY}) AS cur, uniqExactArrayIf(id_sets['sales'], day < ${PERIOD_FIRST_DAY}) AS prev, max(newest) AS newest${first} ` +
      `FROM (${partialRows(source, WINDOW_FIRST_DAY, PERIOD_END_DAY)}) GROUP BY ${key}, ${TUPLE}`
    : `SELECT assumeNotNull(${key}) AS ${key}, ${TUPLE}, uniqExactIf(sale_id, ${inPeriod('occurred_at')}) AS cur, uniqExactIf(sale_id, ${inPreviousPeriod('occurred_at')}) AS prev, max(occurred_at) AS newest${last}${first} ` +
      `FROM (SELECT ${key}, ${TUPLE}, sale_id, occurred_at FROM sale_lines WHERE ${window}) GROUP BY ${key}, ${TUPLE}`;
  if (source === 'members') return sales;
  // The first purchase at every tuple the window's customers ever bought at (a unit's first
  // purchase is the earliest over all of its tuples, those without a sale in the window too),
  // merged with the window's rows per customer and tuple.
  const windowCustomers = partials ? `SELECT buyer FROM (${partialRows('customers', WINDOW_FIRST_DAY, PERIOD_END_DAY)})` : `SELECT assumeNotNull(customer_id) FROM sale_lines WHERE ${window}`;
  const firsts =
    `SELECT customer_id, ${TUPLE}, toUInt64(0) AS cur, toUInt64(0) AS prev, ${NO_TIME} AS newest${options.last ? ", CAST(NULL, 'Nullable(DateTime64(3, \\'UTC\\'))') AS last" : ''}, ` +
    `CAST(min(first_purchase_at), 'Nullable(DateTime64(3, \\'UTC\\'))') AS first FROM customer_first_purchases ` +
    `WHERE customer_id IN (${windowCustomers}) GROUP BY customer_id, ${TUPLE}`;
  return `SELECT customer_id, ${TUPLE}, sum(cur) AS cur, sum(prev) AS prev, max(newest) AS newest${options.last ? ', max(last) AS last' : ''}, min(first) AS first FROM (${sales} UNION ALL ${firsts}) GROUP BY customer_id, ${TUPLE}`;
}

/** Targets or inputs of the period; `where` picks levels and units. An import is in force only once its record is in `imports` (the commit point of storeImport). */
const imported = (table: 'kpi_targets' | 'kpi_inputs', where: string): string =>
  `FROM ${table} WHERE grain = {p_grain: String} AND period = {p_period: String} AND ${where} AND import_id IN (SELECT import_id FROM imports)`;

// ── Money: conversion at the business day's rate, and one rounding per unit ──

/** 1 in the units rates are kept in (ten decimals). */
const RATE_ONE = "toInt128('10000000000')";
/** Hundredths of the reporting currency in 10^-16 units (micros × rate). */
const HUNDREDTH = "toInt128('100000000000000')";
const HALF_HUNDREDTH = "toInt128('50000000000000')";
const NO_MISSING = "CAST([], 'Array(String)')";

/** A total in 10^-16 of the reporting currency → hundredths, a half rounded away from zero. */
const roundToHundredths = (total: string): string => `intDiv(${total} + if(${total} >= 0, ${HALF_HUNDREDTH}, -${HALF_HUNDREDTH}), ${HUNDREDTH})`;

/** The business day whose rate converts a row: none needed (1970-01-01) for the reporting currency. */
const rateDay = (currency: string): string => `if(${currency} = {p_reporting: String}, toDate(0), toDate(occurred_at, {p_time_zone: String}))`;

/**
 * Rates in force into the reporting currency for the period's business days (and the day
 * either side, which a period's edge may touch): the latest import listed in `imports`.
 */
const RATES =
  "SELECT currency AS fx_currency, day AS fx_day, toInt128(argMax(rate, (imported_at, import_id)) * 10000000000) AS fx_rate_in_force, toUInt8(1) AS fx_found FROM fx_rates " +
  "WHERE to_currency = {p_reporting: String} AND day >= toDate({p_start: DateTime64(3, 'UTC')}, {p_time_zone: String}) - 1 AND day <= toDate({p_end: DateTime64(3, 'UTC')}, {p_time_zone: String}) " +
  'AND import_id IN (SELECT import_id FROM imports) GROUP BY currency, day';

/** The rate of a row joined with RATES: 1 for the reporting currency, NULL when none was imported. */
const RATE = `multiIf(fx_currency = {p_reporting: String}, toNullable(${RATE_ONE}), fx_found = 1, toNullable(fx_rate_in_force), NULL)`;

/** A money column's sum in the event currency (`__t`), the rows it counts (`__n`), and after conversion its value (`__v`) and what it lacks (`__x`). */
function moneyInner(c: Column): string {
  const when = c.money?.when;
  return `${c.sql} AS ${c.id}__t, ${when ? `countIf(${when})` : 'count()'} AS ${c.id}__n`;
}
function moneyConverted(c: Column): string {
  // Int256: a large total at a large rate passes Int128 (which would wrap without a word).
  return `if(isNull(${RATE}), NULL, toInt256(${c.id}__t) * ${RATE}) AS ${c.id}__v, if(isNull(${RATE}) AND ${c.id}__n > 0, [concat(fx_currency, ' ', toString(fx_day))], ${NO_MISSING}) AS ${c.id}__x`;
}
const missingColumn = (id: string): string => `missing_${id}`;

/** Buyers: distinct sales per buyer and tuple, added up per unit (a sale has one tuple), then the buyer measures per unit. */
function buyersQuery(source: BuyerSource, levels: readonly Level[], select: string, from: 'events' | 'partials'): string {
  const { key } = BUYERS[source];
  return (
    `SELECT level, unit, parent, ${select} FROM (` +
    `SELECT lu.1 AS level, lu.2 AS unit, lu.3 AS parent, ${key}, sum(cur) AS current_sales, sum(prev) AS previous_sales, max(newest) AS newest${source === 'customers' ? ', min(first) AS first_purchase_at' : ''} FROM (` +
    buyerSales(source, { from }) +
    `) ARRAY JOIN ${fanOut(levels)} GROUP BY level, unit, parent, ${key}) GROUP BY level, unit, parent`
  );
}

/**
 * A source's query from day partials instead of events: the newest version of each of the
 * period's days (and, for buyers, the period before's), merged per unit. Money is converted
 * per day, tuple and currency at the day's rate and rounded once per unit, as from events.
 */
function partialSourceQuery(source: PartialSource, levels: readonly Level[], columns: readonly Column[], flags: readonly string[]): string {
  const mine = (c: Column): boolean => sourceOf(c) === source;
  const listed = (expr: (c: Column) => string, lacks: (c: Column) => string = () => NO_MISSING): string =>
    [
      ...columns.map((c) => (mine(c) ? `${f64(expr(c))} AS ${c.id}` : `${NULL_F64} AS ${c.id}`)),
      ...columns.filter((c) => c.money).map((c) => `${mine(c) ? lacks(c) : NO_MISSING} AS ${missingColumn(c.id)}`),
      ...flags,
    ].join(', ');
  if (source === 'customers' || source === 'members') return buyersQuery(source, levels, listed((c) => c.sql), 'partials');
  const units = 'lu.1 AS level, lu.2 AS unit, lu.3 AS parent';
  const rows = partialRows(source, PERIOD_FIRST_DAY, PERIOD_END_DAY);
  const currency = MONEY_CURRENCY[source];
  const own = columns.filter(mine);
  const plain = own.filter((c) => !c.money).map((c) => `${tupleMergeSql(c.id, measureOf(c.id))} AS ${c.id}__t`);
  // Merged per tuple over the days first, then fanned out to units: a few thousand rows.
  if (!currency || !own.some((c) => c.money)) {
    const byTuple = `SELECT ${TUPLE}, ${[...plain, 'max(newest) AS newest'].join(', ')} FROM (${rows}) GROUP BY ${TUPLE}`;
    return `SELECT ${units}, ${listed((c) => unitMergeSql(c.id, measureOf(c.id)))} FROM (${byTuple}) ARRAY JOIN ${fanOut(levels)} GROUP BY level, unit, parent`;
  }
  // Each row is one day, tuple and currency: converted at the day's rate.
  const converted = own
    .filter((c) => c.money)
    .map((c) => {
      const { total, rows: counted } = moneyKeys(c.id);
      return (
        `if(isNull(${RATE}), NULL, toInt256(sums['${total}']) * ${RATE}) AS ${c.id}__v, ` +
        `if(isNull(${RATE}) AND sums['${counted}'] > 0, [concat(fx_currency, ' ', toString(fx_day))], ${NO_MISSING}) AS ${c.id}__x`
      );
    });
  const dated = `SELECT *, ${currency} AS fx_currency, if(fx_currency = {p_reporting: String}, toDate(0), day) AS fx_day FROM (${rows})`;
  const joined = `SELECT ${TUPLE}, sums, id_sets, samples, newest, ${converted.join(', ')} FROM (${dated}) AS g LEFT JOIN (${RATES}) AS fx USING (fx_currency, fx_day)`;
  const moneyByTuple = own.filter((c) => c.money).map((c) => `sum(${c.id}__v) AS ${c.id}__v, groupUniqArrayArray(${c.id}__x) AS ${c.id}__x`);
  const byTuple = `SELECT ${TUPLE}, ${[...plain, ...moneyByTuple, 'max(newest) AS newest'].join(', ')} FROM (${joined}) GROUP BY ${TUPLE}`;
  const outer = listed(
    (c) => (c.money ? `if(notEmpty(groupUniqArrayArray(${c.id}__x)), NULL, ${roundToHundredths(`sum(${c.id}__v)`)})` : unitMergeSql(c.id, measureOf(c.id))),
    (c) => `arraySort(groupUniqArrayArray(${c.id}__x))`,
  );
  return `SELECT ${units}, ${outer} FROM (${byTuple}) ARRAY JOIN ${fanOut(levels)} GROUP BY level, unit, parent`;
}

/**
 * The query of one source: a row per unit with `level`, `unit`, `parent`, then every
 * column of the statement in the same order in every source (UNION ALL matches columns by
 * position): the source's own measures, the other sources' as NULL, then `flags`.
 */
function sourceQuery(source: SourceId, levels: readonly Level[], columns: readonly Column[], flags: readonly string[], from: 'events' | 'partials'): string {
  if (from === 'partials' && isPartialSource(source)) return partialSourceQuery(source, levels, columns, flags);
  const units = 'lu.1 AS level, lu.2 AS unit, lu.3 AS parent';
  const byUnit = 'GROUP BY level, unit, parent';
  const mine = (c: Column): boolean => sourceOf(c) === source;
  const own = columns.filter(mine);
  // Every branch lists every money column's missing rates, empty where not its own.
  const missing = (expr: (c: Column) => string): string[] => columns.filter((c) => c.money).map((c) => `${mine(c) ? expr(c) : NO_MISSING} AS ${missingColumn(c.id)}`);
  const listed = (expr: (c: Column) => string, lacks: (c: Column) => string = () => NO_MISSING): string =>
    [...columns.map((c) => (mine(c) ? `${f64(expr(c))} AS ${c.id}` : `${NULL_F64} AS ${c.id}`)), ...missing(lacks), ...flags].join(', ');
  const select = listed((c) => c.sql);
  const table = BY_TUPLE[source];
  if (table) {
    const scan = `FROM ${table} FINAL WHERE ${inPeriod('occurred_at')}`;
    const currency = MONEY_CURRENCY[source];
    const moneyColumns = own.filter((c) => c.money);
    if (!currency || moneyColumns.length === 0) {
      const inner = own.map((c) => `${c.sql} AS ${c.id}__t`).join(', ');
      const outer = listed((c) => `sum(${c.id}__t)`);
      return `SELECT ${units}, ${outer} FROM (SELECT ${TUPLE}, ${inner}, max(occurred_at) AS newest ${scan} GROUP BY ${TUPLE}) ARRAY JOIN ${fanOut(levels)} ${byUnit}`;
    }
    // Per tuple, currency and business day (one group per tuple in the reporting currency),
    // converted at the day's rate, then added up per unit and rounded once.
    const inner = own.map((c) => (c.money ? moneyInner(c) : `${c.sql} AS ${c.id}__t`)).join(', ');
    const grouped = `SELECT ${TUPLE}, ${currency} AS fx_currency, ${rateDay(currency)} AS fx_day, ${inner}, max(occurred_at) AS newest ${scan} GROUP BY ${TUPLE}, fx_currency, fx_day`;
    const converted = `SELECT ${TUPLE}, newest, ${own.map((c) => (c.money ? moneyConverted(c) : `${c.id}__t`)).join(', ')} FROM (${grouped}) AS g LEFT JOIN (${RATES}) AS fx USING (fx_currency, fx_day)`;
    const outer = listed(
      (c) => (c.money ? `if(notEmpty(groupUniqArrayArray(${c.id}__x)), NULL, ${roundToHundredths(`sum(${c.id}__v)`)})` : `sum(${c.id}__t)`),
      (c) => `arraySort(groupUniqArrayArray(${c.id}__x))`,
    );
    return `SELECT ${units}, ${outer} FROM (${converted}) ARRAY JOIN ${fanOut(levels)} ${byUnit}`;
  }
  switch (source) {
    case 'sales':
    case 'returns':
    case 'ticket_events':
      throw new Error(`source ${source} is aggregated by tuple`);
    case 'orders':
      return `SELECT ${units}, ${select} FROM (${ORDERS}) ARRAY JOIN ${fanOut(levels)} ${byUnit}`;
    case 'tickets':
      return `SELECT ${units}, ${select} FROM (${TICKETS}) ARRAY JOIN ${fanOut(levels)} ${byUnit}`;
    case 'customers':
    case 'members':
      return buyersQuery(source, levels, select, 'events');
    case 'targets':
    case 'inputs':
      return `SELECT level, unit, '' AS parent, ${select} ${imported(source === 'targets' ? 'kpi_targets' : 'kpi_inputs', 'level IN {p_levels: Array(String)}')} ${byUnit}`;
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
    return { id, merge: m.merge, sql: m.sql, ...(m.money ? { money: m.row } : {}) };
  });
}

function measureOf(id: string): Measure {
  const m = (MEASURES as Record<string, Measure>)[id];
  if (!m) throw new RangeError(`unknown measure ${id}`);
  return m;
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
  const from = request.from ?? 'events';
  // And the newest event time of the source at the unit (imports have none).
  const newest = (source: SourceId): string => `newest_${source}`;
  const newestOf = (source: SourceId): string => (source === 'targets' || source === 'inputs' ? NO_TIME : `CAST(max(newest), 'Nullable(DateTime64(3, \\'UTC\\'))')`);
  const flags = (source: SourceId): string[] => [
    ...sources.map((s) => `${s === source ? sees(s) : 'toUInt8(0)'} AS ${present(s)}`),
    ...sources.map((s) => `${s === source ? newestOf(s) : NO_TIME} AS ${newest(s)}`),
  ];
  const branches = sources.map((source) => sourceQuery(source, levels, all, flags(source), from));
  const merged = [
    ...all.map((c) => `${c.merge === 'sum' ? 'sum' : 'max'}(${c.id}) AS ${c.id}`),
    ...all.filter((c) => c.money).map((c) => `groupUniqArrayArray(${missingColumn(c.id)}) AS ${missingColumn(c.id)}`),
    ...sources.map((s) => `max(${present(s)}) AS ${present(s)}`),
    ...sources.map((s) => `max(${newest(s)}) AS ${newest(s)}`),
  ].join(', ');
  const tuples = kpis.map((kpi) => {
    const [num, den, value] = kpiExpressions(kpi);
    // A manual KPI has a row only where it was imported.
    const seen = kpi.kind === 'manual' ? `isNotNull(input_${kpi.id}_value)` : [...new Set(columnsOf(kpi).map(sourceOf))].map(present).join(' OR ');
    // A value that needs a rate nobody imported is missing, never summed unconverted.
    const lacking = [...new Set(columnsOf(kpi).filter((c) => c.money).map((c) => missingColumn(c.id)))];
    const missing = lacking.length === 0 ? NO_MISSING : `arraySort(arrayDistinct(arrayConcat(${lacking.join(', ')})))`;
    const unlessMissing = (x: string): string => (lacking.length === 0 ? f64(x) : `if(notEmpty(${missing}), ${NULL_F64}, ${f64(x)})`);
    // As of: the newest event time of the KPI's sources at the unit.
    const eventSources = kpi.kind === 'manual' ? [] : [...new Set(columnsOf(kpi).map(sourceOf))].filter((s) => s !== 'targets' && s !== 'inputs');
    const asOf =
      eventSources.length === 0
        ? NO_TIME
        : eventSources.length === 1
          ? newest(eventSources[0] as SourceId)
          : `nullIf(greatest(${eventSources.map((s) => `ifNull(${newest(s)}, ${EPOCH})`).join(', ')}), ${EPOCH})`;
    return `tuple('${kpi.id}', ${unlessMissing(num)}, ${unlessMissing(den)}, ${unlessMissing(value)}, toUInt8(${seen}), ${missing}, ${asOf})`;
  });
  const sql =
    `SELECT level, unit, parent, k.1 AS kpi, k.2 AS numerator, k.3 AS denominator, k.4 AS value, k.6 AS missing, k.7 AS as_of FROM (` +
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
      p_reporting: request.money.reportingCurrency,
      p_time_zone: request.money.timeZone,
    },
    columns: OUTPUT_COLUMNS,
  };
}

/** One KPI for one level: the same compiler, asked for less. */
export function compileKpi(kpi: KpiId, period: Period, previous: Pick<Period, 'start'>, level: Level, money: MoneySettings): CompiledQuery {
  return compileKpis({ kpis: [kpi], period, previous, levels: [level], money });
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

// ── Event mode: the rows a value is made of ──

/** The levels whose units roll up into a unit of `level` (kpi_values.parent): company → region, department, channel; region → store. */
export function childLevels(level: Level): Level[] {
  return LEVELS.filter((l) => l !== level && LEVEL_KEYS[l].parent === LEVEL_KEYS[level].unit);
}

export interface KpiEventsRequest {
  kpi: KpiId;
  period: Period;
  previous: Pick<Period, 'start'>;
  level: Level;
  /** The unit of the level (`all` for the company). */
  unit: string;
  /** Rows (1-based page of `size`), oldest first. */
  page: { number: number; size: number };
  /** Rows that reached the warehouse after this instant are late: the period's first close had begun reading before. */
  lateAfter?: string;
  /** Page through the late rows only. */
  lateOnly?: boolean;
  money: MoneySettings;
}

export interface CompiledEvents {
  /**
   * One page of rows: source, type, id, line, occurred_at, arrived_at (UTC text), late, and
   * each row's contribution to the numerator and the denominator (NULL for a side the KPI
   * does not have) and, for a percentile, the value it is taken of (`statistic`).
   */
  page: string;
  /** Over every row: rows, numerator, denominator, statistic (the KPI's own aggregate of the rows' statistics), and late_rows, late_numerator, late_denominator. */
  totals: string;
  params: Record<string, string | number>;
}

/**
 * How a source's rows are listed: the rows themselves at the unit `u`, what names a row
 * and its time, and where its arrival is read. A row arrived when the last of its events
 * first reached the warehouse (the first copy's ingested_at: a replayed duplicate changes
 * nothing, so it does not make a row late).
 */
interface RowSource {
  rows: (u: string) => string;
  id: string;
  line: string;
  type: string;
  /** The row's time when its measure names none. */
  at: string;
  arrivals: { table: string; key: string; scope: (u: string) => string };
}

/** Rows of an event table; with amounts in `currency`, each with the rate that converts it (`fx_rate`, NULL when none was imported). */
const eventRows = (table: string, type: string, line = '0', currency?: string): RowSource => {
  const scope = (u: string): string => `${inPeriod('occurred_at')} AND ${u}`;
  const rows = currency
    ? (u: string): string =>
        `SELECT *, ${RATE} AS fx_rate FROM (SELECT *, ${currency} AS fx_currency, ${rateDay(currency)} AS fx_day FROM ${table} FINAL WHERE ${scope(u)}) AS rows ` +
        `LEFT JOIN (${RATES}) AS fx USING (fx_currency, fx_day)`
    : (u: string): string => `SELECT * FROM ${table} FINAL WHERE ${scope(u)}`;
  return { rows, id: 'event_id', line, type, at: 'occurred_at', arrivals: { table, key: 'event_id', scope } };
};

const entityRows = (sql: string, table: string, key: string, type: string, at: string): RowSource => ({
  rows: (u) => `SELECT * FROM (${sql}) WHERE ${u}`,
  id: key,
  line: '0',
  type,
  at,
  arrivals: { table, key, scope: () => `${key} IN (SELECT ${key} FROM ${table} WHERE ${inPeriod('occurred_at')})` },
});

const buyerRows = (source: keyof typeof BUYERS, type: string): RowSource => {
  const { key } = BUYERS[source];
  return {
    // The same sums as the close's, per buyer of the unit; last_sale_at only names the row's time.
    rows: (u) =>
      `SELECT ${key}, sum(cur) AS current_sales, sum(prev) AS previous_sales${source === 'customers' ? ', min(first) AS first_purchase_at' : ''}, max(last) AS last_sale_at ` +
      `FROM (${buyerSales(source, { last: true })}) WHERE ${u} GROUP BY ${key}`,
    id: key,
    line: '0',
    type,
    at: 'last_sale_at',
    // A customer's first purchase may lie before the window: its arrival is read over the history.
    arrivals: { table: 'sale_lines', key, scope: (u) => `${source === 'customers' ? `${key} IS NOT NULL AND occurred_at < {p_end: DateTime64(3, 'UTC')}` : buyerWindow(key)} AND ${u}` },
  };
};

const ROW_SOURCES: Record<Exclude<SourceId, 'targets' | 'inputs'>, RowSource> = {
  sales: eventRows('sale_lines', "'sale.completed'", 'line_no', MONEY_CURRENCY.sales),
  returns: eventRows('return_events', 'type', '0', MONEY_CURRENCY.returns),
  ticket_events: eventRows('ticket_events', 'type'),
  orders: entityRows(ORDERS, 'order_events', 'order_id', "'order'", 'placed_at'),
  tickets: entityRows(TICKETS, 'ticket_events', 'ticket_id', "'ticket'", 'opened_at'),
  customers: buyerRows('customers', "'customer'"),
  members: buyerRows('members', "'member'"),
};

const DATETIME = "'Nullable(DateTime64(3, \\'UTC\\'))'";
const EVENT_COLUMNS = ['e_source', 'e_type', 'e_id', 'e_line', 'e_at', 'e_arrived', 'e_num', 'e_den', 'e_stat'] as const;

/** A term of the KPI on one side: its measure and sign. */
interface SideTerm {
  side: 'num' | 'den';
  sign: '+' | '-';
  id: MeasureId;
  m: Measure;
}

/** Rows of one source listed at one grain: each row, each distinct key, or the one import in force. */
interface RowGroup {
  source: SourceId;
  grain: 'row' | 'distinct' | 'latest';
  terms: SideTerm[];
  statistic?: Measure;
}


const anyOf = (conditions: (string | undefined)[]): string => (conditions.some((c) => c === undefined) ? '1' : conditions.map((c) => `(${String(c)})`).join(' OR '));

/** Σ of the side's signed contributions in this group; NULL when the KPI has no such side. */
function sideSum(group: RowGroup, side: 'num' | 'den', has: boolean, contribution: (m: Measure) => string): string {
  if (!has) return NULL_F64;
  const terms = group.terms.filter((t) => t.side === side);
  if (terms.length === 0) return f64('0');
  return f64(terms.map((t, i) => `${i === 0 && t.sign === '+' ? '' : ` ${t.sign} `}toFloat64(${contribution(t.m)})`).join('').trim());
}

/**
 * A row's contribution to a sum or count measure: what the aggregate adds for it. Money is
 * converted at the row's rate, in hundredths of the reporting currency before the one
 * rounding of the total (so the rows add up to the unrounded total).
 */
const perRow = (m: Measure): string => {
  const { agg, of, when } = m.row;
  const amount = agg !== 'sum' ? '1' : m.money ? `toFloat64(${String(of)} * fx_rate) / 1e14` : String(of);
  return when ? `if(${when}, ${amount}, 0)` : amount;
};

function groupQuery(group: RowGroup, sides: { num: boolean; den: boolean }, kpi: Kpi, unitFilter: string): string {
  const measures = [...group.terms.map((t) => t.m), ...(group.statistic ? [group.statistic] : [])];
  if (group.source === 'targets' || group.source === 'inputs') {
    // The one import in force, exactly as the close picks it (argMaxIf by LATEST_BY).
    const when = group.source === 'inputs' ? `kpi = '${kpi.id}'` : String(measures[0]?.row.when);
    const latest = (of: string): string => f64(`argMaxIf(${of}, ${LATEST_BY}, ${when})`);
    const manual = group.source === 'inputs';
    const num = manual ? latest('numerator') : sideSum(group, 'num', sides.num, (m) => m.sql);
    const den = manual ? latest('denominator') : sideSum(group, 'den', sides.den, (m) => m.sql);
    return (
      `SELECT '${group.source}' AS e_source, '${manual ? 'input' : 'target'}' AS e_type, argMaxIf(import_id, ${LATEST_BY}, ${when}) AS e_id, toUInt32(0) AS e_line, ` +
      `CAST(maxIf(imported_at, ${when}), ${DATETIME}) AS e_at, CAST(maxIf(imported_at, ${when}), ${DATETIME}) AS e_arrived, ${num} AS e_num, ${den} AS e_den, ${manual ? latest('value') : NULL_F64} AS e_stat ` +
      `${imported(manual ? 'kpi_inputs' : 'kpi_targets', 'level = {p_level: String} AND unit = {p_unit: String}')} HAVING countIf(${when}) > 0`
    );
  }
  const src = ROW_SOURCES[group.source];
  const { table, key, scope } = src.arrivals;
  const arrivals =
    `SELECT ${key} AS arrival_key, max(first_at) AS arrived_at FROM (` +
    `SELECT ${key}, event_id, min(ingested_at) AS first_at FROM ${table} WHERE ${scope(unitFilter)} GROUP BY ${key}, event_id) GROUP BY ${key}`;
  const from = `FROM (${src.rows(unitFilter)}) AS r ANY LEFT JOIN (${arrivals}) AS a ON r.${key} = a.arrival_key WHERE ${anyOf(measures.map((m) => m.row.when))}`;
  if (group.grain === 'distinct') {
    // One row per distinct key, counted once however many rows carry it; it arrived with its first row.
    const of = String(measures[0]?.row.of);
    if (!/^[a-z_]+$/.test(of)) throw new RangeError(`a distinct measure counts a column, not ${of}`);
    const once = (m: Measure): string => (m.row.when ? `countIf(${m.row.when}) > 0` : '1');
    return (
      `SELECT '${group.source}' AS e_source, 'distinct ${of}' AS e_type, toString(${of}) AS e_id, toUInt32(0) AS e_line, ` +
      `CAST(min(${src.at}), ${DATETIME}) AS e_at, CAST(min(a.arrived_at), ${DATETIME}) AS e_arrived, ` +
      `${sideSum(group, 'num', sides.num, once)} AS e_num, ${sideSum(group, 'den', sides.den, once)} AS e_den, ${NULL_F64} AS e_stat ${from} GROUP BY ${of}`
    );
  }
  // The row's time: that of the first of the group's measures that counts it.
  const timed = measures.map((m) => ({ when: m.row.when, at: m.row.at ?? src.at }));
  const ats = [...new Set(timed.map((t) => t.at))];
  const at = ats.length === 1 ? String(ats[0]) : `multiIf(${timed.map((t) => `${t.when ?? '1'}, ${t.at}`).join(', ')}, NULL)`;
  const stat = group.statistic ? f64(`if(${String(group.statistic.row.when)}, ${String(group.statistic.row.of)}, NULL)`) : NULL_F64;
  return (
    `SELECT '${group.source}' AS e_source, toString(${src.type}) AS e_type, toString(assumeNotNull(r.${src.id})) AS e_id, toUInt32(${src.line}) AS e_line, ` +
    `CAST(${at}, ${DATETIME}) AS e_at, CAST(a.arrived_at, ${DATETIME}) AS e_arrived, ` +
    `${sideSum(group, 'num', sides.num, perRow)} AS e_num, ${sideSum(group, 'den', sides.den, perRow)} AS e_den, ${stat} AS e_stat ${from}`
  );
}

/**
 * Event mode: the rows of each of the KPI's sources that make up its value for one unit,
 * from the same measures the close aggregates, each with what it contributes. So, for any
 * unit: numerator = Σ the rows' numerator contributions and denominator likewise (value =
 * numerator ÷ denominator × scale); a distinct count is one row per distinct key; a
 * percentile's rows are those it is taken over, and its value is their quantile (`totals`);
 * a target or manual input is the one import in force. Orders and tickets are listed as
 * entities (id = order or ticket id, time = when the measured step happened), buyers as
 * customers or members. Pure; values are bound as parameters.
 */
export function compileKpiEvents(request: KpiEventsRequest): CompiledEvents {
  const { level, page } = request;
  const kpi = kpiById(request.kpi);
  if (!LEVELS.includes(level)) throw new RangeError(`unknown level "${String(level)}"; known: ${LEVELS.join(', ')}`);
  if (!Number.isInteger(page.number) || page.number < 1 || !Number.isInteger(page.size) || page.size < 1) throw new RangeError('page number and size are whole numbers from 1');
  const groups: RowGroup[] = [];
  const sides = { num: true, den: true };
  if (kpi.kind === 'manual') {
    groups.push({ source: 'inputs', grain: 'latest', terms: [] });
  } else {
    const f = kpi.formula;
    sides.num = f.numerator.length > 0;
    sides.den = f.denominator !== undefined;
    const terms: SideTerm[] = [
      ...f.numerator.map((t) => ({ side: 'num' as const, ...termColumn(t) })),
      ...(f.denominator ?? []).map((t) => ({ side: 'den' as const, ...termColumn(t) })),
    ].map((t) => ({ side: t.side, sign: t.sign, id: t.id as MeasureId, m: measureOf(t.id) }));
    const grainOf = (m: Measure): RowGroup['grain'] => (m.row.agg === 'distinct' ? 'distinct' : m.row.agg === 'latest' ? 'latest' : 'row');
    const groupOf = (m: Measure, id: string): RowGroup => {
      const grain = grainOf(m);
      // A latest measure is its own group: each picks its own import.
      const found = groups.find((g) => g.source === m.source && g.grain === grain && (grain !== 'latest' || g.terms.some((t) => t.id === id)));
      if (found) return found;
      const made: RowGroup = { source: m.source, grain, terms: [] };
      groups.push(made);
      return made;
    };
    for (const t of terms) groupOf(t.m, t.id).terms.push(t);
    if (f.statistic) groupOf(measureOf(f.statistic), f.statistic).statistic = measureOf(f.statistic);
  }
  const unitFilter = `toString(${LEVEL_KEYS[level].unit}) = {p_unit: String}`;
  const late = request.lateAfter ? "toUInt8(ifNull(e_arrived > {p_late_after: DateTime64(3, 'UTC')}, 0))" : 'toUInt8(0)';
  const rows = `SELECT ${EVENT_COLUMNS.join(', ')}, ${late} AS e_late FROM (${groups.map((g) => groupQuery(g, sides, kpi, unitFilter)).join(' UNION ALL ')})`;
  const statistic = kpi.kind === 'event' && kpi.formula.statistic ? measureOf(kpi.formula.statistic).row : undefined;
  // A percentile of the rows' statistics by the KPI's own aggregate; a manual KPI's value is the import's.
  const statSql = statistic ? f64(aggregateSql({ ...statistic, of: 'e_stat', when: 'isNotNull(e_stat)' })) : kpi.kind === 'manual' ? f64('max(e_stat)') : NULL_F64;
  const sum = (col: string, has: boolean, onlyLate = false): string => (has ? f64(onlyLate ? `sumIf(${col}, e_late = 1)` : `sum(${col})`) : NULL_F64);
  return {
    page:
      'SELECT e_source AS source, e_type AS type, e_id AS id, e_line AS line, toString(e_at) AS occurred_at, toString(e_arrived) AS arrived_at, e_late = 1 AS late, ' +
      `e_num AS numerator, e_den AS denominator, e_stat AS statistic FROM (${rows})${request.lateOnly ? ' WHERE e_late = 1' : ''} ` +
      'ORDER BY e_at, e_source, e_type, e_id, e_line LIMIT {p_limit: UInt32} OFFSET {p_offset: UInt64}',
    totals:
      `SELECT count() AS rows, ${sum('e_num', sides.num)} AS numerator, ${sum('e_den', sides.den)} AS denominator, ${statSql} AS statistic, ` +
      `countIf(e_late = 1) AS late_rows, ${sum('e_num', sides.num, true)} AS late_numerator, ${sum('e_den', sides.den, true)} AS late_denominator FROM (${rows})`,
    params: {
      p_start: chInstant(request.period.start),
      p_end: chInstant(request.period.end),
      p_prev_start: chInstant(request.previous.start),
      p_grain: request.period.grain,
      p_period: request.period.id,
      p_level: level,
      p_unit: request.unit,
      p_limit: page.size,
      p_offset: (page.number - 1) * page.size,
      p_reporting: request.money.reportingCurrency,
      p_time_zone: request.money.timeZone,
      ...(request.lateAfter ? { p_late_after: chInstant(request.lateAfter) } : {}),
    },
  };
}

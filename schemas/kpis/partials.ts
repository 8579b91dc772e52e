import { MEASURES, type Measure, type SourceId } from './measures.js';
import { BUYERS, BY_TUPLE, TUPLE, entities, type BuyerSource, type EntitySource } from './sources.js';

/**
 * Day partials: per business day (in the business time zone), source and organisation
 * tuple, exact mergeable aggregates of every event measure, so a week, month, quarter or
 * year is computed by merging its days instead of rescanning its events. Pure SQL text.
 *
 * What a day keeps of each measure, and how days (and tuples) merge:
 * - sums and counts: an Int128 in `sums` (money: the amount in micros of the row's currency,
 *   `id__t`, and the rows it counts, `id__n`; each day and currency is converted at that
 *   day's rate when merged, exactly as from the events) — merged by adding;
 * - distinct counts: the distinct values themselves in `id_sets` — merged by counting the
 *   distinct values of the union (a sale counted on two days or at two tuples is one sale);
 * - percentiles: every value in `samples` — merged by taking the quantile of them all, the
 *   same exact quantile the events give;
 * - buyers (customers, members): one row per buyer, with the buyer's distinct sales of the
 *   day (`id_sets['sales']`);
 * - and the newest event time the row includes (`newest`: for an order or ticket, its newest
 *   event), so a value says how recent the events behind it are (kpi_values.as_of).
 *
 * A day's partials are computed from its rows as they are at one instant (`read_at`, read
 * with FINAL, so a producer duplicate or a replay is counted once) and kept as a version of
 * the day (under the time zone and reporting currency it was computed for); readers take each
 * day's newest version listed in kpi_partial_days, so a day being
 * recomputed is read whole, old or new. Orders and tickets are entities: an order counts on
 * the day each of its steps happened, computed from all of its events, so a late event
 * changes the days of the order's other steps too (the refresh finds them; see
 * services/periods/day-partials.ts).
 */

/** Sources kept as day partials: all event sources; targets and manual inputs are imports, read as they are. */
export const PARTIAL_SOURCES = ['sales', 'returns', 'ticket_events', 'orders', 'tickets', 'customers', 'members'] as const satisfies readonly SourceId[];
export type PartialSource = (typeof PARTIAL_SOURCES)[number];

export const isPartialSource = (source: SourceId): source is PartialSource => (PARTIAL_SOURCES as readonly SourceId[]).includes(source);

/** Where a day keeps a measure: an exact sum, a set of distinct values, or the values a percentile is taken of. */
export type PartialKind = 'sums' | 'id_sets' | 'samples';

export function partialKind(m: Measure): PartialKind {
  switch (m.row.agg) {
    case 'sum':
    case 'count':
      return 'sums';
    case 'distinct':
      return 'id_sets';
    case 'p90':
      return 'samples';
    case 'latest':
      throw new RangeError(`a ${m.source} measure picks the latest import; it is not kept per day`);
  }
}

/**
 * A measure merged in two steps, as the events are aggregated: over a tuple's partial rows
 * of the period's days (`tupleMergeSql`, as `<id>__t`), then over a unit's tuples
 * (`unitMergeSql`). A distinct count is counted per tuple and added up per unit, as from the
 * events (a sale has one tuple); a percentile takes every value of the unit's tuples.
 */
export function tupleMergeSql(id: string, m: Measure): string {
  switch (partialKind(m)) {
    case 'sums':
      return `sum(sums['${id}'])`;
    case 'id_sets':
      return `uniqExactArray(id_sets['${id}'])`;
    case 'samples':
      return `groupArrayArray(samples['${id}'])`;
  }
}

export function unitMergeSql(id: string, m: Measure): string {
  // A percentile of nothing is missing (NULL), as the events' quantile of no rows is, never NaN.
  return partialKind(m) === 'samples' ? `if(sum(length(${id}__t)) = 0, NULL, quantileExactArray(0.9)(${id}__t))` : `sum(${id}__t)`;
}

/** The sums a money measure keeps: the amount in micros, and the rows it counts. */
export const moneyKeys = (id: string): { total: string; rows: string } => ({ total: `${id}__t`, rows: `${id}__n` });

const measuresOf = (source: PartialSource): [string, Measure][] => Object.entries(MEASURES as Record<string, Measure>).filter(([, m]) => m.source === source);

/** A sum or count as kept: Int128, and 0 for a sum over no rows (a KPI reads a missing sum as 0 either way). */
const exact = (aggregate: string): string => `ifNull(toInt128(${aggregate}), toInt128(0))`;

/** What a day keeps of each measure of the source, as the three map columns. */
function keptMaps(source: PartialSource): { sums: string; id_sets: string; samples: string } {
  const sums: string[] = [];
  const sets: string[] = [];
  const samples: string[] = [];
  for (const [id, m] of measuresOf(source)) {
    const { of, when } = m.row;
    switch (partialKind(m)) {
      case 'sums':
        if (m.money) {
          const keys = moneyKeys(id);
          sums.push(`'${keys.total}', ${exact(m.sql)}`, `'${keys.rows}', ${exact(when ? `countIf(${when})` : 'count()')}`);
        } else {
          sums.push(`'${id}', ${exact(m.sql)}`);
        }
        break;
      case 'id_sets':
        sets.push(`'${id}', ${when ? `groupUniqArrayIf(toString(${String(of)}), ${when})` : `groupUniqArray(toString(${String(of)}))`}`);
        break;
      case 'samples':
        samples.push(`'${id}', groupArrayIf(toFloat64(${String(of)}), ${when ?? '1'})`);
        break;
    }
  }
  const map = (entries: string[], type: string): string => (entries.length === 0 ? `CAST(map(), '${type}')` : `CAST(map(${entries.join(', ')}), '${type}')`);
  return { sums: map(sums, 'Map(String, Int128)'), id_sets: map(sets, 'Map(String, Array(String))'), samples: map(samples, 'Map(String, Array(Float64))') };
}

/** The columns every partial row is inserted with, in order. */
const PARTIAL_COLUMNS = 'day, time_zone, reporting_currency, read_at, source, region, store, department, channel, currency, buyer, sums, id_sets, samples, newest';
const INSERT = `INSERT INTO kpi_day_partials (${PARTIAL_COLUMNS}) `;

const TIME_ZONE = '{p_time_zone: String}';
const DAYS = '{p_days: Array(Date)}';
/** The business day of an instant. */
export const businessDay = (col: string): string => `toDate(${col}, ${TIME_ZONE})`;
/** An instant on one of the days asked for: the bounds prune partitions, has() picks the days. */
const onDays = (col: string): string =>
  `${col} >= toDateTime64(toDateTime(arrayMin(${DAYS}), ${TIME_ZONE}), 3, 'UTC') AND ${col} < toDateTime64(toDateTime(arrayMax(${DAYS}) + 1, ${TIME_ZONE}), 3, 'UTC') AND has(${DAYS}, ${businessDay(col)})`;
const REPORTING = '{p_reporting: String}';
const stamp = (source: PartialSource): string => `${TIME_ZONE} AS time_zone, ${REPORTING} AS reporting_currency, {p_read_at: DateTime64(3, 'UTC')} AS read_at, '${source}' AS source`;

/** The period bounds in a measure's SQL, as the bounds of the row's business day instead. */
const PERIOD_START = "{p_start: DateTime64(3, 'UTC')}";
const PERIOD_END = "{p_end: DateTime64(3, 'UTC')}";
function atDay(sql: string): string {
  const out = sql.split(PERIOD_START).join('day_start').split(PERIOD_END).join('day_end');
  if (/\{p_(start|end|prev_start)\b/.test(out)) throw new RangeError(`a measure's period bound is not one the day partials replace: ${sql}`);
  return out;
}

function tupleStatement(source: PartialSource, table: string): string {
  const maps = keptMaps(source);
  // The row's own currency ('' for amounts in the reporting currency): the reporting currency
  // is applied when days are merged, so a partial stays right if it changes.
  const currency = source === 'ticket_events' ? "'' AS currency" : 'currency';
  return (
    `${INSERT}SELECT ${businessDay('occurred_at')} AS day, ${stamp(source)}, ${TUPLE}, ${currency}, '' AS buyer, ${maps.sums} AS sums, ${maps.id_sets} AS id_sets, ${maps.samples} AS samples, max(occurred_at) AS newest ` +
    `FROM ${table} FINAL WHERE ${onDays('occurred_at')} GROUP BY day, ${TUPLE}, currency`
  );
}

function entityStatement(source: EntitySource): string {
  const maps = keptMaps(source);
  // Each entity once per business day it has an event on (every step's time is an event's),
  // among the days asked for; its measures then count the steps that happened on that day.
  const withDays = entities(source, onDays('occurred_at'), `groupUniqArray(${businessDay('occurred_at')}) AS entity_days`);
  const perDay =
    `SELECT *, day, toDateTime64(toDateTime(day, ${TIME_ZONE}), 3, 'UTC') AS day_start, toDateTime64(toDateTime(day + 1, ${TIME_ZONE}), 3, 'UTC') AS day_end ` +
    `FROM (${withDays}) ARRAY JOIN arrayFilter(d -> has(${DAYS}, d), entity_days) AS day`;
  return (
    `${INSERT}SELECT day, ${stamp(source)}, ${TUPLE}, '' AS currency, '' AS buyer, ${atDay(maps.sums)} AS sums, ${atDay(maps.id_sets)} AS id_sets, ${atDay(maps.samples)} AS samples, max(newest) AS newest ` +
    `FROM (${perDay}) GROUP BY day, ${TUPLE}`
  );
}

function buyerStatement(source: BuyerSource): string {
  const { key } = BUYERS[source];
  // Filtered before the key is made non-Nullable: an alias would shadow the column in WHERE.
  return (
    `${INSERT}SELECT day, ${stamp(source)}, ${TUPLE}, '' AS currency, buyer, CAST(map(), 'Map(String, Int128)') AS sums, ` +
    `CAST(map('sales', groupUniqArray(sale_id)), 'Map(String, Array(String))') AS id_sets, CAST(map(), 'Map(String, Array(Float64))') AS samples, max(occurred_at) AS newest ` +
    `FROM (SELECT ${businessDay('occurred_at')} AS day, assumeNotNull(${key}) AS buyer, ${TUPLE}, sale_id, occurred_at FROM sale_lines WHERE ${key} IS NOT NULL AND ${onDays('occurred_at')}) ` +
    `GROUP BY day, ${TUPLE}, buyer`
  );
}

export interface PartialStatement {
  source: PartialSource;
  /**
   * INSERT … SELECT of the source's partials of the days `{p_days: Array(Date)}` in
   * `{p_time_zone: String}`, amounts of no named currency in `{p_reporting: String}`, stamped `{p_read_at}`.
   */
  sql: string;
}

/** The statements that compute the day partials of every source. */
export function dayPartialStatements(): PartialStatement[] {
  return PARTIAL_SOURCES.map((source) => {
    switch (source) {
      case 'sales':
      case 'returns':
      case 'ticket_events':
        return { source, sql: tupleStatement(source, String(BY_TUPLE[source])) };
      case 'orders':
      case 'tickets':
        return { source, sql: entityStatement(source) };
      case 'customers':
      case 'members':
        return { source, sql: buyerStatement(source) };
    }
  });
}

/**
 * The partial rows of a source over business days [from, to) (SQL Date expressions): the
 * newest version of each day.
 */
export function partialRows(source: PartialSource, from: string, to: string): string {
  const days = `day >= ${from} AND day < ${to}`;
  return (
    `SELECT * FROM kpi_day_partials WHERE source = '${source}' AND time_zone = ${TIME_ZONE} AND reporting_currency = ${REPORTING} AND ${days} ` +
    `AND (day, read_at) IN (SELECT day, max(read_at) FROM kpi_partial_days WHERE time_zone = ${TIME_ZONE} AND reporting_currency = ${REPORTING} AND ${days} GROUP BY day)`
  );
}

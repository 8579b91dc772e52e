import { chInstant } from '../../schemas/kpis/compile.js';
import { dayPartialStatements } from '../../schemas/kpis/partials.js';
import { entityTable, type EntitySource } from '../../schemas/kpis/sources.js';
import { commandInPlace, insertRows, queryRows, type ClickHouseClient } from '../shared/clickhouse.js';

/**
 * Keeps the day partials (migration 0013, schemas/kpis/partials.ts) of a range of business
 * days fresh before a close or a provisional refresh reads them.
 *
 * A day is recomputed, whole and from its events, when it has no partials yet or when
 * events arrived for it after its partials were read:
 * - ingest records each batch's arrivals per 15-minute slice of event time, after the
 *   batch's rows and stamped by ClickHouse's own clock (migration 0006), so an arrival
 *   after a version's read_at means rows the version may not have;
 * - an order or ticket counts on the day of each of its steps, computed from all of its
 *   events, so an event of an entity also changes the days of the entity's other events:
 *   those days are recomputed too when the entity has events stored after their version.
 * Nothing else changes a day's events (rows are only added; duplicates are read once), so
 * a day that passes both checks is exactly what recomputing it would give.
 */

export interface DayRange {
  /** The first instant, at a business-day boundary (ISO 8601). */
  start: string;
  /** The end instant (exclusive), at a business-day boundary. */
  end: string;
  /** The business time zone whose calendar days the partials are kept by. */
  timeZone: string;
  /** The reporting currency: amounts of events that name none count in it. */
  reportingCurrency: string;
}

export interface PartialsRefresh {
  /**
   * ClickHouse's clock when the refresh began looking: the partials of the range include
   * every event whose arrival was recorded by then.
   */
  checkedAt: string;
  /** Business days in the range. */
  days: number;
  /** Days recomputed, oldest first. */
  computed: string[];
  /** Why: days never computed, days with new arrivals, days of entities with new events. */
  missing: number;
  arrived: number;
  entities: number;
}

/** Days computed by one statement per source, so a cold year is computed in bounded memory. */
const DAYS_PER_STATEMENT = 31;
/**
 * Arrivals already looked at are looked at again for this long: an arrival is stamped when
 * its insert begins and seen once it commits, so one stamped just before a check may only
 * show after it.
 */
const ARRIVAL_COMMIT_MARGIN_MS = 5 * 60_000;

const ENTITIES: EntitySource[] = ['orders', 'tickets'];

/** Refreshes the day partials of a range; one refresh of a range runs at a time per process. */
export function createDayPartials(
  client: ClickHouseClient,
  options: {
    /** A superseded version is deleted this long after its successor was listed (a query reads one snapshot, far shorter). @default 60_000 */
    supersededGraceMs?: number;
    onProgress?: (line: string) => void;
  } = {},
) {
  const graceMs = options.supersededGraceMs ?? 60_000;
  const running = new Map<string, Promise<PartialsRefresh>>();
  /** Per range, when its last refresh began looking (ClickHouse's clock): arrivals before it (less the margin) were examined. */
  const checked = new Map<string, string>();
  let prunedAtMs = 0;

  async function daysOf(range: DayRange): Promise<string[]> {
    const [row] = await queryRows<{ days: string[] }>(
      client,
      "SELECT arrayMap(i -> toString(toDate({start: DateTime64(3, 'UTC')}, {tz: String}) + i), range(toUInt32(greatest(0, dateDiff('day', toDate({start: DateTime64(3, 'UTC')}, {tz: String}), toDate({end: DateTime64(3, 'UTC')}, {tz: String})))))) AS days",
      { start: chInstant(range.start), end: chInstant(range.end), tz: range.timeZone },
    );
    return row?.days ?? [];
  }

  /** The days of the range whose partials are missing or stale, and why. */
  async function staleDays(range: DayRange, days: string[], checkedBefore: string | undefined): Promise<{ stale: Set<string>; missing: number; arrived: number; entities: number }> {
    const first = days[0];
    const last = days.at(-1);
    if (first === undefined || last === undefined) return { stale: new Set(), missing: 0, arrived: 0, entities: 0 };
    const versions = new Map(
      (
        await queryRows<{ d: string; version: string }>(
          client,
          'SELECT toString(day) AS d, toString(max(read_at)) AS version FROM kpi_partial_days WHERE time_zone = {tz: String} AND reporting_currency = {reporting: String} AND day >= {first: Date} AND day <= {last: Date} GROUP BY day',
          { tz: range.timeZone, reporting: range.reportingCurrency, first, last },
        )
      ).map((v) => [v.d, v.version]),
    );
    const stale = new Set(days.filter((d) => !versions.has(d)));
    const missing = stale.size;
    if (versions.size === 0) return { stale, missing, arrived: 0, entities: 0 };
    // Texts of one format compare as the instants they name. Arrivals after the oldest
    // version matter, or only those since the last check when one was made (less the margin).
    const oldest = [...versions.values()].sort()[0] ?? '1970-01-01 00:00:00.000';
    const lastLook = checkedBefore === undefined ? undefined : chInstant(new Date(Date.parse(`${checkedBefore.replace(' ', 'T')}Z`) - ARRIVAL_COMMIT_MARGIN_MS).toISOString());
    const since = lastLook !== undefined && lastLook > oldest ? lastLook : oldest;
    const arrivals = await queryRows<{ day: string; arrived: string }>(
      client,
      "SELECT toString(toDate(slice, {tz: String})) AS day, toString(max(arrived_at)) AS arrived FROM arrivals WHERE arrived_at > {since: DateTime64(3, 'UTC')} GROUP BY day",
      { tz: range.timeZone, since },
    );
    let arrived = 0;
    for (const a of arrivals) {
      const v = versions.get(a.day);
      if (v !== undefined && a.arrived > v && !stale.has(a.day)) {
        stale.add(a.day);
        arrived += 1;
      }
    }
    let entities = 0;
    // Days touched by arrivals anywhere (an entity's other events may lie outside the range).
    const touched = arrivals.map((a) => a.day);
    if (touched.length > 0) {
      for (const source of ENTITIES) {
        const { table, key } = entityTable(source);
        const reached = await queryRows<{ day: string; newest: string }>(
          client,
          `SELECT toString(toDate(occurred_at, {tz: String})) AS day, toString(max(newest)) AS newest FROM ${table} AS e INNER JOIN (` +
            `SELECT ${key}, max(ingested_at) AS newest FROM ${table} WHERE occurred_at >= toDateTime64(toDateTime(arrayMin({touched: Array(Date)}), {tz: String}), 3, 'UTC') ` +
            `AND occurred_at < toDateTime64(toDateTime(arrayMax({touched: Array(Date)}) + 1, {tz: String}), 3, 'UTC') AND has({touched: Array(Date)}, toDate(occurred_at, {tz: String})) ` +
            `AND ingested_at > {since: DateTime64(3, 'UTC')} GROUP BY ${key}) AS n USING ${key} ` +
            "WHERE occurred_at >= {start: DateTime64(3, 'UTC')} AND occurred_at < {end: DateTime64(3, 'UTC')} GROUP BY day",
          { tz: range.timeZone, touched, since, start: chInstant(range.start), end: chInstant(range.end) },
        );
        for (const r of reached) {
          const v = versions.get(r.day);
          if (v !== undefined && r.newest > v && !stale.has(r.day)) {
            stale.add(r.day);
            entities += 1;
          }
        }
      }
    }
    return { stale, missing, arrived, entities };
  }

  /** Computes the partials of `days` as of now and lists the new versions. */
  async function compute(days: string[], range: DayRange): Promise<void> {
    const statements = dayPartialStatements();
    for (let i = 0; i < days.length; i += DAYS_PER_STATEMENT) {
      const chunk = days.slice(i, i + DAYS_PER_STATEMENT);
      // The version's instant, on ClickHouse's clock (the one arrivals are stamped with),
      // taken before any of its rows is read.
      const [now] = await queryRows<{ now: string }>(client, 'SELECT toString(now64(3)) AS now');
      const readAt = String(now?.now);
      for (const s of statements) {
        await client.command({ query: s.sql, query_params: { p_days: chunk, p_time_zone: range.timeZone, p_reporting: range.reportingCurrency, p_read_at: readAt } });
      }
      await insertRows(client, 'kpi_partial_days', chunk.map((day) => ({ day, time_zone: range.timeZone, reporting_currency: range.reportingCurrency, read_at: readAt })));
      if (days.length > DAYS_PER_STATEMENT) options.onProgress?.(`day partials: ${Math.min(i + DAYS_PER_STATEMENT, days.length)}/${days.length} days computed`);
    }
  }

  /** Deletes versions superseded for longer than the grace, at most once per grace. */
  async function pruneSuperseded(): Promise<void> {
    const nowMs = Date.now();
    if (nowMs - prunedAtMs < graceMs) return;
    prunedAtMs = nowMs;
    const cutoff = chInstant(new Date(nowMs - graceMs).toISOString());
    const superseded =
      'SELECT v.time_zone, v.reporting_currency, v.day, v.read_at FROM kpi_partial_days AS v INNER JOIN (' +
      "SELECT time_zone, reporting_currency, day, max(read_at) AS newest FROM kpi_partial_days WHERE computed_at < {cutoff: DateTime64(3, 'UTC')} GROUP BY time_zone, reporting_currency, day" +
      ') AS n ON v.time_zone = n.time_zone AND v.reporting_currency = n.reporting_currency AND v.day = n.day WHERE v.read_at < n.newest';
    const [found] = await queryRows<{ n: string }>(client, `SELECT toString(count()) AS n FROM (${superseded})`, { cutoff });
    if (Number(found?.n ?? 0) === 0) return;
    for (const table of ['kpi_day_partials', 'kpi_partial_days']) {
      await commandInPlace(client, { query: `DELETE FROM ${table} WHERE (time_zone, reporting_currency, day, read_at) IN (${superseded})`, query_params: { cutoff } });
    }
  }

  async function refreshOnce(key: string, range: DayRange): Promise<PartialsRefresh> {
    const [clock] = await queryRows<{ now: string }>(client, 'SELECT toString(now64(3)) AS now');
    const checkedAt = String(clock?.now);
    const days = await daysOf(range);
    const { stale, missing, arrived, entities } = await staleDays(range, days, checked.get(key));
    const computed = days.filter((d) => stale.has(d));
    if (computed.length > 0) await compute(computed, range);
    checked.set(key, checkedAt);
    await pruneSuperseded();
    return { checkedAt, days: days.length, computed, missing, arrived, entities };
  }

  return {
    /** Makes the partials of every business day of the range fresh: recomputes the days that are missing or stale. */
    refresh(range: DayRange): Promise<PartialsRefresh> {
      const key = `${range.timeZone}|${range.reportingCurrency}|${chInstant(range.start)}|${chInstant(range.end)}`;
      let pending = running.get(key);
      if (!pending) {
        pending = refreshOnce(key, range).finally(() => running.delete(key));
        running.set(key, pending);
      }
      return pending;
    },
  };
}

export type DayPartials = ReturnType<typeof createDayPartials>;

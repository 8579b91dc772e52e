import { authorize } from '../auth/permissions.js';
import type { Caller } from '../auth/principals.js';
import { queryRows, type ClickHouseClient } from '../shared/clickhouse.js';

/**
 * What the console reads beyond the operations layer: a KPI over periods, the units of a
 * level, ingest progress and recent dead letters, from the documented views and tables.
 * Each asks the permissions table first, as the operations do.
 */
export function consoleReads(clickhouse: ClickHouseClient, caller: Caller | null) {
  const read = (): void => {
    authorize(caller, 'values.read');
  };
  return {
    /** A KPI of one unit over the newest `count` periods of a grain, oldest first. */
    async series(query: { grain: string; kpi: string; level: string; unit: string; count: number }) {
      read();
      const rows = await queryRows<{ period: string; value: number | null; numerator: number | null; denominator: number | null; revision: number; status: string; computed_at: string }>(
        clickhouse,
        'SELECT period, value, numerator, denominator, revision, status, toString(computed_at) AS computed_at FROM v_kpi_values ' +
          'WHERE grain = {grain: String} AND kpi = {kpi: String} AND level = {level: String} AND unit = {unit: String} ORDER BY period_start DESC LIMIT {count: UInt32}',
        query,
      );
      return rows.reverse();
    },
    /** The units of a level that have values. */
    async units(level: string): Promise<string[]> {
      read();
      return (await queryRows<{ unit: string }>(clickhouse, 'SELECT DISTINCT unit FROM v_kpi_values WHERE level = {level: String} ORDER BY unit', { level })).map((r) => r.unit);
    },
    /** When the provisional values of a grain's open period were computed. */
    async asOf(grain: string, period: string): Promise<string | null> {
      read();
      const [row] = await queryRows<{ at: string | null }>(clickhouse, "SELECT toString(max(computed_at)) AS at FROM v_kpi_values WHERE grain = {grain: String} AND period = {period: String} AND status = 'provisional' HAVING count() > 0", {
        grain,
        period,
      });
      return row?.at ?? null;
    },
    /** Per partition: the newest event time stored and when ingest last wrote. */
    async ingestProgress() {
      read();
      return queryRows<{ topic: string; partition: number; next_offset: string; max_event_time: string; updated_at: string }>(
        clickhouse,
        'SELECT topic, partition, toString(next_offset) AS next_offset, toString(max_event_time) AS max_event_time, toString(updated_at) AS updated_at FROM ingest_progress FINAL ORDER BY topic, partition',
      );
    },
    /** The newest dead letters with their reason and first bytes. */
    async recentDeadLetters(limit: number) {
      read();
      return queryRows<{ received_at: string; topic: string; partition: number; offset: string; reason_code: string; reason: string; first_bytes: string }>(
        clickhouse,
        'SELECT toString(received_at) AS received_at, topic, partition, toString(offset) AS offset, reason_code, reason, substring(payload, 1, 120) AS first_bytes FROM dead_letters FINAL ORDER BY received_at DESC, offset LIMIT {limit: UInt32}',
        { limit },
      );
    },
  };
}

export type ConsoleReads = ReturnType<typeof consoleReads>;

import type { ClickHouseClient } from '../../services/shared/clickhouse.js';
import { queryRows } from '../../services/shared/clickhouse.js';
import { DEMO_TABLE } from '../../schemas/names.js';

export interface RoundTripDeps {
  clickhouse: ClickHouseClient;
}

/** Activities of the round-trip demo, bound to their dependencies. */
export function createRoundTripActivities({ clickhouse }: RoundTripDeps) {
  return {
    async countRoundTripRows(runId: string): Promise<{ rows: number; valueSum: number }> {
      const [row] = await queryRows<{ rows: string; value_sum: string }>(
        clickhouse,
        `SELECT count() AS rows, sum(value) AS value_sum FROM ${DEMO_TABLE} FINAL WHERE run_id = {runId: String}`,
        { runId },
      );
      return { rows: Number(row?.rows ?? 0), valueSum: Number(row?.value_sum ?? 0) };
    },
  };
}

export type RoundTripActivities = ReturnType<typeof createRoundTripActivities>;

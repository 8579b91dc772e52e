import type { ClickHouseClient } from '../../services/shared/clickhouse.js';
import { warehouseStats } from '../../services/ingest/stats.js';
import type { MoneySettings } from '../../schemas/kpis/compile.js';

/** What the warehouse holds: distinct valid events, dead letters, events by family. */
export interface WarehouseCounts {
  stored: number;
  deadLetters: number;
  byFamily: Record<string, number>;
}

export interface WarehouseDeps {
  clickhouse: ClickHouseClient;
  money: MoneySettings;
}

/** Activities that read the warehouse, bound to their dependencies. */
export function createWarehouseActivities({ clickhouse, money }: WarehouseDeps) {
  return {
    async countStoredEvents(): Promise<WarehouseCounts> {
      const stats = await warehouseStats(clickhouse, money.reportingCurrency);
      return { stored: stats.stored, deadLetters: stats.dead_letters, byFamily: stats.byFamily };
    },
  };
}

export type WarehouseActivities = ReturnType<typeof createWarehouseActivities>;

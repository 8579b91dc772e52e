import type { ClickHouseClient } from '../../services/shared/clickhouse.js';
import { storedCounts } from '../../services/ingest/stats.js';

/** What the warehouse holds: distinct valid events, dead letters, events by family. */
export interface WarehouseCounts {
  stored: number;
  deadLetters: number;
  byFamily: Record<string, number>;
}

export interface WarehouseDeps {
  clickhouse: ClickHouseClient;
}

/** Activities that read the warehouse, bound to their dependencies. */
export function createWarehouseActivities({ clickhouse }: WarehouseDeps) {
  return {
    async countStoredEvents(): Promise<WarehouseCounts> {
      const stats = await storedCounts(clickhouse);
      return { stored: stats.stored, deadLetters: stats.dead_letters, byFamily: stats.byFamily };
    },
  };
}

export type WarehouseActivities = ReturnType<typeof createWarehouseActivities>;

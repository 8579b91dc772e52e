import { proxyActivities } from '@temporalio/workflow';
import type { WarehouseActivities, WarehouseCounts } from '../activities/warehouse.js';

const { countStoredEvents } = proxyActivities<WarehouseActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5 },
});

export type { WarehouseCounts };

/** Reads back what the warehouse holds, through an activity: the smallest workflow over real data. */
export async function warehouseCountsWorkflow(): Promise<WarehouseCounts> {
  return countStoredEvents();
}

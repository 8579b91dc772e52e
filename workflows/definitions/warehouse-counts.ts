import { proxyActivities } from '@temporalio/workflow';
import type { WarehouseActivities } from '../activities/warehouse.js';

const { countStoredEvents } = proxyActivities<WarehouseActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5 },
});

export interface WarehouseCounts {
  stored: number;
  deadLetters: number;
  byFamily: Record<string, number>;
}

/** Reads back what the warehouse holds, through an activity: the smallest workflow over real data. */
export async function warehouseCountsWorkflow(): Promise<WarehouseCounts> {
  return countStoredEvents();
}

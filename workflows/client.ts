import type { Client } from '../services/shared/temporal.js';
import { TASK_QUEUE } from '../schemas/names.js';
import type { WarehouseCounts, warehouseCountsWorkflow } from './definitions/warehouse-counts.js';

/** Runs the warehouse read-back once and waits for its result. */
export async function runWarehouseCounts(client: Client, workflowId: string, options: { taskQueue?: string } = {}): Promise<WarehouseCounts> {
  return client.workflow.execute<typeof warehouseCountsWorkflow>('warehouseCountsWorkflow', {
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    workflowId,
  });
}

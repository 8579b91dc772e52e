import type { Client } from '../services/shared/temporal.js';
import { TASK_QUEUE } from '../schemas/names.js';
import type { RoundTripResult, roundTripWorkflow } from './definitions/round-trip.js';

/** Runs the round-trip workflow once; the workflow id is the business key of the demo run. */
export async function runRoundTrip(client: Client, runId: string, options: { taskQueue?: string } = {}): Promise<RoundTripResult> {
  return client.workflow.execute<typeof roundTripWorkflow>('roundTripWorkflow', {
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    workflowId: `round-trip:${runId}`,
    args: [{ runId }],
  });
}

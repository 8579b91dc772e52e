import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { RoundTripActivities } from '../activities/round-trip.js';

const { countRoundTripRows } = proxyActivities<RoundTripActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['InvalidInput'] },
});

export interface RoundTripInput {
  /** The demo run whose rows are counted. */
  runId: string;
}

export interface RoundTripResult {
  runId: string;
  rows: number;
  valueSum: number;
}

/** Counts what one demo run landed in ClickHouse, through an activity: the smallest real close. */
export async function roundTripWorkflow(input: RoundTripInput): Promise<RoundTripResult> {
  if (typeof input.runId !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(input.runId)) {
    throw ApplicationFailure.nonRetryable(`runId must be 1-64 letters, digits or dashes, got ${JSON.stringify(input.runId)}`, 'InvalidInput');
  }
  const counted = await countRoundTripRows(input.runId);
  return { runId: input.runId, ...counted };
}

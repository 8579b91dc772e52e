import { WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../services/shared/config.js';
import type { Client } from '../services/shared/temporal.js';
import type { PeriodSettings } from './definitions/period-steps.js';
import { TASK_QUEUE } from '../schemas/names.js';
import type { ClosePeriodInput, closePeriodWorkflow } from './definitions/close-period.js';
import { closeWorkflowId, restateWorkflowId, reviewWorkflowId } from './definitions/ids.js';
import { approveUpdate, lateEventsSignal, reopenUpdate, reviewStateQuery, type Approval, type Reopening, type ReviewState } from './definitions/messages.js';
import type { RestatePeriodInput, restatePeriodWorkflow } from './definitions/restate-period.js';
import type { refreshProvisionalWorkflow } from './definitions/scheduled.js';
import type { WarehouseCounts, warehouseCountsWorkflow } from './definitions/warehouse-counts.js';

export { closeWorkflowId, restateWorkflowId, reviewWorkflowId };

/** Runs the warehouse read-back once and waits for its result. */
export async function runWarehouseCounts(client: Client, workflowId: string, options: { taskQueue?: string } = {}): Promise<WarehouseCounts> {
  return client.workflow.execute<typeof warehouseCountsWorkflow>('warehouseCountsWorkflow', {
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    workflowId,
  });
}

/** Refreshes the provisional values of today's open periods (day … year) once and waits for it, as its Schedule does. */
export async function refreshProvisional(client: Client, settings: PeriodSettings, workflowId: string, options: { taskQueue?: string } = {}): Promise<{ periods: string[]; values: number }> {
  return client.workflow.execute<typeof refreshProvisionalWorkflow>('refreshProvisionalWorkflow', { taskQueue: options.taskQueue ?? TASK_QUEUE, workflowId, args: [settings] });
}

/**
 * Starts the close of a period under its business key, or joins the close already
 * running: two starts make one close.
 */
export async function startClose(
  client: Client,
  input: ClosePeriodInput,
  options: { taskQueue?: string } = {},
): Promise<{ handle: WorkflowHandle<typeof closePeriodWorkflow>; started: boolean }> {
  const workflowId = closeWorkflowId(input.idPrefix, input.grain, input.period);
  try {
    const handle = await client.workflow.start<typeof closePeriodWorkflow>('closePeriodWorkflow', {
      taskQueue: options.taskQueue ?? TASK_QUEUE,
      workflowId,
      args: [input],
    });
    return { handle, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { handle: client.workflow.getHandle(workflowId), started: false };
    throw err;
  }
}

/** Reports late events of a closed period: starts its restatement, or restarts the quiet time of the one waiting. */
export async function reportLateEvents(client: Client, input: RestatePeriodInput, events: number, options: { taskQueue?: string } = {}): Promise<void> {
  // The reason and actor ride on the signal too: a restatement already waiting takes them.
  const said = { ...(input.reason !== undefined ? { reason: input.reason } : {}), ...(input.actor !== undefined && input.reason !== undefined ? { actor: input.actor } : {}) };
  await client.workflow.signalWithStart<typeof restatePeriodWorkflow, [{ events: number; reason?: string; actor?: string }]>('restatePeriodWorkflow', {
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    workflowId: restateWorkflowId(input.idPrefix, input.grain, input.period),
    args: [input],
    signal: lateEventsSignal,
    signalArgs: [{ events, ...said }],
  });
}

export async function approveQuarter(client: Client, idPrefix: string, quarter: string, approval: Approval): Promise<ReviewState> {
  return client.workflow.getHandle(reviewWorkflowId(idPrefix, quarter)).executeUpdate(approveUpdate, { args: [approval] });
}

export async function reopenQuarter(client: Client, idPrefix: string, quarter: string, reopening: Reopening): Promise<ReviewState> {
  return client.workflow.getHandle(reviewWorkflowId(idPrefix, quarter)).executeUpdate(reopenUpdate, { args: [reopening] });
}

export async function quarterReviewState(client: Client, idPrefix: string, quarter: string): Promise<ReviewState> {
  return client.workflow.getHandle(reviewWorkflowId(idPrefix, quarter)).query(reviewStateQuery);
}

/** The settings every period workflow is started with, from the configuration. */
export function periodSettings(config: Pick<Config, 'business' | 'close'>): PeriodSettings {
  return { calendar: { timeZone: config.business.timeZone, fiscalYearStartMonth: config.business.fiscalYearStartMonth }, concurrency: config.close.concurrency, idPrefix: config.close.idPrefix };
}

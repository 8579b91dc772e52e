import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { executeChild, patched, workflowInfo, WorkflowIdReusePolicy } from '@temporalio/workflow';

/** Set by Temporal on every workflow a Schedule starts. */
const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
import { GRAINS, periodOf, previousPeriod, type Grain } from '../../schemas/calendar/index.js';
import { closeWorkflowId } from './ids.js';
import type { ClosePeriodInput, ClosePeriodResult, closePeriodWorkflow } from './close-period.js';
import { computeAll, queries, resolvePeriod, steps, type PeriodSettings } from './period-steps.js';

export interface CloseEndedPeriodInput extends PeriodSettings {
  grain: Grain;
  graceMs: number;
}

/**
 * Started by a Temporal Schedule at each period boundary (local midnight in the business
 * time zone): closes the period that just ended under its business key, so a close already
 * started by hand is joined, not repeated.
 */
export async function closeEndedPeriodWorkflow(input: CloseEndedPeriodInput): Promise<ClosePeriodResult | { period: string; alreadyRunning: true }> {
  // The instant the schedule meant (a period boundary; or when it was triggered by hand),
  // not when this run started: a run buffered behind a slow close, or caught up after an
  // outage, still closes its own period. The latest period ended by then is the one.
  const scheduled = workflowInfo().typedSearchAttributes.get(SCHEDULED_START_TIME);
  const firedAt = scheduled instanceof Date ? scheduled.getTime() : Date.now();
  const ended = previousPeriod(periodOf(input.grain, firedAt, input.calendar), input.calendar);
  const args: ClosePeriodInput = { ...input, period: ended.id, actor: 'schedule' };
  try {
    return await executeChild<typeof closePeriodWorkflow>('closePeriodWorkflow', {
      workflowId: closeWorkflowId(input.idPrefix, input.grain, ended.id),
      args: [args],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
  } catch (err) {
    if (err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError') return { period: ended.id, alreadyRunning: true };
    throw err;
  }
}

/**
 * Refreshes the provisional values (revision 0) of the open period of every grain — today,
 * this week, month, quarter and year — for operations to watch, from the day partials (only
 * the days that received events are recomputed). Started by a Schedule on the provisional
 * interval.
 */
export async function refreshProvisionalWorkflow(input: PeriodSettings): Promise<{ periods: string[]; values: number }> {
  const now = Date.now();
  const open = GRAINS.map((grain) => resolvePeriod(grain, periodOf(grain, now, input.calendar).id, input.calendar));
  // Only the periods whose events or imports changed since their values were computed (a
  // frequent schedule then costs a few small queries while nothing arrives); day first, so
  // today's values follow ingest soonest.
  const changed = patched('provisional-when-changed') ? new Set(await steps.provisionalStale({ periods: open })) : undefined;
  const periods: string[] = [];
  let values = 0;
  const stale = open.filter((bounds) => !changed || changed.has(`${bounds.grain}|${bounds.period}`));
  // The day partials of every stale period (and the ones before) made fresh once.
  const fresh =
    changed && stale.length > 0
      ? await queries.refreshPartials({ start: stale.map((b) => b.previousStart).sort()[0] as string, end: stale.map((b) => b.end).sort().at(-1) as string })
      : undefined;
  for (const bounds of stale) {
    values += await computeAll(bounds, 0, input.concurrency, 'provisional', fresh);
    periods.push(`${bounds.grain} ${bounds.period}`);
  }
  return { periods, values };
}

import { ParentClosePolicy, WorkflowIdReusePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import type { Grain } from '../../schemas/calendar/index.js';
import { reviewWorkflowId } from './ids.js';
import { computeAll, resolvePeriod, steps, waitForIngest, type PeriodSettings } from './period-steps.js';
import type { quarterReviewWorkflow } from './quarter-review.js';

export interface ClosePeriodInput extends PeriodSettings {
  grain: Grain;
  period: string;
  /** Close now, without waiting for the period end, the grace or ingest; recorded as forced. */
  force?: boolean;
  /** After the period ends, wait this long for stragglers before reading. */
  graceMs: number;
  /** How often to look at ingest progress while waiting. @default 15 s */
  pollMs?: number;
  actor?: string;
}

export interface ClosePeriodResult {
  grain: Grain;
  period: string;
  revision: number;
  /** The period was closed before: nothing was recomputed. */
  alreadyClosed: boolean;
  forced: boolean;
  values: number;
  scoredUnits: number;
}

/**
 * Closes one period: waits for ingest to pass the period end plus grace (or not, when
 * forced), computes every KPI for every unit as revision 1, scores and ranks the
 * scorecards, and marks the period closed. Started under the id `close:<grain>:<period>`,
 * so a second start is no second close; every step is idempotent, so a worker killed
 * midway resumes to the same values. A closed quarter then waits for finance's sign-off in
 * its review workflow.
 */
export async function closePeriodWorkflow(input: ClosePeriodInput): Promise<ClosePeriodResult> {
  const bounds = resolvePeriod(input.grain, input.period, input.calendar);
  const forced = input.force === true;
  const actor = input.actor ?? 'system';
  if (!forced) await waitForIngest(Date.parse(bounds.end) + input.graceMs, input.pollMs ?? 15_000);

  const { workflowId } = workflowInfo();
  const reason = forced ? 'forced close' : '';
  const begun = await steps.beginRevision({ ...bounds, kind: 'close', workflowId, forced, reason, atMs: Date.now() });
  const base = { grain: bounds.grain, period: bounds.period, revision: begun.revision, forced: false, values: 0, scoredUnits: 0 };
  if (begun.existing) return { ...base, alreadyClosed: true };

  const values = await computeAll(bounds, begun.revision, input.concurrency, 'closed');
  const scored = await steps.scoreRevision({ grain: bounds.grain, period: bounds.period, revision: begun.revision });
  await steps.recordTransition({
    ...bounds,
    revision: begun.revision,
    state: 'closed',
    action: forced ? 'close_forced' : 'close',
    actor,
    comment: reason,
    forced,
    reason,
    workflowId,
    lateEvents: 0,
    atMs: Date.now(),
    details: { values, scoredUnits: scored.units },
  });

  if (bounds.grain === 'quarter') {
    try {
      await startChild<typeof quarterReviewWorkflow>('quarterReviewWorkflow', {
        workflowId: reviewWorkflowId(input.idPrefix, bounds.period),
        args: [{ quarter: bounds.period, calendar: input.calendar, revision: begun.revision, status: 'awaiting_approval' }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // One review at a time; a new one may follow an ended (e.g. terminated) one.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      });
    } catch (err) {
      // The quarter's review already exists: it follows the period's revisions itself.
      if (!(err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError')) throw err;
    }
  }
  return { ...base, alreadyClosed: false, forced, values, scoredUnits: scored.units };
}

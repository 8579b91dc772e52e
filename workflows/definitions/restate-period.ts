import { condition, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Grain } from '../../schemas/calendar/index.js';
import { reviewWorkflowId } from './ids.js';
import { lateEventsSignal, revisedSignal } from './messages.js';
import { computeAll, resolvePeriod, steps, type PeriodSettings } from './period-steps.js';

export interface RestatePeriodInput extends PeriodSettings {
  grain: Grain;
  period: string;
  /** Quiet time: recompute once no late events have been reported for this long. */
  debounceMs: number;
  /** Late events known at start (further ones arrive as signals). */
  lateEvents?: number;
  actor?: string;
  /** Why the period is restated, when not for late events (e.g. exchange rates imported after the close). */
  reason?: string;
}

export interface RestatePeriodResult {
  grain: Grain;
  period: string;
  /** The new revision, or null when the late events changed no value. */
  revision: number | null;
  previous: number | null;
  changed: number;
  /** The new revision waits for approval (the quarter was approved). */
  pending: boolean;
  lateEvents: number;
}

/**
 * Restates a closed period after late events (or when asked, with a reason: imports that
 * change it, such as exchange rates): waits until they stop arriving, computes
 * every KPI again as revision n+1, records the per-KPI, per-unit differences in
 * `restatements`, and scores the scorecards again. Revision n stays queryable as reported.
 * A restatement that changes nothing is discarded. When the current revision is an
 * approved quarter, the new one is pending until finance approves it. Started (or
 * signalled) under the id `restate:<grain>:<period>`.
 */
export async function restatePeriodWorkflow(input: RestatePeriodInput): Promise<RestatePeriodResult> {
  const bounds = resolvePeriod(input.grain, input.period, input.calendar);
  let lateEvents = input.lateEvents ?? 0;
  let reported = false;
  // A person's reason, given at the start or by a signal to one already waiting, outranks 'late events'.
  let actor = input.actor ?? 'system';
  let reason = input.reason ?? 'late events';
  setHandler(lateEventsSignal, (signal) => {
    lateEvents += signal.events;
    if (signal.reason !== undefined) reason = signal.reason;
    if (signal.actor !== undefined) actor = signal.actor;
    reported = true;
  });
  // Debounce: every report restarts the quiet time (none with a debounce of 0), but a
  // steady trickle of late events waits ten quiet times at most.
  const giveUpAt = Date.now() + 10 * input.debounceMs;
  while (input.debounceMs > 0 && Date.now() < giveUpAt) {
    reported = false;
    if (!(await condition(() => reported, Math.min(input.debounceMs, giveUpAt - Date.now())))) break;
  }

  const { workflowId } = workflowInfo();
  const begun = await steps.beginRevision({ ...bounds, kind: 'restate', workflowId, forced: false, reason, atMs: Date.now() });
  const values = await computeAll(bounds, begun.revision, input.concurrency, 'closed');
  const previous = begun.previous;
  const { changed } = previous === null ? { changed: values } : await steps.diffRevisions({ grain: bounds.grain, period: bounds.period, from: previous, to: begun.revision });
  const base = { grain: bounds.grain, period: bounds.period, previous, changed, lateEvents };
  const transition = { ...bounds, revision: begun.revision, actor, forced: false, reason, workflowId, lateEvents, atMs: Date.now() };

  if (changed === 0) {
    await steps.recordTransition({ ...transition, state: 'discarded', action: 'restate_unchanged', comment: `${reason}: no value changed` });
    return { ...base, revision: null, pending: false };
  }
  await steps.scoreRevision({ grain: bounds.grain, period: bounds.period, revision: begun.revision });
  // Decided now, not at the start: finance may have approved while this computed.
  const revisions = await steps.periodRevisions({ grain: bounds.grain, period: bounds.period });
  const current = [...revisions].reverse().find((r) => r.revision !== begun.revision && (r.state === 'closed' || r.state === 'approved'));
  const pending = current?.state === 'approved';
  await steps.recordTransition({
    ...transition,
    state: pending ? 'pending' : 'closed',
    action: pending ? 'restate_pending_approval' : 'restate',
    comment: `${changed} values changed`,
    details: { from: previous, changed },
  });
  if (bounds.grain === 'quarter') {
    // A quarter closed by an older release may have no review yet; its revisions still stand.
    await getExternalWorkflowHandle(reviewWorkflowId(input.idPrefix, bounds.period))
      .signal(revisedSignal, { revision: begun.revision, pending })
      .catch(() => undefined);
  }
  return { ...base, revision: begun.revision, pending };
}

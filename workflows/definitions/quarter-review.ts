import { ApplicationFailure, allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import type { CalendarConfig } from '../../schemas/calendar/index.js';
import { approveUpdate, reopenUpdate, reviewStateQuery, revisedSignal, type Approval, type Reopening, type ReviewState, type ReviewStatus } from './messages.js';
import { resolvePeriod, steps } from './period-steps.js';

export interface QuarterReviewInput {
  quarter: string;
  calendar: CalendarConfig;
  /** The revision under review (the current one). */
  revision: number;
  status: ReviewStatus;
  /** A restatement of an approved quarter, waiting for sign-off before it becomes current. */
  pendingRevision?: number | null;
}

/** Keeps the history short: a review may live for years. */
const MAX_HISTORY_EVENTS = 2_000;

/**
 * Finance's sign-off of a closed quarter, under the id `review:quarter:<id>`. Approving
 * locks the quarter: a later restatement becomes a pending revision that needs approval
 * again before it is current. Reopening (with a reason) unlocks it. Every transition is
 * written to period_audit with who and why.
 */
export async function quarterReviewWorkflow(input: QuarterReviewInput): Promise<never> {
  const bounds = resolvePeriod('quarter', input.quarter, input.calendar);
  const state: ReviewState = { quarter: bounds.period, status: input.status, revision: input.revision, pendingRevision: input.pendingRevision ?? null };

  const record = (revision: number, to: 'approved' | 'closed', action: string, actor: string, comment: string): Promise<void> =>
    steps.recordTransition({ ...bounds, revision, state: to, action, actor, comment, atMs: Date.now() });

  setHandler(reviewStateQuery, () => state);
  setHandler(revisedSignal, ({ revision, pending }) => {
    if (pending) state.pendingRevision = revision;
    else {
      state.revision = revision;
      // A newer current revision supersedes any restatement still pending.
      if (state.pendingRevision !== null && state.pendingRevision < revision) state.pendingRevision = null;
      if (state.status === 'approved') state.status = 'awaiting_approval';
    }
  });
  setHandler(
    approveUpdate,
    async ({ actor, comment }) => {
      const target = state.pendingRevision ?? state.revision;
      await record(target, 'approved', 'approve', actor, comment);
      state.revision = target;
      state.pendingRevision = null;
      state.status = 'approved';
      return { ...state };
    },
    {
      validator: ({ actor }: Approval) => {
        if (!actor.trim()) throw ApplicationFailure.nonRetryable('an approval names the approver', 'InvalidApproval');
        if (state.status === 'approved' && state.pendingRevision === null) throw ApplicationFailure.nonRetryable(`${state.quarter} revision ${state.revision} is already approved`, 'AlreadyApproved');
      },
    },
  );
  setHandler(
    reopenUpdate,
    async ({ actor, reason }) => {
      await record(state.revision, 'closed', 'reopen', actor, reason);
      state.status = 'reopened';
      return { ...state };
    },
    {
      validator: ({ actor, reason }: Reopening) => {
        if (!actor.trim() || !reason.trim()) throw ApplicationFailure.nonRetryable('a reopen names who and why', 'InvalidReopen');
        if (state.status !== 'approved') throw ApplicationFailure.nonRetryable(`${state.quarter} is not approved (it is ${state.status}); only an approved quarter can be reopened`, 'NotApproved');
      },
    },
  );

  await condition(() => workflowInfo().historyLength > MAX_HISTORY_EVENTS);
  await condition(allHandlersFinished);
  return continueAsNew<typeof quarterReviewWorkflow>({ ...input, revision: state.revision, status: state.status, pendingRevision: state.pendingRevision });
}

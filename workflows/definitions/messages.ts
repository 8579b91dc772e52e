import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

// Signals, updates and queries of the period workflows, shared with their clients.

export type ReviewStatus = 'awaiting_approval' | 'approved' | 'reopened';

export interface ReviewState {
  quarter: string;
  status: ReviewStatus;
  /** The current revision. */
  revision: number;
  /** A restatement of an approved quarter, waiting for sign-off before it becomes current. */
  pendingRevision: number | null;
}

export interface Approval {
  actor: string;
  comment: string;
}

export interface Reopening {
  actor: string;
  reason: string;
}

export const approveUpdate = defineUpdate<ReviewState, [Approval]>('approve');
export const reopenUpdate = defineUpdate<ReviewState, [Reopening]>('reopen');
/** From a restatement: a new revision exists; `pending` when it waits for approval. */
export const revisedSignal = defineSignal<[{ revision: number; pending: boolean }]>('revised');
export const reviewStateQuery = defineQuery<ReviewState>('state');

/** Reports late events for a closed period; each report restarts the restatement's quiet time. */
/** Late events of a closed period; or a restatement asked for by a person, with their reason (events 0). */
export const lateEventsSignal = defineSignal<[{ events: number; reason?: string; actor?: string }]>('lateEvents');

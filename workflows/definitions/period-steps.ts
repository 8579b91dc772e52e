import { ApplicationFailure, patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { CloseActivities, PeriodBounds } from '../activities/close.js';
import { InvalidPeriodError, parsePeriod, previousPeriod, type CalendarConfig, type Grain } from '../../schemas/calendar/index.js';
import { KPI_IDS } from '../../schemas/kpis/catalog.js';
import { kpiGroups } from '../../schemas/kpis/compile.js';

/** What every period workflow needs to know besides the period. */
export interface PeriodSettings {
  calendar: CalendarConfig;
  /** KPI queries run at once. */
  concurrency: number;
  /** Prefix of the workflow ids this deployment uses (KPI_WORKFLOW_ID_PREFIX). */
  idPrefix: string;
}

/** Short steps: bookkeeping rows and readiness checks. */
export const steps = proxyActivities<CloseActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: ['NotClosed'] },
});

/** KPI queries: long, so they heartbeat; a dead worker is noticed within the heartbeat timeout. */
export const queries = proxyActivities<CloseActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' },
});

/** Resolves the period, or fails the workflow for good: a bad id never gets better on retry. */
export function resolvePeriod(grain: Grain, period: string, calendar: CalendarConfig): PeriodBounds {
  try {
    const p = parsePeriod(grain, period, calendar);
    return { grain, period: p.id, start: p.start, end: p.end, previousStart: previousPeriod(p, calendar).start };
  } catch (err) {
    if (err instanceof InvalidPeriodError || err instanceof RangeError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidPeriod');
    throw err;
  }
}

/**
 * Computes every KPI for every unit into the revision, a bounded number of queries at once,
 * from day partials made fresh once for all of them (or already, at `checkedAt`).
 */
export async function computeAll(bounds: PeriodBounds, revision: number, concurrency: number, status: 'closed' | 'provisional', fresh?: { checkedAt: string }): Promise<number> {
  const groups = kpiGroups(KPI_IDS);
  const checkedAt = fresh?.checkedAt ?? (patched('partials-once') ? (await queries.refreshPartials({ start: bounds.previousStart, end: bounds.end })).checkedAt : undefined);
  let next = 0;
  let rows = 0;
  const lane = async (): Promise<void> => {
    while (next < groups.length) {
      const kpis = groups[next++];
      if (!kpis) return;
      rows += (await queries.computeValues({ ...bounds, revision, status, kpis, ...(checkedAt !== undefined ? { checkedAt } : {}) })).rows;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, groups.length)) }, lane));
  return rows;
}

/** Waits until ingest has caught up to `untilMs`, checking every `pollMs`. */
export async function waitForIngest(untilMs: number, pollMs: number): Promise<void> {
  const wait = untilMs - Date.now();
  if (wait > 0) await sleep(wait);
  for (;;) {
    const readiness = await steps.ingestReadiness({ untilMs });
    if (readiness.ready) return;
    await sleep(pollMs);
  }
}


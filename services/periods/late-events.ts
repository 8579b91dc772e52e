import { GRAINS, periodOf, type CalendarConfig, type Grain } from '../../schemas/calendar/index.js';
import { queryRows, type ClickHouseClient } from '../shared/clickhouse.js';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/**
 * Finds late events: events stored for a closed period after its latest revision read the
 * warehouse. Ingest records arrivals per 15-minute slice of occurred_at (table `arrivals`);
 * each closed period remembers when its latest revision computed (kpi_values.computed_at).
 * An arrival in a period's slices after that instant is late for it, and the period's
 * restatement is started or told (`report`), which waits for the late events to stop.
 */

export interface LatePeriod {
  grain: Grain;
  period: string;
  events: number;
  /** Newest arrival counted, epoch ms. */
  lastArrivalMs: number;
}

interface ClosedPeriod {
  grain: Grain;
  period: string;
  revision: number;
  computedFromMs: number;
}

const utcMs = (text: string): number => Date.parse(`${text.replace(' ', 'T')}Z`);

/** Closed periods and when their latest revision (a discarded restatement too) read the data. */
async function closedPeriods(client: ClickHouseClient): Promise<ClosedPeriod[]> {
  const rows = await queryRows<{ grain: Grain; period: string; revision: number; busy: number; computed_from: string | null }>(
    client,
    'SELECT r.grain AS grain, r.period AS period, r.revision AS revision, r.busy AS busy, toString(v.computed_from) AS computed_from FROM ' +
      "(SELECT grain, period, max(revision) AS revision, max(state = 'computing') AS busy FROM period_revisions FINAL GROUP BY grain, period) AS r " +
      'LEFT JOIN (SELECT grain, period, revision, min(computed_at) AS computed_from FROM kpi_values WHERE revision > 0 GROUP BY grain, period, revision) AS v ' +
      'ON v.grain = r.grain AND v.period = r.period AND v.revision = r.revision ' +
      'SETTINGS join_use_nulls = 1',
  );
  // A period whose revision is still computing is left to that computation.
  return rows.filter((r) => r.busy === 0 && r.computed_from !== null).map((r) => ({ grain: r.grain, period: r.period, revision: r.revision, computedFromMs: utcMs(r.computed_from ?? '') }));
}

/** Late events per closed period, from arrivals after `sinceMs`. Pure over what it reads. */
export async function findLateEvents(client: ClickHouseClient, calendar: CalendarConfig): Promise<LatePeriod[]> {
  const closed = await closedPeriods(client);
  if (closed.length === 0) return [];
  const byKey = new Map(closed.map((c) => [`${c.grain}|${c.period}`, c]));
  const sinceMs = Math.min(...closed.map((c) => c.computedFromMs));
  const arrivals = await queryRows<{ slice_at: string; total: string; arrived: string }>(
    client,
    "SELECT toString(slice) AS slice_at, toString(sum(events)) AS total, toString(arrived_at) AS arrived FROM arrivals WHERE arrived_at > {since: DateTime64(3, 'UTC')} GROUP BY slice, arrived_at",
    { since: new Date(sinceMs).toISOString().replace('T', ' ').replace('Z', '') },
  );
  const late = new Map<string, LatePeriod>();
  for (const a of arrivals) {
    const sliceMs = utcMs(a.slice_at);
    const arrivedMs = utcMs(a.arrived);
    for (const grain of GRAINS) {
      const p = periodOf(grain, sliceMs, calendar);
      const c = byKey.get(`${grain}|${p.id}`);
      if (!c || arrivedMs <= c.computedFromMs) continue;
      const key = `${grain}|${p.id}`;
      const entry = late.get(key) ?? { grain, period: p.id, events: 0, lastArrivalMs: 0 };
      entry.events += Number(a.total);
      entry.lastArrivalMs = Math.max(entry.lastArrivalMs, arrivedMs);
      late.set(key, entry);
    }
  }
  return [...late.values()];
}

export interface LateEventWatcher {
  /** Runs one check now; resolves with the periods reported. */
  check(): Promise<LatePeriod[]>;
  stop(): Promise<void>;
}

/**
 * Checks every `intervalMs` and reports each closed period with late events it has not
 * reported yet. What was reported is remembered per revision, so a restatement that is
 * still waiting is not told twice of the same events, and a new revision starts afresh.
 */
export function startLateEventWatcher(options: {
  clickhouse: ClickHouseClient;
  calendar: CalendarConfig;
  intervalMs: number;
  logger: Logger;
  report: (late: LatePeriod) => Promise<void>;
}): LateEventWatcher {
  const reported = new Map<string, number>();
  let running: Promise<LatePeriod[]> | undefined;
  let stopped = false;

  async function checkOnce(): Promise<LatePeriod[]> {
    const found = await findLateEvents(options.clickhouse, options.calendar);
    const sent: LatePeriod[] = [];
    for (const late of found) {
      const key = `${late.grain}|${late.period}`;
      if ((reported.get(key) ?? 0) >= late.lastArrivalMs) continue;
      await options.report(late);
      reported.set(key, late.lastArrivalMs);
      sent.push(late);
      options.logger.info({ grain: late.grain, period: late.period, events: late.events }, 'late events for a closed period: restatement requested');
    }
    // Forget periods no longer late: their restatement has read the events.
    const still = new Set(found.map((l) => `${l.grain}|${l.period}`));
    for (const key of reported.keys()) if (!still.has(key)) reported.delete(key);
    return sent;
  }

  const check = (): Promise<LatePeriod[]> => {
    running ??= checkOnce().finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => {
    if (stopped) return;
    check().catch((err: unknown) => options.logger.warn({ err: describeError(err) }, 'late-event check failed; will retry'));
  }, options.intervalMs);
  return {
    check,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}

import { GRAINS, periodOf, type CalendarConfig, type Grain } from '../../schemas/calendar/index.js';
import { queryRows, type ClickHouseClient } from '../shared/clickhouse.js';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/**
 * Finds late events: events stored for a closed period after its latest revision began to
 * read the warehouse. Ingest records arrivals per 15-minute slice of occurred_at (table
 * `arrivals`); each revision records when it began reading (period_revisions.read_at).
 * An arrival in a period's slices after that instant is late for it, and the period's
 * restatement is started or told (`report`), which waits for the late events to stop.
 */

export interface LatePeriod {
  grain: Grain;
  period: string;
  /** Late arrivals: when (epoch ms) and how many events, oldest first. */
  arrivals: { atMs: number; events: number }[];
}

interface ClosedPeriod {
  grain: Grain;
  period: string;
  readFromMs: number;
}

const utcMs = (text: string): number => Date.parse(`${text.replace(' ', 'T')}Z`);

/** Closed periods and when their latest revision (a discarded restatement too) began reading. */
async function closedPeriods(client: ClickHouseClient): Promise<ClosedPeriod[]> {
  const rows = await queryRows<{ grain: Grain; period: string; state: string; read_at: string }>(
    client,
    'SELECT grain, period, argMax(state, revision) AS state, toString(argMax(read_at, revision)) AS read_at FROM period_revisions FINAL GROUP BY grain, period',
  );
  // A period whose latest revision is still computing is left to that computation.
  return rows.filter((r) => r.state !== 'computing').map((r) => ({ grain: r.grain, period: r.period, readFromMs: utcMs(r.read_at) }));
}

/** Late arrivals per closed period. */
export async function findLateEvents(client: ClickHouseClient, calendar: CalendarConfig): Promise<LatePeriod[]> {
  const closed = await closedPeriods(client);
  if (closed.length === 0) return [];
  const byKey = new Map(closed.map((c) => [`${c.grain}|${c.period}`, c]));
  const sinceMs = Math.min(...closed.map((c) => c.readFromMs));
  const arrivals = await queryRows<{ slice_at: string; total: string; arrived: string }>(
    client,
    "SELECT toString(slice) AS slice_at, toString(sum(events)) AS total, toString(arrived_at) AS arrived FROM arrivals WHERE arrived_at > {since: DateTime64(3, 'UTC')} GROUP BY slice, arrived_at ORDER BY arrived_at",
    { since: new Date(sinceMs).toISOString().replace('T', ' ').replace('Z', '') },
  );
  const late = new Map<string, LatePeriod>();
  for (const a of arrivals) {
    const sliceMs = utcMs(a.slice_at);
    const arrivedMs = utcMs(a.arrived);
    for (const grain of GRAINS) {
      const p = periodOf(grain, sliceMs, calendar);
      const key = `${grain}|${p.id}`;
      const c = byKey.get(key);
      if (!c || arrivedMs <= c.readFromMs) continue;
      const entry = late.get(key) ?? { grain, period: p.id, arrivals: [] };
      entry.arrivals.push({ atMs: arrivedMs, events: Number(a.total) });
      late.set(key, entry);
    }
  }
  return [...late.values()];
}

/** What a check reports for one period: the late events not reported before. */
export interface LateReport {
  grain: Grain;
  period: string;
  events: number;
}

export interface LateEventWatcher {
  /** Runs one check now; resolves with what it reported. */
  check(): Promise<LateReport[]>;
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
  report: (late: LateReport) => Promise<void>;
}): LateEventWatcher {
  /** Per period, the newest arrival already reported. */
  const reported = new Map<string, number>();
  let running: Promise<LateReport[]> | undefined;
  let stopped = false;

  async function checkOnce(): Promise<LateReport[]> {
    const found = await findLateEvents(options.clickhouse, options.calendar);
    const sent: LateReport[] = [];
    for (const late of found) {
      const key = `${late.grain}|${late.period}`;
      const since = reported.get(key) ?? 0;
      const fresh = late.arrivals.filter((a) => a.atMs > since);
      if (fresh.length === 0) continue;
      const report = { grain: late.grain, period: late.period, events: fresh.reduce((n, a) => n + a.events, 0) };
      await options.report(report);
      reported.set(key, Math.max(...fresh.map((a) => a.atMs)));
      sent.push(report);
      options.logger.info(report, 'late events for a closed period: restatement requested');
    }
    // Forget periods no longer late: their restatement has read the events.
    const still = new Set(found.map((l) => `${l.grain}|${l.period}`));
    for (const key of reported.keys()) if (!still.has(key)) reported.delete(key);
    return sent;
  }

  const check = (): Promise<LateReport[]> => {
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

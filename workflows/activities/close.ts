import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Grain } from '../../schemas/calendar/index.js';
import type { KpiId } from '../../schemas/kpis/catalog.js';
import { LEVELS, chInstant, compileKpis, type MoneySettings } from '../../schemas/kpis/compile.js';
import { scoreScorecard, scorecardsFor, type ScorecardConfig, type UnitValue } from '../../schemas/scorecards/index.js';
import { appendChained } from '../../services/periods/audit-chain.js';
import { createDayPartials } from '../../services/periods/day-partials.js';
import { insertRows, queryRows, type ClickHouseClient } from '../../services/shared/clickhouse.js';
import { topicEndOffsets, type Kafka } from '../../services/shared/kafka.js';

export interface CloseDeps {
  clickhouse: ClickHouseClient;
  scorecards: ScorecardConfig;
  /** The reporting currency and the time zone of business days. */
  money: MoneySettings;
  /** Where ingest reads from, to tell whether it has caught up; without it only ingest progress counts. */
  ingest?: { kafka: Kafka; topics: string[] };
}

export interface PeriodKey {
  grain: Grain;
  period: string;
}

export interface PeriodBounds extends PeriodKey {
  start: string;
  end: string;
  /** Start of the period before (member churn and customer growth look back one period). */
  previousStart: string;
}

/** computing → closed (→ approved for quarters); a restatement may instead be pending (approval) or discarded (no change). */
export type RevisionState = 'computing' | 'closed' | 'pending' | 'approved' | 'discarded';

export interface Readiness {
  ready: boolean;
  /** Partitions still behind: events left to ingest and none yet past the point asked for. */
  behind: { topic: string; partition: number; lag: string; maxEventTime: string | null }[];
}

const HEARTBEAT_MS = 5_000;

/** Runs `work`, heartbeating meanwhile so Temporal knows a long query is alive. */
async function withHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** Equal, or both missing. */
const same = (a: string, b: string): string => `((${a} IS NULL AND ${b} IS NULL) OR ifNull(${a} = ${b}, 0))`;

const utcMs = (chText: string): number => Date.parse(`${chText.replace(' ', 'T')}Z`);

/** Activities of closing and restating periods, bound to their dependencies. */
export function createCloseActivities({ clickhouse, scorecards, money, ingest }: CloseDeps) {
  const partials = createDayPartials(clickhouse);
  async function revisions(key: PeriodKey): Promise<{ revision: number; state: RevisionState; workflow_id: string }[]> {
    return queryRows(
      clickhouse,
      'SELECT revision, state, workflow_id FROM period_revisions FINAL WHERE grain = {grain: String} AND period = {period: String} ORDER BY revision',
      { grain: key.grain, period: key.period },
    );
  }

  return {
    /**
     * Has ingest caught up to `untilMs`? Every partition of the family topics must have
     * stored an event at or after it, or have nothing left to ingest (an idle partition never
     * blocks a close).
     */
    async ingestReadiness({ untilMs }: { untilMs: number }): Promise<Readiness> {
      const progress = await queryRows<{ topic: string; partition: number; next_offset: string; max_event_time: string }>(
        clickhouse,
        'SELECT topic, partition, toString(max(next_offset)) AS next_offset, toString(max(max_event_time)) AS max_event_time FROM ingest_progress GROUP BY topic, partition',
      );
      const byPartition = new Map(progress.map((p) => [`${p.topic}:${p.partition}`, p]));
      const ends = ingest ? await topicEndOffsets(ingest.kafka, ingest.topics) : [];
      const behind: Readiness['behind'] = [];
      for (const end of ends) {
        const p = byPartition.get(`${end.topic}:${end.partition}`);
        const lag = end.high - BigInt(p?.next_offset ?? '0');
        const past = p !== undefined && utcMs(p.max_event_time) >= untilMs;
        if (lag > 0n && !past) behind.push({ topic: end.topic, partition: end.partition, lag: lag.toString(), maxEventTime: p ? p.max_event_time : null });
      }
      return { ready: behind.length === 0, behind };
    },

    /**
     * Starts (or resumes) a revision of the period. A close of a period already closed
     * returns the existing revision; a retried step finds its own `computing` row again.
     */
    async beginRevision(input: PeriodBounds & { kind: 'close' | 'restate'; workflowId: string; forced: boolean; reason: string; atMs: number }): Promise<{ revision: number; existing: boolean; previous: number | null; previousState: RevisionState | null }> {
      const all = await revisions(input);
      const done = all.filter((r) => r.state !== 'computing' && r.state !== 'discarded');
      const latestDone = done.at(-1);
      if (input.kind === 'close' && latestDone) {
        return { revision: latestDone.revision, existing: true, previous: null, previousState: null };
      }
      if (input.kind === 'restate' && !latestDone) {
        throw ApplicationFailure.nonRetryable(`${input.grain} ${input.period} has never been closed; close it before restating`, 'NotClosed');
      }
      const current = [...done].reverse().find((r) => r.state === 'closed' || r.state === 'approved') ?? null;
      const mine = all.find((r) => r.state === 'computing' && r.workflow_id === input.workflowId);
      const revision = mine?.revision ?? (all.at(-1)?.revision ?? 0) + 1;
      await insertRows(clickhouse, 'period_revisions', [
        {
          grain: input.grain,
          period: input.period,
          revision,
          state: 'computing',
          period_start: chInstant(input.start),
          period_end: chInstant(input.end),
          forced: input.forced,
          reason: input.reason,
          workflow_id: input.workflowId,
          late_events: 0,
          updated_at: chInstant(new Date(input.atMs).toISOString()),
          // read_at: ClickHouse's clock at this insert, before any KPI query of the revision.
        },
      ]);
      return { revision, existing: false, previous: current?.revision ?? null, previousState: current?.state ?? null };
    },

    /**
     * Makes the day partials of [start, end) fresh: recomputes the days without partials and
     * those whose events changed. Returns when they were known fresh (ClickHouse's clock).
     */
    async refreshPartials(input: { start: string; end: string }): Promise<{ checkedAt: string; computed: number }> {
      const fresh = await withHeartbeat(() => partials.refresh({ start: input.start, end: input.end, ...money }));
      return { checkedAt: fresh.checkedAt, computed: fresh.computed.length };
    },

    /**
     * Computes KPIs for every unit of every level and writes them as rows of the revision,
     * from the day partials of the period and the one before: made fresh by refreshPartials
     * at `checkedAt` (the instant the values are stamped with), or here without it.
     */
    async computeValues(input: PeriodBounds & { revision: number; status: 'closed' | 'provisional'; kpis: KpiId[]; checkedAt?: string }): Promise<{ rows: number }> {
      const fresh = input.checkedAt !== undefined ? { checkedAt: input.checkedAt } : await withHeartbeat(() => partials.refresh({ start: input.previousStart, end: input.end, ...money }));
      const compiled = compileKpis({
        kpis: input.kpis,
        period: { grain: input.grain, id: input.period, start: input.start, end: input.end },
        previous: { start: input.previousStart },
        levels: LEVELS,
        money,
        from: 'partials',
      });
      const query =
        'INSERT INTO kpi_values (grain, period, period_start, period_end, revision, status, kpi, level, unit, parent, numerator, denominator, value, missing, as_of, computed_at) ' +
        `SELECT {p_grain: String}, {p_period: String}, {p_start: DateTime64(3, 'UTC')}, {p_end: DateTime64(3, 'UTC')}, {revision: UInt32}, {status: String}, ` +
        `kpi, level, unit, parent, numerator, denominator, value, missing, as_of, {computed_at: DateTime64(3, 'UTC')} FROM (${compiled.sql})`;
      // computed_at: when the partials read were known fresh, so a later arrival is a change (provisionalStale).
      await withHeartbeat(() => clickhouse.command({ query, query_params: { ...compiled.params, revision: input.revision, status: input.status, computed_at: fresh.checkedAt } }));
      const [row] = await queryRows<{ n: string }>(
        clickhouse,
        'SELECT toString(count()) AS n FROM kpi_values FINAL WHERE grain = {grain: String} AND period = {period: String} AND revision = {revision: UInt32} AND kpi IN {kpis: Array(String)}',
        { grain: input.grain, period: input.period, revision: input.revision, kpis: input.kpis },
      );
      return { rows: Number(row?.n ?? 0) };
    },

    /**
     * Which open periods' provisional values are out of date: those with none yet, and those
     * whose events (of the period or the one before, which churn and growth read) or imports
     * (targets, inputs, rates) arrived after their values were computed. The rest are as
     * they would be recomputed.
     */
    async provisionalStale(input: { periods: PeriodBounds[] }): Promise<string[]> {
      const stale: string[] = [];
      for (const p of input.periods) {
        const [row] = await queryRows<{ stale: number }>(
          clickhouse,
          'WITH (SELECT minOrNull(computed_at) FROM kpi_values FINAL WHERE grain = {grain: String} AND period = {period: String} AND revision = 0) AS computed ' +
            "SELECT toUInt8(isNull(computed) OR (SELECT count() FROM arrivals WHERE arrived_at > computed AND slice >= {from: DateTime64(3, 'UTC')} AND slice < {end: DateTime64(3, 'UTC')}) > 0 " +
            'OR (SELECT count() FROM imports WHERE imported_at > computed) > 0) AS stale',
          { grain: p.grain, period: p.period, from: chInstant(p.previousStart), end: chInstant(p.end) },
        );
        if (row?.stale) stale.push(`${p.grain}|${p.period}`);
      }
      return stale;
    },

    /** Scores and ranks every scorecard for the grain from the revision's values. */
    async scoreRevision(input: PeriodKey & { revision: number }): Promise<{ scorecards: number; units: number }> {
      const cards = scorecardsFor(scorecards, input.grain);
      if (cards.length === 0) return { scorecards: 0, units: 0 };
      const kpis = [...new Set(cards.flatMap((c) => c.lines.map((l) => l.kpi)))];
      const levels = [...new Set(cards.map((c) => c.level))];
      const values = await queryRows<UnitValue>(
        clickhouse,
        'SELECT level, unit, parent, kpi, value FROM kpi_values FINAL WHERE grain = {grain: String} AND period = {period: String} AND revision = {revision: UInt32} AND kpi IN {kpis: Array(String)} AND level IN {levels: Array(String)}',
        { ...input, kpis, levels },
      );
      const computedAt = chInstant(new Date().toISOString());
      const units: Record<string, unknown>[] = [];
      const lines: Record<string, unknown>[] = [];
      for (const card of cards) {
        for (const s of scoreScorecard(card, scorecards.bands, values)) {
          const key = { grain: input.grain, period: input.period, revision: input.revision, scorecard: s.scorecard, level: s.level, unit: s.unit };
          units.push({ ...key, peer_group: s.peerGroup, score: s.score, rank: s.rank, peers: s.peers, band: s.band, missing: s.missing, computed_at: computedAt });
          for (const l of s.lines) {
            lines.push({ ...key, kpi: l.kpi, weight: l.weight, value: l.value, target: l.target, achievement: l.achievement, points: l.points, missing: l.missing, computed_at: computedAt });
          }
        }
      }
      await insertRows(clickhouse, 'scorecards', units);
      await insertRows(clickhouse, 'scorecard_lines', lines);
      return { scorecards: cards.length, units: units.length };
    },

    /**
     * Moves the revision to its next state and records the transition. The row keeps what
     * it had (forced, reason, workflow, late events, read time) unless the call sets it.
     * Timestamps come from the workflow, so a retried call writes the very same rows.
     */
    async recordTransition(input: PeriodBounds & { revision: number; state: RevisionState; action: string; actor: string; comment: string; atMs: number; forced?: boolean; reason?: string; workflowId?: string; lateEvents?: number; details?: Record<string, unknown> }): Promise<void> {
      const at = chInstant(new Date(input.atMs).toISOString());
      const [row] = await queryRows<{ forced: boolean; reason: string; workflow_id: string; late_events: string; read_at: string }>(
        clickhouse,
        'SELECT forced, reason, workflow_id, toString(late_events) AS late_events, toString(read_at) AS read_at FROM period_revisions FINAL WHERE grain = {grain: String} AND period = {period: String} AND revision = {revision: UInt32}',
        { grain: input.grain, period: input.period, revision: input.revision },
      );
      await insertRows(clickhouse, 'period_revisions', [
        {
          grain: input.grain,
          period: input.period,
          revision: input.revision,
          state: input.state,
          period_start: chInstant(input.start),
          period_end: chInstant(input.end),
          forced: input.forced ?? row?.forced ?? false,
          reason: input.reason ?? row?.reason ?? '',
          workflow_id: input.workflowId ?? row?.workflow_id ?? '',
          late_events: input.lateEvents ?? Number(row?.late_events ?? 0),
          updated_at: at,
          read_at: row?.read_at ?? at,
        },
      ]);
      // Chained (seq, prev_hash, hash); a retried call finds its row stored and writes nothing.
      await appendChained(clickhouse, 'period_audit', [
        { at, grain: input.grain, period: input.period, revision: input.revision, action: input.action, actor: input.actor, comment: input.comment, details: JSON.stringify(input.details ?? {}) },
      ]);
    },

    /** Writes what changed from one revision to the next, per KPI and unit; returns how many changed. */
    async diffRevisions(input: PeriodKey & { from: number; to: number }): Promise<{ changed: number }> {
      const params = { ...input };
      await clickhouse.command({
        query:
          'INSERT INTO restatements (grain, period, from_revision, to_revision, kpi, level, unit, old_value, new_value, old_numerator, new_numerator, old_denominator, new_denominator, computed_at) ' +
          'SELECT {grain: String}, {period: String}, {from: UInt32}, {to: UInt32}, kpi, level, unit, ' +
          'o.value, n.value, o.numerator, n.numerator, o.denominator, n.denominator, now64(3) FROM ' +
          '(SELECT kpi, level, unit, value, numerator, denominator FROM kpi_values FINAL WHERE grain = {grain: String} AND period = {period: String} AND revision = {to: UInt32}) AS n ' +
          'FULL OUTER JOIN ' +
          '(SELECT kpi, level, unit, value, numerator, denominator FROM kpi_values FINAL WHERE grain = {grain: String} AND period = {period: String} AND revision = {from: UInt32}) AS o ' +
          'USING (kpi, level, unit) ' +
          `WHERE NOT (${same('o.value', 'n.value')} AND ${same('o.numerator', 'n.numerator')} AND ${same('o.denominator', 'n.denominator')}) ` +
          'SETTINGS join_use_nulls = 1',
        query_params: params,
      });
      const [row] = await queryRows<{ n: string }>(
        clickhouse,
        'SELECT toString(count()) AS n FROM restatements FINAL WHERE grain = {grain: String} AND period = {period: String} AND to_revision = {to: UInt32}',
        params,
      );
      return { changed: Number(row?.n ?? 0) };
    },

    /** Every revision of the period, oldest first. */
    async periodRevisions(key: PeriodKey): Promise<{ revision: number; state: RevisionState }[]> {
      return (await revisions(key)).map((r) => ({ revision: r.revision, state: r.state }));
    },
  };
}

export type CloseActivities = ReturnType<typeof createCloseActivities>;

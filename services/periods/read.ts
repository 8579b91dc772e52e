import type { Grain } from '../../schemas/calendar/index.js';
import type { Level } from '../../schemas/kpis/compile.js';
import { queryRows, type ClickHouseClient } from '../shared/clickhouse.js';

/**
 * Reading closed periods back: which revision is current, its KPI values and its ranked
 * scorecards. The current revision of a period is its latest closed or approved one; a
 * pending restatement (awaiting approval) and a discarded one are never current.
 */

export interface PeriodStatus {
  grain: Grain;
  period: string;
  /** The current revision, or null while the first close is still computing. */
  revision: number | null;
  /** closed, approved, computing; `pending` when a restatement awaits approval. */
  state: string;
  /** State of the current revision itself (closed or approved), or null. */
  currentState: string | null;
  revisions: number;
  pendingRevision: number | null;
  forced: boolean;
  updatedAt: string;
}

interface RevisionRow {
  grain: Grain;
  period: string;
  revision: number;
  state: string;
  forced: boolean;
  updated_at: string;
}

function summarise(rows: RevisionRow[]): PeriodStatus[] {
  const byPeriod = new Map<string, RevisionRow[]>();
  for (const r of rows) byPeriod.set(`${r.grain}\u0000${r.period}`, [...(byPeriod.get(`${r.grain}\u0000${r.period}`) ?? []), r]);
  return [...byPeriod.values()].map((revs) => {
    revs.sort((a, b) => a.revision - b.revision);
    const current = [...revs].reverse().find((r) => r.state === 'closed' || r.state === 'approved');
    const pending = [...revs].reverse().find((r) => r.state === 'pending' && (!current || r.revision > current.revision));
    const computing = revs.find((r) => r.state === 'computing');
    const first = revs[0] as RevisionRow;
    const latest = revs[revs.length - 1] as RevisionRow;
    return {
      grain: first.grain,
      period: first.period,
      revision: current?.revision ?? null,
      state: pending ? 'pending' : (current?.state ?? computing?.state ?? latest.state),
      currentState: current?.state ?? null,
      revisions: revs.filter((r) => r.state !== 'discarded').length,
      pendingRevision: pending?.revision ?? null,
      forced: current?.forced ?? latest.forced,
      updatedAt: latest.updated_at,
    };
  });
}

/** Every period that has been closed (or is being closed), newest first within each grain. */
export async function listPeriods(client: ClickHouseClient, filter: { grain?: Grain } = {}): Promise<PeriodStatus[]> {
  const rows = await queryRows<RevisionRow>(
    client,
    'SELECT grain, period, revision, state, forced, toString(updated_at) AS updated_at FROM period_revisions FINAL ' +
      "WHERE ({grain: String} = '' OR grain = {grain: String}) ORDER BY grain, period DESC, revision",
    { grain: filter.grain ?? '' },
  );
  return summarise(rows);
}

export async function periodStatus(client: ClickHouseClient, grain: Grain, period: string): Promise<PeriodStatus | null> {
  const rows = await queryRows<RevisionRow>(
    client,
    'SELECT grain, period, revision, state, forced, toString(updated_at) AS updated_at FROM period_revisions FINAL WHERE grain = {grain: String} AND period = {period: String} ORDER BY revision',
    { grain, period },
  );
  return summarise(rows)[0] ?? null;
}

export interface KpiValueRow {
  kpi: string;
  level: Level;
  unit: string;
  parent: string;
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  /** What a missing value lacks: exchange rates as "HKD 2026-03-04" (currency, business day). */
  missing: string[];
  /** The newest event time the value includes (UTC, `YYYY-MM-DD HH:MM:SS.mmm`); null for an imported value. */
  as_of: string | null;
  revision: number;
  status: string;
}

/**
 * KPI values of a period: the current revision, or `revision` when given (1 is "as
 * reported"); with no close yet, the provisional values (revision 0).
 */
export async function readValues(
  client: ClickHouseClient,
  query: { grain: Grain; period: string; level?: Level; kpi?: string; revision?: number },
): Promise<{ revision: number; status: string; values: KpiValueRow[] }> {
  const revision = query.revision ?? (await periodStatus(client, query.grain, query.period))?.revision ?? 0;
  const [row] = await queryRows<{ state: string }>(
    client,
    'SELECT state FROM period_revisions FINAL WHERE grain = {grain: String} AND period = {period: String} AND revision = {revision: UInt32}',
    { grain: query.grain, period: query.period, revision },
  );
  const state = revision === 0 ? 'provisional' : (row?.state ?? 'unknown');
  const values = await queryRows<Omit<KpiValueRow, 'revision' | 'status'>>(
    client,
    'SELECT kpi, level, unit, parent, value, numerator, denominator, missing, toString(as_of) AS as_of FROM kpi_values FINAL ' +
      'WHERE grain = {grain: String} AND period = {period: String} AND revision = {revision: UInt32} ' +
      "AND ({level: String} = '' OR level = {level: String}) AND ({kpi: String} = '' OR kpi = {kpi: String}) " +
      'ORDER BY level, unit, kpi',
    { grain: query.grain, period: query.period, revision, level: query.level ?? '', kpi: query.kpi ?? '' },
  );
  return { revision, status: state, values: values.map((v) => ({ ...v, revision, status: state })) };
}

export interface ScorecardRow {
  scorecard: string;
  level: Level;
  unit: string;
  peer_group: string;
  score: number | null;
  rank: number | null;
  peers: number;
  band: string;
  missing: string[];
}

export interface ScorecardLineRow {
  scorecard: string;
  unit: string;
  kpi: string;
  weight: number;
  value: number | null;
  target: number | null;
  achievement: number | null;
  points: number | null;
  missing: boolean;
}

/** Scored scorecards of a period's current revision (or `revision`), ranked within peer groups. */
export async function readScorecards(
  client: ClickHouseClient,
  query: { grain: Grain; period: string; level?: Level; scorecard?: string; revision?: number },
): Promise<{ revision: number | null; units: ScorecardRow[]; lines: ScorecardLineRow[] }> {
  const revision = query.revision ?? (await periodStatus(client, query.grain, query.period))?.revision ?? null;
  if (revision === null) return { revision: null, units: [], lines: [] };
  const params = { grain: query.grain, period: query.period, revision, level: query.level ?? '', scorecard: query.scorecard ?? '' };
  const where =
    'WHERE grain = {grain: String} AND period = {period: String} AND revision = {revision: UInt32} ' +
    "AND ({level: String} = '' OR level = {level: String}) AND ({scorecard: String} = '' OR scorecard = {scorecard: String})";
  const units = await queryRows<ScorecardRow>(
    client,
    `SELECT scorecard, level, unit, peer_group, score, rank, peers, band, missing FROM scorecards FINAL ${where} ORDER BY scorecard, peer_group, isNull(rank), rank, unit`,
    params,
  );
  const lines = await queryRows<ScorecardLineRow>(
    client,
    `SELECT scorecard, unit, kpi, weight, value, target, achievement, points, missing FROM scorecard_lines FINAL ${where} ORDER BY scorecard, unit, weight DESC, kpi`,
    params,
  );
  return { revision, units, lines };
}

export interface RestatementRow {
  kpi: string;
  level: Level;
  unit: string;
  from_revision: number;
  to_revision: number;
  old_value: number | null;
  new_value: number | null;
}

/** What restatements of the period changed, per KPI and unit. */
export async function readRestatements(client: ClickHouseClient, query: { grain: Grain; period: string }): Promise<RestatementRow[]> {
  return queryRows<RestatementRow>(
    client,
    'SELECT kpi, level, unit, from_revision, to_revision, old_value, new_value FROM restatements FINAL WHERE grain = {grain: String} AND period = {period: String} ORDER BY to_revision, level, unit, kpi',
    query,
  );
}

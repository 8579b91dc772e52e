import { periodsBetween, previousPeriod, type CalendarConfig, type Period } from '../../schemas/calendar/index.js';
import type { KpiId } from '../../schemas/kpis/catalog.js';
import type { Band, ScorecardConfig } from '../../schemas/scorecards/index.js';
import type { Operations } from '../operations/operations.js';
import type { KpiValueRow, RestatementRow, ScorecardLineRow, ScorecardRow } from '../periods/read.js';
import type { PeriodAuditEntry, PeriodImports } from '../periods/trail.js';
import { UsageError } from '../shared/errors.js';

/**
 * What the quarterly review pack shows, gathered through the operations layer (so the caller's
 * credential and role decide, locally or through the kpi process holding the store). Every
 * number is of one revision, the quarter's current one, named in the pack; the previous
 * quarter is its current closed revision. Nothing here depends on when it is gathered, so a
 * pack of an approved revision reads the same every time; what can change it is recorded
 * news: an import made since (listed as such), a restatement or approval of either quarter.
 */

/** The KPIs of the headline page, in the order of the README's headline table. */
export const HEADLINE_KPIS = ['net_sales', 'sales_attainment', 'on_time_delivery_rate', 'return_rate', 'complaint_rate', 'csat', 'first_response_time'] as const satisfies readonly KpiId[];

/** A target of a headline KPI: imported for the unit, else the first scorecard line's. */
export interface HeadlineTarget {
  value: number;
  from: 'import' | 'scorecard';
  /** The import id, or the scorecard id. */
  ref: string;
}

export interface HeadlineUnit {
  unit: string;
  value: number | null;
  previous: number | null;
  target: HeadlineTarget | null;
}

export interface HeadlineRow {
  kpi: KpiId;
  company: HeadlineUnit;
  regions: HeadlineUnit[];
}

/** A scorecard of the quarter: its units ranked, each with its lines. */
export interface ScorecardPage {
  id: string;
  zh: string;
  en: string;
  level: string;
  peerGroup: 'parent' | 'level';
  /** The card's lines as scored (weight and target as stored with the scores). */
  lines: { kpi: string; weight: number; target: number | null; rule: string | null }[];
  units: (Omit<ScorecardRow, 'scorecard'> & { lines: Omit<ScorecardLineRow, 'scorecard' | 'unit'>[] })[];
}

export interface ReviewPackData {
  quarter: Period;
  /** The revision every number of the quarter is of. */
  revision: number;
  /** closed or approved: the state of that revision. */
  revisionState: string;
  /** A restatement waiting for approval, not shown, or null. */
  pendingRevision: number | null;
  forced: boolean;
  /** The approval of the revision shown, from period_audit, or null. */
  approval: { actor: string; at: string; comment: string } | null;
  previous: { quarter: string; revision: number | null };
  headline: HeadlineRow[];
  bands: Band[];
  scorecards: ScorecardPage[];
  /** What restatements changed, every revision since the first (the current, superseded and pending ones). */
  restatements: RestatementRow[];
  imports: PeriodImports;
  /** The quarter's and its months' transitions, oldest first. */
  audit: PeriodAuditEntry[];
}

function valueOf(rows: readonly KpiValueRow[], kpi: string, level: string, unit: string): number | null {
  return rows.find((r) => r.kpi === kpi && r.level === level && r.unit === unit)?.value ?? null;
}

/** The target a headline KPI of a unit is read against. */
function targetOf(kpi: KpiId, level: string, unit: string, imports: PeriodImports, scorecards: ScorecardConfig): HeadlineTarget | null {
  const imported = imports.used.find((r) => r.kind === 'targets' && r.kpi === kpi && r.level === level && r.unit === unit);
  if (imported) return { value: imported.value, from: 'import', ref: imported.importId };
  for (const card of scorecards.scorecards) {
    const line = card.lines.find((l) => l.kpi === kpi);
    if (line) return { value: line.target, from: 'scorecard', ref: card.id };
  }
  return null;
}

/**
 * Everything the pack of `quarter` shows. A quarter that has not been closed has no pack: a
 * UsageError says so.
 */
export async function gatherReviewPack(operations: Operations, options: { quarter: Period; calendar: CalendarConfig; scorecards: ScorecardConfig }): Promise<ReviewPackData> {
  const { quarter, calendar, scorecards } = options;
  const status = await operations.periodStatus('quarter', quarter.id);
  if (status === null || status.revision === null) {
    throw new UsageError(`${quarter.id} has not been closed, so it has no review pack yet (kpi periods --grain quarter shows what has; kpi close --grain quarter --period ${quarter.id} closes it)`);
  }
  const revision = status.revision;
  const grain = 'quarter' as const;
  const prev = previousPeriod(quarter, calendar);
  const prevStatus = await operations.periodStatus(grain, prev.id);
  const prevRevision = prevStatus?.revision ?? null;

  const read = async (period: string, rev: number | null): Promise<KpiValueRow[]> => {
    if (rev === null) return [];
    const levels = await Promise.all((['company', 'region'] as const).map((level) => operations.values({ grain, period, level, revision: rev })));
    return levels.flatMap((l) => l.values);
  };
  const [values, prevValues, cards, restatements, imports] = await Promise.all([
    read(quarter.id, revision),
    read(prev.id, prevRevision),
    operations.scorecards({ grain, period: quarter.id, revision }),
    operations.restatements({ grain, period: quarter.id }),
    operations.periodImports({ grain, period: quarter.id, revision }),
  ]);
  const months = periodsBetween('month', Date.parse(quarter.start), Date.parse(quarter.end), calendar);
  const trails = await Promise.all([quarter, ...months].map((p) => operations.periodAudit({ grain: p.grain, period: p.id })));
  // In the order written: the hash chain's seq, or the time for rows written before the chain.
  const audit = trails.flat().sort((a, b) => (a.seq > 0 && b.seq > 0 ? a.seq - b.seq : a.at.localeCompare(b.at)));

  const regions = [...new Set(values.filter((v) => v.level === 'region').map((v) => v.unit))].sort();
  const headline = HEADLINE_KPIS.map((kpi) => {
    const unitOf = (level: string, unit: string): HeadlineUnit => ({
      unit,
      value: valueOf(values, kpi, level, unit),
      previous: valueOf(prevValues, kpi, level, unit),
      target: targetOf(kpi, level, unit, imports, scorecards),
    });
    return { kpi, company: unitOf('company', 'all'), regions: regions.map((r) => unitOf('region', r)) };
  });

  const approval =
    status.currentState === 'approved'
      ? (audit.filter((a) => a.grain === grain && a.period === quarter.id && a.action === 'approve' && a.revision === revision).at(-1) ?? null)
      : null;

  // Cards as scored, in the order of the scorecards in force; a card scored then but no
  // longer configured still shows, under its id.
  const scored = [...new Set(cards.units.map((u) => u.scorecard))];
  const order = (id: string): number => {
    const i = scorecards.scorecards.findIndex((c) => c.id === id);
    return i < 0 ? scorecards.scorecards.length : i;
  };
  const pages = scored
    .sort((a, b) => order(a) - order(b) || a.localeCompare(b))
    .map((id): ScorecardPage => {
      const card = scorecards.scorecards.find((c) => c.id === id);
      const units = cards.units.filter((u) => u.scorecard === id);
      const lines = cards.lines.filter((l) => l.scorecard === id);
      const kpis = [...new Map(lines.map((l) => [l.kpi, l])).values()].sort((a, b) => b.weight - a.weight || a.kpi.localeCompare(b.kpi));
      return {
        id,
        zh: card?.zh ?? id,
        en: card?.en ?? id,
        level: units[0]?.level ?? card?.level ?? '',
        peerGroup: card?.peerGroup ?? 'parent',
        lines: kpis.map((l) => ({ kpi: l.kpi, weight: l.weight, target: l.target, rule: card?.lines.find((c) => c.kpi === l.kpi)?.rule ?? null })),
        units: units.map(({ scorecard: _s, ...u }) => ({ ...u, lines: lines.filter((l) => l.unit === u.unit).map(({ scorecard: _c, unit: _u, ...l }) => l) })),
      };
    });

  return {
    quarter,
    revision,
    revisionState: status.currentState ?? status.state,
    pendingRevision: status.pendingRevision,
    forced: status.forced,
    approval: approval ? { actor: approval.actor, at: approval.at, comment: approval.comment } : null,
    previous: { quarter: prev.id, revision: prevRevision },
    headline,
    bands: scorecards.bands,
    scorecards: pages,
    restatements,
    imports,
    audit,
  };
}

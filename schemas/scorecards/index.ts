import { z } from 'zod';
import { GRAINS } from '../calendar/index.js';
import { KPI_IDS, kpiById, type KpiId } from '../kpis/catalog.js';
import { LEVELS, type Level } from '../kpis/compile.js';

/**
 * Scorecards: which KPIs a role is judged by, with weights that sum to 100, a target and a
 * scoring rule per KPI, rating bands, and ranking within a peer group. Pure.
 *
 * Scoring a line (value v, target t, floor f, cap c; all in the KPI's value unit):
 * - `achievement`: v ÷ t when higher is better, t ÷ v when lower is better (v = 0 then
 *   counts as the cap), between 0 and c;
 * - `linear`: (v − f) ÷ (t − f), between 0 and c: no points at the floor, full points at the
 *   target (for lower-is-better KPIs the floor lies above the target).
 * Points = weight × that fraction. A line without a value is missing: the unit gets no
 * score and no rank (`missing: 'unscored'`, the default), or the present lines are scaled up
 * to 100 (`missing: 'reweight'`); either way the missing KPIs are listed, never scored as 0.
 */

export const ScorecardLine = z
  .object({
    kpi: z.enum(KPI_IDS as [KpiId, ...KpiId[]]),
    /** Share of the total score, in points; the lines of a scorecard sum to 100. */
    weight: z.number().positive().max(100),
    /** Value that earns full points, in the KPI's value unit (ratios as fractions: 1 = 100%). */
    target: z.number().finite(),
    rule: z.enum(['achievement', 'linear']).default('achievement'),
    /** `linear` only: value that earns no points. */
    floor: z.number().finite().optional(),
    /** Highest fraction of the weight a line can earn. @default 1 */
    cap: z.number().min(1).max(3).default(1),
  })
  .strict()
  .superRefine((line, ctx) => {
    if (line.rule === 'linear') {
      if (line.floor === undefined) ctx.addIssue({ code: 'custom', message: `${line.kpi}: a linear rule needs a floor` });
      else if (line.floor === line.target) ctx.addIssue({ code: 'custom', message: `${line.kpi}: floor and target must differ` });
    } else if (line.target <= 0) {
      ctx.addIssue({ code: 'custom', message: `${line.kpi}: an achievement rule needs a target above 0` });
    }
  });
export type ScorecardLine = z.infer<typeof ScorecardLine>;

export const Band = z.object({ name: z.string().min(1).max(40), min: z.number().min(0) }).strict();
export type Band = z.infer<typeof Band>;

export const Scorecard = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lowercase letters, digits and _'),
    zh: z.string().min(1),
    en: z.string().min(1),
    /** The units scored: every unit of this level. */
    level: z.enum(LEVELS),
    /** Ranked within: `parent` (stores within their region, others within the company) or the whole level. */
    peerGroup: z.enum(['parent', 'level']).default('parent'),
    /** Grains at whose close the scorecard is scored. @default every grain */
    grains: z.array(z.enum(GRAINS)).min(1).default([...GRAINS]),
    missing: z.enum(['unscored', 'reweight']).default('unscored'),
    lines: z.array(ScorecardLine).min(1),
  })
  .strict()
  .superRefine((card, ctx) => {
    const total = card.lines.reduce((s, l) => s + l.weight, 0);
    if (Math.abs(total - 100) > 1e-9) ctx.addIssue({ code: 'custom', path: ['lines'], message: `weights sum to ${total}, not 100` });
    const seen = new Set<string>();
    for (const l of card.lines) {
      if (seen.has(l.kpi)) ctx.addIssue({ code: 'custom', path: ['lines'], message: `${l.kpi} appears twice` });
      seen.add(l.kpi);
    }
  });
export type Scorecard = z.infer<typeof Scorecard>;

export const ScorecardConfig = z
  .object({
    /** Rating bands by minimum score, any order; a score gets the highest band it reaches. */
    bands: z.array(Band).min(1),
    scorecards: z.array(Scorecard).min(1),
  })
  .strict()
  .superRefine((config, ctx) => {
    const ids = config.scorecards.map((s) => s.id);
    for (const id of new Set(ids)) if (ids.filter((x) => x === id).length > 1) ctx.addIssue({ code: 'custom', path: ['scorecards'], message: `scorecard id ${id} appears twice` });
  });
export type ScorecardConfig = z.infer<typeof ScorecardConfig>;
export type ScorecardConfigInput = z.input<typeof ScorecardConfig>;

/** Parses a scorecard configuration; errors name the path and what is wrong. */
export function parseScorecardConfig(input: unknown): ScorecardConfig {
  const result = ScorecardConfig.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new RangeError(`invalid scorecard configuration:\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}

/** A KPI value of one unit, as the close computed it (null: missing). */
export interface UnitValue {
  level: Level;
  unit: string;
  parent: string;
  kpi: string;
  value: number | null;
}

export interface ScoredLine {
  kpi: KpiId;
  weight: number;
  value: number | null;
  target: number;
  /** The fraction of the weight earned, 0…cap; null when the value is missing. */
  achievement: number | null;
  points: number | null;
  missing: boolean;
}

export interface ScoredUnit {
  scorecard: string;
  level: Level;
  unit: string;
  peerGroup: string;
  /** 0…100 × cap; null when unscored for missing data. */
  score: number | null;
  /** Competition ranking within the peer group (1, 2, 2, 4); null when unscored. */
  rank: number | null;
  /** Units of the peer group that have a score. */
  peers: number;
  band: string;
  missing: KpiId[];
  lines: ScoredLine[];
}

/** The fraction of a line's weight a value earns. */
export function lineFraction(line: ScorecardLine, value: number): number {
  const direction = kpiById(line.kpi).direction;
  let fraction: number;
  if (line.rule === 'linear') {
    const floor = line.floor ?? 0;
    fraction = (value - floor) / (line.target - floor);
  } else if (direction === 'higher') {
    fraction = value / line.target;
  } else {
    fraction = value <= 0 ? line.cap : line.target / value;
  }
  return Math.min(line.cap, Math.max(0, fraction));
}

export function bandOf(score: number | null, bands: readonly Band[]): string {
  if (score === null) return 'unscored';
  const reached = bands.filter((b) => score >= b.min).sort((a, b) => b.min - a.min);
  return reached[0]?.name ?? 'unscored';
}

/** Scores one scorecard for every unit of its level found in `values`, and ranks them. */
export function scoreScorecard(card: Scorecard, bands: readonly Band[], values: readonly UnitValue[]): ScoredUnit[] {
  const units = new Map<string, { parent: string; values: Map<string, number | null> }>();
  for (const v of values) {
    if (v.level !== card.level) continue;
    let u = units.get(v.unit);
    if (!u) units.set(v.unit, (u = { parent: v.parent, values: new Map() }));
    // Imported values do not know the unit's parent; event values do.
    if (!u.parent) u.parent = v.parent;
    u.values.set(v.kpi, v.value);
  }
  const scored: ScoredUnit[] = [...units.entries()].map(([unit, u]) => {
    const lines: ScoredLine[] = card.lines.map((line) => {
      const value = u.values.get(line.kpi) ?? null;
      const achievement = value === null || !Number.isFinite(value) ? null : lineFraction(line, value);
      return { kpi: line.kpi, weight: line.weight, value, target: line.target, achievement, points: achievement === null ? null : achievement * line.weight, missing: achievement === null };
    });
    const missing = lines.filter((l) => l.missing).map((l) => l.kpi);
    const present = lines.filter((l) => !l.missing);
    const presentWeight = present.reduce((s, l) => s + l.weight, 0);
    const points = present.reduce((s, l) => s + (l.points ?? 0), 0);
    let score: number | null;
    if (missing.length === 0) score = points;
    else if (card.missing === 'reweight' && presentWeight > 0) score = (points / presentWeight) * 100;
    else score = null;
    const peerGroup = card.peerGroup === 'level' ? card.level : u.parent || card.level;
    return { scorecard: card.id, level: card.level, unit, peerGroup, score, rank: null, peers: 0, band: bandOf(score, bands), missing, lines };
  });
  const groups = new Map<string, ScoredUnit[]>();
  for (const s of scored) groups.set(s.peerGroup, [...(groups.get(s.peerGroup) ?? []), s]);
  for (const members of groups.values()) {
    const ranked = members.filter((m) => m.score !== null).sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
    ranked.forEach((m, i) => {
      const prev = ranked[i - 1];
      m.rank = prev && prev.score === m.score ? prev.rank : i + 1;
    });
    for (const m of members) m.peers = ranked.length;
  }
  return scored.sort((a, b) => a.peerGroup.localeCompare(b.peerGroup) || (a.rank ?? Infinity) - (b.rank ?? Infinity) || a.unit.localeCompare(b.unit));
}

/** Which scorecards are scored at a close of this grain. */
export function scorecardsFor(config: ScorecardConfig, grain: (typeof GRAINS)[number]): Scorecard[] {
  return config.scorecards.filter((s) => s.grains.includes(grain));
}

/**
 * The headline KPIs: the lines of the first scorecard (the operations department's by
 * default, the card the source document puts first) that events measure. Manual KPIs are
 * entered per closed period, so an open period has no value of theirs to watch.
 */
export function headlineLines(config: ScorecardConfig): ScorecardLine[] {
  return (config.scorecards[0]?.lines ?? []).filter((line) => kpiById(line.kpi).kind === 'event');
}

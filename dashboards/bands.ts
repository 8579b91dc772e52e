import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { kpiById } from './common.js';
import type { Band, ScorecardLine } from '../schemas/scorecards/index.js';

/** Band colours from the best band down; bands beyond four share the last. */
const BAND_COLOURS = ['green', 'yellow', 'orange', 'red'];

/** The value of a line at which it earns `fraction` of its weight: the inverse of the scoring rule. */
function valueAt(line: ScorecardLine, fraction: number): number | undefined {
  if (line.rule === 'linear') {
    const floor = line.floor ?? 0;
    return floor + fraction * (line.target - floor);
  }
  if (kpiById(line.kpi).direction === 'higher') return line.target * fraction;
  return fraction > 0 ? line.target / fraction : undefined;
}

/**
 * Stat colours for a KPI by the rating bands its scorecard line reaches: the value that earns
 * a band's share of the weight (A at 90 of 100 points earns 90% of a line) starts that band's
 * colour. Grafana's steps rise with the value, so a lower-is-better KPI starts at its best band.
 */
export function bandThresholds(line: ScorecardLine, bands: readonly Band[]): dashboard.ThresholdsConfigBuilder {
  const best = [...bands].sort((a, b) => b.min - a.min);
  const colour = (i: number): string => BAND_COLOURS[Math.min(i, BAND_COLOURS.length - 1)] ?? 'red';
  const steps: { value: number | null; color: string }[] = [];
  const rising = line.rule === 'linear' ? line.target > (line.floor ?? 0) : kpiById(line.kpi).direction === 'higher';
  if (rising) {
    // Worst band below every step; each better band from the value that earns it.
    steps.push({ value: null, color: colour(best.length - 1) });
    for (let i = best.length - 2; i >= 0; i -= 1) {
      const at = valueAt(line, (best[i]?.min ?? 0) / 100);
      if (at !== undefined) steps.push({ value: at, color: colour(i) });
    }
  } else {
    steps.push({ value: null, color: colour(0) });
    for (let i = 0; i < best.length - 1; i += 1) {
      const at = valueAt(line, (best[i]?.min ?? 0) / 100);
      if (at !== undefined) steps.push({ value: at, color: colour(i + 1) });
    }
  }
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps);
}

export { headlineLines } from '../schemas/scorecards/index.js';

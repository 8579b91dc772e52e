import { DEFAULT_SCORECARDS } from '../../../schemas/scorecards/defaults.js';
import { parseScorecardConfig } from '../../../schemas/scorecards/index.js';
import { buildDashboards, grafanaFiles } from '../../../dashboards/index.js';
import { defaultGrafanaDir, grafanaDrift } from '../../../services/cli/commands/dashboards.js';
import { loadConfig } from '../../../services/shared/config.js';

const defaults = parseScorecardConfig(DEFAULT_SCORECARDS);
const timeZone = loadConfig({}).business.timeZone;

describe('kpi dashboards build', () => {
  it('is deterministic: the same catalog and scorecards give the same bytes', () => {
    expect([...grafanaFiles(defaults, { timeZone })]).toEqual([...grafanaFiles(defaults, { timeZone })]);
  });

  it('matches the checked-in files under infra/grafana (npx kpi dashboards build regenerates them)', async () => {
    expect(await grafanaDrift(defaultGrafanaDir(), grafanaFiles(defaults, { timeZone }))).toEqual({ differs: [], missing: [], extra: [] });
  });

  it('follows the scorecards: a new line is a new pair of columns, a new card a new section, with no hand edit', () => {
    const cards = structuredClone(DEFAULT_SCORECARDS) as { scorecards: { id: string; zh: string; en: string; level: string; lines: { kpi: string; weight: number; target: number }[] }[] };
    const first = cards.scorecards[0];
    if (!first) throw new Error('no scorecard');
    first.lines = [...first.lines.map((l) => ({ ...l, weight: l.weight * 0.9 })), { kpi: 'return_rate', weight: 10, target: 0.05 }];
    cards.scorecards.push({ id: 'night_shift', zh: '夜班', en: 'Night shift', level: 'store', lines: [{ kpi: 'transactions', weight: 100, target: 500 }] });
    const [, board] = buildDashboards(parseScorecardConfig(cards));
    const text = JSON.stringify(board?.dashboard);
    expect(text).toContain("maxIf(value, kpi = 'return_rate') AS `Return rate (units) · value`");
    expect(text).toContain('夜班 · Night shift');
    expect(JSON.stringify(buildDashboards(defaults)[1]?.dashboard)).not.toContain('Night shift');
  });
});

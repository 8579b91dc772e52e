import path from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { alertQueries } from '../../dashboards/alerts.js';
import { headlineLines } from '../../dashboards/bands.js';
import { buildDashboards } from '../../dashboards/index.js';
import { CLICKHOUSE } from '../../dashboards/datasources.js';
import { loadConfig } from '../../services/shared/config.js';
import { loadScorecards } from '../../services/shared/scorecards.js';
import { runKpi } from '../support/cli.js';
import { DEMO_QUARTER, demoFixture } from '../support/demo-fixture.js';
import { grafanaSql, type TimeRange, type VariableValue } from '../support/grafana.js';
import { request, startRun, type RunningKpi } from '../support/kpi-run.js';

/** A panel or variable as the dashboards' JSON holds it: what the test needs of it. */
interface Target {
  refId: string;
  datasource?: { type?: string; uid?: string };
  rawSql?: string;
}
interface Panel {
  type: string;
  title?: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  type: string;
  name: string;
  query?: string;
  multi?: boolean;
  options?: { value: string }[];
  current?: { value: string | string[] };
}

const QUARTER = DEMO_QUARTER;
/** The month the demo restates with late events. */
const RESTATED_MONTH = '2026-08';
/** Every dashboard's time range in the test: the demo's months until after it ran (set then). */
const RANGE: TimeRange = { from: Date.parse('2026-05-01T00:00:00Z') / 1_000, to: 0, intervalSeconds: 3_600 };

/** The variable values a person would pick on each dashboard to look at the demo's data. */
const CHOICES: Record<string, Record<string, string[]>> = {
  'kpi-operations-live': { grain: ['year'] },
  'kpi-scorecards': { grain: ['quarter'], period: [QUARTER] },
  'kpi-explorer': { kpi: ['net_sales'], grain: ['month'], level: ['region'], period: [RESTATED_MONTH] },
  'kpi-finance-close': { grain: ['month'], period: [RESTATED_MONTH] },
  'kpi-pipeline-health': {},
};

const panelsOf = (panels: Panel[] = []): Panel[] => panels.flatMap((p) => [p, ...panelsOf(p.panels)]);

/**
 * Every generated dashboard against the warehouse of a real run of the demo (a seeded
 * quarter through Kafka, ingest and Temporal, closed, restated and approved, with the open
 * periods' provisional values), read as Grafana reads it: through the ClickHouse endpoint
 * of a `kpi api`, as a read-only user. Each variable's and panel's query is interpolated and
 * expanded as Grafana and the ClickHouse plugin do, must run, and must return rows; chosen
 * cells equal what `kpi values` and `kpi scorecard` give.
 */
describe('Grafana dashboards on a seeded warehouse', () => {
  let dataDir: string;
  const scorecards = loadScorecards(loadConfig(process.env).close);
  const dashboards = buildDashboards(scorecards);
  let kpi: RunningKpi;
  let reader: ClickHouseClient;
  let token: string;

  const rows = async (sql: string): Promise<unknown[][]> => (await reader.query({ query: sql, format: 'JSONCompactEachRow' })).json<unknown[]>();

  /** Each variable in order, its choices from its own query where it has one, and the value the test picks. */
  const resolveVariables = async (uid: string, list: Variable[]): Promise<Map<string, VariableValue>> => {
    const vars = new Map<string, VariableValue>();
    for (const v of list) {
      const options = v.type === 'query' ? (await rows(grafanaSql(v.query ?? '', vars, RANGE))).map((r) => String(r[0])) : (v.options ?? []).map((o) => o.value);
      expect({ variable: v.name, options: options.length > 0 }).toEqual({ variable: v.name, options: true });
      const chosen = CHOICES[uid]?.[v.name];
      const current = v.current?.value;
      const all = chosen === undefined && current === '$__all';
      const values = chosen ?? (all ? options : [typeof current === 'string' && options.includes(current) ? current : (options[0] ?? '')]);
      vars.set(v.name, { values, all, multi: v.multi === true });
    }
    return vars;
  };

  beforeAll(async () => {
    const fixture = await demoFixture();
    dataDir = fixture.dataDir;
    RANGE.to = Math.floor(Date.now() / 1_000) + 60;
    kpi = await startRun('api', { CHDB_PATH: path.join(dataDir, 'demo', 'clickhouse'), KPI_DATA_DIR: dataDir });
    token = await kpi.user('grafana', 'analyst');
    reader = createClient({ url: kpi.clickhouse, username: 'grafana', password: token, log: { level: ClickHouseLogLevel.OFF } });
  }, 1_200_000);

  afterAll(async () => {
    await reader?.close();
    if (kpi) expect(await kpi.stop()).toBe(0);
  });

  it('builds the five dashboards, every ClickHouse target on the provisioned datasource', () => {
    expect(dashboards.map((d) => d.dashboard.uid)).toEqual(['kpi-operations-live', 'kpi-scorecards', 'kpi-explorer', 'kpi-finance-close', 'kpi-pipeline-health']);
    for (const { dashboard } of dashboards) {
      for (const panel of panelsOf(dashboard.panels as Panel[])) {
        for (const target of panel.targets ?? []) if (target.rawSql !== undefined) expect(target.datasource).toEqual({ type: CLICKHOUSE.type, uid: CLICKHOUSE.uid });
      }
    }
  });

  it.each(['kpi-operations-live', 'kpi-scorecards', 'kpi-explorer', 'kpi-finance-close', 'kpi-pipeline-health'])('%s: every variable and panel query runs and returns rows', async (uid) => {
    const built = dashboards.find((d) => d.dashboard.uid === uid)?.dashboard;
    const vars = await resolveVariables(uid, (built?.templating?.list ?? []) as Variable[]);
    const results: { panel: string; rows: number }[] = [];
    for (const panel of panelsOf(built?.panels as Panel[])) {
      for (const target of panel.targets ?? []) {
        if (target.rawSql === undefined) continue;
        const sql = grafanaSql(target.rawSql, vars, RANGE);
        const got = await rows(sql).catch((err: unknown) => Promise.reject(new Error(`${panel.title ?? panel.type}: ${String(err)}\n${sql}`)));
        results.push({ panel: `${panel.title ?? panel.type} ${target.refId}`, rows: got.length });
      }
    }
    expect(results.length).toBeGreaterThan(0);
    expect(results.filter((r) => r.rows === 0)).toEqual([]);
  });

  it('a variable value holding a quote is quoted, not pasted into the SQL', async () => {
    const explorer = dashboards.find((d) => d.dashboard.uid === 'kpi-explorer')?.dashboard;
    const vars = await resolveVariables('kpi-explorer', (explorer?.templating?.list ?? []) as Variable[]);
    vars.set('unit', { values: ["R01' OR 1=1 --"], all: false, multi: false });
    for (const panel of panelsOf(explorer?.panels as Panel[])) {
      for (const target of panel.targets ?? []) if (target.rawSql !== undefined) expect(await rows(grafanaSql(target.rawSql, vars, RANGE))).toEqual([]);
    }
  });

  it('shows the numbers kpi values and kpi scorecard give', async () => {
    const valuesOf = async (grain: string, period: string, query: string) =>
      (JSON.parse((await request(kpi.base, `/v1/values?grain=${grain}&period=${period}&${query}`, { token })).text) as { values: { kpi: string; level: string; unit: string; value: number | null }[] }).values;
    // Operations — live: each headline stat is the open year's provisional value of the company.
    const live = dashboards.find((d) => d.dashboard.uid === 'kpi-operations-live')?.dashboard;
    const liveVars = await resolveVariables('kpi-operations-live', (live?.templating?.list ?? []) as Variable[]);
    const year = String(new Date().getUTCFullYear());
    const company = await valuesOf('year', year, 'level=company');
    const headline = headlineLines(scorecards);
    const stats = panelsOf(live?.panels as Panel[]).filter((p) => p.type === 'stat' && p.targets?.[0]?.rawSql?.includes("AND kpi = '"));
    expect(stats.length).toBe(headline.length);
    for (const [i, line] of headline.entries()) {
      const expected = company.find((v) => v.kpi === line.kpi)?.value;
      expect({ kpi: line.kpi, shown: await rows(grafanaSql(stats[i]?.targets?.[0]?.rawSql ?? '', liveVars, RANGE)) }).toEqual({ kpi: line.kpi, shown: [[expected]] });
    }
    expect(company.some((v) => headline.some((l) => l.kpi === v.kpi) && v.value !== null)).toBe(true);

    // Department scorecards: every ranked unit of the first card, as kpi scorecard ranks it.
    const card = scorecards.scorecards[0];
    const cards = await runKpi(['scorecard', '--grain', 'quarter', '--period', QUARTER, '--scorecard', card?.id ?? '', '--format', 'json'], { ...kpi.env, KPI_TOKEN: token });
    type Unit = { unit: string; peerGroup: string; rank: number | null; score: number | null; band: string };
    const expected = (JSON.parse(cards.stdout.trim()) as { scorecards: { units: Unit[] }[] }).scorecards[0]?.units.map((u) => [u.peerGroup, u.rank, u.unit, u.score, u.band]);
    const board = dashboards.find((d) => d.dashboard.uid === 'kpi-scorecards')?.dashboard;
    const boardVars = await resolveVariables('kpi-scorecards', (board?.templating?.list ?? []) as Variable[]);
    const table = panelsOf(board?.panels as Panel[]).find((p) => p.type === 'table' && p.title?.includes(card?.en ?? '?'));
    const shown = (await rows(grafanaSql(table?.targets?.[0]?.rawSql ?? '', boardVars, RANGE))).map((r) => [r[0], r[1], r[3], r[4], r[5]]);
    expect(shown).toEqual(expected);

    // KPI explorer: a region's net sales in the restated month, in its revision in force.
    const explorer = dashboards.find((d) => d.dashboard.uid === 'kpi-explorer')?.dashboard;
    const explorerVars = await resolveVariables('kpi-explorer', (explorer?.templating?.list ?? []) as Variable[]);
    const unit = explorerVars.get('unit')?.values[0] ?? '';
    const periods = panelsOf(explorer?.panels as Panel[]).find((p) => p.type === 'table' && p.title?.includes('Periods'));
    const monthRows = (await rows(grafanaSql(periods?.targets?.[0]?.rawSql ?? '', explorerVars, RANGE))).filter((r) => r[0] === RESTATED_MONTH);
    const [region] = await valuesOf('month', RESTATED_MONTH, `kpi=net_sales&level=region`).then((v) => v.filter((x) => x.unit === unit));
    expect(monthRows.map((r) => r[1])).toEqual([region?.value]);
  });

  it('every alert rule query runs against the warehouse', async () => {
    // Three rules read the warehouse; the fourth (ingest stalled) is PromQL, with no Prometheus here.
    const queries = alertQueries();
    expect(queries.map((q) => q.rule).sort()).toEqual(['kpi-day-close-overdue', 'kpi-dead-letter-spike', 'kpi-scorecard-lowest-band']);
    for (const q of queries) {
      await expect(rows(grafanaSql(q.rawSql, new Map(), RANGE)).then(() => q.rule)).resolves.toBe(q.rule);
    }
  });
});

import { readFileSync } from 'node:fs';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { clickhouseQuery } from '../../../dashboards/clickhouse.js';
import { CLICKHOUSE, PROMETHEUS } from '../../../dashboards/datasources.js';
import { buildDashboards } from '../../../dashboards/index.js';
import { SCHEMA_FILE, renderDashboardSchema } from '../../../dashboards/schema/generate.js';
import { validateDashboard } from '../../../dashboards/schema/validate.js';
import { DEFAULT_SCORECARDS } from '../../../schemas/scorecards/defaults.js';
import { parseScorecardConfig } from '../../../schemas/scorecards/index.js';

type Json = Record<string, unknown>;

/** What the SDK's builders write for the kinds of things our dashboards use. */
function sample(): dashboard.Dashboard {
  return new dashboard.DashboardBuilder('Sample')
    .uid('kpi-schema-sample')
    .tags(['kpi'])
    .readonly()
    .time({ from: 'now-90d', to: 'now' })
    .refresh('1m')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .link(new dashboard.DashboardLinkBuilder('KPI dashboards').type(dashboard.DashboardLinkType.Dashboards).tags(['kpi']).asDropdown(true))
    .withVariable(
      new dashboard.CustomVariableBuilder('grain')
        .label('Grain')
        .values('day : day,month : month')
        .current({ text: 'month', value: 'month' }),
    )
    .withVariable(
      new dashboard.QueryVariableBuilder('store')
        .datasource({ type: CLICKHOUSE.type, uid: CLICKHOUSE.uid })
        .query('SELECT DISTINCT unit FROM v_kpi_values')
        .refresh(dashboard.VariableRefresh.OnDashboardLoad)
        .multi(true)
        .includeAll(true),
    )
    .withRow(new dashboard.RowBuilder('Headline'))
    .withPanel(
      new stat.PanelBuilder()
        .title('Net sales')
        .withTarget(clickhouseQuery('SELECT sum(value) FROM v_kpi_values'))
        .unit('currencyCNY')
        .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']))
        .colorMode(common.BigValueColorMode.Background)
        .thresholds(
          new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
            { value: null, color: 'red' },
            { value: 100, color: 'green' },
          ]),
        )
        .dataLinks([new dashboard.DashboardLinkBuilder('Explore').url('/d/kpi-explorer')])
        .height(4)
        .span(6),
    )
    .withPanel(
      new timeseries.PanelBuilder()
        .title('By day')
        .withTarget(clickhouseQuery('SELECT day, value FROM v_kpi_values ORDER BY day', { as: 'timeseries' }))
        .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.Table).placement(common.LegendPlacement.Bottom))
        .lineWidth(2)
        .span(12),
    )
    .withPanel(
      new timeseries.PanelBuilder()
        .title('Consumer lag')
        .withTarget(new prometheus.DataqueryBuilder().datasource({ type: PROMETHEUS.type, uid: PROMETHEUS.uid }).expr('max(kpi_ingest_consumer_lag)').legendFormat('lag').range())
        .span(6),
    )
    .withRow(
      new dashboard.RowBuilder('Stores')
        .collapsed(true)
        .withPanel(
          new table.PanelBuilder()
            .title('Ranking')
            .withTarget(clickhouseQuery('SELECT unit, value FROM v_kpi_values'))
            .overrideByName('value', [{ id: 'unit', value: 'percentunit' }]),
        ),
    )
    .build();
}

/** The sample as its file holds it, with one change made by `plant`. */
function planted(plant: (doc: Json) => void): Json {
  const doc = JSON.parse(JSON.stringify(sample())) as Json;
  plant(doc);
  return doc;
}

/** An object on the path (object keys and array indexes); fails the test when absent. */
function at(doc: Json, ...keys: (string | number)[]): Json {
  let current: unknown = doc;
  for (const key of keys) {
    if (typeof current !== 'object' || current === null) throw new Error(`nothing at ${keys.join('/')}`);
    current = (current as Json)[key];
  }
  if (typeof current !== 'object' || current === null) throw new Error(`no object at ${keys.join('/')}`);
  return current as Json;
}

describe('dashboard schema', () => {
  test('the checked-in schema is what the installed SDK and ClickHouseTarget generate', () => {
    // About 3 s: a TypeScript program over the SDK's declarations.
    const fresh = renderDashboardSchema();
    const checkedIn = readFileSync(SCHEMA_FILE, 'utf8');
    expect(fresh === checkedIn ? 'in sync' : 'stale: run `npm run dashboards:schema` and commit the file').toBe('in sync');
  });

  test('a dashboard built with the SDK is valid', () => {
    const built = sample();
    // The sample does use what the faults below are planted in.
    expect(built.panels?.map((p) => p.type)).toEqual(['row', 'stat', 'timeseries', 'timeseries', 'row']);
    expect(validateDashboard(built)).toEqual([]);
  });

  test('a misspelled panel key is named', () => {
    const doc = planted((d) => {
      const panel = at(d, 'panels', 1);
      panel['gridPoss'] = panel['gridPos'];
      delete panel['gridPos'];
    });
    expect(validateDashboard(doc)).toEqual(['/panels/1/gridPoss: is not a known key']);
  });

  test('a misspelled key of a panel inside a collapsed row is named', () => {
    const doc = planted((d) => {
      at(d, 'panels', 4, 'panels', 0)['titel'] = 'Ranking';
    });
    expect(validateDashboard(doc)).toEqual(['/panels/4/panels/0/titel: is not a known key']);
  });

  test('a misspelled dashboard key is named', () => {
    expect(validateDashboard(planted((d) => (d['refersh'] = '1m')))).toEqual(['/refersh: is not a known key']);
  });

  test('a value of the wrong type is named', () => {
    expect(validateDashboard(planted((d) => (d['schemaVersion'] = '42')))).toEqual(['/schemaVersion: must be number']);
  });

  test('a target without rawSql is named', () => {
    const doc = planted((d) => {
      delete at(d, 'panels', 1, 'targets', 0)['rawSql'];
    });
    expect(validateDashboard(doc)).toEqual(['/panels/1/targets/0/rawSql: is required']);
  });

  test('a target with an empty rawSql is named', () => {
    const doc = planted((d) => {
      at(d, 'panels', 2, 'targets', 0)['rawSql'] = '';
    });
    expect(validateDashboard(doc)).toEqual(['/panels/2/targets/0/rawSql: must NOT have fewer than 1 characters']);
  });

  test('a target of another datasource type is named', () => {
    const doc = planted((d) => {
      at(d, 'panels', 1, 'targets', 0, 'datasource')['type'] = 'grafana-clickhouse';
    });
    expect(validateDashboard(doc)).toEqual(['/panels/1/targets/0/datasource/type: must be "grafana-clickhouse-datasource"']);
  });

  test('an unknown key in a target is named', () => {
    const doc = planted((d) => {
      at(d, 'panels', 4, 'panels', 0, 'targets', 0)['expr'] = 'up';
    });
    expect(validateDashboard(doc)).toEqual(['/panels/4/panels/0/targets/0/expr: is not a known key']);
  });

  test("a Prometheus target is held to the SDK's Prometheus query", () => {
    const doc = planted((d) => {
      const target = at(d, 'panels', 3, 'targets', 0);
      target['legend'] = target['legendFormat'];
      delete target['expr'];
    });
    expect(validateDashboard(doc)).toEqual(['/panels/3/targets/0/expr: is required', '/panels/3/targets/0/legend: is not a known key']);
  });

  test('every problem is reported, not only the first', () => {
    const doc = planted((d) => {
      d['schemaVersion'] = '42';
      at(d, 'panels', 1, 'targets', 0)['format'] = 2;
    });
    expect(validateDashboard(doc)).toEqual(['/schemaVersion: must be number', '/panels/1/targets/0/format: must be one of 0, 1']);
  });

  test('every generated dashboard is valid', () => {
    const dashboards = buildDashboards(parseScorecardConfig(DEFAULT_SCORECARDS));
    expect(dashboards.length).toBeGreaterThan(0);
    for (const { file, dashboard: built } of dashboards) {
      expect({ file, problems: validateDashboard(built) }).toEqual({ file, problems: [] });
    }
  });
});

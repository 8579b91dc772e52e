import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { clickhouseQuery } from './clickhouse.js';
import { UIDS, bilingual, explorerLink, frame, fromQuery, grainVariable, kpiVariable, levelVariable } from './common.js';

/** Which unit of the level, and which period of the grain to open in detail. */
const unitVariable = (): dashboard.QueryVariableBuilder => fromQuery('unit', '单位 · Unit', 'SELECT DISTINCT unit FROM v_kpi_values WHERE level = ${level:sqlstring} ORDER BY unit');
const periodOfGrain = (): dashboard.QueryVariableBuilder =>
  fromQuery('period', '期间 · Period', 'SELECT DISTINCT period FROM v_kpi_values WHERE grain = ${grain:sqlstring} ORDER BY period DESC').sort(dashboard.VariableSort.AlphabeticalDesc);

const THE_KPI = 'kpi = ${kpi:sqlstring} AND level = ${level:sqlstring} AND unit = ${unit:sqlstring}';

/**
 * KPI explorer: any KPI at any level and unit over periods, with its numerator and
 * denominator, and the unit's children (a region's stores) for one period, each linking
 * on down. Other dashboards link here with the KPI, level, unit and period filled in.
 */
export function explorer(): dashboard.Dashboard {
  const board = frame(UIDS.explorer, '指标探索', 'KPI explorer', 'One KPI of one unit over periods: value, numerator, denominator, revision; and the units below it.')
    .withVariable(kpiVariable('net_sales'))
    .withVariable(grainVariable('month'))
    .withVariable(levelVariable('company'))
    .withVariable(unitVariable())
    .withVariable(periodOfGrain());
  board.withPanel(
    new timeseries.PanelBuilder()
      .title(bilingual('指标走势', 'Value over periods'))
      .height(9)
      .span(24)
      .withTarget(clickhouseQuery(`SELECT period_start AS time, value FROM v_kpi_values WHERE grain = \${grain:sqlstring} AND ${THE_KPI} AND $__timeFilter(period_start) ORDER BY time`, { as: 'timeseries' })),
  );
  board.withPanel(
    new table.PanelBuilder()
      .title(bilingual('各期明细', 'Periods: value, numerator, denominator'))
      .height(10)
      .span(12)
      .withTarget(
        clickhouseQuery(
          `SELECT period, value, numerator, denominator, revision, status, computed_at FROM v_kpi_values WHERE grain = \${grain:sqlstring} AND ${THE_KPI} AND $__timeFilter(period_start) ORDER BY period DESC`,
        ),
      ),
  );
  board.withPanel(
    new table.PanelBuilder()
      .title(bilingual('下级单位（所选期间）', 'Units below, in the chosen period'))
      .description('A region’s stores, the company’s regions, departments and channels; each links to its own view.')
      .height(10)
      .span(12)
      .dataLinks([explorerLink('Explore this unit', { kpi: '${kpi}', level: '${__data.fields.level}', unit: '${__data.fields.unit}' })])
      .withTarget(
        clickhouseQuery(
          'SELECT level, unit, value, numerator, denominator FROM v_kpi_values WHERE grain = ${grain:sqlstring} AND period = ${period:sqlstring} AND kpi = ${kpi:sqlstring} AND parent = ${unit:sqlstring} ORDER BY level, value DESC, unit',
        ),
      ),
  );
  return board.build();
}

import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { ScorecardConfig } from '../schemas/scorecards/index.js';
import { bandThresholds, headlineLines } from './bands.js';
import { clickhouseQuery } from './clickhouse.js';
import { UIDS, bilingual, channelVariable, explorerLink, frame, grafanaUnit, grainVariable, kpiById, moneyUnit, regionVariable, storeVariable } from './common.js';

/** The open period of the chosen grain: the newest one whose values are still provisional. */
const OPEN_PERIOD = "(SELECT max(period) FROM v_kpi_values WHERE grain = ${grain:sqlstring} AND status = 'provisional')";

/** How many of the headline KPIs get a trend by day. */
const TRENDS = 4;

/**
 * Operations — live: the open period's provisional headline KPIs against their targets
 * (coloured by the rating band they reach), how fresh they are, trends by day, and the top
 * and bottom stores. The headline KPIs are the lines of the first scorecard.
 */
export function operationsLive(config: ScorecardConfig, reportingCurrency: string): dashboard.Dashboard {
  const board = frame(UIDS.live, '运营实时', 'Operations — live', "The open period's provisional KPIs (revision 0, refreshed while the period is open) against their scorecard targets.")
    .withVariable(grainVariable('month'))
    .withVariable(regionVariable())
    .withVariable(storeVariable())
    .withVariable(channelVariable());

  board.withRow(new dashboard.RowBuilder(bilingual('本期核心指标（临时值）', 'Headline KPIs of the open period (provisional)')));
  for (const line of headlineLines(config)) {
    const kpi = kpiById(line.kpi);
    board.withPanel(
      new stat.PanelBuilder()
        .title(bilingual(kpi.zh, kpi.en))
        .description(`${kpi.definition} Target ${line.target} (scorecard line); colour: the rating band the company's value would reach.`)
        .unit(grafanaUnit(kpi, reportingCurrency))
        .thresholds(bandThresholds(line, config.bands))
        .colorMode(common.BigValueColorMode.Background)
        .graphMode(common.BigValueGraphMode.None)
        .height(4)
        .span(4)
        .dataLinks([explorerLink('Explore', { kpi: kpi.id, level: 'company', unit: 'all' })])
        .withTarget(clickhouseQuery(`SELECT value FROM v_kpi_values WHERE grain = \${grain:sqlstring} AND status = 'provisional' AND period = ${OPEN_PERIOD} AND kpi = '${kpi.id}' AND level = 'company'`)),
    );
  }
  board.withPanel(
    new stat.PanelBuilder()
      .title(bilingual('数据截至', 'Values as of'))
      .description('The newest event the provisional values include; they follow ingest within seconds (checked every KPI_PROVISIONAL_INTERVAL_SECONDS).')
      .unit('dateTimeFromNow')
      .height(4)
      .span(4)
      .withTarget(clickhouseQuery(`SELECT max(as_of) AS as_of FROM v_kpi_values WHERE grain = \${grain:sqlstring} AND status = 'provisional' AND period = ${OPEN_PERIOD}`)),
  );

  board.withRow(new dashboard.RowBuilder(bilingual('每日趋势', 'Trends by day')));
  board.withPanel(
    new timeseries.PanelBuilder()
      .title(bilingual('各区域销售额', 'Net sales by region'))
      .unit(moneyUnit(reportingCurrency))
      .height(8)
      .span(12)
      .withTarget(
        clickhouseQuery(
          "SELECT period_start AS time, unit AS region, value FROM v_kpi_values WHERE grain = 'day' AND kpi = 'net_sales' AND level = 'region' AND $__timeFilter(period_start) AND $__conditionalAll(unit IN (${region:sqlstring}), $region) ORDER BY time, region",
          { as: 'timeseries' },
        ),
      ),
  );
  board.withPanel(
    new timeseries.PanelBuilder()
      .title(bilingual('各渠道销售额', 'Net sales by channel'))
      .unit(moneyUnit(reportingCurrency))
      .height(8)
      .span(12)
      .withTarget(
        clickhouseQuery(
          "SELECT period_start AS time, unit AS channel, value FROM v_kpi_values WHERE grain = 'day' AND kpi = 'net_sales' AND level = 'channel' AND $__timeFilter(period_start) AND $__conditionalAll(unit IN (${channel:sqlstring}), $channel) ORDER BY time, channel",
          { as: 'timeseries' },
        ),
      ),
  );
  for (const line of headlineLines(config).slice(0, TRENDS)) {
    const kpi = kpiById(line.kpi);
    board.withPanel(
      new timeseries.PanelBuilder()
        .title(bilingual(kpi.zh, kpi.en))
        .unit(grafanaUnit(kpi, reportingCurrency))
        .thresholds(bandThresholds(line, config.bands))
        .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Line))
        .height(7)
        .span(6)
        .withTarget(clickhouseQuery(`SELECT period_start AS time, value FROM v_kpi_values WHERE grain = 'day' AND kpi = '${kpi.id}' AND level = 'company' AND $__timeFilter(period_start) ORDER BY time`, { as: 'timeseries' })),
    );
  }

  board.withRow(new dashboard.RowBuilder(bilingual('门店排名（本期）', 'Top and bottom stores (open period)')));
  const stores = (order: 'DESC' | 'ASC'): string =>
    `SELECT unit AS store, parent AS region, value AS net_sales FROM v_kpi_values WHERE grain = \${grain:sqlstring} AND status = 'provisional' AND period = ${OPEN_PERIOD} AND kpi = 'net_sales' AND level = 'store' AND $__conditionalAll(parent IN (\${region:sqlstring}), $region) AND $__conditionalAll(unit IN (\${store:sqlstring}), $store) ORDER BY value ${order}, unit LIMIT 10`;
  for (const [zh, en, order] of [
    ['销售额最高', 'Top 10 by net sales', 'DESC'],
    ['销售额最低', 'Bottom 10 by net sales', 'ASC'],
  ] as const) {
    board.withPanel(
      new table.PanelBuilder()
        .title(bilingual(zh, en))
        .unit(moneyUnit(reportingCurrency))
        .height(9)
        .span(12)
        .dataLinks([explorerLink('Explore this store', { kpi: 'net_sales', level: 'store', unit: '${__data.fields.store}' })])
        .withTarget(clickhouseQuery(stores(order))),
    );
  }
  return board.build();
}

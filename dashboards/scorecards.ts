import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as table from '@grafana/grafana-foundation-sdk/table';
import type { Scorecard, ScorecardConfig } from '../schemas/scorecards/index.js';
import { clickhouseQuery } from './clickhouse.js';
import { UIDS, bilingual, choices, frame, grafanaUnit, grainVariable, kpiById, periodVariable, regionVariable } from './common.js';

/** The columns of a line: the KPI's value and the points it earns. */
const valueColumn = (kpi: string): string => `${kpiById(kpi).en} · value`;
const pointsColumn = (kpi: string): string => `${kpiById(kpi).en} · points`;

/**
 * One scorecard's ranked units with a column pair per line: what a line is worth is in the
 * card (schemas/scorecards), so a new line is a new pair of columns with no hand edit.
 */
export function scorecardSql(card: Scorecard): string {
  const lines = card.lines.flatMap((l) => [`maxIf(value, kpi = '${l.kpi}') AS \`${valueColumn(l.kpi)}\``, `maxIf(points, kpi = '${l.kpi}') AS \`${pointsColumn(l.kpi)}\``]);
  const pick = card.lines.flatMap((l) => [`l.\`${valueColumn(l.kpi)}\``, `l.\`${pointsColumn(l.kpi)}\``]);
  return [
    'SELECT s.peer_group AS peer_group, s.rank AS rank, s.peers AS peers, s.unit AS unit, s.score AS score, s.band AS band,',
    `${pick.join(', ')}, arrayStringConcat(s.missing, ', ') AS missing`,
    'FROM v_scorecards AS s',
    `INNER JOIN (SELECT unit, ${lines.join(', ')} FROM v_scorecard_lines WHERE grain = \${grain:sqlstring} AND period = \${period:sqlstring} AND scorecard = '${card.id}' GROUP BY unit) AS l ON l.unit = s.unit`,
    `WHERE s.grain = \${grain:sqlstring} AND s.period = \${period:sqlstring} AND s.scorecard = '${card.id}'`,
    'AND $__conditionalAll((s.peer_group IN (${region:sqlstring}) OR s.unit IN (${region:sqlstring})), $region)',
    `AND $__conditionalAll('${card.id}' IN (\${scorecard:sqlstring}), $scorecard)`,
    'ORDER BY s.peer_group, s.rank, s.unit',
  ].join(' ');
}

/**
 * Department scorecards: a section per scorecard (运营部, 店长, 区域经理, …) with its units
 * ranked within their peer group — score, band, rank, each line's value and points, the
 * KPIs missing — and a link from every value to the explorer for that unit and KPI. The
 * scorecard variable narrows the page to some cards.
 */
export function scorecards(config: ScorecardConfig, reportingCurrency: string): dashboard.Dashboard {
  const board = frame(UIDS.scorecards, '部门计分卡', 'Department scorecards', 'Ranked scorecards of a closed period, one section per scorecard; targets and weights come from the scorecard configuration.')
    .withVariable(grainVariable('quarter'))
    .withVariable(periodVariable())
    .withVariable(regionVariable())
    .withVariable(
      choices('scorecard', '计分卡 · Scorecard', config.scorecards.map((c) => ({ text: bilingual(c.zh, c.en), value: c.id })), '')
        .multi(true)
        .includeAll(true)
        .current({ text: 'All', value: '$__all' }),
    );
  for (const card of config.scorecards) {
    board.withRow(new dashboard.RowBuilder(bilingual(card.zh, card.en)));
    const panel = new table.PanelBuilder()
      .title(bilingual(`${card.zh}：排名`, `${card.en}: ranking`))
      .description(`${card.lines.map((l) => `${kpiById(l.kpi).en} (weight ${l.weight}, target ${l.target})`).join('; ')}. Bands: ${config.bands.map((b) => `${b.name} ≥ ${b.min}`).join(', ')}.`)
      .height(10)
      .span(24)
      .withTarget(clickhouseQuery(scorecardSql(card)));
    for (const line of card.lines) {
      const kpi = kpiById(line.kpi);
      const url = `/d/${UIDS.explorer}/kpi-explorer?var-kpi=${kpi.id}&var-level=${card.level}&var-unit=\${__data.fields.unit}&var-grain=\${grain}&var-period=\${period}&\${__url_time_range}`;
      panel.overrideByName(valueColumn(line.kpi), [
        { id: 'unit', value: grafanaUnit(kpi, reportingCurrency) },
        { id: 'links', value: [{ title: `${kpi.en}: explore`, url }] },
      ]);
    }
    board.withPanel(panel);
  }
  return board.build();
}

import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { KPIS, type Kpi } from '../schemas/kpis/catalog.js';
import { GRAINS } from '../schemas/calendar/index.js';
import { LEVELS } from '../schemas/kpis/compile.js';
import { CLICKHOUSE } from './datasources.js';

/**
 * What every dashboard shares: bilingual titles, the variables, units and links. SQL reads
 * the documented views (`v_…`, infra/clickhouse/migrations/0010_views.sql) only, through
 * Grafana's variable formats (`${v:sqlstring}` quotes a single value, a multi-value variable
 * expands to `'a','b'`) and the ClickHouse plugin's macros; never `$__timeFrom`/`$__timeGroup`.
 */

/** A title in both languages of the product: Chinese first, as the source document speaks. */
export const bilingual = (zh: string, en: string): string => `${zh} · ${en}`;

/** Dashboard uids: stable, so links between dashboards keep working. */
export const UIDS = {
  live: 'kpi-operations-live',
  scorecards: 'kpi-scorecards',
  explorer: 'kpi-explorer',
  finance: 'kpi-finance-close',
  health: 'kpi-pipeline-health',
} as const;

/** Every dashboard's common frame: uid, bilingual title, tags, time zone, refresh. */
export function frame(uid: string, zh: string, en: string, description: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(bilingual(zh, en))
    .uid(uid)
    .description(description)
    .tags(['kpi'])
    .timezone('browser')
    // Generated from the catalog: a change made in Grafana would be lost on the next build.
    .readonly()
    .time({ from: 'now-90d', to: 'now' })
    .refresh('1m')
    .link(
      new dashboard.DashboardLinkBuilder('KPI dashboards')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags(['kpi'])
        .asDropdown(true)
        .includeVars(false)
        .keepTime(true),
    );
}

/** Grafana's unit for money in the reporting currency: its custom currency unit, which scales like the built-in ones (K, Mil). */
export const moneyUnit = (reportingCurrency: string): string => `currency:${reportingCurrency} `;

/** Grafana's unit for a KPI's value unit; money is in the reporting currency. */
export function grafanaUnit(kpi: Pick<Kpi, 'unit'>, reportingCurrency: string): string {
  switch (kpi.unit) {
    case 'money':
      return moneyUnit(reportingCurrency);
    case 'ratio':
      return 'percentunit';
    case 'hours':
      return 'h';
    case 'days':
      return 'd';
    default:
      return 'short';
  }
}

export const kpiById = (id: string): Kpi => {
  const kpi = KPIS.find((k) => k.id === id);
  if (!kpi) throw new Error(`no KPI ${id} in the catalog`);
  return kpi;
};

const datasource = { type: CLICKHOUSE.type, uid: CLICKHOUSE.uid };

/** A variable of fixed choices, each shown by its text. */
export function choices(name: string, label: string, options: { text: string; value: string }[], selected: string): dashboard.CustomVariableBuilder {
  const current = options.find((o) => o.value === selected) ?? options[0];
  return new dashboard.CustomVariableBuilder(name)
    .label(label)
    .values(options.map((o) => `${o.text.replace(/[,:]/g, ' ')} : ${o.value}`).join(','))
    .options(options.map((o) => ({ text: o.text, value: o.value, selected: o.value === current?.value })))
    .current({ text: current?.text ?? '', value: current?.value ?? '' });
}

/** A variable whose choices a ClickHouse query gives, optionally many with All. */
export function fromQuery(name: string, label: string, sql: string, options: { multi?: boolean } = {}): dashboard.QueryVariableBuilder {
  const variable = new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(datasource)
    .query(sql)
    .definition(sql)
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
  return options.multi ? variable.multi(true).includeAll(true).current({ text: 'All', value: '$__all' }) : variable;
}

export const grainVariable = (selected: string): dashboard.CustomVariableBuilder =>
  choices('grain', '周期 · Grain', GRAINS.map((g) => ({ text: g, value: g })), selected);

export const levelVariable = (selected: string): dashboard.CustomVariableBuilder =>
  choices('level', '层级 · Level', LEVELS.map((l) => ({ text: l, value: l })), selected);

/** Every KPI of the catalog, shown by its two labels. */
export const kpiVariable = (selected: string): dashboard.CustomVariableBuilder =>
  choices('kpi', '指标 · KPI', KPIS.map((k) => ({ text: bilingual(k.zh, k.en), value: k.id })), selected);

/** Closed periods of the chosen grain, newest first. */
export const periodVariable = (): dashboard.QueryVariableBuilder =>
  fromQuery('period', '期间 · Period', 'SELECT DISTINCT period FROM v_periods WHERE grain = ${grain:sqlstring} AND revision IS NOT NULL ORDER BY period DESC').sort(
    dashboard.VariableSort.AlphabeticalDesc,
  );

export const regionVariable = (): dashboard.QueryVariableBuilder =>
  fromQuery('region', '区域 · Region', "SELECT DISTINCT unit FROM v_kpi_values WHERE level = 'region' ORDER BY unit", { multi: true });

export const storeVariable = (): dashboard.QueryVariableBuilder =>
  fromQuery('store', '门店 · Store', "SELECT DISTINCT unit FROM v_kpi_values WHERE level = 'store' AND $__conditionalAll(parent IN (${region:sqlstring}), $region) ORDER BY unit", { multi: true });

export const channelVariable = (): dashboard.QueryVariableBuilder =>
  fromQuery('channel', '渠道 · Channel', "SELECT DISTINCT unit FROM v_kpi_values WHERE level = 'channel' ORDER BY unit", { multi: true });

/** A link to the KPI explorer with the KPI, level, unit and grain filled in from the clicked row. */
export function explorerLink(title: string, fields: { kpi: string; level: string; unit: string; grain?: string }): dashboard.DashboardLinkBuilder {
  const params = [`var-kpi=${fields.kpi}`, `var-level=${fields.level}`, `var-unit=${fields.unit}`, `var-grain=${fields.grain ?? '${grain}'}`, '${__url_time_range}'];
  return new dashboard.DashboardLinkBuilder(title).type(dashboard.DashboardLinkType.Link).url(`/d/${UIDS.explorer}/kpi-explorer?${params.join('&')}`);
}

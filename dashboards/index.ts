import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { ScorecardConfig } from '../schemas/scorecards/index.js';
import { ALERT_RULES_FILE, alertRulesYaml } from './alerts.js';
import { explorer } from './explorer.js';
import { financeClose } from './finance-close.js';
import { operationsLive } from './operations-live.js';
import { pipelineHealth } from './pipeline-health.js';
import { scorecards } from './scorecards.js';

export { UIDS } from './common.js';

/** A generated dashboard and the file it is written to under infra/grafana/dashboards. */
export interface BuiltDashboard {
  file: string;
  dashboard: dashboard.Dashboard;
}

/**
 * Every dashboard, built from the KPI catalog (schemas/kpis) and the scorecards in force
 * (`KPI_SCORECARDS_FILE` or the defaults), with money in the reporting currency
 * (KPI_REPORTING_CURRENCY, CNY by default). Pure and deterministic: the same inputs give the
 * same JSON, byte for byte.
 */
export function buildDashboards(config: ScorecardConfig, options: { reportingCurrency?: string } = {}): BuiltDashboard[] {
  const currency = options.reportingCurrency ?? 'CNY';
  return [
    { file: 'operations-live.json', dashboard: operationsLive(config, currency) },
    { file: 'scorecards.json', dashboard: scorecards(config, currency) },
    { file: 'kpi-explorer.json', dashboard: explorer() },
    { file: 'finance-close.json', dashboard: financeClose() },
    { file: 'pipeline-health.json', dashboard: pipelineHealth() },
  ];
}

/** A dashboard as the file Grafana's provisioning reads. */
export function dashboardJson(built: dashboard.Dashboard): string {
  return `${JSON.stringify(built, null, 2)}\n`;
}

/** The generated dashboards' folder, relative to the Grafana folder (infra/grafana). */
export const DASHBOARDS_DIR = 'dashboards';

/**
 * Every file `kpi dashboards build` writes, by path relative to the Grafana folder
 * (infra/grafana): the dashboards, for the provisioning provider to load, and the alert
 * rules, judged in the business time zone by the rating bands in force.
 */
export function grafanaFiles(config: ScorecardConfig, options: { timeZone: string; reportingCurrency?: string }): Map<string, string> {
  const files = new Map(buildDashboards(config, options).map((d) => [`${DASHBOARDS_DIR}/${d.file}`, dashboardJson(d.dashboard)]));
  files.set(ALERT_RULES_FILE, alertRulesYaml({ timeZone: options.timeZone, bands: config.bands }));
  return files;
}

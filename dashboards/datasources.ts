/**
 * The datasources every dashboard and alert rule names by uid. The provisioning files
 * (infra/grafana/provisioning/datasources) create them with these uids, which must never
 * change: a dashboard that names another uid shows "datasource not found".
 */
export const CLICKHOUSE = { type: 'grafana-clickhouse-datasource', uid: 'kpi-clickhouse' } as const;
export const PROMETHEUS = { type: 'prometheus', uid: 'kpi-prometheus' } as const;

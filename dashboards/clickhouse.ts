import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { CLICKHOUSE } from './datasources.js';

/**
 * A query of Grafana's ClickHouse plugin (grafana-clickhouse-datasource), as its panels
 * store it: the SDK has no builder for this plugin, so this is the one typed target the
 * dashboards use. `queryType` and `format` pick how the plugin reads the result:
 * `table` (format 1) or `timeseries` (format 0, a time column first).
 */
export interface ClickHouseTarget extends cog.Dataquery {
  refId: string;
  datasource: { type: typeof CLICKHOUSE.type; uid: string };
  editorType: 'sql';
  rawSql: string;
  queryType: 'table' | 'timeseries';
  format: 0 | 1;
}

/** The plugin's format numbers: 0 time series, 1 table. */
const FORMAT = { timeseries: 0, table: 1 } as const;

/** A ClickHouse SQL target for a panel or a variable. */
export function clickhouseQuery(rawSql: string, options: { refId?: string; as?: 'table' | 'timeseries' } = {}): cog.Builder<cog.Dataquery> {
  const as = options.as ?? 'table';
  const target: ClickHouseTarget = {
    refId: options.refId ?? 'A',
    datasource: { type: CLICKHOUSE.type, uid: CLICKHOUSE.uid },
    editorType: 'sql',
    rawSql,
    queryType: as,
    format: FORMAT[as],
    _implementsDataqueryVariant: () => undefined,
  };
  return { build: () => target };
}

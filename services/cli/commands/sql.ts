import type { Config } from '../../shared/config.js';
import { openWarehouse } from '../../shared/clickhouse.js';
import { UsageError } from '../../shared/errors.js';
import { checkStatement } from '../../shared/statements.js';
import { renderTable } from '../output.js';

export const SQL_FORMATS = ['table', 'json', 'ndjson', 'csv', 'tsv'] as const;
export type SqlFormat = (typeof SQL_FORMATS)[number];

/** Parses repeated `--param name=value` options into query parameters. */
export function parseParams(pairs: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = eq > 0 ? pair.slice(0, eq) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new UsageError(`--param takes name=value with a name of letters, digits and _, got ${JSON.stringify(pair)}`);
    }
    params[name] = pair.slice(eq + 1);
  }
  return params;
}

/**
 * Runs one query against the warehouse. Read-only unless `write` is set; values are bound
 * with `{name: Type}` placeholders and `--param name=value`, never pasted into the SQL.
 */
export async function sqlCommand(config: Config, query: string, options: { format: SqlFormat; param: string[]; write?: boolean }): Promise<void> {
  if (!query.trim()) throw new UsageError('kpi sql needs a query, e.g. kpi sql "SELECT count() FROM dead_letters"');
  if (!SQL_FORMATS.includes(options.format)) throw new UsageError(`--format must be one of ${SQL_FORMATS.join(', ')}, got ${JSON.stringify(options.format)}`);
  const params = parseParams(options.param);
  const warehouse = await openWarehouse(config.clickhouse);
  try {
    await checkStatement(warehouse.client, query, { readOnly: !options.write });
    // A server (or the process holding the embedded store) also enforces read-only itself.
    // Settings are never sent to the embedded engine directly: it would keep them.
    const direct = warehouse.mode === 'embedded' && !warehouse.via;
    const settings = options.write || direct ? {} : { readonly: '1' as const };
    if (options.format === 'csv' || options.format === 'tsv') {
      const result = await warehouse.client.query({
        query,
        query_params: params,
        format: options.format === 'csv' ? 'CSVWithNames' : 'TabSeparatedWithNames',
        clickhouse_settings: settings,
      });
      process.stdout.write(await result.text());
      return;
    }
    const result = await warehouse.client.query({ query, query_params: params, format: 'JSON', clickhouse_settings: settings });
    const body = await result.json<Record<string, unknown>>();
    const rows = body.data;
    if (options.format === 'json') process.stdout.write(`${JSON.stringify(rows)}\n`);
    else if (options.format === 'ndjson') process.stdout.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    else process.stdout.write(`${renderTable(rows, body.meta?.map((m) => m.name))}\n`);
  } finally {
    await warehouse.close();
  }
}

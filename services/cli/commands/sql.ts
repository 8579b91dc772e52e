import type { Config } from '../../shared/config.js';
import { UsageError } from '../../shared/errors.js';
import { checkStatement } from '../../shared/statements.js';
import { renderTable } from '../output.js';
import { withSession } from '../session.js';

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
 * Runs one query against the warehouse, as the caller's credential allows: read-only SQL
 * (`sql.read`) goes through the same checks and limits as the analysts' door; `--write`
 * needs `sql.write`. Values are bound with `{name: Type}` placeholders and `--param
 * name=value`, never pasted into the SQL. Through a running kpi, that process checks.
 */
export async function sqlCommand(config: Config, query: string, options: { format: SqlFormat; param: string[]; write?: boolean }): Promise<void> {
  if (!query.trim()) throw new UsageError('kpi sql needs a query, e.g. kpi sql "SELECT count() FROM dead_letters"');
  if (!SQL_FORMATS.includes(options.format)) throw new UsageError(`--format must be one of ${SQL_FORMATS.join(', ')}, got ${JSON.stringify(options.format)}`);
  const params = parseParams(options.param);
  const access = options.write ? 'write' : 'read';
  await withSession(config, options.write ? 'sql.write' : 'sql.read', async ({ warehouse }) => {
    const client = warehouse.client;
    // The holder of the store checks statements itself; opened here, this process does.
    // Reads go without the engine's readonly flag through a holder: the holder applies it.
    const checked = warehouse.via ? { sql: query, format: undefined } : await checkStatement(client, query, access === 'read' ? { access, limits: config.sql.limits } : { access });
    if (checked.format !== undefined) throw new UsageError(`the statement names FORMAT ${checked.format}: use --format instead`);
    const settings = warehouse.via && access === 'read' ? { readonly: '1' as const } : {};
    // A statement that returns no rows runs as a command. Opened here the check names its kind;
    // through a holder, its first word is enough to choose how to print (the holder checks it).
    const returnsRows = 'kind' in checked ? ['SELECT', 'SHOW', 'DESCRIBE', 'EXISTS'].includes(checked.kind) : /^\s*(SELECT|WITH|SHOW|DESC|DESCRIBE|EXISTS)\b/i.test(checked.sql);
    if (access === 'write' && !returnsRows) {
      await client.command({ query: checked.sql, query_params: params });
      process.stdout.write('Done.\n');
      return;
    }
    if (options.format === 'csv' || options.format === 'tsv') {
      const result = await client.query({ query: checked.sql, query_params: params, format: options.format === 'csv' ? 'CSVWithNames' : 'TabSeparatedWithNames', clickhouse_settings: settings });
      process.stdout.write(await result.text());
      return;
    }
    const result = await client.query({ query: checked.sql, query_params: params, format: 'JSON', clickhouse_settings: settings });
    const body = await result.json<Record<string, unknown>>();
    const rows = body.data;
    if (options.format === 'json') process.stdout.write(`${JSON.stringify(rows)}\n`);
    else if (options.format === 'ndjson') process.stdout.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    else process.stdout.write(`${renderTable(rows, body.meta?.map((m) => m.name))}\n`);
  });
}

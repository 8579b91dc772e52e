import { rmSync } from 'node:fs';
import { openWarehouse, queryRows, type Warehouse } from '../../services/shared/clickhouse.js';
import { inPlaceStatement, keeperPath } from '../../services/shared/cluster-sql.js';
import { loadConfig } from '../../services/shared/config.js';
import { migrationScript, type PlannedStatement } from '../../services/shared/migrations.js';
import { tempDir } from '../support/env.js';

// No ClickHouse cluster runs here, so the statements `kpi migrate` sends to one are read by
// ClickHouse's own parser (chDB): EXPLAIN AST for their tree, formatQuerySingleLine for their
// canonical text (which keeps ON CLUSTER and a materialized view's TO, the tree does not).
// Parsing needs no cluster, Keeper or macros; running them would.

const CLUSTER = 'kpi_cluster';
const DATABASE = 'analytics';

interface Parsed extends PlannedStatement {
  /** EXPLAIN AST, one node per line, indented by depth. */
  tree: string[];
  /** The formatter's one-line text. */
  canonical: string;
}

/** One AST node: `Function ReplicatedReplacingMergeTree (children 1)` → its type and name. */
function node(line: string): { depth: number; type: string; name: string } {
  const depth = line.length - line.trimStart().length;
  const [type = '', name = ''] = line.trim().replace(/ \(children \d+\)$/, '').split(' ');
  return { depth, type, name };
}

/** The children of the first node of `type` named `name`, one level down, as `Type name`. */
function argumentsOf(tree: string[], type: string, name: string): string[] {
  const at = tree.findIndex((l) => node(l).type === type && node(l).name === name);
  if (at < 0) return [];
  const list = node(tree[at + 1] ?? '');
  const args: string[] = [];
  for (const line of tree.slice(at + 2)) {
    const n = node(line);
    if (n.depth <= list.depth) break;
    if (n.depth === list.depth + 1) args.push(line.trim().replace(/ \(children \d+\)$/, ''));
  }
  return args;
}

function tablesRead(tree: string[]): string[] {
  return tree.map(node).filter((n) => n.type === 'TableIdentifier').map((n) => n.name);
}

describe('migrations for a cluster, read by ClickHouse', () => {
  let dir: string;
  let warehouse: Warehouse;
  let parsed: Parsed[];

  const explain = async (sql: string, params: Record<string, unknown> = {}): Promise<string[]> => {
    // exec, not query: query appends FORMAT to the text, which EXPLAIN would take as the statement's.
    const result = await warehouse.client.exec({ query: `EXPLAIN AST ${sql}`, query_params: params, clickhouse_settings: { default_format: 'JSONEachRow' } });
    let text = '';
    for await (const chunk of result.stream as AsyncIterable<Buffer>) text += chunk.toString('utf8');
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => String((JSON.parse(l) as { explain: string }).explain));
  };
  const canonical = async (sql: string): Promise<string> => {
    const [row] = await queryRows<{ f: string }>(warehouse.client, 'SELECT formatQuerySingleLine({q: String}) AS f', { q: sql });
    return row?.f ?? '';
  };
  const parse = async (s: PlannedStatement, params: Record<string, unknown> = {}): Promise<Parsed> => ({ ...s, tree: await explain(s.sql, params), canonical: await canonical(s.sql) });

  beforeAll(async () => {
    dir = tempDir('cluster-sql');
    warehouse = await openWarehouse(loadConfig({ ...process.env, CLICKHOUSE_URL: undefined, CLICKHOUSE_CLUSTER: undefined, CHDB_PATH: dir }).clickhouse);
    parsed = [];
    for (const s of migrationScript({ database: DATABASE, cluster: CLUSTER })) parsed.push(await parse(s));
  });
  afterAll(async () => {
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses every statement of every migration file', () => {
    expect(parsed.length).toBeGreaterThan(60);
    for (const p of parsed) expect({ sql: p.sql.slice(0, 60), parsed: p.tree.length > 0 && p.canonical.length > 0 }).toEqual({ sql: p.sql.slice(0, 60), parsed: true });
  });

  it('sends every statement ON CLUSTER, but INSERT … SELECT, which writes through a Distributed table', () => {
    const without = parsed.filter((p) => !p.canonical.includes(` ON CLUSTER ${CLUSTER}`));
    expect(without.map((p) => `${p.source}: ${node(p.tree[0] ?? '').type}`)).toEqual(['0012_customer_firsts.sql: InsertQuery']);
    expect(tablesRead(without[0]?.tree ?? [])).toEqual(['sale_lines']);
  });

  it('makes every table a Replicated MergeTree in Keeper with a Distributed table under its name', () => {
    const created = parsed.filter((p) => node(p.tree[0] ?? '').type === 'CreateQuery' && p.tree.some((l) => node(l).type === 'Storage'));
    const locals = created.filter((p) => / \w+_local /.test(`${p.tree[0] ?? ''} `) && !p.canonical.includes('MATERIALIZED VIEW'));
    const distributed = created.filter((p) => p.tree.some((l) => node(l).type === 'Function' && node(l).name === 'Distributed'));
    expect(locals.length + distributed.length + 1).toBe(created.length); // + schema_migrations
    for (const local of locals) {
      const name = /CreateQuery \w+ (\w+)_local/.exec(local.tree[0] ?? '')?.[1] ?? '';
      const engine = local.tree.map(node).find((n) => n.type === 'Function' && /^Replicated\w*MergeTree$/.test(n.name))?.name;
      expect({ name, replicated: engine !== undefined }).toEqual({ name, replicated: true });
      expect(argumentsOf(local.tree, 'Function', engine ?? '').slice(0, 2)).toEqual([`Literal '${keeperPath(name)}'`, "Literal '{replica}'"]);
    }
    const names = locals.map((p) => /CreateQuery \w+ (\w+)_local/.exec(p.tree[0] ?? '')?.[1]).sort();
    expect(distributed.map((p) => /CreateQuery \w+ (\w+)/.exec(p.tree[0] ?? '')?.[1]).sort()).toEqual(names);
    for (const d of distributed) {
      const name = /CreateQuery \w+ (\w+)/.exec(d.tree[0] ?? '')?.[1] ?? '';
      const args = argumentsOf(d.tree, 'Function', 'Distributed');
      expect(args.slice(0, 3)).toEqual([`Literal '${CLUSTER}'`, `Literal '${DATABASE}'`, `Literal '${name}_local'`]);
      expect(args[3]).toBe('Function cityHash64');
    }
  });

  it('keeps the record of migrations replicated on every node, unsharded', () => {
    const record = parsed.find((p) => p.source === 'schema_migrations');
    expect(record?.canonical).toContain(`CREATE TABLE IF NOT EXISTS ${DATABASE}.schema_migrations ON CLUSTER ${CLUSTER}`);
    expect(argumentsOf(record?.tree ?? [], 'Function', 'ReplicatedReplacingMergeTree')).toEqual(["Literal '/clickhouse/tables/all/{database}/schema_migrations'", "Literal '{shard}-{replica}'"]);
  });

  it('has materialized views read and write local tables, views read the Distributed ones, all qualified', () => {
    const mvs = parsed.filter((p) => p.canonical.startsWith('CREATE MATERIALIZED VIEW'));
    expect(mvs).toHaveLength(3);
    for (const mv of mvs) {
      expect(mv.canonical).toMatch(new RegExp(`^CREATE MATERIALIZED VIEW IF NOT EXISTS ${DATABASE}\\.\\w+ ON CLUSTER ${CLUSTER} TO ${DATABASE}\\.\\w+_local AS SELECT`));
      expect(tablesRead(mv.tree).filter((t) => !(t.startsWith(`${DATABASE}.`) && t.endsWith('_local')))).toEqual([]);
    }
    const views = parsed.filter((p) => /^CREATE (OR REPLACE )?VIEW/.test(p.canonical));
    expect(views.length).toBeGreaterThanOrEqual(6);
    for (const view of views) {
      const read = tablesRead(view.tree);
      expect(read.length).toBeGreaterThan(0);
      expect(read.filter((t) => !t.startsWith(`${DATABASE}.`) || t.endsWith('_local'))).toEqual([]);
    }
  });

  it('alters the local tables, and the Distributed ones for columns', () => {
    const alters = parsed.filter((p) => node(p.tree[0] ?? '').type === 'AlterQuery');
    expect(alters.length).toBeGreaterThan(0);
    for (const alter of alters) expect(alter.canonical).toMatch(new RegExp(`^ALTER TABLE ${DATABASE}\\.\\w+ ON CLUSTER ${CLUSTER} `));
    const targets = alters.map((a) => /^ALTER TABLE \w+\.(\w+)/.exec(a.canonical)?.[1] ?? '');
    for (const [i, t] of targets.entries()) if (!t.endsWith('_local')) expect(targets[i - 1]).toBe(`${t}_local`);
  });

  it('runs the statements that change tables in place on the local tables of every shard', async () => {
    // The forms of services/periods/day-partials.ts (superseded versions) and imports.ts (a discarded import).
    const superseded =
      'SELECT v.time_zone, v.reporting_currency, v.day, v.read_at FROM kpi_partial_days AS v INNER JOIN (' +
      "SELECT time_zone, reporting_currency, day, max(read_at) AS newest FROM kpi_partial_days WHERE computed_at < {cutoff: DateTime64(3, 'UTC')} GROUP BY time_zone, reporting_currency, day" +
      ') AS n ON v.time_zone = n.time_zone AND v.reporting_currency = n.reporting_currency AND v.day = n.day WHERE v.read_at < n.newest';
    const statements = [
      `DELETE FROM kpi_day_partials WHERE (time_zone, reporting_currency, day, read_at) IN (${superseded})`,
      'DELETE FROM kpi_targets WHERE import_id = {id: String}',
      "ALTER TABLE kpi_values DELETE WHERE grain = 'day'",
      'OPTIMIZE TABLE kpi_values FINAL',
      'TRUNCATE TABLE IF EXISTS arrivals',
    ].map((sql) => inPlaceStatement(sql, { cluster: CLUSTER, database: DATABASE }).query);
    for (const sql of statements) {
      // EXPLAIN needs the statement's parameters bound; they travel beside it, as the code sends them.
      const p = await parse({ source: 'run time', sql }, { cutoff: '2026-01-01 00:00:00.000', id: 'import-1' });
      expect(p.canonical).toMatch(new RegExp(`^(DELETE FROM|ALTER TABLE|OPTIMIZE TABLE|TRUNCATE TABLE IF EXISTS) ${DATABASE}\\.\\w+_local ON CLUSTER ${CLUSTER}\\b`));
      expect(tablesRead(p.tree).filter((t) => !t.startsWith(`${DATABASE}.`) || t.endsWith('_local'))).toEqual([]);
    }
  });
});

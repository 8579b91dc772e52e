import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { migrateCommand } from '../../../services/cli/commands/migrate.js';
import { CLUSTER_CLIENT_SETTINGS, commandInPlace, forCluster, type ClickHouseClient } from '../../../services/shared/clickhouse.js';
import { clusterRewriter, inPlaceStatement, keeperPath, shardingKey } from '../../../services/shared/cluster-sql.js';
import { loadConfig } from '../../../services/shared/config.js';
import { MigrationError } from '../../../services/shared/errors.js';
import { migrate, migrationScript, migrationStatements, readMigrations } from '../../../services/shared/migrations.js';
import { ROOT } from '../../support/env.js';

const TARGET = { cluster: 'kpi', database: 'kpi' };

/** Every statement of every migration file, rewritten for the cluster, with its file. */
function clustered(): { file: string; sql: string }[] {
  const all = readMigrations();
  return migrationStatements(all, TARGET).flatMap((statements, i) => statements.map((sql) => ({ file: all[i]?.file ?? '', sql })));
}

/** Tables the migration files create (their CREATE TABLE names, as written for one server). */
function tablesOfFiles(): string[] {
  return readMigrations().flatMap((m) => m.statements.flatMap((s) => /^CREATE TABLE IF NOT EXISTS (\w+)/.exec(s)?.[1] ?? []));
}

/** A rewriter that has seen these statements already. */
function rewriterAfter(...statements: string[]): (statement: string) => string[] {
  const rewrite = clusterRewriter(TARGET);
  for (const s of statements) rewrite(s);
  return rewrite;
}

const EVENTS = "CREATE TABLE IF NOT EXISTS ev (event_id String, line_no UInt16, at DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(at) ORDER BY (event_id, line_no)";
const STATE = 'CREATE TABLE IF NOT EXISTS st (event_id String, n SimpleAggregateFunction(max, UInt64)) ENGINE = AggregatingMergeTree ORDER BY event_id';

describe('migrations for a cluster', () => {
  const statements = clustered();

  it('names ON CLUSTER in every statement but INSERT … SELECT, which writes through a Distributed table', () => {
    const missing = statements.filter((s) => !/ ON CLUSTER kpi\b/.test(s.sql));
    expect(missing.map((s) => s.sql.split(/\s+/).slice(0, 3).join(' '))).toEqual(['INSERT INTO customer_first_purchases']);
  });

  it('gives every table a replicated local table in Keeper and a Distributed table under its own name', () => {
    for (const table of tablesOfFiles()) {
      const local = statements.filter((s) => s.sql.startsWith(`CREATE TABLE IF NOT EXISTS kpi.${table}_local ON CLUSTER kpi\n`));
      const distributed = statements.filter((s) => s.sql.startsWith(`CREATE TABLE IF NOT EXISTS kpi.${table} ON CLUSTER kpi\n`));
      expect({ table, local: local.length, distributed: distributed.length }).toEqual({ table, local: 1, distributed: 1 });
      expect(local[0]?.sql).toMatch(new RegExp(`\\nENGINE = Replicated\\w*MergeTree\\('${keeperPath(table).replace(/[{}]/g, '\\$&')}', '\\{replica\\}'[,)]`));
      expect(distributed[0]?.sql).toContain(`AS kpi.${table}_local\nENGINE = Distributed('kpi', 'kpi', '${table}_local', cityHash64(`);
    }
  });

  it("keeps the engine's own arguments after the Keeper path and replica", () => {
    const sql = statements.map((s) => s.sql).join('\n');
    expect(sql).toContain("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/kpi_values_local', '{replica}', computed_at)");
    expect(sql).toContain("ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/order_state_local', '{replica}')\n");
    expect(sql).toContain("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/arrivals_local', '{replica}')\n");
    // A replicated table remembers insert tokens over replicated_deduplication_window.
    expect(sql).not.toMatch(/non_replicated_deduplication_window/);
    expect(sql.match(/SETTINGS replicated_deduplication_window = 1000/g)).toHaveLength(5);
  });

  it('shards by the sorting key, and events by their id alone', () => {
    const keyOf = (table: string): string | undefined => statements.map((s) => new RegExp(`Distributed\\('kpi', 'kpi', '${table}_local', (.*)\\)`).exec(s.sql)?.[1]).find((k) => k !== undefined);
    expect(keyOf('sale_lines')).toBe('cityHash64(event_id)');
    expect(keyOf('order_events')).toBe('cityHash64(event_id)');
    expect(keyOf('kpi_values')).toBe('cityHash64(grain, period, revision, kpi, level, unit)');
    expect(keyOf('period_revisions')).toBe('cityHash64(grain, period, revision)');
    expect(keyOf('principals')).toBe('cityHash64(name)');
    expect(keyOf('order_state')).toBe('cityHash64(order_id)');
    expect(shardingKey(['event_id', 'line_no'])).toBe('cityHash64(event_id)');
  });

  it('has materialized views read and write the local tables, and views read the Distributed ones', () => {
    const mvs = statements.filter((s) => s.sql.startsWith('CREATE MATERIALIZED VIEW'));
    expect(mvs.map((s) => /TO (\S+)/.exec(s.sql)?.[1])).toEqual(['kpi.order_state_local', 'kpi.ticket_state_local', 'kpi.customer_first_purchases_local']);
    for (const mv of mvs) expect([...mv.sql.matchAll(/\bFROM (kpi\.\w+)/g)].map((m) => m[1]).every((t) => t?.endsWith('_local'))).toBe(true);
    const views = statements.filter((s) => /^CREATE (OR REPLACE )?VIEW/.test(s.sql));
    expect(views.length).toBeGreaterThanOrEqual(6);
    for (const view of views) {
      const read = [...view.sql.matchAll(/\b(?:FROM|JOIN) (?!\()(\S+)/g)].map((m) => m[1] ?? '');
      expect({ view: view.sql.slice(0, 40), read: read.filter((t) => !t.startsWith('kpi.') || t.endsWith('_local')) }).toEqual({ view: view.sql.slice(0, 40), read: [] });
    }
  });

  it('alters columns on the local and the Distributed table, local first', () => {
    const alters = statements.filter((s) => s.file === '0011_money.sql' && s.sql.startsWith('ALTER TABLE'));
    expect(alters.map((s) => s.sql.split('\n')[0])).toEqual([
      'ALTER TABLE kpi.sale_lines_local ON CLUSTER kpi',
      'ALTER TABLE kpi.sale_lines ON CLUSTER kpi',
      'ALTER TABLE kpi.return_events_local ON CLUSTER kpi',
      'ALTER TABLE kpi.return_events ON CLUSTER kpi',
      'ALTER TABLE kpi.kpi_values_local ON CLUSTER kpi',
      'ALTER TABLE kpi.kpi_values ON CLUSTER kpi',
      'ALTER TABLE kpi.kpi_catalog_local ON CLUSTER kpi',
      'ALTER TABLE kpi.kpi_catalog ON CLUSTER kpi',
    ]);
    expect(alters[1]?.sql.match(/ADD COLUMN IF NOT EXISTS/g)).toHaveLength(4);
  });

  it('changes nothing without a cluster', () => {
    const all = readMigrations();
    expect(migrationStatements(all)).toEqual(all.map((m) => m.statements));
    const script = migrationScript({ database: 'kpi' });
    expect(script.slice(2).map((s) => s.sql)).toEqual(all.flatMap((m) => m.statements));
    expect(script[0]?.sql).toBe('CREATE DATABASE IF NOT EXISTS kpi');
  });

  it('plans the database and the record of migrations on every node', () => {
    const [database, record] = migrationScript({ database: 'analytics', cluster: 'edge' });
    expect(database?.sql).toBe('CREATE DATABASE IF NOT EXISTS analytics ON CLUSTER edge');
    expect(record?.sql).toMatch(/^CREATE TABLE IF NOT EXISTS analytics\.schema_migrations ON CLUSTER edge .*ENGINE = ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/all\/\{database\}\/schema_migrations', '\{shard\}-\{replica\}'\) ORDER BY version$/s);
  });
});

describe('kpi migrate --print-sql', () => {
  /** What the command writes to stdout. */
  async function printed(env: Record<string, string>, options: { json?: boolean }): Promise<string> {
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (out += chunk).length > 0);
    try {
      await migrateCommand(loadConfig(env), { ...options, printSql: true });
    } finally {
      process.stdout.write = write;
    }
    return out;
  }

  // The host does not resolve: a connection attempt would fail the command.
  const cluster = { CLICKHOUSE_URL: 'http://clickhouse.invalid:8123', CLICKHOUSE_CLUSTER: 'kpi', CLICKHOUSE_DATABASE: 'analytics' };

  it('prints the statements for the cluster, file by file, without connecting', async () => {
    const text = await printed(cluster, {});
    expect(text.startsWith('-- database\nCREATE DATABASE IF NOT EXISTS analytics ON CLUSTER kpi;\n\n-- schema_migrations\n')).toBe(true);
    expect(text).toContain('-- 0001_ingest_progress.sql\nCREATE TABLE IF NOT EXISTS analytics.ingest_progress_local ON CLUSTER kpi\n');
    expect(text.match(/^-- \d{4}_\w+\.sql$/gm)).toHaveLength(readMigrations().length);
  });

  it('prints one JSON line, and the plain statements without a cluster', async () => {
    const json = JSON.parse(await printed(cluster, { json: true })) as { cluster: string; statements: unknown[] };
    expect(json).toEqual({ cluster: 'kpi', statements: migrationScript({ database: 'analytics', cluster: 'kpi' }) });
    const plain = JSON.parse(await printed({}, { json: true })) as { cluster: string | null; statements: unknown[] };
    expect(plain).toEqual({ cluster: null, statements: migrationScript({ database: 'kpi' }) });
  });
});

describe('clusterRewriter refuses what it does not know', () => {
  it.each([
    ['DROP TABLE IF EXISTS ev', /statement form not known/],
    ['RENAME TABLE ev TO ev2', /statement form not known/],
    ['EXCHANGE TABLES ev AND ev2', /statement form not known/],
    ['CREATE TABLE IF NOT EXISTS m (a UInt8) ENGINE = Memory', /ENGINE Memory has no Replicated variant/],
    ['CREATE TABLE IF NOT EXISTS r (a UInt8) ENGINE = ReplicatedMergeTree ORDER BY a', /names the plain engine, not ReplicatedMergeTree/],
    ['CREATE TABLE IF NOT EXISTS c AS ev', /must list its columns/],
    ['CREATE TABLE IF NOT EXISTS t (a UInt8) ENGINE = MergeTree ORDER BY tuple()', /sorting key/],
    ['CREATE TABLE IF NOT EXISTS t ON CLUSTER x (a UInt8) ENGINE = MergeTree ORDER BY a', /never names ON CLUSTER/],
    ['CREATE TABLE IF NOT EXISTS kpi.t (a UInt8) ENGINE = MergeTree ORDER BY a', /names its database/],
    ['CREATE MATERIALIZED VIEW IF NOT EXISTS mv ENGINE = MergeTree ORDER BY a AS SELECT event_id AS a FROM ev', /must write TO a table/],
    ['CREATE MATERIALIZED VIEW IF NOT EXISTS mv TO st POPULATE AS SELECT event_id, 1 AS n FROM ev', /POPULATE/],
    ['CREATE MATERIALIZED VIEW IF NOT EXISTS mv TO nowhere AS SELECT event_id FROM ev', /nowhere is not a table/],
    ['CREATE MATERIALIZED VIEW IF NOT EXISTS mv TO st AS SELECT event_id, 1 AS n FROM v_ev', /reads v_ev, which is not a table/],
    ['CREATE VIEW IF NOT EXISTS v AS SELECT * FROM elsewhere', /reads elsewhere, which no earlier migration creates/],
    ['CREATE VIEW IF NOT EXISTS v AS SELECT * FROM ev AS a, st AS b', /comma join/],
    ['ALTER TABLE ev FREEZE', /not a command known to run on a cluster/],
    ['ALTER TABLE ev ATTACH PARTITION 202601', /not a command known to run on a cluster/],
    ['ALTER TABLE v_ev ADD COLUMN x UInt8', /v_ev is not a table/],
    ['ALTER TABLE ev DELETE WHERE event_id IN (SELECT event_id FROM st)', /with a subquery/],
    ['DELETE FROM ev WHERE event_id IN (SELECT event_id FROM st)', /with a subquery/],
    ['INSERT INTO nowhere SELECT 1', /nowhere is not a table/],
    ["SYSTEM RELOAD DICTIONARY 'x'", /statement form not known/],
  ])('%s', (statement, message) => {
    const rewrite = rewriterAfter(EVENTS, STATE, 'CREATE VIEW IF NOT EXISTS v_ev AS SELECT * FROM ev');
    const refusal = (() => {
      try {
        rewrite(statement);
        return undefined;
      } catch (err) {
        return err;
      }
    })();
    expect(refusal).toBeInstanceOf(Error);
    expect((refusal as Error).message).toMatch(message);
  });

  it('names the file and statement that cannot run on the cluster', () => {
    const all = readMigrations();
    const broken = [...all, { version: all.length + 1, file: '9999_broken.sql', name: 'broken', checksum: 'x', statements: ['DROP TABLE ev'] }];
    expect(() => migrationStatements(broken, TARGET)).toThrow(MigrationError);
    expect(() => migrationStatements(broken, TARGET)).toThrow(/9999_broken\.sql, statement 1 of 1, cannot be applied on cluster kpi/);
  });

  it('handles column lists, WITH subqueries, ARRAY JOIN and FROM inside functions', () => {
    const rewrite = rewriterAfter(EVENTS, STATE);
    const [view] = rewrite(
      "CREATE VIEW IF NOT EXISTS v (a String COMMENT 'read FROM ev, no table') AS WITH firsts AS (SELECT event_id FROM ev LIMIT 1 BY event_id) " +
        "SELECT e.event_id AS a FROM firsts AS f INNER JOIN ev AS e FINAL ON e.event_id = f.event_id ARRAY JOIN [1, 2] AS k WHERE extract(year FROM e.at) > 2000 AND trim(BOTH 'x' FROM e.event_id) != ''",
    );
    expect(view).toBe(
      "CREATE VIEW IF NOT EXISTS kpi.v ON CLUSTER kpi\n(a String COMMENT 'read FROM ev, no table')\nAS WITH firsts AS (SELECT event_id FROM kpi.ev LIMIT 1 BY event_id) " +
        "SELECT e.event_id AS a FROM firsts AS f INNER JOIN kpi.ev AS e FINAL ON e.event_id = f.event_id ARRAY JOIN [1, 2] AS k WHERE extract(year FROM e.at) > 2000 AND trim(BOTH 'x' FROM e.event_id) != ''",
    );
  });

  it('runs mutations, OPTIMIZE and TRUNCATE of a migration on the local tables only', () => {
    const rewrite = rewriterAfter(EVENTS);
    expect(rewrite("ALTER TABLE ev UPDATE line_no = 1, at = now64(3) WHERE event_id = 'x', MODIFY SETTING min_bytes_for_wide_part = 0")).toEqual([
      "ALTER TABLE kpi.ev_local ON CLUSTER kpi\n    UPDATE line_no = 1, at = now64(3) WHERE event_id = 'x', MODIFY SETTING min_bytes_for_wide_part = 0",
    ]);
    expect(rewrite('OPTIMIZE TABLE ev FINAL')).toEqual(['OPTIMIZE TABLE kpi.ev_local ON CLUSTER kpi FINAL']);
    expect(rewrite('TRUNCATE TABLE ev')).toEqual(['TRUNCATE TABLE kpi.ev_local ON CLUSTER kpi']);
  });
});

describe('inPlaceStatement', () => {
  it('runs a lightweight delete on the local tables of every shard, reading the Distributed ones', () => {
    const superseded =
      'SELECT v.day FROM kpi_partial_days AS v INNER JOIN (SELECT day, max(read_at) AS newest FROM kpi_partial_days ' +
      "WHERE computed_at < {cutoff: DateTime64(3, 'UTC')} GROUP BY day) AS n ON v.day = n.day WHERE v.read_at < n.newest";
    expect(inPlaceStatement(`DELETE FROM kpi_day_partials WHERE day IN (${superseded})`, { cluster: 'c1', database: 'analytics' })).toEqual({
      query:
        'DELETE FROM analytics.kpi_day_partials_local ON CLUSTER c1 WHERE day IN (SELECT v.day FROM analytics.kpi_partial_days AS v INNER JOIN ' +
        "(SELECT day, max(read_at) AS newest FROM analytics.kpi_partial_days WHERE computed_at < {cutoff: DateTime64(3, 'UTC')} GROUP BY day) AS n ON v.day = n.day WHERE v.read_at < n.newest)",
      settings: { allow_nondeterministic_mutations: 1 },
    });
    expect(inPlaceStatement('DELETE FROM kpi_targets WHERE import_id = {id: String}', TARGET)).toEqual({
      query: 'DELETE FROM kpi.kpi_targets_local ON CLUSTER kpi WHERE import_id = {id: String}',
      settings: {},
    });
  });

  it('handles ALTER … UPDATE/DELETE, OPTIMIZE and TRUNCATE', () => {
    expect(inPlaceStatement("ALTER TABLE t UPDATE a = 1, b = [1, 2] WHERE c = 'x'", TARGET).query).toBe("ALTER TABLE kpi.t_local ON CLUSTER kpi UPDATE a = 1, b = [1, 2] WHERE c = 'x'");
    expect(inPlaceStatement('OPTIMIZE TABLE t PARTITION 202601 FINAL DEDUPLICATE', TARGET)).toEqual({ query: 'OPTIMIZE TABLE kpi.t_local ON CLUSTER kpi PARTITION 202601 FINAL DEDUPLICATE', settings: {} });
    expect(inPlaceStatement('TRUNCATE TABLE IF EXISTS t', TARGET).query).toBe('TRUNCATE TABLE IF EXISTS kpi.t_local ON CLUSTER kpi');
    expect(inPlaceStatement('truncate t', TARGET).query).toBe('TRUNCATE TABLE kpi.t_local ON CLUSTER kpi');
  });

  it.each([
    ['INSERT INTO t VALUES (1)', /Not a statement that changes a table in place/],
    ['SELECT 1', /Not a statement that changes a table in place/],
    ['ALTER TABLE t ADD COLUMN x UInt8', /is not a mutation/],
    ['DELETE FROM t ON CLUSTER c WHERE 1', /already names ON CLUSTER/],
    ['DELETE FROM db.t WHERE 1', /names its database/],
    ["DELETE FROM t WHERE a = 'unterminated", /unterminated/],
  ])('refuses %s', (sql, message) => {
    expect(() => inPlaceStatement(sql, TARGET)).toThrow(message);
  });
});

/** A client that records what it is sent and answers every query with no rows. */
function recordingClient(): { client: ClickHouseClient; sent: { query: string; settings?: unknown }[] } {
  const sent: { query: string; settings?: unknown }[] = [];
  const client = {
    command: (p: { query: string; clickhouse_settings?: unknown }) => {
      sent.push({ query: p.query, ...(p.clickhouse_settings === undefined ? {} : { settings: p.clickhouse_settings }) });
      return Promise.resolve({ query_id: '' });
    },
    query: () => Promise.resolve({ json: () => Promise.resolve([]) }),
    insert: (p: { table: string }) => {
      sent.push({ query: `INSERT INTO ${p.table}` });
      return Promise.resolve({ executed: true, query_id: '' });
    },
  } as unknown as ClickHouseClient;
  return { client, sent };
}

describe('a client opened for a cluster', () => {
  it('sends in-place statements ON CLUSTER, with the settings they need', async () => {
    const { client, sent } = recordingClient();
    await commandInPlace(client, { query: 'DELETE FROM t WHERE a = {a: String}', query_params: { a: 'x' } });
    forCluster(client, TARGET);
    await commandInPlace(client, { query: 'DELETE FROM t WHERE a IN (SELECT a FROM u)' });
    expect(sent).toEqual([
      { query: 'DELETE FROM t WHERE a = {a: String}' },
      { query: 'DELETE FROM kpi.t_local ON CLUSTER kpi WHERE a IN (SELECT a FROM kpi.u)', settings: { allow_nondeterministic_mutations: 1 } },
    ]);
  });

  it('is migrated with the statements the plan prints', async () => {
    const { client, sent } = recordingClient();
    const result = await migrate(forCluster(client, TARGET));
    const files = readMigrations();
    expect(result.applied).toHaveLength(files.length);
    const statements = sent.filter((s) => !s.query.startsWith('INSERT INTO schema_migrations')).map((s) => s.query);
    expect(statements).toEqual(migrationScript({ database: 'kpi', cluster: 'kpi' }).slice(1).map((s) => s.sql));
    expect(sent.filter((s) => s.query === 'INSERT INTO schema_migrations')).toHaveLength(files.length);
  });

  it('waits for every shard and a majority of replicas, and joins Distributed tables globally', () => {
    expect(CLUSTER_CLIENT_SETTINGS).toEqual({ insert_distributed_sync: 1, insert_quorum: 'auto', distributed_product_mode: 'global' });
  });
});

describe('statements the code sends at run time', () => {
  /** Statements that cannot go through a Distributed table, and DDL. */
  const IN_PLACE_OR_DDL = /\b(DELETE FROM|ALTER TABLE|OPTIMIZE TABLE|TRUNCATE( TABLE)?|EXCHANGE TABLES|RENAME TABLE|DROP (TABLE|VIEW|DATABASE)|CREATE (OR REPLACE )?(TABLE|VIEW|MATERIALIZED VIEW|DATABASE|DICTIONARY))\b/;
  /** Where such a statement may be written without commandInPlace, and why. */
  const ALLOWED: Record<string, string[]> = {
    // The rewriter itself and the runner's record, both made for the cluster.
    'services/shared/cluster-sql.ts': ['*'],
    'services/shared/migrations.ts': ['CREATE TABLE'],
    // The embedded engine's database: one process, never a cluster.
    'services/shared/clickhouse.ts': ['CREATE DATABASE'],
    // The SQL door names statement kinds; the simulator's hostile strings are data.
    'services/shared/statements.ts': ['*'],
    'services/simulator/malformed.ts': ['*'],
  };

  function sources(dir: string): string[] {
    return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
  }

  it('run every in-place statement and DDL through commandInPlace or the cluster-aware runner', () => {
    const bypassing: string[] = [];
    for (const file of ['services', 'workflows', 'schemas'].flatMap(sources)) {
      readFileSync(path.join(ROOT, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const trimmed = line.trim();
          if (trimmed.startsWith('*') || trimmed.startsWith('//') || trimmed.startsWith('/*')) return;
          const statement = IN_PLACE_OR_DDL.exec(line)?.[0];
          if (statement === undefined || line.includes('commandInPlace(')) return;
          const allowed = ALLOWED[file.split(path.sep).join('/')] ?? [];
          if (!allowed.includes('*') && !allowed.includes(statement)) bypassing.push(`${file}:${i + 1}: ${trimmed.slice(0, 100)}`);
        });
    }
    expect(bypassing).toEqual([]);
  });
});

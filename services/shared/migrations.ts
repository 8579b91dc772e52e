import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from './clickhouse.js';
import { clusterOf, queryRows } from './clickhouse.js';
import { clusterRewriter, databaseStatement, type ClusterTarget } from './cluster-sql.js';
import { MigrationError, describeError } from './errors.js';
import { projectRoot } from './paths.js';
import { writeKpiCatalog } from './views.js';

/** A numbered SQL file: `0001_raw_events.sql` has version 1 and name `raw_events`. */
export interface Migration {
  version: number;
  name: string;
  file: string;
  checksum: string;
  statements: string[];
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
}

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** The record of applied migrations; created by the runner itself, never by a migration. */
export const MIGRATIONS_TABLE = 'schema_migrations';

export function defaultMigrationsDir(): string {
  return path.join(projectRoot(), 'infra', 'clickhouse', 'migrations');
}

/**
 * Splits a file into statements at semicolons that end a line. Comment lines are dropped;
 * a migration must not put a line-ending semicolon inside a string literal.
 */
export function splitStatements(sql: string): string[] {
  const withoutComments = sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n');
  return withoutComments
    .split(/;[ \t]*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Orders migration files by version. Rejects names that do not follow `NNNN_name.sql`,
 * two files with one version, and gaps, since a gap usually means a lost file.
 */
export function orderMigrations(files: { file: string; sql: string }[]): Migration[] {
  const migrations = files.map(({ file, sql }) => {
    const match = FILE_PATTERN.exec(file);
    if (!match) {
      throw new MigrationError(`Migration file ${file} is not named NNNN_name.sql (four digits, then lower-case letters, digits and _)`);
    }
    const statements = splitStatements(sql);
    if (statements.length === 0) throw new MigrationError(`Migration file ${file} holds no SQL statement`);
    return {
      version: Number(match[1]),
      name: match[2] ?? '',
      file,
      checksum: createHash('sha256').update(sql).digest('hex'),
      statements,
    };
  });
  migrations.sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    const expected = i + 1;
    if (m.version === migrations[i - 1]?.version) {
      throw new MigrationError(`Two migration files share version ${m.version}: ${migrations[i - 1]?.file} and ${m.file}`);
    }
    if (m.version !== expected) {
      throw new MigrationError(`Migration versions must run 1, 2, 3… without gaps: expected ${String(expected).padStart(4, '0')}, found ${m.file}`);
    }
  });
  return migrations;
}

/**
 * What remains to apply, given what the database has recorded. An applied migration whose
 * file changed since, or a recorded version with no file, is an error: migrations are
 * never edited once applied.
 */
export function pendingMigrations(all: Migration[], applied: AppliedMigration[]): Migration[] {
  const byVersion = new Map(all.map((m) => [m.version, m]));
  for (const done of applied) {
    const file = byVersion.get(done.version);
    if (!file) {
      throw new MigrationError(`The database records migration ${done.version} (${done.name}), but no file has that version`);
    }
    if (file.checksum !== done.checksum) {
      throw new MigrationError(
        `Migration ${file.file} was edited after it was applied (checksum differs). ` +
          'Applied migrations are never edited: add a new numbered file instead.',
      );
    }
  }
  const appliedVersions = new Set(applied.map((a) => a.version));
  return all.filter((m) => !appliedVersions.has(m.version));
}

export function readMigrations(dir: string = defaultMigrationsDir()): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((file) => ({ file, sql: readFileSync(path.join(dir, file), 'utf8') }));
  return orderMigrations(files);
}

const MIGRATIONS_COLUMNS = "version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)";

/**
 * The runner's record of applied migrations. On a cluster it is one replicated table with a
 * replica on every node (not sharded, no Distributed table): like the schema it records,
 * which ON CLUSTER creates on every node, it is about the whole cluster, so `kpi migrate`
 * may talk to any node, reads the whole record from that node alone, and no shard being
 * down can hide an applied migration. Replicas are named by shard and replica, since
 * `{replica}` need be unique within a shard only. A record a node has not fetched yet makes
 * a run apply that migration again, which its repeatable statements allow.
 */
export function migrationsTableStatement(target?: ClusterTarget): string {
  if (target === undefined) {
    return `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
      ${MIGRATIONS_COLUMNS}
    ) ENGINE = ReplacingMergeTree ORDER BY version`;
  }
  return (
    `CREATE TABLE IF NOT EXISTS ${target.database}.${MIGRATIONS_TABLE} ON CLUSTER ${target.cluster} (${MIGRATIONS_COLUMNS}) ` +
    `ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/${MIGRATIONS_TABLE}', '{shard}-{replica}') ORDER BY version`
  );
}

/**
 * The statements each migration runs: as written on one server; on a cluster, rewritten by
 * cluster-sql.ts (local replicated tables, Distributed tables, ON CLUSTER). Every file is
 * rewritten, applied or not, since later files refer to the tables of earlier ones; a
 * statement that cannot run on a cluster fails the run before anything is applied.
 */
export function migrationStatements(all: Migration[], target?: ClusterTarget): string[][] {
  if (target === undefined) return all.map((m) => m.statements);
  const rewrite = clusterRewriter(target);
  return all.map((m) =>
    m.statements.flatMap((statement, i) => {
      try {
        return rewrite(statement);
      } catch (err) {
        throw new MigrationError(
          `Migration ${m.file}, statement ${i + 1} of ${m.statements.length}, cannot be applied on cluster ${target.cluster}: ${describeError(err)}`,
          { cause: err },
        );
      }
    }),
  );
}

/** One statement `kpi migrate` would send, and where it comes from. */
export interface PlannedStatement {
  source: string;
  sql: string;
}

/**
 * Every statement `kpi migrate` sends to a new store, in order, without connecting: the
 * database, the runner's record, then each migration file's statements (for a cluster when
 * one is named). Applied migrations are skipped by the runner, so a store that has some
 * receives a tail of this list.
 */
export function migrationScript(options: { database: string; cluster?: string; dir?: string }): PlannedStatement[] {
  const target = options.cluster === undefined ? undefined : { cluster: options.cluster, database: options.database };
  const all = readMigrations(options.dir);
  return [
    { source: 'database', sql: databaseStatement(options.database, options.cluster) },
    { source: MIGRATIONS_TABLE, sql: migrationsTableStatement(target) },
    ...migrationStatements(all, target).flatMap((statements, i) => statements.map((sql) => ({ source: all[i]?.file ?? '', sql }))),
  ];
}

/**
 * Refuses a database laid out for the other mode: one migrated for one server has plain
 * tables under the names a cluster gives its Distributed tables (and CREATE … IF NOT EXISTS
 * would skip them silently), and one migrated for a cluster needs its statements made for
 * it. Moving data between the two is a job of its own, not a migration.
 */
async function checkLayout(client: ClickHouseClient, target: ClusterTarget | undefined): Promise<void> {
  const [record] = await queryRows<{ engine: string }>(client, 'SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = {name: String}', {
    name: MIGRATIONS_TABLE,
  });
  if (record === undefined) return;
  const replicated = record.engine.startsWith('Replicated');
  if (target !== undefined && !replicated) {
    throw new MigrationError(
      `CLICKHOUSE_CLUSTER is ${target.cluster}, but database ${target.database} was migrated for one server (${MIGRATIONS_TABLE} is ${record.engine}): ` +
        'a cluster takes a new database (CLICKHOUSE_DATABASE), into which the data is then copied',
    );
  }
  if (target === undefined && replicated) {
    throw new MigrationError(`This database was migrated for a ClickHouse cluster (${MIGRATIONS_TABLE} is ${record.engine}): set CLICKHOUSE_CLUSTER to its cluster`);
  }
}

export interface MigrateResult {
  applied: Migration[];
  alreadyApplied: number;
}

/**
 * Applies the pending migrations in order. Each statement is written to be repeatable
 * (`IF NOT EXISTS`), and a migration is recorded only after all its statements succeeded,
 * so a run that failed half way is continued by the next run.
 */
export async function migrate(
  client: ClickHouseClient,
  options: { dir?: string; onApplied?: (m: Migration, ms: number) => void; /** @default the cluster the client was opened for (CLICKHOUSE_CLUSTER) */ cluster?: ClusterTarget } = {},
): Promise<MigrateResult> {
  const all = readMigrations(options.dir);
  const target = options.cluster ?? clusterOf(client);
  const statementsOf = new Map(migrationStatements(all, target).map((statements, i) => [all[i]?.version, statements]));
  await checkLayout(client, target);
  await client.command({ query: migrationsTableStatement(target) });
  const applied = await queryRows<AppliedMigration>(
    client,
    `SELECT version, any(name) AS name, any(checksum) AS checksum FROM ${MIGRATIONS_TABLE} GROUP BY version ORDER BY version`,
  );
  const pending = pendingMigrations(all, applied);
  for (const m of pending) {
    const started = Date.now();
    const statements = statementsOf.get(m.version) ?? m.statements;
    for (const [i, statement] of statements.entries()) {
      try {
        await client.command({ query: statement });
      } catch (err) {
        throw new MigrationError(
          `Migration ${m.file} failed at statement ${i + 1} of ${statements.length}: ${describeError(err)}. ` +
            'Nothing after it was applied; fix the cause and run `kpi migrate` again to continue.',
          { cause: err },
        );
      }
    }
    await client.insert({
      table: MIGRATIONS_TABLE,
      values: [{ version: m.version, name: m.name, checksum: m.checksum }],
      format: 'JSONEachRow',
    });
    options.onApplied?.(m, Date.now() - started);
  }
  // Data the views read that the code owns (the KPI catalog's labels): brought up to date on
  // every run, applied migrations or not, so a changed catalog needs no migration.
  await writeKpiCatalog(client);
  return { applied: pending, alreadyApplied: applied.length };
}

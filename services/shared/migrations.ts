import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from './clickhouse.js';
import { queryRows } from './clickhouse.js';
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
  options: { dir?: string; onApplied?: (m: Migration, ms: number) => void } = {},
): Promise<MigrateResult> {
  const all = readMigrations(options.dir);
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
      version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY version`,
  });
  const applied = await queryRows<AppliedMigration>(
    client,
    `SELECT version, any(name) AS name, any(checksum) AS checksum FROM ${MIGRATIONS_TABLE} GROUP BY version ORDER BY version`,
  );
  const pending = pendingMigrations(all, applied);
  for (const m of pending) {
    const started = Date.now();
    for (const [i, statement] of m.statements.entries()) {
      try {
        await client.command({ query: statement });
      } catch (err) {
        throw new MigrationError(
          `Migration ${m.file} failed at statement ${i + 1} of ${m.statements.length}: ${describeError(err)}. ` +
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

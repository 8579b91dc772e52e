import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from './clickhouse.js';
import type { Config } from './config.js';
import { ConfigError, MigrationError, describeError } from './errors.js';
import { localTable, replicatedTableNames } from './cluster-sql.js';
import { readMigrations, splitStatements } from './migrations.js';
import { projectRoot } from './paths.js';

/**
 * ClickHouse's own users, roles and grants, which back up the application's permissions in
 * server mode: a read-only role for Grafana and analysts, a writer role for the services.
 * The embedded engine has no access storage, so this runs only against a server.
 */

/** Settings of a ClickHouse server: the only place access control applies. */
export type ServerClickHouse = Extract<Config['clickhouse'], { mode: 'server' }>;

export const READER_ROLE = 'kpi_reader';
export const WRITER_ROLE = 'kpi_writer';

/** Replaced in access.sql by CLICKHOUSE_DATABASE; unlike `{name: Type}` it is never a query parameter. */
const DATABASE_PLACEHOLDER = '{{database}}';

/** The same rule config.ts applies: such a name is safe to write into DDL unquoted. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** ClickHouse's ACCESS_DENIED. */
const ACCESS_DENIED = '497';

export function defaultAccessFile(): string {
  return path.join(projectRoot(), 'infra', 'clickhouse', 'access.sql');
}

export interface AccessOptions {
  /** The roles-and-grants file. @default "<project>/infra/clickhouse/access.sql" */
  file?: string;
  /** Salt of the reader's password hash (hex). @default 16 random bytes, new every run */
  salt?: string;
}

/**
 * Every statement `applyAccessControl` sends, in order: access.sql with the database filled
 * in, then, when CLICKHOUSE_READER_PASSWORD is set, the reader user. ClickHouse DDL takes no
 * query parameters, so the password never reaches SQL: only its salted SHA-256 in hex, which
 * ClickHouse checks as sha256(password + salt).
 */
export function accessStatements(config: ServerClickHouse, options: AccessOptions = {}): string[] {
  return render(config, options).statements;
}

/** The statements, and the strings in them that no message may show. */
function render(config: ServerClickHouse, options: AccessOptions): { statements: string[]; hidden: string[] } {
  const file = options.file ?? defaultAccessFile();
  if (!IDENTIFIER.test(config.database)) throw new ConfigError(`CLICKHOUSE_DATABASE: ${JSON.stringify(config.database)} is not an identifier`);
  const written = splitStatements(readFileSync(file, 'utf8')).map((s) => s.replaceAll(DATABASE_PLACEHOLDER, config.database));
  const unknown = written.find((s) => s.includes('{{'));
  if (unknown !== undefined) throw new ConfigError(`${file}: only ${DATABASE_PLACEHOLDER} may be used as a placeholder (in: ${unknown.slice(0, 80)})`);
  const { cluster } = config;
  const locals = cluster === undefined ? undefined : clusterLocalTables(cluster, config.database);
  const statements = locals === undefined ? written : written.map((s) => withLocalGrants(s, config.database, locals));
  if (config.reader === undefined) return { statements, hidden: [] };

  const { user, password } = config.reader;
  if (!IDENTIFIER.test(user)) throw new ConfigError(`CLICKHOUSE_READER_USER: ${JSON.stringify(user)} is not an identifier`);
  const salt = options.salt ?? randomBytes(16).toString('hex');
  if (!/^[0-9a-f]{1,128}$/.test(salt)) throw new ConfigError('the salt of a password hash must be lower-case hex');
  const hash = createHash('sha256').update(password + salt, 'utf8').digest('hex');
  const identified = `IDENTIFIED WITH sha256_hash BY '${hash}' SALT '${salt}'`;
  return {
    statements: [
      ...statements,
      `CREATE USER IF NOT EXISTS ${user} ${identified} DEFAULT DATABASE ${config.database}`,
      // An existing user keeps its old password under IF NOT EXISTS: the environment's wins.
      `ALTER USER ${user} ${identified} DEFAULT DATABASE ${config.database}`,
      // REPLACE: the reader holds this role and no other, whatever was granted by hand.
      `GRANT ${READER_ROLE} TO ${user} WITH REPLACE OPTION`,
      `ALTER USER ${user} DEFAULT ROLE ${READER_ROLE}`,
    ],
    hidden: [hash, salt],
  };
}

/** The tables the migrations make for a cluster with a replicated `<name>_local` under them, by name. */
function clusterLocalTables(cluster: string, database: string): Set<string> {
  return replicatedTableNames(
    readMigrations().flatMap((m) => m.statements),
    { cluster, database },
  );
}

/**
 * A grant of SELECT on Distributed tables, with SELECT on the local table under each added.
 * A query on a Distributed table reads the shard it runs on as the querying user, who must
 * therefore be allowed to read the local table as well; other shards are read as the
 * cluster's own user. Other statements are returned as they are.
 */
export function withLocalGrants(statement: string, database: string, locals: ReadonlySet<string>): string {
  if (!/^GRANT\b/.test(statement)) return statement;
  return statement.replace(new RegExp(`SELECT ON ${database}\\.(\\w+)(?=\\s*,|\\s+TO\\b)`, 'g'), (grant: string, table: string) =>
    locals.has(table) ? `${grant},\n    SELECT ON ${database}.${localTable(table)}` : grant,
  );
}

export interface AccessControlResult {
  /** Statements sent. */
  statements: number;
  /** The reader user kept, or undefined when CLICKHOUSE_READER_PASSWORD is unset. */
  readerUser: string | undefined;
  /** One line for the person who ran `kpi migrate`. */
  summary: string;
}

/**
 * Applies roles, grants, the reader's settings profile and the reader user to a ClickHouse
 * server. Every statement is repeatable, so each `kpi migrate` converges the server to
 * access.sql and the environment. The connecting user (CLICKHOUSE_USER) must be allowed to
 * manage access and to grant what the roles get.
 */
export async function applyAccessControl(
  client: Pick<ClickHouseClient, 'command'>,
  config: ServerClickHouse,
  options: AccessOptions = {},
): Promise<AccessControlResult> {
  const { statements, hidden } = render(config, options);
  // A failing statement is named by its first words, and no message may echo the hash.
  const redact = (text: string): string => hidden.reduce((out, secret) => out.replaceAll(secret, '…'), text);
  const label = (query: string): string => (query.replace(/\s+/g, ' ').split(' IDENTIFIED ')[0] ?? '').slice(0, 80);
  for (const [i, query] of statements.entries()) {
    try {
      await client.command({ query });
    } catch (err) {
      const code = err instanceof Error && 'code' in err ? String(err.code) : '';
      const hint =
        code === ACCESS_DENIED
          ? ` CLICKHOUSE_USER (${config.user}) must be allowed to manage users and roles and to grant what the roles get` +
            ' (the official image: CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT=1), and CLICKHOUSE_URL must be a ClickHouse server,' +
            ' not the embedded engine behind a kpi process, which keeps no users or roles.'
          : '';
      throw new MigrationError(
        `Access control failed at statement ${i + 1} of ${statements.length} (${label(query)}): ` +
          `${redact(describeError(err))}.${hint} Nothing after it was applied; fix the cause and run \`kpi migrate\` again.`,
      );
    }
  }
  const reader = config.reader?.user;
  return {
    statements: statements.length,
    readerUser: reader,
    summary:
      reader === undefined
        ? `Access control: roles ${READER_ROLE} and ${WRITER_ROLE} are in place; no reader user, since CLICKHOUSE_READER_PASSWORD is unset.`
        : `Access control: roles ${READER_ROLE} and ${WRITER_ROLE} are in place; user ${reader} reads with ${READER_ROLE}.`,
  };
}

import { readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  READER_ROLE,
  WRITER_ROLE,
  accessStatements,
  applyAccessControl,
  type ServerClickHouse,
} from '../../services/shared/access-control.js';
import { openWarehouse, queryRows, type ClickHouseClient, type Warehouse } from '../../services/shared/clickhouse.js';
import { loadConfig } from '../../services/shared/config.js';
import { ConfigError, MigrationError } from '../../services/shared/errors.js';
import { defaultMigrationsDir, MIGRATIONS_TABLE } from '../../services/shared/migrations.js';
import * as statementsModule from '../../services/shared/statements.js';
import { tempDir } from '../support/env.js';

// No ClickHouse server runs here, so the statements the runner would send are checked with
// ClickHouse's own parser (chDB's formatQuerySingleLine) and read back in its canonical form.
// chDB itself cannot run them: it has no access storage.

/** Tables that hold credentials: no reader may ever see them. */
const SECRET_TABLES = ['principals', 'tokens'];
const DATABASE = 'analytics_2';
const SALT = '00112233445566778899aabbccddeeff';
/** Quotes, backslashes, newlines, a statement of its own and the file's placeholder. */
const HOSTILE = `it's "quoted" \\' \\\\'; DROP USER admin; --\n\r\tGRANT ALL ON *.* TO x {{database}} пароль`;

/**
 * The documented readable tables: READABLE_TABLES of services/shared/statements.ts once it
 * exists; until then every table the migrations create, less schema_migrations and the
 * credential tables.
 */
function readableTables(): string[] {
  const listed = new Map<string, unknown>(Object.entries(statementsModule)).get('READABLE_TABLES');
  if (listed !== undefined) {
    if (!Array.isArray(listed) && !(listed instanceof Set)) throw new Error('READABLE_TABLES is neither an array nor a Set');
    return [...(listed as Iterable<unknown>)].map(String).sort();
  }
  const created = readdirSync(defaultMigrationsDir())
    .filter((f) => f.endsWith('.sql'))
    .flatMap((f) => [...readFileSync(path.join(defaultMigrationsDir(), f), 'utf8').matchAll(/^\s*CREATE TABLE (?:IF NOT EXISTS )?(\w+)/gim)].map((m) => m[1] ?? ''));
  return created.filter((t) => t !== MIGRATIONS_TABLE && !SECRET_TABLES.includes(t)).sort();
}

function serverConfig(env: Record<string, string>): ServerClickHouse {
  const clickhouse = loadConfig({ CLICKHOUSE_URL: 'http://clickhouse.invalid:8123', CLICKHOUSE_USER: 'kpi', CLICKHOUSE_PASSWORD: 'admin-secret', ...env }).clickhouse;
  if (clickhouse.mode !== 'server') throw new Error('expected server mode');
  return clickhouse;
}

/** `GRANT <privileges> ON db.table, <privileges> ON db.table … TO <grantees>` in canonical form → its parts. */
function grantsOf(formatted: string): { privileges: string[]; database: string; table: string }[] {
  const body = /^GRANT (.*) TO /.exec(formatted)?.[1] ?? '';
  return [...body.matchAll(/(?:^|, )([A-Z][A-Z ,]*?) ON ([\w*]+)\.([\w*]+)/g)].map((m) => ({
    privileges: (m[1] ?? '').split(', '),
    database: m[2] ?? '',
    table: m[3] ?? '',
  }));
}

function granteesOf(formatted: string): string[] {
  return (/ TO ([\w, ]+?)(?: WITH .*)?$/.exec(formatted)?.[1] ?? '').split(', ');
}

describe('ClickHouse access control (server mode)', () => {
  let dir: string;
  let warehouse: Warehouse;
  const withReader = serverConfig({ CLICKHOUSE_DATABASE: DATABASE, CLICKHOUSE_READER_USER: 'grafana_reader', CLICKHOUSE_READER_PASSWORD: HOSTILE });
  const withoutReader = serverConfig({ CLICKHOUSE_DATABASE: DATABASE });
  /** ClickHouse's canonical text of every statement, as its parser read it. */
  let formatted: string[];

  const format = async (sql: string): Promise<string> => {
    const [row] = await queryRows<{ f: string }>(warehouse.client, 'SELECT formatQuerySingleLine({q: String}) AS f', { q: sql });
    return row?.f ?? '';
  };

  beforeAll(async () => {
    dir = tempDir('access');
    warehouse = await openWarehouse(loadConfig({ ...process.env, CLICKHOUSE_URL: undefined, CHDB_PATH: dir }).clickhouse);
    formatted = [];
    for (const sql of accessStatements(withReader, { salt: SALT })) formatted.push(await format(sql));
  });
  afterAll(async () => {
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends only statements that ClickHouse parses, with or without a reader user', async () => {
    const all = [...accessStatements(withReader, { salt: SALT }), ...accessStatements(withoutReader)];
    for (const sql of all) {
      const text = await format(sql);
      expect({ sql, parsed: text.length > 0 }).toEqual({ sql, parsed: true });
    }
    expect(formatted.filter((f) => /^CREATE ROLE IF NOT EXISTS /.test(f)).map((f) => f.split(' ').at(-1))).toEqual([READER_ROLE, WRITER_ROLE]);
  });

  it('fills in the configured database and leaves no placeholder', () => {
    for (const sql of accessStatements(withReader, { salt: SALT })) expect(sql).not.toContain('{{');
    const databases = new Set(formatted.flatMap((f) => (f.startsWith('GRANT ') ? grantsOf(f).map((g) => g.database) : [])));
    expect([...databases]).toEqual([DATABASE]);
  });

  it('grants the reader role SELECT on exactly the readable tables, one by one, and nothing secret', () => {
    const expected = readableTables();
    for (const secret of [...SECRET_TABLES, MIGRATIONS_TABLE]) expect(expected).not.toContain(secret);

    const toReader = formatted.filter((f) => f.startsWith('GRANT ') && granteesOf(f).includes(READER_ROLE));
    expect(toReader).toHaveLength(1);
    expect(toReader[0]).toMatch(/ WITH REPLACE OPTION$/);
    const grants = grantsOf(toReader[0] ?? '');
    for (const grant of grants) expect({ ...grant, table: grant.table.includes('*') ? 'a wildcard' : 'a table' }).toEqual({ privileges: ['SELECT'], database: DATABASE, table: 'a table' });
    expect(grants.map((g) => g.table).sort()).toEqual(expected);

    // Nothing reaches the reader by another way: no privilege granted to its user directly.
    const toReaderUser = formatted.filter((f) => f.startsWith('GRANT ') && granteesOf(f).includes('grafana_reader'));
    expect(toReaderUser).toEqual([`GRANT ${READER_ROLE} TO grafana_reader WITH REPLACE OPTION`]);
    for (const secret of SECRET_TABLES) expect(formatted.join('\n')).not.toMatch(new RegExp(`\\.${secret}\\b`));
  });

  it('grants the writer role the services’ privileges on the pipeline database only', () => {
    const toWriter = formatted.filter((f) => f.startsWith('GRANT ') && granteesOf(f).includes(WRITER_ROLE));
    expect(toWriter.flatMap(grantsOf)).toEqual([
      { privileges: ['SELECT', 'INSERT', 'ALTER UPDATE', 'ALTER DELETE', 'CREATE TABLE', 'OPTIMIZE'], database: DATABASE, table: '*' },
    ]);
  });

  it('bounds the reader with a settings profile the caller cannot lift', () => {
    const profile = formatted.find((f) => f.startsWith('ALTER SETTINGS PROFILE'));
    expect(profile).toContain('readonly = 1 CONST');
    expect(profile).toMatch(/max_execution_time = 30 MIN 1 MAX 30\b/);
    for (const setting of ['max_memory_usage', 'max_result_rows', 'max_rows_to_read']) {
      const bound = new RegExp(`${setting} = (\\d+) MIN 1 MAX (\\d+)`).exec(profile ?? '');
      expect({ setting, bounded: bound !== null && bound[1] === bound[2] }).toEqual({ setting, bounded: true });
    }
    expect(formatted).toContain(`ALTER ROLE ${READER_ROLE} DROP ALL SETTINGS, DROP ALL PROFILES, ADD PROFILE \`kpi_reader_profile\``);
  });

  it('creates the reader user from a salted SHA-256 of the password: the password itself never reaches SQL', async () => {
    const statements = accessStatements(withReader, { salt: SALT });
    const text = statements.join('\n');
    expect(text).not.toContain(HOSTILE);
    for (const piece of HOSTILE.split(/[\n\r\t]/).filter((p) => p.length >= 4)) expect(text).not.toContain(piece);
    expect(text).not.toContain('пароль');

    // ClickHouse checks sha256(password + salt): computed here by ClickHouse itself.
    const [row] = await queryRows<{ h: string }>(warehouse.client, 'SELECT lower(hex(SHA256(concat({p: String}, {s: String})))) AS h', { p: HOSTILE, s: SALT });
    const identified = `IDENTIFIED WITH sha256_hash BY '${row?.h ?? '?'}' SALT '${SALT}'`;
    const userStatements = formatted.slice(-4);
    expect(userStatements).toEqual([
      `CREATE USER IF NOT EXISTS grafana_reader ${identified} DEFAULT DATABASE ${DATABASE}`,
      `ALTER USER grafana_reader ${identified} DEFAULT DATABASE ${DATABASE}`,
      `GRANT ${READER_ROLE} TO grafana_reader WITH REPLACE OPTION`,
      `ALTER USER grafana_reader DEFAULT ROLE ${READER_ROLE}`,
    ]);
    // A fresh salt every run unless one is given.
    expect(accessStatements(withReader).at(-4)).not.toEqual(accessStatements(withReader).at(-4));
  });

  it('sends every statement in order and says when no reader user is made', async () => {
    const sent: string[] = [];
    const client: Pick<ClickHouseClient, 'command'> = {
      command: ({ query }) => {
        sent.push(query);
        return Promise.resolve({ query_id: 'recorded', response_headers: {} });
      },
    };
    const without = await applyAccessControl(client, withoutReader);
    expect(sent).toEqual(accessStatements(withoutReader));
    expect(sent.join('\n')).not.toMatch(/\bUSER\b/);
    expect(without).toMatchObject({ statements: sent.length, readerUser: undefined });
    expect(without.summary).toMatch(/no reader user.*CLICKHOUSE_READER_PASSWORD is unset/);

    sent.length = 0;
    const withUser = await applyAccessControl(client, withReader, { salt: SALT });
    expect(sent).toEqual(accessStatements(withReader, { salt: SALT }));
    expect(withUser.readerUser).toBe('grafana_reader');
    expect(withUser.summary).toContain('grafana_reader');
  });

  it('stops at a failing statement without echoing the password or its hash', async () => {
    const statements = accessStatements(withReader, { salt: SALT });
    const hash = /BY '([0-9a-f]{64})'/.exec(statements.join('\n'))?.[1] ?? '?';
    const sent: string[] = [];
    const client: Pick<ClickHouseClient, 'command'> = {
      command: ({ query }) => {
        sent.push(query);
        if (!query.startsWith('CREATE USER')) return Promise.resolve({ query_id: 'recorded', response_headers: {} });
        // A server error that quotes the statement back.
        return Promise.reject(Object.assign(new Error(`Not enough privileges: ${query}`), { code: '497' }));
      },
    };
    const failure = await applyAccessControl(client, withReader, { salt: SALT }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(MigrationError);
    const message = (failure as Error).message;
    expect(message).toMatch(new RegExp(`statement ${statements.length - 3} of ${statements.length} \\(CREATE USER IF NOT EXISTS grafana_reader\\)`));
    expect(message).toContain('CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT');
    for (const secret of [hash, SALT, HOSTILE, 'пароль']) expect(message).not.toContain(secret);
    expect(sent).toHaveLength(statements.length - 3);
  });

  it('takes the reader from the environment with no default password, and never as the services’ own user', () => {
    expect(serverConfig({}).reader).toBeUndefined();
    expect(serverConfig({ CLICKHOUSE_READER_PASSWORD: 'long enough secret' }).reader).toEqual({ user: 'kpi_reader_user', password: 'long enough secret' });
    const embedded = loadConfig({ CHDB_PATH: dir, CLICKHOUSE_READER_PASSWORD: 'long enough secret' }).clickhouse;
    expect(embedded).not.toHaveProperty('reader');
    const refused = (env: Record<string, string>): unknown => {
      try {
        return serverConfig(env);
      } catch (err) {
        return err;
      }
    };
    const wrong: Record<string, string>[] = [
      { CLICKHOUSE_READER_USER: 'kpi', CLICKHOUSE_READER_PASSWORD: 'long enough secret' },
      { CLICKHOUSE_READER_USER: READER_ROLE },
      { CLICKHOUSE_READER_USER: 'default' },
      { CLICKHOUSE_READER_USER: 'x; DROP USER y' },
      { CLICKHOUSE_READER_PASSWORD: 'short' },
    ];
    for (const env of wrong) {
      const err = refused(env);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/CLICKHOUSE_READER_(USER|PASSWORD)/);
    }
  });
});

import { rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { openWarehouse, queryRows, type Warehouse } from '../../services/shared/clickhouse.js';
import { loadConfig } from '../../services/shared/config.js';
import { ForbiddenError, UsageError } from '../../services/shared/errors.js';
import { migrate } from '../../services/shared/migrations.js';
import { waitFor } from '../../services/shared/wait.js';
import {
  READABLE_SYSTEM_TABLES,
  READABLE_TABLES,
  checkStatement,
  type CheckedStatement,
  type QueryLimits,
  type StatementAccess,
} from '../../services/shared/statements.js';
import { tempDir } from '../support/env.js';

// The SQL door against the real embedded engine: every decision is ClickHouse's own parse
// tree, so every case runs through chDB, and what the door lets through is run as returned.

/** Generous bounds: a case that hits one of them is a case about that bound. */
const LIMITS: QueryLimits = {
  maxExecutionSeconds: 30,
  maxMemoryBytes: 2 * 1024 ** 3,
  maxResultRows: 100_000,
  maxResultBytes: 100 * 1024 ** 2,
  maxRowsToRead: 2_000_000_000_000,
};

interface Hostile {
  sql: string;
  access: StatementAccess;
  error: typeof ForbiddenError | typeof UsageError;
  /** What the message must name: the refused thing and why. */
  reason: RegExp;
}

const read = (sql: string, reason: RegExp, error: Hostile['error'] = ForbiddenError): Hostile => ({ sql, access: 'read', error, reason });
const write = (sql: string, reason: RegExp, error: Hostile['error'] = ForbiddenError): Hostile => ({ sql, access: 'write', error, reason });

const OUTFILE = /^INTO OUTFILE is refused: the SQL door never writes files$/;
const TOKENS = /^table tokens is not readable through the SQL door; readable tables: .*kpi_values/;
const CREDENTIALS = /^table tokens is not reachable through the SQL door: it holds credentials$/;
const READ_ONLY = /statements are refused: read access runs only SELECT, SHOW, DESCRIBE and EXISTS$/;

const HOSTILE: Hostile[] = [
  // Files written by the engine.
  read("SELECT 'x' INTO OUTFILE '/tmp/pwn' TRUNCATE", OUTFILE),
  read("SELECT 'x' INTO OUTFILE '/tmp/pwn'", OUTFILE),
  read("SELECT 1 UNION ALL SELECT 2 INTO OUTFILE '/tmp/pwn' TRUNCATE", OUTFILE),
  read("SELECT 1 /* harmless */ INTO OUTFILE '/tmp/pwn'", OUTFILE),
  write("select 'x' into outfile '/tmp/pwn' truncate format CSV", OUTFILE),
  // Files, URLs, processes and other servers reached by table functions and functions.
  read("SELECT * FROM file('/proc/self/environ')", /^table function file\(\) is refused: it reaches files of the host$/),
  read("SELECT * FROM FiLe('/etc/passwd', 'LineAsString')", /^table function FiLe\(\) is refused: it reaches files of the host$/),
  read("SELECT * FROM url('http://169.254.169.254/latest/meta-data/', 'LineAsString')", /^table function url\(\) is refused: it reaches URLs and object storage$/),
  read("SELECT * FROM s3('https://bucket.s3.amazonaws.com/data.csv')", /^table function s3\(\) is refused: it reaches URLs and object storage$/),
  read("SELECT * FROM remote('127.0.0.1', kpi, tokens)", /^table function remote\(\) is refused: it reaches other servers$/),
  read("SELECT * FROM executable('pwn.sh', 'CSV', 'a String')", /^table function executable\(\) is refused: it runs processes of the host$/),
  read("SELECT * FROM input('a String')", /^table function input\(\) is refused: it reads the data stream of the request$/),
  read("SELECT * FROM mysql('db:3306', 'shop', 'users', 'root', 'secret')", /^table function mysql\(\) is refused: it reaches other servers$/),
  read("SELECT * FROM merge('kpi', '^tok')", /^table function merge\(\) is refused: it reads tables by a name the check cannot see$/),
  read("SELECT * FROM mergeTreeIndex(kpi, tokens)", /^table function mergeTreeIndex\(\) is refused: it reads tables by a name the check cannot see$/),
  read("SELECT file('/etc/passwd')", /^function file\(\) is refused: it reaches files of the host$/),
  read("SELECT length(FILE('/etc/passwd')) AS n", /^function FILE\(\) is refused: it reaches files of the host$/),
  read("SELECT dictGet('secrets', 'hash', toUInt64(1))", /^function dictGet\(\) is refused: it reads tables by a name the check cannot see$/),
  read("SELECT joinGet('secrets', 'hash', 1)", /^function joinGet\(\) is refused/),
  read("DESCRIBE TABLE url('http://169.254.169.254/', 'LineAsString')", /^table function url\(\) is refused: it reaches URLs and object storage$/),
  read("SELECT * FROM generateRandom('a String')", /^table function generateRandom\(\) is refused for read access: only numbers\(\)/),
  write("INSERT INTO FUNCTION file('/tmp/pwn.csv', 'CSV', 'a UInt8') SELECT 1", /^function file\(\) is refused: it reaches files of the host$/),
  write("SELECT * FROM eval('SELECT * FROM tok' || 'ens')", /^table function eval\(\) is refused: it runs a query built at run time/),
  write("CREATE TABLE leak (a String) ENGINE = File(CSV)", /^engine File is refused: it reaches files of the host$/),
  write("CREATE TABLE leak (a String) ENGINE = MergeTree ORDER BY a SETTINGS disk = disk(type = local, path = '/tmp/leak/')", /^disk\(\) is refused/),
  write(
    "CREATE DICTIONARY leak (a UInt64) PRIMARY KEY a SOURCE(FILE(path '/etc/passwd' format 'CSV')) LAYOUT(FLAT()) LIFETIME(0)",
    /^dictionaries are refused: their sources reach files, URLs, processes and other servers$/,
  ),
  write("INSERT INTO kpi_targets FROM INFILE '/etc/passwd' FORMAT CSV", /^FROM INFILE is refused: the SQL door never reads files of the host$/),
  write("INSERT INTO kpi_targets VALUES (file('/etc/passwd'))", /^INSERT with its rows inside the statement is refused: the door cannot check them/),
  // Statements that act on the shared engine or session.
  write('CREATE TEMPORARY TABLE period_revisions (x Int8)', /^CREATE TEMPORARY TABLE is refused: a temporary table would live on the shared session$/),
  write('SYSTEM SHUTDOWN', /^SYSTEM statements are refused: they act on the whole engine, not on data$/),
  read('SYSTEM FLUSH LOGS', /^SYSTEM statements are refused/),
  write('KILL QUERY WHERE 1', /^KILL statements are refused: they stop queries of everyone sharing the engine$/),
  read('USE system', /^USE statements are refused: they would change the shared session's current database/),
  write('SET readonly = 0', /^SET statements are refused: they would stay on the shared session/),
  read('SELECT 1 SETTINGS readonly = 0', /^SETTINGS clauses are refused: the door applies its own limits$/),
  read('SELECT count() FROM kpi_values SETTINGS max_execution_time = 100000', /^SETTINGS clauses are refused: the door applies its own limits$/),
  read('SELECT 1 FORMAT JSON SETTINGS max_result_rows = 0', /^SETTINGS clauses are refused/),
  write('GRANT ALL ON *.* TO intruder', /^GRANT statements are refused: the SQL door runs only SELECT, SHOW, DESCRIBE, EXISTS, INSERT/),
  write("ATTACH TABLE leak FROM '/tmp/leak' (a UInt8) ENGINE = MergeTree ORDER BY a", /^ATTACH statements are refused/),
  read('EXPLAIN SELECT 1', /^EXPLAIN statements are refused/),
  read("SHOW SETTINGS LIKE 'max%'", /^SHOW SETTINGS is refused: the SQL door shows only TABLES, DATABASES, COLUMNS and CREATE TABLE$/),
  // More than one statement, or none.
  read('SELECT 1; DROP TABLE kpi_values', /^The statement does not parse: .*Multi-statements are not allowed/, UsageError),
  read('', /^The statement does not parse: Empty query$/, UsageError),
  read('-- only a comment', /^The statement does not parse: Empty query$/, UsageError),
  read('SELEC 1', /^The statement does not parse: Syntax error/, UsageError),
  // Writes with read access.
  read('DROP TABLE kpi_values', /^DROP statements are refused: read access runs only/),
  read('ALTER TABLE kpi_values DELETE WHERE 1', /^ALTER statements are refused: read access runs only/),
  read('TRUNCATE TABLE kpi_values', /^TRUNCATE statements are refused: read access runs only/),
  read('INSERT INTO kpi_values SELECT * FROM kpi_values', READ_ONLY),
  read('OPTIMIZE TABLE kpi_values FINAL', READ_ONLY),
  // The credential tables, however they are named.
  read('SELECT * FROM tokens', TOKENS),
  read('SELECT * FROM `tokens`', TOKENS),
  read('SELECT * FROM kpi.tokens', /^table kpi\.tokens is not readable through the SQL door/),
  read('SELECT name FROM principals', /^table principals is not readable through the SQL door/),
  read("SELECT 1 WHERE 'x' IN tokens", TOKENS),
  read("SELECT 1 WHERE ('x', 'y') GLOBAL NOT IN kpi.tokens", /^table kpi\.tokens is not readable/),
  read('SELECT kpi FROM kpi_values WHERE kpi IN (SELECT token_id FROM tokens)', TOKENS),
  read('SELECT * FROM kpi_values AS k INNER JOIN tokens AS t ON k.kpi = t.token_id', TOKENS),
  read('SELECT kpi FROM kpi_values UNION ALL SELECT hash FROM tokens', TOKENS),
  read('WITH leaked AS (SELECT hash FROM tokens) SELECT * FROM leaked', TOKENS),
  read('SELECT * FROM view(SELECT hash FROM tokens)', TOKENS),
  read('SELECT (SELECT max(hash) FROM tokens) AS h', TOKENS),
  read('SHOW CREATE TABLE tokens', TOKENS),
  read('SHOW COLUMNS FROM tokens', TOKENS),
  read('EXISTS TABLE kpi.tokens', /^table kpi\.tokens is not readable/),
  read('SELECT * FROM {t:Identifier}', /^query parameter \{t:Identifier\} is refused: a table named by a parameter would be hidden from the check$/),
  read('SELECT * FROM system.processes', /^system\.processes is not readable through the SQL door; readable system tables: one, numbers/),
  read("SELECT name FROM system.settings WHERE name = 'readonly' SETTINGS readonly = 0", /SETTINGS clauses are refused/),
  read('SELECT * FROM default.something', /^table default\.something is not readable through the SQL door/),
  read('SELECT `a\nb` FROM kpi_values', /^identifiers holding control characters .* are refused/),
  write('SELECT * FROM tokens', CREDENTIALS),
  write('CREATE TABLE copy AS tokens', CREDENTIALS),
  write("CREATE TABLE copy ENGINE = Memory AS SELECT * FROM kpi.tokens", CREDENTIALS),
  write('RENAME TABLE tokens TO harmless', CREDENTIALS),
];

/** What a promise rejected with, or a failure when it did not. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(outcome instanceof Error)) throw new Error('expected a rejection, the promise resolved');
  return outcome;
}

describe('the SQL door on the embedded engine (chDB)', () => {
  let dir: string;
  let warehouse: Warehouse;

  const check = (sql: string, access: StatementAccess = 'read', limits: QueryLimits | undefined = LIMITS): Promise<CheckedStatement> =>
    checkStatement(warehouse.client, sql, access === 'read' && limits ? { access, limits } : { access });

  /** Runs what the door returned, as its callers do: in the format the caller asks for. */
  const run = async (checked: CheckedStatement, params: Record<string, unknown> = {}): Promise<unknown[]> =>
    (await warehouse.client.query({ query: checked.sql, query_params: params, format: 'JSONEachRow' })).json();

  beforeAll(async () => {
    dir = tempDir('statements');
    warehouse = await openWarehouse(loadConfig({ ...process.env, CLICKHOUSE_URL: undefined, CHDB_PATH: dir }).clickhouse);
    await migrate(warehouse.client);
    // The auth migration creates it; a stand-in keeps this file about the door alone.
    await warehouse.client.command({ query: 'CREATE TABLE IF NOT EXISTS tokens (token_id String, hash String) ENGINE = MergeTree ORDER BY token_id' });
    await warehouse.client.command({ query: "INSERT INTO tokens (token_id, hash) VALUES ('t1', 'scrypt-secret')" });
  });

  afterAll(async () => {
    await warehouse?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists documented tables and never a credential table', () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(35);
    expect(READABLE_TABLES).toEqual(expect.arrayContaining(['kpi_values', 'period_revisions', 'scorecards', 'scorecard_lines', 'arrivals', 'dead_letters']));
    for (const secret of ['principals', 'tokens']) expect(READABLE_TABLES).not.toContain(secret);
    for (const engine of ['processes', 'query_log', 'users', 'grants']) expect(READABLE_SYSTEM_TABLES).not.toContain(engine);
  });

  it.each(HOSTILE)('refuses [$access] $sql', async ({ sql, access, error, reason }) => {
    const err = await rejection(check(sql, access));
    expect({ type: err.constructor.name, message: err.message }).toEqual({ type: error.name, message: err.message });
    expect(err.message).toMatch(reason);
    // Short, the list of readable tables aside: it grows with the documented tables and views.
    expect(err.message.replace(READABLE_TABLES.join(', '), '…').length).toBeLessThanOrEqual(400);
    expect(err.message).not.toMatch(/In scope|formatQuerySingleLine|EXPLAIN AST/);
  });

  it('answers pathological bodies in well under a second, with a short parser sentence', async () => {
    for (const spaces of [2_400, 300_000]) {
      const body = `SELECT (${' '.repeat(spaces)},`;
      const started = Date.now();
      const err = await rejection(check(body));
      const elapsed = Date.now() - started;
      expect({ spaces, elapsed: elapsed < 1_000, type: err.constructor.name }).toEqual({ spaces, elapsed: true, type: 'UsageError' });
      expect(err.message).toMatch(/^The statement does not parse: /);
      expect(err.message.length).toBeLessThanOrEqual(330);
    }
    const huge = await rejection(check(`SELECT '${'x'.repeat(1024 * 1024)}'`));
    expect(huge).toBeInstanceOf(UsageError);
    expect(huge.message).toMatch(/at most 1048576 \(1 MiB\)$/);
  });

  it('lets through reads of documented tables and runs them as returned', async () => {
    const cte = await check('WITH recent AS (SELECT kpi, period FROM kpi_values) SELECT toUInt32(count()) AS n FROM recent');
    expect(cte.kind).toBe('SELECT');
    expect(await run(cte)).toEqual([{ n: 0 }]);

    const join = await check('SELECT v.kpi, r.period FROM kpi_values AS v INNER JOIN period_revisions AS r ON v.period = r.period LIMIT 5');
    expect(await run(join)).toEqual([]);
    expect((await run(await check('SELECT count() AS n FROM kpi.kpi_values, system.one'))).length).toBe(1);

    const show = await check('SHOW TABLES');
    expect(show.kind).toBe('SHOW');
    expect(await run(show)).toEqual(expect.arrayContaining([{ name: 'kpi_values' }]));

    const describe = await check('DESCRIBE kpi_values');
    expect(describe.kind).toBe('DESCRIBE');
    expect(await run(describe)).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'kpi', type: 'LowCardinality(String)' })]));

    const exists = await check('EXISTS kpi_values');
    expect(exists.kind).toBe('EXISTS');
    expect(await run(exists)).toEqual([{ result: 1 }]);

    expect(await run(await check('SHOW COLUMNS FROM kpi_values'))).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'kpi' })]));
    expect(await run(await check('SELECT number FROM numbers(3) UNION ALL SELECT 7'))).toHaveLength(4);
  });

  it('returns the FORMAT clause apart from the statement, and the statement runs in it', async () => {
    const checked = await check('SELECT toUInt8(number) AS n FROM numbers(2) FORMAT JSON');
    expect(checked.format).toBe('JSON');
    expect(checked.sql).not.toMatch(/FORMAT/);
    expect(checked.sql).toMatch(/^SELECT toUInt8\(number\) AS n FROM numbers\(2\) SETTINGS readonly = 1, max_execution_time = 30, /);
    const body = await (await warehouse.client.query({ query: checked.sql, format: 'JSON' })).json<{ n: number }>();
    expect(body.data).toEqual([{ n: 0 }, { n: 1 }]);

    // A name that only looks like a FORMAT clause stays where it is.
    const alias = await check('SELECT 1 AS `FORMAT`');
    expect(alias.format).toBeUndefined();
    expect(await run(alias)).toEqual([{ FORMAT: 1 }]);
    expect((await check('SHOW TABLES FORMAT TSV')).format).toBe('TSV');
  });

  it('keeps query parameters for the caller to bind', async () => {
    const checked = await check('SELECT {x:UInt8} + 1 AS y, toUInt32(count()) AS n FROM kpi_values WHERE kpi = {kpi:String}');
    expect(checked.sql).toContain('{x:UInt8}');
    expect(await run(checked, { x: 41, kpi: 'revenue' })).toEqual([{ y: 42, n: 0 }]);
  });

  it('applies the time limit: a long read fails with TIMEOUT_EXCEEDED (159) in about a second', async () => {
    const checked = await check('SELECT count() FROM numbers(1e12)', 'read', { ...LIMITS, maxExecutionSeconds: 1 });
    expect(checked.sql).toContain('max_execution_time = 1,');
    const started = Date.now();
    const err = await rejection(run(checked));
    expect({ code: (err as Error & { code?: string }).code, quick: Date.now() - started < 5_000 }).toEqual({ code: '159', quick: true });
  });

  it('applies the result limit (396), to a UNION as well', async () => {
    const limits = { ...LIMITS, maxResultRows: 5 };
    for (const sql of ['SELECT number FROM numbers(100)', 'SELECT number FROM numbers(10) UNION ALL SELECT 1']) {
      const err = await rejection(run(await check(sql, 'read', limits)));
      expect({ sql, code: (err as Error & { code?: string }).code }).toEqual({ sql, code: '396' });
    }
  });

  it('still checks right after a read failed half way through its answer', async () => {
    // chDB leaves what a failed query wrote (here a whole JSON document) on the session, in
    // front of the next query's answer; the door's own questions must not be misled by it.
    const failing = await check('SELECT number FROM numbers(10)', 'read', { ...LIMITS, maxResultRows: 5 });
    await rejection(warehouse.client.exec({ query: failing.sql, clickhouse_settings: { default_format: 'JSON' } }));
    const checked = await check('SELECT 1 AS one');
    expect(checked.kind).toBe('SELECT');
    expect(await run(checked)).toEqual([{ one: 1 }]);
  });

  it('leaves nothing on the shared session after a read ran with its limits', async () => {
    expect(await run(await check('SELECT getSetting(\'readonly\') AS r'))).toEqual([{ r: 1 }]);
    const [session] = await queryRows<{ r: number; t: number }>(warehouse.client, "SELECT getSetting('readonly') AS r, getSetting('max_result_rows') AS t");
    expect(session).toEqual({ r: 0, t: 0 });
  });

  it('lets writes through without read limits, and keeps VALUES rows literal', async () => {
    const create = await check('CREATE TABLE notes (s String) ENGINE = MergeTree ORDER BY s', 'write');
    expect(create).toEqual({ kind: 'CREATE', sql: 'CREATE TABLE notes (`s` String) ENGINE = MergeTree ORDER BY s', format: undefined });
    await warehouse.client.command({ query: create.sql });

    const insert = await check('INSERT INTO notes VALUES', 'write');
    expect(insert.sql).toBe('INSERT INTO notes SETTINGS input_format_values_interpret_expressions = 0, input_format_values_deduce_templates_of_expressions = 0 FORMAT Values');
    await warehouse.client.exec({ query: insert.sql, values: Readable.from(["('plain'), ('it\\'s')"]) });
    const smuggled = await rejection(warehouse.client.exec({ query: insert.sql, values: Readable.from(["(file('/etc/hostname'))"]) }));
    expect(smuggled.message).toMatch(/Interpreting expressions is disabled/);

    const alter = await check("ALTER TABLE notes DELETE WHERE s = 'plain'", 'write');
    expect(alter.kind).toBe('ALTER');
    await warehouse.client.command({ query: alter.sql });
    const left = await waitFor(
      async () => {
        const rows = await queryRows<{ s: string }>(warehouse.client, 'SELECT s FROM notes ORDER BY s');
        return rows.length === 1 ? rows : undefined;
      },
      { timeoutMs: 30_000, what: 'the ALTER … DELETE mutation' },
    );
    expect(left).toEqual([{ s: "it's" }]);
    await warehouse.client.command({ query: (await check('DROP TABLE notes', 'write')).sql });
  });
});

import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lastJsonLine, runKpi } from '../support/cli.js';
import { tempDir } from '../support/env.js';

/** The user's environment, with a store of the test's own. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, CHDB_PATH: tempDir('cli-chdb'), LOG_LEVEL: 'warn', ...extra };
}

/**
 * Each case has a store (and ports) of its own and runs `kpi` processes one after another,
 * each mostly starting up: the cases run side by side.
 */
describe('kpi command line', () => {
  it.concurrent('stops on a bad environment value with exit code 2 and a message naming the variable', async () => {
    const result = await runKpi(['stack', 'status'], env({ KPI_TIME_ZONE: 'Mars/Base', KAFKA_BROKERS: 'nohost' }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('KPI_TIME_ZONE: expected an IANA time zone');
    expect(result.stderr).toContain('KAFKA_BROKERS: expected host:port');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it.concurrent('rejects an unknown command and a bad option with exit code 2', async () => {
    expect((await runKpi(['frobnicate'], env())).code).toBe(2);
    const bad = await runKpi(['sql', 'SELECT 1', '--format', 'xml'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Allowed choices are table, json, ndjson, csv, tsv");
  });

  it.concurrent('tells what to install when java is missing', async () => {
    // Other ports and data folder: nothing is running there, so Kafka would have to start.
    const result = await runKpi(
      ['stack', 'up'],
      env({ PATH: path.dirname(process.execPath).replace(/.*/, '/nonexistent'), JAVA_HOME: '', KPI_DATA_DIR: tempDir('nojava'), KPI_STACK_KAFKA_PORT: '19392', KPI_STACK_KAFKA_CONTROLLER_PORT: '19393', KPI_STACK_TEMPORAL_PORT: '19333', KPI_STACK_TEMPORAL_UI_PORT: '19334' }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Kafka needs Java 17\+, but `java` was not found\. Install Java 17 or newer/);
  });

  it.concurrent('migrates, then answers SQL in every format, read-only by default', async () => {
    const e = env();
    const migrated = await runKpi(['migrate', '--json'], e);
    expect(migrated.code).toBe(0);
    expect(lastJsonLine<{ applied: string[] }>(migrated.stdout).applied.length).toBeGreaterThan(0);
    expect(lastJsonLine<{ applied: string[] }>((await runKpi(['migrate', '--json'], e)).stdout).applied).toEqual([]);

    const query = 'SELECT name FROM system.tables WHERE database = currentDatabase() AND name = {t: String}';
    const json = await runKpi(['sql', query, '-p', 't=dead_letters', '--format', 'json'], e);
    expect(json.code).toBe(0);
    expect(lastJsonLine(json.stdout)).toEqual([{ name: 'dead_letters' }]);
    const csv = await runKpi(['sql', query, '-p', 't=dead_letters', '--format', 'csv'], e);
    expect(csv.stdout).toBe('"name"\n"dead_letters"\n');
    const table = await runKpi(['sql', 'SELECT 1 AS one, \'a\' AS letter'], e);
    expect(table.stdout).toContain('one  letter');
    expect(table.stdout).toContain('(1 row)');

    const hostile = await runKpi(['sql', query, '-p', "t=dead_letters' OR 1=1 --", '--format', 'json'], e);
    expect(lastJsonLine(hostile.stdout)).toEqual([]);

    const drop = await runKpi(['sql', 'DROP TABLE dead_letters'], e);
    expect(drop.code).toBe(3);
    expect(drop.stderr).toContain('DROP statements are refused: read access runs only SELECT, SHOW, DESCRIBE and EXISTS');
    const file = await runKpi(['sql', "SELECT * FROM file('/etc/passwd')"], e);
    expect(file.code).toBe(3);
    expect(file.stderr).toContain('table function file() is refused: it reaches files of the host');
    const smuggled = await runKpi(['sql', 'SELECT 1; DROP TABLE dead_letters'], e);
    expect(smuggled.code).toBe(2);
    expect(smuggled.stderr).toContain('Multi-statements are not allowed');
    expect(smuggled.stderr).not.toContain('In scope');
    const use = await runKpi(['sql', 'USE system', '--write'], e);
    expect(use.code).toBe(3);
    expect(use.stderr).toContain('USE statements are refused');
    expect(lastJsonLine((await runKpi(['sql', query, '-p', 't=dead_letters', '-f', 'json'], e)).stdout)).toEqual([{ name: 'dead_letters' }]);
  });

  it.concurrent('reports a store held by another process clearly', async () => {
    const e = env();
    const holder = await import('node:child_process').then(({ spawn }) =>
      spawn(process.execPath, ['--import', 'tsx', '-e', "const { openWarehouse } = await import('./services/shared/clickhouse.ts'); const { loadConfig } = await import('./services/shared/config.ts'); await openWarehouse(loadConfig(process.env).clickhouse); console.log('held'); setInterval(() => {}, 1000);"], {
        cwd: path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..'),
        env: e,
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      const result = await runKpi(['sql', 'SELECT 1'], { ...e, KPI_TOKEN: 'kpi_aaaaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('is held by another process');
      expect(existsSync(String(e['CHDB_PATH']))).toBe(true);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it.concurrent('period commands: clear errors for bad grains, periods, files and unknown KPIs, exit code 2', async () => {
    const e = env();
    const grain = await runKpi(['close', '--grain', 'fortnight', '--period', '2026-07'], e);
    expect(grain.code).toBe(2);
    expect(grain.stderr).toContain('--grain must be one of day, week, month, quarter, year, got "fortnight"');
    const period = await runKpi(['values', '--grain', 'month', '--period', '2026-13'], e);
    expect(period.code).toBe(2);
    expect(period.stderr).toMatch(/invalid month period "2026-13"/);
    const kpi = await runKpi(['values', '--grain', 'month', '--period', '2026-07', '--kpi', 'happiness'], e);
    expect(kpi.code).toBe(2);
    expect(kpi.stderr).toContain('unknown KPI "happiness"');
    const file = await runKpi(['targets', 'import', '/nonexistent/targets.csv'], e);
    expect(file.code).toBe(2);
    expect(file.stderr).toContain('cannot read /nonexistent/targets.csv');
    const columns = path.join(tempDir('cli-csv'), 'targets.csv');
    writeFileSync(columns, 'kpi,grain,period,level,unit,value,colour\nnet_sales,month,2026-07,store,S001,1,red\n');
    const unknown = await runKpi(['targets', 'import', columns], e);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown column colour');
  });

  it.concurrent('period commands on an empty store: nothing closed yet, provisional values empty, the catalog listed', async () => {
    const e = env();
    const unmigrated = await runKpi(['periods'], e);
    expect(unmigrated.code).toBe(3);
    expect(unmigrated.stderr).toContain('The first `kpi run` or `kpi migrate` on a new store writes the admin');
    expect(unmigrated.stderr).not.toMatch(/\n\s+at /);
    expect((await runKpi(['migrate'], e)).code).toBe(0);
    const periods = await runKpi(['periods', '--json'], e);
    expect(periods.code).toBe(0);
    expect(lastJsonLine(periods.stdout)).toEqual([]);
    const values = await runKpi(['values', '--grain', 'quarter', '--period', '2026-Q3', '--json'], e);
    expect(values.code).toBe(0);
    expect(lastJsonLine(values.stdout)).toEqual([]);
    const kpis = await runKpi(['kpis', '--json'], e);
    expect(lastJsonLine<{ id: string; zh: string }[]>(kpis.stdout).find((k) => k.id === 'on_time_delivery_rate')).toMatchObject({ zh: '准时交付率' });
    const card = await runKpi(['scorecard', '--grain', 'quarter', '--period', '2026-Q3', '--scorecard', 'nope'], e);
    expect(card.code).toBe(2);
    expect(card.stderr).toContain('unknown scorecard "nope"; known: operations_department');
  });

  it.concurrent('users and tokens: the admin adds finance, whose token approves; a typed name is not accepted', async () => {
    const e = env({ KPI_WORKFLOW_ID_PREFIX: `cli-${Date.now()}.` });
    const first = await runKpi(['migrate'], e);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`created the user admin; its token is in ${String(e['CHDB_PATH'])}.token (mode 0600)`);
    expect(statSync(`${String(e['CHDB_PATH'])}.token`).mode & 0o777).toBe(0o600);
    expect((await runKpi(['users', 'add', 'ana', '--role', 'finance'], e)).code).toBe(0);
    expect((await runKpi(['users', 'add', 'ana', '--role', 'viewer'], e)).stderr).toContain('ana already exists');
    const made = await runKpi(['tokens', 'create', 'ana', '--name', 'laptop', '--json'], e);
    expect(made.code).toBe(0);
    const { token, token_id: id } = lastJsonLine<{ token: string; token_id: string }>(made.stdout);
    expect(lastJsonLine<{ token_id: string; principal: string }[]>((await runKpi(['tokens', 'list', '--json'], e)).stdout).map((t) => [t.token_id, t.principal])).toContainEqual([id, 'ana']);
    expect((await runKpi(['tokens', 'list'], e)).stdout).not.toContain(token);

    const byAdmin = await runKpi(['approve', '--period', '2019-Q1'], e);
    expect(byAdmin.code).toBe(3);
    expect(byAdmin.stderr).toContain('admin (admin) may not approve a quarter');
    const typed = await runKpi(['approve', '--period', '2019-Q1', '--by', 'Chief Financial Officer'], { ...e, KPI_TOKEN: token });
    expect(typed.code).toBe(2);
    expect(typed.stderr).toContain("unknown option '--by'");
    const result = await runKpi(['approve', '--period', '2019-Q1'], { ...e, KPI_TOKEN: token });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('2019-Q1 has no review: only a closed quarter can be approved or reopened');

    expect((await runKpi(['tokens', 'revoke', id], e)).code).toBe(0);
    const revoked = await runKpi(['periods'], { ...e, KPI_TOKEN: token });
    expect(revoked.code).toBe(3);
    expect(revoked.stderr).toContain('this token has been revoked');
    const none = await runKpi(['periods'], { ...e, KPI_TOKEN_FILE: '/nonexistent/token' });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('no credential: set KPI_TOKEN');
    chmodSync(`${String(e['CHDB_PATH'])}.token`, 0o644);
    const open = await runKpi(['periods'], e);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('can be read by other users: chmod 600 it');
  });
});

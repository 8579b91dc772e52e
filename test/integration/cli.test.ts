import { existsSync } from 'node:fs';
import path from 'node:path';
import { lastJsonLine, runKpi } from '../support/cli.js';
import { tempDir } from '../support/env.js';

/** The user's environment, with a store of the test's own. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, CHDB_PATH: tempDir('cli-chdb'), LOG_LEVEL: 'warn', ...extra };
}

describe('kpi command line', () => {
  it('stops on a bad environment value with exit code 2 and a message naming the variable', async () => {
    const result = await runKpi(['stack', 'status'], env({ KPI_TIME_ZONE: 'Mars/Base', KAFKA_BROKERS: 'nohost' }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('KPI_TIME_ZONE: expected an IANA time zone');
    expect(result.stderr).toContain('KAFKA_BROKERS: expected host:port');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects an unknown command and a bad option with exit code 2', async () => {
    expect((await runKpi(['frobnicate'], env())).code).toBe(2);
    const bad = await runKpi(['sql', 'SELECT 1', '--format', 'xml'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Allowed choices are table, json, ndjson, csv, tsv");
  });

  it('tells what to install when java is missing', async () => {
    // Other ports and data folder: nothing is running there, so Kafka would have to start.
    const result = await runKpi(
      ['stack', 'up'],
      env({ PATH: path.dirname(process.execPath).replace(/.*/, '/nonexistent'), JAVA_HOME: '', KPI_DATA_DIR: tempDir('nojava'), KPI_STACK_KAFKA_PORT: '19392', KPI_STACK_KAFKA_CONTROLLER_PORT: '19393', KPI_STACK_TEMPORAL_PORT: '19333', KPI_STACK_TEMPORAL_UI_PORT: '19334' }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Kafka needs Java 17\+, but `java` was not found\. Install Java 17 or newer/);
  });

  it('migrates, then answers SQL in every format, read-only by default', async () => {
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
    expect(drop.code).toBe(2);
    expect(drop.stderr).toContain('Read-only access: DROP statements are refused');
    const smuggled = await runKpi(['sql', 'SELECT 1; DROP TABLE dead_letters'], e);
    expect(smuggled.code).toBe(2);
    expect(smuggled.stderr).toContain('Multi-statements are not allowed');
    const use = await runKpi(['sql', 'USE system', '--write'], e);
    expect(use.code).toBe(2);
    expect(use.stderr).toContain('USE statements are refused');
    expect(lastJsonLine((await runKpi(['sql', query, '-p', 't=dead_letters', '-f', 'json'], e)).stdout)).toEqual([{ name: 'dead_letters' }]);
  });

  it('reports a store held by another process clearly', async () => {
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
      const result = await runKpi(['sql', 'SELECT 1'], e);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('is held by another process');
      expect(existsSync(String(e['CHDB_PATH']))).toBe(true);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

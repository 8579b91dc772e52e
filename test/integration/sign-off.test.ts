import { rmSync } from 'node:fs';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { openWarehouse } from '../../services/shared/clickhouse.js';
import { loadConfig } from '../../services/shared/config.js';
import { migrate } from '../../services/shared/migrations.js';
import { storeImport, validateImport, validateRows } from '../../services/periods/imports.js';
import { fourEyesConflicts } from '../../services/operations/operations.js';
import { lastJsonLine, runKpi } from '../support/cli.js';
import { tempDir } from '../support/env.js';
import { request, startRun, type RunningKpi } from '../support/kpi-run.js';

/**
 * Sign-off that can be trusted: who approves is who is authenticated, the one who reopened
 * a quarter (or imported its targets) cannot approve it, and an audit row changed behind
 * the service's back is found by `kpi audit verify`.
 */
describe('sign-off: four eyes and a tamper-evident trail', () => {
  let kpi: RunningKpi;
  const token: Record<string, string> = {};
  const as = (who: string) => ({ ...kpi.env, KPI_TOKEN: token[who] ?? '' });

  beforeAll(async () => {
    kpi = await startRun('run');
    token['olga'] = await kpi.user('olga', 'operator');
    token['fay'] = await kpi.user('fay', 'finance');
    token['finn'] = await kpi.user('finn', 'finance');
    token['admin'] = kpi.adminToken;
  });

  afterAll(async () => {
    expect(await kpi.stop()).toBe(0);
  });

  it('records who is authenticated and holds four eyes on a reopened quarter', async () => {
    const close = await runKpi(['close', '--grain', 'quarter', '--period', '2019-Q1', '--force', '--wait', '--json'], as('olga'));
    expect(close.code).toBe(0);
    expect(lastJsonLine<{ revision: number }>(close.stdout).revision).toBe(1);

    expect((await runKpi(['approve', '--period', '2019-Q1', '--comment', 'first look'], as('fay'))).code).toBe(0);
    expect((await runKpi(['reopen', '--period', '2019-Q1', '--reason', 'a late credit note'], as('fay'))).code).toBe(0);
    const again = await runKpi(['approve', '--period', '2019-Q1'], as('fay'));
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('four eyes: fay reopened 2019-Q1, so another member of finance must approve 2019-Q1');
    const other = await request(kpi.base, '/v1/quarters/2019-Q1/approve', { method: 'POST', token: token['finn'] ?? '', body: JSON.stringify({ comment: 'second pair of eyes' }) });
    expect(other.status).toBe(200);
    expect(JSON.parse(other.text)).toMatchObject({ status: 'approved', revision: 1 });

    const trail = await runKpi(['sql', "SELECT action, actor FROM period_audit FINAL WHERE grain = 'quarter' AND period = '2019-Q1' ORDER BY seq", '-f', 'json'], as('admin'));
    expect(lastJsonLine(trail.stdout)).toEqual([
      { action: 'close_forced', actor: 'olga' },
      { action: 'approve', actor: 'fay' },
      { action: 'reopen', actor: 'fay' },
      { action: 'approve', actor: 'finn' },
    ]);
  });

  it('finds a row an admin changed with --write, naming the first broken link', async () => {
    const intact = await runKpi(['audit', 'verify', '--json'], as('finn'));
    expect(intact.code).toBe(0);
    expect(lastJsonLine<{ table: string; ok: boolean }[]>(intact.stdout).map((r) => [r.table, r.ok])).toEqual([
      ['period_audit', true],
      ['imports', true],
    ]);
    const forged = await runKpi(['sql', "ALTER TABLE period_audit UPDATE actor = 'cfo' WHERE action = 'approve' AND actor = 'finn' SETTINGS mutations_sync = 2", '--write'], as('admin'));
    expect(forged.code).toBe(0);
    const broken = await runKpi(['audit', 'verify'], as('finn'));
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/period_audit: BROKEN at row 4: row 4 \(approve of quarter 2019-Q1 revision 1 by cfo at [^)]+\) was changed after it was written/);
    expect(broken.stderr).toContain('the audit trail of period_audit has been tampered with');
  });

  it('a ClickHouse client connects to the SQL door as a read-only user and runs the documented queries', async () => {
    const analyst = await kpi.user('ada', 'analyst');
    const client = createClient({ log: { level: ClickHouseLogLevel.OFF }, url: kpi.base, pathname: '/clickhouse', username: 'ada', password: analyst });
    try {
      const values = await client.query({
        query: "SELECT kpi, level, unit, value FROM kpi_values FINAL WHERE grain = {grain: String} AND period = {period: String} AND revision = 1 AND kpi = 'net_sales' ORDER BY level, unit",
        query_params: { grain: 'quarter', period: '2019-Q1' },
        format: 'JSONEachRow',
      });
      expect(await values.json()).toEqual([]);
      const periods = await client.query({ query: "SELECT grain, period, revision, state FROM period_revisions FINAL WHERE period = '2019-Q1' ORDER BY revision", format: 'JSONEachRow' });
      expect(await periods.json()).toEqual([{ grain: 'quarter', period: '2019-Q1', revision: 1, state: 'approved' }]);
      await expect(client.command({ query: 'DROP TABLE kpi_values' })).rejects.toMatchObject({ code: '497' });
      await expect(client.query({ query: 'SELECT * FROM tokens' })).rejects.toMatchObject({ code: '497' });
      // Answered as a server answers: its query id, format, time zone and name; one database.
      const head = await fetch(`${kpi.base}/clickhouse?query=SELECT%201&query_id=probe-1&database=kpi`, { headers: { 'x-clickhouse-user': 'ada', 'x-clickhouse-key': analyst } });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('1\n');
      const zone = (await (await client.query({ query: 'SELECT timezone() AS tz', format: 'JSONEachRow' })).json<{ tz: string }>())[0]?.tz;
      expect(Object.fromEntries(['query-id', 'format', 'timezone', 'server-display-name'].map((h) => [h, head.headers.get(`x-clickhouse-${h}`)]))).toEqual({ 'query-id': 'probe-1', format: 'TabSeparated', timezone: zone, 'server-display-name': 'kpi-pipeline' });
      const other = await fetch(`${kpi.base}/clickhouse?query=SELECT%201&database=system`, { headers: { 'x-clickhouse-user': 'ada', 'x-clickhouse-key': analyst } });
      expect(other.status).toBe(404);
      expect(await other.text()).toMatch(/^Code: 81\. DB::Exception: this endpoint serves the database kpi only/);
      const named = createClient({ log: { level: ClickHouseLogLevel.OFF }, url: kpi.base, pathname: '/clickhouse', username: 'ada', password: analyst, database: 'kpi' });
      expect(await (await named.query({ query: 'SELECT count() AS n FROM kpi_values', format: 'JSONEachRow' })).json()).toEqual([{ n: expect.anything() as unknown }]);
      await named.close();
      const wrong = createClient({ log: { level: ClickHouseLogLevel.OFF }, url: kpi.base, pathname: '/clickhouse', username: 'ada', password: 'kpi_aaaaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
      await expect(wrong.query({ query: 'SELECT 1' })).rejects.toMatchObject({ code: '516' });
      await wrong.close();
    } finally {
      await client.close();
    }
  });
});

describe('four eyes on imports', () => {
  it('names whoever imported targets or inputs of a period inside the quarter', async () => {
    const dir = tempDir('four-eyes');
    const config = loadConfig({ ...process.env, CHDB_PATH: dir });
    const warehouse = await openWarehouse(config.clickhouse);
    try {
      await migrate(warehouse.client);
      const rows = [
        { kpi: 'net_sales', grain: 'month', period: '2026-08', level: 'store', unit: 'S001', value: 100 },
        { kpi: 'net_sales', grain: 'quarter', period: '2026-Q4', level: 'store', unit: 'S001', value: 100 },
      ];
      await storeImport(warehouse.client, 'targets', validateImport('targets', rows, config.business), { importedBy: 'ana', source: 'test', content: JSON.stringify(rows) });
      expect(await fourEyesConflicts(warehouse.client, config.business, '2026-Q3', 'ana')).toEqual(['ana imported targets of month 2026-08']);
      expect(await fourEyesConflicts(warehouse.client, config.business, '2026-Q4', 'ana')).toEqual(['ana imported targets of quarter 2026-Q4']);
      expect(await fourEyesConflicts(warehouse.client, config.business, '2026-Q3', 'bo')).toEqual([]);
      expect(await fourEyesConflicts(warehouse.client, config.business, '2026-Q2', 'ana')).toEqual([]);
      // Exchange rates of days inside the quarter change its money KPIs too.
      const rates = [{ day: '2026-09-29', currency: 'HKD', rate: '0.91' }, { day: '2026-09-30', currency: 'HKD', rate: '0.92' }, { day: '2026-10-01', currency: 'HKD', rate: '0.93' }];
      await storeImport(warehouse.client, 'rates', validateRows('rates', rates, config.business), { importedBy: 'bo', source: 'test', content: JSON.stringify(rates) });
      expect(await fourEyesConflicts(warehouse.client, config.business, '2026-Q3', 'bo')).toEqual(['bo imported exchange rates of 2 days of 2026-Q3 (2026-09-29 to 2026-09-30)']);
      expect(await fourEyesConflicts(warehouse.client, config.business, '2026-Q3', 'ana')).toEqual(['ana imported targets of month 2026-08']);
    } finally {
      await warehouse.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

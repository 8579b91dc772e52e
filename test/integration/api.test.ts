import { openWarehouse, queryRows } from '../../services/shared/clickhouse.js';
import { loadConfig } from '../../services/shared/config.js';
import { request, startRun, type RunningKpi } from '../support/kpi-run.js';

/** The periods API of a running `kpi api`: imports with all-or-nothing checks, reads as JSON. */
describe('HTTP API: periods, values, scorecards, imports', () => {
  let kpi: RunningKpi;
  let ana = '';
  let bo = '';
  let viewer = '';

  beforeAll(async () => {
    kpi = await startRun('api');
    ana = await kpi.user('ana', 'operator');
    bo = await kpi.user('bo', 'operator');
    viewer = await kpi.user('vic', 'viewer');
  });

  afterAll(async () => {
    expect(await kpi.stop()).toBe(0);
  });

  const post = (path: string, token: string, body: string, type: string) => request(kpi.base, path, { method: 'POST', token, body, headers: { 'content-type': type } });

  it('imports targets from CSV and inputs from JSON, recording who is authenticated', async () => {
    const csv = 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q3,store,S001,1250000\nnet_sales,month,2026-07,region,R01,2400000.5\n';
    const r1 = await post('/v1/targets', ana, csv, 'text/csv');
    expect(r1.status).toBe(200);
    expect(JSON.parse(r1.text)).toMatchObject({ kind: 'targets', rows: 2, importedBy: 'ana' });
    const json = { rows: [{ kpi: 'staff_turnover_rate', grain: 'quarter', period: '2026-Q3', level: 'store', unit: 'S001', numerator: 1, denominator: 40 }] };
    const r2 = await post('/v1/inputs', bo, JSON.stringify(json), 'application/json');
    expect(r2.status).toBe(200);
    expect(JSON.parse(r2.text)).toMatchObject({ kind: 'inputs', rows: 1, importedBy: 'bo' });
  });

  it('refuses a file with one bad row, naming each problem by line, and stores nothing of it', async () => {
    const csv = 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q3,store,S002,100\nnet_sales,quarter,2026-Q5,store,S003,100\nrevenue,month,2026-07,store,S004,-1\n';
    const r = await post('/v1/targets', ana, csv, 'text/csv');
    expect(r.status).toBe(400);
    const { error } = JSON.parse(r.text) as { error: string };
    expect(error).toMatch(/nothing stored/);
    expect(error).toMatch(/line 3: period: invalid quarter period "2026-Q5"/);
    expect(error).toMatch(/line 4: kpi: /);
  });

  it('reads periods, values and scorecards as JSON, with clear errors for bad queries', async () => {
    expect(JSON.parse((await request(kpi.base, '/v1/periods', { token: viewer })).text)).toEqual([]);
    const values = JSON.parse((await request(kpi.base, '/v1/values?grain=month&period=2026-07', { token: viewer })).text) as unknown;
    expect(values).toEqual({ revision: 0, status: 'provisional', values: [] });
    const bad = await request(kpi.base, '/v1/values?grain=fortnight&period=2026-07', { token: viewer });
    expect(bad.status).toBe(400);
    expect((JSON.parse(bad.text) as { error: string }).error).toMatch(/grain/);
    expect((await request(kpi.base, '/v1/scorecards?grain=quarter&period=2026-Q3', { token: viewer })).status).toBe(200);
    expect((await request(kpi.base, '/v1/values', { method: 'POST', token: viewer, body: '{}' })).status).toBe(405);
    expect((await request(kpi.base, '/v1/nothing', { token: viewer })).status).toBe(404);
    expect(JSON.parse((await request(kpi.base, '/v1/whoami', { token: viewer })).text)).toMatchObject({ name: 'vic', role: 'viewer' });
    // Liveness tells nothing about the host.
    expect((await request(kpi.base, '/health')).text).toBe('{"status":"ok"}\n');
  });

  it('kept exactly the accepted imports, with their audit records', async () => {
    expect(await kpi.stop()).toBe(0);
    const warehouse = await openWarehouse(loadConfig(kpi.env).clickhouse);
    try {
      const targets = await queryRows<{ unit: string; value: number }>(warehouse.client, 'SELECT unit, value FROM kpi_targets ORDER BY unit');
      expect(targets).toEqual([{ unit: 'R01', value: 2400000.5 }, { unit: 'S001', value: 1250000 }]);
      const imports = await queryRows<{ kind: string; imported_by: string; rows: number }>(warehouse.client, 'SELECT kind, imported_by, rows FROM imports ORDER BY seq');
      expect(imports).toEqual([{ kind: 'targets', imported_by: 'ana', rows: 2 }, { kind: 'inputs', imported_by: 'bo', rows: 1 }]);
    } finally {
      await warehouse.close();
    }
    kpi = await startRun('api', { CHDB_PATH: String(kpi.env['CHDB_PATH']) });
  });
});

import { openWarehouse, queryRows } from '../../services/shared/clickhouse.js';
import { loadConfig } from '../../services/shared/config.js';
import { waitFor } from '../../services/shared/wait.js';
import { tempDir } from '../support/env.js';
import { exited, freePort, startKpi } from '../support/pipeline.js';

/** The periods API of a running `kpi api`: imports with all-or-nothing checks, reads as JSON. */
describe('HTTP API: periods, values, scorecards, imports', () => {
  let base = '';
  let env: NodeJS.ProcessEnv;
  let api: ReturnType<typeof startKpi>;

  beforeAll(async () => {
    const port = await freePort();
    env = { ...process.env, LOG_LEVEL: 'warn', CHDB_PATH: tempDir('api'), KPI_API_PORT: String(port) };
    base = `http://127.0.0.1:${port}`;
    api = startKpi(['api'], env);
    await waitFor(async () => ((await fetch(`${base}/health`).catch(() => undefined))?.ok ? true : undefined), { timeoutMs: 60_000, intervalMs: 200, what: `kpi api: ${api.output()}` });
  });

  afterAll(async () => {
    api.child.kill('SIGTERM');
    expect(await exited(api.child)).toBe(0);
  });

  const post = (path: string, body: string, headers: Record<string, string>): Promise<Response> => fetch(`${base}${path}`, { method: 'POST', body, headers });

  it('imports targets from CSV and inputs from JSON, recording who', async () => {
    const csv = 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q3,store,S001,1250000\nnet_sales,month,2026-07,region,R01,2400000.5\n';
    const r1 = await post('/v1/targets', csv, { 'content-type': 'text/csv', 'x-imported-by': 'ana' });
    expect(r1.status).toBe(200);
    expect(await r1.json()).toMatchObject({ kind: 'targets', rows: 2, importedBy: 'ana' });
    const json = { importedBy: 'bo', rows: [{ kpi: 'staff_turnover_rate', grain: 'quarter', period: '2026-Q3', level: 'store', unit: 'S001', numerator: 1, denominator: 40 }] };
    const r2 = await post('/v1/inputs', JSON.stringify(json), { 'content-type': 'application/json' });
    expect(r2.status).toBe(200);
    expect(await r2.json()).toMatchObject({ kind: 'inputs', rows: 1, importedBy: 'bo' });
  });

  it('refuses a file with one bad row, naming each problem by line, and stores nothing of it', async () => {
    const csv = 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q3,store,S002,100\nnet_sales,quarter,2026-Q5,store,S003,100\nrevenue,month,2026-07,store,S004,-1\n';
    const r = await post('/v1/targets', csv, { 'content-type': 'text/csv', 'x-imported-by': 'ana' });
    expect(r.status).toBe(400);
    const { error } = (await r.json()) as { error: string };
    expect(error).toMatch(/nothing stored/);
    expect(error).toMatch(/line 3: period: invalid quarter period "2026-Q5"/);
    expect(error).toMatch(/line 4: kpi: /);
    const noBy = await post('/v1/targets', 'kpi,grain,period,level,unit,value\n', { 'content-type': 'text/csv' });
    expect(noBy.status).toBe(400);
    const hostile = await post('/v1/targets', JSON.stringify({ importedBy: 'x', rows: [{ kpi: 'net_sales', grain: 'month', period: '2026-07', level: 'store', unit: "S1'; DROP TABLE kpi_targets; --", value: 1 }] }), { 'content-type': 'application/json' });
    expect(hostile.status).toBe(400);
    expect(((await hostile.json()) as { error: string }).error).toMatch(/unit: expected a unit id/);
  });

  it('reads periods, values and scorecards as JSON, with clear errors for bad queries', async () => {
    expect(await (await fetch(`${base}/v1/periods`)).json()).toEqual([]);
    const values = await (await fetch(`${base}/v1/values?grain=month&period=2026-07`)).json();
    expect(values).toEqual({ revision: 0, status: 'provisional', values: [] });
    const bad = await fetch(`${base}/v1/values?grain=fortnight&period=2026-07`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/grain/);
    expect((await fetch(`${base}/v1/scorecards?grain=quarter&period=2026-Q3`)).status).toBe(200);
    expect((await fetch(`${base}/v1/values`, { method: 'POST' })).status).toBe(405);
  });

  it('kept exactly the accepted imports, with their audit records', async () => {
    api.child.kill('SIGTERM');
    expect(await exited(api.child)).toBe(0);
    const warehouse = await openWarehouse(loadConfig(env).clickhouse);
    try {
      const targets = await queryRows<{ unit: string; value: number }>(warehouse.client, 'SELECT unit, value FROM kpi_targets ORDER BY unit');
      expect(targets).toEqual([{ unit: 'R01', value: 2400000.5 }, { unit: 'S001', value: 1250000 }]);
      const imports = await queryRows<{ kind: string; imported_by: string; rows: number }>(warehouse.client, 'SELECT kind, imported_by, rows FROM imports ORDER BY imported_at');
      expect(imports).toEqual([{ kind: 'targets', imported_by: 'ana', rows: 2 }, { kind: 'inputs', imported_by: 'bo', rows: 1 }]);
    } finally {
      await warehouse.close();
    }
    api = startKpi(['api'], env);
    await waitFor(async () => ((await fetch(`${base}/health`).catch(() => undefined))?.ok ? true : undefined), { timeoutMs: 60_000, intervalMs: 200, what: 'kpi api again' });
  });
});

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GRAINS } from '../../schemas/calendar/index.js';
import { loadConfig } from '../../services/shared/config.js';
import { connectTemporal } from '../../services/shared/temporal.js';
import { runKpi } from '../support/cli.js';
import { ROOT, tempDir } from '../support/env.js';
import { request, startRun, type RunningKpi } from '../support/kpi-run.js';

/**
 * Each role can do exactly its row of the permissions table the README shows, and nothing
 * more, through every route and every command. The expectation is read from the README,
 * not from the code that enforces it.
 */
const ROLES = ['viewer', 'analyst', 'operator', 'finance', 'admin', 'service'] as const;
type Role = (typeof ROLES)[number];

function readmeTable(): Map<string, Set<Role>> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('<!-- permissions:start -->'), readme.indexOf('<!-- permissions:end -->'));
  const rows = table.split('\n').filter((l) => l.startsWith('| `'));
  const allowed = new Map<string, Set<Role>>();
  for (const row of rows) {
    const cells = row.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    const action = (cells[0] ?? '').replace(/`/g, '');
    allowed.set(action, new Set(ROLES.filter((_r, i) => cells[2 + i] === '✓')));
  }
  return allowed;
}

describe('roles: exactly the README permissions table', () => {
  const table = readmeTable();
  let kpi: RunningKpi;
  const tokens = {} as Record<Role, string>;
  let dir = '';

  beforeAll(async () => {
    kpi = await startRun('run');
    for (const role of ROLES) tokens[role] = role === 'admin' ? kpi.adminToken : await kpi.user(`${role}-r`, role, role === 'service' ? { service: true } : {});
    dir = tempDir('roles');
    writeFileSync(path.join(dir, 'targets.csv'), 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q3,store,S001,1250000\n');
    writeFileSync(path.join(dir, 'rates.csv'), 'day,currency,rate\n2026-07-01,HKD,0.92\n');
    writeFileSync(path.join(dir, 'inputs.csv'), 'kpi,grain,period,level,unit,value,numerator,denominator\naccount_accuracy,quarter,2026-Q3,store,S001,0.99,,\n');
  });

  afterAll(async () => {
    // `kpi schedules apply` as admin made Schedules under this run's prefix: remove them.
    const config = loadConfig(kpi.env);
    const temporal = await connectTemporal(config.temporal);
    for (const id of [...GRAINS.map((g) => `schedule:close:${g}`), 'schedule:provisional']) await temporal.client.schedule.getHandle(`${config.close.idPrefix}${id}`).delete().catch(() => undefined);
    await temporal.connection.close();
    expect(await kpi.stop()).toBe(0);
  });

  it('reads a row for every action of the table', () => {
    expect([...table.keys()].sort()).toEqual(['audit.verify', 'imports.write', 'periods.approve', 'periods.close', 'periods.reopen', 'schedules.apply', 'sql.read', 'sql.write', 'users.manage', 'values.read']);
  });

  const routes: [string, string, string, string | undefined, string | undefined][] = [
    ['values.read', 'GET', '/metrics', undefined, undefined],
    ['values.read', 'GET', '/v1/whoami', undefined, undefined],
    ['values.read', 'GET', '/v1/periods', undefined, undefined],
    ['values.read', 'GET', '/v1/periods/quarter/2026-Q3', undefined, undefined],
    ['values.read', 'GET', '/v1/values?grain=quarter&period=2026-Q3', undefined, undefined],
    ['values.read', 'GET', '/v1/scorecards?grain=quarter&period=2026-Q3', undefined, undefined],
    ['values.read', 'GET', '/v1/restatements?grain=quarter&period=2026-Q3', undefined, undefined],
    ['values.read', 'GET', '/v1/stats', undefined, undefined],
    ['values.read', 'GET', '/v1/views?view=v_kpi_values', undefined, undefined],
    ['values.read', 'GET', '/v1/report?period=2019-Q1&format=json', undefined, undefined],
    ['values.read', 'GET', '/v1/audit?grain=quarter&period=2019-Q1', undefined, undefined],
    ['values.read', 'GET', '/v1/imports?grain=quarter&period=2019-Q1', undefined, undefined],
    ['values.read', 'GET', '/v1/explain?grain=quarter&period=2026-Q3&kpi=net_sales&level=company', undefined, undefined],
    ['imports.write', 'POST', '/v1/targets', 'text/csv', 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q3,store,S002,1\n'],
    ['imports.write', 'POST', '/v1/rates', 'text/csv', 'day,currency,rate\n2026-07-01,HKD,0.92\n'],
    ['imports.write', 'POST', '/v1/inputs', 'application/json', JSON.stringify({ rows: [{ kpi: 'account_accuracy', grain: 'quarter', period: '2026-Q3', level: 'store', unit: 'S002', value: 0.9 }] })],
    ['periods.approve', 'POST', '/v1/quarters/2019-Q1/approve', 'application/json', '{"comment":"x"}'],
    ['periods.reopen', 'POST', '/v1/quarters/2019-Q1/reopen', 'application/json', '{"reason":"x"}'],
    ['audit.verify', 'GET', '/v1/audit/verify', undefined, undefined],
    ['users.manage', 'GET', '/v1/users', undefined, undefined],
    ['users.manage', 'POST', '/v1/users/nobody/disable', 'application/json', '{}'],
    ['users.manage', 'GET', '/v1/tokens', undefined, undefined],
    ['users.manage', 'POST', '/v1/tokens/aaaaaaaaaaaa/revoke', 'application/json', '{}'],
    ['sql.read', 'GET', '/clickhouse?query=SELECT%201', undefined, undefined],
    ['sql.write', 'POST', '/clickhouse', 'text/plain', 'CREATE TABLE IF NOT EXISTS scratch (x UInt8) ENGINE = Memory'],
  ];

  it.each(ROLES)('%s: every HTTP route allows exactly the table', async (role) => {
    const outcome: string[] = [];
    const expected: string[] = [];
    for (const [action, method, route, type, body] of routes) {
      const r = await request(kpi.base, route, { method, token: tokens[role], ...(body !== undefined ? { body } : {}), ...(type ? { headers: { 'content-type': type } } : {}) });
      // Allowed: anything but a refusal of the caller (an unknown quarter is still a 400 of the work).
      outcome.push(`${method} ${route}: ${r.status === 401 || r.status === 403 ? 'refused' : 'allowed'}${r.status >= 500 ? ` (${r.status} ${r.text})` : ''}`);
      expected.push(`${method} ${route}: ${table.get(action)?.has(role) ? 'allowed' : 'refused'}`);
    }
    expect(outcome).toEqual(expected);
  });

  const commands: [string, string[]][] = [
    ['values.read', ['periods', '--json']],
    ['values.read', ['values', '--grain', 'quarter', '--period', '2026-Q3', '--json']],
    ['values.read', ['scorecard', '--grain', 'quarter', '--period', '2026-Q3', '--format', 'json']],
    ['values.read', ['restatements', '--grain', 'quarter', '--period', '2026-Q3', '--json']],
    ['values.read', ['stats', '--json']],
    ['sql.read', ['sql', 'SELECT 1', '-f', 'json']],
    ['sql.write', ['sql', 'CREATE TABLE IF NOT EXISTS scratch (x UInt8) ENGINE = Memory', '--write']],
    ['sql.write', ['migrate', '--json']],
    ['imports.write', ['targets', 'import', '@targets.csv', '--json']],
    ['imports.write', ['inputs', 'import', '@inputs.csv', '--json']],
    ['imports.write', ['rates', 'import', '@rates.csv', '--json']],
    ['periods.close', ['close', '--grain', 'day', '--period', '2026-01-01', '--force', '--wait', '--json']],
    // Never closed: the caller is let in, and told to close it instead (exit 2).
    ['periods.close', ['restate', '--grain', 'day', '--period', '2019-01-01', '--reason', 'rates imported']],
    ['periods.approve', ['approve', '--period', '2019-Q1']],
    ['periods.reopen', ['reopen', '--period', '2019-Q1', '--reason', 'x']],
    ['audit.verify', ['audit', 'verify', '--json']],
    ['users.manage', ['users', 'list', '--json']],
    ['users.manage', ['tokens', 'list', '--json']],
    ['users.manage', ['users', 'disable', 'nobody']],
    ['users.manage', ['tokens', 'revoke', 'aaaaaaaaaaaa']],
    ['schedules.apply', ['schedules', 'apply', '--json']],
  ];

  it.each(ROLES)('%s: every command allows exactly the table', async (role) => {
    const env = { ...kpi.env, KPI_TOKEN: tokens[role] };
    const results = [];
    // A few at a time: each is a process of its own.
    for (let i = 0; i < commands.length; i += 4) {
      results.push(
        ...(await Promise.all(
          commands.slice(i, i + 4).map(async ([action, args]) => {
            const r = await runKpi(args.map((a) => (a.startsWith('@') ? path.join(dir, a.slice(1)) : a)), env);
            const shown = `kpi ${args[0] ?? ''} ${args[1] ?? ''}`;
            const refused = r.code === 3 && /needs the/.test(r.stderr);
            return {
              got: `${shown}: ${refused ? 'refused' : r.code === 3 ? `exit 3 without the permissions table: ${r.stderr}` : 'allowed'}${r.code === 1 ? ` (failed: ${r.stderr.slice(0, 300)})` : ''}`,
              want: `${shown}: ${table.get(action)?.has(role) ? 'allowed' : 'refused'}`,
            };
          }),
        )),
      );
    }
    expect(results.map((r) => r.got)).toEqual(results.map((r) => r.want));
  });
});

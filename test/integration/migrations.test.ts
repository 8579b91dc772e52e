import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { insertRows, openWarehouse, queryRows, type Warehouse } from '../../services/shared/clickhouse.js';
import { MigrationError } from '../../services/shared/errors.js';
import { defaultMigrationsDir, migrate, MIGRATIONS_TABLE } from '../../services/shared/migrations.js';
import { parsePeriod, previousPeriod } from '../../schemas/calendar/index.js';
import { compileKpis } from '../../schemas/kpis/compile.js';
import { tempDir, testConfig } from '../support/env.js';

const CALENDAR = { timeZone: 'Asia/Shanghai', fiscalYearStartMonth: 1 };

async function snapshot(warehouse: Warehouse): Promise<unknown[]> {
  const tables = await queryRows(
    warehouse.client,
    `SELECT name, engine, create_table_query, total_rows FROM system.tables WHERE database = {db: String} ORDER BY name`,
    { db: warehouse.database },
  );
  const applied = await queryRows(warehouse.client, `SELECT version, name, checksum, applied_at FROM ${MIGRATIONS_TABLE} ORDER BY version, applied_at`);
  return [tables, applied];
}

describe('migrations on the embedded engine (chDB)', () => {
  let warehouse: Warehouse;

  beforeAll(async () => {
    warehouse = await openWarehouse(testConfig().clickhouse);
  });
  afterAll(async () => {
    await warehouse.close();
  });

  it('applies every file once; a second run changes nothing', async () => {
    const files = readdirSync(defaultMigrationsDir()).filter((f) => f.endsWith('.sql'));
    const first = await migrate(warehouse.client);
    expect(first.applied.map((m) => m.file)).toEqual(files.sort());
    expect(first.alreadyApplied).toBe(0);
    const before = await snapshot(warehouse);

    const second = await migrate(warehouse.client);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toBe(files.length);
    expect(await snapshot(warehouse)).toEqual(before);
  });

  it('stops at a failing migration with a clear error, and the next run continues from there', async () => {
    const dir = tempDir('migrations');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, '0001_first.sql'), 'CREATE TABLE IF NOT EXISTS mig_first (a UInt8) ENGINE = MergeTree ORDER BY a;\n');
    writeFileSync(
      path.join(dir, '0002_second.sql'),
      'CREATE TABLE IF NOT EXISTS mig_second (a UInt8) ENGINE = MergeTree ORDER BY a;\nCREATE TABLE IF NOT EXISTS mig_broken (a NoSuchType) ENGINE = MergeTree ORDER BY a;\n',
    );
    await warehouse.client.command({ query: `TRUNCATE TABLE ${MIGRATIONS_TABLE}` });

    const failure = await migrate(warehouse.client, { dir }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(MigrationError);
    expect((failure as Error).message).toMatch(/0002_second\.sql failed at statement 2 of 2.*NoSuchType/s);
    const recorded = await queryRows<{ version: number }>(warehouse.client, `SELECT version FROM ${MIGRATIONS_TABLE} ORDER BY version`);
    expect(recorded.map((r) => Number(r.version))).toEqual([1]);

    writeFileSync(
      path.join(dir, '0002_second.sql'),
      readFileSync(path.join(dir, '0002_second.sql'), 'utf8').replace('NoSuchType', 'UInt16'),
    );
    const rerun = await migrate(warehouse.client, { dir });
    expect(rerun.applied.map((m) => m.file)).toEqual(['0002_second.sql']);
    const tables = await queryRows<{ name: string }>(warehouse.client, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'mig_%' ORDER BY name");
    expect(tables.map((t) => t.name)).toEqual(['mig_broken', 'mig_first', 'mig_second']);
  });
});

describe('first purchases kept as sales arrive (migration 0012)', () => {
  it('backfills what was stored before it, follows every insert after, stays exact under duplicates, and counts a customer new only where they never bought', async () => {
    const warehouse = await openWarehouse(testConfig().clickhouse);
    try {
      // The store as it was before 0012: the first eleven migrations only.
      const dir = tempDir('migrations-0012');
      const files = readdirSync(defaultMigrationsDir()).filter((f) => f.endsWith('.sql')).sort();
      for (const f of files.filter((name) => name < '0012')) writeFileSync(path.join(dir, f), readFileSync(path.join(defaultMigrationsDir(), f)));
      await migrate(warehouse.client, { dir });
      const line = (id: string, customer: string | null, store: string, at: string) => ({
        event_id: id, event_version: 1, occurred_at: at, sale_id: `sale-${id}`, line_no: 1, region: 'R01', store, department: 'd', channel: 'store',
        customer_id: customer, member_id: null, order_id: null, payment_method: '', currency: 'CNY', sku: 'A', category: 'c', quantity: 1,
        unit_price_minor: 100, discount_minor: 0, unit_cost_minor: null, net_minor: 100, producer: 'p', source_partition: 0, source_offset: 0,
      });
      await insertRows(warehouse.client, 'sale_lines', [line('a1', 'c1', 'S001', '2026-03-05 10:00:00.000'), line('a2', 'c1', 'S001', '2026-01-05 10:00:00.000'), line('a3', null, 'S001', '2026-01-01 00:00:00.000')]);
      // Then 0012, and more sales: a later one, an earlier one at another store, and a duplicate.
      await migrate(warehouse.client);
      await insertRows(warehouse.client, 'sale_lines', [line('b1', 'c1', 'S001', '2026-04-01 10:00:00.000'), line('b2', 'c1', 'S002', '2025-12-24 10:00:00.000'), line('a2', 'c1', 'S001', '2026-01-05 10:00:00.000')]);
      const firsts = await queryRows(
        warehouse.client,
        'SELECT customer_id, store, toString(min(first_purchase_at)) AS first FROM customer_first_purchases GROUP BY customer_id, store ORDER BY customer_id, store',
      );
      expect(firsts).toEqual([
        { customer_id: 'c1', store: 'S001', first: '2026-01-05 10:00:00.000' },
        { customer_id: 'c1', store: 'S002', first: '2025-12-24 10:00:00.000' },
      ]);

      // New customers of April: c1 bought at S001 before (January), so is new nowhere; c3 is
      // new at S002 only, having bought at S001 in December, outside the months the close reads.
      await insertRows(warehouse.client, 'sale_lines', [line('c1', 'c3', 'S001', '2025-12-02 10:00:00.000'), line('c2', 'c3', 'S002', '2026-04-10 10:00:00.000')]);
      const april = parsePeriod('month', '2026-04', CALENDAR);
      const q = compileKpis({ kpis: ['new_customer_growth'], period: april, previous: previousPeriod(april, CALENDAR), levels: ['company', 'region', 'store'], money: { reportingCurrency: 'CNY', timeZone: 'Asia/Shanghai' } });
      const news = await queryRows<{ level: string; unit: string; numerator: number }>(warehouse.client, q.sql, q.params);
      expect(news.map((r) => `${r.level} ${r.unit}: ${r.numerator}`)).toEqual(['company all: 0', 'region R01: 0', 'store S001: 0', 'store S002: 1']);
    } finally {
      await warehouse.close();
    }
  });
});

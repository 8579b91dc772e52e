import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openWarehouse, queryRows, type Warehouse } from '../../services/shared/clickhouse.js';
import { MigrationError } from '../../services/shared/errors.js';
import { defaultMigrationsDir, migrate, MIGRATIONS_TABLE } from '../../services/shared/migrations.js';
import { tempDir, testConfig } from '../support/env.js';

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

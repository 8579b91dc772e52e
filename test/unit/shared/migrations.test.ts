import { MigrationError } from '../../../services/shared/errors.js';
import { orderMigrations, pendingMigrations, readMigrations, splitStatements } from '../../../services/shared/migrations.js';

const file = (name: string, sql = 'CREATE TABLE IF NOT EXISTS t (a UInt8) ENGINE = Memory;') => ({ file: name, sql });

describe('splitStatements', () => {
  it('splits at line-ending semicolons and drops comment lines', () => {
    const sql = '-- a comment; with a semicolon\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n\nCREATE TABLE b (y String DEFAULT \'a;b\') ENGINE = Memory;  \n';
    expect(splitStatements(sql)).toEqual(['CREATE TABLE a (x UInt8) ENGINE = Memory', "CREATE TABLE b (y String DEFAULT 'a;b') ENGINE = Memory"]);
  });

  it('keeps a last statement without a semicolon', () => {
    expect(splitStatements('SELECT 1;\nSELECT 2')).toEqual(['SELECT 1', 'SELECT 2']);
  });
});

describe('orderMigrations', () => {
  it('orders by version, whatever order the files were listed in', () => {
    const ordered = orderMigrations([file('0003_c.sql'), file('0001_a.sql'), file('0002_b.sql')]);
    expect(ordered.map((m) => [m.version, m.name])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
  });

  it('gives a different checksum to a different text', () => {
    const [a] = orderMigrations([file('0001_a.sql', 'SELECT 1')]);
    const [b] = orderMigrations([file('0001_a.sql', 'SELECT 2')]);
    expect(a?.checksum).not.toEqual(b?.checksum);
  });

  it.each([
    [['1_a.sql'], /NNNN_name\.sql/],
    [['0001_A.sql'], /NNNN_name\.sql/],
    [['0001_a.sql', '0001_b.sql'], /share version 1/],
    [['0001_a.sql', '0003_c.sql'], /without gaps: expected 0002/],
    [['0002_b.sql'], /expected 0001/],
  ])('rejects %j', (names, message) => {
    expect(() => orderMigrations(names.map((n) => file(n)))).toThrow(message);
  });

  it('rejects a file without statements', () => {
    expect(() => orderMigrations([file('0001_a.sql', '-- nothing\n')])).toThrow(MigrationError);
  });
});

describe('pendingMigrations', () => {
  const all = orderMigrations([file('0001_a.sql', 'SELECT 1'), file('0002_b.sql', 'SELECT 2'), file('0003_c.sql', 'SELECT 3')]);
  const applied = (n: number) => all.slice(0, n).map((m) => ({ version: m.version, name: m.name, checksum: m.checksum }));

  it('returns everything on an empty database and nothing when all are applied', () => {
    expect(pendingMigrations(all, []).map((m) => m.version)).toEqual([1, 2, 3]);
    expect(pendingMigrations(all, applied(3))).toEqual([]);
  });

  it('returns the rest after a partial run', () => {
    expect(pendingMigrations(all, applied(1)).map((m) => m.version)).toEqual([2, 3]);
  });

  it('refuses a migration edited after it was applied', () => {
    const edited = applied(2).map((a) => (a.version === 2 ? { ...a, checksum: 'different' } : a));
    expect(() => pendingMigrations(all, edited)).toThrow(/0002_b\.sql was edited after it was applied/);
  });

  it('refuses a recorded version without a file', () => {
    expect(() => pendingMigrations(all.slice(0, 1), applied(2))).toThrow(/records migration 2/);
  });
});

describe('the checked-in migrations', () => {
  it('are well formed, numbered without gaps, and safe to run again', () => {
    const migrations = readMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    migrations.forEach((m, i) => expect(m.version).toBe(i + 1));
    for (const m of migrations) {
      for (const s of m.statements) {
        // A backfill runs twice harmlessly only into a table of minimums the same migration creates.
        const backfill = /^INSERT INTO (\w+)\s+SELECT /.exec(s);
        if (backfill) {
          const created = m.statements.find((c) => c.startsWith(`CREATE TABLE IF NOT EXISTS ${String(backfill[1])}\n`));
          expect(created).toMatch(/ENGINE = AggregatingMergeTree/);
          expect(created).toMatch(/SimpleAggregateFunction\((min|max),/);
          expect(created).not.toMatch(/SimpleAggregateFunction\((sum|any)/);
        } else {
          expect(s).toMatch(/IF NOT EXISTS|IF EXISTS|^CREATE OR REPLACE VIEW /);
        }
      }
    }
  });
});

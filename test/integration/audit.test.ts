import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { parsePeriod, previousPeriod } from '../../schemas/calendar/index.js';
import { compileKpi } from '../../schemas/kpis/compile.js';
import { DEFAULT_SCORECARDS } from '../../schemas/scorecards/defaults.js';
import { parseScorecardConfig } from '../../schemas/scorecards/index.js';
import { appendChained, verifyAudit, verifyChain, type PeriodAuditRow } from '../../services/periods/audit-chain.js';
import { storeImport, type StoredRow } from '../../services/periods/imports.js';
import { insertRows, openWarehouse, queryRows, type ClickHouseClient, type Warehouse } from '../../services/shared/clickhouse.js';
import { loadConfig } from '../../services/shared/config.js';
import { migrate } from '../../services/shared/migrations.js';
import { createCloseActivities } from '../../workflows/activities/close.js';
import { tempDir } from '../support/env.js';

/** Money as every test reports it: in CNY, days in Shanghai. */
const MONEY = { reportingCurrency: 'CNY', timeZone: 'Asia/Shanghai' };

/** The hash chain over period_audit and imports, and imports that commit with their record, on a real embedded chDB. */
describe('audit trail: hash chain and atomic imports', () => {
  let dir: string;
  let warehouse: Warehouse;
  let client: ClickHouseClient;

  beforeAll(async () => {
    dir = tempDir('audit');
    warehouse = await openWarehouse(loadConfig({ ...process.env, CHDB_PATH: dir }).clickhouse);
    client = warehouse.client;
    await migrate(client);
  });

  afterAll(async () => {
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    for (const table of ['period_audit', 'imports', 'kpi_targets', 'period_revisions']) await client.command({ query: `TRUNCATE TABLE ${table}` });
  });

  const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
  const audit = (i: number, overrides: Partial<PeriodAuditRow> = {}): PeriodAuditRow => ({
    at: `2026-10-01 09:00:${String(i).padStart(2, '0')}.000`,
    grain: 'quarter',
    period: '2026-Q3',
    revision: 1,
    action: 'approve',
    actor: 'ana',
    comment: `step ${i}`,
    details: '{}',
    ...overrides,
  });
  const chainOf = async (table: 'period_audit' | 'imports'): Promise<{ seq: string; prev_hash: string; hash: string }[]> =>
    (await queryRows<{ n: string; prev_hash: string; hash: string }>(client, `SELECT toString(seq) AS n, prev_hash, hash FROM ${table} WHERE seq > 0 ORDER BY seq`)).map(({ n, ...r }) => ({ seq: n, ...r }));
  const target = (unit: string, value: number): StoredRow => ({ kpi: 'net_sales', grain: 'month', period: '2026-07', level: 'store', unit, value, numerator: null, denominator: null });

  it('chains the appends of both writers, and verifies them', async () => {
    const close = createCloseActivities({ clickhouse: client, scorecards: parseScorecardConfig(DEFAULT_SCORECARDS), money: MONEY });
    const bounds = { grain: 'quarter' as const, period: '2026-Q3', start: '2026-06-30T16:00:00.000Z', end: '2026-09-30T16:00:00.000Z', previousStart: '2026-03-31T16:00:00.000Z' };
    const closed = { ...bounds, revision: 1, state: 'closed' as const, action: 'close', actor: 'system', comment: '', atMs: Date.parse('2026-10-01T01:00:00.000Z') };
    await close.recordTransition(closed);
    await storeImport(client, 'targets', [target('S001', 100)], { importedBy: 'ana', source: 'test', content: 'a' });
    await close.recordTransition({ ...closed, state: 'approved', action: 'approve', actor: 'bo', comment: 'ok', atMs: Date.parse('2026-10-02T01:00:00.000Z') });
    await storeImport(client, 'targets', [target('S002', 200)], { importedBy: 'bo', source: 'test', content: 'b' });
    // A retried activity writes the very same row: it is stored once, the chain stays whole.
    await close.recordTransition(closed);

    expect(await verifyAudit(client)).toEqual([
      { table: 'period_audit', rows: 2, legacyRows: 0, ok: true },
      { table: 'imports', rows: 2, legacyRows: 0, ok: true },
    ]);
    // Row 1 by the chain's own definition: SHA-256 of '' (no row before), a newline, then JSON
    // of seq and the columns in table order, as ClickHouse stores them.
    const [first, second] = await chainOf('period_audit');
    const content = { seq: 1, at: '2026-10-01 01:00:00.000', grain: 'quarter', period: '2026-Q3', revision: 1, action: 'close', actor: 'system', comment: '', details: '{}' };
    expect(first).toEqual({ seq: '1', prev_hash: '', hash: sha256(`\n${JSON.stringify(content)}`) });
    expect(second).toMatchObject({ seq: '2', prev_hash: first?.hash });
    expect((await chainOf('imports')).map((r) => r.seq)).toEqual(['1', '2']);
  });

  it('refuses a different period_audit row under a stored key, which the table would silently replace', async () => {
    await appendChained(client, 'period_audit', [audit(1)]);
    await expect(appendChained(client, 'period_audit', [audit(1, { comment: 'rewritten' })])).rejects.toThrow(
      'period_audit already holds a different approve of quarter 2026-Q3 revision 1 at 2026-10-01 09:00:01.000',
    );
    await expect(appendChained(client, 'period_audit', [audit(2, { seq: 7 } as Partial<PeriodAuditRow>)])).rejects.toThrow('period_audit has no chained column seq');
    expect(await verifyChain(client, 'period_audit')).toEqual({ table: 'period_audit', rows: 1, legacyRows: 0, ok: true });
  });

  it('stores values as it hashes them: an instant given with fewer digits reads back as written', async () => {
    await appendChained(client, 'period_audit', [audit(1, { at: '2026-10-01T09:30:00.5Z' }), audit(2, { at: '2026-10-01 09:30:01' })]);
    const stored = await queryRows<{ at: string }>(client, 'SELECT toString(at) AS at FROM period_audit ORDER BY seq');
    expect(stored.map((r) => r.at)).toEqual(['2026-10-01 09:30:00.500', '2026-10-01 09:30:01.000']);
    expect(await verifyChain(client, 'period_audit')).toEqual({ table: 'period_audit', rows: 2, legacyRows: 0, ok: true });
  });

  it('gives concurrent appends seq 1..10 without a fork', async () => {
    await Promise.all(Array.from({ length: 10 }, (_, i) => appendChained(client, 'period_audit', [audit(i)])));
    const chain = await chainOf('period_audit');
    expect(chain.map((r) => r.seq)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    chain.forEach((r, i) => expect(r.prev_hash).toBe(i === 0 ? '' : chain[i - 1]?.hash));
    expect(await verifyChain(client, 'period_audit')).toEqual({ table: 'period_audit', rows: 10, legacyRows: 0, ok: true });
  });

  it('names a row changed after it was written as the first broken link', async () => {
    for (let i = 1; i <= 5; i += 1) await appendChained(client, 'period_audit', [audit(i)]);
    await client.command({ query: "ALTER TABLE period_audit UPDATE actor = 'mallory' WHERE seq = 3 SETTINGS mutations_sync = 2" });
    const report = await verifyChain(client, 'period_audit');
    expect(report).toMatchObject({ table: 'period_audit', rows: 5, ok: false, seq: 3 });
    expect(report.ok === false && report.problem).toBe('row 3 (approve of quarter 2026-Q3 revision 1 by mallory at 2026-10-01 09:00:03.000) was changed after it was written');
  });

  it('names the next row when a changed row was given a fresh hash', async () => {
    for (let i = 1; i <= 4; i += 1) await appendChained(client, 'period_audit', [audit(i)]);
    const [row2] = await chainOf('period_audit').then((c) => c.filter((r) => r.seq === '2'));
    const forged = { seq: 3, ...audit(3, { actor: 'mallory' }) };
    const hash = sha256(`${row2?.hash ?? ''}\n${JSON.stringify(forged)}`);
    await client.command({
      query: "ALTER TABLE period_audit UPDATE actor = 'mallory', hash = {hash: String} WHERE seq = 3 SETTINGS mutations_sync = 2",
      query_params: { hash },
    });
    const report = await verifyChain(client, 'period_audit');
    expect(report).toMatchObject({ ok: false, seq: 4 });
    expect(report.ok === false && report.problem).toMatch(/^row 4 \(.*\) does not follow row 3: its prev_hash is not row 3's hash$/);
  });

  it('names a fork: a second, well-formed row with a seq already taken (a writer in another process)', async () => {
    for (let i = 1; i <= 3; i += 1) await appendChained(client, 'period_audit', [audit(i)]);
    const [row1] = await chainOf('period_audit');
    const other = { seq: 2, ...audit(9, { actor: 'cy' }) };
    await insertRows(client, 'period_audit', [{ ...other, prev_hash: row1?.hash ?? '', hash: sha256(`${row1?.hash ?? ''}\n${JSON.stringify(other)}`) }]);
    const report = await verifyChain(client, 'period_audit');
    expect(report).toMatchObject({ ok: false, seq: 2, rows: 4 });
    expect(report.ok === false && report.problem).toMatch(/^row 2 appears twice \(.*\): two writers appended at once$/);
  });

  it('names a deleted row as missing, in either table', async () => {
    for (let i = 1; i <= 4; i += 1) await appendChained(client, 'period_audit', [audit(i)]);
    await client.command({ query: 'ALTER TABLE period_audit DELETE WHERE seq = 2 SETTINGS mutations_sync = 2' });
    expect(await verifyChain(client, 'period_audit')).toEqual({ table: 'period_audit', rows: 3, legacyRows: 0, ok: false, seq: 2, problem: 'row 2 is missing' });

    for (const unit of ['S001', 'S002', 'S003']) await storeImport(client, 'targets', [target(unit, 1)], { importedBy: 'ana', source: 'test', content: unit });
    await client.command({ query: 'DELETE FROM imports WHERE seq = 1' });
    expect(await verifyChain(client, 'imports')).toEqual({ table: 'imports', rows: 2, legacyRows: 0, ok: false, seq: 1, problem: 'row 1 is missing' });
  });

  it('counts rows written before the chain as legacy, and does not let them break it', async () => {
    await insertRows(client, 'period_audit', [{ at: '2026-09-30 00:00:00.000', grain: 'month', period: '2026-08', revision: 1, action: 'close', actor: 'system', comment: '', details: '{}' }]);
    await appendChained(client, 'period_audit', [audit(1), audit(2)]);
    await insertRows(client, 'imports', [{ import_id: 'legacy', kind: 'targets', imported_by: 'ana', imported_at: '2026-06-01 00:00:00.000', source: 'old', sha256: '', rows: 0 }]);
    await storeImport(client, 'targets', [target('S001', 1)], { importedBy: 'ana', source: 'test', content: 'x' });
    expect(await verifyAudit(client)).toEqual([
      { table: 'period_audit', rows: 2, legacyRows: 1, ok: true },
      { table: 'imports', rows: 1, legacyRows: 1, ok: true },
    ]);
  });

  describe('an import whose record cannot be written', () => {
    const calendar = { timeZone: 'Asia/Shanghai', fiscalYearStartMonth: 1 };
    const july = parsePeriod('month', '2026-07', calendar);
    /** Units the KPI compiler sees a target for: sales_attainment has a row only where a target is in force. */
    const unitsWithTargets = async (): Promise<string[]> => {
      const q = compileKpi('sales_attainment', july, previousPeriod(july, calendar), 'store', MONEY);
      return (await queryRows<{ unit: string }>(client, q.sql, q.params)).map((r) => r.unit);
    };
    /** The real client, except that inserts into `imports` fail, and so, when asked, do deletes. */
    const failing = (options: { deletes?: 'fail' } = {}): ClickHouseClient =>
      new Proxy(client, {
        get(real, prop) {
          if (prop === 'insert') {
            return (params: Parameters<ClickHouseClient['insert']>[0]) =>
              params.table.startsWith('imports') ? Promise.reject(new Error('imports is read-only (test)')) : real.insert(params);
          }
          if (prop === 'command' && options.deletes === 'fail') {
            return (params: Parameters<ClickHouseClient['command']>[0]) =>
              /^\s*(DELETE|ALTER)/i.test(params.query) ? Promise.reject(new Error('deletes refused (test)')) : real.command(params);
          }
          const value: unknown = Reflect.get(real, prop, real);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real) : value;
        },
      });
    const recorded = async (): Promise<string[]> => (await queryRows<{ import_id: string }>(client, 'SELECT import_id FROM imports')).map((r) => r.import_id);

    it('imports nothing: the rows are removed, the compiler never saw them, no record exists', async () => {
      const kept = await storeImport(client, 'targets', [target('S001', 1_250_000)], { importedBy: 'ana', source: 'test', content: 'kept' });
      const attempt = storeImport(failing(), 'targets', [target('S002', 900_000), target('S003', 800_000)], { importedBy: 'bo', source: 'test', content: 'lost' });
      await expect(attempt).rejects.toThrow('targets import failed, nothing was imported: its record could not be written (imports is read-only (test))');

      expect(await unitsWithTargets()).toEqual(['S001']);
      expect(await recorded()).toEqual([kept.importId]);
      expect(await queryRows(client, "SELECT unit FROM kpi_targets WHERE unit IN ('S002', 'S003')")).toEqual([]);
      expect(await verifyChain(client, 'imports')).toEqual({ table: 'imports', rows: 1, legacyRows: 0, ok: true });
    });

    it('imports nothing even when its rows cannot be removed: readers take only recorded imports', async () => {
      const attempt = storeImport(failing({ deletes: 'fail' }), 'targets', [target('S002', 900_000)], { importedBy: 'bo', source: 'test', content: 'stuck' });
      await expect(attempt).rejects.toThrow(/^targets import failed, nothing was imported: its record could not be written .*its stored rows \(import \S+ in kpi_targets\) could not be deleted \(deletes refused \(test\)\), and are ignored because the import has no record$/);

      expect(await queryRows(client, 'SELECT unit FROM kpi_targets')).toEqual([{ unit: 'S002' }]);
      expect(await unitsWithTargets()).toEqual([]);
      expect(await queryRows(client, 'SELECT unit FROM kpi_targets WHERE import_id IN (SELECT import_id FROM imports)')).toEqual([]);
      expect(await recorded()).toEqual([]);
    });
  });
});

import { readFileSync } from 'node:fs';
import { insertRows, openWarehouse, queryRows } from '../../services/shared/clickhouse.js';
import { loadConfig } from '../../services/shared/config.js';
import { migrate } from '../../services/shared/migrations.js';
import { connectTemporal } from '../../services/shared/temporal.js';
import { waitFor } from '../../services/shared/wait.js';
import { FAMILY_TABLES, eventRows } from '../../services/ingest/rows.js';
import { readValues } from '../../services/periods/read.js';
import { generateEvents } from '../../services/simulator/generate.js';
import { EVENT_SCHEMAS } from '../../schemas/events/index.js';
import { parsePeriod, previousPeriod } from '../../schemas/calendar/index.js';
import { periodSettings, startClose } from '../../workflows/client.js';
import { tempDir, uniqueName } from '../support/env.js';
import { distinctEvents, oracleKpis } from '../support/kpi-oracle.js';
import { exited, freePort, startKpi } from '../support/pipeline.js';

/**
 * A close survives its worker: `kpi worker` is killed with SIGKILL while the close is
 * computing, a new one takes over, and the close completes once, as one revision, with the
 * values an independent computation gives.
 */
describe('close under faults', () => {
  it('completes with the right values after the worker is killed mid-close', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LOG_LEVEL: 'warn',
      CHDB_PATH: tempDir('close-faults'),
      KPI_API_PORT: String(port),
      KPI_TASK_QUEUE: uniqueName('close-faults'),
      KPI_WORKFLOW_ID_PREFIX: `${uniqueName('cf')}.`,
      KPI_CLOSE_CONCURRENCY: '1',
    };
    const config = loadConfig(env);
    const calendar = config.business;
    // May and June of 16 stores, stored straight into the warehouse: this test is about the close.
    const sim = generateEvents({ from: '2026-05-01', to: '2026-06-30', stores: 16, regions: 4, seed: 5, scale: 0.5, timeZone: calendar.timeZone, notAfterMs: Date.now() });
    const events = distinctEvents(sim.messages.map((m) => m.event));
    const warehouse = await openWarehouse(config.clickhouse);
    try {
      await migrate(warehouse.client);
      const byTable = new Map<string, Record<string, unknown>[]>();
      events.forEach((e, i) => {
        const table = FAMILY_TABLES[EVENT_SCHEMAS[e.type].family];
        const rows = byTable.get(table) ?? [];
        for (const r of eventRows(e, { partition: 0, offset: String(i) })) rows.push(r);
        byTable.set(table, rows);
      });
      for (const [table, rows] of byTable) for (let i = 0; i < rows.length; i += 50_000) await insertRows(warehouse.client, table, rows.slice(i, i + 50_000));
    } finally {
      await warehouse.close();
    }

    const health = async (): Promise<true | undefined> => ((await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok ? true : undefined);
    const first = startKpi(['worker'], env);
    await waitFor(health, { timeoutMs: 60_000, intervalMs: 200, what: `the first worker to answer: ${first.output()}` });
    const temporal = await connectTemporal(config.temporal);
    let second: ReturnType<typeof startKpi> | undefined;
    try {
      const { handle } = await startClose(temporal.client, { ...periodSettings(config), grain: 'month', period: '2026-06', force: true, graceMs: 0 }, { taskQueue: config.temporal.taskQueue });
      // Kill it once the close is computing: its revision is begun, its values not all written.
      // The worker holds the store: read through it with the admin token its first start wrote.
      const credential = readFileSync(`${String(env['CHDB_PATH'])}.token`, 'utf8').trim();
      const reader = await openWarehouse(config.clickhouse, { credential });
      let seen: { computing: number; values: number } | undefined;
      try {
        seen = await waitFor(
          async () => {
            const [row] = await queryRows<{ computing: string; values: string }>(
              reader.client,
              "SELECT toString((SELECT count() FROM period_revisions FINAL WHERE grain = 'month' AND period = '2026-06' AND state = 'computing')) AS computing, toString((SELECT count() FROM kpi_values WHERE grain = 'month' AND period = '2026-06')) AS values",
            );
            return Number(row?.computing) > 0 ? { computing: Number(row?.computing), values: Number(row?.values) } : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 50, what: 'the close to start computing' },
        );
      } finally {
        await reader.close();
      }
      first.child.kill('SIGKILL');
      await exited(first.child);
      expect(seen.computing).toBe(1);

      second = startKpi(['worker'], env);
      const result = await handle.result();
      expect(result).toMatchObject({ revision: 1, alreadyClosed: false, forced: true });

      const after = await openWarehouse(config.clickhouse, { credential });
      try {
        const p = parsePeriod('month', '2026-06', calendar);
        const expected = oracleKpis(events, { startMs: Date.parse(p.start), endMs: Date.parse(p.end), previousStartMs: Date.parse(previousPeriod(p, calendar).start) });
        const { values, revision, status } = await readValues(after.client, { grain: 'month', period: '2026-06' });
        expect({ revision, status }).toEqual({ revision: 1, status: 'closed' });
        const wrong = values.flatMap((v) => {
          const want = expected.get(`${v.level}|${v.unit}|${v.kpi}`);
          if (!want) return [];
          const same = v.numerator === want.numerator && v.denominator === want.denominator && (v.value === want.value || (v.value !== null && want.value !== null && Math.abs(v.value - want.value) <= 1e-9 * Math.max(1, Math.abs(want.value))));
          return same ? [] : [`${v.level}|${v.unit}|${v.kpi}`];
        });
        expect(wrong).toEqual([]);
        expect(values.filter((v) => expected.has(`${v.level}|${v.unit}|${v.kpi}`))).toHaveLength(expected.size);
        const revisions = await queryRows<{ revision: number; state: string; forced: boolean }>(after.client, "SELECT revision, state, forced FROM period_revisions FINAL WHERE grain = 'month' AND period = '2026-06'");
        expect(revisions).toEqual([{ revision: 1, state: 'closed', forced: true }]);
        const audit = await queryRows<{ action: string }>(after.client, "SELECT action FROM period_audit FINAL WHERE grain = 'month' AND period = '2026-06'");
        expect(audit).toEqual([{ action: 'close_forced' }]);
      } finally {
        await after.close();
      }
    } finally {
      first.child.kill('SIGKILL');
      second?.child.kill('SIGTERM');
      if (second) await exited(second.child);
      await temporal.connection.close();
    }
  });
});

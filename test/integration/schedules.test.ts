import { insertRows, openWarehouse, queryRows, type Warehouse } from '../../services/shared/clickhouse.js';
import { migrate } from '../../services/shared/migrations.js';
import { loadScorecards } from '../../services/shared/scorecards.js';
import { connectTemporal, type Client, type Connection } from '../../services/shared/temporal.js';
import { waitFor } from '../../services/shared/wait.js';
import { FAMILY_TABLES, eventRows } from '../../services/ingest/rows.js';
import { periodStatus, readValues } from '../../services/periods/read.js';
import { generateEvents } from '../../services/simulator/generate.js';
import { periodOf, previousPeriod } from '../../schemas/calendar/index.js';
import { EVENT_SCHEMAS } from '../../schemas/events/index.js';
import { applySchedules } from '../../workflows/schedules.js';
import { periodSettings, refreshProvisional } from '../../workflows/client.js';
import { startWorker, type WorkerHandle } from '../../workflows/worker.js';
import { moneySettings } from '../../services/shared/config.js';
import { testConfig, uniqueName } from '../support/env.js';

/** Schedules on the real Temporal server: created, updated, and each kind run once on demand. */
describe('schedules: closes at period ends and provisional values', () => {
  const config = testConfig({ KPI_TASK_QUEUE: uniqueName('sched'), KPI_WORKFLOW_ID_PREFIX: `${uniqueName('sched')}.`, KPI_PROVISIONAL_INTERVAL_SECONDS: '3600', KPI_CLOSE_GRACE_SECONDS: '0' });
  const calendar = config.business;
  let warehouse: Warehouse;
  let worker: WorkerHandle;
  let temporal: { connection: Connection; client: Client };
  const ids: string[] = [];

  beforeAll(async () => {
    warehouse = await openWarehouse(config.clickhouse);
    await migrate(warehouse.client);
    // The last three days up to now: today's period is open, yesterday has ended.
    const today = periodOf('day', Date.now(), calendar);
    const from = previousPeriod(previousPeriod(today, calendar), calendar).id;
    const sim = generateEvents({ from, to: today.id, stores: 3, regions: 1, seed: 4, scale: 0.3, timeZone: calendar.timeZone, notAfterMs: Date.now() });
    const byTable = new Map<string, Record<string, unknown>[]>();
    for (const m of sim.messages) {
      if (m.kind !== 'valid' || !m.event) continue;
      const table = FAMILY_TABLES[EVENT_SCHEMAS[m.event.type].family];
      byTable.set(table, [...(byTable.get(table) ?? []), ...eventRows(m.event, { partition: 0, offset: '0' })]);
    }
    for (const [table, rows] of byTable) await insertRows(warehouse.client, table, rows);
    temporal = await connectTemporal(config.temporal);
    worker = await startWorker(config.temporal, { clickhouse: warehouse.client, scorecards: loadScorecards(config.close), money: moneySettings(config.business) });
  });

  afterAll(async () => {
    for (const id of ids) await temporal.client.schedule.getHandle(id).delete().catch(() => undefined);
    await worker.shutdown();
    await temporal.connection.close();
    await warehouse.close();
  });

  it('creates a schedule per grain in the business time zone and the provisional one, and updates them when applied again', async () => {
    const first = await applySchedules(temporal.client, config);
    ids.push(...first.map((s) => s.id));
    expect(first.map((s) => s.action)).toEqual(Array(6).fill('created'));
    const again = await applySchedules(temporal.client, config);
    expect(again.map((s) => s.action)).toEqual(Array(6).fill('updated'));
    const day = await temporal.client.schedule.getHandle(`${config.close.idPrefix}schedule:close:day`).describe();
    expect(day.spec.timezone).toBe(calendar.timeZone);
    expect(day.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 0, end: 0, step: 1 }] });
    expect(day.action).toMatchObject({ type: 'startWorkflow', workflowType: 'closeEndedPeriodWorkflow', taskQueue: config.temporal.taskQueue });
  });

  it('the provisional schedule writes revision 0 for every open period', async () => {
    const schedule = temporal.client.schedule.getHandle(`${config.close.idPrefix}schedule:provisional`);
    await schedule.trigger();
    const today = periodOf('day', Date.now(), calendar);
    // The run the trigger started, to its end (values are written grain by grain).
    const started = await waitFor(async () => (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId, { timeoutMs: 60_000, intervalMs: 250, what: 'the scheduled refresh to start' });
    await temporal.client.workflow.getHandle(started).result();
    // Every open period that began before today has sales (today may have none yet in the small hours).
    const open = (['week', 'month', 'quarter', 'year'] as const).map((g) => periodOf(g, Date.now(), calendar)).filter((p) => p.start < today.start);
    for (const p of open) {
      const read = await readValues(warehouse.client, { grain: p.grain, period: p.id, level: 'company', kpi: 'transactions' });
      expect({ revision: read.revision, status: read.status }).toEqual({ revision: 0, status: 'provisional' });
      expect(read.values[0]?.value).toBeGreaterThan(0);
    }
  });

  it('refreshes only the open periods whose events changed since their values were computed, and says as of when', async () => {
    const settings = periodSettings(config);
    const refresh = (n: number) => refreshProvisional(temporal.client, settings, `${config.close.idPrefix}provisional:check:${n}`, { taskQueue: config.temporal.taskQueue });
    // Nothing arrived since the schedule's run: nothing to recompute.
    expect((await refresh(1)).periods).toEqual([]);
    // A sale a minute ago, stored as ingest stores it (its rows, then its arrival).
    const [sale] = await queryRows<Record<string, unknown>>(warehouse.client, 'SELECT * EXCEPT (ingested_at) FROM sale_lines LIMIT 1');
    const at = new Date(Date.now() - 60_000);
    const occurred = at.toISOString().replace('T', ' ').replace('Z', '');
    await insertRows(warehouse.client, 'sale_lines', [{ ...sale, event_id: `late-${Date.now()}`, sale_id: `sale-${Date.now()}`, occurred_at: occurred }]);
    await insertRows(warehouse.client, 'arrivals', [{ slice: new Date(at.getTime() - (at.getTime() % 900_000)).toISOString().replace('T', ' ').slice(0, 19), events: 1 }]);
    const today = periodOf('day', Date.now(), calendar);
    const before = await readValues(warehouse.client, { grain: 'day', period: today.id, level: 'company', kpi: 'transactions' });
    const second = await refresh(2);
    expect(second.periods).toEqual(['day', 'week', 'month', 'quarter', 'year'].map((g) => `${g} ${periodOf(g as 'day', Date.now(), calendar).id}`));
    const after = await readValues(warehouse.client, { grain: 'day', period: today.id, level: 'company', kpi: 'transactions' });
    expect(after.values[0]?.value).toBe((before.values[0]?.value ?? 0) + 1);
    expect(after.values[0]?.as_of).toBe(occurred);
  });

  it('the day schedule closes the day that just ended, under its business key', async () => {
    await temporal.client.schedule.getHandle(`${config.close.idPrefix}schedule:close:day`).trigger();
    const yesterday = previousPeriod(periodOf('day', Date.now(), calendar), calendar);
    const status = await waitFor(async () => ((await periodStatus(warehouse.client, 'day', yesterday.id))?.state === 'closed' ? periodStatus(warehouse.client, 'day', yesterday.id) : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: `the scheduled close of ${yesterday.id}`,
    });
    expect(status).toMatchObject({ revision: 1, forced: false });
    const audit = await queryRows<{ actor: string }>(warehouse.client, "SELECT actor FROM period_audit FINAL WHERE grain = 'day' AND period = {p: String}", { p: yesterday.id });
    expect(audit).toEqual([{ actor: 'schedule' }]);
  });
});

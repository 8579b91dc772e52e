import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BusinessEvent } from '../../schemas/events/index.js';
import { EVENT_SCHEMAS } from '../../schemas/events/index.js';
import type { Grain } from '../../schemas/calendar/index.js';
import { insertRows, openWarehouse, queryRows, type ClickHouseClient } from '../../services/shared/clickhouse.js';
import { loadConfig, type Config } from '../../services/shared/config.js';
import { migrate } from '../../services/shared/migrations.js';
import { connectTemporal } from '../../services/shared/temporal.js';
import { waitFor } from '../../services/shared/wait.js';
import { FAMILY_TABLES, eventRows } from '../../services/ingest/rows.js';
import { generateEvents } from '../../services/simulator/generate.js';
import { stackDown, stackUp } from '../../services/stack/stack.js';
import { periodSettings, reportLateEvents, restateWorkflowId, startClose } from '../../workflows/client.js';
import type { restatePeriodWorkflow } from '../../workflows/definitions/restate-period.js';
import { differencesFromOracle } from '../support/close-check.js';
import { tempDir, uniqueName } from '../support/env.js';
import { distinctEvents } from '../support/kpi-oracle.js';
import { exited, freePort, freeSteadyPorts, startKpi, stop } from '../support/pipeline.js';

type Running = ReturnType<typeof startKpi>;

/** The close's activities that run KPI queries and heartbeat (workflows/definitions/period-steps.ts). */
const QUERY_ACTIVITIES = ['computeValues', 'refreshPartials'];

/**
 * Stores events straight into the warehouse's event tables as ingest would, in chunks, and
 * records their arrival per 15-minute slice of event time, as ingest does after each batch:
 * that is how the day partials learn which days to compute again.
 */
async function storeEvents(client: ClickHouseClient, events: readonly BusinessEvent[], firstOffset: number): Promise<void> {
  const byTable = new Map<string, Record<string, unknown>[]>();
  events.forEach((e, i) => {
    const table = FAMILY_TABLES[EVENT_SCHEMAS[e.type].family];
    const rows = byTable.get(table) ?? [];
    for (const r of eventRows(e, { partition: 0, offset: String(firstOffset + i) })) rows.push(r);
    byTable.set(table, rows);
  });
  for (const [table, rows] of byTable) for (let i = 0; i < rows.length; i += 50_000) await insertRows(client, table, rows.slice(i, i + 50_000));
  const slices = new Map<string, number>();
  for (const e of events) {
    const slice = new Date(Math.floor(Date.parse(e.occurred_at) / 900_000) * 900_000).toISOString().slice(0, 19).replace('T', ' ');
    slices.set(slice, (slices.get(slice) ?? 0) + 1);
  }
  await insertRows(client, 'arrivals', [...slices].map(([slice, count]) => ({ slice, events: count })));
}

/**
 * Closes survive what fails around them. A Temporal dev server of the suite's own (so it can
 * be stopped), an embedded store held by `kpi api`, and `kpi worker` processes joining it
 * through the holder on one task queue. Q2 2026 of six stores is stored straight into the
 * warehouse (these tests are about closes, not ingest); some April sales are held back and
 * stored after April closed, as late events.
 *
 * - Worker failure: the worker running a quarter close and a restatement is SIGKILLed; the
 *   other worker finishes both, each as one revision.
 * - Temporal restart: the server is stopped and started again during a close.
 * - Store outage: the store's holder is gone for 30 s during a close.
 * Every close's values equal the independent computation over the events it read.
 */
describe('closes under faults', () => {
  let temporalConfig: Config;
  let config: Config;
  let env: NodeJS.ProcessEnv;
  let holder: Running;
  let token = '';
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  const workers: Running[] = [];
  let all: BusinessEvent[] = [];
  let onTime: BusinessEvent[] = [];

  const health = (port: string | undefined) => async (): Promise<true | undefined> => ((await fetch(`http://127.0.0.1:${String(port)}/health`).catch(() => undefined))?.ok ? true : undefined);
  const startHolder = async (): Promise<Running> => {
    const api = startKpi(['api'], env);
    await waitFor(health(env['KPI_API_PORT']), { timeoutMs: 60_000, intervalMs: 200, what: `kpi api to hold the store: ${api.output()}` });
    return api;
  };
  const startWorker = async (): Promise<Running> => {
    const workerEnv = { ...env, KPI_TOKEN: token, KPI_API_PORT: String(await freePort()) };
    const worker = startKpi(['worker'], workerEnv);
    await waitFor(health(workerEnv.KPI_API_PORT), { timeoutMs: 60_000, intervalMs: 200, what: `kpi worker to start: ${worker.output()}` });
    workers.push(worker);
    return worker;
  };
  /** Runs `fn` on a client reading through the holder. */
  const read = async <T>(fn: (client: ClickHouseClient) => Promise<T>): Promise<T> => {
    const reader = await openWarehouse(config.clickhouse, { credential: token });
    try {
      return await fn(reader.client);
    } finally {
      await reader.close();
    }
  };
  const revisions = (grain: Grain, period: string) =>
    read((client) => queryRows<{ revision: number; state: string }>(client, 'SELECT revision, state FROM period_revisions FINAL WHERE grain = {grain: String} AND period = {period: String} ORDER BY revision', { grain, period }));
  /** Waits until the period's revision `revision` is computing: begun, its values not all written. */
  const untilComputing = (grain: Grain, period: string, revision: number) =>
    waitFor(async () => ((await revisions(grain, period)).some((r) => r.revision === revision && r.state === 'computing') ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 50,
      what: `${grain} ${period} revision ${revision} to start computing`,
    });
  const oracle = (grain: Grain, period: string, events: readonly BusinessEvent[], revision?: number) =>
    read((client) => differencesFromOracle(client, events, config.business, { grain, period, ...(revision !== undefined ? { revision } : {}) }));
  /**
   * The month's close completed, on the one worker left, as one closed revision whose values
   * equal the independent computation over every event.
   */
  const expectClosedOnce = async (handle: Awaited<ReturnType<typeof startClose>>['handle'], period: string): Promise<void> => {
    expect(await handle.result()).toMatchObject({ revision: 1, alreadyClosed: false });
    expect(workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null)).toHaveLength(1);
    expect(await revisions('month', period)).toEqual([{ revision: 1, state: 'closed' }]);
    const month = await oracle('month', period, all);
    expect(month.expected).toBeGreaterThan(100);
    expect(month).toEqual({ revision: 1, status: 'closed', wrong: [], expected: month.expected, shown: month.expected });
  };
  const output = (): string => [`--- kpi api:\n${holder.output()}`, ...workers.map((w, i) => `--- kpi worker ${i + 1} (exit ${String(w.child.exitCode ?? w.child.signalCode)}):\n${w.output()}`)].join('\n');

  beforeAll(async () => {
    // Temporal and the holder are stopped and started again on their ports: ports no client takes meanwhile.
    const steady = await freeSteadyPorts(3);
    const [temporalPort, uiPort, apiPort] = [steady, steady + 1, steady + 2];
    temporalConfig = loadConfig({ ...process.env, KPI_DATA_DIR: tempDir('faults-temporal'), KPI_STACK_TEMPORAL_PORT: String(temporalPort), KPI_STACK_TEMPORAL_UI_PORT: String(uiPort) });
    await stackUp(temporalConfig, () => undefined, ['temporal']);
    env = {
      ...process.env,
      LOG_LEVEL: 'warn',
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      CHDB_PATH: tempDir('close-faults'),
      KPI_API_PORT: String(apiPort),
      KPI_TASK_QUEUE: uniqueName('close-faults'),
      KPI_WORKFLOW_ID_PREFIX: `${uniqueName('cf')}.`,
      KPI_CLOSE_CONCURRENCY: '1',
      // The restatement is started by the test; the workers' late-event watchers stay out of it.
      KPI_LATE_CHECK_SECONDS: '3600',
    };
    config = loadConfig(env);
    const sim = generateEvents({ from: '2026-04-01', to: '2026-06-30', stores: 6, regions: 2, seed: 5, scale: 0.4, timeZone: config.business.timeZone, notAfterMs: Date.now() });
    all = distinctEvents(sim.messages.map((m) => m.event));
    // Every fifth April sale arrives late: stored only after April has closed.
    const late = new Set(all.filter((e, i) => e.type === 'sale.completed' && e.occurred_at.startsWith('2026-04') && i % 5 === 0));
    onTime = all.filter((e) => !late.has(e));
    const warehouse = await openWarehouse(config.clickhouse);
    try {
      await migrate(warehouse.client);
      await storeEvents(warehouse.client, onTime, 0);
    } finally {
      await warehouse.close();
    }
    holder = await startHolder();
    token = readFileSync(`${String(env['CHDB_PATH'])}.token`, 'utf8').trim();
    temporal = await connectTemporal(config.temporal);
    // April closes before anything fails; its late sales are stored afterwards.
    await startWorker();
    const april = await startClose(temporal.client, { ...periodSettings(config), grain: 'month', period: '2026-04', force: true, graceMs: 0 }, { taskQueue: config.temporal.taskQueue });
    await april.handle.result();
    await read((client) => storeEvents(client, all.filter((e) => late.has(e)), onTime.length));
  }, 600_000);

  afterAll(async () => {
    try {
      await Promise.all([...workers, holder].flatMap((p) => (p ? [stop(p.child)] : [])));
      await temporal?.connection.close();
    } finally {
      if (temporalConfig) await stackDown(temporalConfig, () => undefined, ['temporal']);
    }
  }, 120_000);

  it('finishes a quarter close and a restatement on the other worker when theirs is SIGKILLed', async () => {
    const april = await oracle('month', '2026-04', onTime);
    expect(april.expected).toBeGreaterThan(100);
    expect(april).toEqual({ revision: 1, status: 'closed', wrong: [], expected: april.expected, shown: april.expected });
    // Two workers poll the task queue before anything starts.
    await startWorker();
    const identity = (w: Running): string => `${String(w.child.pid)}@${hostname()}`;

    const quarter = await startClose(temporal.client, { ...periodSettings(config), grain: 'quarter', period: '2026-Q2', force: true, graceMs: 0 }, { taskQueue: config.temporal.taskQueue });
    const restate = { ...periodSettings(config), grain: 'month' as const, period: '2026-04', debounceMs: 0, reason: 'late sales stored', actor: 'close-faults' };
    await reportLateEvents(temporal.client, restate, 0, { taskQueue: config.temporal.taskQueue });
    const restatement = temporal.client.workflow.getHandle<typeof restatePeriodWorkflow>(restateWorkflowId(config.close.idPrefix, 'month', '2026-04'));
    // The victim: the worker that, at one instant, runs a KPI query (an activity that
    // heartbeats, so its death is noticed within 30 s) of both the close and the restatement.
    const runningQueries = async (handle: typeof restatement | typeof quarter.handle): Promise<Set<string>> => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      const started = pending.filter((a) => String(a.state) === '2' || String(a.state) === 'PENDING_ACTIVITY_STATE_STARTED');
      return new Set(started.filter((a) => QUERY_ACTIVITIES.includes(a.activityType?.name ?? '')).map((a) => a.lastWorkerIdentity ?? ''));
    };
    const victim = await waitFor(
      async () => {
        const [ofClose, ofRestatement] = await Promise.all([runningQueries(quarter.handle), runningQueries(restatement)]);
        return workers.find((w) => w.child.exitCode === null && ofClose.has(identity(w)) && ofRestatement.has(identity(w)));
      },
      { timeoutMs: 120_000, intervalMs: 50, what: `one worker to run a KPI query of both the quarter close and the restatement\n${output()}` },
    );
    victim.child.kill('SIGKILL');
    expect(await exited(victim.child)).toBe('SIGKILL');
    const survivor = workers.find((w) => w !== victim);
    if (!survivor) throw new Error('no second worker');

    const closed = await quarter.handle.result();
    const restated = await restatement.result();
    expect(closed).toMatchObject({ revision: 1, alreadyClosed: false, forced: true });
    expect(restated).toMatchObject({ revision: 2 });
    expect(survivor.child.exitCode).toBeNull();
    // Each took the killed query over: a later attempt of it ran on the survivor.
    for (const handle of [quarter.handle, restatement]) {
      const retried = (await handle.fetchHistory()).events?.flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes] : [])) ?? [];
      expect(retried.some((a) => Number(a.attempt) >= 2 && a.identity === identity(survivor))).toBe(true);
    }

    expect(await revisions('quarter', '2026-Q2')).toEqual([{ revision: 1, state: 'closed' }]);
    expect(await revisions('month', '2026-04')).toEqual([
      { revision: 1, state: 'closed' },
      { revision: 2, state: 'closed' },
    ]);
    const q2 = await oracle('quarter', '2026-Q2', all);
    expect(q2.expected).toBeGreaterThan(100);
    expect(q2).toEqual({ revision: 1, status: 'closed', wrong: [], expected: q2.expected, shown: q2.expected });
    const restatedApril = await oracle('month', '2026-04', all, 2);
    expect(restatedApril.expected).toBeGreaterThan(100);
    expect(restatedApril).toEqual({ revision: 2, status: 'closed', wrong: [], expected: restatedApril.expected, shown: restatedApril.expected });
  }, 400_000);

  it('completes a close when the Temporal server is stopped and started again during it', async () => {
    const { handle } = await startClose(temporal.client, { ...periodSettings(config), grain: 'month', period: '2026-05', force: true, graceMs: 0 }, { taskQueue: config.temporal.taskQueue });
    await untilComputing('month', '2026-05', 1);
    expect(await stackDown(temporalConfig, () => undefined, ['temporal'])).toEqual(['temporal']);
    await sleep(3_000);
    expect((await stackUp(temporalConfig, () => undefined, ['temporal'])).started).toEqual(['temporal']);

    // The handle names the workflow; its client reconnects to the restarted server.
    await expectClosedOnce(handle, '2026-05');
  }, 400_000);

  it('waits out a 30 s store outage during a close, then completes it', async () => {
    const { handle } = await startClose(temporal.client, { ...periodSettings(config), grain: 'month', period: '2026-06', force: true, graceMs: 0 }, { taskQueue: config.temporal.taskQueue });
    await untilComputing('month', '2026-06', 1);
    holder.child.kill('SIGTERM');
    expect(await exited(holder.child)).toBe(0);
    await sleep(30_000);
    // Nothing could be written meanwhile: the close is still running.
    expect((await handle.describe()).status.name).toBe('RUNNING');
    holder = await startHolder();

    await expectClosedOnce(handle, '2026-06');
  }, 400_000);
});

import { openWarehouse, queryRows, type Warehouse } from '../../services/shared/clickhouse.js';
import { createKafka, deleteTopics } from '../../services/shared/kafka.js';
import { createLogger } from '../../services/shared/logger.js';
import { migrate } from '../../services/shared/migrations.js';
import { loadScorecards } from '../../services/shared/scorecards.js';
import { connectTemporal, type Client, type Connection } from '../../services/shared/temporal.js';
import { startIngest, type IngestHandle } from '../../services/ingest/consumer.js';
import { createIngestMetrics } from '../../services/ingest/metrics.js';
import { storeImport, validateImport } from '../../services/periods/imports.js';
import { periodStatus, readRestatements, readScorecards, readValues } from '../../services/periods/read.js';
import { generateEvents } from '../../services/simulator/generate.js';
import { publish } from '../../services/simulator/produce.js';
import { parsePeriod, previousPeriod, type Grain } from '../../schemas/calendar/index.js';
import { topicNames, type BusinessEvent } from '../../schemas/events/index.js';
import { KPIS } from '../../schemas/kpis/catalog.js';
import { approveQuarter, periodSettings, quarterReviewState, reopenQuarter, reportLateEvents, restateWorkflowId, startClose } from '../../workflows/client.js';
import { startLateEventWatcher } from '../../services/periods/late-events.js';
import { startWorker, type WorkerHandle } from '../../workflows/worker.js';
import { moneySettings } from '../../services/shared/config.js';
import { testConfig, uniqueName } from '../support/env.js';
import { distinctEvents, oracleKpis } from '../support/kpi-oracle.js';
import { untilCaughtUp } from '../support/pipeline.js';

/**
 * End to end over a seeded quarter: simulated events go through Kafka and ingest into
 * ClickHouse, Temporal closes days, weeks, months and the quarter, and every KPI of every
 * unit of every level is checked against an independent computation over the emitted
 * events: counts and sums exactly, ratios within 1e-9.
 */
describe('close: every KPI, every level, every grain, against an independent computation', () => {
  const config = testConfig({ KPI_WORKFLOW_ID_PREFIX: `${uniqueName('t')}.`, KPI_TIME_ZONE: 'Asia/Shanghai', KPI_FISCAL_YEAR_START_MONTH: '1' });
  const calendar = { timeZone: config.business.timeZone, fiscalYearStartMonth: config.business.fiscalYearStartMonth };
  const prefix = `${uniqueName('t')}.`;
  const names = topicNames(prefix);
  const groupId = uniqueName('close-test');
  const taskQueue = uniqueName('close-queue');
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: uniqueName('close-test') });
  const logger = createLogger({ level: 'warn' });
  let warehouse: Warehouse;
  let ingest: IngestHandle | undefined;
  let worker: WorkerHandle | undefined;
  let temporal: { connection: Connection; client: Client };
  let events: BusinessEvent[];
  const targets = new Map<string, number>();

  const PERIODS: { grain: Grain; period: string }[] = [
    { grain: 'quarter', period: '2026-Q2' },
    { grain: 'month', period: '2026-04' },
    { grain: 'month', period: '2026-05' },
    { grain: 'month', period: '2026-06' },
    { grain: 'week', period: '2026-W15' },
    { grain: 'week', period: '2026-W22' },
    { grain: 'day', period: '2026-04-01' },
    { grain: 'day', period: '2026-05-15' },
    { grain: 'day', period: '2026-06-30' },
  ];

  beforeAll(async () => {
    warehouse = await openWarehouse(config.clickhouse);
    await migrate(warehouse.client);
    // March too: April's churn and growth look back one period.
    const sim = generateEvents({ from: '2026-03-01', to: '2026-06-30', stores: 8, regions: 4, seed: 23, scale: 0.2, timeZone: calendar.timeZone, duplicates: 0.02, outOfOrder: 0.01, notAfterMs: Date.now() });
    events = distinctEvents(sim.messages.map((m) => m.event));
    await publish(kafka, sim.messages, { topicPrefix: prefix });
    ingest = await startIngest(
      { kafka, clickhouse: warehouse.client, logger, metrics: createIngestMetrics() },
      { topics: names.families, deadLetterTopic: names.deadLetters, groupId },
    );
    await untilCaughtUp(kafka, groupId, Object.values(names.families));
    // Net-sales targets for every store and region of the quarter and of May.
    const rows: { kpi: string; grain: string; period: string; level: string; unit: string; value: number }[] = [];
    for (const [grain, period] of [['quarter', '2026-Q2'], ['month', '2026-05']] as const) {
      for (const s of sim.org.stores) rows.push({ kpi: 'net_sales', grain, period, level: 'store', unit: s.id, value: grain === 'quarter' ? 900_000 + s.number * 1_000 : 300_000.5 });
      for (const r of sim.org.regions) rows.push({ kpi: 'net_sales', grain, period, level: 'region', unit: r.id, value: 1_800_000 });
    }
    for (const r of rows) targets.set(`${r.grain}|${r.period}|${r.level}|${r.unit}`, r.value);
    await storeImport(warehouse.client, 'targets', validateImport('targets', rows, calendar), { importedBy: 'test', source: 'close.test.ts', content: JSON.stringify(rows) });
    const inputs = [{ kpi: 'staff_turnover_rate', grain: 'month', period: '2026-05', level: 'store', unit: 'S001', numerator: '1', denominator: '40' }];
    await storeImport(warehouse.client, 'inputs', validateImport('inputs', inputs, calendar), { importedBy: 'test', source: 'close.test.ts', content: JSON.stringify(inputs) });

    temporal = await connectTemporal(config.temporal);
    worker = await startWorker(
      config.temporal,
      { clickhouse: warehouse.client, scorecards: loadScorecards(config.close), money: moneySettings(config.business), ingest: { kafka, topics: Object.values(names.families) } },
      { taskQueue },
    );
    const settings = periodSettings(config);
    const handles = await Promise.all(PERIODS.map((p) => startClose(temporal.client, { ...settings, ...p, graceMs: 0, pollMs: 1_000 }, { taskQueue })));
    for (const { handle } of handles) await handle.result();
  });

  afterAll(async () => {
    // The quarter's review would wait for sign-off forever.
    await temporal?.client.workflow.getHandle(`${config.close.idPrefix}review:quarter:2026-Q2`).terminate('test done').catch(() => undefined);
    await ingest?.stop();
    await worker?.shutdown();
    await temporal?.connection.close();
    await warehouse.close();
    await deleteTopics(kafka, [...Object.values(names.families), names.deadLetters]).catch(() => undefined);
  });

  const eventKpis = KPIS.filter((k) => k.kind === 'event').map((k) => k.id);

  it.each(PERIODS)('$grain $period: every event KPI of every unit matches', async ({ grain, period }) => {
    const p = parsePeriod(grain, period, calendar);
    const prefixOf = `${grain}|${p.id}|`;
    const periodTargets = new Map([...targets].filter(([k]) => k.startsWith(prefixOf)).map(([k, v]) => [k.slice(prefixOf.length), v]));
    const expected = oracleKpis(events, { startMs: Date.parse(p.start), endMs: Date.parse(p.end), previousStartMs: Date.parse(previousPeriod(p, calendar).start) }, periodTargets);
    const { values, revision, status } = await readValues(warehouse.client, { grain, period });
    expect({ revision, status }).toEqual({ revision: 1, status: 'closed' });
    const actual = new Map(values.filter((v) => eventKpis.includes(v.kpi as never)).map((v) => [`${v.level}|${v.unit}|${v.kpi}`, v]));
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    const levels = new Set(values.map((v) => v.level));
    expect(levels).toEqual(new Set(['company', 'region', 'store', 'department', 'channel']));
    const close = (a: number | null, b: number | null): boolean => (a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)));
    const wrong: string[] = [];
    for (const [key, want] of expected) {
      const got = actual.get(key);
      if (!got) continue;
      // Counts and sums are whole numbers: exactly equal.
      if (got.numerator !== want.numerator || got.denominator !== want.denominator || !close(got.value, want.value)) {
        wrong.push(`${key}: got ${got.numerator}/${got.denominator}=${got.value}, want ${want.numerator}/${want.denominator}=${want.value}`);
      }
    }
    expect(wrong).toEqual([]);
    // The run is big enough to mean something: activity in every unit.
    expect(expected.get('company|all|transactions')?.value ?? 0).toBeGreaterThan(grain === 'day' ? 100 : 500);
    expect(values.filter((v) => v.level === 'store' && v.kpi === 'on_time_delivery_rate' && v.value !== null).length).toBe(8);
  });

  it('uses imported targets and manual inputs, and reports their absence as missing', async () => {
    const may = await readValues(warehouse.client, { grain: 'month', period: '2026-05', level: 'store' });
    const att = may.values.filter((v) => v.kpi === 'sales_attainment');
    expect(att).toHaveLength(8);
    for (const v of att) expect(v.denominator).toBe(30_000_050);
    const turnover = may.values.filter((v) => v.kpi === 'staff_turnover_rate');
    expect(turnover.find((v) => v.unit === 'S001')).toMatchObject({ value: 0.025, numerator: 1, denominator: 40 });
    // Imported for S001 only: the other stores have no row, and their scorecards name it missing.
    expect(turnover.map((v) => v.unit)).toEqual(['S001']);
    const april = await readValues(warehouse.client, { grain: 'month', period: '2026-04', level: 'store', kpi: 'sales_attainment' });
    expect(april.values.every((v) => v.value === null && v.denominator === 0)).toBe(true);
  });

  it('a second close of a closed period is no second revision', async () => {
    const settings = periodSettings(config);
    const again = await startClose(temporal.client, { ...settings, grain: 'month', period: '2026-04', graceMs: 0, pollMs: 1_000 }, { taskQueue });
    const result = await again.handle.result();
    expect(result).toMatchObject({ revision: 1, alreadyClosed: true });
    const revs = await queryRows<{ n: string }>(warehouse.client, "SELECT toString(count()) AS n FROM period_revisions FINAL WHERE grain = 'month' AND period = '2026-04'");
    expect(revs[0]?.n).toBe('1');
    expect(await periodStatus(warehouse.client, 'month', '2026-04')).toMatchObject({ revision: 1, state: 'closed', revisions: 1, forced: false });
  });

  it('scores and ranks the customer-service scorecard within each region, as computed here from the expected values', async () => {
    const p = parsePeriod('quarter', '2026-Q2', calendar);
    const expected = oracleKpis(events, { startMs: Date.parse(p.start), endMs: Date.parse(p.end), previousStartMs: Date.parse(previousPeriod(p, calendar).start) });
    const { units, lines } = await readScorecards(warehouse.client, { grain: 'quarter', period: '2026-Q2', scorecard: 'customer_service' });
    expect(units).toHaveLength(8);
    // Linear between floor and target, capped at full points (the default card's lines).
    const card: [string, number, number, number][] = [['csat', 30, 4.5, 3], ['complaint_rate', 25, 0.02, 0.2], ['first_response_time', 20, 2, 12], ['sla_attainment', 15, 0.95, 0.5], ['reopen_rate', 10, 0.05, 0.3]];
    const scoreOf = (store: string): number =>
      card.reduce((sum, [kpi, weight, target, floor]) => {
        const v = expected.get(`store|${store}|${kpi}`)?.value ?? NaN;
        return sum + weight * Math.min(1, Math.max(0, (v - floor) / (target - floor)));
      }, 0);
    for (const u of units) {
      expect(u.score).toBeCloseTo(scoreOf(u.unit), 9);
      expect(u.missing).toEqual([]);
      expect(lines.filter((l) => l.unit === u.unit)).toHaveLength(5);
    }
    for (const region of new Set(units.map((u) => u.peer_group))) {
      const peers = units.filter((u) => u.peer_group === region).sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0));
      expect(peers.map((u) => u.rank)).toEqual(peers.map((_, i) => i + 1));
      for (let i = 1; i < peers.length; i += 1) expect(peers[i - 1]?.score ?? 0).toBeGreaterThanOrEqual(peers[i]?.score ?? 0);
    }
  });

  it('leaves a scorecard with missing inputs unscored and names what is missing, never scoring it as 0', async () => {
    const { units } = await readScorecards(warehouse.client, { grain: 'quarter', period: '2026-Q2', scorecard: 'store_manager' });
    expect(units).toHaveLength(8);
    for (const u of units) {
      expect(u.score).toBeNull();
      expect(u.rank).toBeNull();
      expect(u.band).toBe('unscored');
      expect(u.missing).toEqual(expect.arrayContaining(['staff_turnover_rate', 'account_accuracy', 'product_knowledge']));
      expect(u.missing).not.toContain('sales_attainment');
    }
  });

  describe('late events, restatement and the quarterly review', () => {
    const may = (): ReturnType<typeof parsePeriod> => parsePeriod('month', '2026-05', calendar);
    let before: BusinessEvent[];

    beforeAll(async () => {
      before = events;
      // Finance signs the quarter off before the late events come in.
      const approved = await approveQuarter(temporal.client, config.close.idPrefix, '2026-Q2', { actor: 'finance-test', comment: 'Q2 reviewed' });
      expect(approved).toMatchObject({ status: 'approved', revision: 1, pendingRevision: null });
      // A day of events that ingest sees only now, all of it in the closed May.
      const late = generateEvents({ from: '2026-05-12', to: '2026-05-12', stores: 8, regions: 4, seed: 91, scale: 0.2, timeZone: calendar.timeZone, notAfterMs: Date.parse(may().end) - 1 });
      events = distinctEvents([...before, ...late.messages.map((m) => m.event)]);
      expect(events.length).toBeGreaterThan(before.length + 100);
      await publish(kafka, late.messages, { topicPrefix: prefix });
      await untilCaughtUp(kafka, groupId, Object.values(names.families), { timeoutMs: 120_000, what: 'ingest of the late events' });
      const settings = periodSettings(config);
      const watcher = startLateEventWatcher({
        clickhouse: warehouse.client,
        calendar,
        intervalMs: 3_600_000,
        logger,
        report: (l) => reportLateEvents(temporal.client, { ...settings, grain: l.grain, period: l.period, debounceMs: 1_000 }, l.events, { taskQueue }),
      });
      const reported = await watcher.check();
      await watcher.stop();
      expect(reported.map((r) => `${r.grain} ${r.period}`)).toEqual(expect.arrayContaining(['month 2026-05', 'quarter 2026-Q2']));
      expect(reported.map((r) => r.period)).not.toContain('2026-04');
      for (const r of reported) await temporal.client.workflow.getHandle(restateWorkflowId(config.close.idPrefix, r.grain, r.period)).result();
    });

    it('restates the closed month as revision 2, with values matching the events including the late ones', async () => {
      const p = may();
      const bounds = { startMs: Date.parse(p.start), endMs: Date.parse(p.end), previousStartMs: Date.parse(previousPeriod(p, calendar).start) };
      const mayTargets = new Map([...targets].filter(([k]) => k.startsWith('month|2026-05|')).map(([k, v]) => [k.slice('month|2026-05|'.length), v]));
      const now = oracleKpis(events, bounds, mayTargets);
      const { revision, status, values } = await readValues(warehouse.client, { grain: 'month', period: '2026-05' });
      expect({ revision, status }).toEqual({ revision: 2, status: 'closed' });
      for (const v of values) {
        const want = now.get(`${v.level}|${v.unit}|${v.kpi}`);
        if (!want) continue;
        expect([v.kpi, v.level, v.unit, v.numerator, v.denominator]).toEqual([v.kpi, v.level, v.unit, want.numerator, want.denominator]);
      }
      // As reported stays queryable.
      const asReported = await readValues(warehouse.client, { grain: 'month', period: '2026-05', revision: 1, level: 'company', kpi: 'net_sales' });
      expect(asReported.values[0]?.numerator).toBe(oracleKpis(before, bounds, mayTargets).get('company|all|net_sales')?.numerator);
    });

    it('records exactly the values that changed, old and new, per KPI and unit', async () => {
      const p = may();
      const bounds = { startMs: Date.parse(p.start), endMs: Date.parse(p.end), previousStartMs: Date.parse(previousPeriod(p, calendar).start) };
      const mayTargets = new Map([...targets].filter(([k]) => k.startsWith('month|2026-05|')).map(([k, v]) => [k.slice('month|2026-05|'.length), v]));
      const was = oracleKpis(before, bounds, mayTargets);
      const now = oracleKpis(events, bounds, mayTargets);
      const changed = [...now.keys()].filter((k) => {
        const a = was.get(k);
        const b = now.get(k);
        return !a || !b || a.numerator !== b.numerator || a.denominator !== b.denominator || a.value !== b.value;
      });
      const diff = await readRestatements(warehouse.client, { grain: 'month', period: '2026-05' });
      const eventKpiIds = new Set(eventKpis as readonly string[]);
      expect(diff.filter((d) => eventKpiIds.has(d.kpi)).map((d) => `${d.level}|${d.unit}|${d.kpi}`).sort()).toEqual(changed.sort());
      const net = diff.find((d) => d.kpi === 'net_sales' && d.level === 'company');
      expect(net).toMatchObject({ from_revision: 1, to_revision: 2, old_value: was.get('company|all|net_sales')?.value, new_value: now.get('company|all|net_sales')?.value });
    });

    it('keeps the approved quarter current until its restatement is approved', async () => {
      expect(await periodStatus(warehouse.client, 'quarter', '2026-Q2')).toMatchObject({ revision: 1, state: 'pending', currentState: 'approved', pendingRevision: 2 });
      const current = await readValues(warehouse.client, { grain: 'quarter', period: '2026-Q2', level: 'company', kpi: 'net_sales' });
      expect({ revision: current.revision, status: current.status }).toEqual({ revision: 1, status: 'approved' });
      expect(await quarterReviewState(temporal.client, config.close.idPrefix, '2026-Q2')).toMatchObject({ status: 'approved', revision: 1, pendingRevision: 2 });

      const approved = await approveQuarter(temporal.client, config.close.idPrefix, '2026-Q2', { actor: 'finance-test', comment: 'restatement accepted' });
      expect(approved).toMatchObject({ status: 'approved', revision: 2, pendingRevision: null });
      const after = await readValues(warehouse.client, { grain: 'quarter', period: '2026-Q2', level: 'company', kpi: 'net_sales' });
      expect({ revision: after.revision, status: after.status }).toEqual({ revision: 2, status: 'approved' });
      expect(after.values[0]?.value).not.toBe(current.values[0]?.value);
    });

    it('refuses a second approval, reopens only with a reason, and audits every transition', async () => {
      await expect(approveQuarter(temporal.client, config.close.idPrefix, '2026-Q2', { actor: 'finance-test', comment: 'again' })).rejects.toThrow();
      await expect(reopenQuarter(temporal.client, config.close.idPrefix, '2026-Q2', { actor: 'finance-test', reason: ' ' })).rejects.toThrow();
      expect(await reopenQuarter(temporal.client, config.close.idPrefix, '2026-Q2', { actor: 'cfo', reason: 'audit finding' })).toMatchObject({ status: 'reopened', revision: 2 });
      const audit = await queryRows<{ revision: number; action: string; actor: string; comment: string }>(
        warehouse.client,
        "SELECT revision, action, actor, comment FROM period_audit FINAL WHERE grain = 'quarter' AND period = '2026-Q2' ORDER BY at, revision",
      );
      expect(audit.map((a) => [a.revision, a.action, a.actor])).toEqual([
        [1, 'close', 'system'],
        [1, 'approve', 'finance-test'],
        [2, 'restate_pending_approval', 'system'],
        [2, 'approve', 'finance-test'],
        [2, 'reopen', 'cfo'],
      ]);
      expect(audit.at(-1)?.comment).toBe('audit finding');
    });
  });
});

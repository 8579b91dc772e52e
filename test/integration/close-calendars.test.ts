import { openWarehouse } from '../../services/shared/clickhouse.js';
import { createKafka, deleteTopics } from '../../services/shared/kafka.js';
import { createLogger } from '../../services/shared/logger.js';
import { migrate } from '../../services/shared/migrations.js';
import { loadScorecards } from '../../services/shared/scorecards.js';
import { connectTemporal } from '../../services/shared/temporal.js';
import { startIngest } from '../../services/ingest/consumer.js';
import { createIngestMetrics } from '../../services/ingest/metrics.js';
import { readValues } from '../../services/periods/read.js';
import { generateEvents } from '../../services/simulator/generate.js';
import { publish } from '../../services/simulator/produce.js';
import { parsePeriod, previousPeriod, type Grain } from '../../schemas/calendar/index.js';
import { topicNames } from '../../schemas/events/index.js';
import { periodSettings, startClose } from '../../workflows/client.js';
import { startWorker } from '../../workflows/worker.js';
import { moneySettings } from '../../services/shared/config.js';
import { testConfig, uniqueName } from '../support/env.js';
import { distinctEvents, oracleKpis } from '../support/kpi-oracle.js';
import { untilCaughtUp } from '../support/pipeline.js';

/**
 * One end-to-end close per calendar configuration: events through Kafka and ingest, the
 * close through Temporal, every KPI of every unit against the independent computation.
 */
async function closeAndCompare(overrides: Record<string, string>, range: { from: string; to: string }, periods: { grain: Grain; period: string }[]): Promise<string[]> {
  const config = testConfig({ ...overrides, KPI_WORKFLOW_ID_PREFIX: `${uniqueName('cal')}.` });
  const calendar = config.business;
  const prefix = `${uniqueName('cal')}.`;
  const names = topicNames(prefix);
  const groupId = uniqueName('cal-group');
  const taskQueue = uniqueName('cal-queue');
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: uniqueName('cal') });
  const logger = createLogger({ level: 'warn' });
  const warehouse = await openWarehouse(config.clickhouse);
  const temporal = await connectTemporal(config.temporal);
  await migrate(warehouse.client);
  const sim = generateEvents({ ...range, stores: 4, regions: 2, seed: 31, scale: 0.2, timeZone: calendar.timeZone, duplicates: 0.01, notAfterMs: Date.now() });
  const events = distinctEvents(sim.messages.map((m) => m.event));
  await publish(kafka, sim.messages, { topicPrefix: prefix });
  const ingest = await startIngest({ kafka, clickhouse: warehouse.client, logger, metrics: createIngestMetrics() }, { topics: names.families, deadLetterTopic: names.deadLetters, groupId });
  const worker = await startWorker(config.temporal, { clickhouse: warehouse.client, scorecards: loadScorecards(config.close), money: moneySettings(config.business), ingest: { kafka, topics: Object.values(names.families) } }, { taskQueue });
  const wrong: string[] = [];
  try {
    await untilCaughtUp(kafka, groupId, Object.values(names.families), { timeoutMs: 5 * 60_000 });
    for (const p of periods) {
      const { handle } = await startClose(temporal.client, { ...periodSettings(config), ...p, graceMs: 0, pollMs: 500 }, { taskQueue });
      await handle.result();
      const period = parsePeriod(p.grain, p.period, calendar);
      const expected = oracleKpis(events, { startMs: Date.parse(period.start), endMs: Date.parse(period.end), previousStartMs: Date.parse(previousPeriod(period, calendar).start) });
      const { values } = await readValues(warehouse.client, p);
      const got = new Map(values.map((v) => [`${v.level}|${v.unit}|${v.kpi}`, v]));
      for (const [key, want] of expected) {
        const v = got.get(key);
        const close = (a: number | null, b: number | null): boolean => (a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)));
        if (!v || v.numerator !== want.numerator || v.denominator !== want.denominator || !close(v.value, want.value)) wrong.push(`${p.grain} ${p.period} ${key}`);
      }
      if ((expected.get('company|all|transactions')?.value ?? 0) < 50) wrong.push(`${p.grain} ${p.period}: too few sales to mean anything`);
    }
  } finally {
    for (const p of periods.filter((x) => x.grain === 'quarter')) {
      await temporal.client.workflow.getHandle(`${config.close.idPrefix}review:quarter:${p.period}`).terminate('test done').catch(() => undefined);
    }
    await ingest.stop();
    await worker.shutdown();
    await temporal.connection.close();
    await warehouse.close();
    await deleteTopics(kafka, [...Object.values(names.families), names.deadLetters]).catch(() => undefined);
  }
  return wrong;
}

describe('close in other calendars', () => {
  it('in a zone with daylight saving time: the 23-hour day, its week and month match', async () => {
    const zone = { timeZone: 'America/New_York', fiscalYearStartMonth: 1 };
    const day = parsePeriod('day', '2026-03-08', zone);
    expect(Date.parse(day.end) - Date.parse(day.start)).toBe(23 * 3_600_000);
    const wrong = await closeAndCompare({ KPI_TIME_ZONE: 'America/New_York', KPI_FISCAL_YEAR_START_MONTH: '1' }, { from: '2026-02-01', to: '2026-03-31' }, [
      { grain: 'day', period: '2026-03-08' },
      { grain: 'week', period: '2026-W10' },
      { grain: 'month', period: '2026-03' },
    ]);
    expect(wrong).toEqual([]);
  });

  it('with a fiscal year starting in April: fiscal quarter 2027-Q1 (April to June 2026) matches', async () => {
    const fiscal = parsePeriod('quarter', '2027-Q1', { timeZone: 'Asia/Shanghai', fiscalYearStartMonth: 4 });
    expect(fiscal).toMatchObject({ start: '2026-03-31T16:00:00.000Z', end: '2026-06-30T16:00:00.000Z' });
    const wrong = await closeAndCompare({ KPI_TIME_ZONE: 'Asia/Shanghai', KPI_FISCAL_YEAR_START_MONTH: '4' }, { from: '2026-03-01', to: '2026-06-30' }, [{ grain: 'quarter', period: '2027-Q1' }]);
    expect(wrong).toEqual([]);
  });
});

import { rmSync } from 'node:fs';
import { parsePeriod, previousPeriod, type Grain } from '../../schemas/calendar/index.js';
import { topicNames, type BusinessEvent } from '../../schemas/events/index.js';
import { KPIS } from '../../schemas/kpis/catalog.js';
import { startIngest, type IngestHandle } from '../../services/ingest/consumer.js';
import { createIngestMetrics } from '../../services/ingest/metrics.js';
import { parseImportCsv, storeImport } from '../../services/periods/imports.js';
import { readValues, type KpiValueRow } from '../../services/periods/read.js';
import { openWarehouse, queryRows, type Warehouse } from '../../services/shared/clickhouse.js';
import { moneySettings } from '../../services/shared/config.js';
import { createKafka, deleteTopics } from '../../services/shared/kafka.js';
import { createLogger } from '../../services/shared/logger.js';
import { migrate } from '../../services/shared/migrations.js';
import { loadScorecards } from '../../services/shared/scorecards.js';
import { connectTemporal, type Client, type Connection } from '../../services/shared/temporal.js';
import { exchangeRates, exchangeRatesCsv, rateDays } from '../../services/simulator/currency-plan.js';
import { FOLLOW_UP_HORIZON_DAYS, generateEvents, type Simulation } from '../../services/simulator/generate.js';
import { publish } from '../../services/simulator/produce.js';
import { LARGE_SALE_MIN_LINES } from '../../services/simulator/sale-shapes.js';
import { ZoneClock } from '../../services/simulator/zone-clock.js';
import { periodSettings, startClose } from '../../workflows/client.js';
import { startWorker, type WorkerHandle } from '../../workflows/worker.js';
import { testConfig, uniqueName } from '../support/env.js';
import { distinctEvents, oracleKpis, type OracleValue } from '../support/kpi-oracle.js';
import { decimalMicros } from '../support/oracle-money.js';
import { untilCaughtUp } from '../support/pipeline.js';

/**
 * The simulator's real-world money through the whole pipeline: two months of 8 stores with
 * wholesale invoices of thousands of lines, v3 prices finer than a fen, and one store each
 * selling and refunding in HKD and MOP, sent through Kafka with duplicates, out-of-order
 * follow-ups and malformed messages, ingested into ClickHouse, valued at the simulator's
 * daily rates (imported as finance would, one HKD day left out) and closed by Temporal.
 * Every event KPI of every unit of the closed periods is checked against the independent
 * oracle: numerators and denominators exactly, values within 1e-9, and a value that needs
 * the absent rate is missing and names it, exactly where the oracle says.
 */

const TIME_ZONE = 'Asia/Shanghai';
const CURRENCIES = ['HKD', 'MOP'] as const;
/** With these options seed 3 puts 4,302- and 1,925-line HKD invoices (v3) on 11 and 12 May. */
const SEED = 3;
/** The business day whose HKD rate the import leaves out. */
const NO_HKD_RATE_DAY = '2026-05-12';
/** Micros in one minor unit of CNY, HKD and MOP (two decimals each). */
const MICROS_PER_FEN = 10_000n;

const PERIODS: { grain: Grain; period: string }[] = [
  { grain: 'month', period: '2026-05' },
  // 11–17 May: holds the day without an HKD rate.
  { grain: 'week', period: '2026-W20' },
  { grain: 'day', period: NO_HKD_RATE_DAY },
  { grain: 'day', period: '2026-05-11' },
];

type SaleEvent = Extract<BusinessEvent, { type: 'sale.completed' }>;
const isSale = (e: BusinessEvent): e is SaleEvent => e.type === 'sale.completed';

describe('simulated money: wholesale invoices, fine prices, HKD and MOP, every KPI against the oracle', () => {
  const config = testConfig({ KPI_WORKFLOW_ID_PREFIX: `${uniqueName('money-sim')}.`, KPI_TIME_ZONE: TIME_ZONE, KPI_REPORTING_CURRENCY: 'CNY' });
  const calendar = config.business;
  const prefix = `${uniqueName('money-sim')}.`;
  const names = topicNames(prefix);
  const groupId = uniqueName('money-sim-test');
  const taskQueue = uniqueName('money-sim-queue');
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: uniqueName('money-sim-test') });
  const logger = createLogger({ level: 'warn' });
  const eventKpis = new Set<string>(KPIS.filter((k) => k.kind === 'event').map((k) => k.id));
  let warehouse: Warehouse | undefined;
  let ingest: IngestHandle | undefined;
  let worker: WorkerHandle | undefined;
  let temporal: { connection: Connection; client: Client } | undefined;
  const closes: Awaited<ReturnType<typeof startClose>>['handle'][] = [];
  let sim: Simulation;
  let events: BusinessEvent[];
  /** `"HKD|2026-05-11"` → rate, as imported. */
  let rates: Map<string, string>;

  const client = (): Warehouse['client'] => {
    if (!warehouse) throw new Error('the warehouse did not open');
    return warehouse.client;
  };

  beforeAll(async () => {
    warehouse = await openWarehouse(config.clickhouse);
    await migrate(warehouse.client);
    // April too: customers and members of May look back one period.
    const from = '2026-04-01';
    const to = '2026-05-31';
    const now = Date.now();
    sim = generateEvents({
      from, to, stores: 8, regions: 3, seed: SEED, scale: 0.15, timeZone: TIME_ZONE,
      largeSales: 0.002, finePrices: 0.1, currencies: CURRENCIES,
      duplicates: 0.01, outOfOrder: 0.01, malformed: 0.001, notAfterMs: now,
    });
    events = distinctEvents(sim.messages.map((m) => m.event));
    await publish(kafka, sim.messages, { topicPrefix: prefix });
    ingest = await startIngest({ kafka, clickhouse: warehouse.client, logger, metrics: createIngestMetrics() }, { topics: names.families, deadLetterTopic: names.deadLetters, groupId });
    await untilCaughtUp(kafka, groupId, Object.values(names.families));

    // The rates the simulator's run needs, as `kpi simulate --rates-out` writes them, less one.
    const days = rateDays({ from, to, followUpDays: FOLLOW_UP_HORIZON_DAYS, clock: new ZoneClock(TIME_ZONE), notAfterMs: now });
    const all = exchangeRates({ ...days, seed: SEED, plan: { reporting: 'CNY', foreign: CURRENCIES } });
    const imported = all.filter((r) => !(r.currency === 'HKD' && r.day === NO_HKD_RATE_DAY));
    expect(imported).toHaveLength(all.length - 1);
    rates = new Map(imported.map((r) => [`${r.currency}|${r.day}`, r.rate]));
    const csv = exchangeRatesCsv(imported);
    await storeImport(warehouse.client, 'rates', parseImportCsv('rates', csv, calendar), { importedBy: 'finance-test', source: 'money-simulated.test.ts', content: csv });

    temporal = await connectTemporal(config.temporal);
    worker = await startWorker(
      config.temporal,
      { clickhouse: warehouse.client, scorecards: loadScorecards(config.close), money: moneySettings(calendar), ingest: { kafka, topics: Object.values(names.families) } },
      { taskQueue },
    );
    const settings = periodSettings(config);
    for (const p of PERIODS) closes.push((await startClose(temporal.client, { ...settings, ...p, graceMs: 0, pollMs: 1_000 }, { taskQueue })).handle);
    for (const handle of closes) await handle.result();
  }, 240_000);

  afterAll(async () => {
    // A close left waiting by a failed start would poll on after the test.
    for (const handle of closes) {
      const running = await handle.describe().then((d) => d.status.name === 'RUNNING', () => false);
      if (running) await handle.terminate('test done').catch(() => undefined);
    }
    await ingest?.stop();
    await worker?.shutdown();
    await temporal?.connection.close();
    await warehouse?.close();
    await deleteTopics(kafka, [...Object.values(names.families), names.deadLetters]).catch(() => undefined);
    if (config.clickhouse.mode === 'embedded') rmSync(config.clickhouse.path, { recursive: true, force: true });
  });

  it.each(PERIODS)('$grain $period: every event KPI of every unit equals the oracle, missing values included', async ({ grain, period }) => {
    const p = parsePeriod(grain, period, calendar);
    const bounds = { startMs: Date.parse(p.start), endMs: Date.parse(p.end), previousStartMs: Date.parse(previousPeriod(p, calendar).start) };
    const expected = oracleKpis(events, bounds, undefined, { reportingCurrency: 'CNY', timeZone: TIME_ZONE, rates });
    const { values, revision, status } = await readValues(client(), { grain, period });
    expect({ revision, status }).toEqual({ revision: 1, status: 'closed' });
    const actual = new Map(values.filter((v) => eventKpis.has(v.kpi)).map((v) => [`${v.level}|${v.unit}|${v.kpi}`, v]));
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(new Set(values.map((v) => v.level))).toEqual(new Set(['company', 'region', 'store', 'department', 'channel']));

    const close = (a: number | null, b: number | null): boolean => (a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)));
    const show = (v: { numerator: number | null; denominator: number | null; value: number | null; missing?: string[] }): string =>
      `${v.numerator}/${v.denominator}=${v.value} missing [${(v.missing ?? []).join(', ')}]`;
    const wrong: string[] = [];
    for (const [key, want] of expected) {
      const got = actual.get(key);
      if (!got) continue;
      // Counts and money in fen are whole numbers: exactly equal.
      const same = got.numerator === want.numerator && got.denominator === want.denominator && close(got.value, want.value);
      if (!same || JSON.stringify(got.missing) !== JSON.stringify(want.missing ?? [])) wrong.push(`${key}: got ${show(got)}, want ${show(want)}`);
    }
    expect(wrong).toEqual([]);

    // Only the day without an HKD rate, and the periods holding it, lack anything.
    const lacking = [...expected].filter((entry): entry is [string, OracleValue & { missing: string[] }] => entry[1].missing !== undefined);
    const day = parsePeriod('day', NO_HKD_RATE_DAY, calendar);
    if (Date.parse(day.start) >= bounds.startMs && Date.parse(day.end) <= bounds.endMs) {
      expect(lacking.length).toBeGreaterThan(0);
      expect(new Set(lacking.map(([, v]) => v.missing.join(',')))).toEqual(new Set([`HKD ${NO_HKD_RATE_DAY}`]));
    } else {
      expect(lacking).toEqual([]);
    }
    expect(expected.get('company|all|transactions')?.value ?? 0).toBeGreaterThan(grain === 'day' ? 50 : 500);
  });

  it('is a run worth checking: invoices whole, sub-fen prices, HKD and MOP sales and refunds, a named missing rate, malformed messages set aside', async () => {
    const sales = events.filter(isSale);

    // Every wholesale invoice stored whole, one row per line, with at least one in the closed month.
    const large = sales.filter((e) => e.payload.lines.length >= LARGE_SALE_MIN_LINES);
    expect(large.filter((e) => e.occurred_at.startsWith('2026-05')).length).toBeGreaterThan(0);
    const stored = await queryRows<{ sale_id: string; lines: string }>(
      client(),
      'SELECT sale_id, toString(count()) AS lines FROM sale_lines FINAL GROUP BY sale_id HAVING count() >= {min: UInt32} ORDER BY sale_id',
      { min: LARGE_SALE_MIN_LINES },
    );
    expect(stored).toEqual(large.map((e) => ({ sale_id: e.payload.sale_id, lines: String(e.payload.lines.length) })).sort((a, b) => a.sale_id.localeCompare(b.sale_id)));

    // v3 lines priced finer than a fen, each kept to the micro.
    let subFen = 0;
    for (const e of sales) for (const l of e.payload.lines) if ('unit_price' in l && decimalMicros(l.unit_price) % MICROS_PER_FEN !== 0n) subFen += 1;
    expect(subFen).toBeGreaterThan(100);
    const [fine] = await queryRows<{ n: string }>(client(), 'SELECT toString(count()) AS n FROM sale_lines FINAL WHERE event_version = 3 AND unit_price_micro % 10000 != 0');
    expect(fine?.n).toBe(String(subFen));

    // Sales in each currency, and refunds of the HKD and MOP stores as v2 naming their currency.
    const saleCounts = await queryRows<{ currency: string; sales: string }>(client(), 'SELECT currency, toString(uniqExact(sale_id)) AS sales FROM sale_lines FINAL GROUP BY currency ORDER BY currency');
    expect(saleCounts).toEqual(['CNY', ...CURRENCIES].map((c) => ({ currency: c, sales: String(sim.ledger.moneyByCurrency[c]?.sales ?? 0) })));
    for (const c of CURRENCIES) expect(sim.ledger.moneyByCurrency[c]?.sales ?? 0).toBeGreaterThan(100);
    const refundsV2 = new Map<string, { n: number; micros: bigint }>();
    for (const e of events) {
      if (e.type !== 'refund.issued' || !('currency' in e.payload)) continue;
      const sum = refundsV2.get(e.payload.currency) ?? { n: 0, micros: 0n };
      refundsV2.set(e.payload.currency, { n: sum.n + 1, micros: sum.micros + decimalMicros(e.payload.amount) });
    }
    const storedRefunds = await queryRows<{ currency: string; n: string; micros: string }>(
      client(),
      "SELECT currency, toString(count()) AS n, toString(sum(amount_micro)) AS micros FROM return_events FINAL WHERE type = 'refund.issued' AND event_version = 2 GROUP BY currency ORDER BY currency",
    );
    expect(storedRefunds).toEqual([...refundsV2].sort(([a], [b]) => a.localeCompare(b)).map(([currency, s]) => ({ currency, n: String(s.n), micros: s.micros.toString() })));
    for (const c of CURRENCIES) expect(refundsV2.get(c)?.n ?? 0).toBeGreaterThan(10);

    // The day without an HKD rate: the HKD store's money is missing and names the rate; its counts are there.
    const hkdStore = sales.find((e) => e.payload.currency === 'HKD')?.org.store;
    const { values } = await readValues(client(), { grain: 'day', period: NO_HKD_RATE_DAY });
    const named = values.filter((v) => v.missing.includes(`HKD ${NO_HKD_RATE_DAY}`));
    expect(named.length).toBeGreaterThan(0);
    for (const v of named) expect(v).toMatchObject({ value: null, numerator: null });
    const at = (kpi: string): KpiValueRow | undefined => values.find((v) => v.level === 'store' && v.unit === hkdStore && v.kpi === kpi);
    expect(at('net_sales')).toMatchObject({ value: null, missing: [`HKD ${NO_HKD_RATE_DAY}`] });
    expect(at('transactions')?.value).toBeGreaterThan(0);
    expect(at('transactions')?.missing).toEqual([]);
    expect(large.some((e) => e.payload.currency === 'HKD' && e.org.store === hkdStore && e.occurred_at.startsWith(NO_HKD_RATE_DAY))).toBe(true);

    // Exactly the malformed messages went to dead letters, byte for byte.
    const malformed = sim.messages.filter((m) => m.kind === 'malformed').map((m) => m.value.toString('base64')).sort();
    expect(malformed).toHaveLength(sim.ledger.malformed);
    expect(malformed.length).toBeGreaterThan(0);
    const dead = await queryRows<{ payload_base64: string }>(client(), 'SELECT payload_base64 FROM dead_letters FINAL WHERE startsWith(topic, {prefix: String})', { prefix });
    expect(dead.map((d) => d.payload_base64).sort()).toEqual(malformed);
  });
});

import { parsePeriod, previousPeriod, type Grain } from '../../schemas/calendar/index.js';
import { topicNames, type BusinessEvent } from '../../schemas/events/index.js';
import { EVENT_SCHEMAS } from '../../schemas/events/registry.js';
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
import type { SimMessage } from '../../services/simulator/generate.js';
import { publish } from '../../services/simulator/produce.js';
import { Rng } from '../../services/simulator/rng.js';
import { periodSettings, reportLateEvents, restateWorkflowId, startClose } from '../../workflows/client.js';
import type { restatePeriodWorkflow } from '../../workflows/definitions/restate-period.js';
import { startWorker, type WorkerHandle } from '../../workflows/worker.js';
import { testConfig, uniqueName } from '../support/env.js';
import { untilCaughtUp } from '../support/pipeline.js';

/**
 * Real-world money end to end, through Kafka, ingest, ClickHouse and a Temporal close: a
 * 2,000-line wholesale invoice, unit prices of 0.001 in a two-decimal currency, and stores
 * selling and refunding in HKD and MOP next to CNY ones, converted at each business day's
 * imported rate. Expected figures are computed here, independently: BigInt amounts from the
 * events' own decimal strings, each unit's total rounded once to the fen, half away from zero.
 */

const TIME_ZONE = 'Asia/Shanghai';
const STORES = [
  { store: 'S001', region: 'R01', currency: 'CNY' },
  { store: 'S002', region: 'R01', currency: 'HKD' },
  { store: 'S003', region: 'R02', currency: 'MOP' },
  // No minor unit: a v1 price of 1200 is 1,200 yen, not 12.00.
  { store: 'S004', region: 'R02', currency: 'JPY' },
] as const;
const DEPARTMENTS = ['grocery', 'home'] as const;
const BIG_SALE = 'INV-WHOLESALE-1';

/** YYYY-MM-DD of every day from `from` to `to`. */
function days(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** A decimal of up to six places, as a string, from a whole number of micros. */
function decimal(micros: bigint): string {
  const whole = micros / 1_000_000n;
  const fraction = (micros % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** Independent arithmetic: a decimal string → micros, and ISO digits of the three currencies here. */
const micros = (text: string): bigint => {
  const [w = '0', f = ''] = text.split('.');
  return BigInt(w + f.padEnd(6, '0'));
};
const MINOR_MICROS: Record<string, bigint> = { CNY: 10_000n, HKD: 10_000n, MOP: 10_000n, JPY: 1_000_000n };

interface Built {
  events: BusinessEvent[];
  rates: Map<string, string>;
}

/** The month's events: every store sells every day, fine prices and whole ones, refunds in each currency, and the big invoice. */
function build(): Built {
  const rng = new Rng(7, 'money-test', 0);
  const events: BusinessEvent[] = [];
  let n = 0;
  const org = (s: (typeof STORES)[number], department: string) => ({ region: s.region, store: s.store, department, channel: 'store' as const });
  for (const day of days('2026-05-01', '2026-06-02')) {
    for (const s of STORES) {
      for (let i = 0; i < 4; i += 1) {
        n += 1;
        const at = `${day}T${String(9 + i * 2).padStart(2, '0')}:${String(rng.int(0, 59)).padStart(2, '0')}:00+08:00`;
        const department = DEPARTMENTS[i % 2] as string;
        // v1 (minor units) for some CNY and JPY sales; v3 decimals everywhere else, some of 0.001.
        if ((s.currency === 'CNY' || s.currency === 'JPY') && i === 0) {
          events.push({
            event_id: `e-${n}`, type: 'sale.completed', version: 1, occurred_at: at, producer: 'pos', org: org(s, department),
            payload: { sale_id: `sale-${n}`, customer_id: `c-${rng.int(1, 30)}`, currency: s.currency, lines: [{ line_no: 1, sku: 'SKU1', category: 'food', quantity: rng.int(1, 5), unit_price_minor: rng.int(1, 9_999), discount_minor: 0 }] },
          });
          continue;
        }
        const lines = Array.from({ length: rng.int(1, 4) }, (_, k) => {
          const price = k === 0 && i === 1 ? 1_000n : BigInt(rng.int(1, 500_000_000)); // 0.001, or up to 500 units with six decimals
          const quantity = rng.int(1, 20);
          const discount = rng.chance(0.3) ? (BigInt(quantity) * price) / 7n : 0n;
          return { line_no: k + 1, sku: `SKU${k}`, category: 'goods', quantity, unit_price: decimal(price), discount: decimal(discount) };
        });
        events.push({
          event_id: `e-${n}`, type: 'sale.completed', version: 3, occurred_at: at, producer: 'pos', org: org(s, department),
          payload: { sale_id: `sale-${n}`, customer_id: `c-${rng.int(1, 30)}`, currency: s.currency, lines },
        });
      }
      // A refund a day: v1 (reporting currency) at the CNY store, v2 in the store's currency elsewhere.
      n += 1;
      const at = `${day}T20:15:00+08:00`;
      events.push(
        s.currency === 'CNY'
          ? ({ event_id: `e-${n}`, type: 'refund.issued', version: 1, occurred_at: at, producer: 'pos', org: org(s, 'grocery'), payload: { return_id: `r-${n}`, amount_minor: rng.int(1, 5_000) } })
          : ({ event_id: `e-${n}`, type: 'refund.issued', version: 2, occurred_at: at, producer: 'pos', org: org(s, 'grocery'), payload: { return_id: `r-${n}`, amount: decimal(BigInt(rng.int(1, 50_000_000))), currency: s.currency } }),
      );
    }
  }
  // The wholesale invoice: 2,000 lines, prices of 0.001 to 0.009, on 15 May at the CNY store.
  events.push({
    event_id: 'e-big', type: 'sale.completed', version: 3, occurred_at: '2026-05-15T10:30:00+08:00', producer: 'erp', org: org(STORES[0], 'home'),
    payload: {
      sale_id: BIG_SALE, customer_id: 'wholesaler-1', currency: 'CNY',
      // Long Chinese categories make the message larger than the broker's default 1 MiB.
      lines: Array.from({ length: 2_000 }, (_, k) => ({ line_no: k + 1, sku: `BULK-${String(k).padStart(59, '0')}`, category: `散装五金配件${'螺丝钉垫圈'.repeat(22)}套装特`, quantity: 1 + (k % 13), unit_price: `0.00${1 + (k % 9)}`, discount: '0', unit_cost: '0.0005' })),
    },
  });
  // Rates of HKD and MOP for every day, ten decimals at most, except HKD on 2 June.
  const rates = new Map<string, string>();
  for (const day of days('2026-04-30', '2026-06-02')) {
    rates.set(`MOP|${day}`, `0.89${String(rng.int(0, 99_999_999)).padStart(8, '0')}`);
    rates.set(`JPY|${day}`, `0.04${String(rng.int(0, 99_999_999)).padStart(8, '0')}`);
    if (day !== '2026-06-02') rates.set(`HKD|${day}`, `0.9${String(rng.int(0, 999_999_999)).padStart(9, '0')}`);
  }
  return { events, rates };
}

/** The business day of an instant in Shanghai (UTC+8, no daylight saving). */
const businessDay = (iso: string): string => new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 10);

/** Each unit's exact totals, in 10^-16 of a yuan, of net sales and refunds; and what each lacks. */
function expected(events: readonly BusinessEvent[], rates: ReadonlyMap<string, string>, period: { start: string; end: string }) {
  const rateE10 = (currency: string, day: string): bigint | undefined => {
    if (currency === 'CNY') return 10_000_000_000n;
    const r = rates.get(`${currency}|${day}`);
    if (r === undefined) return undefined;
    const [w = '0', f = ''] = r.split('.');
    return BigInt(w + f.padEnd(10, '0'));
  };
  type Acc = { net: bigint; gross: bigint; refunds: bigint; refunded: boolean; sales: Set<string>; missingSales: Set<string>; missingRefunds: Set<string> };
  const units = new Map<string, Acc>();
  const acc = (u: string): Acc => {
    let a = units.get(u);
    if (!a) units.set(u, (a = { net: 0n, gross: 0n, refunds: 0n, refunded: false, sales: new Set(), missingSales: new Set(), missingRefunds: new Set() }));
    return a;
  };
  for (const e of events) {
    const t = Date.parse(e.occurred_at);
    if (t < Date.parse(period.start) || t >= Date.parse(period.end)) continue;
    const unitKeys = [`company|all`, `region|${e.org.region}`, `store|${e.org.store}`, `department|${e.org.department}`, `channel|${e.org.channel}`];
    const day = businessDay(e.occurred_at);
    if (e.type === 'sale.completed') {
      const currency = e.payload.currency;
      const rate = rateE10(currency, day);
      let net = 0n;
      let gross = 0n;
      for (const l of e.payload.lines) {
        const q = BigInt(l.quantity);
        const price = 'unit_price' in l ? micros(l.unit_price) : BigInt(l.unit_price_minor) * (MINOR_MICROS[currency] ?? 0n);
        // A discount left out is 0 (the contract's default).
        const discount = 'unit_price' in l ? micros(l.discount ?? '0') : BigInt(l.discount_minor ?? 0) * (MINOR_MICROS[currency] ?? 0n);
        gross += q * price;
        net += q * price - discount;
      }
      for (const u of unitKeys) {
        const a = acc(u);
        a.sales.add(e.payload.sale_id);
        if (rate === undefined) a.missingSales.add(`${currency} ${day}`);
        else {
          a.net += net * rate;
          a.gross += gross * rate;
        }
      }
    } else if (e.type === 'refund.issued') {
      const currency = 'currency' in e.payload ? e.payload.currency : 'CNY';
      const amount = 'amount' in e.payload ? micros(e.payload.amount) : BigInt(e.payload.amount_minor) * 10_000n;
      const rate = rateE10(currency, day);
      for (const u of unitKeys) {
        const a = acc(u);
        a.refunded = true;
        if (rate === undefined) a.missingRefunds.add(`${currency} ${day}`);
        else a.refunds += amount * rate;
      }
    }
  }
  return units;
}

/** 10^-16 yuan → fen, a half away from zero; then yuan. */
const fen = (x: bigint): bigint => (x >= 0n ? (x + 50_000_000_000_000n) / 100_000_000_000_000n : -((-x + 50_000_000_000_000n) / 100_000_000_000_000n));

describe('money: large invoices, fine prices and several currencies, through the whole pipeline', () => {
  const config = testConfig({ KPI_WORKFLOW_ID_PREFIX: `${uniqueName('money')}.`, KPI_TIME_ZONE: TIME_ZONE, KPI_REPORTING_CURRENCY: 'CNY' });
  const calendar = config.business;
  const prefix = `${uniqueName('money')}.`;
  const names = topicNames(prefix);
  const groupId = uniqueName('money-test');
  const taskQueue = uniqueName('money-queue');
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: uniqueName('money-test') });
  const logger = createLogger({ level: 'warn' });
  const { events, rates } = build();
  let warehouse: Warehouse;
  let ingest: IngestHandle | undefined;
  let worker: WorkerHandle | undefined;
  let temporal: { connection: Connection; client: Client };

  const PERIODS: { grain: Grain; period: string }[] = [
    { grain: 'month', period: '2026-05' },
    { grain: 'day', period: '2026-05-15' },
    { grain: 'day', period: '2026-06-02' },
  ];

  beforeAll(async () => {
    warehouse = await openWarehouse(config.clickhouse);
    await migrate(warehouse.client);
    const messages: SimMessage[] = events.map((event) => {
      const family = EVENT_SCHEMAS[event.type].family;
      const key = (event.payload as Record<string, string>)[EVENT_SCHEMAS[event.type].key] ?? null;
      return { topic: names.families[family].slice(prefix.length), key, value: Buffer.from(JSON.stringify(event)), kind: 'valid', event };
    });
    // The invoice alone is above the broker's default limit per message (1 MiB): the family topic takes it.
    expect(messages.find((m) => m.event?.event_id === 'e-big')?.value.length).toBeGreaterThan(1_048_576);
    await publish(kafka, messages, { topicPrefix: prefix });
    ingest = await startIngest({ kafka, clickhouse: warehouse.client, logger, metrics: createIngestMetrics() }, { topics: names.families, deadLetterTopic: names.deadLetters, groupId });
    await untilCaughtUp(kafka, groupId, Object.values(names.families));
    const csv = ['day,currency,rate', ...[...rates].map(([key, rate]) => `${key.split('|')[1]},${key.split('|')[0]},${rate}`)].join('\n');
    await storeImport(warehouse.client, 'rates', parseImportCsv('rates', csv, calendar), { importedBy: 'finance-test', source: 'money.test.ts', content: csv });

    temporal = await connectTemporal(config.temporal);
    worker = await startWorker(config.temporal, { clickhouse: warehouse.client, scorecards: loadScorecards(config.close), money: moneySettings(calendar) }, { taskQueue });
    const settings = periodSettings(config);
    const handles = await Promise.all(PERIODS.map((p) => startClose(temporal.client, { ...settings, ...p, graceMs: 0, pollMs: 1_000 }, { taskQueue })));
    for (const { handle } of handles) await handle.result();
  }, 240_000);

  afterAll(async () => {
    await ingest?.stop();
    await worker?.shutdown();
    await temporal?.connection.close();
    await warehouse?.close();
    await deleteTopics(kafka, [...Object.values(names.families), names.deadLetters]).catch(() => undefined);
  });

  it('stores a 2,000-line invoice whole, to the last 0.001, and counts it as one transaction', async () => {
    const [stored] = await queryRows<{ lines: string; net: string; dead: string }>(
      warehouse.client,
      "SELECT toString(count()) AS lines, toString(sum(net_micro)) AS net, (SELECT toString(count()) FROM dead_letters) AS dead FROM sale_lines FINAL WHERE sale_id = {id: String}",
      { id: BIG_SALE },
    );
    const invoice = events.find((e) => e.event_id === 'e-big');
    if (invoice?.type !== 'sale.completed' || invoice.version !== 3) throw new Error('the invoice is a v3 sale');
    const exact = invoice.payload.lines.reduce((s, l) => s + BigInt(l.quantity) * micros(l.unit_price), 0n);
    expect(stored).toEqual({ lines: '2000', net: exact.toString(), dead: '0' });

    // On its day, at its store: one transaction more than the day's other sales, and the
    // invoice's sub-fen prices add up before the one rounding.
    const day = parsePeriod('day', '2026-05-15', calendar);
    const want = expected(events, rates, day).get('store|S001');
    const { values } = await readValues(warehouse.client, { grain: 'day', period: '2026-05-15', level: 'store' });
    const s001 = (kpi: string): KpiValueRow | undefined => values.find((v) => v.unit === 'S001' && v.kpi === kpi);
    expect(s001('transactions')?.value).toBe(want?.sales.size);
    expect(want?.sales.has(BIG_SALE)).toBe(true);
    expect(s001('gross_sales')?.numerator).toBe(Number(fen(want?.gross ?? 0n)));
    expect(s001('net_sales')?.numerator).toBe(Number(fen(want?.net ?? 0n) - fen(want?.refunds ?? 0n)));
    expect(s001('average_order_value')?.value).toBeCloseTo(Number(fen(want?.net ?? 0n)) / (want?.sales.size ?? 1) / 100, 9);
  });

  it("converts every store's month at each day's rate: net sales, gross sales and refunds of every unit equal the independent computation", async () => {
    const month = parsePeriod('month', '2026-05', calendar);
    const want = expected(events, rates, month);
    const { values, status } = await readValues(warehouse.client, { grain: 'month', period: '2026-05' });
    expect(status).toBe('closed');
    const wrong: string[] = [];
    let checked = 0;
    for (const [unit, a] of want) {
      const [level, id] = unit.split('|') as [string, string];
      const got = (kpi: string): KpiValueRow | undefined => values.find((v) => v.level === level && v.unit === id && v.kpi === kpi);
      const net = Number(fen(a.net) - fen(a.refunds));
      const checks: [string, number | null | undefined, number | null][] = [
        ['net_sales', got('net_sales')?.numerator, net],
        ['gross_sales', got('gross_sales')?.numerator, Number(fen(a.gross))],
        // A unit without returns has no refunds value at all.
        ['refunds', got('refunds')?.numerator ?? null, a.refunded ? Number(fen(a.refunds)) : null],
        ['transactions', got('transactions')?.value, a.sales.size],
      ];
      for (const [kpi, actual, wanted] of checks) {
        checked += 1;
        if (actual !== wanted) wrong.push(`${unit} ${kpi}: got ${String(actual)}, want ${wanted}`);
      }
      expect(got('net_sales')?.value).toBeCloseTo(net / 100, 6);
      expect(got('net_sales')?.missing).toEqual([]);
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(20);
    // The HKD store counts in yuan (a rate near 0.9), not in its own currency's sums.
    let hkd = 0n;
    for (const e of events) {
      const t = Date.parse(e.occurred_at);
      if (e.org.store !== 'S002' || e.type !== 'sale.completed' || t < Date.parse(month.start) || t >= Date.parse(month.end)) continue;
      for (const l of e.payload.lines) if ('unit_price' in l) hkd += BigInt(l.quantity) * micros(l.unit_price);
    }
    const s002 = values.find((v) => v.level === 'store' && v.unit === 'S002' && v.kpi === 'gross_sales');
    expect(Number(hkd / 10_000n)).toBeGreaterThan(100_000);
    expect(s002?.numerator).toBeLessThan(Number(hkd / 10_000n) * 0.95);
  });

  it('leaves a value that needs a missing rate missing, names the rate, and never sums it unconverted', async () => {
    const { values } = await readValues(warehouse.client, { grain: 'day', period: '2026-06-02' });
    const get = (level: string, unit: string, kpi: string): KpiValueRow | undefined => values.find((v) => v.level === level && v.unit === unit && v.kpi === kpi);
    for (const [level, unit] of [['store', 'S002'], ['region', 'R01'], ['company', 'all'], ['department', 'grocery']] as const) {
      expect(get(level, unit, 'net_sales')).toMatchObject({ value: null, numerator: null, missing: ['HKD 2026-06-02'] });
      expect(get(level, unit, 'gross_sales')).toMatchObject({ value: null, missing: ['HKD 2026-06-02'] });
    }
    // What needs no HKD rate is there: the other stores' money, and the HKD store's counts.
    const want = expected(events, rates, parsePeriod('day', '2026-06-02', calendar));
    const mop = want.get('store|S003');
    expect(get('store', 'S003', 'net_sales')).toMatchObject({ numerator: Number(fen(mop?.net ?? 0n) - fen(mop?.refunds ?? 0n)), missing: [] });
    expect(get('store', 'S001', 'net_sales')?.missing).toEqual([]);
    expect(get('store', 'S002', 'transactions')).toMatchObject({ value: want.get('store|S002')?.sales.size, missing: [] });
    expect(get('region', 'R02', 'net_sales')?.value).not.toBeNull();
    // The previous day had every rate.
    expect(previousPeriod(parsePeriod('day', '2026-06-02', calendar), calendar).id).toBe('2026-06-01');
  });

  it('fills the missing value once the rate is imported and the day restated, as a new audited revision', async () => {
    const csv = 'day,currency,rate,to\n2026-06-02,HKD,0.9187654321,CNY\n';
    const receipt = await storeImport(warehouse.client, 'rates', parseImportCsv('rates', csv, calendar), { importedBy: 'finance-test', source: 'late HKD rate', content: csv });
    expect(receipt).toMatchObject({ kind: 'rates', rows: 1, importedBy: 'finance-test' });
    const input = { ...periodSettings(config), grain: 'day' as const, period: '2026-06-02', debounceMs: 0, lateEvents: 0, actor: 'finance-test', reason: 'HKD rate of 2026-06-02 imported' };
    await reportLateEvents(temporal.client, input, 0, { taskQueue });
    const result = await temporal.client.workflow.getHandle<typeof restatePeriodWorkflow>(restateWorkflowId(config.close.idPrefix, 'day', '2026-06-02')).result();
    expect(result).toMatchObject({ revision: 2, previous: 1 });
    const complete = new Map([...rates, ['HKD|2026-06-02', '0.9187654321']]);
    const want = expected(events, complete, parsePeriod('day', '2026-06-02', calendar));
    const { values, revision } = await readValues(warehouse.client, { grain: 'day', period: '2026-06-02' });
    expect(revision).toBe(2);
    for (const unit of ['store|S002', 'region|R01', 'company|all']) {
      const [level, id] = unit.split('|');
      const a = want.get(unit);
      expect(values.find((v) => v.level === level && v.unit === id && v.kpi === 'net_sales')).toMatchObject({ numerator: Number(fen(a?.net ?? 0n) - fen(a?.refunds ?? 0n)), missing: [] });
    }
    const [audit] = await queryRows<{ reason: string }>(warehouse.client, "SELECT reason FROM period_revisions FINAL WHERE grain = 'day' AND period = '2026-06-02' AND revision = 2");
    expect(audit?.reason).toBe('HKD rate of 2026-06-02 imported');
  });
});

import { insertRows, openWarehouse, queryRows, type Warehouse } from '../../services/shared/clickhouse.js';
import { moneySettings } from '../../services/shared/config.js';
import { migrate } from '../../services/shared/migrations.js';
import { FAMILY_TABLES, eventRows } from '../../services/ingest/rows.js';
import { createDayPartials, type DayPartials } from '../../services/periods/day-partials.js';
import { generateEvents } from '../../services/simulator/generate.js';
import { parsePeriod, type Period } from '../../schemas/calendar/index.js';
import { EVENT_SCHEMAS, type BusinessEvent } from '../../schemas/events/index.js';
import { KPI_IDS } from '../../schemas/kpis/catalog.js';
import { LEVELS, compileKpis } from '../../schemas/kpis/compile.js';
import { testConfig } from '../support/env.js';

/**
 * Day partials on the real engine: whatever range of business days is merged, every event
 * KPI of every unit at every level equals the same KPI computed from the events themselves
 * — across a DST change, after late events, after duplicates and replays, and after an
 * order's placement arrives late and changes the day it was delivered on.
 */
describe('day partials: merged over any range, equal to the events', () => {
  // New York: clocks go forward on 2026-03-08, a 23-hour business day.
  const config = testConfig({ KPI_TIME_ZONE: 'America/New_York', KPI_REPORTING_CURRENCY: 'USD' });
  const calendar = config.business;
  const money = moneySettings(config.business);
  const DAY_MS = 86_400_000;
  const SLICE_MS = 15 * 60_000;
  let warehouse: Warehouse;
  let partials: DayPartials;

  const sim = generateEvents({ from: '2026-03-02', to: '2026-03-12', stores: 4, regions: 2, seed: 21, scale: 0.25, timeZone: calendar.timeZone, reportingCurrency: 'USD', currencies: ['CAD'], notAfterMs: Date.parse('2026-04-01T00:00:00Z') });
  const events = sim.messages.filter((m) => m.kind === 'valid' && m.event).map((m) => m.event as BusinessEvent);
  const dayOf = (e: BusinessEvent): string => new Intl.DateTimeFormat('en-CA', { timeZone: calendar.timeZone }).format(new Date(e.occurred_at));
  // Held back at first: one store's sales of 5 March (late events), and the placement of an
  // order delivered on another day (a late event of an entity whose lifecycle spans days).
  const heldStore = events.find((e) => e.type === 'sale.completed')?.org.store;
  const orderOf = (e: BusinessEvent): string => String((e.payload as { order_id?: string }).order_id);
  const delivered = new Map(events.filter((e) => e.type === 'order.delivered').map((e) => [orderOf(e), dayOf(e)]));
  const latePlacement = events.find((e) => e.type === 'order.placed' && delivered.has(orderOf(e)) && delivered.get(orderOf(e)) !== dayOf(e) && dayOf(e) >= '2026-03-03');
  const isHeld = (e: BusinessEvent): boolean => e === latePlacement || (e.type === 'sale.completed' && e.org.store === heldStore && dayOf(e) === '2026-03-05');

  /** Stores events as ingest does: their rows, then their arrivals per 15-minute slice. */
  async function store(batch: BusinessEvent[]): Promise<void> {
    const byTable = new Map<string, Record<string, unknown>[]>();
    const slices = new Map<string, number>();
    for (const [i, e] of batch.entries()) {
      const table = FAMILY_TABLES[EVENT_SCHEMAS[e.type].family];
      byTable.set(table, [...(byTable.get(table) ?? []), ...eventRows(e, { partition: 0, offset: String(i) })]);
      const ms = Date.parse(e.occurred_at);
      const slice = new Date(ms - (ms % SLICE_MS)).toISOString().replace('T', ' ').slice(0, 19);
      slices.set(slice, (slices.get(slice) ?? 0) + 1);
    }
    for (const [table, rows] of byTable) await insertRows(warehouse.client, table, rows);
    await insertRows(warehouse.client, 'arrivals', [...slices].map(([slice, n]) => ({ slice, events: n })));
  }

  /** The calendar day `n` days after a YYYY-MM-DD day. */
  const plus = (day: string, n: number): string => new Date(Date.parse(`${day}T12:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);

  /** A run of whole business days as a period (its id only names it), and the run before it. */
  function days(first: string, count: number): { period: Period; previous: Pick<Period, 'start'> } {
    const start = parsePeriod('day', first, calendar).start;
    const end = parsePeriod('day', plus(first, count - 1), calendar).end;
    return { period: { grain: 'week', id: `${first}+${count}`, start, end }, previous: { start: parsePeriod('day', plus(first, -count), calendar).start } };
  }

  /** Every KPI of every unit and level, from the events and from the refreshed partials. */
  async function bothWays(range: { period: Period; previous: Pick<Period, 'start'> }): Promise<{ events: unknown[]; partials: unknown[] }> {
    await partials.refresh({ start: range.previous.start, end: range.period.end, ...money });
    const run = async (from: 'events' | 'partials'): Promise<unknown[]> => {
      const q = compileKpis({ kpis: KPI_IDS, period: range.period, previous: range.previous, levels: LEVELS, money, from });
      // JSON shows NaN as null: the values that are NaN are listed by name.
      const nan = await queryRows<{ kpi: string }>(warehouse.client, `SELECT concat(kpi, ' ', level, ' ', unit) AS kpi FROM (${q.sql}) WHERE isNaN(value) OR isNaN(numerator) OR isNaN(denominator)`, q.params);
      return [...(await queryRows(warehouse.client, q.sql, q.params)), { nan: nan.map((r) => r.kpi) }];
    };
    return { events: await run('events'), partials: await run('partials') };
  }

  const RANGES: [string, string, number][] = [
    ['the DST day (23 hours)', '2026-03-08', 1],
    ['an ordinary day', '2026-03-04', 1],
    ['three days across the DST change', '2026-03-07', 3],
    ['a week with the held-back day', '2026-03-02', 7],
    ['eleven days', '2026-03-02', 11],
  ];

  beforeAll(async () => {
    warehouse = await openWarehouse(config.clickhouse);
    await migrate(warehouse.client);
    partials = createDayPartials(warehouse.client, { supersededGraceMs: 0 });
    await store(events.filter((e) => !isHeld(e)));
    // Rates for the days of the first week; later CAD days lack one and name it.
    const rates = Array.from({ length: 7 }, (_, i) => ({ day: `2026-03-0${i + 1}`, currency: 'CAD', to_currency: 'USD', rate: '0.7312500000', import_id: 'rates-1', imported_at: '2026-03-20 00:00:00.000' }));
    await insertRows(warehouse.client, 'fx_rates', rates);
    await insertRows(warehouse.client, 'imports', [{ import_id: 'rates-1', kind: 'rates', imported_by: 'test', imported_at: '2026-03-20 00:00:00.000', source: 'rates.csv', sha256: '', rows: rates.length }]);
  }, 120_000);

  afterAll(async () => {
    await warehouse.close();
  });

  it('held back a store-day of sales and an order placement delivered on another day', () => {
    expect(heldStore).toBeDefined();
    expect(latePlacement).toBeDefined();
    expect(events.filter(isHeld).length).toBeGreaterThan(5);
  });

  it.each(RANGES)('%s: every KPI of every unit equals the events', async (_name, first, count) => {
    const got = await bothWays(days(first, count));
    expect(got.events.length).toBeGreaterThan(100);
    expect(got.partials).toEqual(got.events);
  }, 120_000);

  it('computes each day once: a fresh range recomputes nothing', async () => {
    const range = days('2026-03-02', 11);
    const again = await partials.refresh({ start: range.previous.start, end: range.period.end, ...money });
    expect(again.computed).toEqual([]);
    expect(again.days).toBe(22);
  });

  it('late events recompute the days they fall on, and the days an entity they belong to counts on', async () => {
    const range = days('2026-03-02', 11);
    const before = await bothWays(range);
    await store(events.filter(isHeld));
    const placedDay = dayOf(latePlacement as BusinessEvent);
    const deliveredDay = delivered.get(orderOf(latePlacement as BusinessEvent));
    const refresh = await partials.refresh({ start: range.previous.start, end: range.period.end, ...money });
    expect(refresh.computed).toEqual(expect.arrayContaining(['2026-03-05', placedDay, String(deliveredDay)]));
    expect(refresh.computed.length).toBeLessThan(8);
    expect(refresh.entities).toBeGreaterThan(0);
    const after = await bothWays(range);
    expect(after.partials).toEqual(after.events);
    expect(after.events).not.toEqual(before.events);
  }, 120_000);

  it('duplicates and replays change nothing: the days are recomputed and read once', async () => {
    const range = days('2026-03-02', 11);
    const before = await bothWays(range);
    // The same events again (a producer's duplicates, a replayed batch), with their arrivals.
    await store(events.filter((e) => dayOf(e) === '2026-03-09' || dayOf(e) === '2026-03-03'));
    const refresh = await partials.refresh({ start: range.previous.start, end: range.period.end, ...money });
    expect(refresh.computed).toEqual(expect.arrayContaining(['2026-03-03', '2026-03-09']));
    const after = await bothWays(range);
    expect(after.partials).toEqual(after.events);
    expect(after.partials).toEqual(before.partials);
  }, 120_000);

  it('says as of when: each value carries the newest event time of its sources at the unit', async () => {
    const range = days('2026-03-02', 11);
    const got = (await bothWays(range)).partials as { level: string; unit: string; kpi: string; as_of: string | null }[];
    const start = Date.parse(range.period.start);
    const end = Date.parse(range.period.end);
    const newest = (families: string[], store?: string): number =>
      Math.max(...events.filter((e) => families.includes(EVENT_SCHEMAS[e.type].family) && (store === undefined || e.org.store === store) && Date.parse(e.occurred_at) >= start && Date.parse(e.occurred_at) < end).map((e) => Date.parse(e.occurred_at)));
    const asOf = (kpi: string, level: string, unit: string): number => Date.parse(`${String(got.find((v) => v.kpi === kpi && v.level === level && v.unit === unit)?.as_of).replace(' ', 'T')}Z`);
    // Net sales read sales and returns; tickets opened read ticket events.
    expect(asOf('net_sales', 'company', 'all')).toBe(newest(['sales', 'returns']));
    expect(asOf('net_sales', 'store', String(heldStore))).toBe(newest(['sales', 'returns'], heldStore));
    expect(asOf('tickets_opened', 'company', 'all')).toBe(newest(['tickets']));
    expect(got.find((v) => v.kpi === 'staff_turnover_rate')).toBeUndefined();
  }, 120_000);

  it('keeps one version of each day once superseded versions are past their grace', async () => {
    const [versions] = await queryRows<{ days: string; versions: string; stale_rows: string }>(
      warehouse.client,
      'SELECT toString(uniqExact(day)) AS days, toString(count()) AS versions, toString((SELECT count() FROM kpi_day_partials WHERE (day, read_at) NOT IN (SELECT day, read_at FROM kpi_partial_days))) AS stale_rows FROM kpi_partial_days',
    );
    expect(Number(versions?.versions)).toBe(Number(versions?.days));
    expect(versions?.stale_rows).toBe('0');
  });
});

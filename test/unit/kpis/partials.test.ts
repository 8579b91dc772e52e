import { KPI_IDS } from '../../../schemas/kpis/catalog.js';
import { LEVELS, compileKpis } from '../../../schemas/kpis/compile.js';
import { MEASURES, type Measure } from '../../../schemas/kpis/measures.js';
import { PARTIAL_SOURCES, dayPartialStatements, partialKind, partialRows, tupleMergeSql } from '../../../schemas/kpis/partials.js';
import { parsePeriod, previousPeriod } from '../../../schemas/calendar/index.js';

const calendar = { timeZone: 'Asia/Shanghai', fiscalYearStartMonth: 1 };
const money = { reportingCurrency: 'CNY', timeZone: 'Asia/Shanghai' };
const measures = Object.entries(MEASURES as Record<string, Measure>);

describe('day partials', () => {
  it('keep every measure of every event source, each where its kind is merged from', () => {
    const statements = new Map(dayPartialStatements().map((s) => [s.source, s.sql]));
    expect([...statements.keys()]).toEqual([...PARTIAL_SOURCES]);
    for (const [id, m] of measures) {
      if (m.source === 'targets' || m.source === 'inputs') continue;
      const sql = statements.get(m.source);
      if (m.source === 'customers' || m.source === 'members') {
        // Buyer measures are formed per unit from each buyer's merged distinct sales.
        expect(sql).toContain("map('sales', groupUniqArray(sale_id))");
        continue;
      }
      expect(sql).toContain(m.money ? `'${id}__t'` : `'${id}'`);
      expect(tupleMergeSql(id, m)).toContain(`${partialKind(m)}['${id}']`);
    }
  });

  it('count orders and tickets on the day of each step, with no period bound left in their statements', () => {
    for (const s of dayPartialStatements()) {
      expect(s.sql).not.toMatch(/\{p_(start|end|prev_start)\b/);
      expect(s.sql).toMatch(/^INSERT INTO kpi_day_partials /);
      if (s.source === 'orders' || s.source === 'tickets') expect(s.sql).toContain('day_start');
    }
    const orders = dayPartialStatements().find((s) => s.source === 'orders')?.sql ?? '';
    expect(orders).toContain('(placed_at >= day_start AND placed_at < day_end)');
  });

  it('read duplicates once: event tables with FINAL, distinct values as sets', () => {
    const bySource = new Map(dayPartialStatements().map((s) => [s.source, s.sql]));
    expect(bySource.get('sales')).toContain('FROM sale_lines FINAL');
    expect(bySource.get('returns')).toContain('FROM return_events FINAL');
    expect(bySource.get('ticket_events')).toContain('FROM ticket_events FINAL');
    expect(bySource.get('sales')).toContain("'sales_transactions', groupUniqArray(toString(sale_id))");
  });

  it('refuse a measure that picks the latest import', () => {
    expect(() => partialKind(MEASURES.target_net_sales_minor as Measure)).toThrow(/latest import/);
  });

  it('are read as the newest version of each day, under the time zone and reporting currency', () => {
    const sql = partialRows('sales', 'toDate(0)', 'toDate(1)');
    expect(sql).toContain("source = 'sales'");
    expect(sql).toContain('time_zone = {p_time_zone: String} AND reporting_currency = {p_reporting: String}');
    expect(sql).toContain('(day, read_at) IN (SELECT day, max(read_at) FROM kpi_partial_days');
  });

  it('make a close read no event table but the first purchases', () => {
    const period = parsePeriod('quarter', '2026-Q2', calendar);
    const q = compileKpis({ kpis: KPI_IDS, period, previous: previousPeriod(period, calendar), levels: LEVELS, money, from: 'partials' });
    for (const table of ['sale_lines', 'order_events', 'return_events', 'ticket_events']) expect(q.sql).not.toMatch(new RegExp(`FROM ${table}\\b`));
    expect(q.sql).toContain('kpi_day_partials');
    expect(q.sql).toContain('customer_first_purchases');
    const direct = compileKpis({ kpis: KPI_IDS, period, previous: previousPeriod(period, calendar), levels: LEVELS, money });
    expect(direct.sql).toMatch(/FROM sale_lines FINAL/);
    expect(direct.sql).not.toContain('kpi_day_partials');
  });
});

import { KPIS, KPI_IDS, kpiById } from '../../../schemas/kpis/catalog.js';
import { LEVELS, compileKpi, compileKpis, kpiGroups } from '../../../schemas/kpis/compile.js';
import { MEASURES } from '../../../schemas/kpis/measures.js';
import { parsePeriod, previousPeriod } from '../../../schemas/calendar/index.js';

const calendar = { timeZone: 'Asia/Shanghai', fiscalYearStartMonth: 1 };
const period = parsePeriod('month', '2026-07', calendar);
const previous = previousPeriod(period, calendar);
const money = { reportingCurrency: 'CNY', timeZone: 'Asia/Shanghai' };

describe('KPI catalog', () => {
  it('gives every KPI a unique id, Chinese and English labels, a unit, a direction and a definition', () => {
    expect(new Set(KPI_IDS).size).toBe(KPIS.length);
    for (const k of KPIS) {
      expect(k.id).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(k.zh).toMatch(/[\u4e00-\u9fff]/);
      expect(k.en.length).toBeGreaterThan(2);
      expect(['higher', 'lower']).toContain(k.direction);
      expect(k.definition.length).toBeGreaterThan(20);
    }
  });

  it('has the headline KPIs under the ids the CLI reports', () => {
    for (const id of ['net_sales', 'on_time_delivery_rate', 'return_rate', 'complaint_rate', 'csat', 'first_response_time', 'sales_attainment']) expect(kpiById(id).kind).toBe('event');
    for (const id of ['staff_turnover_rate', 'account_accuracy', 'operating_cost_ratio', 'project_delivery_delay', 'product_knowledge']) expect(kpiById(id).kind).toBe('manual');
  });

  it('uses every measure, and only measures it knows', () => {
    const used = new Set(KPIS.flatMap((k) => (k.kind === 'event' ? [...k.formula.numerator, ...(k.formula.denominator ?? []), ...(k.formula.statistic ? [k.formula.statistic] : [])] : [])).map((t) => t.replace(/^-/, '')));
    expect([...used].filter((m) => !(m in MEASURES))).toEqual([]);
    expect(Object.keys(MEASURES).filter((m) => !used.has(m))).toEqual([]);
  });

  it('refuses an unknown KPI by name, listing the known ones', () => {
    expect(() => kpiById('revenue')).toThrow(/unknown KPI "revenue"; known: gross_sales, net_sales/);
  });
});

describe('compileKpis', () => {
  it('binds the period as parameters and never inlines a value', () => {
    const q = compileKpi('net_sales', period, previous, 'store', money);
    expect(q.params).toMatchObject({ p_start: '2026-06-30 16:00:00.000', p_end: '2026-07-31 16:00:00.000', p_grain: 'month', p_period: '2026-07', p_levels: ['store'], p_reporting: 'CNY', p_time_zone: 'Asia/Shanghai' });
    expect(q.sql).toContain("{p_start: DateTime64(3, 'UTC')}");
    expect(q.sql).not.toContain('2026');
    expect(q.columns).toEqual(['level', 'unit', 'parent', 'kpi', 'numerator', 'denominator', 'value', 'missing', 'as_of']);
  });

  it('scans only the sources the KPIs asked for draw on', () => {
    const sql = compileKpi('on_time_delivery_rate', period, previous, 'region', money).sql;
    expect(sql).toContain('FROM order_events');
    expect(sql).not.toMatch(/sale_lines|return_events|ticket_events|kpi_targets/);
    const net = compileKpi('net_sales', period, previous, 'company', money).sql;
    expect(net).toContain('sale_lines FINAL');
    expect(net).toContain('return_events FINAL');
    expect(net).not.toContain('order_events');
  });

  it('fans rows out to the levels asked for and no others', () => {
    const sql = compileKpis({ kpis: ['units_sold'], period, previous, levels: ['store', 'channel'], money }).sql;
    expect(sql).toContain("('store', toString(store), toString(region))");
    expect(sql).toContain("('channel', toString(channel)");
    expect(sql).not.toContain("('region',");
  });

  it('produces one statement for all KPIs and levels at once', () => {
    const q = compileKpis({ kpis: KPI_IDS, period, previous, levels: LEVELS, money });
    expect(q.sql.split(';')).toHaveLength(1);
    for (const id of KPI_IDS) expect(q.sql).toContain(`tuple('${id}'`);
  });

  it('converts money at the business day\'s rate into the reporting currency, rounds each total once, and names what is missing', () => {
    const q = compileKpi('net_sales', period, previous, 'store', { reportingCurrency: 'HKD', timeZone: 'Asia/Hong_Kong' });
    expect(q.params).toMatchObject({ p_reporting: 'HKD', p_time_zone: 'Asia/Hong_Kong' });
    // Groups by currency and business day, joins the rates in force, and keeps the day of a missing rate.
    expect(q.sql).toContain('GROUP BY region, store, department, channel, fx_currency, fx_day');
    expect(q.sql).toContain('FROM fx_rates WHERE to_currency = {p_reporting: String}');
    expect(q.sql).toContain("toDate(occurred_at, {p_time_zone: String})");
    expect(q.sql).toContain("[concat(fx_currency, ' ', toString(fx_day))]");
    expect(q.sql).toContain('intDiv(');
    expect(q.sql).toContain('k.6 AS missing');
    expect(q.sql).not.toMatch(/HKD|Hong_Kong/);
    // KPIs without money carry an empty list and no conversion.
    const units = compileKpi('units_sold', period, previous, 'store', money).sql;
    expect(units).not.toContain('fx_rates');
    expect(units).toContain("CAST([], 'Array(String)')");
  });

  it('refuses empty and unknown requests', () => {
    expect(() => compileKpis({ kpis: [], period, previous, levels: ['store'], money })).toThrow(/no KPI/);
    expect(() => compileKpis({ kpis: ['net_sales'], period, previous, levels: [], money })).toThrow(/no level/);
    expect(() => compileKpis({ kpis: ['net_sales'], period, previous, levels: ['galaxy' as never], money })).toThrow(/unknown level "galaxy"/);
  });
});

describe('kpiGroups', () => {
  it('puts every KPI in exactly one group, and KPIs that share a source in the same one', () => {
    const groups = kpiGroups(KPI_IDS);
    expect(groups.flat().sort()).toEqual([...KPI_IDS].sort());
    const groupOf = (id: string): number => groups.findIndex((g) => g.includes(id));
    // net sales, attainment and the return rate all read sales and returns
    expect(groupOf('sales_attainment')).toBe(groupOf('net_sales'));
    expect(groupOf('return_rate')).toBe(groupOf('net_sales'));
    // complaints are counted against orders placed
    expect(groupOf('complaint_rate')).toBe(groupOf('on_time_delivery_rate'));
    expect(groupOf('staff_turnover_rate')).not.toBe(groupOf('net_sales'));
    expect(groups.length).toBeGreaterThanOrEqual(4);
  });

  it('is deterministic: workflows replay it', () => {
    expect(kpiGroups(KPI_IDS)).toEqual(kpiGroups(KPI_IDS));
  });
});

import { KPIS, KPI_IDS } from '../../../schemas/kpis/catalog.js';
import { LEVELS, childLevels, compileKpiEvents, compileKpis, type KpiEventsRequest } from '../../../schemas/kpis/compile.js';
import { MEASURES, aggregateSql, type Measure } from '../../../schemas/kpis/measures.js';
import { parsePeriod, previousPeriod } from '../../../schemas/calendar/index.js';

const calendar = { timeZone: 'Asia/Shanghai', fiscalYearStartMonth: 1 };
const period = parsePeriod('quarter', '2026-Q3', calendar);
const previous = previousPeriod(period, calendar);
const money = { reportingCurrency: 'CNY', timeZone: 'Asia/Shanghai' };
const ask = (over: Partial<KpiEventsRequest> = {}): KpiEventsRequest => ({ kpi: 'net_sales', period, previous, level: 'company', unit: 'all', page: { number: 1, size: 50 }, money, ...over });
const measures = Object.values(MEASURES) as Measure[];

describe('measures: one row-level definition', () => {
  it('derives every aggregate the close runs from the measure as rows', () => {
    for (const m of measures) expect(m.sql).toBe(aggregateSql(m.row));
    const close = compileKpis({ kpis: KPI_IDS, period, previous, levels: LEVELS, money }).sql;
    for (const m of measures) expect(close).toContain(m.sql);
  });
});

describe('compileKpiEvents', () => {
  it('binds the period, unit, page and late instant as parameters and never inlines a value', () => {
    const q = compileKpiEvents(ask({ level: 'region', unit: "R01' OR 1=1", page: { number: 3, size: 20 }, lateAfter: '2026-10-01T02:00:00Z' }));
    expect(q.params).toMatchObject({
      p_start: '2026-06-30 16:00:00.000',
      p_end: '2026-09-30 16:00:00.000',
      p_prev_start: '2026-03-31 16:00:00.000',
      p_grain: 'quarter',
      p_period: '2026-Q3',
      p_level: 'region',
      p_unit: "R01' OR 1=1",
      p_limit: 20,
      p_offset: 40,
      p_late_after: '2026-10-01 02:00:00.000',
    });
    for (const sql of [q.page, q.totals]) {
      expect(sql).not.toMatch(/2026|R01|OR 1=1/);
      expect(sql).toContain('toString(region) = {p_unit: String}');
      expect(sql).toContain("{p_late_after: DateTime64(3, 'UTC')}");
    }
    expect(q.page).toContain('LIMIT {p_limit: UInt32} OFFSET {p_offset: UInt64}');
    expect(q.totals).not.toContain('LIMIT');
  });

  it('lists the rows of the sources the close reads, deduplicated as the close reads them, with each term signed', () => {
    const q = compileKpiEvents(ask());
    expect(q.page).toContain('FROM sale_lines FINAL WHERE');
    expect(q.page).toContain('FROM return_events FINAL WHERE');
    expect(q.page).not.toMatch(/order_events|ticket_events|kpi_targets/);
    // net_sales = sales_net_minor − returns_refund_minor; no denominator.
    // Money: each row's exact amount (micros, from minor units where the event has no decimals) at the row's rate, in hundredths.
    expect(q.page).toContain("CAST(toFloat64(toFloat64(ifNull(net_micro, toInt128(net_minor) * transform(currency, ['BHD'");
    expect(q.page).toContain(' * fx_rate) / 1e14), \'Nullable(Float64)\') AS e_num');
    expect(q.page).toMatch(/CAST\(- toFloat64\(if\(type = 'refund\.issued', toFloat64\(ifNull\(amount_micro, toInt128\(amount_minor\) \* transform\(if\(currency = '', \{p_reporting: String\}, currency\)/);
    expect(q.page).toContain("CAST(NULL, 'Nullable(Float64)') AS e_den");
    expect(q.page).toContain("toString('all') = {p_unit: String}");
    // Arrival: the first copy of each event, so a replayed duplicate is not late.
    expect(q.page).toContain('min(ingested_at) AS first_at');
  });

  it('uses the very measure text of the close for every event KPI', () => {
    for (const kpi of KPIS) {
      if (kpi.kind !== 'event') continue;
      const sql = compileKpiEvents(ask({ kpi: kpi.id })).page;
      const ids = [...kpi.formula.numerator, ...(kpi.formula.denominator ?? []), ...(kpi.formula.statistic ? [kpi.formula.statistic] : [])].map((t) => t.replace(/^-/, ''));
      for (const id of ids) {
        const m = (MEASURES as Record<string, Measure>)[id] as Measure;
        if (m.row.when) expect(sql).toContain(m.row.when);
        if (m.row.of && m.row.agg !== 'latest') expect(sql).toContain(m.row.of);
        if (m.row.agg === 'latest') expect(sql).toContain(m.sql);
      }
    }
  });

  it('lists a distinct count once per key', () => {
    const q = compileKpiEvents(ask({ kpi: 'average_order_value' }));
    expect(q.page).toContain("'distinct sale_id' AS e_type");
    expect(q.page).toContain('GROUP BY sale_id');
    // Lines carry the numerator, the distinct sales the denominator.
    expect(q.page).toContain("'sale.completed'");
  });

  it('gives a percentile its rows and takes their quantile with the KPI’s own aggregate', () => {
    const q = compileKpiEvents(ask({ kpi: 'order_cycle_time_p90', level: 'store', unit: 'S001' }));
    expect(q.page).toContain('FROM order_events');
    expect(q.page).toContain("CAST(NULL, 'Nullable(Float64)') AS e_num");
    expect(q.page).toContain('toUnixTimestamp64Milli(delivered_at) - toUnixTimestamp64Milli(placed_at)) / 3600000, NULL)');
    expect(q.totals).toContain('quantileExactIf(0.9)(e_stat, isNotNull(e_stat))');
    expect(q.page).toContain('toString(store) = {p_unit: String}');
  });

  it('gives an attainment its target row, picked as the close picks it', () => {
    const q = compileKpiEvents(ask({ kpi: 'sales_attainment', level: 'region', unit: 'R01' }));
    expect(q.page).toContain("argMaxIf(round(value * 100), (imported_at, import_id), kpi = 'net_sales')");
    expect(q.page).toContain('FROM kpi_targets WHERE grain = {p_grain: String} AND period = {p_period: String} AND level = {p_level: String} AND unit = {p_unit: String} AND import_id IN (SELECT import_id FROM imports)');
  });

  it('lists a manual KPI as the import in force', () => {
    const q = compileKpiEvents(ask({ kpi: 'staff_turnover_rate', level: 'store', unit: 'S001' }));
    expect(q.page).toContain('FROM kpi_inputs');
    expect(q.page).toContain("argMaxIf(numerator, (imported_at, import_id), kpi = 'staff_turnover_rate')");
  });

  it('pages the late rows alone when asked, and marks none late before a close', () => {
    expect(compileKpiEvents(ask({ lateAfter: '2026-10-01T00:00:00Z', lateOnly: true })).page).toContain('WHERE e_late = 1');
    const open = compileKpiEvents(ask());
    expect(open.page).toContain('toUInt8(0) AS e_late');
    expect(open.params).not.toHaveProperty('p_late_after');
  });

  it('refuses unknown KPIs and levels and pages that cannot be', () => {
    expect(() => compileKpiEvents(ask({ kpi: 'revenue' }))).toThrow(/unknown KPI "revenue"/);
    expect(() => compileKpiEvents(ask({ level: 'galaxy' as never }))).toThrow(/unknown level "galaxy"/);
    expect(() => compileKpiEvents(ask({ page: { number: 0, size: 50 } }))).toThrow(/page/);
    expect(() => compileKpiEvents(ask({ page: { number: 1, size: 1.5 } }))).toThrow(/page/);
  });

  it('names the children of a level as kpi_values.parent does', () => {
    expect(childLevels('company')).toEqual(['region', 'department', 'channel']);
    expect(childLevels('region')).toEqual(['store']);
    expect(childLevels('store')).toEqual([]);
  });
});

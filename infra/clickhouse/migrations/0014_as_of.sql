-- As of: every KPI value records the newest event time it includes, so a provisional value
-- says how recent the events behind it are, and the day partials keep it per row.

ALTER TABLE kpi_day_partials
    ADD COLUMN IF NOT EXISTS newest Nullable(DateTime64(3, 'UTC')) COMMENT 'The newest event time of the rows (for an order or ticket, its newest event)';

ALTER TABLE kpi_values
    ADD COLUMN IF NOT EXISTS as_of Nullable(DateTime64(3, 'UTC')) COMMENT 'The newest event time the value includes; NULL for an imported value or one computed before this column existed';

CREATE OR REPLACE VIEW v_kpi_values
(
    grain         LowCardinality(String) COMMENT 'day, week, month, quarter or year',
    period        String COMMENT 'Period id: 2026-07-15, 2026-W29, 2026-07, 2026-Q3 or 2026',
    period_start  DateTime64(3, 'UTC') COMMENT 'First instant of the period: local midnight in KPI_TIME_ZONE, as UTC',
    period_end    DateTime64(3, 'UTC') COMMENT 'First instant after the period',
    revision      UInt32 COMMENT 'The current revision of the period (as kpi values shows it), or 0 for the provisional values of a period not closed yet',
    status        LowCardinality(String) COMMENT 'provisional (revision 0, refreshed while the period is open), closed or approved',
    kpi           LowCardinality(String) COMMENT 'KPI id (kpi kpis lists them)',
    label_zh      String COMMENT 'Chinese label of the KPI',
    label_en      String COMMENT 'English label of the KPI',
    value_unit    LowCardinality(String) COMMENT 'Unit of value: money (in the reporting currency, KPI_REPORTING_CURRENCY; CNY by default), ratio (0.25 is 25%), hours, count, score or days',
    level         LowCardinality(String) COMMENT 'company, region, store, department or channel',
    unit          String COMMENT 'The unit at that level: all for the company, else a region, store, department or channel id',
    parent        String COMMENT 'The unit above: the region of a store, all for a region, department or channel, empty for the company',
    value         Nullable(Float64) COMMENT 'numerator ÷ denominator × scale, in value_unit; NULL means missing (nothing to measure, no target or input, or see missing), never 0',
    numerator     Nullable(Float64) COMMENT 'Numerator of the value, kept so that roll-ups stay exact; NULL for a percentile or an input given without one',
    denominator   Nullable(Float64) COMMENT 'Denominator of the value (rows taken for a percentile); NULL when the KPI has none',
    missing       Array(String) COMMENT 'What a missing value lacks, such as the exchange rate HKD 2026-03-04 (currency and business day); empty otherwise',
    as_of         Nullable(DateTime64(3, 'UTC')) COMMENT 'The newest event time the value includes (UTC): how recent the events behind it are; NULL for an imported value',
    computed_at   DateTime64(3, 'UTC') COMMENT 'When the value was computed'
)
COMMENT 'KPI values of every unit for each period, in the revision in force, with the labels of the KPI catalog'
AS SELECT
    v.grain AS grain,
    v.period AS period,
    v.period_start AS period_start,
    v.period_end AS period_end,
    v.revision AS revision,
    if(v.revision = 0, 'provisional', ifNull(p.current_state, '')) AS status,
    v.kpi AS kpi,
    ifNull(c.label_zh, '') AS label_zh,
    ifNull(c.label_en, '') AS label_en,
    ifNull(c.value_unit, '') AS value_unit,
    v.level AS level,
    v.unit AS unit,
    v.parent AS parent,
    v.value AS value,
    v.numerator AS numerator,
    v.denominator AS denominator,
    v.missing AS missing,
    v.as_of AS as_of,
    v.computed_at AS computed_at
FROM kpi_values AS v FINAL
LEFT JOIN v_periods AS p ON p.grain = v.grain AND p.period = v.period
LEFT JOIN kpi_catalog AS c FINAL ON c.kpi = v.kpi
WHERE v.revision = ifNull(p.revision, 0);

-- Money beyond one currency's minor unit, and several currencies.
--
-- sale.completed v3 carries prices as decimals of up to six places, and return.received and
-- refund.issued v2 name their currency. The exact amounts are kept in micros (millionths of
-- the currency unit, Int128): quantity × unit price is exact, nothing is rounded per line.
-- Events of earlier versions leave the micro columns NULL: their minor-unit columns are
-- exact, and queries read micros as minor units × 10^(6 − the currency's ISO digits).
-- On v3 lines the minor-unit columns hold the same amounts rounded half away from zero to
-- the currency's minor unit, for reading; KPIs never sum those.

ALTER TABLE sale_lines
    ADD COLUMN IF NOT EXISTS unit_price_micro Nullable(Int128) COMMENT 'Unit price in millionths of the currency unit, exact (sale.completed v3); NULL for earlier versions (see unit_price_minor)',
    ADD COLUMN IF NOT EXISTS gross_micro Nullable(Int128) COMMENT 'quantity × unit price in millionths of the currency unit, exact (v3); NULL for earlier versions',
    ADD COLUMN IF NOT EXISTS net_micro Nullable(Int128) COMMENT 'quantity × unit price − discount in millionths of the currency unit, exact (v3); NULL for earlier versions (see net_minor)',
    ADD COLUMN IF NOT EXISTS cost_micro Nullable(Int128) COMMENT 'quantity × unit cost in millionths of the currency unit, exact (v3, when the cost is known); NULL otherwise';

-- Returns and refunds: the currency a v2 event names; empty for v1, which counts in the
-- reporting currency (KPI_REPORTING_CURRENCY).
ALTER TABLE return_events
    ADD COLUMN IF NOT EXISTS currency LowCardinality(String) DEFAULT '' COMMENT 'ISO 4217 currency of amount (v2); empty for v1 events, which count in the reporting currency',
    ADD COLUMN IF NOT EXISTS amount_micro Nullable(Int128) COMMENT 'amount in millionths of the currency unit, exact (v2); NULL for v1 (see amount_minor)';

-- Exchange rates per business day, imported like targets (kpi rates import): one unit of
-- `currency` is worth `rate` units of `to_currency` on `day`. The latest import of a
-- (day, currency, to_currency) listed in `imports` is in force.
CREATE TABLE IF NOT EXISTS fx_rates
(
    day          Date,
    currency     LowCardinality(String),
    to_currency  LowCardinality(String),
    rate         Decimal(38, 10),
    import_id    String,
    imported_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (to_currency, currency, day, imported_at);

-- What a missing value lacks: for money KPIs, the exchange rates not found, as
-- "HKD 2026-03-04" (currency and business day). Empty when the value is there or when
-- there was simply nothing to measure.
ALTER TABLE kpi_values
    ADD COLUMN IF NOT EXISTS missing Array(String) DEFAULT [] COMMENT 'What the value lacks, such as the exchange rate HKD 2026-03-04; empty otherwise';

ALTER TABLE kpi_catalog
    COMMENT COLUMN IF EXISTS value_unit 'Unit of the value: money (in the reporting currency, KPI_REPORTING_CURRENCY), ratio, hours, count, score or days';

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
    v.computed_at AS computed_at
FROM kpi_values AS v FINAL
LEFT JOIN v_periods AS p ON p.grain = v.grain AND p.period = v.period
LEFT JOIN kpi_catalog AS c FINAL ON c.kpi = v.kpi
WHERE v.revision = ifNull(p.revision, 0);

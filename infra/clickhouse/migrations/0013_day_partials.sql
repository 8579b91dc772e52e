-- Day partials: per business day (in the business time zone), source and organisation tuple,
-- exact mergeable aggregates of every event measure (schemas/kpis/partials.ts), so a week,
-- month, quarter or year merges its days instead of rescanning its events.
--
-- Days are those of the business time zone, and amounts of the first event versions (which
-- name no currency) count in the reporting currency: both are part of a version's key, so a
-- change of either makes every day computed afresh.
--
-- A day's partials are recomputed whole from its events (read with FINAL, so duplicates and
-- replays count once) when events arrive for it, and stamped with the instant they were read
-- at (read_at). Each computation is a version of the day; a version is in force once it is
-- listed in kpi_partial_days (written after its rows), and readers take each day's newest
-- listed version, so a day is always read whole. Superseded versions are deleted a minute
-- after their successor is listed.

CREATE TABLE IF NOT EXISTS kpi_day_partials
(
    day         Date,
    time_zone   LowCardinality(String),
    reporting_currency LowCardinality(String),
    read_at     DateTime64(3, 'UTC'),
    source      LowCardinality(String),
    region      LowCardinality(String),
    store       LowCardinality(String),
    department  LowCardinality(String),
    channel     LowCardinality(String),
    currency    LowCardinality(String),
    buyer       String,
    sums        Map(String, Int128),
    id_sets     Map(String, Array(String)),
    samples     Map(String, Array(Float64))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (source, time_zone, reporting_currency, day, read_at, region, store, department, channel, currency, buyer)
COMMENT 'Exact partial aggregates of every event measure per business day, source, tuple (and currency or buyer); read the newest version of each day listed in kpi_partial_days';

CREATE TABLE IF NOT EXISTS kpi_partial_days
(
    day          Date,
    time_zone    LowCardinality(String),
    reporting_currency LowCardinality(String),
    read_at      DateTime64(3, 'UTC'),
    computed_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (time_zone, reporting_currency, day, read_at)
COMMENT 'Versions of the day partials: a day''s partials read at read_at are complete and in force once listed here';

-- What closing periods produces and what people put in: targets and manual KPI inputs,
-- KPI values by revision, period states and their audit trail, restatement diffs and
-- scored scorecards. Writers are idempotent: a retried step rewrites the same keys, and
-- ReplacingMergeTree keeps the latest write of each key (read with FINAL).

-- Targets, per KPI, unit and period, in the KPI's value unit (yuan for money).
-- The latest import of a key is effective; older ones stay for the audit trail.
CREATE TABLE IF NOT EXISTS kpi_targets
(
    kpi          LowCardinality(String),
    grain        LowCardinality(String),
    period       String,
    level        LowCardinality(String),
    unit         String,
    value        Float64,
    import_id    String,
    imported_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (grain, period, kpi, level, unit, imported_at);

-- Manual KPI inputs (staff turnover, account accuracy, …), like targets; the value is
-- required, numerator and denominator are kept when given.
CREATE TABLE IF NOT EXISTS kpi_inputs
(
    kpi          LowCardinality(String),
    grain        LowCardinality(String),
    period       String,
    level        LowCardinality(String),
    unit         String,
    value        Float64,
    numerator    Nullable(Float64),
    denominator  Nullable(Float64),
    import_id    String,
    imported_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (grain, period, kpi, level, unit, imported_at);

-- Who imported what, when, from which file.
CREATE TABLE IF NOT EXISTS imports
(
    import_id    String,
    kind         LowCardinality(String),
    imported_by  String,
    imported_at  DateTime64(3, 'UTC'),
    source       String,
    sha256       String,
    rows         UInt32
)
ENGINE = MergeTree
ORDER BY (imported_at, import_id);

-- KPI values: revision 0 is the provisional value of an open period (refreshed in place);
-- revisions 1, 2, … are closes and restatements, frozen once written.
CREATE TABLE IF NOT EXISTS kpi_values
(
    grain         LowCardinality(String),
    period        String,
    period_start  DateTime64(3, 'UTC'),
    period_end    DateTime64(3, 'UTC'),
    revision      UInt32,
    status        LowCardinality(String),
    kpi           LowCardinality(String),
    level         LowCardinality(String),
    unit          String,
    parent        String,
    numerator     Nullable(Float64),
    denominator   Nullable(Float64),
    value         Nullable(Float64),
    computed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY grain
ORDER BY (grain, period, revision, kpi, level, unit);

-- One row per period revision; `state` moves computing → closed (→ approved for quarters),
-- or pending (a restatement of an approved quarter, awaiting sign-off) → approved.
CREATE TABLE IF NOT EXISTS period_revisions
(
    grain         LowCardinality(String),
    period        String,
    revision      UInt32,
    state         LowCardinality(String),
    period_start  DateTime64(3, 'UTC'),
    period_end    DateTime64(3, 'UTC'),
    forced        Bool,
    reason        String,
    workflow_id   String,
    late_events   UInt64,
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (grain, period, revision);

-- Every transition of every period, append-only: closes, restatements, approvals, reopens.
CREATE TABLE IF NOT EXISTS period_audit
(
    at         DateTime64(3, 'UTC'),
    grain      LowCardinality(String),
    period     String,
    revision   UInt32,
    action     LowCardinality(String),
    actor      String,
    comment    String,
    details    String
)
ENGINE = ReplacingMergeTree
ORDER BY (grain, period, revision, action, at);

-- What a restatement changed, per KPI and unit: revision `from_revision` → `to_revision`.
CREATE TABLE IF NOT EXISTS restatements
(
    grain            LowCardinality(String),
    period           String,
    from_revision    UInt32,
    to_revision      UInt32,
    kpi              LowCardinality(String),
    level            LowCardinality(String),
    unit             String,
    old_value        Nullable(Float64),
    new_value        Nullable(Float64),
    old_numerator    Nullable(Float64),
    new_numerator    Nullable(Float64),
    old_denominator  Nullable(Float64),
    new_denominator  Nullable(Float64),
    computed_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (grain, period, to_revision, kpi, level, unit);

-- Scored scorecards: one row per scorecard and unit, ranked within its peer group, and one
-- row per KPI line. A missing KPI value is a line with `missing` set, never a score of 0
-- taken for a measured 0.
CREATE TABLE IF NOT EXISTS scorecards
(
    grain         LowCardinality(String),
    period        String,
    revision      UInt32,
    scorecard     LowCardinality(String),
    level         LowCardinality(String),
    unit          String,
    peer_group    String,
    score         Nullable(Float64),
    rank          Nullable(UInt32),
    peers         UInt32,
    band          LowCardinality(String),
    missing       Array(String),
    computed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (grain, period, revision, scorecard, level, unit);

CREATE TABLE IF NOT EXISTS scorecard_lines
(
    grain         LowCardinality(String),
    period        String,
    revision      UInt32,
    scorecard     LowCardinality(String),
    level         LowCardinality(String),
    unit          String,
    kpi           LowCardinality(String),
    weight        Float64,
    value         Nullable(Float64),
    target        Nullable(Float64),
    achievement   Nullable(Float64),
    points        Nullable(Float64),
    missing       Bool,
    computed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (grain, period, revision, scorecard, level, unit, kpi);

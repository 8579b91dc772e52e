-- The documented views (`v_…`): the names analysts, Grafana and the kpi command read, each
-- column with its comment (`kpi views` prints them). They are correct before merges: the
-- tables under them are read with FINAL, and events are counted by distinct event id.
-- They show what is in force: a period's current revision is its latest closed or approved
-- one, as `kpi periods` and `kpi values` read it (services/periods/read.ts); a period with
-- no such revision shows revision 0, its provisional values, and no scorecards.
-- What a LEFT JOIN brings is wrapped in ifNull, so a reader's join_use_nulls changes nothing.
-- Every statement is repeatable (IF NOT EXISTS); a view changed later is a new migration.

-- Labels, unit and direction of each KPI, copied from the catalog (schemas/kpis) by every
-- `kpi migrate` run, so that the views label values without restating the catalog in SQL.
-- A KPI dropped from the catalog keeps its last row: its old values stay labelled.
CREATE TABLE IF NOT EXISTS kpi_catalog
(
    kpi         LowCardinality(String) COMMENT 'KPI id (kpi kpis lists them)',
    label_zh    String COMMENT 'Chinese label, in the terms of the source document',
    label_en    String COMMENT 'English label',
    value_unit  LowCardinality(String) COMMENT 'Unit of the value: CNY, ratio, hours, count, score or days',
    direction   LowCardinality(String) COMMENT 'Which way is better: higher or lower',
    written_at  DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the row was written; the newest row of a KPI wins (read with FINAL)'
)
ENGINE = ReplacingMergeTree(written_at)
ORDER BY kpi
COMMENT 'The KPI catalog (schemas/kpis) as the views read it: labels, unit, direction; written by kpi migrate';

-- The rule of services/periods/read.ts (summarise), column for column.
CREATE VIEW IF NOT EXISTS v_periods
(
    grain             LowCardinality(String) COMMENT 'day, week, month, quarter or year',
    period            String COMMENT 'Period id: 2026-07-15, 2026-W29, 2026-07, 2026-Q3 or 2026',
    period_start      DateTime64(3, 'UTC') COMMENT 'First instant of the period: local midnight in KPI_TIME_ZONE, as UTC',
    period_end        DateTime64(3, 'UTC') COMMENT 'First instant after the period',
    state             LowCardinality(String) COMMENT 'pending when a restatement awaits approval, else the state of the current revision (closed, approved), else computing while the first close runs',
    revision          Nullable(UInt32) COMMENT 'Current revision: the latest closed or approved one (1 is as first reported); NULL before the first close ends',
    current_state     Nullable(String) COMMENT 'State of the current revision: closed or approved (approved quarters are locked); NULL without one',
    pending_revision  Nullable(UInt32) COMMENT 'Restatement newer than the current revision that awaits finance approval, or NULL',
    revisions         UInt64 COMMENT 'Revisions written, not counting discarded restatements (those that changed nothing)',
    forced            Bool COMMENT 'The current revision (or, without one, the latest) was closed with --force: before the period end, grace or ingest',
    updated_at        DateTime64(3, 'UTC') COMMENT 'Last change of the latest revision'
)
COMMENT 'One row per period that has been closed or is being closed: its current revision, state and pending restatement (kpi periods)'
AS SELECT
    grain,
    period,
    start_at AS period_start,
    end_at AS period_end,
    multiIf(pending_revision IS NOT NULL, 'pending', current_state IS NOT NULL, current_state, computing > 0, 'computing', latest_state) AS state,
    current_revision AS revision,
    current_state,
    if(latest_pending > ifNull(current_revision, 0), latest_pending, NULL) AS pending_revision,
    kept AS revisions,
    ifNull(current_forced, latest_forced) AS forced,
    latest_updated_at AS updated_at
FROM
(
    SELECT
        grain,
        period,
        argMax(period_start, revision) AS start_at,
        argMax(period_end, revision) AS end_at,
        maxIfOrNull(revision, state IN ('closed', 'approved')) AS current_revision,
        argMaxIfOrNull(toString(state), revision, state IN ('closed', 'approved')) AS current_state,
        argMaxIfOrNull(forced, revision, state IN ('closed', 'approved')) AS current_forced,
        maxIfOrNull(revision, state = 'pending') AS latest_pending,
        countIf(state = 'computing') AS computing,
        countIf(state != 'discarded') AS kept,
        argMax(toString(state), revision) AS latest_state,
        argMax(forced, revision) AS latest_forced,
        argMax(updated_at, revision) AS latest_updated_at
    FROM period_revisions FINAL
    GROUP BY grain, period
);

CREATE VIEW IF NOT EXISTS v_kpi_values
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
    value_unit    LowCardinality(String) COMMENT 'Unit of value: CNY (yuan), ratio (0.25 is 25%), hours, count, score or days',
    level         LowCardinality(String) COMMENT 'company, region, store, department or channel',
    unit          String COMMENT 'The unit at that level: all for the company, else a region, store, department or channel id',
    parent        String COMMENT 'The unit above: the region of a store, all for a region, department or channel, empty for the company',
    value         Nullable(Float64) COMMENT 'numerator ÷ denominator × scale, in value_unit; NULL means missing (nothing to measure, no target or input), never 0',
    numerator     Nullable(Float64) COMMENT 'Numerator of the value, kept so that roll-ups stay exact; NULL for a percentile or an input given without one',
    denominator   Nullable(Float64) COMMENT 'Denominator of the value (rows taken for a percentile); NULL when the KPI has none',
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
    v.computed_at AS computed_at
FROM kpi_values AS v FINAL
LEFT JOIN v_periods AS p ON p.grain = v.grain AND p.period = v.period
LEFT JOIN kpi_catalog AS c FINAL ON c.kpi = v.kpi
WHERE v.revision = ifNull(p.revision, 0);

CREATE VIEW IF NOT EXISTS v_scorecards
(
    grain        LowCardinality(String) COMMENT 'day, week, month, quarter or year',
    period       String COMMENT 'Period id: 2026-07-15, 2026-W29, 2026-07, 2026-Q3 or 2026',
    revision     UInt32 COMMENT 'The current revision of the period, the one scored here',
    status       LowCardinality(String) COMMENT 'State of that revision: closed or approved',
    scorecard    LowCardinality(String) COMMENT 'Scorecard id (kpi scorecards show lists them)',
    level        LowCardinality(String) COMMENT 'Level the scorecard scores: company, region, store, department or channel',
    unit         String COMMENT 'The unit scored',
    peer_group   String COMMENT 'Units ranked together: the unit above (the region of a store, all otherwise), or the level for a card ranked across it',
    score        Nullable(Float64) COMMENT 'Sum of the points of the lines (0 to 100, more with capped lines); with a KPI missing, reweighted to the lines present or NULL (unscored), as the card says',
    rank         Nullable(UInt32) COMMENT 'Rank within the peer group, 1 is best, ties share a rank (1, 2, 2, 4); NULL when unscored',
    peers        UInt32 COMMENT 'Units of the peer group that have a score',
    band         LowCardinality(String) COMMENT 'Rating band the score reaches (A, B, C, D by default), or unscored',
    missing      Array(String) COMMENT 'KPIs of the card without a value for the unit',
    computed_at  DateTime64(3, 'UTC') COMMENT 'When the scorecard was scored'
)
COMMENT 'Scored scorecards of each closed period, one row per scorecard and unit, ranked within peer groups (kpi scorecard)'
AS SELECT
    s.grain AS grain,
    s.period AS period,
    s.revision AS revision,
    ifNull(p.current_state, '') AS status,
    s.scorecard AS scorecard,
    s.level AS level,
    s.unit AS unit,
    s.peer_group AS peer_group,
    s.score AS score,
    s.rank AS rank,
    s.peers AS peers,
    s.band AS band,
    s.missing AS missing,
    s.computed_at AS computed_at
FROM scorecards AS s FINAL
INNER JOIN v_periods AS p ON p.grain = s.grain AND p.period = s.period AND p.revision = s.revision;

CREATE VIEW IF NOT EXISTS v_scorecard_lines
(
    grain        LowCardinality(String) COMMENT 'day, week, month, quarter or year',
    period       String COMMENT 'Period id: 2026-07-15, 2026-W29, 2026-07, 2026-Q3 or 2026',
    revision     UInt32 COMMENT 'The current revision of the period, the one scored here',
    scorecard    LowCardinality(String) COMMENT 'Scorecard id (kpi scorecards show lists them)',
    level        LowCardinality(String) COMMENT 'Level the scorecard scores: company, region, store, department or channel',
    unit         String COMMENT 'The unit scored',
    kpi          LowCardinality(String) COMMENT 'KPI of the line',
    label_zh     String COMMENT 'Chinese label of the KPI',
    label_en     String COMMENT 'English label of the KPI',
    weight       Float64 COMMENT 'Weight of the line; the lines of a card sum to 100',
    value        Nullable(Float64) COMMENT 'Value of the KPI for the unit (as in v_kpi_values); NULL when missing',
    target       Nullable(Float64) COMMENT 'Target of the line on the card, in value_unit of the KPI (ratios as fractions)',
    achievement  Nullable(Float64) COMMENT 'Fraction of the weight earned, 0 to the cap of the line (value against target by its rule); NULL when missing',
    points       Nullable(Float64) COMMENT 'Points the line adds to the score: achievement × weight; NULL when missing',
    missing      Bool COMMENT 'The unit has no value for this KPI: the line earns nothing',
    computed_at  DateTime64(3, 'UTC') COMMENT 'When the scorecard was scored'
)
COMMENT 'The KPI lines behind each row of v_scorecards: value, target, achievement and points, with the KPI labels'
AS SELECT
    l.grain AS grain,
    l.period AS period,
    l.revision AS revision,
    l.scorecard AS scorecard,
    l.level AS level,
    l.unit AS unit,
    l.kpi AS kpi,
    ifNull(c.label_zh, '') AS label_zh,
    ifNull(c.label_en, '') AS label_en,
    l.weight AS weight,
    l.value AS value,
    l.target AS target,
    l.achievement AS achievement,
    l.points AS points,
    l.missing AS missing,
    l.computed_at AS computed_at
FROM scorecard_lines AS l FINAL
INNER JOIN v_periods AS p ON p.grain = l.grain AND p.period = l.period AND p.revision = l.revision
LEFT JOIN kpi_catalog AS c FINAL ON c.kpi = l.kpi;

CREATE VIEW IF NOT EXISTS v_restatements
(
    grain            LowCardinality(String) COMMENT 'day, week, month, quarter or year',
    period           String COMMENT 'Period id: 2026-07-15, 2026-W29, 2026-07, 2026-Q3 or 2026',
    from_revision    UInt32 COMMENT 'Revision restated (1 is as first reported)',
    to_revision      UInt32 COMMENT 'Revision that restates it',
    to_state         LowCardinality(String) COMMENT 'State of to_revision now: closed or approved (in force unless restated again), pending (awaits approval) or computing',
    kpi              LowCardinality(String) COMMENT 'KPI id (kpi kpis lists them)',
    label_zh         String COMMENT 'Chinese label of the KPI',
    label_en         String COMMENT 'English label of the KPI',
    level            LowCardinality(String) COMMENT 'company, region, store, department or channel',
    unit             String COMMENT 'The unit at that level',
    old_value        Nullable(Float64) COMMENT 'Value in from_revision; NULL when missing there',
    new_value        Nullable(Float64) COMMENT 'Value in to_revision; NULL when missing there',
    old_numerator    Nullable(Float64) COMMENT 'Numerator in from_revision',
    new_numerator    Nullable(Float64) COMMENT 'Numerator in to_revision',
    old_denominator  Nullable(Float64) COMMENT 'Denominator in from_revision',
    new_denominator  Nullable(Float64) COMMENT 'Denominator in to_revision',
    computed_at      DateTime64(3, 'UTC') COMMENT 'When the restatement was computed'
)
COMMENT 'What each restatement changed, per KPI and unit: as reported (from_revision) and restated (to_revision), as kpi restatements shows it'
AS SELECT
    r.grain AS grain,
    r.period AS period,
    r.from_revision AS from_revision,
    r.to_revision AS to_revision,
    ifNull(p.state, '') AS to_state,
    r.kpi AS kpi,
    ifNull(c.label_zh, '') AS label_zh,
    ifNull(c.label_en, '') AS label_en,
    r.level AS level,
    r.unit AS unit,
    r.old_value AS old_value,
    r.new_value AS new_value,
    r.old_numerator AS old_numerator,
    r.new_numerator AS new_numerator,
    r.old_denominator AS old_denominator,
    r.new_denominator AS new_denominator,
    r.computed_at AS computed_at
FROM restatements AS r FINAL
LEFT JOIN period_revisions AS p FINAL ON p.grain = r.grain AND p.period = r.period AND p.revision = r.to_revision
LEFT JOIN kpi_catalog AS c FINAL ON c.kpi = r.kpi;

-- Slices, not days: the business day depends on KPI_TIME_ZONE, which the store does not
-- hold, and every zone's midnight falls on a 15-minute boundary (as for `arrivals`).
-- A duplicate carries the event time of its original, so it falls in the same slice.
CREATE VIEW IF NOT EXISTS v_events_by_family
(
    family  LowCardinality(String) COMMENT 'Event family: sales, orders, returns or tickets (its raw table: sale_lines, order_events, return_events, ticket_events)',
    slice   DateTime('UTC') COMMENT 'Start of the 15-minute slice of event time (occurred_at); a business day is a run of slices: toDate(slice, KPI_TIME_ZONE)',
    events  UInt64 COMMENT 'Distinct valid events (event ids) that occurred in the slice; a duplicate not yet merged is counted once, a sale once whatever its lines'
)
COMMENT 'Valid events stored per family and 15-minute slice of event time, each event id once; sum over toDate(slice, zone) for business days (kpi stats gives the totals)'
AS SELECT 'sales' AS family, toStartOfFifteenMinutes(occurred_at) AS slice, uniqExact(event_id) AS events FROM sale_lines GROUP BY slice
UNION ALL
SELECT 'orders' AS family, toStartOfFifteenMinutes(occurred_at) AS slice, uniqExact(event_id) AS events FROM order_events GROUP BY slice
UNION ALL
SELECT 'returns' AS family, toStartOfFifteenMinutes(occurred_at) AS slice, uniqExact(event_id) AS events FROM return_events GROUP BY slice
UNION ALL
SELECT 'tickets' AS family, toStartOfFifteenMinutes(occurred_at) AS slice, uniqExact(event_id) AS events FROM ticket_events GROUP BY slice;

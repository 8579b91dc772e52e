-- When events arrived, by the 15-minute slice of time they happened in (every business
-- time zone's midnight falls on a 15-minute boundary, so any period is a run of slices).
-- Ingest writes one row per slice per batch; closes compare it with when they read, to
-- find late events in closed periods. A replayed batch carries the same token and is skipped.
CREATE TABLE IF NOT EXISTS arrivals
(
    slice       DateTime('UTC'),
    events      UInt64,
    arrived_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (arrived_at, slice)
SETTINGS non_replicated_deduplication_window = 1000;

-- When events arrived, by the 15-minute slice of time they happened in (every business
-- time zone's midnight falls on a 15-minute boundary, so any period is a run of slices).
-- Ingest writes one row per slice per batch, after the batch's events; `arrived_at` is
-- ClickHouse's own clock, the one that also stamps when a close began reading, so the two
-- compare without clock skew. A replayed batch carries the same token and is skipped.
CREATE TABLE IF NOT EXISTS arrivals
(
    slice       DateTime('UTC'),
    events      UInt64,
    arrived_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (arrived_at, slice)
SETTINGS non_replicated_deduplication_window = 1000;

-- Ingest progress per topic and partition: the next offset to read and the newest event
-- time committed so far. Period closes wait until every partition is past the period end.
-- One row per commit; the newest (highest updated_at) wins.
CREATE TABLE IF NOT EXISTS ingest_progress
(
    topic            LowCardinality(String),
    partition        UInt32,
    next_offset      UInt64,
    max_event_time   DateTime64(3, 'UTC'),
    updated_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (topic, partition);

-- Messages that failed validation, kept byte for byte with the reason and where they came
-- from. A source offset is stored once even when a batch is replayed.
CREATE TABLE IF NOT EXISTS dead_letters
(
    topic          LowCardinality(String),
    partition      UInt32,
    offset         UInt64,
    reason_code    LowCardinality(String),
    reason         String,
    message_key    Nullable(String),
    payload        String,
    payload_base64 String,
    received_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(received_at)
ORDER BY (topic, partition, offset);

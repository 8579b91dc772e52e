-- Raw event tables, one per family; sales are stored one row per sale line.
-- Idempotent twice over: a row is identified by its event id (ReplacingMergeTree collapses
-- producer duplicates and replays), and an insert carrying a deduplication token already
-- seen in the last `non_replicated_deduplication_window` inserts is skipped whole.
-- Queries must still be correct before merges run: use FINAL or LIMIT 1 BY event_id.
-- Money columns are integer minor units.

CREATE TABLE IF NOT EXISTS sale_lines
(
    event_id          String,
    event_version     UInt8,
    occurred_at       DateTime64(3, 'UTC'),
    sale_id           String,
    line_no           UInt16,
    region            LowCardinality(String),
    store             LowCardinality(String),
    department        LowCardinality(String),
    channel           LowCardinality(String),
    customer_id       Nullable(String),
    member_id         Nullable(String),
    order_id          Nullable(String),
    payment_method    LowCardinality(String),
    currency          LowCardinality(String),
    sku               String,
    category          LowCardinality(String),
    quantity          UInt32,
    unit_price_minor  Int64,
    discount_minor    Int64,
    unit_cost_minor   Nullable(Int64),
    -- quantity × unit price − discount, computed once at ingest.
    net_minor         Int64,
    producer          LowCardinality(String),
    source_partition  UInt32,
    source_offset     UInt64,
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (event_id, line_no)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS order_events
(
    event_id              String,
    type                  LowCardinality(String),
    event_version         UInt8,
    occurred_at           DateTime64(3, 'UTC'),
    order_id              String,
    region                LowCardinality(String),
    store                 LowCardinality(String),
    department            LowCardinality(String),
    channel               LowCardinality(String),
    customer_id           Nullable(String),
    item_count            Nullable(UInt32),
    promised_delivery_at  Nullable(DateTime64(3, 'UTC')),
    carrier               Nullable(String),
    cancel_reason         Nullable(String),
    producer              LowCardinality(String),
    source_partition      UInt32,
    source_offset         UInt64,
    ingested_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY event_id
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS return_events
(
    event_id          String,
    type              LowCardinality(String),
    event_version     UInt8,
    occurred_at       DateTime64(3, 'UTC'),
    return_id         String,
    region            LowCardinality(String),
    store             LowCardinality(String),
    department        LowCardinality(String),
    channel           LowCardinality(String),
    sale_id           Nullable(String),
    order_id          Nullable(String),
    sku               Nullable(String),
    -- Units received back (return.received); 0 for other types.
    quantity          UInt32,
    -- Value received back (return.received) or refunded (refund.issued); 0 otherwise.
    amount_minor      Int64,
    reason            Nullable(String),
    producer          LowCardinality(String),
    source_partition  UInt32,
    source_offset     UInt64,
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY event_id
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS ticket_events
(
    event_id          String,
    type              LowCardinality(String),
    event_version     UInt8,
    occurred_at       DateTime64(3, 'UTC'),
    ticket_id         String,
    region            LowCardinality(String),
    store             LowCardinality(String),
    department        LowCardinality(String),
    channel           LowCardinality(String),
    category          Nullable(String),
    is_complaint      Nullable(Bool),
    priority          LowCardinality(Nullable(String)),
    order_id          Nullable(String),
    customer_id       Nullable(String),
    rating            Nullable(UInt8),
    producer          LowCardinality(String),
    source_partition  UInt32,
    source_offset     UInt64,
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY event_id
SETTINGS non_replicated_deduplication_window = 1000;

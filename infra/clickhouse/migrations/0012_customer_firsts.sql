-- Each customer's first purchase ever, per organisation tuple, kept as sales arrive, so that
-- new-customer and customer KPIs read this period and the one before, never the history.
--
-- A minimum is the same however often a row is seen: producer duplicates, replays and the
-- backfill below may all reach the table, and min() stays exact. The materialised view
-- runs on every insert into sale_lines; the backfill covers what was stored before it.

CREATE TABLE IF NOT EXISTS customer_first_purchases
(
    customer_id        String,
    region             LowCardinality(String),
    store              LowCardinality(String),
    department         LowCardinality(String),
    channel            LowCardinality(String),
    first_purchase_at  SimpleAggregateFunction(min, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (customer_id, region, store, department, channel)
COMMENT 'First purchase ever of each customer at each organisation tuple (read with min() GROUP BY: parts merge in the background)';

-- The key is made non-Nullable after the filter: an alias of the same name would shadow the
-- column in WHERE.
CREATE MATERIALIZED VIEW IF NOT EXISTS customer_first_purchases_mv TO customer_first_purchases
AS SELECT assumeNotNull(buyer) AS customer_id, region, store, department, channel, min(occurred_at) AS first_purchase_at
FROM (SELECT customer_id AS buyer, region, store, department, channel, occurred_at FROM sale_lines WHERE customer_id IS NOT NULL)
GROUP BY buyer, region, store, department, channel;

INSERT INTO customer_first_purchases
SELECT assumeNotNull(buyer) AS customer_id, region, store, department, channel, min(occurred_at) AS first_purchase_at
FROM (SELECT customer_id AS buyer, region, store, department, channel, occurred_at FROM sale_lines WHERE customer_id IS NOT NULL)
GROUP BY buyer, region, store, department, channel;

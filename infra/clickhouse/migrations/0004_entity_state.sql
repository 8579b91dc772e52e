-- Current state of each order and ticket, kept by materialized views over the raw tables.
-- Each column is a min or max over the entity's events, so the state is the same whatever
-- order the events arrive in and however often one is replayed. Read with GROUP BY and
-- the same function (e.g. min(placed_at)), which is correct before and after merges.

CREATE TABLE IF NOT EXISTS order_state
(
    order_id              String,
    region                SimpleAggregateFunction(max, LowCardinality(String)),
    store                 SimpleAggregateFunction(max, LowCardinality(String)),
    department            SimpleAggregateFunction(max, LowCardinality(String)),
    channel               SimpleAggregateFunction(max, LowCardinality(String)),
    placed_at             SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    promised_delivery_at  SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
    shipped_at            SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    delivered_at          SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    cancelled_at          SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    item_count            SimpleAggregateFunction(max, Nullable(UInt32))
)
ENGINE = AggregatingMergeTree
ORDER BY order_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS order_state_mv TO order_state AS
SELECT
    order_id,
    max(region) AS region,
    max(store) AS store,
    max(department) AS department,
    max(channel) AS channel,
    minIfOrNull(occurred_at, type = 'order.placed') AS placed_at,
    maxOrNull(promised_delivery_at) AS promised_delivery_at,
    minIfOrNull(occurred_at, type = 'order.shipped') AS shipped_at,
    minIfOrNull(occurred_at, type = 'order.delivered') AS delivered_at,
    minIfOrNull(occurred_at, type = 'order.cancelled') AS cancelled_at,
    maxOrNull(item_count) AS item_count
FROM order_events
GROUP BY order_id;

CREATE TABLE IF NOT EXISTS ticket_state
(
    ticket_id          String,
    region             SimpleAggregateFunction(max, LowCardinality(String)),
    store              SimpleAggregateFunction(max, LowCardinality(String)),
    department         SimpleAggregateFunction(max, LowCardinality(String)),
    channel            SimpleAggregateFunction(max, LowCardinality(String)),
    opened_at          SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    is_complaint       SimpleAggregateFunction(max, Nullable(Bool)),
    first_response_at  SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    last_resolved_at   SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
    last_reopened_at   SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
    -- Distinct reopen events, so a replayed reopen is not counted twice.
    reopen_event_ids   SimpleAggregateFunction(groupUniqArrayArray, Array(String))
)
ENGINE = AggregatingMergeTree
ORDER BY ticket_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS ticket_state_mv TO ticket_state AS
SELECT
    ticket_id,
    max(region) AS region,
    max(store) AS store,
    max(department) AS department,
    max(channel) AS channel,
    minIfOrNull(occurred_at, type = 'ticket.opened') AS opened_at,
    maxOrNull(is_complaint) AS is_complaint,
    minIfOrNull(occurred_at, type = 'ticket.first_response') AS first_response_at,
    maxIfOrNull(occurred_at, type = 'ticket.resolved') AS last_resolved_at,
    maxIfOrNull(occurred_at, type = 'ticket.reopened') AS last_reopened_at,
    groupUniqArrayIf(event_id, type = 'ticket.reopened') AS reopen_event_ids
FROM ticket_events
GROUP BY ticket_id;

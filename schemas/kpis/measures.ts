/**
 * Measures: the aggregates KPIs are made of, each computed by one source (a scan of one
 * warehouse table, or of the entities built from it) for every unit of every level at once.
 *
 * A measure is additive (a count or a sum: units merge by adding, so a KPI's numerator and
 * denominator roll up exactly) or a statistic (a distinct count, a percentile, an imported
 * value: computed for each unit from the rows themselves, never from its children's values).
 *
 * SQL here is catalog text, never input. Inside a source's SQL, `{p_start}`, `{p_end}` and
 * `{p_prev_start}` are the period's bounds and the previous period's start, bound as
 * parameters; `inPeriod(col)` tests `p_start <= col < p_end`.
 */

export const SOURCES = ['sales', 'customers', 'members', 'orders', 'returns', 'ticket_events', 'tickets', 'targets', 'inputs'] as const;
export type SourceId = (typeof SOURCES)[number];

export interface Measure {
  source: SourceId;
  /** `sum`: additive, merges by adding; `stat`: computed per unit, merges by taking the one value. */
  merge: 'sum' | 'stat';
  /** Aggregate expression over the source's rows. */
  sql: string;
}

export const inPeriod = (col: string): string => `(${col} >= {p_start: DateTime64(3, 'UTC')} AND ${col} < {p_end: DateTime64(3, 'UTC')})`;
const hoursBetween = (from: string, to: string): string => `(toUnixTimestamp64Milli(${to}) - toUnixTimestamp64Milli(${from}))`;

/** First-response targets by ticket priority, in hours: a ticket answered within them meets the SLA. */
export const FIRST_RESPONSE_SLA_HOURS = { urgent: 1, high: 4, normal: 8, low: 24 } as const;

const slaHoursSql = `multiIf(${Object.entries(FIRST_RESPONSE_SLA_HOURS)
  .map(([priority, hours]) => `priority = '${priority}', ${hours}`)
  .join(', ')}, ${FIRST_RESPONSE_SLA_HOURS.normal})`;

/** The measure id is also its column name in compiled SQL. */
export const MEASURES = {
  // sale lines with occurred_at in the period
  sales_gross_minor: { source: 'sales', merge: 'sum', sql: 'sum(toInt64(quantity) * unit_price_minor)' },
  sales_net_minor: { source: 'sales', merge: 'sum', sql: 'sum(net_minor)' },
  sales_units: { source: 'sales', merge: 'sum', sql: 'sum(toInt64(quantity))' },
  sales_transactions: { source: 'sales', merge: 'stat', sql: 'uniqExact(sale_id)' },
  sales_costed_net_minor: { source: 'sales', merge: 'sum', sql: 'sumIf(net_minor, unit_cost_minor IS NOT NULL)' },
  sales_costed_cost_minor: { source: 'sales', merge: 'sum', sql: 'sumIf(toInt64(quantity) * assumeNotNull(unit_cost_minor), unit_cost_minor IS NOT NULL)' },

  // customers (customer_id) buying at the unit: this period, the previous one, first purchase ever
  customers_active: { source: 'customers', merge: 'stat', sql: 'countIf(current_sales > 0)' },
  customers_repeat: { source: 'customers', merge: 'stat', sql: 'countIf(current_sales >= 2)' },
  customers_previous: { source: 'customers', merge: 'stat', sql: 'countIf(previous_sales > 0)' },
  customers_new: { source: 'customers', merge: 'stat', sql: `countIf(${inPeriod('first_purchase_at')})` },

  // members (member_id) buying at the unit in the previous period, and those of them lost
  members_previous: { source: 'members', merge: 'stat', sql: 'countIf(previous_sales > 0)' },
  members_lost: { source: 'members', merge: 'stat', sql: 'countIf(previous_sales > 0 AND current_sales = 0)' },

  // orders, each once, by when each step first happened
  orders_placed: { source: 'orders', merge: 'sum', sql: `countIf(${inPeriod('placed_at')})` },
  orders_cancelled: { source: 'orders', merge: 'sum', sql: `countIf(${inPeriod('cancelled_at')})` },
  orders_delivered: { source: 'orders', merge: 'sum', sql: `countIf(${inPeriod('delivered_at')})` },
  orders_on_time: { source: 'orders', merge: 'sum', sql: `countIf(${inPeriod('delivered_at')} AND promised_delivery_at IS NOT NULL AND delivered_at <= promised_delivery_at)` },
  orders_processed: { source: 'orders', merge: 'sum', sql: `countIf(${inPeriod('shipped_at')} AND placed_at IS NOT NULL)` },
  orders_processing_ms: { source: 'orders', merge: 'sum', sql: `sumIf(${hoursBetween('placed_at', 'shipped_at')}, ${inPeriod('shipped_at')} AND placed_at IS NOT NULL)` },
  orders_processing_p90_h: { source: 'orders', merge: 'stat', sql: `quantileExactIf(0.9)(${hoursBetween('placed_at', 'shipped_at')} / 3600000, ${inPeriod('shipped_at')} AND placed_at IS NOT NULL)` },
  orders_cycled: { source: 'orders', merge: 'sum', sql: `countIf(${inPeriod('delivered_at')} AND placed_at IS NOT NULL)` },
  orders_cycle_ms: { source: 'orders', merge: 'sum', sql: `sumIf(${hoursBetween('placed_at', 'delivered_at')}, ${inPeriod('delivered_at')} AND placed_at IS NOT NULL)` },
  orders_cycle_p90_h: { source: 'orders', merge: 'stat', sql: `quantileExactIf(0.9)(${hoursBetween('placed_at', 'delivered_at')} / 3600000, ${inPeriod('delivered_at')} AND placed_at IS NOT NULL)` },

  // return events with occurred_at in the period
  returns_units: { source: 'returns', merge: 'sum', sql: "sumIf(toInt64(quantity), type = 'return.received')" },
  returns_amount_minor: { source: 'returns', merge: 'sum', sql: "sumIf(amount_minor, type = 'return.received')" },
  returns_refund_minor: { source: 'returns', merge: 'sum', sql: "sumIf(amount_minor, type = 'refund.issued')" },
  returns_requested: { source: 'returns', merge: 'sum', sql: "countIf(type = 'return.requested')" },

  // ticket events with occurred_at in the period
  tickets_opened: { source: 'ticket_events', merge: 'sum', sql: "countIf(type = 'ticket.opened')" },
  tickets_complaints: { source: 'ticket_events', merge: 'sum', sql: "countIf(type = 'ticket.opened' AND is_complaint)" },
  tickets_ratings: { source: 'ticket_events', merge: 'sum', sql: "countIf(type = 'ticket.rated' AND rating IS NOT NULL)" },
  tickets_rating_sum: { source: 'ticket_events', merge: 'sum', sql: "sumIf(toInt64(assumeNotNull(rating)), type = 'ticket.rated' AND rating IS NOT NULL)" },
  tickets_ratings_good: { source: 'ticket_events', merge: 'sum', sql: "countIf(type = 'ticket.rated' AND rating >= 4)" },
  tickets_resolutions: { source: 'ticket_events', merge: 'sum', sql: "countIf(type = 'ticket.resolved')" },
  tickets_reopens: { source: 'ticket_events', merge: 'sum', sql: "countIf(type = 'ticket.reopened')" },

  // tickets, each once: first response and last resolution
  tickets_answered: { source: 'tickets', merge: 'sum', sql: `countIf(${inPeriod('first_response_at')} AND opened_at IS NOT NULL)` },
  tickets_response_ms: { source: 'tickets', merge: 'sum', sql: `sumIf(${hoursBetween('opened_at', 'first_response_at')}, ${inPeriod('first_response_at')} AND opened_at IS NOT NULL)` },
  tickets_response_p90_h: { source: 'tickets', merge: 'stat', sql: `quantileExactIf(0.9)(${hoursBetween('opened_at', 'first_response_at')} / 3600000, ${inPeriod('first_response_at')} AND opened_at IS NOT NULL)` },
  tickets_answered_in_sla: {
    source: 'tickets',
    merge: 'sum',
    sql: `countIf(${inPeriod('first_response_at')} AND opened_at IS NOT NULL AND ${hoursBetween('opened_at', 'first_response_at')} <= ${slaHoursSql} * 3600000)`,
  },
  tickets_resolved: { source: 'tickets', merge: 'sum', sql: `countIf(${inPeriod('resolved_at')} AND opened_at IS NOT NULL)` },
  tickets_resolution_ms: { source: 'tickets', merge: 'sum', sql: `sumIf(${hoursBetween('opened_at', 'resolved_at')}, ${inPeriod('resolved_at')} AND opened_at IS NOT NULL)` },
  tickets_resolution_p90_h: { source: 'tickets', merge: 'stat', sql: `quantileExactIf(0.9)(${hoursBetween('opened_at', 'resolved_at')} / 3600000, ${inPeriod('resolved_at')} AND opened_at IS NOT NULL)` },

  // targets, imported in the KPI's value unit (yuan), here in minor units like the sales they divide
  target_net_sales_minor: { source: 'targets', merge: 'stat', sql: "round(argMaxIf(value, (imported_at, import_id), kpi = 'net_sales') * 100)" },
  target_gross_profit_minor: { source: 'targets', merge: 'stat', sql: "round(argMaxIf(value, (imported_at, import_id), kpi = 'gross_profit') * 100)" },
} as const satisfies Record<string, Measure>;

export type MeasureId = keyof typeof MEASURES;

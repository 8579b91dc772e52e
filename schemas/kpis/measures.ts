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
 *
 * Money measures (`money`) add exact amounts in micros (millionths of the event's currency
 * unit, Int128) of each row; the compiler converts each (currency, business day) at that
 * day's rate into the reporting currency (`{p_reporting}`), adds exactly, and rounds each
 * unit's total once to hundredths of the reporting currency, half away from zero. A total
 * that needs a rate not imported is missing, and says which.
 */

import { currenciesNotInHundredths } from '../events/currencies.js';

export const SOURCES = ['sales', 'customers', 'members', 'orders', 'returns', 'ticket_events', 'tickets', 'targets', 'inputs'] as const;
export type SourceId = (typeof SOURCES)[number];

export const inPeriod = (col: string): string => `(${col} >= {p_start: DateTime64(3, 'UTC')} AND ${col} < {p_end: DateTime64(3, 'UTC')})`;
const hoursBetween = (from: string, to: string): string => `(toUnixTimestamp64Milli(${to}) - toUnixTimestamp64Milli(${from}))`;

export interface Measure {
  source: SourceId;
  /** `sum`: additive, merges by adding; `stat`: computed per unit, merges by taking the one value. */
  merge: 'sum' | 'stat';
  /** Aggregate expression over the source's rows, derived from `row`. */
  sql: string;
  /** The same measure one row of the source at a time: what each row contributes (`kpi explain`). */
  row: MeasureRow;
  /** For a target: the KPI it is imported for. */
  targetOf?: string;
  /** A sum of amounts in micros of the currency of each row (MONEY_CURRENCY of the source), converted and rounded to hundredths of the reporting currency. */
  money?: true;
}

/**
 * A measure as rows: `sum` adds `of` over the rows, `count` adds 1 per row, `distinct` 1 per
 * distinct `of`, `p90` is the 90th percentile of `of`, `latest` is `of` of the latest row (by
 * LATEST_BY). Only rows where `when` holds count. The aggregate (`Measure.sql`) is derived
 * from this, so a value and the rows that explain it cannot disagree.
 */
export interface MeasureRow {
  agg: 'sum' | 'count' | 'distinct' | 'p90' | 'latest';
  of?: string;
  /** Which rows count; every row of the source when absent. */
  when?: string;
  /** The row's time that puts it in the period, for sources whose rows have several (orders, tickets). */
  at?: string;
}

/** Which imported row is in force: the latest import (ties broken by import id). */
export const LATEST_BY = '(imported_at, import_id)';

/** The aggregate of a measure's rows: what the close computes per unit. */
export function aggregateSql(r: MeasureRow): string {
  const w = r.when;
  switch (r.agg) {
    case 'sum':
      return w ? `sumIf(${String(r.of)}, ${w})` : `sum(${String(r.of)})`;
    case 'count':
      return w ? `countIf(${w})` : 'count()';
    case 'distinct':
      return w ? `uniqExactIf(${String(r.of)}, ${w})` : `uniqExact(${String(r.of)})`;
    case 'p90':
      return `quantileExactIf(0.9)(${String(r.of)}, ${w ?? '1'})`;
    case 'latest':
      return `argMaxIf(${String(r.of)}, ${LATEST_BY}, ${w ?? '1'})`;
  }
}
const measure = (row: MeasureRow): { sql: string; row: MeasureRow } => ({ sql: aggregateSql(row), row });
const sum = (of: string, when?: string, at?: string) => measure({ agg: 'sum', of, ...(when ? { when } : {}), ...(at ? { at } : {}) });
const count = (when: string, at?: string) => measure({ agg: 'count', when, ...(at ? { at } : {}) });
const distinct = (of: string) => measure({ agg: 'distinct', of });
const p90 = (of: string, when: string, at: string) => measure({ agg: 'p90', of, when, at });
const money = (of: string, when?: string) => ({ ...sum(of, when), money: true as const });

/**
 * The currency of a source's amounts, as SQL: a sale names its own; a return or refund of
 * the first version names none and counts in the reporting currency.
 */
export const MONEY_CURRENCY: Partial<Record<SourceId, string>> = {
  sales: 'currency',
  returns: "if(currency = '', {p_reporting: String}, currency)",
};

/** Micros in one minor unit of the currency (an SQL expression): 10^(6 − its ISO 4217 digits). */
export function microsPerMinorSql(currency: string): string {
  const others = currenciesNotInHundredths();
  return `transform(${currency}, [${others.map((c) => `'${c.code}'`).join(', ')}], [${others.map((c) => `toUInt32(${10 ** (6 - c.digits)})`).join(', ')}], toUInt32(10000))`;
}

/** An amount in micros: the exact micro column of decimal events, else minor units × micros per minor unit. */
const micros = (microColumn: string, minorAmount: string, currency: string): string => `ifNull(${microColumn}, toInt128(${minorAmount}) * ${microsPerMinorSql(currency)})`;
const SALE_NET = micros('net_micro', 'net_minor', 'currency');
const SALE_GROSS = micros('gross_micro', 'toInt64(quantity) * unit_price_minor', 'currency');
const SALE_COST = micros('cost_micro', 'toInt64(quantity) * assumeNotNull(unit_cost_minor)', 'currency');
const RETURN_AMOUNT = micros('amount_micro', 'amount_minor', String(MONEY_CURRENCY.returns));

/** The imported target of a KPI (in its value unit, yuan), in minor units like the sales it divides. */
const target = (kpi: string) => ({ ...measure({ agg: 'latest', of: 'round(value * 100)', when: `kpi = '${kpi}'` }), targetOf: kpi });


/** First-response targets by ticket priority, in hours: a ticket answered within them meets the SLA. */
export const FIRST_RESPONSE_SLA_HOURS = { urgent: 1, high: 4, normal: 8, low: 24 } as const;

const slaHoursSql = `multiIf(${Object.entries(FIRST_RESPONSE_SLA_HOURS)
  .map(([priority, hours]) => `priority = '${priority}', ${hours}`)
  .join(', ')}, ${FIRST_RESPONSE_SLA_HOURS.normal})`;

/** The measure id is also its column name in compiled SQL. */
export const MEASURES = {
  // sale lines with occurred_at in the period; money in hundredths of the reporting currency
  sales_gross_minor: { source: 'sales', merge: 'sum', ...money(SALE_GROSS) },
  sales_net_minor: { source: 'sales', merge: 'sum', ...money(SALE_NET) },
  sales_units: { source: 'sales', merge: 'sum', ...sum('toInt64(quantity)') },
  sales_transactions: { source: 'sales', merge: 'stat', ...distinct('sale_id') },
  sales_costed_net_minor: { source: 'sales', merge: 'sum', ...money(SALE_NET, 'unit_cost_minor IS NOT NULL') },
  sales_costed_cost_minor: { source: 'sales', merge: 'sum', ...money(SALE_COST, 'unit_cost_minor IS NOT NULL') },

  // customers (customer_id) buying at the unit: this period, the previous one, first purchase ever
  customers_active: { source: 'customers', merge: 'stat', ...count('current_sales > 0') },
  customers_repeat: { source: 'customers', merge: 'stat', ...count('current_sales >= 2') },
  customers_previous: { source: 'customers', merge: 'stat', ...count('previous_sales > 0') },
  customers_new: { source: 'customers', merge: 'stat', ...count(inPeriod('first_purchase_at'), 'first_purchase_at') },

  // members (member_id) buying at the unit in the previous period, and those of them lost
  members_previous: { source: 'members', merge: 'stat', ...count('previous_sales > 0') },
  members_lost: { source: 'members', merge: 'stat', ...count('previous_sales > 0 AND current_sales = 0') },

  // orders, each once, by when each step first happened
  orders_placed: { source: 'orders', merge: 'sum', ...count(inPeriod('placed_at'), 'placed_at') },
  orders_cancelled: { source: 'orders', merge: 'sum', ...count(inPeriod('cancelled_at'), 'cancelled_at') },
  orders_delivered: { source: 'orders', merge: 'sum', ...count(inPeriod('delivered_at'), 'delivered_at') },
  orders_on_time: { source: 'orders', merge: 'sum', ...count(`${inPeriod('delivered_at')} AND promised_delivery_at IS NOT NULL AND delivered_at <= promised_delivery_at`, 'delivered_at') },
  orders_processed: { source: 'orders', merge: 'sum', ...count(`${inPeriod('shipped_at')} AND placed_at IS NOT NULL`, 'shipped_at') },
  orders_processing_ms: { source: 'orders', merge: 'sum', ...sum(hoursBetween('placed_at', 'shipped_at'), `${inPeriod('shipped_at')} AND placed_at IS NOT NULL`, 'shipped_at') },
  orders_processing_p90_h: { source: 'orders', merge: 'stat', ...p90(`${hoursBetween('placed_at', 'shipped_at')} / 3600000`, `${inPeriod('shipped_at')} AND placed_at IS NOT NULL`, 'shipped_at') },
  orders_cycled: { source: 'orders', merge: 'sum', ...count(`${inPeriod('delivered_at')} AND placed_at IS NOT NULL`, 'delivered_at') },
  orders_cycle_ms: { source: 'orders', merge: 'sum', ...sum(hoursBetween('placed_at', 'delivered_at'), `${inPeriod('delivered_at')} AND placed_at IS NOT NULL`, 'delivered_at') },
  orders_cycle_p90_h: { source: 'orders', merge: 'stat', ...p90(`${hoursBetween('placed_at', 'delivered_at')} / 3600000`, `${inPeriod('delivered_at')} AND placed_at IS NOT NULL`, 'delivered_at') },

  // return events with occurred_at in the period
  returns_units: { source: 'returns', merge: 'sum', ...sum('toInt64(quantity)', "type = 'return.received'") },
  returns_amount_minor: { source: 'returns', merge: 'sum', ...money(RETURN_AMOUNT, "type = 'return.received'") },
  returns_refund_minor: { source: 'returns', merge: 'sum', ...money(RETURN_AMOUNT, "type = 'refund.issued'") },
  returns_requested: { source: 'returns', merge: 'sum', ...count("type = 'return.requested'") },

  // ticket events with occurred_at in the period
  tickets_opened: { source: 'ticket_events', merge: 'sum', ...count("type = 'ticket.opened'") },
  tickets_complaints: { source: 'ticket_events', merge: 'sum', ...count("type = 'ticket.opened' AND is_complaint") },
  tickets_ratings: { source: 'ticket_events', merge: 'sum', ...count("type = 'ticket.rated' AND rating IS NOT NULL") },
  tickets_rating_sum: { source: 'ticket_events', merge: 'sum', ...sum('toInt64(assumeNotNull(rating))', "type = 'ticket.rated' AND rating IS NOT NULL") },
  tickets_ratings_good: { source: 'ticket_events', merge: 'sum', ...count("type = 'ticket.rated' AND rating >= 4") },
  tickets_resolutions: { source: 'ticket_events', merge: 'sum', ...count("type = 'ticket.resolved'") },
  tickets_reopens: { source: 'ticket_events', merge: 'sum', ...count("type = 'ticket.reopened'") },

  // tickets, each once: first response and last resolution
  tickets_answered: { source: 'tickets', merge: 'sum', ...count(`${inPeriod('first_response_at')} AND opened_at IS NOT NULL`, 'first_response_at') },
  tickets_response_ms: { source: 'tickets', merge: 'sum', ...sum(hoursBetween('opened_at', 'first_response_at'), `${inPeriod('first_response_at')} AND opened_at IS NOT NULL`, 'first_response_at') },
  tickets_response_p90_h: { source: 'tickets', merge: 'stat', ...p90(`${hoursBetween('opened_at', 'first_response_at')} / 3600000`, `${inPeriod('first_response_at')} AND opened_at IS NOT NULL`, 'first_response_at') },
  tickets_answered_in_sla: {
    source: 'tickets',
    merge: 'sum',
    ...count(`${inPeriod('first_response_at')} AND opened_at IS NOT NULL AND ${hoursBetween('opened_at', 'first_response_at')} <= ${slaHoursSql} * 3600000`, 'first_response_at'),
  },
  tickets_resolved: { source: 'tickets', merge: 'sum', ...count(`${inPeriod('resolved_at')} AND opened_at IS NOT NULL`, 'resolved_at') },
  tickets_resolution_ms: { source: 'tickets', merge: 'sum', ...sum(hoursBetween('opened_at', 'resolved_at'), `${inPeriod('resolved_at')} AND opened_at IS NOT NULL`, 'resolved_at') },
  tickets_resolution_p90_h: { source: 'tickets', merge: 'stat', ...p90(`${hoursBetween('opened_at', 'resolved_at')} / 3600000`, `${inPeriod('resolved_at')} AND opened_at IS NOT NULL`, 'resolved_at') },

  // targets, imported in the KPI's value unit (yuan), here in minor units like the sales they divide
  target_net_sales_minor: { source: 'targets', merge: 'stat', ...target('net_sales') },
  target_gross_profit_minor: { source: 'targets', merge: 'stat', ...target('gross_profit') },
} as const satisfies Record<string, Measure>;

export type MeasureId = keyof typeof MEASURES;

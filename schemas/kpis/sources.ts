import { inPeriod, type SourceId } from './measures.js';

/**
 * How each event source is read: the tables, the organisation tuple every row carries, and
 * the entities (orders, tickets) built from their events. Shared by the compiler (which
 * reads a period) and the day partials (which read a set of business days). Catalog text.
 */

/** Sources whose rows are events with one tuple each, aggregated per tuple (and FINAL, so a duplicate counts once). */
export const BY_TUPLE: Partial<Record<SourceId, string>> = { sales: 'sale_lines', returns: 'return_events', ticket_events: 'ticket_events' };

/** The organisation tuple of a row: every unit of every level is a set of tuples. */
export const TUPLE = 'region, store, department, channel';

/** An entity's organisation: each column's greatest value over its events (in practice they agree). */
export const ORG = 'max(region) AS region, max(store) AS store, max(department) AS department, max(channel) AS channel';

/** Buyers: customers (who also have a first purchase ever) and members, by the sale lines' key column. */
export const BUYERS = {
  customers: { key: 'customer_id' },
  members: { key: 'member_id' },
} as const;
export type BuyerSource = keyof typeof BUYERS;

/** Entities built from their events: orders and tickets. */
export type EntitySource = 'orders' | 'tickets';

const ENTITY_COLUMNS: Record<EntitySource, { table: string; key: string; steps: string }> = {
  // When each step of an order first happened, and the promise it was made with.
  orders: {
    table: 'order_events',
    key: 'order_id',
    steps:
      "minIfOrNull(occurred_at, type = 'order.placed') AS placed_at, maxOrNull(promised_delivery_at) AS promised_delivery_at, " +
      "minIfOrNull(occurred_at, type = 'order.shipped') AS shipped_at, minIfOrNull(occurred_at, type = 'order.delivered') AS delivered_at, " +
      "minIfOrNull(occurred_at, type = 'order.cancelled') AS cancelled_at",
  },
  // Opened, priority, first response and last resolution.
  tickets: {
    table: 'ticket_events',
    key: 'ticket_id',
    steps:
      "minIfOrNull(occurred_at, type = 'ticket.opened') AS opened_at, maxIfOrNull(priority, type = 'ticket.opened') AS priority, " +
      "minIfOrNull(occurred_at, type = 'ticket.first_response') AS first_response_at, maxIfOrNull(occurred_at, type = 'ticket.resolved') AS resolved_at",
  },
};

export const entityTable = (source: EntitySource): { table: string; key: string } => ENTITY_COLUMNS[source];

/**
 * Every entity with an event where `selected` holds (a condition on its events), each once,
 * from all of its events (an order placed last month and delivered in the period has its
 * placed_at), with the time of its newest event (`newest`); `extra` adds aggregates of its events.
 */
export function entities(source: EntitySource, selected: string, extra = ''): string {
  const { table, key, steps } = ENTITY_COLUMNS[source];
  return `SELECT ${key}, ${ORG}, ${steps}, max(occurred_at) AS newest${extra ? `, ${extra}` : ''} FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${selected}) GROUP BY ${key}`;
}

/** Orders with an event in the period, each once. */
export const ORDERS = entities('orders', inPeriod('occurred_at'));
/** Tickets with an event in the period, each once. */
export const TICKETS = entities('tickets', inPeriod('occurred_at'));

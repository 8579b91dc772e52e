import type { BusinessEvent, Family } from '../../schemas/events/index.js';

/** Raw table of each family. */
export const FAMILY_TABLES: Record<Family, string> = {
  sales: 'sale_lines',
  orders: 'order_events',
  returns: 'return_events',
  tickets: 'ticket_events',
};

export interface SourceCoordinates {
  partition: number;
  offset: string;
}

/** ISO-8601 with any offset → ClickHouse DateTime64(3, 'UTC') text. */
export function toUtc(iso: string): string {
  return new Date(Date.parse(iso)).toISOString().replace('T', ' ').replace('Z', '');
}

type Row = Record<string, string | number | boolean | null>;

function common(event: BusinessEvent, source: SourceCoordinates): Row {
  return {
    event_id: event.event_id,
    event_version: event.version,
    occurred_at: toUtc(event.occurred_at),
    region: event.org.region,
    store: event.org.store,
    department: event.org.department,
    channel: event.org.channel,
    producer: event.producer,
    source_partition: source.partition,
    source_offset: source.offset,
  };
}

/**
 * The rows one valid event becomes in its family's table: one per sale line for sales,
 * one per event otherwise. Pure; money stays integer minor units.
 */
export function eventRows(event: BusinessEvent, source: SourceCoordinates): Row[] {
  const base = common(event, source);
  switch (event.type) {
    case 'sale.completed': {
      const p = event.payload;
      const v2 = event.version === 2 ? event.payload : undefined;
      return p.lines.map((line) => ({
        ...base,
        sale_id: p.sale_id,
        line_no: line.line_no,
        customer_id: p.customer_id ?? null,
        member_id: p.member_id ?? null,
        order_id: v2?.order_id ?? null,
        payment_method: v2?.payment_method ?? '',
        currency: p.currency,
        sku: line.sku,
        category: line.category,
        quantity: line.quantity,
        unit_price_minor: line.unit_price_minor,
        discount_minor: line.discount_minor,
        unit_cost_minor: line.unit_cost_minor ?? null,
        net_minor: line.quantity * line.unit_price_minor - line.discount_minor,
      }));
    }
    case 'order.placed':
    case 'order.shipped':
    case 'order.delivered':
    case 'order.cancelled': {
      const row: Row = {
        ...base,
        type: event.type,
        order_id: event.payload.order_id,
        customer_id: null,
        item_count: null,
        promised_delivery_at: null,
        carrier: null,
        cancel_reason: null,
      };
      if (event.type === 'order.placed') {
        row['customer_id'] = event.payload.customer_id ?? null;
        row['item_count'] = event.payload.item_count;
        row['promised_delivery_at'] = toUtc(event.payload.promised_delivery_at);
      } else if (event.type === 'order.shipped') row['carrier'] = event.payload.carrier ?? null;
      else if (event.type === 'order.cancelled') row['cancel_reason'] = event.payload.reason;
      return [row];
    }
    case 'return.requested':
      return [{ ...base, type: event.type, return_id: event.payload.return_id, sale_id: event.payload.sale_id ?? null, order_id: event.payload.order_id ?? null, sku: null, quantity: 0, amount_minor: 0, reason: event.payload.reason }];
    case 'return.received':
      return [{ ...base, type: event.type, return_id: event.payload.return_id, sale_id: null, order_id: null, sku: event.payload.sku, quantity: event.payload.quantity, amount_minor: event.payload.amount_minor, reason: event.payload.reason }];
    case 'refund.issued':
      return [{ ...base, type: event.type, return_id: event.payload.return_id, sale_id: null, order_id: null, sku: null, quantity: 0, amount_minor: event.payload.amount_minor, reason: null }];
    case 'ticket.opened':
      return [{ ...base, type: event.type, ticket_id: event.payload.ticket_id, category: event.payload.category, is_complaint: event.payload.is_complaint, priority: event.payload.priority, order_id: event.payload.order_id ?? null, customer_id: event.payload.customer_id ?? null, rating: null }];
    case 'ticket.rated':
      return [{ ...base, type: event.type, ticket_id: event.payload.ticket_id, category: null, is_complaint: null, priority: null, order_id: null, customer_id: null, rating: event.payload.rating }];
    case 'ticket.first_response':
    case 'ticket.resolved':
    case 'ticket.reopened':
      return [{ ...base, type: event.type, ticket_id: event.payload.ticket_id, category: null, is_complaint: null, priority: null, order_id: null, customer_id: null, rating: null }];
  }
}

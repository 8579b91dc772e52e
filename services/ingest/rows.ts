import type { BusinessEvent, Family } from '../../schemas/events/index.js';
import { microsPerMinor, roundHalfAwayFromZero, roundMicrosToMinor, saleLineMoney } from '../../schemas/events/money.js';
import { toMicros } from '../../schemas/events/common.js';

/** Raw table of each family. */
export const FAMILY_TABLES: Record<Family, string> = {
  sales: 'sale_lines',
  orders: 'order_events',
  returns: 'return_events',
  tickets: 'ticket_events',
};

const COMMON_COLUMNS = ['event_id', 'event_version', 'occurred_at', 'region', 'store', 'department', 'channel', 'producer', 'source_partition', 'source_offset'] as const;

/**
 * Every column `eventRows` may fill, per family table, in the order ingest writes them. A
 * row without one of them (a v1 sale has no micro amounts) writes NULL there, which is
 * each such column's default; `ingested_at` is left to the table.
 */
export const FAMILY_COLUMNS: Record<Family, readonly string[]> = {
  sales: [
    ...COMMON_COLUMNS,
    'sale_id', 'line_no', 'customer_id', 'member_id', 'order_id', 'payment_method', 'currency', 'sku', 'category', 'quantity',
    'unit_price_minor', 'discount_minor', 'unit_cost_minor', 'net_minor', 'unit_price_micro', 'gross_micro', 'net_micro', 'cost_micro',
  ],
  orders: [...COMMON_COLUMNS, 'type', 'order_id', 'customer_id', 'item_count', 'promised_delivery_at', 'carrier', 'cancel_reason'],
  returns: [...COMMON_COLUMNS, 'type', 'return_id', 'sale_id', 'order_id', 'sku', 'quantity', 'amount_minor', 'currency', 'amount_micro', 'reason'],
  tickets: [...COMMON_COLUMNS, 'type', 'ticket_id', 'category', 'is_complaint', 'priority', 'order_id', 'customer_id', 'rating'],
};

export interface SourceCoordinates {
  partition: number;
  offset: string;
}

/** ISO-8601 with any offset → ClickHouse DateTime64(3, 'UTC') text. */
export function toUtc(iso: string): string {
  return utcText(Date.parse(iso));
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/**
 * Epoch ms (years 0–9999) → `YYYY-MM-DD hh:mm:ss.sss` in UTC, by arithmetic on the day
 * number (the civil-from-days algorithm) rather than through Date's ISO text, which costs
 * several times more and runs for every event ingested.
 */
export function utcText(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const inDay = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1_460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const h = Math.floor(inDay / 3_600_000);
  const m = Math.floor((inDay % 3_600_000) / 60_000);
  const sec = Math.floor((inDay % 60_000) / 1_000);
  const milli = inDay % 1_000;
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)} ${pad2(h)}:${pad2(m)}:${pad2(sec)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}`;
}

type Row = Record<string, string | number | boolean | null>;

/**
 * The rows one valid event becomes in its family's table: one per sale line for sales,
 * one per event otherwise. Pure; money stays exact (minor units, and micros for decimal
 * amounts, written as decimal text because they pass 2^53). Each row is one object
 * literal with every column it fills (no spreads): this runs for every event ingested, and V8
 * builds a literal of fixed shape many times faster than a spread plus added fields.
 */
export function eventRows(event: BusinessEvent, source: SourceCoordinates): Row[] {
  const { event_id, version: event_version, producer } = event;
  const { region, store, department, channel } = event.org;
  const occurred_at = toUtc(event.occurred_at);
  const source_partition = source.partition;
  const source_offset = source.offset;
  switch (event.type) {
    case 'sale.completed': {
      const p = event.payload;
      const customer_id = p.customer_id ?? null;
      const member_id = p.member_id ?? null;
      const order_id = event.version === 1 ? null : (event.payload.order_id ?? null);
      const payment_method = event.version === 1 ? '' : (event.payload.payment_method ?? '');
      if (event.version !== 3) {
        return event.payload.lines.map((line) => ({
          event_id, event_version, occurred_at, region, store, department, channel, producer, source_partition, source_offset,
          sale_id: p.sale_id,
          line_no: line.line_no,
          customer_id,
          member_id,
          order_id,
          payment_method,
          currency: p.currency,
          sku: line.sku,
          category: line.category,
          quantity: line.quantity,
          unit_price_minor: line.unit_price_minor,
          discount_minor: line.discount_minor,
          unit_cost_minor: line.unit_cost_minor ?? null,
          net_minor: line.quantity * line.unit_price_minor - line.discount_minor,
          // Exact in the minor-unit columns: the micro columns are left to their NULL default,
          // and queries derive micros from minor units.
        }));
      }
      // v3: exact micros (as decimal text, Int128 in the table) and, for reading, the
      // amounts rounded to the currency's minor unit (its size looked up once per sale).
      const perMinor = microsPerMinor(p.currency);
      const minor = (micros: bigint): string => roundHalfAwayFromZero(micros, perMinor).toString();
      const { sale_id, currency } = p;
      return event.payload.lines.map((line) => {
        const m = saleLineMoney(event, line);
        return {
          event_id, event_version, occurred_at, region, store, department, channel, producer, source_partition, source_offset,
          sale_id,
          line_no: line.line_no,
          customer_id,
          member_id,
          order_id,
          payment_method,
          currency,
          sku: line.sku,
          category: line.category,
          quantity: line.quantity,
          unit_price_minor: minor(m.unitPrice),
          discount_minor: minor(m.discount),
          unit_cost_minor: m.unitCost === null ? null : minor(m.unitCost),
          net_minor: minor(m.net),
          unit_price_micro: m.unitPrice.toString(),
          gross_micro: m.gross.toString(),
          net_micro: m.net.toString(),
          cost_micro: m.cost === null ? null : m.cost.toString(),
        };
      });
    }
    case 'order.placed':
    case 'order.shipped':
    case 'order.delivered':
    case 'order.cancelled': {
      const placed = event.type === 'order.placed' ? event.payload : undefined;
      return [
        {
          event_id, event_version, occurred_at, region, store, department, channel, producer, source_partition, source_offset,
          type: event.type,
          order_id: event.payload.order_id,
          customer_id: placed?.customer_id ?? null,
          item_count: placed?.item_count ?? null,
          promised_delivery_at: placed ? toUtc(placed.promised_delivery_at) : null,
          carrier: event.type === 'order.shipped' ? (event.payload.carrier ?? null) : null,
          cancel_reason: event.type === 'order.cancelled' ? event.payload.reason : null,
        },
      ];
    }
    case 'return.requested':
    case 'return.received':
    case 'refund.issued': {
      const requested = event.type === 'return.requested' ? event.payload : undefined;
      const received = event.type === 'return.received' ? event.payload : undefined;
      // v2 amounts are decimals in a named currency: exact micros, and minor units rounded for reading.
      const decimal = 'amount' in event.payload ? event.payload : undefined;
      const micros = decimal ? toMicros(decimal.amount) : null;
      return [
        {
          event_id, event_version, occurred_at, region, store, department, channel, producer, source_partition, source_offset,
          type: event.type,
          return_id: event.payload.return_id,
          sale_id: requested?.sale_id ?? null,
          order_id: requested?.order_id ?? null,
          sku: received?.sku ?? null,
          quantity: received?.quantity ?? 0,
          amount_minor: decimal && micros !== null ? roundMicrosToMinor(micros, decimal.currency).toString() : 'amount_minor' in event.payload ? event.payload.amount_minor : 0,
          currency: decimal?.currency ?? '',
          amount_micro: micros === null ? null : micros.toString(),
          reason: requested?.reason ?? received?.reason ?? null,
        },
      ];
    }
    case 'ticket.opened':
    case 'ticket.first_response':
    case 'ticket.resolved':
    case 'ticket.reopened':
    case 'ticket.rated': {
      const opened = event.type === 'ticket.opened' ? event.payload : undefined;
      return [
        {
          event_id, event_version, occurred_at, region, store, department, channel, producer, source_partition, source_offset,
          type: event.type,
          ticket_id: event.payload.ticket_id,
          category: opened?.category ?? null,
          is_complaint: opened?.is_complaint ?? null,
          priority: opened?.priority ?? null,
          order_id: opened?.order_id ?? null,
          customer_id: opened?.customer_id ?? null,
          rating: event.type === 'ticket.rated' ? event.payload.rating : null,
        },
      ];
    }
  }
}

/**
 * Valid events of every type and version, written out by hand from the contracts so tests
 * state what a producer sends rather than what the code happens to accept. Each call
 * returns fresh objects: tests change them freely.
 */

export type Json = Record<string, unknown>;

/** The reject codes the contract promises, written out here rather than imported. */
export const REJECT_CODES = [
  'oversized',
  'invalid_utf8',
  'invalid_json',
  'not_an_object',
  'unknown_topic',
  'unknown_type',
  'unknown_version',
  'wrong_topic',
  'schema_violation',
  'timestamp_out_of_range',
] as const;

/** Topic names as producers configure them. */
export const TOPIC = {
  sales: 'kpi.sales.v1',
  orders: 'kpi.orders.v1',
  returns: 'kpi.returns.v1',
  tickets: 'kpi.support-tickets.v1',
} as const;

/** Local time in Shanghai; 01:30 UTC. */
export const OCCURRED_AT = '2026-07-15T09:30:00+08:00';

/** Broker timestamp of the message that carries a sample: ten minutes after the event. */
export const SENT_AT_MS = Date.UTC(2026, 6, 15, 1, 40);

export interface Sample {
  type: string;
  version: number;
  topic: string;
  /** What the producer sends. */
  event: Json;
  /** What a consumer gets after validation: the same, with defaults filled in. */
  decoded: Json;
}

export function org(): Json {
  return { region: 'east', store: 'sh-001', department: 'retail', channel: 'store' };
}

export function envelope(type: string, version: number, payload: Json, overrides: Json = {}): Json {
  return {
    event_id: `evt-${type}-v${version}-0001`,
    type,
    version,
    occurred_at: OCCURRED_AT,
    producer: 'pos-gateway',
    org: org(),
    payload,
    ...overrides,
  };
}

/** A sale line: 2 × 12.50 CNY with 2.50 off. */
export function saleLine(overrides: Json = {}): Json {
  return { line_no: 1, sku: 'SKU-1001', category: 'Snacks', quantity: 2, unit_price_minor: 1_250, discount_minor: 250, unit_cost_minor: 800, ...overrides };
}

/** A second line without a discount; `discount_minor` defaults to 0. */
function plainLine(): Json {
  return { line_no: 2, sku: 'SKU-2002', category: '饮料', quantity: 1, unit_price_minor: 599 };
}

export function salePayloadV1(overrides: Json = {}): Json {
  return { sale_id: 'S-20260715-0042', customer_id: 'C-77', currency: 'CNY', lines: [saleLine(), plainLine()], ...overrides };
}

export function salePayloadV2(overrides: Json = {}): Json {
  return { ...salePayloadV1(), member_id: 'M-5', order_id: 'O-9001', payment_method: 'wallet', ...overrides };
}

/** A v3 sale line: 2 × 12.50 CNY with 2.50 off, prices as decimal strings. */
export function saleLineV3(overrides: Json = {}): Json {
  return { line_no: 1, sku: 'SKU-1001', category: 'Snacks', quantity: 2, unit_price: '12.50', discount: '2.50', unit_cost: '8', ...overrides };
}

/** A v3 line priced below a fen (1,000 × 0.001 CNY), without a discount; `discount` defaults to "0". */
function plainLineV3(): Json {
  return { line_no: 2, sku: 'SKU-3003', category: '螺丝', quantity: 1_000, unit_price: '0.001' };
}

/** v3 leaves out the payment method, which it makes optional. */
export function salePayloadV3(overrides: Json = {}): Json {
  return { sale_id: 'S-20260715-0042', customer_id: 'C-77', member_id: 'M-5', order_id: 'O-9001', currency: 'CNY', lines: [saleLineV3(), plainLineV3()], ...overrides };
}

function sale(version: 1 | 2 | 3): Sample {
  if (version === 3) {
    const payload = salePayloadV3();
    const decodedPayload = { ...payload, lines: [saleLineV3(), { ...plainLineV3(), discount: '0' }] };
    return { type: 'sale.completed', version, topic: TOPIC.sales, event: envelope('sale.completed', 3, payload), decoded: envelope('sale.completed', 3, decodedPayload) };
  }
  const payload = version === 1 ? salePayloadV1() : salePayloadV2();
  const decodedPayload = { ...payload, lines: [saleLine(), { ...plainLine(), discount_minor: 0 }] };
  return { type: 'sale.completed', version, topic: TOPIC.sales, event: envelope('sale.completed', version, payload), decoded: envelope('sale.completed', version, decodedPayload) };
}

/** An event that decodes to itself: no defaulted field left out. */
function same(type: string, topic: string, payload: Json, version = 1): Sample {
  return { type, version, topic, event: envelope(type, version, payload), decoded: envelope(type, version, { ...payload }) };
}

export function samples(): Sample[] {
  return [
    sale(1),
    sale(2),
    sale(3),
    same('order.placed', TOPIC.orders, { order_id: 'O-9001', customer_id: 'C-77', item_count: 3, promised_delivery_at: '2026-07-17T18:00:00+08:00' }),
    same('order.shipped', TOPIC.orders, { order_id: 'O-9001', carrier: 'SF Express' }),
    same('order.delivered', TOPIC.orders, { order_id: 'O-9001' }),
    same('order.cancelled', TOPIC.orders, { order_id: 'O-9002', reason: 'customer changed their mind' }),
    same('return.requested', TOPIC.returns, { return_id: 'R-31', sale_id: 'S-20260715-0042', reason: 'damaged in transit' }),
    same('return.received', TOPIC.returns, { return_id: 'R-31', sku: 'SKU-1001', quantity: 1, amount_minor: 1_125, reason: 'damaged in transit' }),
    same('return.received', TOPIC.returns, { return_id: 'R-32', sku: 'SKU-3003', quantity: 500, amount: '0.5', currency: 'CNY', reason: 'wrong size' }, 2),
    same('refund.issued', TOPIC.returns, { return_id: 'R-31', amount_minor: 1_125 }),
    same('refund.issued', TOPIC.returns, { return_id: 'R-33', amount: '88.80', currency: 'HKD' }, 2),
    same('ticket.opened', TOPIC.tickets, { ticket_id: 'T-501', category: 'delivery', is_complaint: true, priority: 'high', order_id: 'O-9001' }),
    same('ticket.first_response', TOPIC.tickets, { ticket_id: 'T-501' }),
    same('ticket.resolved', TOPIC.tickets, { ticket_id: 'T-501' }),
    same('ticket.reopened', TOPIC.tickets, { ticket_id: 'T-501' }),
    same('ticket.rated', TOPIC.tickets, { ticket_id: 'T-501', rating: 5 }),
  ];
}

/** The sample of one type and version. */
export function sample(type: string, version = 1): Sample {
  const found = samples().find((s) => s.type === type && s.version === version);
  if (!found) throw new Error(`no sample for ${type} v${version}`);
  return found;
}

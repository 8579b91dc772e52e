import { REJECT_REASONS, decodeEvent, type DecodeResult } from '../../../schemas/events/decode.js';
import { EVENT_SCHEMAS } from '../../../schemas/events/registry.js';
import { OCCURRED_AT, REJECT_CODES, SENT_AT_MS, TOPIC, envelope, org, sample, saleLine, saleLineV3, salePayloadV1, salePayloadV2, salePayloadV3, samples, type Json } from './sample-events.js';

// Expected outcomes below follow the written contract (schemas/events/*.ts), stated here by
// value: limits, codes and topics are literals, never read back from the code under test.

/** Largest accepted message: 8 MiB. */
const MAX_EVENT_BYTES = 8_388_608;

/** Most lines one sale may carry, in every version. */
const MAX_SALE_LINES = 10_000;

const CODES = REJECT_CODES;
type Code = (typeof CODES)[number];

const FAMILY_OF_TOPIC: Record<string, string> = {
  'kpi.sales.v1': 'sales',
  'kpi.orders.v1': 'orders',
  'kpi.returns.v1': 'returns',
  'kpi.support-tickets.v1': 'tickets',
};

const encoder = new TextEncoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);
const json = (value: unknown): Uint8Array => bytes(JSON.stringify(value));
const concat = (...parts: (string | number[])[]): Uint8Array =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...bytes(p)] : p)));

function decode(value: Uint8Array | null, topic: string = TOPIC.sales, timestampMs: number = SENT_AT_MS): DecodeResult {
  return decodeEvent(value, { topic, timestampMs });
}

function rejection(result: DecodeResult): { code: string; reason: string } {
  if (result.ok) throw new Error(`expected a rejection, but ${result.event.type} v${result.event.version} was accepted`);
  return result;
}

function accepted(result: DecodeResult): Json {
  if (!result.ok) throw new Error(`expected acceptance, got ${result.code}: ${result.reason}`);
  return result.event;
}

function without(obj: Json, key: string): Json {
  const copy = { ...obj };
  delete copy[key];
  return copy;
}

/** A sale.completed v2 with payload fields replaced. */
const saleV2 = (payload: Json = {}, overrides: Json = {}): Json => envelope('sale.completed', 2, salePayloadV2(payload), overrides);
/** A sale.completed v2 whose only line has the given fields replaced. */
const saleWithLine = (line: Json): Json => saleV2({ lines: [saleLine(line)] });
/** A sale.completed v3 with payload fields replaced. */
const saleV3 = (payload: Json = {}, overrides: Json = {}): Json => envelope('sale.completed', 3, salePayloadV3(payload), overrides);
/** A sale.completed v3 whose only line has the given fields replaced. */
const saleV3WithLine = (line: Json): Json => saleV3({ lines: [saleLineV3(line)] });
const returnReceivedV2 = (payload: Json = {}): Json =>
  envelope('return.received', 2, { return_id: 'R-1', sku: 'A', quantity: 1, amount: '11.25', currency: 'CNY', reason: 'x', ...payload });
const refundIssuedV2 = (payload: Json = {}, overrides: Json = {}): Json => envelope('refund.issued', 2, { return_id: 'R-1', amount: '11.25', currency: 'CNY', ...payload }, overrides);
const ticketRated = (rating: unknown): Json => envelope('ticket.rated', 1, { ticket_id: 'T-501', rating });
/** Lines as small as the contract allows, so that many fit in one message. */
const shortLines = (n: number): Json[] =>
  Array.from({ length: n }, (_, i) => ({ line_no: i + 1, sku: 'A', category: 'x', quantity: 1, unit_price_minor: 1 }));
/** v3 lines as a wholesale invoice writes them: every field, prices with six decimals. */
const fullLinesV3 = (n: number): Json[] =>
  Array.from({ length: n }, (_, i) =>
    saleLineV3({ line_no: i + 1, sku: `SKU-${String(i).padStart(6, '0')}`, category: '五金 Hardware', quantity: 1 + (i % 500), unit_price: '12.345678', discount: '0.000001', unit_cost: '8.000001' }),
  );
/** A JSON text padded with spaces (still valid JSON) to exactly `size` bytes. */
function padded(value: unknown, size: number): Uint8Array {
  const text = JSON.stringify(value);
  return bytes(text + ' '.repeat(size - bytes(text).length));
}

describe('decodeEvent accepts', () => {
  it('has a sample for every event type and version of the registry', () => {
    const registered = Object.entries(EVENT_SCHEMAS).flatMap(([type, entry]) => Object.keys(entry.versions).map((v) => `${type} v${v}`));
    expect(samples().map((s) => `${s.type} v${s.version}`).sort()).toEqual(registered.sort());
  });

  it.each(samples().map((s) => [`${s.type} v${s.version}`, s] as const))('a valid %s on its topic, with defaults filled in', (_name, s) => {
    const result = decode(json(s.event), s.topic);
    expect(result).toEqual({ ok: true, family: FAMILY_OF_TOPIC[s.topic], event: s.decoded });
  });

  it.each([
    ['optional fields left out', envelope('sale.completed', 1, { sale_id: 'S-1', currency: 'CNY', lines: [{ line_no: 1, sku: 'A', category: 'x', quantity: 1, unit_price_minor: 0 }] })],
    ['a discount equal to the line amount', saleWithLine({ quantity: 2, unit_price_minor: 1_250, discount_minor: 2_500 })],
    ['the largest quantity and line number', saleWithLine({ line_no: 65_535, quantity: 100_000, unit_price_minor: 10_000_000_000, discount_minor: 0 })],
    ['the largest unit price', saleWithLine({ quantity: 1, unit_price_minor: 10_000_000_000_000, discount_minor: 10_000_000_000_000, unit_cost_minor: 10_000_000_000_000 })],
    ['a line amount of exactly 10^15 minor units', saleWithLine({ quantity: 100, unit_price_minor: 10_000_000_000_000 })],
    ['10,000 short lines in a v2 sale', saleV2({ lines: shortLines(MAX_SALE_LINES) })],
    ['10,000 short lines in a v1 sale', envelope('sale.completed', 1, salePayloadV1({ lines: shortLines(MAX_SALE_LINES) }))],
    ['a 128-character event id and 64-character entity ids', saleV2({ sale_id: `S${'9'.repeat(63)}` }, { event_id: `e${'.:_-9'.repeat(25)}xx` })],
    ['a 120-character label in any script', saleWithLine({ category: '零食 & Café — 50% off'.padEnd(120, '·') })],
    ['UTC written as Z', saleV2({}, { occurred_at: '2026-07-15T01:30:00Z' })],
    ['nanosecond fractions', saleV2({}, { occurred_at: '2026-07-15T09:30:00.123456789+08:00' })],
    ['29 February of a leap year', saleV2({}, { occurred_at: '2024-02-29T12:00:00+08:00' })],
    ['the first instant of 2000, UTC', saleV2({}, { occurred_at: '2000-01-01T00:00:00Z' })],
    ['a local time in 1999 that is already 2000 in UTC', saleV2({}, { occurred_at: '1999-12-31T23:59:59-01:00' })],
    ['a late event, years before its message', saleV2({}, { occurred_at: '2001-03-04T05:06:07+08:00' })],
    ['an event stamped exactly 24 h after its message (clock skew)', saleV2({}, { occurred_at: '2026-07-16T09:40:00+08:00' })],
  ])('%s', (_name, event) => {
    expect(decode(json(event)).ok).toBe(true);
  });

  it('a rating from 1 to 5', () => {
    for (const rating of [1, 2, 3, 4, 5]) expect(decode(json(ticketRated(rating)), TOPIC.tickets).ok).toBe(true);
  });

  it('a promised delivery far ahead: only occurred_at is bound to the message time', () => {
    const event = envelope('order.placed', 1, { order_id: 'O-1', item_count: 1, promised_delivery_at: '2031-01-01T00:00:00+08:00' });
    expect(decode(json(event), TOPIC.orders).ok).toBe(true);
  });

  it('a version written as 2.0, which JSON reads as the number 2', () => {
    const text = JSON.stringify(saleV2()).replace('"version":2', '"version":2.0');
    expect(text).toContain('"version":2.0');
    expect(accepted(decode(bytes(text)))['version']).toBe(2);
  });

  it(`a message of exactly ${MAX_EVENT_BYTES} bytes`, () => {
    const value = padded(saleV2(), MAX_EVENT_BYTES);
    expect(value.length).toBe(MAX_EVENT_BYTES);
    expect(decode(value).ok).toBe(true);
  });

  it('keeps the text as sent: no trimming or normalising of ids and labels', () => {
    const event = accepted(decode(json(saleWithLine({ category: ' Snacks  ' }))));
    expect(event).toMatchObject({ payload: { lines: [{ category: ' Snacks  ' }] } });
  });
});

describe('decodeEvent reads decimal money (sale v3, return and refund v2)', () => {
  it.each([
    ['a tenth of a fen', '0.001'],
    ['a millionth', '0.000001'],
    ['six decimals', '12.345678'],
    ['a whole amount', '12'],
    ['trailing zeros', '12.500000'],
    ['zero', '0'],
    ['the largest amount, 10^13', '10000000000000'],
  ])('a unit price of %s ("%s"), kept as written', (_name, price) => {
    const event = accepted(decode(json(saleV3WithLine({ quantity: 1, unit_price: price, discount: '0', unit_cost: price }))));
    expect(event).toMatchObject({ payload: { lines: [{ unit_price: price, discount: '0', unit_cost: price }] } });
  });

  it('a discount equal to the line amount, to the millionth', () => {
    expect(decode(json(saleV3WithLine({ quantity: 3, unit_price: '0.333333', discount: '0.999999' }))).ok).toBe(true);
  });

  it('fills in a left-out discount as "0" and leaves a left-out unit cost out', () => {
    const event = accepted(decode(json(saleV3({ lines: [without(without(saleLineV3(), 'discount'), 'unit_cost')] }))));
    const [line] = (event['payload'] as { lines: Json[] }).lines;
    expect(line).toEqual({ line_no: 1, sku: 'SKU-1001', category: 'Snacks', quantity: 2, unit_price: '12.50', discount: '0' });
  });

  it('with or without a payment method', () => {
    expect(decode(json(saleV3({ payment_method: 'card' }))).ok).toBe(true);
    expect(accepted(decode(json(saleV3())))['payload']).not.toHaveProperty('payment_method');
  });

  it('in any ISO 4217 currency of a country, whatever its minor unit', () => {
    for (const currency of ['CNY', 'HKD', 'MOP', 'USD', 'JPY', 'KWD']) {
      expect(decode(json(saleV3({ currency }))).ok).toBe(true);
      expect(decode(json(envelope('sale.completed', 1, salePayloadV1({ currency })))).ok).toBe(true);
      expect(decode(json(returnReceivedV2({ currency })), TOPIC.returns).ok).toBe(true);
      expect(decode(json(refundIssuedV2({ currency })), TOPIC.returns).ok).toBe(true);
    }
  });

  it('a return and a refund with a decimal amount and its currency', () => {
    expect(accepted(decode(json(returnReceivedV2({ amount: '0.001', currency: 'HKD' })), TOPIC.returns))['payload']).toMatchObject({ amount: '0.001', currency: 'HKD' });
    expect(accepted(decode(json(refundIssuedV2({ amount: '1234.567891', currency: 'USD' })), TOPIC.returns))['payload']).toMatchObject({ amount: '1234.567891', currency: 'USD' });
  });

  it.each([2_000, MAX_SALE_LINES])('a v3 sale of %i full lines, well within the size limit', (n) => {
    const value = json(saleV3({ lines: fullLinesV3(n) }));
    expect(value.length).toBeLessThan(MAX_EVENT_BYTES);
    const event = accepted(decode(value));
    const lines = (event['payload'] as { lines: Json[] }).lines;
    expect(lines).toHaveLength(n);
    expect(lines.at(-1)).toMatchObject({ line_no: n, unit_price: '12.345678' });
  });

  it('line numbers up to 65,535, in any order', () => {
    const lines = [saleLineV3({ line_no: 65_535 }), saleLineV3({ line_no: 7 }), saleLineV3({ line_no: 1 })];
    expect(decode(json(saleV3({ lines }))).ok).toBe(true);
  });
});

describe('decodeEvent reads the earlier versions as before', () => {
  it.each([
    ['sale.completed', 1, TOPIC.sales],
    ['sale.completed', 2, TOPIC.sales],
    ['return.received', 1, TOPIC.returns],
    ['refund.issued', 1, TOPIC.returns],
  ] as const)('%s v%i: minor units, decoded unchanged', (type, version, topic) => {
    const s = sample(type, version);
    expect(accepted(decode(json(s.event), topic))).toEqual(s.decoded);
  });

  it('still refuses fractional minor units and a v3 field in a v1 sale', () => {
    expect(rejection(decode(json(envelope('sale.completed', 1, salePayloadV1({ lines: [saleLine({ unit_price_minor: 12.5 })] }))))).code).toBe('schema_violation');
    expect(rejection(decode(json(envelope('sale.completed', 1, salePayloadV1({ lines: [saleLine({ unit_price: '12.50' })] }))))).reason).toContain('unit_price');
  });
});

interface RejectCase {
  name: string;
  value: Uint8Array | null;
  code: Code;
  /** Defaults to the sales topic. */
  topic?: string;
  /** Text the reason must contain: for a schema violation, the path of the offending field. */
  mentions?: string[];
}

const INJECTION = "x'; DROP TABLE sales; --";
const truncated = JSON.stringify(saleV2());

const REJECTS: RejectCase[] = [
  // Size is checked before anything is decoded.
  { name: `${MAX_EVENT_BYTES + 1} bytes of valid JSON`, value: padded(saleV2(), MAX_EVENT_BYTES + 1), code: 'oversized', mentions: ['8388609 bytes', '8388608 allowed'] },
  { name: '9 MiB of garbage', value: new Uint8Array(9 * 1_048_576).fill(0xff), code: 'oversized' },
  { name: 'a megabyte of garbage, within the size limit', value: new Uint8Array(1_048_576).fill(0xff), code: 'invalid_utf8' },

  // Bytes that are not UTF-8, inside otherwise well-formed JSON.
  { name: 'a 0xFF byte', value: concat('{"type":"sale.completed","x":"', [0xff], '"}'), code: 'invalid_utf8', mentions: ['UTF-8'] },
  { name: 'a lone continuation byte', value: concat('{"x":"', [0x80], '"}'), code: 'invalid_utf8' },
  { name: 'an overlong encoding of "/"', value: concat('{"x":"', [0xc0, 0xaf], '"}'), code: 'invalid_utf8' },
  { name: 'a UTF-16 surrogate encoded as UTF-8', value: concat('{"x":"', [0xed, 0xa0, 0x80], '"}'), code: 'invalid_utf8' },
  { name: 'a multi-byte character cut short', value: concat('{"x":"', [0xe4, 0xb8]), code: 'invalid_utf8' },
  { name: 'Latin-1 text', value: concat('{"category":"Caf', [0xe9], '"}'), code: 'invalid_utf8' },

  { name: 'an empty message', value: new Uint8Array(0), code: 'invalid_json', mentions: ['empty'] },
  { name: 'a null value (tombstone)', value: null, code: 'invalid_json', mentions: ['empty'] },
  { name: 'whitespace only', value: bytes('  \n'), code: 'invalid_json' },
  { name: 'plain text', value: bytes('sale completed'), code: 'invalid_json', mentions: ['not JSON'] },
  { name: 'truncated JSON', value: bytes(truncated.slice(0, truncated.length / 2)), code: 'invalid_json', mentions: ['not JSON'] },
  { name: 'JSON missing its closing brace', value: bytes(truncated.slice(0, -1)), code: 'invalid_json' },
  { name: 'single-quoted JSON', value: bytes("{'type': 'sale.completed'}"), code: 'invalid_json' },
  { name: 'a trailing comma', value: bytes('{"type":"sale.completed",}'), code: 'invalid_json' },
  { name: 'NaN as a number', value: bytes('{"type":"ticket.rated","rating":NaN}'), code: 'invalid_json' },
  { name: 'two JSON objects in one message', value: bytes(`${truncated}\n${truncated}`), code: 'invalid_json' },

  { name: 'a JSON array', value: bytes('[]'), code: 'not_an_object', mentions: ['not a JSON object'] },
  { name: 'an array holding an event', value: json([saleV2()]), code: 'not_an_object' },
  { name: 'a JSON number', value: bytes('42'), code: 'not_an_object' },
  { name: 'JSON null', value: bytes('null'), code: 'not_an_object' },
  { name: 'a JSON string', value: bytes('"sale.completed"'), code: 'not_an_object' },
  { name: 'a JSON boolean', value: bytes('true'), code: 'not_an_object' },

  { name: 'a topic of no family', topic: 'kpi.sales.v2', value: json(saleV2()), code: 'unknown_topic', mentions: ['kpi.sales.v2'] },
  { name: 'the dead-letter topic', topic: 'kpi.dead-letters.v1', value: json(saleV2()), code: 'unknown_topic' },
  { name: 'a topic in other case', topic: 'KPI.SALES.V1', value: json(saleV2()), code: 'unknown_topic' },
  { name: 'an unknown topic, before the bytes are looked at', topic: 'orders', value: bytes('not json'), code: 'unknown_topic' },

  { name: 'an unknown type', value: json(saleV2({}, { type: 'sale.refunded' })), code: 'unknown_type', mentions: ['"sale.refunded"'] },
  { name: 'no type', value: json(without(saleV2(), 'type')), code: 'unknown_type' },
  { name: 'a type of the wrong case', value: json(saleV2({}, { type: 'Sale.Completed' })), code: 'unknown_type' },
  { name: 'a numeric type', value: json(saleV2({}, { type: 42 })), code: 'unknown_type' },
  { name: 'an inherited property name as type', value: json(saleV2({}, { type: 'constructor' })), code: 'unknown_type' },
  { name: '__proto__ as type', value: json(saleV2({}, { type: '__proto__' })), code: 'unknown_type' },

  { name: 'an unknown version', value: json(saleV2({}, { version: 9 })), code: 'unknown_version', mentions: ['sale.completed', 'version 9', 'known: 1, 2, 3'] },
  { name: 'a refund version that does not exist', topic: TOPIC.returns, value: json(refundIssuedV2({}, { version: 3 })), code: 'unknown_version', mentions: ['refund.issued', 'version 3', 'known: 1, 2'] },
  { name: 'version 0', value: json(saleV2({}, { version: 0 })), code: 'unknown_version' },
  { name: 'a fractional version', value: json(saleV2({}, { version: 1.5 })), code: 'unknown_version' },
  { name: 'the version as a string', value: json(saleV2({}, { version: '2' })), code: 'unknown_version', mentions: ['"2"'] },
  { name: 'no version', value: json(without(saleV2(), 'version')), code: 'unknown_version' },
  { name: 'a version only another type has', topic: TOPIC.orders, value: json(envelope('order.placed', 2, {})), code: 'unknown_version', mentions: ['known: 1'] },

  { name: 'a sale on the orders topic', topic: TOPIC.orders, value: json(saleV2()), code: 'wrong_topic', mentions: ['sale.completed', 'sales', 'kpi.orders.v1'] },
  { name: 'a rating on the returns topic', topic: TOPIC.returns, value: json(ticketRated(5)), code: 'wrong_topic' },
  { name: 'a refund on the sales topic', value: json(envelope('refund.issued', 1, { return_id: 'R-1', amount_minor: 1 })), code: 'wrong_topic' },

  // Missing fields, at every level.
  { name: 'no producer', value: json(without(saleV2(), 'producer')), code: 'schema_violation', mentions: ['producer'] },
  { name: 'no event_id', value: json(without(saleV2(), 'event_id')), code: 'schema_violation', mentions: ['event_id'] },
  { name: 'no payload', value: json(without(saleV2(), 'payload')), code: 'schema_violation', mentions: ['payload'] },
  { name: 'no org channel', value: json(saleV2({}, { org: without(org(), 'channel') })), code: 'schema_violation', mentions: ['org.channel'] },
  { name: 'no sale_id', value: json(envelope('sale.completed', 2, without(salePayloadV2(), 'sale_id'))), code: 'schema_violation', mentions: ['payload.sale_id'] },
  { name: 'a v2 sale without payment_method', value: json(envelope('sale.completed', 2, without(salePayloadV2(), 'payment_method'))), code: 'schema_violation', mentions: ['payload.payment_method'] },
  { name: 'a line without sku', value: json(saleV2({ lines: [without(saleLine(), 'sku')] })), code: 'schema_violation', mentions: ['payload.lines.0.sku'] },

  // Extra fields, at every level: the contract is closed.
  { name: 'an extra envelope field', value: json(saleV2({}, { trace_id: 'abc' })), code: 'schema_violation', mentions: ['(event)', 'trace_id'] },
  { name: 'an extra payload field', value: json(saleV2({ coupon: 'SUMMER' })), code: 'schema_violation', mentions: ['payload', 'coupon'] },
  { name: 'an extra line field', value: json(saleWithLine({ gift_wrap: true })), code: 'schema_violation', mentions: ['payload.lines.0', 'gift_wrap'] },
  { name: 'an extra org field', value: json(saleV2({}, { org: { ...org(), city: 'Shanghai' } })), code: 'schema_violation', mentions: ['org', 'city'] },
  { name: 'a v2 field in a v1 sale', value: json(envelope('sale.completed', 1, { ...salePayloadV1(), payment_method: 'card' })), code: 'schema_violation', mentions: ['payload', 'payment_method'] },
  { name: 'a __proto__ key in the envelope', value: bytes(`{"__proto__":{"admin":true},${JSON.stringify(saleV2()).slice(1)}`), code: 'schema_violation', mentions: ['__proto__'] },

  // Wrong types.
  { name: 'a quantity as a string', value: json(saleWithLine({ quantity: '2' })), code: 'schema_violation', mentions: ['payload.lines.0.quantity'] },
  { name: 'a boolean as a string', value: json(envelope('ticket.opened', 1, { ticket_id: 'T-1', category: 'x', is_complaint: 'yes', priority: 'low' })), topic: TOPIC.tickets, code: 'schema_violation', mentions: ['payload.is_complaint'] },
  { name: 'occurred_at as epoch milliseconds', value: json(saleV2({}, { occurred_at: 1_784_079_000_000 })), code: 'schema_violation', mentions: ['occurred_at'] },
  { name: 'lines as an object', value: json(saleV2({ lines: { 1: saleLine() } })), code: 'schema_violation', mentions: ['payload.lines'] },
  { name: 'org as a string', value: json(saleV2({}, { org: 'east/sh-001' })), code: 'schema_violation', mentions: ['org'] },
  { name: 'a null optional field', value: json(saleV2({ customer_id: null })), code: 'schema_violation', mentions: ['payload.customer_id'] },
  { name: 'a channel outside the list', value: json(saleV2({}, { org: { ...org(), channel: 'fax' } })), code: 'schema_violation', mentions: ['org.channel'] },
  { name: 'a payment method outside the list', value: json(saleV2({ payment_method: 'bitcoin' })), code: 'schema_violation', mentions: ['payload.payment_method'] },
  { name: 'a priority outside the list', value: json(envelope('ticket.opened', 1, { ticket_id: 'T-1', category: 'x', is_complaint: false, priority: 'critical' })), topic: TOPIC.tickets, code: 'schema_violation', mentions: ['payload.priority'] },
  { name: 'a lower-case currency', value: json(saleV2({ currency: 'cny' })), code: 'schema_violation', mentions: ['payload.currency'] },

  // Quantities and money.
  { name: 'a negative quantity', value: json(saleWithLine({ quantity: -1 })), code: 'schema_violation', mentions: ['payload.lines.0.quantity'] },
  { name: 'a zero quantity', value: json(saleWithLine({ quantity: 0 })), code: 'schema_violation', mentions: ['payload.lines.0.quantity'] },
  { name: 'a fractional quantity', value: json(saleWithLine({ quantity: 1.5 })), code: 'schema_violation', mentions: ['payload.lines.0.quantity', 'whole number'] },
  { name: 'a negative returned quantity', value: json(envelope('return.received', 1, { return_id: 'R-1', sku: 'A', quantity: -3, amount_minor: 100, reason: 'x' })), topic: TOPIC.returns, code: 'schema_violation', mentions: ['payload.quantity'] },
  { name: 'more than 100,000 units', value: json(saleWithLine({ quantity: 100_001 })), code: 'schema_violation', mentions: ['payload.lines.0.quantity'] },
  { name: 'fractional money (a price in yuan)', value: json(saleWithLine({ unit_price_minor: 12.5 })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price_minor', 'integer minor units'] },
  { name: 'a fractional refund', value: json(envelope('refund.issued', 1, { return_id: 'R-1', amount_minor: 1_125.5 })), topic: TOPIC.returns, code: 'schema_violation', mentions: ['payload.amount_minor'] },
  { name: 'negative money', value: json(saleWithLine({ unit_price_minor: -100 })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price_minor'] },
  { name: 'money above 10^13 minor units', value: json(saleWithLine({ unit_price_minor: 10_000_000_000_001 })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price_minor'] },
  { name: 'money as a string', value: json(saleWithLine({ unit_price_minor: '1250' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price_minor'] },
  { name: 'a number too large for JSON to hold', value: bytes(JSON.stringify(saleWithLine({ quantity: 7 })).replace('"quantity":7', '"quantity":1e400')), code: 'schema_violation', mentions: ['payload.lines.0.quantity'] },
  { name: 'a discount greater than the line amount', value: json(saleWithLine({ quantity: 2, unit_price_minor: 1_250, discount_minor: 2_501 })), code: 'schema_violation', mentions: ['payload.lines.0.discount_minor', 'discount exceeds the line amount'] },
  { name: 'duplicate line numbers', value: json(saleV2({ lines: [saleLine({ line_no: 1 }), saleLine({ line_no: 1, sku: 'SKU-2' })] })), code: 'schema_violation', mentions: ['payload.lines', 'line numbers repeat'] },
  { name: 'no lines', value: json(saleV2({ lines: [] })), code: 'schema_violation', mentions: ['payload.lines'] },
  { name: '10,001 lines', value: json(saleV2({ lines: shortLines(MAX_SALE_LINES + 1) })), code: 'schema_violation', mentions: ['payload.lines'] },
  { name: '10,001 lines in a v3 sale', value: json(saleV3({ lines: fullLinesV3(MAX_SALE_LINES + 1) })), code: 'schema_violation', mentions: ['payload.lines'] },
  { name: 'a line amount above 10^15 minor units', value: json(saleWithLine({ quantity: 101, unit_price_minor: 10_000_000_000_000, discount_minor: 0 })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price_minor', 'line amount'] },
  { name: 'line number 0', value: json(saleWithLine({ line_no: 0 })), code: 'schema_violation', mentions: ['payload.lines.0.line_no'] },
  { name: 'line number 65,536', value: json(saleWithLine({ line_no: 65_536 })), code: 'schema_violation', mentions: ['payload.lines.0.line_no'] },
  { name: 'line number 65,536 in a v3 sale', value: json(saleV3WithLine({ line_no: 65_536 })), code: 'schema_violation', mentions: ['payload.lines.0.line_no'] },
  { name: 'no items in an order', value: json(envelope('order.placed', 1, { order_id: 'O-1', item_count: 0, promised_delivery_at: OCCURRED_AT })), topic: TOPIC.orders, code: 'schema_violation', mentions: ['payload.item_count'] },
  { name: 'a rating of 6', value: json(ticketRated(6)), topic: TOPIC.tickets, code: 'schema_violation', mentions: ['payload.rating'] },
  { name: 'a rating of 0', value: json(ticketRated(0)), topic: TOPIC.tickets, code: 'schema_violation', mentions: ['payload.rating'] },
  { name: 'a rating of 4.5', value: json(ticketRated(4.5)), topic: TOPIC.tickets, code: 'schema_violation', mentions: ['payload.rating'] },

  // Decimal money (sale.completed v3, return.received v2, refund.issued v2): a string of
  // digits with at most six decimals, nothing else.
  { name: 'a price with 7 decimals', value: json(saleV3WithLine({ unit_price: '0.0000001' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price', 'at most 6 decimals'] },
  { name: 'a negative price', value: json(saleV3WithLine({ unit_price: '-1.5' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price', 'no sign'] },
  { name: 'a price with a plus sign', value: json(saleV3WithLine({ unit_price: '+1.5' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price'] },
  { name: 'a price with an exponent', value: json(saleV3WithLine({ unit_price: '1e-3' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price', 'no sign or exponent'] },
  { name: 'a price as a JSON number', value: json(saleV3WithLine({ unit_price: 12.5 })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price', 'string'] },
  { name: 'a price with a leading zero', value: json(saleV3WithLine({ unit_price: '01.5' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price'] },
  { name: 'a price without a whole part', value: json(saleV3WithLine({ unit_price: '.5' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price'] },
  { name: 'a price ending in a point', value: json(saleV3WithLine({ unit_price: '1.' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price'] },
  { name: 'a price with a decimal comma', value: json(saleV3WithLine({ unit_price: '1,5' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price'] },
  { name: 'a price with spaces', value: json(saleV3WithLine({ unit_price: ' 1.5' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price'] },
  { name: 'an empty price', value: json(saleV3WithLine({ unit_price: '' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price'] },
  { name: 'a price above 10^13', value: json(saleV3WithLine({ quantity: 1, unit_price: '10000000000000.000001', discount: '0' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price', '10^13'] },
  { name: 'a v3 line amount above 10^13', value: json(saleV3WithLine({ quantity: 2, unit_price: '5000000000000.5', discount: '0' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price', 'line amount exceeds 10^13'] },
  { name: 'a fractional quantity in a v3 line', value: json(saleV3WithLine({ quantity: 1.5 })), code: 'schema_violation', mentions: ['payload.lines.0.quantity', 'whole number'] },
  { name: 'a v3 quantity too large for JSON to hold', value: bytes(JSON.stringify(saleV3WithLine({ quantity: 7 })).replace('"quantity":7', '"quantity":1e400')), code: 'schema_violation', mentions: ['payload.lines.0.quantity'] },
  { name: 'a null price', value: json(saleV3WithLine({ unit_price: null })), code: 'schema_violation', mentions: ['payload.lines.0.unit_price'] },
  { name: 'a negative discount', value: json(saleV3WithLine({ discount: '-2.50' })), code: 'schema_violation', mentions: ['payload.lines.0.discount'] },
  { name: 'a discount as a JSON number', value: json(saleV3WithLine({ discount: 2.5 })), code: 'schema_violation', mentions: ['payload.lines.0.discount'] },
  { name: 'a unit cost with 7 decimals', value: json(saleV3WithLine({ unit_cost: '8.0000001' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_cost'] },
  { name: 'a unit cost with an exponent', value: json(saleV3WithLine({ unit_cost: '8E0' })), code: 'schema_violation', mentions: ['payload.lines.0.unit_cost'] },
  // 2 × 12.50 = 25.00; a millionth more is refused.
  { name: 'a v3 discount greater than the line amount', value: json(saleV3WithLine({ quantity: 2, unit_price: '12.50', discount: '25.000001' })), code: 'schema_violation', mentions: ['payload.lines.0.discount', 'discount exceeds the line amount'] },
  { name: 'minor units in a v3 line', value: json(saleV3WithLine({ unit_price_minor: 1_250 })), code: 'schema_violation', mentions: ['payload.lines.0', 'unit_price_minor'] },
  { name: 'a decimal price in a v2 line', value: json(saleV2({ lines: [saleLineV3()] })), code: 'schema_violation', mentions: ['payload.lines.0', 'unit_price'] },
  { name: 'a v3 sale without currency', value: json(envelope('sale.completed', 3, without(salePayloadV3(), 'currency'))), code: 'schema_violation', mentions: ['payload.currency'] },
  { name: 'a returned amount with 7 decimals', topic: TOPIC.returns, value: json(returnReceivedV2({ amount: '0.1234567' })), code: 'schema_violation', mentions: ['payload.amount'] },
  { name: 'a returned amount as a JSON number', topic: TOPIC.returns, value: json(returnReceivedV2({ amount: 11.25 })), code: 'schema_violation', mentions: ['payload.amount'] },
  { name: 'a negative refund', topic: TOPIC.returns, value: json(refundIssuedV2({ amount: '-11.25' })), code: 'schema_violation', mentions: ['payload.amount'] },
  { name: 'a refund with an exponent', topic: TOPIC.returns, value: json(refundIssuedV2({ amount: '1.125e1' })), code: 'schema_violation', mentions: ['payload.amount'] },
  { name: 'a v2 refund without currency', topic: TOPIC.returns, value: json(envelope('refund.issued', 2, { return_id: 'R-1', amount: '11.25' })), code: 'schema_violation', mentions: ['payload.currency'] },
  { name: 'a v2 refund in minor units', topic: TOPIC.returns, value: json(envelope('refund.issued', 2, { return_id: 'R-1', amount_minor: 1_125, currency: 'CNY' })), code: 'schema_violation', mentions: ['payload', 'amount_minor'] },
  { name: 'a currency in a v1 refund', topic: TOPIC.returns, value: json(envelope('refund.issued', 1, { return_id: 'R-1', amount_minor: 1_125, currency: 'CNY' })), code: 'schema_violation', mentions: ['payload', 'currency'] },
  { name: 'a currency in a v1 return', topic: TOPIC.returns, value: json(envelope('return.received', 1, { return_id: 'R-1', sku: 'A', quantity: 1, amount_minor: 1_125, currency: 'CNY', reason: 'x' })), code: 'schema_violation', mentions: ['payload', 'currency'] },

  // Currencies: only ISO 4217 currencies of a country, refused by name in every version that carries one.
  ...(['XYZ', 'XAU'] as const).flatMap((code): RejectCase[] => {
    const mentions = ['payload.currency', `${code} is not an ISO 4217 currency code`];
    return [
      { name: `${code} in a v1 sale`, value: json(envelope('sale.completed', 1, salePayloadV1({ currency: code }))), code: 'schema_violation', mentions },
      { name: `${code} in a v2 sale`, value: json(saleV2({ currency: code })), code: 'schema_violation', mentions },
      { name: `${code} in a v3 sale`, value: json(saleV3({ currency: code })), code: 'schema_violation', mentions },
      { name: `${code} in a v2 return`, topic: TOPIC.returns, value: json(returnReceivedV2({ currency: code })), code: 'schema_violation', mentions },
      { name: `${code} in a v2 refund`, topic: TOPIC.returns, value: json(refundIssuedV2({ currency: code })), code: 'schema_violation', mentions },
    ];
  }),
  { name: 'the testing code XTS', value: json(saleV3({ currency: 'XTS' })), code: 'schema_violation', mentions: ['payload.currency', 'XTS is not an ISO 4217 currency code'] },
  { name: 'a currency of two letters', value: json(saleV3({ currency: 'CN' })), code: 'schema_violation', mentions: ['payload.currency', 'ISO 4217'] },

  // Times.
  { name: '30 February', value: json(saleV2({}, { occurred_at: '2026-02-30T10:00:00+08:00' })), code: 'schema_violation', mentions: ['occurred_at', 'not a real calendar date'] },
  { name: '29 February of a common year', value: json(saleV2({}, { occurred_at: '2026-02-29T10:00:00+08:00' })), code: 'schema_violation', mentions: ['occurred_at'] },
  { name: 'month 13', value: json(saleV2({}, { occurred_at: '2026-13-01T10:00:00+08:00' })), code: 'schema_violation', mentions: ['occurred_at'] },
  { name: 'hour 24', value: json(saleV2({}, { occurred_at: '2026-07-15T24:00:00Z' })), code: 'schema_violation', mentions: ['occurred_at'] },
  { name: 'a leap second', value: json(saleV2({}, { occurred_at: '2026-06-30T23:59:60Z' })), code: 'schema_violation', mentions: ['occurred_at'] },
  { name: 'an impossible promised delivery date', value: json(envelope('order.placed', 1, { order_id: 'O-1', item_count: 1, promised_delivery_at: '2026-04-31T18:00:00+08:00' })), topic: TOPIC.orders, code: 'schema_violation', mentions: ['payload.promised_delivery_at'] },
  { name: 'a time without offset', value: json(saleV2({}, { occurred_at: '2026-07-15T09:30:00' })), code: 'schema_violation', mentions: ['occurred_at', 'offset'] },
  { name: 'a date without time', value: json(saleV2({}, { occurred_at: '2026-07-15' })), code: 'schema_violation', mentions: ['occurred_at'] },
  { name: 'a space instead of T', value: json(saleV2({}, { occurred_at: '2026-07-15 09:30:00+08:00' })), code: 'schema_violation', mentions: ['occurred_at'] },
  { name: 'a lower-case z', value: json(saleV2({}, { occurred_at: '2026-07-15T01:30:00z' })), code: 'schema_violation', mentions: ['occurred_at'] },
  { name: 'an offset without colon', value: json(saleV2({}, { occurred_at: '2026-07-15T09:30:00+0800' })), code: 'schema_violation', mentions: ['occurred_at'] },
  { name: 'an offset of 99:99', value: json(saleV2({}, { occurred_at: '2026-07-15T09:30:00+99:99' })), code: 'schema_violation', mentions: ['occurred_at'] },
  // Instant itself refuses times before 2000, so this is a schema violation, not a range check.
  { name: 'a time before 2000', value: json(saleV2({}, { occurred_at: '1999-12-31T23:59:59Z' })), code: 'schema_violation', mentions: ['occurred_at', '2000'] },
  { name: 'a local time in 2000 that is 1999 in UTC', value: json(saleV2({}, { occurred_at: '2000-01-01T07:59:59+08:00' })), code: 'schema_violation', mentions: ['occurred_at', '2000'] },
  { name: 'the epoch', value: json(saleV2({}, { occurred_at: '1970-01-01T00:00:00Z' })), code: 'schema_violation', mentions: ['occurred_at'] },

  // Ids and labels: only the documented characters; nothing that could break out of SQL, paths or logs.
  { name: 'SQL in event_id', value: json(saleV2({}, { event_id: INJECTION })), code: 'schema_violation', mentions: ['event_id'] },
  { name: 'SQL in the store id', value: json(saleV2({}, { org: { ...org(), store: INJECTION } })), code: 'schema_violation', mentions: ['org.store'] },
  { name: 'SQL in a sku', value: json(saleWithLine({ sku: "1' OR '1'='1" })), code: 'schema_violation', mentions: ['payload.lines.0.sku'] },
  { name: 'a query placeholder in the region', value: json(saleV2({}, { org: { ...org(), region: '{region: String}' } })), code: 'schema_violation', mentions: ['org.region'] },
  { name: 'a path in producer', value: json(saleV2({}, { producer: '../../etc/passwd' })), code: 'schema_violation', mentions: ['producer'] },
  { name: 'a newline in event_id', value: json(saleV2({}, { event_id: 'evt-1\nevt-2' })), code: 'schema_violation', mentions: ['event_id'] },
  { name: 'an empty event_id', value: json(saleV2({}, { event_id: '' })), code: 'schema_violation', mentions: ['event_id'] },
  { name: 'an event_id starting with a dash', value: json(saleV2({}, { event_id: '-rf' })), code: 'schema_violation', mentions: ['event_id'] },
  { name: 'a 129-character event_id', value: json(saleV2({}, { event_id: `e${'1'.repeat(128)}` })), code: 'schema_violation', mentions: ['event_id'] },
  { name: 'a 65-character entity id', value: json(saleV2({ sale_id: `S${'1'.repeat(64)}` })), code: 'schema_violation', mentions: ['payload.sale_id'] },
  { name: 'a non-ASCII entity id', value: json(saleV2({ sale_id: '销售-1' })), code: 'schema_violation', mentions: ['payload.sale_id'] },
  { name: 'a newline in a category', value: json(saleWithLine({ category: 'Snacks\n' })), code: 'schema_violation', mentions: ['payload.lines.0.category', 'control characters'] },
  { name: 'a NUL in a reason', value: json(envelope('order.cancelled', 1, { order_id: 'O-1', reason: 'out of stock\u0000' })), topic: TOPIC.orders, code: 'schema_violation', mentions: ['payload.reason'] },
  { name: 'a tab in a carrier', value: json(envelope('order.shipped', 1, { order_id: 'O-1', carrier: 'SF\tExpress' })), topic: TOPIC.orders, code: 'schema_violation', mentions: ['payload.carrier'] },
  { name: 'an escape sequence in a category', value: json(saleWithLine({ category: '\u001b[31mred' })), code: 'schema_violation', mentions: ['payload.lines.0.category'] },
  { name: 'DEL in a category', value: json(saleWithLine({ category: 'Snacks\u007f' })), code: 'schema_violation', mentions: ['payload.lines.0.category'] },
  { name: 'a C1 control in a category', value: json(saleWithLine({ category: 'Snacks\u0085' })), code: 'schema_violation', mentions: ['payload.lines.0.category'] },
  { name: 'a lone surrogate in a category', value: bytes(JSON.stringify(saleWithLine({ category: 'SURROGATE' })).replace('SURROGATE', '\\ud800')), code: 'schema_violation', mentions: ['payload.lines.0.category'] },
  { name: 'an empty category', value: json(saleWithLine({ category: '' })), code: 'schema_violation', mentions: ['payload.lines.0.category'] },
  { name: 'a 121-character category', value: json(saleWithLine({ category: 'x'.repeat(121) })), code: 'schema_violation', mentions: ['payload.lines.0.category'] },

  // Clock skew: the message's own timestamp is the reference, 24 h of producer skew allowed.
  { name: 'occurred_at 24 h and 1 ms after the message', value: json(saleV2({}, { occurred_at: '2026-07-16T09:40:00.001+08:00' })), code: 'timestamp_out_of_range', mentions: ['occurred_at', '2026-07-16T09:40:00.001+08:00'] },
  { name: 'occurred_at in 2099', value: json(saleV2({}, { occurred_at: '2099-01-01T00:00:00Z' })), code: 'timestamp_out_of_range', mentions: ['occurred_at'] },
];

describe('decodeEvent rejects', () => {
  it('with every reject code of the contract, each covered by a case below', () => {
    expect([...REJECT_REASONS].sort()).toEqual([...CODES].sort());
    expect([...new Set(REJECTS.map((c) => c.code))].sort()).toEqual([...CODES].sort());
  });

  it.each(REJECTS.map((c) => [c.name, c.code, c] as const))('%s → %s', (_name, code, c) => {
    const result = rejection(decode(c.value, c.topic));
    expect(result.code).toBe(code);
    expect(result.reason.length).toBeGreaterThan(0);
    for (const fragment of c.mentions ?? []) expect(result.reason).toContain(fragment);
    // Same bytes and timestamp, same verdict: a replay decides as the first run did.
    expect(decode(c.value === null ? null : c.value.slice(), c.topic)).toEqual(result);
  });

  it('names the field path of every issue, up to five of them', () => {
    const event = saleV2({ currency: 'cny', lines: [saleLine({ quantity: -1, unit_price_minor: 0.5 })] }, { producer: '', org: { ...org(), channel: 'fax' } });
    const { code, reason } = rejection(decode(json(event)));
    expect(code).toBe('schema_violation');
    for (const field of ['producer', 'org.channel', 'payload.currency', 'payload.lines.0.quantity', 'payload.lines.0.unit_price_minor']) expect(reason).toContain(`${field}: `);
  });

  it('keeps a reason short even when the input is huge', () => {
    const keys = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`extra_field_${i}`, i]));
    const { reason } = rejection(decode(json(saleV2({}, keys))));
    expect(reason.length).toBeLessThanOrEqual(1_001);
  });
});

describe('decodeEvent is deterministic', () => {
  it('gives the same result for the same input and timestamp, accepted or not', () => {
    for (const s of samples()) expect(decode(json(s.event), s.topic)).toEqual(decode(json(s.event), s.topic));
    const bad = json(saleWithLine({ quantity: -1 }));
    expect(decode(bad)).toEqual(decode(bad));
  });

  it('judges time against the message timestamp, not the wall clock', () => {
    const future = json(saleV2({}, { occurred_at: '2040-05-01T12:00:00+08:00' }));
    expect(decode(future, TOPIC.sales, Date.UTC(2040, 4, 1, 4, 0)).ok).toBe(true);
    expect(rejection(decode(future, TOPIC.sales, SENT_AT_MS)).code).toBe('timestamp_out_of_range');

    const today = json(saleV2());
    expect(rejection(decode(today, TOPIC.sales, Date.UTC(2001, 0, 1))).code).toBe('timestamp_out_of_range');
  });

  it('does not change the bytes it is given', () => {
    const value = json(sample('sale.completed', 2).event);
    const copy = value.slice();
    decode(value);
    expect(value).toEqual(copy);
  });
});

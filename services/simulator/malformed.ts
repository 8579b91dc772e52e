import { toMicros } from '../../schemas/events/common.js';
import { MAX_EVENT_BYTES, type RejectReason } from '../../schemas/events/decode.js';
import { EVENT_SCHEMAS, FAMILIES, FAMILY_TOPIC_MAX_BYTES, TOPICS, entityKey, type BusinessEvent, type EventType } from '../../schemas/events/registry.js';
import type { Rng } from './rng.js';

/**
 * A catalog of bad input, each kind built from a valid event, so bad messages look like what
 * a broken producer would send. Every kind must be set aside by `decodeEvent` (`rejectedAs`
 * lists the codes it may get); the tests hold the catalog to that.
 *
 * Kinds that need a sale or a rating turn any other event into one first (same envelope),
 * so every kind works from any valid event; `prefers` says which events it is best built from.
 */

export interface RawMessage {
  topic: string;
  key: string | null;
  value: Buffer;
}

export interface MalformedKindSpec {
  kind: string;
  /** The reject codes decodeEvent may answer with. */
  rejectedAs: readonly RejectReason[];
  /** The event type the kind is most naturally built from. */
  prefers?: EventType;
  /** Most messages of this kind in one run, for kinds that are costly to hold and send. */
  maxPerRun?: number;
  make(rng: Rng, event: BusinessEvent): RawMessage;
}

type Doc = Record<string, unknown>;

const clone = (event: BusinessEvent): Doc => JSON.parse(JSON.stringify(event)) as Doc;
const json = (doc: unknown): Buffer => Buffer.from(JSON.stringify(doc), 'utf8');
const topicOf = (event: BusinessEvent): string => TOPICS[EVENT_SCHEMAS[event.type].family];

/** The nested object at `key`, created when missing. */
function child(doc: Doc, key: string): Doc {
  const value = doc[key];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Doc;
  const created: Doc = {};
  doc[key] = created;
  return created;
}

function linesOf(doc: Doc): Doc[] {
  const lines = child(doc, 'payload')['lines'];
  return Array.isArray(lines) ? (lines as Doc[]) : [];
}

function message(event: BusinessEvent, doc: Doc, topic = topicOf(event)): RawMessage {
  return { topic, key: entityKey(event), value: json(doc) };
}

/** A well-formed sale with the event's envelope; the event itself when it is one. */
function asSale(event: BusinessEvent): BusinessEvent {
  if (event.type === 'sale.completed') return event;
  return {
    event_id: event.event_id,
    type: 'sale.completed',
    version: 2,
    occurred_at: event.occurred_at,
    producer: event.producer,
    org: { ...event.org, department: 'sales' },
    payload: {
      sale_id: `SA-${event.event_id}`,
      payment_method: 'card',
      currency: 'CNY',
      lines: [
        { line_no: 1, sku: 'SKU-AP-001', category: '服装', quantity: 2, unit_price_minor: 19_900, discount_minor: 0, unit_cost_minor: 9_000 },
        { line_no: 2, sku: 'SKU-FD-002', category: '食品', quantity: 3, unit_price_minor: 1_290, discount_minor: 190 },
      ],
    },
  };
}

/** A well-formed CSAT rating with the event's envelope; the event itself when it is one. */
function asRating(event: BusinessEvent): BusinessEvent {
  if (event.type === 'ticket.rated') return event;
  const ticketId = event.type.startsWith('ticket.') ? entityKey(event) : `TK-${event.event_id}`;
  return {
    event_id: event.event_id,
    type: 'ticket.rated',
    version: 1,
    occurred_at: event.occurred_at,
    producer: event.producer,
    org: { ...event.org, department: 'service' },
    payload: { ticket_id: ticketId, rating: 4 },
  };
}

/** Applies `edit` to the first sale line of the event turned sale. */
function editSaleLine(event: BusinessEvent, edit: (line: Doc, doc: Doc) => void): RawMessage {
  const sale = asSale(event);
  const doc = clone(sale);
  const line = linesOf(doc)[0];
  if (line) edit(line, doc);
  return message(sale, doc);
}

/** Replaces occurred_at, keeping everything else. */
function withOccurredAt(event: BusinessEvent, occurredAt: string): RawMessage {
  const doc = clone(event);
  doc['occurred_at'] = occurredAt;
  return message(event, doc);
}

/** Inserts raw bytes right after the opening quote of the producer value. */
function spliceIntoProducer(event: BusinessEvent, bytes: number[]): RawMessage {
  const value = json(event);
  const marker = Buffer.from('"producer":"', 'utf8');
  const at = value.indexOf(marker) + marker.length;
  return { topic: topicOf(event), key: entityKey(event), value: Buffer.concat([value.subarray(0, at), Buffer.from(bytes), value.subarray(at)]) };
}

/** Fen misread as yuan with decimals (19899 → 198.99); never a whole number. */
function asYuan(minor: number): number {
  return minor % 100 === 0 ? minor / 100 + 0.5 : minor / 100;
}

/** Fields the first version of each type requires (besides the envelope). */
const REQUIRED_PAYLOAD_FIELDS: Record<EventType, readonly string[]> = {
  'sale.completed': ['sale_id', 'currency', 'lines'],
  'order.placed': ['order_id', 'item_count', 'promised_delivery_at'],
  'order.shipped': ['order_id'],
  'order.delivered': ['order_id'],
  'order.cancelled': ['order_id', 'reason'],
  'return.requested': ['return_id', 'reason'],
  'return.received': ['return_id', 'sku', 'quantity', 'amount_minor', 'reason'],
  'refund.issued': ['return_id', 'amount_minor'],
  'ticket.opened': ['ticket_id', 'category', 'is_complaint', 'priority'],
  'ticket.first_response': ['ticket_id'],
  'ticket.resolved': ['ticket_id'],
  'ticket.reopened': ['ticket_id'],
  'ticket.rated': ['ticket_id', 'rating'],
};

/** Fields of the later return and refund versions, whose amount is a decimal in a named currency. */
const REQUIRED_DECIMAL_PAYLOAD_FIELDS: Partial<Record<EventType, readonly string[]>> = {
  'return.received': ['return_id', 'sku', 'quantity', 'amount', 'currency', 'reason'],
  'refund.issued': ['return_id', 'amount', 'currency'],
};

/** Fields the event's own version requires, so that deleting one always breaks it. */
function requiredPayloadFields(event: BusinessEvent): readonly string[] {
  const decimal = 'amount' in event.payload ? REQUIRED_DECIMAL_PAYLOAD_FIELDS[event.type] : undefined;
  return decimal ?? REQUIRED_PAYLOAD_FIELDS[event.type];
}

/** True for a decimal-priced (v3) sale line: prices are strings such as "12.90". */
const isDecimalLine = (line: Doc): boolean => typeof line['unit_price'] === 'string';

/** A decimal amount with one digit more than a contract allows ("12.9" → "12.9000001"). */
function tooManyDecimals(amount: unknown): string {
  const text = typeof amount === 'string' ? amount : '0';
  const [whole = '0', fraction = ''] = text.split('.');
  return `${whole}.${fraction.padEnd(6, '0')}1`;
}

/** Unknown type names that look plausible on each family's topic. */
const UNKNOWN_TYPES: Record<string, readonly string[]> = {
  sale: ['sale.voided', 'sale.completed.v3', 'sales.completed'],
  order: ['order.teleported', 'order.updated', 'Order.Placed'],
  return: ['return.lost', 'return.approved'],
  refund: ['refund.reversed'],
  ticket: ['ticket.escalated', 'ticket.merged', 'ticket.closed'],
};

export const MALFORMED_CATALOG: readonly MalformedKindSpec[] = [
  {
    kind: 'invalid_json',
    rejectedAs: ['invalid_json'],
    make(rng, event) {
      const text = JSON.stringify(event);
      const broken = rng.pick([
        () => text.slice(0, -1), // closing brace lost
        () => `${text.slice(0, -1)},}`, // trailing comma
        () => text.replace('"event_id":', '"event_id"='),
        () => text.replace('"event_id"', 'event_id'), // unquoted key
        () => text.replace('"event_id"', "'event_id'"),
      ])();
      return { topic: topicOf(event), key: entityKey(event), value: Buffer.from(broken, 'utf8') };
    },
  },
  {
    kind: 'truncated',
    rejectedAs: ['invalid_json', 'invalid_utf8'],
    make(rng, event) {
      const value = json(event);
      // Cutting inside a multi-byte character also leaves invalid UTF-8.
      return { topic: topicOf(event), key: entityKey(event), value: Buffer.from(value.subarray(0, rng.int(1, value.length - 1))) };
    },
  },
  {
    kind: 'non_utf8',
    rejectedAs: ['invalid_utf8'],
    make(rng, event) {
      return spliceIntoProducer(
        event,
        rng.pick([
          [0xff], // never valid in UTF-8
          [0x80], // lone continuation byte
          [0xc0, 0xaf], // overlong encoding of '/'
          [0xed, 0xa0, 0x80], // UTF-16 surrogate encoded as UTF-8
          [0xbc, 0xd2, 0xb5, 0xe7], // 家电 in GBK
        ]),
      );
    },
  },
  {
    kind: 'empty',
    rejectedAs: ['invalid_json'],
    make(_rng, event) {
      return { topic: topicOf(event), key: entityKey(event), value: Buffer.alloc(0) };
    },
  },
  {
    kind: 'json_array',
    rejectedAs: ['not_an_object'],
    make(_rng, event) {
      return { topic: topicOf(event), key: entityKey(event), value: json([event]) };
    },
  },
  {
    kind: 'json_scalar',
    rejectedAs: ['not_an_object'],
    make(rng, event) {
      const value = rng.pick(['null', String(rng.int(1, 1_000_000)), JSON.stringify(event.event_id), 'true']);
      return { topic: topicOf(event), key: entityKey(event), value: Buffer.from(value, 'utf8') };
    },
  },
  {
    kind: 'missing_envelope_field',
    rejectedAs: ['schema_violation'],
    make(rng, event) {
      const doc = clone(event);
      delete doc[rng.pick(['event_id', 'occurred_at', 'producer', 'org'])];
      return message(event, doc);
    },
  },
  {
    kind: 'missing_payload_field',
    rejectedAs: ['schema_violation'],
    make(rng, event) {
      const doc = clone(event);
      delete child(doc, 'payload')[rng.pick(requiredPayloadFields(event))];
      return message(event, doc);
    },
  },
  {
    kind: 'extra_envelope_field',
    rejectedAs: ['schema_violation'],
    make(rng, event) {
      const doc = clone(event);
      const [field, value] = rng.pick([
        ['trace_id', `trace-${rng.int(1, 1e9)}`],
        ['tenant', 'default'],
        ['source_ip', '10.0.0.12'],
        ['schema_version', '1.0'],
      ] as const);
      doc[field] = value;
      return message(event, doc);
    },
  },
  {
    kind: 'extra_payload_field',
    rejectedAs: ['schema_violation'],
    make(rng, event) {
      const doc = clone(event);
      const [field, value] = rng.pick([
        ['note', '请尽快处理'],
        ['coupon_code', `CP${rng.int(1_000, 9_999)}`],
        ['legacy_id', rng.int(1, 1e6)],
        ['debug', true],
      ] as const);
      child(doc, 'payload')[field] = value;
      return message(event, doc);
    },
  },
  {
    kind: 'wrong_type',
    rejectedAs: ['schema_violation'],
    prefers: 'sale.completed',
    make(rng, event) {
      const doc = clone(event);
      const payload = child(doc, 'payload');
      const line = linesOf(doc)[0];
      // Numbers sent as strings, and ids sent as numbers.
      if (line) line['quantity'] = String(line['quantity']);
      else if (event.type === 'return.received') payload['quantity'] = String(payload['quantity']);
      else if (event.type === 'order.placed') payload['item_count'] = String(payload['item_count']);
      else if (event.type === 'ticket.rated') payload['rating'] = String(payload['rating']);
      else if (event.type === 'ticket.opened') payload['is_complaint'] = String(payload['is_complaint']);
      else if (event.type === 'refund.issued' && 'amount' in event.payload) payload['amount'] = Number(event.payload.amount);
      else if (event.type === 'refund.issued') payload['amount_minor'] = String(payload['amount_minor']);
      else payload[EVENT_SCHEMAS[event.type].key] = rng.int(1, 1e9);
      return message(event, doc);
    },
  },
  {
    kind: 'unknown_type',
    rejectedAs: ['unknown_type'],
    make(rng, event) {
      const doc = clone(event);
      doc['type'] = rng.pick(UNKNOWN_TYPES[event.type.split('.')[0] ?? ''] ?? ['event.unknown']);
      return message(event, doc);
    },
  },
  {
    kind: 'unknown_version',
    rejectedAs: ['unknown_version'],
    make(rng, event) {
      const doc = clone(event);
      // A version past the type's newest, as a producer ahead of its consumers sends (3 for
      // types that have not reached it).
      const newest = Math.max(...Object.keys(EVENT_SCHEMAS[event.type].versions).map(Number));
      doc['version'] = rng.pick<unknown>([0, Math.max(3, newest + 1), 99, 1.5, '1', null]);
      return message(event, doc);
    },
  },
  {
    kind: 'wrong_topic',
    rejectedAs: ['wrong_topic'],
    make(rng, event) {
      const own = EVENT_SCHEMAS[event.type].family;
      const other = rng.pick(FAMILIES.filter((f) => f !== own));
      return message(event, clone(event), TOPICS[other]);
    },
  },
  {
    kind: 'negative_quantity',
    rejectedAs: ['schema_violation'],
    prefers: 'sale.completed',
    make(rng, event) {
      if (event.type === 'return.received' || event.type === 'order.placed') {
        const doc = clone(event);
        const field = event.type === 'return.received' ? 'quantity' : 'item_count';
        child(doc, 'payload')[field] = -rng.int(1, 5);
        return message(event, doc);
      }
      return editSaleLine(event, (line) => {
        line['quantity'] = -rng.int(1, 5);
      });
    },
  },
  {
    kind: 'fractional_money',
    rejectedAs: ['schema_violation'],
    prefers: 'sale.completed',
    make(rng, event) {
      if (event.type === 'refund.issued' || event.type === 'return.received') {
        const doc = clone(event);
        const p = event.payload;
        // A decimal amount with a seventh decimal, or minor units with a fraction.
        if ('amount' in p) child(doc, 'payload')['amount'] = tooManyDecimals(p.amount);
        else child(doc, 'payload')['amount_minor'] = asYuan(p.amount_minor);
        return message(event, doc);
      }
      return editSaleLine(event, (line) => {
        if (isDecimalLine(line)) {
          // A price past six decimals, or a float sent instead of a decimal string.
          line[rng.chance(0.5) ? 'unit_price' : 'discount'] = rng.chance(0.5) ? tooManyDecimals(line['unit_price']) : Number(line['unit_price']);
          return;
        }
        const price = Number(line['unit_price_minor']);
        line[rng.chance(0.5) ? 'unit_price_minor' : 'discount_minor'] = rng.chance(0.5) ? asYuan(price) : price + 0.5;
      });
    },
  },
  {
    kind: 'impossible_date',
    rejectedAs: ['schema_violation'],
    make(rng, event) {
      const at = event.occurred_at;
      const year = at.slice(0, 4);
      const bad = rng.pick([`${year}-02-30${at.slice(10)}`, `${year}-02-31${at.slice(10)}`, `${year}-04-31${at.slice(10)}`, `${year}-13-01${at.slice(10)}`, `${at.slice(0, 11)}24${at.slice(13)}`]);
      return withOccurredAt(event, bad);
    },
  },
  {
    kind: 'timestamp_without_offset',
    rejectedAs: ['schema_violation'],
    make(rng, event) {
      const local = event.occurred_at.slice(0, 19);
      return withOccurredAt(event, rng.pick([local, `${local}.000`, local.replace('T', ' ')]));
    },
  },
  {
    kind: 'far_future_timestamp',
    rejectedAs: ['timestamp_out_of_range'],
    make(_rng, event) {
      return withOccurredAt(event, `2099${event.occurred_at.slice(4).replace(/^-02-29/, '-02-28')}`);
    },
  },
  {
    kind: 'before_2000',
    rejectedAs: ['schema_violation'],
    make(rng, event) {
      // A clock reset to the epoch, or a two-digit year read as 19xx.
      return withOccurredAt(event, rng.chance(0.5) ? '1970-01-01T08:00:00+08:00' : `1999${event.occurred_at.slice(4).replace(/^-02-29/, '-02-28')}`);
    },
  },
  {
    kind: 'oversized',
    rejectedAs: ['oversized'],
    prefers: 'sale.completed',
    // Each one is larger than MAX_EVENT_BYTES (8 MiB): even a few take tens of megabytes to
    // hold, send and set aside. It must also stay under the family topics' message limit
    // (FAMILY_TOPIC_MAX_BYTES), so that ingest, not the broker, is the one to refuse it.
    maxPerRun: 3,
    make(rng, event) {
      // A sale with long lines: more of them than a sale may carry (the size check comes
      // first either way).
      const sale = asSale(event);
      const doc = clone(sale);
      const lines = linesOf(doc);
      const template = lines[0] ?? {};
      const sku = `${typeof template['sku'] === 'string' ? template['sku'] : 'SKU'}-${'X'.repeat(64)}`.slice(0, 64);
      const label = `家电 ${'超长商品描述'.repeat(20)}`.slice(0, 120);
      const target = Math.min(MAX_EVENT_BYTES + 1_024 + rng.int(0, 4_096), FAMILY_TOPIC_MAX_BYTES - 65_536);
      // Sizes are estimated with a three-digit line number: the real size falls short by at
      // most two bytes a line, well inside the 1 KiB margin.
      const lineBytes = Buffer.byteLength(JSON.stringify({ ...template, line_no: 500, sku, category: label })) + 1;
      for (let size = Buffer.byteLength(JSON.stringify(doc)); size <= target; size += lineBytes) {
        lines.push({ ...template, line_no: lines.length + 1, sku, category: label });
      }
      return message(sale, doc);
    },
  },
  {
    kind: 'sql_injection_event_id',
    rejectedAs: ['schema_violation'],
    make(rng, event) {
      const doc = clone(event);
      doc['event_id'] = rng.pick([
        `${event.event_id}'; DROP TABLE raw_events; --`,
        `${event.event_id}' OR '1'='1`,
        `${event.event_id}"); DELETE FROM kpi_values; --`,
        `${event.event_id}' UNION SELECT name FROM system.users --`,
      ]);
      return message(event, doc);
    },
  },
  {
    kind: 'label_control_chars',
    rejectedAs: ['schema_violation'],
    prefers: 'sale.completed',
    make(rng, event) {
      const bad = rng.pick(['家电\u0000', '服装\r\nX-Injected: 1', '\u001b[2J\u001b[31m食品', "日用品\u0007'); DROP TABLE sales; --", '美妆\u007f']);
      const labelled = ['return.requested', 'return.received', 'order.cancelled', 'ticket.opened'] as const;
      if ((labelled as readonly string[]).includes(event.type)) {
        const doc = clone(event);
        child(doc, 'payload')[event.type === 'ticket.opened' ? 'category' : 'reason'] = bad;
        return message(event, doc);
      }
      if (event.type === 'order.shipped') {
        const doc = clone(event);
        child(doc, 'payload')['carrier'] = bad;
        return message(event, doc);
      }
      return editSaleLine(event, (line) => {
        line['category'] = bad;
      });
    },
  },
  {
    kind: 'discount_exceeds_line',
    rejectedAs: ['schema_violation'],
    prefers: 'sale.completed',
    make(rng, event) {
      return editSaleLine(event, (line) => {
        if (isDecimalLine(line)) {
          // quantity × price, plus up to a hundred units, exactly, whatever the price's decimals.
          const micros = BigInt(Number(line['quantity'])) * toMicros(String(line['unit_price'])) + BigInt(rng.int(1, 10_000)) * 10_000n;
          line['discount'] = `${micros / 1_000_000n}.${String(micros % 1_000_000n).padStart(6, '0')}`;
          return;
        }
        line['discount_minor'] = Number(line['quantity']) * Number(line['unit_price_minor']) + rng.int(1, 10_000);
      });
    },
  },
  {
    kind: 'rating_out_of_range',
    rejectedAs: ['schema_violation'],
    prefers: 'ticket.rated',
    make(rng, event) {
      const rated = asRating(event);
      const doc = clone(rated);
      child(doc, 'payload')['rating'] = rng.pick([0, 6, 10, -1, 100]);
      return message(rated, doc);
    },
  },
  {
    kind: 'duplicate_line_numbers',
    rejectedAs: ['schema_violation'],
    prefers: 'sale.completed',
    make(_rng, event) {
      const sale = asSale(event);
      const doc = clone(sale);
      const lines = linesOf(doc);
      const first = lines[0];
      const second = lines[1];
      if (second && first) second['line_no'] = first['line_no'];
      else if (first) lines.push({ ...first, sku: 'SKU-FD-001' });
      return message(sale, doc);
    },
  },
  {
    kind: 'bad_currency',
    rejectedAs: ['schema_violation'],
    prefers: 'sale.completed',
    make(rng, event) {
      const sale = asSale(event);
      const doc = clone(sale);
      child(doc, 'payload')['currency'] = rng.pick(['cny', 'RMB1', '人民币', '¥', '']);
      return message(sale, doc);
    },
  },
  {
    kind: 'unknown_channel',
    rejectedAs: ['schema_violation'],
    make(rng, event) {
      const doc = clone(event);
      child(doc, 'org')['channel'] = rng.pick(['wechat', 'douyin', 'Store', '']);
      return message(event, doc);
    },
  },
];

export const MALFORMED_KINDS: readonly string[] = MALFORMED_CATALOG.map((k) => k.kind);

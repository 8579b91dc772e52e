import { z } from 'zod';
import { AMOUNT_DECIMALS, DecimalAmount, EARLIEST_EVENT_TIME, MAX_CLOCK_SKEW_MS } from './common.js';
import { MAX_EVENT_BYTES, REJECT_REASONS } from './decode.js';
import { DEAD_LETTER_TOPIC, EVENT_SCHEMAS, FAMILIES, FAMILY_TOPIC_MAX_BYTES, TOPICS, TOPIC_PARTITIONS, type EventType, type Family } from './registry.js';

/**
 * Publishes the event contracts for other teams and tools: one JSON Schema per event type
 * and version, and an AsyncAPI document of the topics. Everything is derived from the zod
 * schemas and built in a fixed key order, so the output is byte-for-byte repeatable and a
 * checked-in copy can be compared with a fresh one.
 */

/**
 * Version of the published contracts; raise it with every change to an event schema or topic.
 * 1.1.0: sale.completed v3, return.received v2 and refund.issued v2 (decimal money with a
 * currency), up to 10,000 lines a sale, messages up to 8 MiB.
 */
export const EVENTS_API_VERSION = '1.1.0';

/** Base of every schema `$id`. Ids name a contract; they need not resolve to a URL. */
export const SCHEMA_ID_BASE = 'https://kpi-pipeline.dev/schemas/events/';

/** The schemas are JSON Schema 2020-12, not AsyncAPI's default (draft-07 based) dialect. */
export const JSON_SCHEMA_FORMAT = 'application/schema+json;version=draft-2020-12';

/** Version of the AsyncAPI Kafka bindings the document follows. */
const KAFKA_BINDING_VERSION = '0.5.0';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface EventJsonSchema {
  type: EventType;
  version: number;
  family: Family;
  /** Payload field whose value is the Kafka message key. */
  key: string;
  /** `<type>.v<version>`, e.g. `sale.completed.v2`: file name stem and AsyncAPI id. */
  name: string;
  schema: JsonObject;
}

/** Rules the zod schemas enforce with refinements, which JSON Schema cannot express. */
const RULES_BEYOND_SCHEMA =
  'Rules JSON Schema cannot express are enforced by the ingest service, which sends a violating message to the dead-letter topic: ' +
  `times must be real calendar instants on or after ${new Date(EARLIEST_EVENT_TIME).toISOString().replace('.000Z', 'Z')}, ` +
  `and occurred_at at most ${MAX_CLOCK_SKEW_MS / 3_600_000} h after the Kafka message timestamp.`;
/** Cross-field rules of a sale, by the form its prices take. */
const saleRules = (lineLimit: string): string =>
  `So are the cross-field rules of a sale: each line amount (quantity × unit price) at most ${lineLimit}, a discount no larger than its line amount, and unique line numbers.`;
/** For every event that names a currency. */
const CURRENCY_RULES =
  'So is the currency: an ISO 4217 code of a country’s currency (CNY, HKD, USD, …); unknown codes and codes of funds, precious metals, testing or no currency (XAU, XTS, XXX, …) are refused.';
/** For every event with a decimal amount: the pattern cannot bound the value. */
const DECIMAL_RULES = `Decimal amounts (strings of up to ${AMOUNT_DECIMALS} decimals) are at most 10^13 currency units and are read exactly: nothing is rounded.`;
/** For the first versions of returns and refunds, which name no currency. */
const REPORTING_CURRENCY_NOTE = 'payload.amount_minor is in minor units of the pipeline’s reporting currency (KPI_REPORTING_CURRENCY, CNY unless configured otherwise).';

/** The pattern every decimal amount carries in JSON Schema: how an event schema is seen to hold one. */
const DECIMAL_PATTERN = String((z.toJSONSchema(DecimalAmount) as { pattern?: unknown }).pattern);

/** What the ingest service enforces beyond a schema, by what the generated schema holds. */
function rulesBeyond(family: Family, generated: JsonObject): string {
  const text = JSON.stringify(generated);
  const payload = generated['properties'] as { payload?: { properties?: Record<string, unknown> } } | undefined;
  const fields = payload?.payload?.properties ?? {};
  const decimal = text.includes(JSON.stringify(DECIMAL_PATTERN));
  const rules = [RULES_BEYOND_SCHEMA];
  if (family === 'sales') rules.push(saleRules(decimal ? '10^13 currency units' : '10^15 minor units'));
  if ('currency' in fields) rules.push(CURRENCY_RULES);
  if (decimal) rules.push(DECIMAL_RULES);
  if ('amount_minor' in fields && !('currency' in fields)) rules.push(REPORTING_CURRENCY_NOTE);
  return rules.join(' ');
}

/** Every event type and version in registry order, each with its JSON Schema (input side: defaulted fields are optional). */
export function eventJsonSchemas(): EventJsonSchema[] {
  const out: EventJsonSchema[] = [];
  for (const type of Object.keys(EVENT_SCHEMAS) as EventType[]) {
    const entry = EVENT_SCHEMAS[type];
    // Integer-like keys iterate in ascending order, so versions come out 1, 2, …
    for (const [v, schema] of Object.entries(entry.versions as Record<string, z.ZodType>)) {
      const version = Number(v);
      const name = `${type}.v${version}`;
      // A JSON round trip drops zod's non-enumerable extras and leaves plain data.
      const generated = JSON.parse(JSON.stringify(z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }))) as JsonObject;
      const { $schema, ...rest } = generated;
      out.push({
        type,
        version,
        family: entry.family,
        key: entry.key,
        name,
        schema: {
          $schema: $schema ?? 'https://json-schema.org/draft/2020-12/schema',
          $id: `${SCHEMA_ID_BASE}${name}.json`,
          title: `${type} v${version}`,
          description: `${humanize(type)} event, version ${version}, on topic ${TOPICS[entry.family]}, keyed by payload.${entry.key}. ${rulesBeyond(entry.family, rest)}`,
          ...rest,
        },
      });
    }
  }
  return out;
}

/** `ticket.first_response` → `Ticket first response`. */
function humanize(type: string): string {
  const words = type.replace(/[._]/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const DEAD_LETTER_CHANNEL = 'deadLetters';
const DEAD_LETTER_MESSAGE = 'deadLetter';

const INFO_DESCRIPTION = [
  'Business events of kpi-pipeline: sales, orders, returns and support tickets, one Kafka topic per family.',
  '',
  '- Every message value is one JSON object in UTF-8 (application/json), at most ' +
    `${MAX_EVENT_BYTES} bytes, with the envelope event_id, type, version, occurred_at, producer, org and payload; ` +
    'no other fields are allowed at any level.',
  '- Money is never a float, so sums are exact. The first versions of the events with money (sale.completed v1 and v2, return.received v1, refund.issued v1) ' +
    'carry integer minor units (fields named *_minor: fen, cents; 1 CNY = 100), never a fraction. The later ones (sale.completed v3, return.received v2, refund.issued v2) ' +
    `carry decimal strings in currency units with up to ${AMOUNT_DECIMALS} decimals ("12.50", "0.001"), read exactly; nothing is rounded per line. ` +
    'Producers send the later versions; the first ones are still accepted.',
  '- Currencies are ISO 4217 codes of a country’s currency (CNY, HKD, USD, …); any other code is refused. ' +
    'return.received v1 and refund.issued v1 name no currency: their amounts are in the pipeline’s reporting currency.',
  '- Times are ISO-8601 with an explicit offset (2026-07-15T09:30:00+08:00 or …Z) and are stored in UTC.',
  '- event_id is unique per event and is the key for deduplication: a message sent again with the same event_id counts once.',
  '- Messages are keyed by the id of the entity they are about (sale_id, order_id, return_id, ticket_id), ' +
    'so one entity’s events share a partition and stay in order.',
  `- Family topics take records of up to ${FAMILY_TOPIC_MAX_BYTES} bytes (max.message.bytes), more than the largest message, so a message somewhat over the limit still reaches the ingest service and is set aside there with its reason.`,
  '- A message that fails validation is copied byte for byte to the dead-letter topic with the reason in its headers; it never blocks its partition.',
].join('\n');

/** The AsyncAPI 3.0.0 document of every event topic and the dead-letter topic, as the ingest service sees them. */
export function asyncApiDocument(): JsonObject {
  const events = eventJsonSchemas();

  const schemas: JsonObject = {};
  const messages: JsonObject = {};
  for (const e of events) {
    schemas[e.name] = { schemaFormat: JSON_SCHEMA_FORMAT, schema: e.schema };
    messages[e.name] = {
      name: e.name,
      title: `${humanize(e.type)} v${e.version}`,
      summary: `${e.type} version ${e.version}, keyed by payload.${e.key}.`,
      contentType: 'application/json',
      payload: { $ref: `#/components/schemas/${e.name}` },
      bindings: {
        kafka: {
          key: { type: 'string', description: `payload.${e.key} of the event, so one entity’s events stay in order on one partition.` },
          bindingVersion: KAFKA_BINDING_VERSION,
        },
      },
    };
  }
  messages[DEAD_LETTER_MESSAGE] = deadLetterMessage();

  const channels: JsonObject = {};
  const operations: JsonObject = {};
  for (const family of FAMILIES) {
    const names = events.filter((e) => e.family === family).map((e) => e.name);
    channels[family] = {
      address: TOPICS[family],
      title: `${family} events`,
      description: `Every ${family} event, all types and versions, keyed by entity id.`,
      messages: Object.fromEntries(names.map((n) => [n, { $ref: `#/components/messages/${n}` }])),
      bindings: {
        kafka: { topic: TOPICS[family], partitions: TOPIC_PARTITIONS, topicConfiguration: { 'max.message.bytes': FAMILY_TOPIC_MAX_BYTES }, bindingVersion: KAFKA_BINDING_VERSION },
      },
    };
    operations[`ingest${capitalize(family)}`] = {
      action: 'receive',
      channel: { $ref: `#/channels/${family}` },
      title: `Ingest ${family} events`,
      summary: `The ingest service validates each ${family} event and stores it once per event_id; an invalid one goes to the dead-letter topic.`,
      messages: names.map((n) => ({ $ref: `#/channels/${family}/messages/${n}` })),
    };
  }
  channels[DEAD_LETTER_CHANNEL] = {
    address: DEAD_LETTER_TOPIC,
    title: 'dead letters',
    description: 'Messages of the event topics that failed validation, byte for byte, with the reason and their origin in headers.',
    messages: { [DEAD_LETTER_MESSAGE]: { $ref: `#/components/messages/${DEAD_LETTER_MESSAGE}` } },
    bindings: { kafka: { topic: DEAD_LETTER_TOPIC, bindingVersion: KAFKA_BINDING_VERSION } },
  };
  operations['sendDeadLetter'] = {
    action: 'send',
    channel: { $ref: `#/channels/${DEAD_LETTER_CHANNEL}` },
    title: 'Set aside a rejected message',
    summary: 'The ingest service copies a message that fails validation here, then moves past it.',
    messages: [{ $ref: `#/channels/${DEAD_LETTER_CHANNEL}/messages/${DEAD_LETTER_MESSAGE}` }],
  };

  return {
    asyncapi: '3.0.0',
    info: { title: 'kpi-pipeline events', version: EVENTS_API_VERSION, description: INFO_DESCRIPTION },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { schemas, messages },
  };
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Kafka header values are bytes; these are UTF-8 text, numbers in decimal. */
function deadLetterMessage(): JsonObject {
  const decimal = { type: 'string', pattern: '^[0-9]+$' };
  return {
    name: 'dead-letter',
    title: 'Rejected message',
    summary: 'The original message value, unchanged, with why and where it was rejected.',
    contentType: 'application/octet-stream',
    headers: {
      type: 'object',
      properties: {
        'x-reject-code': { type: 'string', enum: [...REJECT_REASONS], description: 'Stable reason code; dashboards and alerts count by it.' },
        'x-reject-reason': { type: 'string', description: 'Readable reason naming the offending field, e.g. "payload.lines.0.quantity: Too small".' },
        'x-source-topic': { type: 'string', description: 'Topic the message was read from.' },
        'x-source-partition': { ...decimal, description: 'Partition the message was read from.' },
        'x-source-offset': { ...decimal, description: 'Offset of the message in that partition; with topic and partition it identifies the message.' },
      },
      required: ['x-reject-code', 'x-reject-reason', 'x-source-topic', 'x-source-partition', 'x-source-offset'],
    },
    payload: {
      type: 'string',
      format: 'binary',
      description: 'The rejected message value byte for byte: it may be empty, oversized, not UTF-8 or not JSON.',
    },
    bindings: {
      kafka: {
        key: { type: 'string', description: 'The original message key, unchanged; absent when the original had none.' },
        bindingVersion: KAFKA_BINDING_VERSION,
      },
    },
  };
}

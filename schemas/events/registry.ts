import type { z } from 'zod';
import { OrderCancelledV1, OrderDeliveredV1, OrderPlacedV1, OrderShippedV1 } from './orders.js';
import { RefundIssuedV1, RefundIssuedV2, ReturnReceivedV1, ReturnReceivedV2, ReturnRequestedV1 } from './returns.js';
import { SaleCompletedV1, SaleCompletedV2, SaleCompletedV3 } from './sales.js';
import { TicketFirstResponseV1, TicketOpenedV1, TicketRatedV1, TicketReopenedV1, TicketResolvedV1 } from './tickets.js';

export const FAMILIES = ['sales', 'orders', 'returns', 'tickets'] as const;
export type Family = (typeof FAMILIES)[number];

/** Topic of each family. The suffix is the topic's version, not an event's. */
export const TOPICS: Record<Family, string> = {
  sales: 'kpi.sales.v1',
  orders: 'kpi.orders.v1',
  returns: 'kpi.returns.v1',
  tickets: 'kpi.support-tickets.v1',
};

/** Where messages that fail validation go, byte for byte, with the reason in headers. */
export const DEAD_LETTER_TOPIC = 'kpi.dead-letters.v1';

/** Partitions per family topic: parallelism for consumers, order kept per entity key. */
export const TOPIC_PARTITIONS = 6;

/**
 * Largest record batch a family topic takes (its `max.message.bytes`): room for the largest
 * event (MAX_EVENT_BYTES, a sale of thousands of lines) and more, so that an oversized
 * message still reaches ingest and is set aside there with its reason rather than refused
 * at the producer. The broker's own default is 1 MiB.
 */
export const FAMILY_TOPIC_MAX_BYTES = 10 * 1024 * 1024;

/** Topic configuration of every family topic, applied when the topic is created or found. */
export const FAMILY_TOPIC_CONFIG: Record<string, string> = { 'max.message.bytes': String(FAMILY_TOPIC_MAX_BYTES) };

/** Every event schema, by type and version, with its family and its entity key. */
export const EVENT_SCHEMAS = {
  'sale.completed': { family: 'sales', key: 'sale_id', versions: { 1: SaleCompletedV1, 2: SaleCompletedV2, 3: SaleCompletedV3 } },
  'order.placed': { family: 'orders', key: 'order_id', versions: { 1: OrderPlacedV1 } },
  'order.shipped': { family: 'orders', key: 'order_id', versions: { 1: OrderShippedV1 } },
  'order.delivered': { family: 'orders', key: 'order_id', versions: { 1: OrderDeliveredV1 } },
  'order.cancelled': { family: 'orders', key: 'order_id', versions: { 1: OrderCancelledV1 } },
  'return.requested': { family: 'returns', key: 'return_id', versions: { 1: ReturnRequestedV1 } },
  'return.received': { family: 'returns', key: 'return_id', versions: { 1: ReturnReceivedV1, 2: ReturnReceivedV2 } },
  'refund.issued': { family: 'returns', key: 'return_id', versions: { 1: RefundIssuedV1, 2: RefundIssuedV2 } },
  'ticket.opened': { family: 'tickets', key: 'ticket_id', versions: { 1: TicketOpenedV1 } },
  'ticket.first_response': { family: 'tickets', key: 'ticket_id', versions: { 1: TicketFirstResponseV1 } },
  'ticket.resolved': { family: 'tickets', key: 'ticket_id', versions: { 1: TicketResolvedV1 } },
  'ticket.reopened': { family: 'tickets', key: 'ticket_id', versions: { 1: TicketReopenedV1 } },
  'ticket.rated': { family: 'tickets', key: 'ticket_id', versions: { 1: TicketRatedV1 } },
} as const satisfies Record<string, { family: Family; key: string; versions: Record<number, z.ZodType> }>;

export type EventType = keyof typeof EVENT_SCHEMAS;

type SchemaOf<T extends EventType> = (typeof EVENT_SCHEMAS)[T]['versions'][keyof (typeof EVENT_SCHEMAS)[T]['versions']];

/** Any valid event of any type and version. */
export type BusinessEvent = { [T in EventType]: z.infer<SchemaOf<T>> }[EventType];

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_SCHEMAS, type);
}

export function familyOfTopic(topic: string): Family | undefined {
  return FAMILIES.find((f) => TOPICS[f] === topic);
}

/** Topic names in an environment: every name with the same prefix. */
export function topicNames(prefix: string): { families: Record<Family, string>; deadLetters: string } {
  const families = Object.fromEntries(FAMILIES.map((f) => [f, `${prefix}${TOPICS[f]}`])) as Record<Family, string>;
  return { families, deadLetters: `${prefix}${DEAD_LETTER_TOPIC}` };
}

/** The partition key of an event: its entity id, so one entity's events stay in order. */
export function entityKey(event: BusinessEvent): string {
  const field = EVENT_SCHEMAS[event.type].key;
  return (event.payload as Record<string, string>)[field] ?? event.event_id;
}

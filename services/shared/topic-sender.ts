import { FAMILIES, FAMILY_TOPIC_CONFIG, TOPIC_PARTITIONS, topicNames } from '../../schemas/events/registry.js';
import { createProducer, ensureTopics, type Kafka } from './kafka.js';

/**
 * Sends messages to Kafka in flushes, for every command that writes events to the family
 * topics (`kpi simulate`, `kpi publish`).
 *
 * Order: a flush is sent as one `producer.send` per topic, each with that topic's messages
 * in their original order, and flushes are awaited one after the other. The producer keeps
 * one request in flight and partitions by key, so the messages of one key reach their
 * partition in send order.
 */

/** One message as it goes out: the topic's full name (prefix included), its key, its exact bytes. */
export interface OutgoingMessage {
  topic: string;
  key: string | null;
  value: Buffer;
}

/** How much one flush may hold. */
export interface FlushLimits {
  /** Most messages per flush. @default 2_000 */
  maxMessages: number;
  /**
   * Most value bytes per flush, so that no partition's record batch nears the broker's
   * default 1 MiB `message.max.bytes`. A single larger message goes alone, and its topic
   * must take it (FAMILY_TOPIC_CONFIG). @default 800_000
   */
  maxBytes: number;
}

export const DEFAULT_FLUSH_LIMITS: Readonly<FlushLimits> = { maxMessages: 2_000, maxBytes: 800_000 };

/**
 * Whether a message of `size` bytes may join a flush that already holds `messages` messages
 * of `bytes` value bytes. An empty flush takes any message: one larger than `maxBytes` is
 * sent alone rather than never.
 */
export function fitsInFlush(flush: { messages: number; bytes: number }, size: number, limits: FlushLimits): boolean {
  if (flush.messages === 0) return true;
  return flush.messages < limits.maxMessages && flush.bytes + size <= limits.maxBytes;
}

/** A topic as it is created when missing. */
export interface TopicSpec {
  topic: string;
  partitions: number;
  config?: Record<string, string>;
}

/** The family topics of an environment whose topic names carry `prefix`. */
export function familyTopicSpecs(prefix: string): TopicSpec[] {
  const { families } = topicNames(prefix);
  return FAMILIES.map((f) => ({ topic: families[f], partitions: TOPIC_PARTITIONS, config: FAMILY_TOPIC_CONFIG }));
}

export interface TopicSender {
  /** Sends one flush and resolves when the broker acknowledged all of it. Keep it within FlushLimits (fitsInFlush). */
  send(flush: readonly OutgoingMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * Ensures the topics (ensureTopics: the missing ones are created with their config), waits
 * until every partition of them is served, and connects an idempotent producer
 * (createProducer): a request retried after a leader change is not written twice.
 */
export async function openTopicSender(kafka: Kafka, topics: readonly TopicSpec[]): Promise<TopicSender> {
  await ensureTopics(kafka, [...topics]);
  await waitUntilServed(kafka, topics.map((t) => t.topic));
  const producer = createProducer(kafka);
  await producer.connect();
  return {
    async send(flush) {
      const byTopic = new Map<string, { key: string | null; value: Buffer }[]>();
      for (const m of flush) {
        const record = { key: m.key, value: m.value };
        const list = byTopic.get(m.topic);
        if (list) list.push(record);
        else byTopic.set(m.topic, [record]);
      }
      for (const [topic, messages] of byTopic) await producer.send({ topic, messages });
    },
    disconnect: () => producer.disconnect(),
  };
}

/**
 * Waits until every partition of the topics answers a ListOffsets request from its leader.
 * Right after creation a partition can be listed with a leader before that broker serves
 * it; a produce request then fails for that partition, and the client's retry re-sends the
 * whole request, so the other partitions get copies the run never meant to send.
 */
async function waitUntilServed(kafka: Kafka, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = performance.now() + timeoutMs;
    for (const topic of topics) {
      for (;;) {
        try {
          await admin.fetchTopicOffsets(topic);
          break;
        } catch (err) {
          if (performance.now() > deadline) throw err;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
}

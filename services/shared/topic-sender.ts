import { FAMILIES, FAMILY_TOPIC_CONFIG, TOPIC_PARTITIONS, topicNames } from '../../schemas/events/registry.js';
import { ensureTopics, openPartitionSender, type Kafka } from './kafka.js';

/**
 * Sends messages to Kafka in flushes, for every command that writes events to the family
 * topics (`kpi simulate`, `kpi publish`).
 *
 * Order: a flush is sent as one request per partition (all of them side by side), each with
 * that partition's messages in their original order, and flushes are awaited one after the
 * other. Messages are partitioned by key and the producer keeps one request in flight per
 * broker, so the messages of one key reach their partition in send order.
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

/** The family topics of an environment whose topic names carry `prefix`, with `partitions` each (KPI_TOPIC_PARTITIONS). */
export function familyTopicSpecs(prefix: string, partitions: number = TOPIC_PARTITIONS): TopicSpec[] {
  const { families } = topicNames(prefix);
  return FAMILIES.map((f) => ({ topic: families[f], partitions, config: FAMILY_TOPIC_CONFIG }));
}

export interface TopicSender {
  /** Sends one flush and resolves when the broker acknowledged all of it. Keep it within FlushLimits (fitsInFlush). */
  send(flush: readonly OutgoingMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * Ensures the topics (ensureTopics: the missing ones are created with their config and
 * served before it returns), and connects an idempotent producer that sends each partition
 * on its own (openPartitionSender): a request retried after a leader change is neither
 * written twice nor dropped.
 */
export async function openTopicSender(kafka: Kafka, topics: readonly TopicSpec[]): Promise<TopicSender> {
  await ensureTopics(kafka, [...topics]);
  const producer = await openPartitionSender(kafka);
  return {
    async send(flush) {
      const byTopic = new Map<string, { key: string | null; value: Buffer }[]>();
      for (const m of flush) {
        const record = { key: m.key, value: m.value };
        const list = byTopic.get(m.topic);
        if (list) list.push(record);
        else byTopic.set(m.topic, [record]);
      }
      await Promise.all([...byTopic].map(([topic, messages]) => producer.send(topic, messages)));
    },
    disconnect: () => producer.disconnect(),
  };
}

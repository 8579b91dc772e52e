import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FAMILIES, TOPICS, TOPIC_PARTITIONS } from '../../schemas/events/registry.js';
import { createProducer, ensureTopics, type Kafka } from '../shared/kafka.js';
import type { SimMessage } from './generate.js';

/**
 * Sends a simulation to Kafka in its send order, and records it as NDJSON.
 *
 * Order: messages go out in flushes of at most `batchSize`; within a flush, one
 * `producer.send` per topic with that topic's messages in their original order, and flushes
 * are awaited one after the other. The producer keeps one request in flight and partitions
 * by key, so the messages of one key reach their partition in send order.
 */

export interface PublishProgress {
  sent: number;
  total: number;
  elapsedMs: number;
  /** Messages per second since the start. */
  ratePerSecond: number;
}

export interface PublishOptions {
  /** Called about every `progressIntervalMs` while sending, and once when done. */
  onProgress?: (progress: PublishProgress) => void;
  /** Most messages per flush. @default 2_000 */
  batchSize?: number;
  /**
   * Most value bytes per flush, so that no partition's record batch nears the broker's
   * default 1 MiB `message.max.bytes` (oversized test messages are 64 KiB and more). @default 800_000
   */
  maxBatchBytes?: number;
  /** Prepended to every topic name, for rehearsals that must not touch the real topics. @default '' */
  topicPrefix?: string;
  /** Time between progress reports, in ms. @default 1_000 */
  progressIntervalMs?: number;
}

export interface PublishResult {
  sent: number;
  flushes: number;
  elapsedMs: number;
}

export async function publish(kafka: Kafka, messages: readonly SimMessage[], options: PublishOptions = {}): Promise<PublishResult> {
  const { onProgress, batchSize = 2_000, maxBatchBytes = 800_000, topicPrefix = '', progressIntervalMs = 1_000 } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive whole number, got ${batchSize}`);
  const topics = FAMILIES.map((f) => `${topicPrefix}${TOPICS[f]}`);
  await ensureTopics(
    kafka,
    topics.map((topic) => ({ topic, partitions: TOPIC_PARTITIONS })),
  );
  await waitUntilServed(kafka, topics);
  const producer = createProducer(kafka);
  await producer.connect();
  const started = performance.now();
  let sent = 0;
  let flushes = 0;
  let lastReport = started;
  const report = (): void => {
    const elapsedMs = performance.now() - started;
    lastReport = performance.now();
    onProgress?.({ sent, total: messages.length, elapsedMs, ratePerSecond: elapsedMs > 0 ? (sent * 1_000) / elapsedMs : 0 });
  };
  try {
    let start = 0;
    while (start < messages.length) {
      let end = start;
      let bytes = 0;
      while (end < messages.length && end - start < batchSize) {
        const size = (messages[end] as SimMessage).value.length;
        if (end > start && bytes + size > maxBatchBytes) break;
        bytes += size;
        end += 1;
      }
      const byTopic = new Map<string, { key: string | null; value: Buffer }[]>();
      for (let i = start; i < end; i += 1) {
        const m = messages[i] as SimMessage;
        const list = byTopic.get(m.topic);
        const record = { key: m.key, value: m.value };
        if (list) list.push(record);
        else byTopic.set(m.topic, [record]);
      }
      for (const [topic, records] of byTopic) await producer.send({ topic: `${topicPrefix}${topic}`, messages: records });
      sent += end - start;
      flushes += 1;
      start = end;
      if (start < messages.length && performance.now() - lastReport >= progressIntervalMs) report();
    }
    report();
  } finally {
    await producer.disconnect();
  }
  return { sent, flushes, elapsedMs: performance.now() - started };
}

/**
 * Waits until every partition of the topics answers a ListOffsets request from its leader.
 * Right after creation a partition can be listed with a leader before that broker serves
 * it; a produce request then fails for that partition, and the client's retry re-sends the
 * whole request, so the other partitions get copies the run never meant to send.
 */
async function waitUntilServed(kafka: Kafka, topics: string[], timeoutMs = 30_000): Promise<void> {
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

/**
 * One line per message, exactly as sent: `{"topic":…,"key":…|null,"value_base64":…}`.
 * Values are base64 because some malformed values are not UTF-8, or not text at all.
 */
export async function writeNdjson(path: string, messages: readonly SimMessage[]): Promise<{ lines: number; bytes: number }> {
  let bytes = 0;
  // Lines are joined into chunks of about 256 KiB: fewer, larger writes.
  function* chunks(): Generator<string> {
    let chunk = '';
    for (const m of messages) {
      chunk += `${JSON.stringify({ topic: m.topic, key: m.key, value_base64: m.value.toString('base64') })}\n`;
      if (chunk.length >= 262_144) {
        bytes += Buffer.byteLength(chunk);
        yield chunk;
        chunk = '';
      }
    }
    if (chunk !== '') {
      bytes += Buffer.byteLength(chunk);
      yield chunk;
    }
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
  return { lines: messages.length, bytes };
}

/** Reads a file written by writeNdjson back into messages (topic, key, value). */
export async function readNdjson(path: string): Promise<{ topic: string; key: string | null; value: Buffer }[]> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  const messages: { topic: string; key: string | null; value: Buffer }[] = [];
  for await (const line of lines) {
    if (line === '') continue;
    const row = JSON.parse(line) as { topic: string; key: string | null; value_base64: string };
    messages.push({ topic: row.topic, key: row.key, value: Buffer.from(row.value_base64, 'base64') });
  }
  return messages;
}

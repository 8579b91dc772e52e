import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_FLUSH_LIMITS, familyTopicSpecs, fitsInFlush, openTopicSender, type OutgoingMessage } from '../shared/topic-sender.js';
import type { Kafka } from '../shared/kafka.js';
import type { SimMessage } from './generate.js';

/**
 * Sends a simulation to Kafka in its send order (see topic-sender.ts for how order is kept
 * per key), and records it as NDJSON.
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
  /** Most value bytes per flush; a larger message goes alone (FlushLimits.maxBytes). @default 800_000 */
  maxBatchBytes?: number;
  /** Prepended to every topic name, for rehearsals that must not touch the real topics. @default '' */
  topicPrefix?: string;
  /** Partitions of a family topic that does not exist yet, or fewer than these (KPI_TOPIC_PARTITIONS). @default 6 */
  partitions?: number;
  /** Time between progress reports, in ms. @default 1_000 */
  progressIntervalMs?: number;
}

export interface PublishResult {
  sent: number;
  flushes: number;
  elapsedMs: number;
}

export async function publish(kafka: Kafka, messages: readonly SimMessage[], options: PublishOptions = {}): Promise<PublishResult> {
  const { onProgress, batchSize = DEFAULT_FLUSH_LIMITS.maxMessages, maxBatchBytes = DEFAULT_FLUSH_LIMITS.maxBytes, topicPrefix = '', progressIntervalMs = 1_000 } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive whole number, got ${batchSize}`);
  const limits = { maxMessages: batchSize, maxBytes: maxBatchBytes };
  const sender = await openTopicSender(kafka, familyTopicSpecs(topicPrefix, options.partitions));
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
      const flush: OutgoingMessage[] = [];
      let bytes = 0;
      for (let i = start; i < messages.length; i += 1) {
        const m = messages[i] as SimMessage;
        if (!fitsInFlush({ messages: flush.length, bytes }, m.value.length, limits)) break;
        flush.push({ topic: `${topicPrefix}${m.topic}`, key: m.key, value: m.value });
        bytes += m.value.length;
      }
      await sender.send(flush);
      sent += flush.length;
      flushes += 1;
      start += flush.length;
      if (start < messages.length && performance.now() - lastReport >= progressIntervalMs) report();
    }
    report();
  } finally {
    await sender.disconnect();
  }
  return { sent, flushes, elapsedMs: performance.now() - started };
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

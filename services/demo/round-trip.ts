import type { ClickHouseClient } from '../shared/clickhouse.js';
import type { Kafka } from '../shared/kafka.js';
import { createProducer, ensureTopics } from '../shared/kafka.js';
import type { Logger } from '../shared/logger.js';
import { DEMO_TABLE } from '../../schemas/names.js';

/** One demo message: a key that spreads over partitions and a value to sum. */
export interface DemoMessage {
  runId: string;
  seq: number;
  value: number;
}

/** Scratch table of the round-trip demo; a replayed message collapses on (run_id, seq). */
export async function ensureDemoTable(clickhouse: ClickHouseClient): Promise<void> {
  await clickhouse.command({
    query: `CREATE TABLE IF NOT EXISTS ${DEMO_TABLE} (
      run_id String, seq UInt32, value UInt64, topic_partition UInt32, kafka_offset UInt64
    ) ENGINE = ReplacingMergeTree ORDER BY (run_id, seq)`,
  });
}

/** Deterministic values, so a reader can recompute the expected sum: value(seq) = seq % 97 + 1. */
export function demoValue(seq: number): number {
  return (seq % 97) + 1;
}

export async function produceDemoMessages(kafka: Kafka, topic: string, runId: string, count: number): Promise<void> {
  await ensureTopics(kafka, [{ topic, partitions: 4 }]);
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    const batchSize = 1_000;
    for (let start = 0; start < count; start += batchSize) {
      const messages = [];
      for (let seq = start; seq < Math.min(count, start + batchSize); seq += 1) {
        const message: DemoMessage = { runId, seq, value: demoValue(seq) };
        messages.push({ key: `${runId}:${seq}`, value: JSON.stringify(message) });
      }
      await producer.send({ topic, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * Consumes the run's messages in a consumer group and lands them in ClickHouse: one insert
 * per batch, offsets committed only after the insert returned. Resolves when `count`
 * messages of this run are stored.
 */
export async function consumeDemoMessages(options: {
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  topic: string;
  runId: string;
  count: number;
  logger: Logger;
  timeoutMs?: number;
}): Promise<{ batches: number }> {
  const { kafka, clickhouse, topic, runId, count } = options;
  const consumer = kafka.consumer({ groupId: `kpi-demo-${runId}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Set<number>();
  let batches = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Consumed ${seen.size} of ${count} demo messages before the timeout`)), options.timeoutMs ?? 120_000);
      consumer
        .run({
          eachBatchAutoResolve: false,
          eachBatch: async (payload) => {
            const { batch } = payload;
            const rows = [];
            for (const message of batch.messages) {
              const parsed = JSON.parse(message.value?.toString('utf8') ?? '{}') as Partial<DemoMessage>;
              if (parsed.runId === runId && typeof parsed.seq === 'number' && typeof parsed.value === 'number') {
                rows.push({ run_id: runId, seq: parsed.seq, value: parsed.value, topic_partition: batch.partition, kafka_offset: message.offset });
                seen.add(parsed.seq);
              }
            }
            if (rows.length > 0) await clickhouse.insert({ table: DEMO_TABLE, values: rows, format: 'JSONEachRow' });
            const last = batch.messages.at(-1);
            if (last) payload.resolveOffset(last.offset);
            await payload.commitOffsetsIfNecessary();
            await payload.heartbeat();
            batches += 1;
            if (seen.size >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return { batches };
}

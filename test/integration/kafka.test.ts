import { createKafka, createProducer, deleteTopics, ensureTopics, topicOverrides } from '../../services/shared/kafka.js';
import { testConfig, uniqueName } from '../support/env.js';

describe('Kafka (real KRaft broker)', () => {
  const config = testConfig();
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: uniqueName('kafka-test') });
  const topic = uniqueName('test.kafka.round-trip');

  const configured = uniqueName('test.kafka.configured');

  afterAll(async () => {
    await deleteTopics(kafka, [topic, configured]);
  });

  it('raises a byte limit of a topic made before, keeping its other settings, and never lowers one', async () => {
    await ensureTopics(kafka, [{ topic: configured, partitions: 1, config: { 'max.message.bytes': '1048588', 'retention.ms': '3600000' } }]);
    expect(await topicOverrides(kafka, configured)).toEqual({ 'max.message.bytes': '1048588', 'retention.ms': '3600000' });
    await ensureTopics(kafka, [{ topic: configured, partitions: 1, config: { 'max.message.bytes': '10485760' } }]);
    expect(await topicOverrides(kafka, configured)).toEqual({ 'max.message.bytes': '10485760', 'retention.ms': '3600000' });
    await ensureTopics(kafka, [{ topic: configured, partitions: 1, config: { 'max.message.bytes': '2097152' } }]);
    expect(await topicOverrides(kafka, configured)).toEqual({ 'max.message.bytes': '10485760', 'retention.ms': '3600000' });
  });

  it('delivers 10,000 keyed messages through a consumer group, each exactly once and in key order per partition', async () => {
    const total = 10_000;
    await ensureTopics(kafka, [{ topic, partitions: 4 }]);
    // Creating the topic again is a no-op, not an error.
    await ensureTopics(kafka, [{ topic, partitions: 4 }]);

    const producer = createProducer(kafka);
    await producer.connect();
    for (let start = 0; start < total; start += 1_000) {
      const messages = Array.from({ length: 1_000 }, (_, i) => {
        const n = start + i;
        // 50 keys, each with a rising sequence: per-key order must survive partitioning.
        return { key: `k${n % 50}`, value: JSON.stringify({ n, key: `k${n % 50}` }) };
      });
      await producer.send({ topic, messages });
    }
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('test-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { n: number; key: string; partition: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`received ${received.length} of ${total}`)), 120_000);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              const body = JSON.parse(m.value?.toString('utf8') ?? 'null') as { n: number; key: string };
              received.push({ ...body, partition: batch.partition });
            }
            if (received.length >= total) {
              clearTimeout(timer);
              resolve();
            }
            await Promise.resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();

    expect(received).toHaveLength(total);
    expect(new Set(received.map((r) => r.n)).size).toBe(total);
    const partitionsOfKey = new Map<string, Set<number>>();
    const lastOfKey = new Map<string, number>();
    for (const r of received) {
      partitionsOfKey.set(r.key, (partitionsOfKey.get(r.key) ?? new Set()).add(r.partition));
      expect(r.n).toBeGreaterThan(lastOfKey.get(r.key) ?? -1);
      lastOfKey.set(r.key, r.n);
    }
    for (const partitions of partitionsOfKey.values()) expect(partitions.size).toBe(1);
    expect(new Set(received.map((r) => r.partition)).size).toBeGreaterThan(1);
  });
});

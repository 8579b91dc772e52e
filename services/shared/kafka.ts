/**
 * The only module that imports kafkajs. Everything else asks this adapter for producers,
 * consumers and admin calls, so the client can be swapped without touching the pipeline.
 */
import kafkajs, { Kafka, logLevel as KafkaLogLevel, Partitioners, type Admin, type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

export type { Admin, Consumer, EachBatchPayload, Kafka, Producer };

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  logger?: Logger;
  /** Time allowed to open a TCP connection to a broker, in ms. @default 3_000 */
  connectionTimeoutMs?: number;
  /** How many times a failed request is retried before the error surfaces. @default 5 */
  retries?: number;
}

export function createKafka(options: KafkaOptions): Kafka {
  const { logger } = options;
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    retry: { retries: options.retries ?? 5 },
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry) => {
      if (!logger) return;
      const { message, ...extra } = entry.log;
      const fields = { kafka: entry.namespace, ...extra };
      // kafkajs logs retried trouble (a coordinator still loading) as errors; what it
      // finally gives up on is thrown to the caller, which reports it.
      logger.warn(fields, String(message));
    },
  });
}

export function kafkaFromConfig(config: Config, logger?: Logger, overrides: Partial<KafkaOptions> = {}): Kafka {
  return createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.clientId, ...(logger ? { logger } : {}), ...overrides });
}

/**
 * A producer that keeps one key's messages on one partition (murmur2, as the Java client)
 * and in order, and writes each message once: idempotent, so a request retried after a
 * leader change (common on freshly created topics) is not written twice.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
}

/**
 * Creates the topics that do not exist yet, with their config. An existing topic keeps its
 * partitions and settings, except that a numeric setting given here (a byte limit such as
 * `max.message.bytes`) is raised when the topic's is lower: a pipeline upgraded to larger
 * events must not have them refused by topics made before.
 */
export async function ensureTopics(kafka: Kafka, topics: { topic: string; partitions: number; config?: Record<string, string> }[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
        waitForLeaders: true,
      });
    }
    for (const t of topics) if (existing.has(t.topic) && t.config) await raiseLimits(admin, t.topic, t.config);
  } finally {
    await admin.disconnect();
  }
}

// CommonJS exports that Node's named-export detection does not see.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

/** The settings a topic has made on itself (not the broker's defaults), by name. */
export async function topicOverrides(kafka: Kafka, topic: string): Promise<Record<string, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false });
    const entries = described.resources[0]?.configEntries ?? [];
    return Object.fromEntries(entries.filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG).map((e) => [e.configName, e.configValue]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Raises the topic's numeric settings that are below `wanted`. AlterConfigs replaces every
 * setting made on the topic, so the ones it has are sent again with the raised ones.
 */
async function raiseLimits(admin: Admin, topic: string, wanted: Record<string, string>): Promise<void> {
  const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false });
  const entries = described.resources[0]?.configEntries ?? [];
  const current = new Map(entries.map((e) => [e.configName, e.configValue]));
  const low = Object.entries(wanted).filter(([name, value]) => /^\d+$/.test(value) && Number(current.get(name) ?? 0) < Number(value));
  if (low.length === 0) return;
  const own = new Map(entries.filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG).map((e) => [e.configName, e.configValue]));
  for (const [name, value] of low) own.set(name, value);
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [...own].map(([name, value]) => ({ name, value })) }],
  });
}

export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Only those that exist: the client retries a missing one for seconds before it gives up.
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length > 0) await admin.deleteTopics({ topics: present });
  } finally {
    await admin.disconnect();
  }
}

/** One metadata request: resolves with the broker count, or rejects when none answers. */
export async function describeCluster(kafka: Kafka): Promise<{ brokers: number; controller: number | null }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    return { brokers: cluster.brokers.length, controller: cluster.controller };
  } finally {
    await admin.disconnect();
  }
}

/** The end offset (high watermark) of every partition of these topics; a missing topic has none. */
export async function topicEndOffsets(kafka: Kafka, topics: string[]): Promise<{ topic: string; partition: number; high: bigint }[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const out: { topic: string; partition: number; high: bigint }[] = [];
    for (const topic of topics) {
      if (!existing.has(topic)) continue;
      for (const p of await admin.fetchTopicOffsets(topic)) out.push({ topic, partition: p.partition, high: BigInt(p.high) });
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

/**
 * The only module that imports kafkajs. Everything else asks this adapter for producers,
 * consumers and admin calls, so the client can be swapped without touching the pipeline.
 */
import kafkajs, { Kafka, logLevel as KafkaLogLevel, Partitioners, type Admin, type Consumer, type EachBatchPayload, type PartitionMetadata, type Producer } from 'kafkajs';
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

/** A message as it goes out, before a partition is chosen for it. */
export interface KeyedMessage {
  key: string | null;
  value: Buffer;
}

export interface PartitionSender {
  /** Sends the messages (acks=all) and resolves when every in-sync replica holds them. */
  send(topic: string, messages: readonly KeyedMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** How long a batch is sent again while its partition's brokers cannot be reached. */
const RESEND_WINDOW_MS = 120_000;

/** The error and the errors it wraps (the client wraps a broker's error when its retries run out). */
function* causes(err: unknown): Generator<{ name?: unknown; type?: unknown; retriable?: unknown; cause?: unknown }> {
  let e = err as { name?: unknown; type?: unknown; retriable?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth += 1, e = e.cause as typeof e) yield e;
}

const UNREACHABLE = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSNumberOfRetriesExceeded']);

/** True for an error that says a broker could not be reached or its leadership moved (retries exhausted included). */
function unreachable(err: unknown): boolean {
  for (const e of causes(err)) if ((typeof e.name === 'string' && UNREACHABLE.has(e.name)) || (e.name === 'KafkaJSProtocolError' && e.retriable === true)) return true;
  return false;
}

/** Producer errors after which its sequence numbers no longer match the broker's. */
const SEQUENCE_LOST = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH']);

/**
 * An idempotent producer (createProducer) that partitions messages itself (murmur2 of the
 * key, as the Java client) and sends each partition's messages in a request of its own, the
 * partitions side by side.
 *
 * Why not one request for everything: when a request spans several brokers and one of them
 * dies, the client resends only to the brokers that have not answered, so the partitions
 * whose leadership moved to a broker that had answered are never sent (lost without an
 * error), and their sequence numbers fall out of step with the broker's
 * (OUT_OF_ORDER_SEQUENCE_NUMBER). A request for one partition is retried whole, to the
 * partition's new leader, which recognises a batch the old leader had already replicated.
 * Should the sequence still be refused, a new producer (a new producer id) sends the batch.
 */
export async function openPartitionSender(kafka: Kafka): Promise<PartitionSender> {
  const admin = kafka.admin();
  await admin.connect();
  const connect = async (): Promise<Producer> => {
    const p = createProducer(kafka);
    await p.connect();
    return p;
  };
  let producer = connect();
  await producer;
  const partitioner = Partitioners.DefaultPartitioner();
  const metadata = new Map<string, PartitionMetadata[]>();
  async function partitionsOf(topic: string): Promise<PartitionMetadata[]> {
    const known = metadata.get(topic);
    if (known) return known;
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = topics[0]?.partitions ?? [];
    if (partitions.length === 0) throw new Error(`topic ${topic} has no partitions`);
    metadata.set(topic, partitions);
    return partitions;
  }
  async function sendPartition(topic: string, partition: number, messages: KeyedMessage[]): Promise<void> {
    const deadline = performance.now() + RESEND_WINDOW_MS;
    for (let renewed = 0; ; ) {
      const used = producer;
      try {
        await (await used).send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value, partition })) });
        return;
      } catch (err) {
        const type = (err as { type?: unknown }).type;
        if (typeof type === 'string' && SEQUENCE_LOST.has(type) && renewed < 2) {
          renewed += 1;
          // One new producer for all the partitions that hit this at once.
          if (producer === used) {
            producer = connect();
            void used.then((p) => p.disconnect()).catch(() => undefined);
          }
          continue;
        }
        // The client gives up on a broker that refuses connections (one that died, or the
        // whole cluster restarting) after its own few retries; the batch is sent again, with
        // the same sequence numbers, until the window closes.
        if (!unreachable(err) || performance.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }
  return {
    async send(topic, messages) {
      const partitionMetadata = await partitionsOf(topic);
      const byPartition = new Map<number, KeyedMessage[]>();
      for (const m of messages) {
        const partition = partitioner({ topic, partitionMetadata, message: { key: m.key, value: m.value } });
        const list = byPartition.get(partition);
        if (list) list.push(m);
        else byPartition.set(partition, [m]);
      }
      await Promise.all([...byPartition].map(([partition, list]) => sendPartition(topic, partition, list)));
    },
    async disconnect() {
      await (await producer).disconnect();
      await admin.disconnect();
    },
  };
}

/**
 * The durability a cluster of `brokers` brokers gives a topic: its partitions on
 * min(3, brokers) brokers, and a write (acks=all) acknowledged once min.insync.replicas of
 * them hold it. 3 replicas with 2 in sync: one broker may die and no write is refused or lost.
 */
export function topicReplication(brokers: number): { factor: number; minInSync: number } {
  const factor = Math.min(3, Math.max(1, brokers));
  return { factor, minInSync: factor >= 3 ? 2 : 1 };
}

/**
 * Creates the topics that do not exist yet, with their config, replicated as the cluster
 * allows (topicReplication). An existing topic keeps its settings, except that:
 * - a numeric setting given here (a byte limit such as `max.message.bytes`) is raised when
 *   the topic's is lower: a pipeline upgraded to larger events must not have them refused
 *   by topics made before;
 * - it gets more partitions when it has fewer than asked (never fewer): keys then map to
 *   other partitions, so one key's newer messages may be read before its older ones on
 *   another partition, which ingest tolerates (event ids, not order, decide what is stored).
 */
export async function ensureTopics(kafka: Kafka, topics: { topic: string; partitions: number; config?: Record<string, string> }[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      const { factor, minInSync } = topicReplication((await admin.describeCluster()).brokers.length);
      await admin
        .createTopics({
          topics: missing.map((t) => ({
            topic: t.topic,
            numPartitions: t.partitions,
            replicationFactor: factor,
            // Set on the topic only where it differs from Kafka's default of 1.
            configEntries: Object.entries({ ...(minInSync > 1 ? { 'min.insync.replicas': String(minInSync) } : {}), ...t.config }).map(([name, value]) => ({ name, value })),
          })),
          // waitUntilServed below waits, and for more: the client's own wait gives up when the
          // broker it asks has not heard of the topic yet (likely with several brokers).
          waitForLeaders: false,
        })
        .catch((err: unknown) => {
          // Another process (a second `kpi ingest` starting beside this one) created them first.
          if (!createdByOthers(err)) throw err;
        });
    }
    // Until every partition is served, a client that reads or writes new topics (its own, or
    // another process's a moment ago) is told "this server does not host this topic-partition".
    await waitUntilServed(admin, topics.map((t) => t.topic));
    const present = topics.filter((t) => existing.has(t.topic));
    for (const t of present) if (t.config) await raiseLimits(admin, t.topic, t.config);
    if (present.length > 0) {
      const { topics: described } = await admin.fetchTopicMetadata({ topics: present.map((t) => t.topic) });
      const have = new Map(described.map((d) => [d.name, d.partitions.length]));
      const grow = present.filter((t) => (have.get(t.topic) ?? t.partitions) < t.partitions);
      if (grow.length > 0) await admin.createPartitions({ topicPartitions: grow.map((t) => ({ topic: t.topic, count: t.partitions })), validateOnly: false });
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * True when a group request failed because this consumer no longer owns its partitions (a
 * rebalance is under way, the group moved on without it, or its coordinator moved):
 * retrying cannot succeed, and the client rejoins the group when the batch handler throws it.
 */
export function lostPartitions(err: unknown): boolean {
  for (const e of causes(err)) if (typeof e.type === 'string' && LOST_PARTITIONS.has(e.type)) return true;
  return false;
}

// NOT_COORDINATOR_FOR_GROUP: the group's coordinator moved (its broker died); the client
// finds the new one only when it rejoins, so retrying the commit as is never succeeds.
const LOST_PARTITIONS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID', 'NOT_COORDINATOR_FOR_GROUP']);

/** True when every topic a CreateTopics request failed on already exists. */
function createdByOthers(err: unknown): boolean {
  const errors = (err as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.length > 0 && errors.every((e) => (e as { type?: unknown }).type === 'TOPIC_ALREADY_EXISTS');
}

/**
 * Waits until every partition of the topics answers a ListOffsets request from its leader.
 * Right after creation a partition can be listed with a leader before that broker serves
 * it; a produce request then fails for that partition, and the client's retry re-sends the
 * whole request, so the other partitions get copies the run never meant to send.
 */
async function waitUntilServed(admin: Admin, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
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

import type { ClickHouseClient } from '../shared/clickhouse.js';
import { insertRows, insertTabSeparated, queryRows } from '../shared/clickhouse.js';
import { describeError } from '../shared/errors.js';
import type { Consumer, EachBatchPayload, Kafka, Producer } from '../shared/kafka.js';
import { createProducer, ensureTopics, lostPartitions } from '../shared/kafka.js';
import type { Logger } from '../shared/logger.js';
import { DEAD_LETTER_TOPIC, FAMILIES, FAMILY_TOPIC_CONFIG, FAMILY_TOPIC_MAX_BYTES, TOPICS, TOPIC_PARTITIONS, type Family } from '../../schemas/events/index.js';
import { INGEST_GROUP } from '../../schemas/names.js';
import { deadLetterMessage, deadLetterRow, type DeadLetter } from './dead-letters.js';
import type { IngestMetrics } from './metrics.js';
import { retryUntilDone } from './retry.js';
import { createDecoder } from './decode-pool.js';
import { FAMILY_COLUMNS, FAMILY_TABLES, utcText } from './rows.js';

export interface IngestOptions {
  /** Consumer group id. @default "kpi-ingest.v1" */
  groupId?: string;
  /** Topic of each family. @default the unprefixed names of TOPICS */
  topics?: Record<Family, string>;
  /** Partitions whose batches are handled at once: one decodes while another inserts. @default 3 */
  partitionsConsumedConcurrently?: number;
  /** Largest fetch per partition, bytes: the upper bound of one insert. @default 4 MiB */
  maxBytesPerPartition?: number;
  /** Dead-letter topic. @default "kpi.dead-letters.v1" */
  deadLetterTopic?: string;
  /** Partitions of a family topic that does not exist yet, or has fewer (KPI_TOPIC_PARTITIONS). @default 6 */
  partitions?: number;
  /** Threads that decode and validate batches beside the consumer's (0: on its own thread). @default 1 */
  decodeThreads?: number;
}

export interface IngestDeps {
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  logger: Logger;
  metrics: IngestMetrics;
}

export interface IngestHandle {
  /** Finishes the batch in hand, commits it, leaves the group. */
  stop(): Promise<void>;
}

const EPOCH = '1970-01-01 00:00:00.000';

/** Most value bytes per dead-letter send: one record batch must stay under the broker's limit. */
const DEAD_LETTER_MAX_BATCH_BYTES = 512 * 1024;

/** Splits messages into runs whose values add up to at most `limit` bytes (one at least). */
function byteChunks<T extends { value: Buffer | null }>(messages: T[], limit: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = m.value?.length ?? 0;
    if (current.length > 0 && bytes + size > limit) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * The ingest service: a consumer group over the family topics. Each batch is decoded and
 * validated, written with one insert per table, its invalid messages sent to the
 * dead-letter topic and table, its progress recorded, and only then its offsets committed.
 * A crash anywhere replays from the last commit; event ids and insert tokens make the
 * replay change nothing.
 */
export async function startIngest(deps: IngestDeps, options: IngestOptions = {}): Promise<IngestHandle> {
  const { kafka, clickhouse, logger, metrics } = deps;
  const topicOf = options.topics ?? TOPICS;
  const topics = FAMILIES.map((f) => topicOf[f]);
  const familyOf = new Map<string, Family>(FAMILIES.map((f) => [topicOf[f], f]));
  const deadLetterTopic = options.deadLetterTopic ?? DEAD_LETTER_TOPIC;
  // Dead letters include the largest messages a family topic takes (set aside as oversized),
  // with their headers: their topic takes more.
  await ensureTopics(kafka, [
    ...topics.map((topic) => ({ topic, partitions: options.partitions ?? TOPIC_PARTITIONS, config: FAMILY_TOPIC_CONFIG })),
    { topic: deadLetterTopic, partitions: 1, config: { 'max.message.bytes': String(FAMILY_TOPIC_MAX_BYTES + 1024 * 1024) } },
  ]);

  let stopping = false;
  const producer: Producer = createProducer(kafka);
  await producer.connect();
  const groupId = options.groupId ?? INGEST_GROUP;
  const newConsumer = (): Consumer => kafka.consumer({ groupId, maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024, maxBytes: 32 * 1024 * 1024 });
  let consumer = newConsumer();
  const decoder = createDecoder({ threads: options.decodeThreads ?? 1 });

  /** Newest event time committed per topic:partition, epoch ms; loaded once per partition. */
  const newest = new Map<string, number>();
  async function newestEventTime(topic: string, partition: number): Promise<number> {
    const key = `${topic}:${partition}`;
    const known = newest.get(key);
    if (known !== undefined) return known;
    const [row] = await queryRows<{ t: string }>(
      clickhouse,
      'SELECT toString(max(max_event_time)) AS t FROM ingest_progress WHERE topic = {topic: String} AND partition = {partition: UInt32}',
      { topic, partition },
    );
    const ms = row?.t ? Date.parse(`${row.t.replace(' ', 'T')}Z`) : 0;
    newest.set(key, ms);
    return ms;
  }

  async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const last = batch.messages.at(-1);
    if (!last || stopping) return;
    const { topic, partition } = batch;
    const family = familyOf.get(topic);
    const retry = <T>(step: string, work: () => Promise<T>, fatal?: (err: unknown) => boolean): Promise<T> =>
      retryUntilDone(work, {
        isStopping: () => stopping,
        ...(fatal ? { fatal } : {}),
        heartbeat: () => payload.heartbeat(),
        onRetry: (err, attempt, delayMs) => {
          metrics.retries.inc({ step });
          metrics.paused.set(1);
          logger.warn({ step, topic, partition, attempt, delayMs, err: describeError(err) }, `${step} failed; retrying (nothing is dropped)`);
        },
      });

    const decoded = await retry('decode', () =>
      decoder.decode({
        topic,
        partition,
        ...(family ? { family } : {}),
        messages: batch.messages.map((m) => ({ value: m.value, offset: m.offset, timestampMs: Number(m.timestamp) })),
      }),
    );
    const dead: DeadLetter[] = decoded.rejected.map(({ index, code, reason }) => {
      const message = batch.messages[index] as (typeof batch.messages)[number];
      return { topic, partition, offset: message.offset, key: message.key, value: message.value, code, reason };
    });
    const maxEventMs = Math.max(await retry('read progress', () => newestEventTime(topic, partition)), decoded.newestEventMs);
    const valid = decoded.valid;

    // The token names exactly these messages, so a replay of the same fetch is skipped whole.
    const token = `${topic}:${partition}:${batch.firstOffset()}-${last.offset}`;
    if (family && decoded.rows > 0) {
      const table = FAMILY_TABLES[family];
      await retry(`insert ${table}`, async () => {
        const end = metrics.insertSeconds.startTimer({ table });
        await insertTabSeparated(clickhouse, table, FAMILY_COLUMNS[family], decoded.body, { dedupToken: token });
        end();
      });
      // arrived_at is left to ClickHouse's clock (see migration 0006).
      const arrivals = decoded.slices.map(([slice, events]) => ({ slice: utcText(slice).slice(0, 19), events }));
      await retry('insert arrivals', () => insertRows(clickhouse, 'arrivals', arrivals, { dedupToken: token }));
    }
    if (dead.length > 0) {
      for (const chunk of byteChunks(dead.map(deadLetterMessage), DEAD_LETTER_MAX_BATCH_BYTES)) {
        await retry('send dead letters', () => producer.send({ topic: deadLetterTopic, acks: -1, messages: chunk }));
      }
      await retry('insert dead_letters', () => insertRows(clickhouse, 'dead_letters', dead.map(deadLetterRow), { dedupToken: token }));
    }
    const nextOffset = (BigInt(last.offset) + 1n).toString();
    await retry('record progress', () =>
      insertRows(clickhouse, 'ingest_progress', [
        { topic, partition, next_offset: nextOffset, max_event_time: maxEventMs > 0 ? utcText(maxEventMs) : EPOCH },
      ]),
    );
    newest.set(`${topic}:${partition}`, maxEventMs);

    payload.resolveOffset(last.offset);
    try {
      await retry('commit offsets', () => consumer.commitOffsets([{ topic, partition, offset: nextOffset }]), lostPartitions);
    } catch (err) {
      if (!lostPartitions(err)) throw err;
      // A rebalance gave the partition to another consumer while this batch was stored: its
      // next owner replays from the last commit, and what is stored again changes nothing.
      logger.info({ topic, partition, err: describeError(err) }, 'partition reassigned before its commit; the batch will be replayed by its next owner');
      throw err;
    }
    metrics.paused.set(0);
    if (family) metrics.events.inc({ family }, valid);
    for (const d of dead) metrics.deadLetters.inc({ topic, reason: d.code });
    metrics.batchSize.observe({ topic }, batch.messages.length);
    metrics.lag.set({ topic, partition: String(partition) }, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(nextOffset))));
  }

  /**
   * Joins the group and consumes. The client restarts itself after a retriable crash; after
   * any other (every broker gone for longer than its retries, say) it stops for good, so a
   * new consumer starts in its place a few seconds later: ingest outlives a whole-cluster
   * restart. Nothing uncommitted is lost either way: the next run replays from the commit.
   */
  let restartTimer: NodeJS.Timeout | undefined;
  async function consume(): Promise<void> {
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || stopping) return;
      logger.warn({ err: describeError(payload.error) }, 'the Kafka consumer stopped; a new one starts in 5 s');
      restartTimer = setTimeout(() => {
        consumer = newConsumer();
        consume().catch((err: unknown) => {
          logger.warn({ err: describeError(err) }, 'could not start the Kafka consumer; trying again in 5 s');
          restartTimer = setTimeout(() => void consume().catch(() => undefined), 5_000);
        });
      }, 5_000);
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
      eachBatch: handleBatch,
    });
  }
  await consume();
  logger.info({ topics, groupId }, 'ingest consuming');

  return {
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      // disconnect() waits for the batch in hand; its commit, if it completed, stands.
      await consumer.disconnect();
      await producer.disconnect();
      await decoder.close();
      logger.info('ingest stopped');
    },
  };
}

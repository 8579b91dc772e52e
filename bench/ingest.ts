/**
 * `npm run bench:ingest`: sustained end-to-end ingest throughput (published → stored and
 * committed) against three ceilings measured in the same run on the same payloads:
 * kafkajs consume-only, ClickHouse insert-only of the same rows, and JSON.parse-only.
 * Figures are ratios, since the machine is shared and absolute times drift.
 *
 * The insert-only ceiling writes the rows as ingest does (TabSeparated, read by the engine
 * from a staged file); the rows as JSONEachRow, the earlier way, are shown beside it.
 *
 *   npm run bench:ingest [-- --stores 20 --days 49 --seed 5 --decode-threads 1]
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../services/shared/config.js';
import { insertRows, insertTabSeparated, openWarehouse, queryRows } from '../services/shared/clickhouse.js';
import { tabSeparated } from '../services/shared/tab-separated.js';
import { createKafka, deleteTopics } from '../services/shared/kafka.js';
import { createLogger } from '../services/shared/logger.js';
import { migrate } from '../services/shared/migrations.js';
import { waitFor } from '../services/shared/wait.js';
import { startIngest } from '../services/ingest/consumer.js';
import { createIngestMetrics } from '../services/ingest/metrics.js';
import { FAMILY_COLUMNS, FAMILY_TABLES, eventRows } from '../services/ingest/rows.js';
import { generateEvents } from '../services/simulator/generate.js';
import { publish } from '../services/simulator/produce.js';
import { stackUp } from '../services/stack/stack.js';
import { EVENT_SCHEMAS, FAMILIES, decodeEvent, topicNames, type Family } from '../schemas/events/index.js';

const { values: args } = parseArgs({
  options: {
    stores: { type: 'string', default: '20' },
    days: { type: 'string', default: '49' },
    seed: { type: 'string', default: '5' },
    'decode-threads': { type: 'string', default: '1' },
  },
});
const config = loadConfig(process.env);
const logger = createLogger({ level: 'error' });
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const rate = (n: number, ms: number): number => Math.round((n / ms) * 1000);

async function main(): Promise<void> {
  await stackUp(config, (line) => say(`  ${line}`));
  const from = new Date(Date.UTC(2026, 4, 4));
  const to = new Date(from.getTime() + (Number(args.days) - 1) * 86_400_000);
  const sim = generateEvents({ from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10), stores: Number(args.stores), seed: Number(args.seed), notAfterMs: Date.now() });
  const messages = sim.messages;
  const n = messages.length;
  say(`payloads: ${n.toLocaleString('en-US')} valid events, ${(messages.reduce((s, m) => s + m.value.length, 0) / n).toFixed(0)} bytes each on average`);

  const run = `bench-${Date.now().toString(36)}`;
  const names = topicNames(`${run}.`);
  const topics = Object.values(names.families);
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: run, logger });
  const t0 = performance.now();
  await publish(kafka, messages, { topicPrefix: `${run}.` });
  say(`published in ${((performance.now() - t0) / 1000).toFixed(1)} s (${rate(n, performance.now() - t0).toLocaleString('en-US')}/s)`);

  // Ceiling 1: JSON.parse only.
  let t = performance.now();
  for (const m of messages) JSON.parse(m.value.toString('utf8'));
  const parseOnly = rate(n, performance.now() - t);

  // Ceiling 2: kafkajs consume only: an eachBatch that counts.
  const consumer = kafka.consumer({ groupId: `${run}-consume-only`, maxBytesPerPartition: 4 * 1024 * 1024, maxBytes: 32 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  let consumed = 0;
  t = performance.now();
  await new Promise<void>((resolve, reject) => {
    consumer.run({ eachBatch: async ({ batch }) => { consumed += batch.messages.length; if (consumed >= n) resolve(); await Promise.resolve(); } }).catch(reject);
  });
  const consumeOnly = rate(n, performance.now() - t);
  await consumer.disconnect();

  // Ceiling 3: ClickHouse insert only, the same rows, in batches of about the size the
  // pipeline's fetches give (one partition's backlog, some thousands of events).
  const rowsByFamily: Record<Family, Record<string, unknown>[]> = { sales: [], orders: [], returns: [], tickets: [] };
  for (const m of messages) {
    const r = decodeEvent(m.value, { topic: m.topic, timestampMs: Date.now() });
    if (r.ok) rowsByFamily[EVENT_SCHEMAS[r.event.type].family].push(...eventRows(r.event, { partition: 0, offset: '0' }));
  }
  // A folder of its own: bench:close keeps its generated quarter beside it.
  const base = path.join(config.paths.dataDir, 'bench', 'ingest');
  rmSync(base, { recursive: true, force: true });
  const insertStore = await openWarehouse({ mode: 'embedded', path: path.join(base, 'insert-only'), database: 'kpi' });
  await migrate(insertStore.client);
  const batchEvents = 8_000;
  const chunksOf = (f: Family): Record<string, unknown>[][] => {
    const rows = rowsByFamily[f];
    const chunks: Record<string, unknown>[][] = [];
    for (let i = 0; i < rows.length; i += batchEvents) chunks.push(rows.slice(i, i + batchEvents));
    return chunks;
  };
  t = performance.now();
  let token = 0;
  for (const f of FAMILIES) {
    for (const chunk of chunksOf(f)) {
      await insertTabSeparated(insertStore.client, FAMILY_TABLES[f], FAMILY_COLUMNS[f], Buffer.from(tabSeparated(chunk, FAMILY_COLUMNS[f])), { dedupToken: `ceiling-${(token += 1)}` });
    }
  }
  const insertOnly = rate(n, performance.now() - t);
  for (const f of FAMILIES) await insertStore.client.command({ query: `TRUNCATE TABLE ${FAMILY_TABLES[f]}` });
  t = performance.now();
  for (const f of FAMILIES) for (const chunk of chunksOf(f)) await insertRows(insertStore.client, FAMILY_TABLES[f], chunk);
  const insertJsonOnly = rate(n, performance.now() - t);
  await insertStore.close();

  // End to end: the ingest service from the backlog, until every offset is committed.
  const store = await openWarehouse({ mode: 'embedded', path: path.join(base, 'pipeline'), database: 'kpi' });
  await migrate(store.client);
  const groupId = `${run}-ingest`;
  const admin = kafka.admin();
  await admin.connect();
  t = performance.now();
  const decodeThreads = Number(args['decode-threads']);
  const cpuBefore = process.cpuUsage();
  const ingest = await startIngest(
    { kafka, clickhouse: await store.session(), logger, metrics: createIngestMetrics() },
    { topics: names.families, deadLetterTopic: names.deadLetters, groupId, decodeThreads },
  );
  await waitFor(
    async () => {
      for (const topic of topics) {
        const [ends, [done]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
        for (const end of ends) if (BigInt(done?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1') < BigInt(end.high) && end.high !== '0') return undefined;
      }
      return true;
    },
    { timeoutMs: 30 * 60_000, intervalMs: 100, what: 'the pipeline to commit every message' },
  );
  const endToEnd = rate(n, performance.now() - t);
  const cpu = process.cpuUsage(cpuBefore);
  await ingest.stop();
  await admin.disconnect();
  const [batches] = await queryRows<{ n: string }>(store.client, 'SELECT count() AS n FROM ingest_progress');
  const [stored] = await queryRows<{ n: string }>(store.client, 'SELECT (SELECT uniqExact(event_id) FROM sale_lines) + (SELECT uniqExact(event_id) FROM order_events) + (SELECT uniqExact(event_id) FROM return_events) + (SELECT uniqExact(event_id) FROM ticket_events) AS n');
  await store.close();
  await deleteTopics(kafka, [...topics, names.deadLetters]).catch(() => undefined);
  rmSync(base, { recursive: true, force: true });

  const ceiling = Math.min(consumeOnly, insertOnly);
  say('');
  say('events/s                              figure      ratio of end-to-end to it');
  const line = (label: string, v: number): void => say(`${label.padEnd(36)}${v.toLocaleString('en-US').padStart(10)}      ${(endToEnd / v).toFixed(2)}`);
  line('end to end (published → committed)', endToEnd);
  line('kafkajs consume only', consumeOnly);
  line('ClickHouse insert only (chDB)', insertOnly);
  line('  the same rows as JSONEachRow', insertJsonOnly);
  line('JSON.parse only', parseOnly);
  say('');
  say(`end-to-end / min(consume-only, insert-only) = ${(endToEnd / ceiling).toFixed(2)} (aim ≥ 0.80)`);
  say(`end-to-end / kafkajs consume-only = ${(endToEnd / consumeOnly).toFixed(2)} (aim ≥ 0.40)`);
  say(`ingest used ${((cpu.user + cpu.system) / n).toFixed(0)} µs of CPU per event (every thread of the process: consumer, ${decodeThreads} decoding, the engine's)`);
  say(`stored ${Number(stored?.n).toLocaleString('en-US')} of ${n.toLocaleString('en-US')} events in ${Number(batches?.n).toLocaleString('en-US')} batches (${Math.round(n / Number(batches?.n))} events per batch)`);
  if (Number(stored?.n) !== n) throw new Error('the pipeline did not store every event');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:ingest: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

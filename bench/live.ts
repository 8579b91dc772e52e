/**
 * `npm run bench:live`: how soon a published event shows in the open day's provisional
 * values. Publishes simulated events at a steady rate, each stamped with the instant it is
 * published (so it falls in the open day), while the ingest service and a worker run and the
 * provisional refresh (the workflow its Schedule starts) runs every `--interval` seconds.
 * A watcher reads the open day's `transactions` (distinct sales) at company level and at one
 * store, as `kpi values` does, every 100 ms.
 *
 * Freshness of the k-th sale published (at company level; at the store, its k-th sale):
 * the first instant the value counted at least k sales, minus the instant it was published.
 * Prints p50 and p99 against the aim (p99 ≤ 5 s), and the refreshes' own figures.
 *
 * Everything runs in this one process (ingest, worker, publisher, watcher) on a store of its
 * own under .data/bench/live; the local stack (Kafka, Temporal) must be up or is started.
 *
 *   npm run bench:live [-- --rate 5000 --seconds 120 --stores 100 --interval 1]
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, moneySettings } from '../services/shared/config.js';
import { openWarehouse, queryRows } from '../services/shared/clickhouse.js';
import { createKafka, deleteTopics } from '../services/shared/kafka.js';
import { createLogger } from '../services/shared/logger.js';
import { migrate } from '../services/shared/migrations.js';
import { loadScorecards } from '../services/shared/scorecards.js';
import { connectTemporal } from '../services/shared/temporal.js';
import { familyTopicSpecs, openTopicSender, type OutgoingMessage } from '../services/shared/topic-sender.js';
import { startIngest } from '../services/ingest/consumer.js';
import { createIngestMetrics } from '../services/ingest/metrics.js';
import { generateEvents } from '../services/simulator/generate.js';
import { stackUp } from '../services/stack/stack.js';
import { periodOf } from '../schemas/calendar/index.js';
import { topicNames } from '../schemas/events/index.js';
import { periodSettings, refreshProvisional } from '../workflows/client.js';
import { startWorker } from '../workflows/worker.js';
import { activitySteps, summariseSteps, type Step } from './workflow-steps.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '120' },
    stores: { type: 'string', default: '100' },
    interval: { type: 'string', default: '1' },
    seed: { type: 'string', default: '13' },
  },
});
const config = loadConfig(process.env);
const calendar = config.business;
const logger = createLogger({ level: 'error' });
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

interface Event {
  event_id: string;
  type: string;
  occurred_at: string;
  org: { store: string };
}

async function main(): Promise<void> {
  const rate = Number(args.rate);
  const seconds = Number(args.seconds);
  const stores = Number(args.stores);
  const intervalMs = Number(args.interval) * 1_000;
  if (!(rate > 0) || !(seconds > 0) || !Number.isInteger(stores) || stores < 1 || !(intervalMs > 0)) throw new Error('--rate, --seconds, --stores and --interval are positive numbers');
  const total = Math.round(rate * seconds);
  await stackUp(config, (line) => say(`  ${line}`));

  // Enough simulated events, their days' order kept; each is re-stamped when published.
  say(`simulating ${total.toLocaleString('en-US')} events (${stores} stores)…`);
  const pool: { topic: string; key: string | null; event: Event }[] = [];
  for (let day = 0; pool.length < total; day += 1) {
    const date = new Date(Date.UTC(2026, 0, 5) + day * 86_400_000).toISOString().slice(0, 10);
    const sim = generateEvents({ from: date, to: date, stores, seed: Number(args.seed) + day, timeZone: calendar.timeZone });
    for (const m of sim.messages) if (m.kind === 'valid') pool.push({ topic: m.topic, key: m.key, event: JSON.parse(m.value.toString('utf8')) as Event });
  }
  pool.length = total;
  const watchedStore = pool.find((p) => p.event.type === 'sale.completed')?.event.org.store ?? '';

  const run = `live-${Date.now().toString(36)}`;
  const names = topicNames(`${run}.`);
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: run, logger });
  const dir = path.join(config.paths.dataDir, 'bench', 'live');
  rmSync(dir, { recursive: true, force: true });
  const warehouse = await openWarehouse({ mode: 'embedded', path: dir, database: config.clickhouse.database });
  await migrate(warehouse.client);
  const sender = await openTopicSender(kafka, familyTopicSpecs(`${run}.`));
  const ingest = await startIngest({ kafka, clickhouse: await warehouse.session(), logger, metrics: createIngestMetrics() }, { topics: names.families, deadLetterTopic: names.deadLetters, groupId: `${run}-ingest` });
  const taskQueue = `bench-live-${Date.now().toString(36)}`;
  const worker = await startWorker(config.temporal, { clickhouse: warehouse.client, scorecards: loadScorecards(config.close), money: moneySettings(config.business) }, { taskQueue });
  const temporal = await connectTemporal(config.temporal);
  const settings = { ...periodSettings(config), idPrefix: `${taskQueue}.` };

  const published: { company: number[]; store: number[] } = { company: [], store: [] };
  const seen: { company: number[]; store: number[] } = { company: [], store: [] };
  const refreshes: number[] = [];
  const refreshSteps: Step[] = [];
  let refreshing = true;

  // The provisional refresh, as its Schedule starts it every interval.
  const refresher = (async () => {
    let n = 0;
    while (refreshing) {
      const started = performance.now();
      const workflowId = `${settings.idPrefix}provisional:${n++}`;
      await refreshProvisional(temporal.client, settings, workflowId, { taskQueue });
      refreshes.push(performance.now() - started);
      refreshSteps.push(...(await activitySteps(temporal.client, workflowId)));
      await sleep(Math.max(0, intervalMs - (performance.now() - started)));
    }
  })();

  // The watcher: the open day's transactions, as kpi values reads them.
  const watcher = (async () => {
    while (refreshing) {
      const day = periodOf('day', Date.now(), calendar).id;
      const rows = await queryRows<{ level: string; n: number | null }>(
        warehouse.client,
        "SELECT level, max(numerator) AS n FROM kpi_values FINAL WHERE grain = 'day' AND period = {day: String} AND revision = 0 AND kpi = 'transactions' AND ((level = 'company') OR (level = 'store' AND unit = {store: String})) GROUP BY level",
        { day, store: watchedStore },
      );
      const now = performance.now();
      for (const r of rows) {
        const list = r.level === 'company' ? seen.company : seen.store;
        while (list.length < Number(r.n ?? 0)) list.push(now);
      }
      await sleep(100);
    }
  })();

  // The publisher: a steady rate, in tenths of a second.
  say(`publishing ${rate.toLocaleString('en-US')} events/s for ${seconds} s; refresh every ${intervalMs / 1000} s; watching the company and store ${watchedStore}`);
  const t0 = performance.now();
  let sent = 0;
  let lastReport = t0;
  while (sent < total) {
    const due = Math.min(total, Math.round(((performance.now() - t0) / 1000) * rate));
    if (due > sent) {
      const flush: OutgoingMessage[] = [];
      const stampedAt = performance.now();
      const occurredAt = new Date().toISOString();
      for (const p of pool.slice(sent, due)) {
        const event = { ...p.event, occurred_at: occurredAt };
        flush.push({ topic: `${run}.${p.topic}`, key: p.key, value: Buffer.from(JSON.stringify(event)) });
        if (event.type === 'sale.completed') {
          published.company.push(stampedAt);
          if (event.org.store === watchedStore) published.store.push(stampedAt);
        }
      }
      for (let i = 0; i < flush.length; i += 2_000) await sender.send(flush.slice(i, i + 2_000));
      sent = due;
    }
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      say(`  ${Math.round((performance.now() - t0) / 1000)} s: ${sent.toLocaleString('en-US')} published, ${seen.company.length.toLocaleString('en-US')} of ${published.company.length.toLocaleString('en-US')} sales visible`);
    }
    await sleep(100);
  }
  const sendSeconds = (performance.now() - t0) / 1000;
  // Wait until every sale published is visible (or a minute has passed).
  const deadline = performance.now() + 60_000;
  while (seen.company.length < published.company.length && performance.now() < deadline) await sleep(200);
  refreshing = false;
  await Promise.all([refresher, watcher]);

  const latencies = (kind: 'company' | 'store'): number[] =>
    published[kind]
      .map((at, k) => (seen[kind][k] ?? Number.NaN) - at)
      .filter((ms) => Number.isFinite(ms))
      .sort((a, b) => a - b);
  say('');
  say(`published ${sent.toLocaleString('en-US')} events in ${sendSeconds.toFixed(1)} s (${Math.round(sent / sendSeconds).toLocaleString('en-US')}/s)`);
  for (const kind of ['company', 'store'] as const) {
    const l = latencies(kind);
    say(`published → visible in kpi values (open day, ${kind === 'company' ? 'company' : `store ${watchedStore}`}): ${l.length.toLocaleString('en-US')} of ${published[kind].length.toLocaleString('en-US')} sales; p50 ${(percentile(l, 0.5) / 1000).toFixed(2)} s, p99 ${(percentile(l, 0.99) / 1000).toFixed(2)} s (aim p99 ≤ 5 s)`);
  }
  const r = [...refreshes].sort((a, b) => a - b);
  say(`provisional refreshes: ${r.length}, each p50 ${(percentile(r, 0.5) / 1000).toFixed(2)} s, p99 ${(percentile(r, 0.99) / 1000).toFixed(2)} s`);
  say(`  their steps (activity, times run, seconds in all, from scheduled to done): ${summariseSteps(refreshSteps)}`);

  await ingest.stop();
  await worker.shutdown();
  await temporal.connection.close();
  await sender.disconnect();
  await warehouse.close();
  await deleteTopics(kafka, [...Object.values(names.families), names.deadLetters]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:live: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

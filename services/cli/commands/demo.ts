import { rmSync } from 'node:fs';
import path from 'node:path';
import { loadScorecards } from '../../shared/scorecards.js';
import type { Config } from '../../shared/config.js';
import { openWarehouse } from '../../shared/clickhouse.js';
import { deleteTopics, kafkaFromConfig } from '../../shared/kafka.js';
import type { Logger } from '../../shared/logger.js';
import { migrate } from '../../shared/migrations.js';
import { connectTemporal } from '../../shared/temporal.js';
import { waitFor } from '../../shared/wait.js';
import { startIngest } from '../../ingest/consumer.js';
import { createIngestMetrics } from '../../ingest/metrics.js';
import { warehouseStats, type WarehouseStats } from '../../ingest/stats.js';
import { generateEvents } from '../../simulator/generate.js';
import { publish } from '../../simulator/produce.js';
import { stackUp } from '../../stack/stack.js';
import { FAMILIES, EVENT_SCHEMAS, topicNames, type Family } from '../../../schemas/events/index.js';
import { startWorker } from '../../../workflows/worker.js';
import { runWarehouseCounts } from '../../../workflows/client.js';
import { formatMs, renderTable } from '../output.js';

/** The demo's own environment: topics, consumer group and store, reset on every run. */
export const DEMO_TOPIC_PREFIX = 'demo.';
export const DEMO_GROUP = 'kpi-demo';

export interface DemoOptions {
  from: string;
  to: string;
  stores: number;
  seed: number;
}

/**
 * Simulates a week of business events (with duplicates, malformed, late and out-of-order
 * messages), publishes them to Kafka, ingests them into ClickHouse, and checks the
 * warehouse against the simulator's own record; a Temporal workflow reads the counts back.
 */
export async function demoCommand(config: Config, baseLogger: Logger, options: DemoOptions): Promise<void> {
  // The demo speaks through its own output; client warnings only at LOG_LEVEL=debug or below.
  const logger = config.logLevel === 'info' ? baseLogger.child({}, { level: 'error' }) : baseLogger;
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const timings: { step: string; time: string }[] = [];
  const step = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    out(`… ${label}`);
    const t0 = performance.now();
    const value = await work();
    const ms = performance.now() - t0;
    timings.push({ step: label, time: formatMs(ms) });
    out(`✓ ${label} (${formatMs(ms)})`);
    return value;
  };

  await step('local stack up (Kafka, Temporal)', () => stackUp(config, (line) => out(`  ${line}`)));

  const storePath = path.join(config.paths.dataDir, 'demo', 'clickhouse');
  const demoConfig: Config = { ...config, clickhouse: { mode: 'embedded', path: storePath, database: config.clickhouse.database } };
  const names = topicNames(DEMO_TOPIC_PREFIX);
  const kafka = kafkaFromConfig(config, logger);
  await step('reset the demo topics and store', async () => {
    await deleteTopics(kafka, [...Object.values(names.families), names.deadLetters]).catch(() => undefined);
    rmSync(storePath, { recursive: true, force: true });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([DEMO_GROUP]).catch(() => undefined);
    await admin.disconnect();
  });

  const warehouse = await openWarehouse(demoConfig.clickhouse);
  try {
    await step('apply migrations', () => migrate(warehouse.client));
    const sim = await step(`simulate ${options.from} … ${options.to}, ${options.stores} stores`, () =>
      Promise.resolve(
        generateEvents({
          from: options.from,
          to: options.to,
          stores: options.stores,
          seed: options.seed,
          timeZone: config.business.timeZone,
          duplicates: 0.02,
          malformed: 0.01,
          late: 0.01,
          outOfOrder: 0.01,
          notAfterMs: Date.now(),
        }),
      ),
    );
    const { ledger } = sim;
    out(`  ${ledger.valid.toLocaleString('en-US')} valid events, ${ledger.duplicates} duplicates, ${ledger.malformed} malformed, ${ledger.late} late, ${ledger.outOfOrder} out of order`);

    await step(`publish ${sim.messages.length.toLocaleString('en-US')} messages to Kafka`, () =>
      publish(kafka, sim.messages, {
        topicPrefix: DEMO_TOPIC_PREFIX,
        onProgress: (p) => process.stderr.write(`  sent ${p.sent.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')} (${Math.round(p.ratePerSecond).toLocaleString('en-US')}/s)\n`),
      }),
    );

    const stats = await step('ingest: consumer group → validate → ClickHouse, dead letters aside', async () => {
      const ingest = await startIngest(
        { kafka, clickhouse: warehouse.client, logger, metrics: createIngestMetrics() },
        { topics: names.families, deadLetterTopic: names.deadLetters, groupId: DEMO_GROUP },
      );
      try {
        let last = 0;
        return await waitFor(
          async () => {
            const s = await warehouseStats(warehouse.client);
            if (s.stored !== last) process.stderr.write(`  stored ${s.stored.toLocaleString('en-US')}/${ledger.valid.toLocaleString('en-US')}\n`);
            last = s.stored;
            return s.stored >= ledger.valid && s.dead_letters >= ledger.malformed ? s : undefined;
          },
          { timeoutMs: 10 * 60_000, intervalMs: 500, what: 'ingest to store every valid event' },
        );
      } finally {
        await ingest.stop();
      }
    });

    const { connection, client } = await connectTemporal(config.temporal);
    const worker = await startWorker(config.temporal, { clickhouse: warehouse.client, scorecards: loadScorecards(config.close) });
    let counted;
    try {
      counted = await step('Temporal: warehouseCountsWorkflow reads the counts back', () => runWarehouseCounts(client, `demo-counts-${Date.now()}`, { taskQueue: config.temporal.taskQueue }));
    } finally {
      await worker.shutdown();
      await connection.close();
    }

    printReport(out, ledger, stats, counted.stored);
    out('');
    out('Timings');
    out(renderTable(timings));
    out('');
    out('Where to look');
    out(`  Temporal UI:  http://127.0.0.1:${config.stack.temporalUiPort}/namespaces/${config.temporal.namespace}/workflows`);
    out(`  Warehouse:    CHDB_PATH=${path.relative(process.cwd(), storePath) || storePath} npx kpi stats`);
    out(`                CHDB_PATH=${path.relative(process.cwd(), storePath) || storePath} npx kpi sql "SELECT store, count() AS lines, sum(net_minor) / 100 AS net_sales FROM sale_lines FINAL GROUP BY store ORDER BY store"`);
    out('  Stack:        npm run stack:status   (npm run stack:down stops it)');
    const ok = stats.stored === ledger.valid && stats.dead_letters === ledger.malformed && stats.money.saleLinesNetMinor === ledger.money.saleLinesNetMinor;
    if (!ok) throw new Error('The warehouse does not match the simulator: see the table above');
  } finally {
    await warehouse.close();
  }
}

function printReport(out: (line: string) => void, ledger: ReturnType<typeof generateEvents>['ledger'], stats: WarehouseStats, counted: number): void {
  const simulated: Record<Family, number> = { sales: 0, orders: 0, returns: 0, tickets: 0 };
  for (const [type, n] of Object.entries(ledger.byType)) {
    const entry = EVENT_SCHEMAS[type as keyof typeof EVENT_SCHEMAS];
    if (entry) simulated[entry.family] += n;
  }
  const verdict = (a: string | number, b: string | number): string => (String(a) === String(b) ? 'OK' : 'MISMATCH');
  const rows = FAMILIES.map((f) => ({ what: `${f} events`, simulated: simulated[f], stored: stats.byFamily[f], check: verdict(simulated[f], stats.byFamily[f]) }));
  rows.push({ what: 'all valid events', simulated: ledger.valid, stored: stats.stored, check: verdict(ledger.valid, stats.stored) });
  rows.push({ what: 'dead letters', simulated: ledger.malformed, stored: stats.dead_letters, check: verdict(ledger.malformed, stats.dead_letters) });
  const money = [
    ['net sale lines (minor units)', ledger.money.saleLinesNetMinor, stats.money.saleLinesNetMinor],
    ['returns received (minor units)', ledger.money.returnsAmountMinor, stats.money.returnsAmountMinor],
    ['refunds issued (minor units)', ledger.money.refundsMinor, stats.money.refundsMinor],
  ] as const;
  out('');
  out(`Warehouse against the simulator's record (duplicates collapsed: ${ledger.duplicates}; workflow counted ${counted.toLocaleString('en-US')})`);
  out(renderTable([...rows, ...money.map(([what, a, b]) => ({ what, simulated: a, stored: b, check: verdict(a, b) }))]));
  out('');
  out('Dead letters by reason');
  out(renderTable(Object.entries(stats.deadLettersByReason).map(([reason, messages]) => ({ reason, messages }))));
}

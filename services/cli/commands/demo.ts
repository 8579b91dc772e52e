import { randomBytes } from 'node:crypto';
import type { Config } from '../../shared/config.js';
import { openWarehouse, queryRows } from '../../shared/clickhouse.js';
import { kafkaFromConfig } from '../../shared/kafka.js';
import type { Logger } from '../../shared/logger.js';
import { migrate } from '../../shared/migrations.js';
import { connectTemporal } from '../../shared/temporal.js';
import { consumeDemoMessages, demoValue, ensureDemoTable, produceDemoMessages } from '../../demo/round-trip.js';
import { stackUp } from '../../stack/stack.js';
import { DEMO_TABLE, DEMO_TOPIC } from '../../../schemas/names.js';
import { startWorker } from '../../../workflows/worker.js';
import { runRoundTrip } from '../../../workflows/client.js';
import { formatMs, renderTable } from '../output.js';

/**
 * The round trip through every engine: Kafka in and out through a consumer group, rows in
 * ClickHouse, and a Temporal workflow whose activity reads them back.
 */
export async function demoCommand(config: Config, baseLogger: Logger, options: { messages: number }): Promise<void> {
  // The demo speaks through its own output; client warnings only at LOG_LEVEL=debug or below.
  const logger = config.logLevel === 'info' ? baseLogger.child({}, { level: 'error' }) : baseLogger;
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const timings: [string, number][] = [];
  const step = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    out(`… ${label}`);
    const t0 = performance.now();
    const value = await work();
    const ms = performance.now() - t0;
    timings.push([label, ms]);
    out(`✓ ${label} (${formatMs(ms)})`);
    return value;
  };

  await step('local stack up (Kafka, Temporal)', () => stackUp(config, (line) => out(`  ${line}`)));
  const warehouse = await step(`open ClickHouse (${config.clickhouse.mode})`, () => openWarehouse(config.clickhouse));
  try {
    await step('apply migrations', () => migrate(warehouse.client));
    await ensureDemoTable(warehouse.client);
    const runId = `${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`;
    const kafka = kafkaFromConfig(config, logger);
    const count = options.messages;

    await step(`produce ${count.toLocaleString('en-US')} messages to ${DEMO_TOPIC}`, () => produceDemoMessages(kafka, DEMO_TOPIC, runId, count));
    const consumed = await step('consume them in a consumer group into ClickHouse', () =>
      consumeDemoMessages({ kafka, clickhouse: warehouse.client, topic: DEMO_TOPIC, runId, count, logger }),
    );

    const { connection, client } = await connectTemporal(config.temporal);
    const worker = await step('start the Temporal worker (bundles the workflows)', () => startWorker(config.temporal, { clickhouse: warehouse.client }));
    let result;
    try {
      result = await step('run roundTripWorkflow → countRoundTripRows activity', () => runRoundTrip(client, runId));
    } finally {
      await worker.shutdown();
      await connection.close();
    }

    let expectedSum = 0;
    for (let seq = 0; seq < count; seq += 1) expectedSum += demoValue(seq);
    const byPartition = await queryRows(
      warehouse.client,
      `SELECT topic_partition AS partition, count() AS messages, sum(value) AS value_sum, min(kafka_offset) AS first_offset, max(kafka_offset) AS last_offset
       FROM ${DEMO_TABLE} FINAL WHERE run_id = {runId: String} GROUP BY topic_partition ORDER BY topic_partition`,
      { runId },
    );

    out('');
    out(`Round trip ${runId}`);
    out(renderTable(byPartition));
    out('');
    const ok = result.rows === count && result.valueSum === expectedSum;
    out(`Workflow counted ${result.rows.toLocaleString('en-US')} rows (sent ${count.toLocaleString('en-US')}), value sum ${result.valueSum} (expected ${expectedSum}) in ${consumed.batches} batch(es): ${ok ? 'OK' : 'MISMATCH'}`);
    out('');
    out('Timings');
    out(renderTable(timings.map(([what, ms]) => ({ step: what, time: formatMs(ms) }))));
    out('');
    out('Where to look');
    out(`  Temporal UI:  http://127.0.0.1:${config.stack.temporalUiPort}/namespaces/${config.temporal.namespace}/workflows/round-trip:${runId}`);
    out(`  ClickHouse:   npx kpi sql "SELECT run_id, count() FROM ${DEMO_TABLE} GROUP BY run_id"`);
    out('  Stack:        npm run stack:status   (npm run stack:down stops it)');
    if (!ok) throw new Error('The round trip lost or duplicated messages');
  } finally {
    await warehouse.close();
  }
}

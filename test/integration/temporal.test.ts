import { WorkflowFailedError } from '@temporalio/client';
import { openWarehouse, type Warehouse } from '../../services/shared/clickhouse.js';
import { connectTemporal, type Client, type Connection } from '../../services/shared/temporal.js';
import { ensureDemoTable } from '../../services/demo/round-trip.js';
import { DEMO_TABLE } from '../../schemas/names.js';
import { runRoundTrip } from '../../workflows/client.js';
import { startWorker, type WorkerHandle } from '../../workflows/worker.js';
import { testConfig, uniqueName } from '../support/env.js';

describe('Temporal (real dev server): a workflow and its activity', () => {
  const config = testConfig();
  const taskQueue = uniqueName('test-queue');
  let warehouse: Warehouse;
  let worker: WorkerHandle;
  let temporal: { connection: Connection; client: Client };

  beforeAll(async () => {
    warehouse = await openWarehouse(config.clickhouse);
    await ensureDemoTable(warehouse.client);
    temporal = await connectTemporal(config.temporal);
    worker = await startWorker(config.temporal, { clickhouse: warehouse.client }, { taskQueue });
  });

  afterAll(async () => {
    await worker.shutdown();
    await temporal.connection.close();
    await warehouse.close();
  });

  it('runs roundTripWorkflow, whose activity reads the rows back from ClickHouse', async () => {
    const runId = uniqueName('run');
    const values = Array.from({ length: 1_234 }, (_, i) => (i * 7919) % 1000);
    const rows = values.map((value, seq) => ({ run_id: runId, seq, value, topic_partition: seq % 3, kafka_offset: seq }));
    // A replayed insert of the first 100 rows must not be counted twice.
    await warehouse.client.insert({ table: DEMO_TABLE, values: [...rows, ...rows.slice(0, 100)], format: 'JSONEachRow' });

    const result = await runRoundTrip(temporal.client, runId, { taskQueue });
    expect(result).toEqual({ runId, rows: values.length, valueSum: values.reduce((a, b) => a + b, 0) });
  });

  it('fails bad input with a non-retryable, typed failure', async () => {
    const failure = await runRoundTrip(temporal.client, "x'; DROP TABLE demo_round_trip; --", { taskQueue }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as { type?: string; nonRetryable?: boolean } | undefined;
    expect(cause?.type).toBe('InvalidInput');
    expect(cause?.nonRetryable).toBe(true);
  });
});

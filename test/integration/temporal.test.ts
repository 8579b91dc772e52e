import { openWarehouse, insertRows, type Warehouse } from '../../services/shared/clickhouse.js';
import { loadScorecards } from '../../services/shared/scorecards.js';
import { migrate } from '../../services/shared/migrations.js';
import { connectTemporal, type Client, type Connection } from '../../services/shared/temporal.js';
import { runWarehouseCounts } from '../../workflows/client.js';
import { startWorker, type WorkerHandle } from '../../workflows/worker.js';
import { moneySettings } from '../../services/shared/config.js';
import { testConfig, uniqueName } from '../support/env.js';

const ORG = { region: 'R01', store: 'S001', department: 'sales', channel: 'store', producer: 'test', source_partition: 0, source_offset: 0 };

describe('Temporal (real dev server): a workflow and its activity over the warehouse', () => {
  const config = testConfig();
  const taskQueue = uniqueName('test-queue');
  let warehouse: Warehouse;
  let worker: WorkerHandle;
  let temporal: { connection: Connection; client: Client };

  beforeAll(async () => {
    warehouse = await openWarehouse(config.clickhouse);
    await migrate(warehouse.client);
    temporal = await connectTemporal(config.temporal);
    worker = await startWorker(config.temporal, { clickhouse: warehouse.client, scorecards: loadScorecards(config.close), money: moneySettings(config.business) }, { taskQueue });
  });

  afterAll(async () => {
    await worker.shutdown();
    await temporal.connection.close();
    await warehouse.close();
  });

  it('runs warehouseCountsWorkflow, whose activity counts distinct events in ClickHouse', async () => {
    const at = '2026-07-01 10:00:00.000';
    const orders = Array.from({ length: 40 }, (_, i) => ({ ...ORG, event_id: `o-${i}`, type: 'order.placed', event_version: 1, occurred_at: at, order_id: `ord-${i}` }));
    const tickets = Array.from({ length: 25 }, (_, i) => ({ ...ORG, event_id: `t-${i}`, type: 'ticket.opened', event_version: 1, occurred_at: at, ticket_id: `tk-${i}` }));
    // Sale lines: 30 sales of 1-3 lines; a sale is one event however many lines it has.
    const lines = Array.from({ length: 30 }, (_, i) =>
      Array.from({ length: (i % 3) + 1 }, (__, l) => ({
        ...ORG, event_id: `s-${i}`, event_version: 2, occurred_at: at, sale_id: `sale-${i}`, line_no: l + 1, payment_method: 'card', currency: 'CNY',
        sku: 'SKU', category: 'c', quantity: 1, unit_price_minor: 100, discount_minor: 0, net_minor: 100,
      })),
    ).flat();
    await insertRows(warehouse.client, 'order_events', orders);
    await insertRows(warehouse.client, 'ticket_events', tickets);
    await insertRows(warehouse.client, 'sale_lines', lines);
    // Replays of some rows, not yet merged away: must not be counted twice.
    await insertRows(warehouse.client, 'order_events', orders.slice(0, 10));
    await insertRows(warehouse.client, 'sale_lines', lines.slice(0, 7));

    const result: unknown = await temporal.client.workflow.execute('warehouseCountsWorkflow', { taskQueue, workflowId: uniqueName('counts') });
    expect(result).toEqual({ stored: 40 + 25 + 30, deadLetters: 0, byFamily: { sales: 30, orders: 40, returns: 0, tickets: 25 } });

    // The client helper starts the same workflow by its business key.
    const again = await runWarehouseCounts(temporal.client, uniqueName('counts'), { taskQueue });
    expect(again).toEqual(result);
  });
});

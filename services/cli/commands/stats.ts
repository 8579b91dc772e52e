import type { Config } from '../../shared/config.js';
import { openWarehouse } from '../../shared/clickhouse.js';
import { warehouseStats } from '../../ingest/stats.js';
import { renderTable } from '../output.js';

export async function statsCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const warehouse = await openWarehouse(config.clickhouse);
  try {
    const stats = await warehouseStats(warehouse.client);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(stats)}\n`);
      return;
    }
    process.stdout.write(`Stored events: ${stats.stored.toLocaleString('en-US')}   dead letters: ${stats.dead_letters.toLocaleString('en-US')}   (${warehouse.location})\n\n`);
    process.stdout.write(`${renderTable(Object.entries(stats.byFamily).map(([family, events]) => ({ family, events })))}\n`);
    if (stats.dead_letters > 0) {
      process.stdout.write(`\n${renderTable(Object.entries(stats.deadLettersByReason).map(([reason, messages]) => ({ reason, messages })))}\n`);
    }
  } finally {
    await warehouse.close();
  }
}

import type { Config } from '../../shared/config.js';
import { openWarehouse } from '../../shared/clickhouse.js';
import { migrate } from '../../shared/migrations.js';
import { formatMs } from '../output.js';

export async function migrateCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const warehouse = await openWarehouse(config.clickhouse);
  try {
    const result = await migrate(warehouse.client, {
      onApplied: (m, ms) => process.stderr.write(`applied ${m.file} (${m.statements.length} statement(s), ${formatMs(ms)})\n`),
    });
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ applied: result.applied.map((m) => m.file), alreadyApplied: result.alreadyApplied })}\n`);
    } else if (result.applied.length === 0) {
      process.stdout.write(`Schema is up to date (${result.alreadyApplied} migration(s) applied earlier) in ${warehouse.location}.\n`);
    } else {
      process.stdout.write(`Applied ${result.applied.length} migration(s) to ${warehouse.location}; ${result.alreadyApplied} were applied earlier.\n`);
    }
  } finally {
    await warehouse.close();
  }
}

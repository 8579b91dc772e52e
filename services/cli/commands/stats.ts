import type { Config } from '../../shared/config.js';
import { renderTable } from '../output.js';
import { withSession } from '../session.js';

export async function statsCommand(config: Config, options: { json?: boolean }): Promise<void> {
  await withSession(config, 'values.read', async ({ operations, warehouse }) => {
    const stats = await operations.stats();
    if (options.json) {
      process.stdout.write(`${JSON.stringify(stats)}\n`);
      return;
    }
    process.stdout.write(`Stored events: ${stats.stored.toLocaleString('en-US')}   dead letters: ${stats.dead_letters.toLocaleString('en-US')}   (${warehouse.location})\n\n`);
    process.stdout.write(`${renderTable(Object.entries(stats.byFamily).map(([family, events]) => ({ family, events })))}\n`);
    if (stats.dead_letters > 0) {
      process.stdout.write(`\n${renderTable(Object.entries(stats.deadLettersByReason).map(([reason, messages]) => ({ reason, messages })))}\n`);
    }
  });
}

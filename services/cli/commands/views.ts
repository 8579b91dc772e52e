import type { Config } from '../../shared/config.js';
import type { ViewDoc } from '../../shared/views.js';
import { displayWidth } from '../output.js';
import { withSession } from '../session.js';

/**
 * `kpi views [view]`: the data dictionary. Each documented view with its comment and every
 * column's type and comment, as the live store describes them. Reading what a view means is
 * harmless, so it takes what reading values takes (`values.read`), not `sql.read`.
 */
export async function viewsCommand(config: Config, view: string | undefined, options: { json?: boolean }): Promise<void> {
  await withSession(config, 'values.read', async ({ operations, warehouse }) => {
    const views = await operations.views(view);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(views)}\n`);
      return;
    }
    if (views.length === 0) {
      process.stdout.write(`${warehouse.location} has no documented views yet: run kpi migrate.\n`);
      return;
    }
    process.stdout.write(`${views.map(describeView).join('\n\n')}\n`);
  });
}

/** A view for a person: its name and comment, then one aligned line per column; comments are never cut short. */
function describeView(view: ViewDoc): string {
  const header = { name: 'column', type: 'type', comment: 'comment' };
  const rows = [header, ...view.columns];
  const nameWidth = Math.max(...rows.map((c) => displayWidth(c.name)));
  const typeWidth = Math.max(...rows.map((c) => displayWidth(c.type)));
  const pad = (text: string, width: number): string => text + ' '.repeat(width - displayWidth(text));
  const line = (c: (typeof rows)[number]): string => `  ${pad(c.name, nameWidth)}  ${pad(c.type, typeWidth)}  ${c.comment}`.trimEnd();
  return [`${view.name}: ${view.comment}`, ...rows.map(line)].join('\n');
}

import { applyAccessControl, type AccessControlResult } from '../../shared/access-control.js';
import type { Config } from '../../shared/config.js';
import { embeddedStoreHolder, openWarehouse, queryRows, type ClickHouseClient } from '../../shared/clickhouse.js';
import { authorize } from '../../auth/permissions.js';
import { createAuthenticator, ensureAdmin } from '../../auth/principals.js';
import { announceAdmin, openSession, presentedToken } from '../session.js';
import { migrate, migrationScript } from '../../shared/migrations.js';
import { formatMs } from '../output.js';

/** Whether the store already has users: then changing its schema takes an admin's credential. */
async function hasPrincipals(client: ClickHouseClient): Promise<boolean> {
  const [table] = await queryRows<{ n: string }>(client, "SELECT toString(count()) AS n FROM system.tables WHERE database = currentDatabase() AND name = 'principals'");
  if (Number(table?.n ?? 0) === 0) return false;
  const [users] = await queryRows<{ n: string }>(client, 'SELECT toString(count()) AS n FROM principals');
  return Number(users?.n ?? 0) > 0;
}

/**
 * `kpi migrate --print-sql`: the statements a new store would receive, as SQL (or one JSON
 * line), from the files and the configuration alone. For CLICKHOUSE_CLUSTER they are the
 * cluster's: what a reviewer checks, or runs by hand, before the first migration.
 */
function printMigrationSql(config: Config, options: { json?: boolean }): void {
  const cluster = config.clickhouse.mode === 'server' ? config.clickhouse.cluster : undefined;
  const script = migrationScript({ database: config.clickhouse.database, ...(cluster === undefined ? {} : { cluster }) });
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ cluster: cluster ?? null, statements: script })}\n`);
    return;
  }
  let source = '';
  for (const s of script) {
    if (s.source !== source) process.stdout.write(`-- ${s.source}\n`);
    source = s.source;
    process.stdout.write(`${s.sql};\n\n`);
  }
}

/**
 * `kpi migrate`: applies pending migrations, then (on a new store) creates the first admin.
 * Through a running kpi, that process checks the credential; opened here, a store that has
 * users needs a credential allowed to change it (sql.write).
 */
export async function migrateCommand(config: Config, options: { json?: boolean; printSql?: boolean }): Promise<void> {
  if (options.printSql) {
    printMigrationSql(config, options);
    return;
  }
  const embeddedHeld = config.clickhouse.mode === 'embedded' && embeddedStoreHolder(config.clickhouse.path) !== null;
  // Through a running kpi: that process checks the credential, and says who it is first.
  const session = embeddedHeld ? await openSession(config, 'sql.write') : undefined;
  const warehouse = session?.warehouse ?? (await openWarehouse(config.clickhouse));
  try {
    if (!warehouse.via && (await hasPrincipals(warehouse.client))) authorize(await createAuthenticator(warehouse.client).authenticate(presentedToken(config)), 'sql.write');
    const result = await migrate(warehouse.client, {
      onApplied: (m, ms) => process.stderr.write(`applied ${m.file} (${m.statements.length} statement(s), ${formatMs(ms)})\n`),
    });
    // Roles and users exist only on a server: the embedded engine has no access storage.
    const access: AccessControlResult | undefined = config.clickhouse.mode === 'server' ? await applyAccessControl(warehouse.client, config.clickhouse) : undefined;
    if (options.json) {
      const accessControl = access === undefined ? {} : { accessControl: { statements: access.statements, readerUser: access.readerUser ?? null } };
      process.stdout.write(`${JSON.stringify({ applied: result.applied.map((m) => m.file), alreadyApplied: result.alreadyApplied, ...accessControl })}\n`);
    } else if (result.applied.length === 0) {
      process.stdout.write(`Schema is up to date (${result.alreadyApplied} migration(s) applied earlier) in ${warehouse.location}.\n`);
    } else {
      process.stdout.write(`Applied ${result.applied.length} migration(s) to ${warehouse.location}; ${result.alreadyApplied} were applied earlier.\n`);
    }
    if (access !== undefined && !options.json) process.stdout.write(`${access.summary}\n`);
    const admin = warehouse.via ? undefined : await ensureAdmin(warehouse.client, config.auth);
    if (admin) announceAdmin(admin);
  } finally {
    await (session ?? warehouse).close();
  }
}

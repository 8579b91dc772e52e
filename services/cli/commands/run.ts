import { moneySettings, type Config } from '../../shared/config.js';
import { KpiError, StoreBusyError, UnauthenticatedError, describeError } from '../../shared/errors.js';
import { openWarehouse, publishStoreEndpoint, withdrawStoreEndpoint, type Warehouse } from '../../shared/clickhouse.js';
import { authorize } from '../../auth/permissions.js';
import type { Caller } from '../../auth/principals.js';
import { remoteAuthenticator, whoami } from '../../operations/remote.js';
import { presentedToken } from '../session.js';
import { kafkaFromConfig } from '../../shared/kafka.js';
import type { Logger } from '../../shared/logger.js';
import { loadScorecards } from '../../shared/scorecards.js';
import { migrate } from '../../shared/migrations.js';
import { startApiServer, type ApiServer } from '../../api/server.js';
import { userRoutes } from '../../api/users-routes.js';
import { createAuthenticator, ensureAdmin } from '../../auth/principals.js';
import { announceAdmin } from '../session.js';
import { localOperations, type OperationsFor } from '../../operations/operations.js';
import { lazySignOff } from '../../operations/sign-off.js';
import { storeEndpoint } from '../../api/store-endpoint.js';
import { periodRoutes } from '../../api/periods-routes.js';
import { consoleRoutes } from '../../api/console-routes.js';
import { reportRoutes } from '../../api/report-routes.js';
import { startIngest } from '../../ingest/consumer.js';
import { topicNames } from '../../../schemas/events/index.js';
import { startWorker } from '../../../workflows/worker.js';
import { periodSettings, reportLateEvents } from '../../../workflows/client.js';
import { startLateEventWatcher } from '../../periods/late-events.js';
import { connectTemporal } from '../../shared/temporal.js';
import { createIngestMetrics } from '../../ingest/metrics.js';

/** Resolves on the first SIGTERM or SIGINT. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
      resolve(signal);
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}

/**
 * The root ClickHouse listener, or undefined with a warning when its port is taken (a
 * ClickHouse server of the analyst's own, say): the pipeline runs on without it.
 */
async function startClickHouseListener(port: number, start: () => Promise<ApiServer>): Promise<ApiServer | undefined> {
  try {
    return await start();
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EADDRINUSE') throw err;
    process.stderr.write(`kpi: port ${port} is in use, so there is no ClickHouse HTTP interface at its root; set KPI_CLICKHOUSE_PORT to a free port (or off). The store is still served at /clickhouse on the API port.\n`);
    return undefined;
  }
}

/**
 * The store this role works on. An embedded store that another kpi process holds is reached
 * through that process by `kpi ingest` and `kpi worker`, which present the command's
 * credential (KPI_TOKEN or KPI_TOKEN_FILE): a service or admin token, since they write.
 * `kpi run` and `kpi api` serve the store, so they must hold it themselves.
 */
async function openStore(config: Config, role: 'run' | 'ingest' | 'worker' | 'api'): Promise<{ warehouse: Warehouse; holder?: { base: string; caller: Caller } }> {
  const warehouse = await openWarehouse(config.clickhouse);
  if (!warehouse.via) return { warehouse };
  await warehouse.close();
  if (role === 'run' || role === 'api') {
    throw new StoreBusyError(
      `The embedded store ${warehouse.location} is already held by kpi process ${warehouse.via.pid}; run one \`kpi ${role}\` per store (\`kpi ingest\` and \`kpi worker\` may join it).`,
    );
  }
  const token = presentedToken(config);
  const through = await openWarehouse(config.clickhouse, { credential: token });
  // The holder may have stopped meanwhile: then this process holds the store.
  if (!through.via) return { warehouse: through };
  const base = through.via.url.replace(/\/clickhouse\/?$/, '');
  try {
    const caller = authorize(await whoami(base, token), 'sql.write');
    process.stderr.write(`kpi ${role}: the store is held by kpi process ${through.via.pid}; working through it as ${caller.name} (${caller.role}).\n`);
    return { warehouse: through, holder: { base, caller } };
  } catch (err) {
    await through.close();
    throw err;
  }
}

/**
 * `kpi run` (embedded: owns the store and hosts every role), `kpi ingest` (the consumer
 * alone), `kpi worker` (the Temporal worker alone) and `kpi api` (the HTTP API alone,
 * which also serves an embedded store it holds). Runs in the foreground until SIGTERM or SIGINT, then finishes the batch in hand,
 * commits it, leaves the group and closes the store.
 */
export async function runCommand(config: Config, logger: Logger, options: { role: 'run' | 'ingest' | 'worker' | 'api' }): Promise<void> {
  const scorecards = loadScorecards(config.close);
  const signal = untilSignal();
  const { warehouse, holder } = await openStore(config, options.role);
  // Set when this process holds an embedded store (and so serves it to the others).
  const storePath = config.clickhouse.mode === 'embedded' && !holder ? config.clickhouse.path : undefined;
  try {
    if (!holder) {
      const migrated = await migrate(warehouse.client);
      if (migrated.applied.length > 0) logger.info({ applied: migrated.applied.map((m) => m.file) }, 'migrations applied');
    }
    // The process that holds an embedded store, or serves the API, creates a new store's first admin.
    const admin = storePath || (!holder && (options.role === 'run' || options.role === 'api')) ? await ensureAdmin(warehouse.client, config.auth) : undefined;
    if (admin) announceAdmin(admin);
    const metrics = createIngestMetrics();
    const names = topicNames(config.kafka.topicPrefix);
    const ingest =
      options.role === 'api' || options.role === 'worker'
        ? undefined
        : await startIngest(
            // Its own session of the store: its inserts never wait behind a close's queries.
            { kafka: kafkaFromConfig(config, logger), clickhouse: await warehouse.session(), logger, metrics },
            { topics: names.families, deadLetterTopic: names.deadLetters, groupId: config.kafka.ingestGroup, decodeThreads: config.kafka.decodeThreads, partitions: config.kafka.topicPartitions },
          );
    // The Temporal worker hosts the workflows and activities (period closes).
    const worker =
      options.role === 'run' || options.role === 'worker'
        ? await startWorker(config.temporal, { clickhouse: warehouse.client, scorecards, money: moneySettings(config.business), ingest: { kafka: kafkaFromConfig(config, logger), topics: Object.values(names.families) } }).catch((err: unknown) => {
            throw new KpiError(`Could not start the Temporal worker at ${config.temporal.address}: ${describeError(err)}. Is Temporal running (npm run stack:up)?`, { cause: err });
          })
        : undefined;
    // The worker's host also watches for late events in closed periods and restates them.
    const temporal = worker ? await connectTemporal(config.temporal) : undefined;
    const watcher = temporal
      ? startLateEventWatcher({
          clickhouse: warehouse.client,
          calendar: config.business,
          intervalMs: config.close.lateCheckMs,
          logger,
          report: (late) => reportLateEvents(temporal.client, { ...periodSettings(config), grain: late.grain, period: late.period, debounceMs: config.close.restateDebounceMs }, late.events, { taskQueue: config.temporal.taskQueue }),
        })
      : undefined;
    // Through a holder, tokens presented to this process's API are checked by the holder.
    const authenticator = holder ? remoteAuthenticator(holder.base) : createAuthenticator(warehouse.client);
    const signOff = lazySignOff(config.temporal, config.close.idPrefix);
    const deps = { clickhouse: warehouse.client, calendar: config.business, fourEyes: config.auth.fourEyes, signOff: signOff.get, onCredentialsChanged: authenticator.forget };
    const operations: OperationsFor = (caller) => {
      if (!caller) throw new UnauthenticatedError('a credential is required');
      return localOperations(deps, caller);
    };
    const listener = { host: config.api.host, logger, metrics: metrics.registry, authenticator, metricsToken: config.api.metricsToken, allowedHosts: config.api.allowedHosts, corsOrigins: config.api.corsOrigins };
    // Holding the embedded store, this process is how everyone else reaches it: at /clickhouse
    // on the API port, and as a ClickHouse server at the root of its own port for analysts' tools.
    const running = { count: 0 };
    const door = (prefix: '' | '/clickhouse') => storeEndpoint({ client: warehouse.client, logger, database: warehouse.database, limits: config.sql.limits, maxConcurrent: config.sql.maxConcurrent, prefix, running });
    const api = await startApiServer({
      ...listener,
      port: config.api.port,
      // Through a holder, only health and metrics: the holder serves periods, users, reports and the console.
      plugins: holder
        ? []
        : [
            periodRoutes({ operations, calendar: config.business }),
            userRoutes({ operations }),
            reportRoutes({ operations, config }),
            consoleRoutes({ operations, authenticator, clickhouse: warehouse.client, calendar: config.business, scorecards, logger }),
            ...(storePath ? [door('/clickhouse')] : []),
          ],
    });
    const clickhouse = storePath && config.api.clickhousePort !== undefined ? await startClickHouseListener(config.api.clickhousePort, () => startApiServer({ ...listener, port: config.api.clickhousePort ?? 0, plugins: [door('')], standardRoutes: false })) : undefined;
    if (storePath) publishStoreEndpoint(storePath, api.url);
    const doing = [
      ingest ? `ingesting into ${warehouse.location}` : `serving ${warehouse.location}`,
      worker ? `Temporal worker on ${config.temporal.address}` : '',
      clickhouse ? `ClickHouse HTTP interface at ${clickhouse.url}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    process.stderr.write(`kpi ${options.role}: ${doing}; health and metrics at ${api.url}/health, ${api.url}/metrics. Stop with Ctrl-C or SIGTERM.\n`);
    const received = await signal;
    logger.info({ signal: received }, 'stopping');
    await ingest?.stop();
    await watcher?.stop();
    await temporal?.connection.close();
    await worker?.shutdown();
    if (storePath) withdrawStoreEndpoint(storePath);
    await clickhouse?.close();
    await api.close();
    await signOff.close();
  } finally {
    await warehouse.close();
  }
}

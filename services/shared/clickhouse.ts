import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { Config } from './config.js';
import { KpiError, StoreBusyError, describeError } from './errors.js';

export type { ClickHouseClient };

/** The client's own console logging is off: every failure reaches the caller, who reports it. */
const QUIET = { log: { level: ClickHouseLogLevel.OFF } };

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

/**
 * chdb declares its connection with @clickhouse/client-common's types, of which
 * @clickhouse/client now bundles its own copy: one shape, two declarations, hence the cast.
 */
function chdbConnection(path: string): ClientConnection {
  return createChdbConnection({ path }) as unknown as ClientConnection;
}

/** An open connection to the warehouse: the embedded engine or a ClickHouse server. */
export interface Warehouse {
  readonly client: ClickHouseClient;
  readonly mode: 'embedded' | 'server';
  /** Where the data lives: the embedded folder or the server URL. */
  readonly location: string;
  readonly database: string;
  /** Set when the embedded store is held by another kpi process and reached through it. */
  readonly via?: { pid: number; url: string };
  close(): Promise<void>;
}

/** Where the process holding an embedded store publishes its store endpoint. */
function endpointFile(storePath: string): string {
  return `${storePath.replace(/\/+$/, '')}.endpoint.json`;
}

/** Called by the process that holds the store once its HTTP API listens. */
export function publishStoreEndpoint(storePath: string, apiUrl: string): void {
  writeFileSync(endpointFile(storePath), `${JSON.stringify({ pid: process.pid, url: `${apiUrl}/clickhouse` })}\n`);
}

export function withdrawStoreEndpoint(storePath: string): void {
  const file = endpointFile(storePath);
  try {
    const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
    if (pid === process.pid) rmSync(file, { force: true });
  } catch {
    /* nothing published */
  }
}

function publishedEndpoint(storePath: string, holder: number): { pid: number; url: string } | undefined {
  try {
    const ep = JSON.parse(readFileSync(endpointFile(storePath), 'utf8')) as { pid: number; url: string };
    return ep.pid === holder && typeof ep.url === 'string' ? ep : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The one place that constructs ClickHouse clients. With `CLICKHOUSE_URL` it talks to a
 * server; otherwise it opens the embedded chDB engine on its data folder, which only one
 * process may hold at a time. The pipeline's database is created when missing, and every
 * query runs in it, so SQL elsewhere names tables without a database.
 */
export async function openWarehouse(config: Config['clickhouse']): Promise<Warehouse> {
  if (config.mode === 'server') {
    const base = new URL(config.url);
    const bootstrap = createClient({ ...QUIET, url: base.origin, ...(base.pathname !== '/' ? { pathname: base.pathname } : {}), username: config.user, password: config.password });
    try {
      await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${config.database}` });
    } catch (err) {
      throw new KpiError(`ClickHouse at ${config.url} did not answer: ${describeError(err)}`, { cause: err, retriable: true });
    } finally {
      await bootstrap.close();
    }
    // The client ignores a path in `url`; a path (e.g. a kpi process's /clickhouse) goes in `pathname`.
    const url = new URL(config.url);
    const client = createClient({
      ...QUIET,
      url: url.origin,
      ...(url.pathname !== '/' ? { pathname: url.pathname } : {}),
      username: config.user,
      password: config.password,
      database: config.database,
    });
    return { client, mode: 'server', location: config.url, database: config.database, close: () => client.close() };
  }

  mkdirSync(config.path, { recursive: true });
  const busy = (cause?: unknown): StoreBusyError =>
    new StoreBusyError(
      `The embedded ClickHouse store at ${config.path} is held by another process (pid ${embeddedStoreHolder(config.path) ?? '?'}); ` +
        'chDB allows one process per data folder. Stop that process, or point CHDB_PATH at another folder.',
      { cause },
    );
  const holder = embeddedStoreHolder(config.path);
  if (holder !== null && holder !== process.pid) {
    // chDB allows one process per data folder; the holder serves the store over HTTP.
    const via = publishedEndpoint(config.path, holder);
    if (!via) throw busy();
    const endpoint = new URL(via.url);
    const client = createClient({ ...QUIET, url: endpoint.origin, pathname: endpoint.pathname, compression: { request: false, response: false } });
    return { client, mode: 'embedded', location: `${config.path} (through kpi process ${via.pid})`, database: config.database, via, close: () => client.close() };
  }
  let client: ClickHouseClient;
  try {
    client = createClient({ ...QUIET, connection: chdbConnection(config.path) });
  } catch (err) {
    const now = embeddedStoreHolder(config.path);
    if (now !== null && now !== process.pid) throw busy(err);
    throw new KpiError(`Could not open the embedded ClickHouse store at ${config.path}: ${describeError(err)}`, { cause: err });
  }
  // A chDB session keeps its current database between queries, so one USE serves all.
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${config.database}` });
  await client.command({ query: `USE ${config.database}` });
  return { client, mode: 'embedded', location: config.path, database: config.database, close: () => client.close() };
}

/**
 * The pid holding an embedded store, or null. ClickHouse writes `status` with its pid into
 * the data folder while it is open and removes it on close; a stale file names a dead pid.
 */
export function embeddedStoreHolder(storePath: string): number | null {
  const file = path.join(storePath, 'status');
  if (!existsSync(file)) return null;
  const pid = Number(/PID:\s*(\d+)/.exec(readFileSync(file, 'utf8'))?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** Tokens are built from topic, partition and offsets: plain characters only. */
const TOKEN_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * One insert of many rows. With `dedupToken`, ClickHouse skips an insert whose token it has
 * already seen (a replayed batch). The token travels in the statement's own SETTINGS clause,
 * never as a client setting: the embedded engine applies client settings with SET, which
 * would stay on its session and silently deduplicate every later insert against it.
 */
export async function insertRows(
  client: ClickHouseClient,
  table: string,
  rows: Record<string, unknown>[],
  options: { dedupToken?: string } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const token = options.dedupToken;
  if (token !== undefined && !TOKEN_PATTERN.test(token)) throw new KpiError(`invalid insert deduplication token ${JSON.stringify(token)}`);
  await client.insert({
    table: token === undefined ? table : `${table} SETTINGS insert_deduplication_token = '${token}'`,
    values: rows,
    format: 'JSONEachRow',
  });
}

/** Runs a query and returns its rows as plain objects. Values reach SQL only as parameters. */
export async function queryRows<T = Record<string, unknown>>(
  client: ClickHouseClient,
  query: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

/**
 * A warehouse error a person can act on, or undefined: a missing table means the store was
 * never migrated (ClickHouse error 60, UNKNOWN_TABLE).
 */
export function explainWarehouseError(err: unknown): KpiError | undefined {
  const code = err instanceof Error && 'code' in err ? String(err.code) : '';
  if (code !== '60') return undefined;
  const table = /identifier '([^']+)'|Table \S+\.(\S+) does not exist/.exec(err instanceof Error ? err.message : '');
  const name = table?.[1] ?? table?.[2] ?? 'a table';
  return new KpiError(`The warehouse has no ${name === 'a table' ? name : `table ${name}`} yet: run \`npx kpi migrate\` first (kpi run, kpi worker and kpi demo apply migrations themselves).`);
}

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type DataFormat } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { databaseStatement, inPlaceStatement, type ClusterTarget } from './cluster-sql.js';
import type { Config } from './config.js';
import { ForbiddenError, KpiError, StoreBusyError, UnauthenticatedError, UsageError, describeError } from './errors.js';

export type { ClickHouseClient };

/** The client's own console logging is off: every failure reaches the caller, who reports it. */
const QUIET = { log: { level: ClickHouseLogLevel.OFF } };

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

/**
 * chdb declares its connection with @clickhouse/client-common's types, of which
 * @clickhouse/client now bundles its own copy: one shape, two declarations, hence the cast.
 */
function chdbConnection(path: string): ClientConnection {
  return oneAtATime(createChdbConnection({ path }) as unknown as ClientConnection);
}

type ConnectionMethod = 'query' | 'exec' | 'command' | 'insert' | 'ping';

/**
 * The embedded engine runs one statement at a time on its session, and a statement that
 * fails after writing part of its output leaves that output in front of the next
 * statement's answer (chDB 26: `SELECT number … SETTINGS max_result_rows = 1000` failing at
 * row 1,100, or a `throwIf` mid-way, prefixes the next result). So every caller in this
 * process — ingest, closes, the HTTP API, the SQL door — takes its turn here, and after a
 * failure a throwaway `SELECT 1` takes the leftovers before the next turn begins.
 */
function oneAtATime(connection: ClientConnection): ClientConnection {
  let turn: Promise<unknown> = Promise.resolve();
  const drain = async (): Promise<void> => {
    for (let i = 0; i < 3; i += 1) {
      try {
        const result = await connection.query({ query: 'SELECT 1 FORMAT TabSeparated', query_id: `kpi-drain-${i}` });
        let text = '';
        for await (const chunk of result.stream as AsyncIterable<Buffer>) text += chunk.toString('utf8');
        if (text === '1\n') return;
      } catch {
        /* the next attempt drains what this one left */
      }
    }
  };
  const serial = <M extends ConnectionMethod>(method: M): ClientConnection[M] =>
    ((params: never) => {
      const run = turn.then(async () => {
        try {
          return await (connection[method] as (p: never) => Promise<unknown>)(params);
        } catch (err) {
          await drain();
          throw err;
        }
      });
      turn = run.catch(() => undefined);
      return run;
    }) as ClientConnection[M];
  return { query: serial('query'), exec: serial('exec'), command: serial('command'), insert: serial('insert'), ping: serial('ping'), close: () => connection.close() };
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
  /**
   * A further connection to the same store, whose statements run beside the main one's
   * rather than after them: the embedded engine runs one statement at a time per session,
   * so ingest takes one of its own and a long close does not hold its inserts up. A server
   * (or another kpi process's store door) already serves statements side by side, so there
   * it is the main client. Closed with the warehouse.
   */
  session(): Promise<ClickHouseClient>;
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
 * Client settings for a cluster (CLICKHOUSE_CLUSTER), on every statement the pipeline sends:
 *
 * - insert_distributed_sync (distributed_foreground_insert in newer servers): an insert into
 *   a Distributed table returns once every shard's replica wrote its rows, not when they are
 *   queued on the receiving node's disk. Ingest commits Kafka offsets only after the insert
 *   returns, and a close reads right after; both need the rows in the tables by then. The
 *   shards also see the insert's insert_deduplication_token while the caller waits: a
 *   replayed batch sends the same rows (the sharding key is a hash) with the same token to
 *   the same shard, which skips them.
 * - insert_quorum 'auto': the insert returns once a majority of each shard's replicas hold
 *   the rows, so losing one replica loses no acknowledged row; with two replicas per shard
 *   that is both, and a read on either replica sees every acknowledged row. An insert waits
 *   (and fails after insert_quorum_timeout) while a majority is down.
 * - distributed_product_mode 'global': the views and KPI queries join and filter (IN) one
 *   Distributed table by another; ClickHouse refuses that by default (deny), and 'global'
 *   reads the inner one once, whole, and sends it to every shard, which is exact whatever
 *   the sharding.
 */
export const CLUSTER_CLIENT_SETTINGS = { insert_distributed_sync: 1, insert_quorum: 'auto', distributed_product_mode: 'global' } as const;

/** Clients opened for a cluster, and that cluster: the statements they send are made for it. */
const CLUSTERS = new WeakMap<ClickHouseClient, ClusterTarget>();

/**
 * Records that `client` talks to a node of `target`'s cluster, so that migrations and
 * in-place statements sent through it are made for the cluster. openWarehouse does it for
 * CLICKHOUSE_CLUSTER; returns the client.
 */
export function forCluster<C extends ClickHouseClient>(client: C, target: ClusterTarget): C {
  CLUSTERS.set(client, { cluster: target.cluster, database: target.database });
  return client;
}

/** The cluster a client was opened for (CLICKHOUSE_CLUSTER), or undefined for one server. */
export function clusterOf(client: ClickHouseClient): ClusterTarget | undefined {
  return CLUSTERS.get(client);
}

/**
 * Runs a statement that changes one table's rows or parts in place — DELETE FROM,
 * ALTER TABLE … UPDATE/DELETE, OPTIMIZE TABLE, TRUNCATE TABLE — which cannot go through a
 * Distributed table: on a cluster it runs ON CLUSTER against the table's local replicas
 * (cluster-sql.ts), elsewhere as written. Every such statement of the pipeline goes here.
 */
export async function commandInPlace(client: ClickHouseClient, params: { query: string; query_params?: Record<string, unknown> }): Promise<void> {
  const target = clusterOf(client);
  if (target === undefined) {
    await client.command(params);
    return;
  }
  const { query, settings } = inPlaceStatement(params.query, target);
  await client.command({ ...params, query, clickhouse_settings: settings });
}

/**
 * Whether the node has the database. On a cluster it is created ON CLUSTER, which waits for
 * every node: asked first, so a service starts while another node is down.
 */
async function databaseExists(client: ClickHouseClient, database: string): Promise<boolean> {
  const [row] = await queryRows<{ n: string }>(client, 'SELECT toString(count()) AS n FROM system.databases WHERE name = {database: String}', { database });
  return Number(row?.n ?? 0) > 0;
}

/**
 * The one place that constructs ClickHouse clients. With `CLICKHOUSE_URL` it talks to a
 * server; otherwise it opens the embedded chDB engine on its data folder, which only one
 * process may hold at a time. The pipeline's database is created when missing, and every
 * query runs in it, so SQL elsewhere names tables without a database. `credential` is
 * presented to the kpi process that holds an embedded store, when another one does.
 */
export async function openWarehouse(config: Config['clickhouse'], options: { credential?: string } = {}): Promise<Warehouse> {
  if (config.mode === 'server') {
    const base = new URL(config.url);
    const bootstrap = createClient({ ...QUIET, url: base.origin, ...(base.pathname !== '/' ? { pathname: base.pathname } : {}), username: config.user, password: config.password });
    try {
      if (config.cluster === undefined || !(await databaseExists(bootstrap, config.database))) await bootstrap.command({ query: databaseStatement(config.database, config.cluster) });
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
      ...(config.cluster === undefined ? {} : { clickhouse_settings: CLUSTER_CLIENT_SETTINGS }),
    });
    if (config.cluster !== undefined) forCluster(client, { cluster: config.cluster, database: config.database });
    return { client, mode: 'server', location: config.url, database: config.database, session: () => Promise.resolve(client), close: () => client.close() };
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
    // The holder authenticates every request: the caller's token travels as ClickHouse's password.
    const client = createClient({
      ...QUIET,
      url: endpoint.origin,
      pathname: endpoint.pathname,
      compression: { request: false, response: false },
      ...(options.credential ? { username: 'default', password: options.credential } : {}),
    });
    return { client, mode: 'embedded', location: `${config.path} (through kpi process ${via.pid})`, database: config.database, via, session: () => Promise.resolve(client), close: () => client.close() };
  }
  const connect = async (): Promise<ClickHouseClient> => {
    let opened: ClickHouseClient;
    try {
      opened = createClient({ ...QUIET, connection: chdbConnection(config.path) });
    } catch (err) {
      const now = embeddedStoreHolder(config.path);
      if (now !== null && now !== process.pid) throw busy(err);
      throw new KpiError(`Could not open the embedded ClickHouse store at ${config.path}: ${describeError(err)}`, { cause: err });
    }
    // A chDB session keeps its current database between queries, so one USE serves all.
    await opened.command({ query: `CREATE DATABASE IF NOT EXISTS ${config.database}` });
    await opened.command({ query: `USE ${config.database}` });
    EMBEDDED_FILES.set(opened, stagingFolder(config.path));
    return opened;
  };
  const client = await connect();
  // This process holds the store now: files staged for inserts by an earlier holder are stale.
  rmSync(stagingFolder(config.path), { recursive: true, force: true });
  const sessions: ClickHouseClient[] = [];
  return {
    client,
    mode: 'embedded',
    location: config.path,
    database: config.database,
    async session() {
      const opened = await connect();
      sessions.push(opened);
      return opened;
    },
    async close() {
      for (const s of sessions.splice(0)) await s.close();
      await client.close();
      rmSync(stagingFolder(config.path), { recursive: true, force: true });
    },
  };
}

/** Where an embedded store's holder stages the rows of inserts read from files: beside the store. */
function stagingFolder(storePath: string): string {
  return `${storePath.replace(/\/+$/, '')}.staging`;
}

/** Clients of an embedded store opened by this process, and the folder their inserts stage rows in. */
const EMBEDDED_FILES = new WeakMap<ClickHouseClient, string>();
let staged = 0;

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

/**
 * One insert of rows already written as TabSeparated text, `columns` in order (see
 * tab-separated.ts), with the same deduplication token semantics as insertRows. The
 * embedded engine reads them from a staged file (`INSERT … FROM INFILE`), which it parses
 * on several threads, about twice as fast as rows inlined in the statement; a server gets
 * them as the body of an HTTP insert.
 */
export async function insertTabSeparated(
  client: ClickHouseClient,
  table: string,
  columns: readonly string[],
  body: Buffer,
  options: { dedupToken?: string } = {},
): Promise<void> {
  if (body.length === 0) return;
  const token = options.dedupToken;
  if (token !== undefined && !TOKEN_PATTERN.test(token)) throw new KpiError(`invalid insert deduplication token ${JSON.stringify(token)}`);
  for (const name of [table, ...columns]) if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) throw new KpiError(`${JSON.stringify(name)} is not a column or table name`);
  const settings = token === undefined ? '' : ` SETTINGS insert_deduplication_token = '${token}'`;
  const target = `${table} (${columns.join(', ')})`;
  const folder = EMBEDDED_FILES.get(client);
  if (folder === undefined) {
    const result = await client.exec({ query: `INSERT INTO ${target}${settings} FORMAT TabSeparated`, values: Readable.from([body]) });
    // The answer is empty, but it must be read for its connection to be reused.
    for await (const _ of result.stream) void _;
    return;
  }
  // Events' contents, for the moment of one insert: readable by this user alone.
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  staged += 1;
  const file = path.join(folder, `${process.pid}-${staged}.tsv`);
  try {
    await writeFile(file, body, { mode: 0o600 });
    await client.command({ query: `INSERT INTO ${target} FROM INFILE ${sqlString(file)}${settings} FORMAT TabSeparated` });
  } finally {
    await rm(file, { force: true });
  }
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
 * A warehouse error a person can act on, or undefined: a refusal of the door (bad or missing
 * credential, not allowed, not parsable), or a missing table, which means the store was never
 * migrated (ClickHouse error 60, UNKNOWN_TABLE).
 */
export function explainWarehouseError(err: unknown): KpiError | undefined {
  const code = err instanceof Error && 'code' in err ? String(err.code) : '';
  // Refusals of a kpi process's store door (ClickHouse's codes for them).
  const said = err instanceof Error ? err.message : '';
  if (code === '516') return new UnauthenticatedError(said);
  if (code === '497') return new ForbiddenError(said);
  if (code === '62') return new UsageError(said);
  if (code !== '60') return undefined;
  const table = /identifier '([^']+)'|Table \S+\.(\S+) does not exist/.exec(err instanceof Error ? err.message : '');
  const name = table?.[1] ?? table?.[2] ?? 'a table';
  return new KpiError(`The warehouse has no ${name === 'a table' ? name : `table ${name}`} yet: run \`npx kpi migrate\` first (kpi run, kpi worker and kpi demo apply migrations themselves).`);
}

/** A quoted SQL string literal of any text: backslash and quote escaped, nothing else touched. */
function sqlString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Runs one statement on the embedded engine with query parameters in the form ClickHouse's
 * HTTP interface takes them (`param_*`): each value is the text the engine reads by its
 * placeholder's type (`it\'s` for a String, `['it\'s','a\tb']` for an Array(String)), read
 * exactly as a server reads it. chdb's own binder escapes a value once more (so a backslash
 * inside an array doubles), so each value is given by `SET param_… = '…'` ahead of the
 * statement, on chdb's binding path, which clears every parameter when the statement ends:
 * none is left on the shared session for the next caller.
 */
export async function execWithTextParams(
  client: ClickHouseClient,
  params: { query: string; textParams: Record<string, string>; format: string; values?: string },
): Promise<Awaited<ReturnType<ClickHouseClient['exec']>>> {
  const names = Object.keys(params.textParams);
  for (const name of names) if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) throw new UsageError(`query parameter name ${JSON.stringify(name.slice(0, 100))} is not an identifier`);
  const sets = names.map((name) => `SET param_${name} = ${sqlString(params.textParams[name] ?? '')}; `).join('');
  return client.exec({
    query: `${sets}${params.query}`,
    // A bound value, used by no placeholder, puts the statement on the binding path.
    ...(names.length > 0 ? { query_params: { kpi_bound_: '' } } : {}),
    clickhouse_settings: { default_format: params.format as DataFormat },
    ...(params.values !== undefined && params.values.length > 0 ? { values: Readable.from([params.values]) } : {}),
  });
}

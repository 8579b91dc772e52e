import path from 'node:path';
import { z } from 'zod';
import { isCurrency } from '../../schemas/events/currencies.js';
import { TOPIC_PARTITIONS } from '../../schemas/events/registry.js';
import { TASK_QUEUE } from '../../schemas/names.js';
import { ConfigError } from './errors.js';
import { projectRoot } from './paths.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const hostPort = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9092');

const identifier = z
  .string()
  .trim()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'expected letters, digits and _ (not starting with a digit)');

const port = z.coerce.number().int().min(1).max(65_535);

/** Most Kafka nodes `kpi stack up` runs on one machine. */
export const MAX_KAFKA_NODES = 9;

/** Roles of infra/clickhouse/access.sql and ClickHouse's own user: never the reader user's name. */
const RESERVED_CLICKHOUSE_NAMES = ['kpi_reader', 'kpi_writer', 'default'];

/**
 * Every environment variable the program reads, with its default. This is the only place
 * that knows their names; `loadConfig(process.env)` is called once at start.
 */
export const EnvSchema = z.object({
  /** Comma-separated Kafka bootstrap brokers. @default the local stack's nodes: "127.0.0.1:9092" (KPI_STACK_KAFKA_PORT), and with KPI_STACK_KAFKA_NODES above 1 every node's port */
  KAFKA_BROKERS: z
    .string()
    .transform((v) => v.split(',').map((b) => b.trim()).filter((b) => b.length > 0))
    .pipe(z.array(hostPort).min(1, 'expected at least one broker'))
    .optional(),
  /** Client id this process shows to Kafka. @default "kpi-pipeline" */
  KAFKA_CLIENT_ID: z.string().trim().min(1).max(200).default('kpi-pipeline'),
  /** Prefix of every topic name, so environments can share one cluster (e.g. "staging."). @default "" */
  KPI_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]{0,100}$/, 'expected letters, digits, . _ - (at most 100)')
    .default(''),
  /** Consumer group of the ingest service. @default "kpi-ingest.v1" */
  KPI_INGEST_GROUP: z.string().trim().regex(/^[A-Za-z0-9._-]{1,200}$/, 'expected 1-200 letters, digits, . _ -').default('kpi-ingest.v1'),
  /** Partitions of each event family's topic when it is created, or raised to when it has fewer; ingest processes beyond this count stay idle. @default 6 */
  KPI_TOPIC_PARTITIONS: z.coerce.number().int('expected a whole number').min(1).max(1_000).default(TOPIC_PARTITIONS),
  /** Threads that decode and validate ingest's batches beside the consumer's; 0 decodes on the consumer's own thread. @default 1 */
  KPI_INGEST_DECODE_THREADS: z.coerce.number().int('expected a whole number').min(0).max(64).default(1),
  /** Temporal frontend gRPC address. @default "127.0.0.1:7233" */
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  /** Temporal namespace. @default "default" */
  TEMPORAL_NAMESPACE: z.string().trim().min(1).max(255).default('default'),
  /** Task queue the worker polls and commands start workflows on. @default "kpi-pipeline.v1" */
  KPI_TASK_QUEUE: z.string().trim().regex(/^[A-Za-z0-9._:-]{1,200}$/, 'expected 1-200 letters, digits, . _ : -').default(TASK_QUEUE),
  /** ClickHouse server URL; when unset the embedded engine (chDB) is used. @default unset */
  CLICKHOUSE_URL: z
    .string()
    .trim()
    .url('expected a URL such as http://127.0.0.1:8123')
    .refine((v) => /^https?:\/\//.test(v), 'expected an http:// or https:// URL')
    .optional(),
  /** ClickHouse user (server mode). @default "default" */
  CLICKHOUSE_USER: z.string().default('default'),
  /** ClickHouse password (server mode). @default "" */
  CLICKHOUSE_PASSWORD: z.string().default(''),
  /** Database that holds every table of the pipeline. @default "kpi" */
  CLICKHOUSE_DATABASE: identifier.default('kpi'),
  /** Cluster of the servers' remote_servers (server mode): `kpi migrate` creates Replicated tables on every node, Distributed tables under the usual names (docs/clickhouse-cluster.md). @default unset (one server) */
  CLICKHOUSE_CLUSTER: identifier.optional(),
  /** Read-only ClickHouse user for Grafana and analysts that `kpi migrate` keeps in server mode (role kpi_reader). @default "kpi_reader_user" */
  CLICKHOUSE_READER_USER: identifier
    .refine((v) => !RESERVED_CLICKHOUSE_NAMES.includes(v), `expected a name other than ${RESERVED_CLICKHOUSE_NAMES.join(', ')}`)
    .default('kpi_reader_user'),
  /** Password of that user, at least 12 characters; unset: `kpi migrate` creates no reader user. @default unset */
  CLICKHOUSE_READER_PASSWORD: z.string().min(12, 'expected at least 12 characters').optional(),
  /** Folder of the embedded ClickHouse data. @default "<KPI_DATA_DIR>/clickhouse" */
  CHDB_PATH: z.string().trim().min(1).optional(),
  /** Folder for runtime data: service data, logs, pid files. @default "<project>/.data" */
  KPI_DATA_DIR: z.string().trim().min(1).optional(),
  /** Folder for installed tools: Kafka jars, Temporal CLI. @default "<project>/.tools" */
  KPI_TOOLS_DIR: z.string().trim().min(1).optional(),
  /** IANA time zone in which days, weeks, months, quarters and years begin. @default "Asia/Shanghai" */
  KPI_TIME_ZONE: z.string().trim().refine(isTimeZone, 'expected an IANA time zone such as Asia/Shanghai').default('Asia/Shanghai'),
  KPI_REPORTING_CURRENCY: z.string().trim().refine(isCurrency, 'expected the ISO 4217 code of a currency, such as CNY or HKD').default('CNY'),
  /** Month (1-12) in which the fiscal year begins. @default 1 */
  KPI_FISCAL_YEAR_START_MONTH: z.coerce.number().int().min(1).max(12).default(1),
  /** Port of the local Kafka broker that `kpi stack up` starts. @default 9092 */
  KPI_STACK_KAFKA_PORT: port.default(9092),
  /** Port of the local Kafka KRaft controller. @default 9093 */
  KPI_STACK_KAFKA_CONTROLLER_PORT: port.default(9093),
  /** Kafka nodes `kpi stack up` runs (broker and controller each); node n listens on KPI_STACK_KAFKA_PORT + 2(n-1) and KPI_STACK_KAFKA_CONTROLLER_PORT + 2(n-1). 3 or more: topics get 3 replicas, 2 in sync. @default 1 */
  KPI_STACK_KAFKA_NODES: z.coerce.number().int('expected a whole number').min(1).max(MAX_KAFKA_NODES).default(1),
  /** Port of the local Temporal frontend (gRPC). @default 7233 */
  KPI_STACK_TEMPORAL_PORT: port.default(7233),
  /** Port of the local Temporal web UI. @default 8233 */
  KPI_STACK_TEMPORAL_UI_PORT: port.default(8233),
  /** Interface the HTTP API (health, metrics, store access) of `kpi run` listens on. @default "127.0.0.1" */
  KPI_API_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** Port of that HTTP API. @default 8080 */
  KPI_API_PORT: port.default(8080),
  /** Port on KPI_API_HOST where a process holding the embedded store is a ClickHouse HTTP endpoint at its root, for analysts' clients; "off" for none. @default 8123 */
  KPI_CLICKHOUSE_PORT: z
    .string()
    .trim()
    .default('8123')
    .refine((v) => v === 'off' || (/^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65_535), 'expected a port number (1-65535) or off')
    .transform((v) => (v === 'off' ? undefined : Number(v))),
  /** Seconds a close waits after its period ends before it reads the warehouse, for stragglers. @default 900 */
  KPI_CLOSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(7 * 86_400).default(900),
  /** KPI queries a close runs at once. @default 2 */
  KPI_CLOSE_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  /** Seconds between checks of the open periods' provisional KPI values, each refreshing the periods whose events or imports changed. @default 5 */
  KPI_PROVISIONAL_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(5),
  /** Seconds a restatement waits for more late events before it recomputes. @default 60 */
  KPI_RESTATE_DEBOUNCE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  /** Seconds between the worker's checks for late events in closed periods. @default 30 */
  KPI_LATE_CHECK_SECONDS: z.coerce.number().int().min(1).max(3_600).default(30),
  /** Prefix of the Temporal workflow ids (close:…, restate:…, review:…), so deployments can share a namespace. @default "" */
  KPI_WORKFLOW_ID_PREFIX: z.string().regex(/^[A-Za-z0-9._-]{0,100}$/, 'expected letters, digits, . _ - (at most 100)').default(''),
  /** JSON file of scorecards (see config/scorecards.json); unset: the built-in defaults. @default unset */
  KPI_SCORECARDS_FILE: z.string().trim().min(1).optional(),
  /** Java installation for the local Kafka broker; else `java` on PATH. @default unset */
  JAVA_HOME: z.string().trim().min(1).optional(),
  /** The credential the `kpi` command presents (a token from `kpi tokens create`); overrides KPI_TOKEN_FILE. @default unset */
  KPI_TOKEN: z.string().trim().min(1).optional(),
  /** File holding the `kpi` command's credential (mode 0600); the first start writes the admin token there. @default "<CHDB_PATH>.token" (server mode: "<KPI_DATA_DIR>/<CLICKHOUSE_DATABASE>.token") */
  KPI_TOKEN_FILE: z.string().trim().min(1).optional(),
  /** File holding the first admin token to use on a store without users (e.g. a Docker secret) instead of generating one. @default unset */
  KPI_BOOTSTRAP_TOKEN_FILE: z.string().trim().min(1).optional(),
  /** Comma-separated Host header names the HTTP API answers (DNS-rebinding guard); "*" accepts any. @default "localhost,127.0.0.1,[::1]" plus KPI_API_HOST */
  KPI_API_ALLOWED_HOSTS: z.string().trim().optional(),
  /** A token Prometheus presents for /metrics alone (Bearer), so metrics stay readable while the store is down. @default unset (a user's token with values.read) */
  KPI_METRICS_TOKEN: z.string().trim().min(32, 'expected at least 32 characters').optional(),
  /** Comma-separated browser origins allowed to call the API cross-origin (CORS). @default "" (none) */
  KPI_API_CORS_ORIGINS: z.string().trim().optional(),
  /** Read-only SQL: seconds a query may run before the engine stops it. @default 30 */
  KPI_SQL_MAX_EXECUTION_SECONDS: z.coerce.number().int().min(1).max(3_600).default(30),
  /** Read-only SQL: bytes of memory one query may use. @default 2147483648 (2 GiB) */
  KPI_SQL_MAX_MEMORY_BYTES: z.coerce.number().int().min(1_048_576).default(2 * 1024 ** 3),
  /** Read-only SQL: rows a result may hold. @default 1000000 */
  KPI_SQL_MAX_RESULT_ROWS: z.coerce.number().int().min(1).default(1_000_000),
  /** Read-only SQL: bytes a result may hold. @default 104857600 (100 MiB) */
  KPI_SQL_MAX_RESULT_BYTES: z.coerce.number().int().min(1_024).default(100 * 1024 ** 2),
  /** Read-only SQL: rows one query may read from tables. @default 2000000000 */
  KPI_SQL_MAX_ROWS_TO_READ: z.coerce.number().int().min(1).default(2_000_000_000),
  /** Read-only SQL queries the HTTP API runs at once; more are refused with 503 until one ends. @default 4 */
  KPI_SQL_MAX_CONCURRENT: z.coerce.number().int().min(1).max(64).default(4),
  /** Four eyes on quarters: "on" refuses an approval by whoever imported the quarter's targets or inputs or reopened it. @default "on" */
  KPI_FOUR_EYES: z.enum(['on', 'off']).default('on'),
  /** Log level: fatal, error, warn, info, debug, trace or silent. @default "info" */
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
});

export type Env = z.input<typeof EnvSchema>;

/** Bounds of one read-only SQL query, applied by the engine as the query's own settings. */
export interface QueryLimits {
  maxExecutionSeconds: number;
  maxMemoryBytes: number;
  maxResultRows: number;
  maxResultBytes: number;
  maxRowsToRead: number;
}

export interface Config {
  kafka: { brokers: string[]; clientId: string; topicPrefix: string; ingestGroup: string; decodeThreads: number; topicPartitions: number };
  temporal: { address: string; namespace: string; taskQueue: string };
  clickhouse:
    | { mode: 'server'; url: string; user: string; password: string; database: string; reader?: { user: string; password: string }; /** The ClickHouse cluster the tables span (CLICKHOUSE_CLUSTER); undefined: one server. */ cluster?: string }
    | { mode: 'embedded'; path: string; database: string };
  paths: { dataDir: string; toolsDir: string };
  /** The reporting currency: money KPIs are in it, other currencies convert at the day's imported rate. */
  business: { timeZone: string; fiscalYearStartMonth: number; reportingCurrency: string };
  stack: { kafkaPort: number; kafkaControllerPort: number; kafkaNodes: number; temporalPort: number; temporalUiPort: number; javaHome: string | undefined };
  api: { host: string; port: number; /** The root ClickHouse HTTP listener of a store holder; undefined: none. */ clickhousePort: number | undefined; allowedHosts: string[] | '*'; corsOrigins: string[]; metricsToken: string | undefined };
  auth: { token: string | undefined; tokenFile: string; bootstrapTokenFile: string | undefined; fourEyes: boolean };
  sql: { limits: QueryLimits; maxConcurrent: number };
  close: { idPrefix: string; graceMs: number; concurrency: number; provisionalIntervalMs: number; restateDebounceMs: number; lateCheckMs: number; scorecardsFile: string | undefined };
  logLevel: (typeof LOG_LEVELS)[number];
}

/** How money is reported (the KPI compiler's MoneySettings): the reporting currency, and the time zone whose days pick exchange rates. */
export function moneySettings(business: Config['business']): { reportingCurrency: string; timeZone: string } {
  return { reportingCurrency: business.reportingCurrency, timeZone: business.timeZone };
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((v) => v.trim()).filter((v) => v.length > 0);
}

/** Host names (without port) the API answers to: loopback names and its own interface. */
function allowedHosts(value: string | undefined, host: string): string[] | '*' {
  if (value === '*') return '*';
  const given = list(value);
  return given.length > 0 ? given.map((h) => h.toLowerCase()) : ['localhost', '127.0.0.1', '[::1]', host.toLowerCase()];
}

/** Empty strings count as unset, as a shell user would expect from `VAR= kpi …`. */
function withoutEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

/**
 * The read-only account, when its password is set. It must not be the account the services
 * log in with: `kpi migrate` sets the reader's password and default role.
 */
function readerAccount(e: z.output<typeof EnvSchema>): { reader?: { user: string; password: string } } {
  if (e.CLICKHOUSE_READER_PASSWORD === undefined) return {};
  if (e.CLICKHOUSE_READER_USER === e.CLICKHOUSE_USER) {
    throw new ConfigError(`Invalid configuration:\n  CLICKHOUSE_READER_USER: expected a user other than CLICKHOUSE_USER (got ${JSON.stringify(e.CLICKHOUSE_READER_USER)})`);
  }
  return { reader: { user: e.CLICKHOUSE_READER_USER, password: e.CLICKHOUSE_READER_PASSWORD } };
}

/**
 * The cluster the tables span, when one is named. Only a server can be one of several nodes:
 * the embedded engine (chDB) is one process, with no Keeper, replicas or shards.
 */
function clusterOf(e: z.output<typeof EnvSchema>): { cluster?: string } {
  if (e.CLICKHOUSE_CLUSTER === undefined) return {};
  if (e.CLICKHOUSE_URL === undefined) {
    throw new ConfigError(
      `Invalid configuration:\n  CLICKHOUSE_CLUSTER: needs a ClickHouse server (CLICKHOUSE_URL); the embedded store (chDB) is one process and cannot span a cluster (got ${JSON.stringify(e.CLICKHOUSE_CLUSTER)})`,
    );
  }
  return { cluster: e.CLICKHOUSE_CLUSTER };
}

/** The broker and controller port of each local Kafka node (see KPI_STACK_KAFKA_NODES). */
export function localKafkaNodes(stack: { kafkaNodes: number; kafkaPort: number; kafkaControllerPort: number }): { id: number; port: number; controllerPort: number }[] {
  return Array.from({ length: stack.kafkaNodes }, (_, i) => ({ id: i + 1, port: stack.kafkaPort + 2 * i, controllerPort: stack.kafkaControllerPort + 2 * i }));
}

function localKafkaPorts(e: z.output<typeof EnvSchema>): { id: number; port: number; controllerPort: number }[] {
  return localKafkaNodes({ kafkaNodes: e.KPI_STACK_KAFKA_NODES, kafkaPort: e.KPI_STACK_KAFKA_PORT, kafkaControllerPort: e.KPI_STACK_KAFKA_CONTROLLER_PORT });
}

function localBrokers(e: z.output<typeof EnvSchema>): string[] {
  return localKafkaPorts(e).map((n) => `127.0.0.1:${n.port}`);
}

/** Every port of the local stack in range and used once, or a ConfigError naming the clash. */
function checkStackPorts(e: z.output<typeof EnvSchema>): void {
  const owners = new Map<number, string>();
  const claim = (port: number, owner: string): void => {
    const other = owners.get(port);
    if (port > 65_535) throw new ConfigError(`Invalid configuration:\n  KPI_STACK_KAFKA_NODES: ${owner} would listen on port ${port}, above 65535; lower KPI_STACK_KAFKA_PORT or KPI_STACK_KAFKA_CONTROLLER_PORT`);
    if (other !== undefined) throw new ConfigError(`Invalid configuration:\n  KPI_STACK_*: ${owner} and ${other} would both use port ${port}; node n uses KPI_STACK_KAFKA_PORT + 2(n-1) and KPI_STACK_KAFKA_CONTROLLER_PORT + 2(n-1)`);
    owners.set(port, owner);
  };
  claim(e.KPI_STACK_TEMPORAL_PORT, 'Temporal (KPI_STACK_TEMPORAL_PORT)');
  claim(e.KPI_STACK_TEMPORAL_UI_PORT, 'the Temporal UI (KPI_STACK_TEMPORAL_UI_PORT)');
  for (const n of localKafkaPorts(e)) {
    claim(n.port, `Kafka node ${n.id}'s broker`);
    claim(n.controllerPort, `Kafka node ${n.id}'s controller`);
  }
}

/**
 * Parses the environment once. Throws a ConfigError naming every variable that is wrong,
 * its value and what was expected.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const raw = withoutEmpty(env);
  const parsed = EnvSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '(environment)');
      const value = raw[name];
      // Secrets are never echoed, not even wrong ones.
      const secret = /PASSWORD|TOKEN/.test(name) && !name.endsWith('_FILE');
      const shown = value === undefined || secret ? '' : ` (got ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)})`;
      return `  ${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  checkStackPorts(e);
  const cluster = clusterOf(e);
  const root = projectRoot();
  const dataDir = path.resolve(root, e.KPI_DATA_DIR ?? '.data');
  const toolsDir = path.resolve(root, e.KPI_TOOLS_DIR ?? '.tools');
  return {
    kafka: {
      brokers: e.KAFKA_BROKERS ?? localBrokers(e),
      clientId: e.KAFKA_CLIENT_ID,
      topicPrefix: e.KPI_TOPIC_PREFIX,
      ingestGroup: e.KPI_INGEST_GROUP,
      decodeThreads: e.KPI_INGEST_DECODE_THREADS,
      topicPartitions: e.KPI_TOPIC_PARTITIONS,
    },
    temporal: { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE, taskQueue: e.KPI_TASK_QUEUE },
    clickhouse: e.CLICKHOUSE_URL
      ? { mode: 'server', url: e.CLICKHOUSE_URL, user: e.CLICKHOUSE_USER, password: e.CLICKHOUSE_PASSWORD, database: e.CLICKHOUSE_DATABASE, ...readerAccount(e), ...cluster }
      : { mode: 'embedded', path: path.resolve(root, e.CHDB_PATH ?? path.join(dataDir, 'clickhouse')), database: e.CLICKHOUSE_DATABASE },
    paths: { dataDir, toolsDir },
    business: { timeZone: e.KPI_TIME_ZONE, fiscalYearStartMonth: e.KPI_FISCAL_YEAR_START_MONTH, reportingCurrency: e.KPI_REPORTING_CURRENCY },
    stack: {
      kafkaPort: e.KPI_STACK_KAFKA_PORT,
      kafkaControllerPort: e.KPI_STACK_KAFKA_CONTROLLER_PORT,
      kafkaNodes: e.KPI_STACK_KAFKA_NODES,
      temporalPort: e.KPI_STACK_TEMPORAL_PORT,
      temporalUiPort: e.KPI_STACK_TEMPORAL_UI_PORT,
      javaHome: e.JAVA_HOME,
    },
    api: { host: e.KPI_API_HOST, port: e.KPI_API_PORT, clickhousePort: e.KPI_CLICKHOUSE_PORT, allowedHosts: allowedHosts(e.KPI_API_ALLOWED_HOSTS, e.KPI_API_HOST), corsOrigins: list(e.KPI_API_CORS_ORIGINS), metricsToken: e.KPI_METRICS_TOKEN },
    auth: {
      token: e.KPI_TOKEN,
      tokenFile: path.resolve(root, e.KPI_TOKEN_FILE ?? (e.CLICKHOUSE_URL ? path.join(dataDir, `${e.CLICKHOUSE_DATABASE}.token`) : `${path.resolve(root, e.CHDB_PATH ?? path.join(dataDir, 'clickhouse'))}.token`)),
      bootstrapTokenFile: e.KPI_BOOTSTRAP_TOKEN_FILE === undefined ? undefined : path.resolve(root, e.KPI_BOOTSTRAP_TOKEN_FILE),
      fourEyes: e.KPI_FOUR_EYES === 'on',
    },
    sql: {
      limits: {
        maxExecutionSeconds: e.KPI_SQL_MAX_EXECUTION_SECONDS,
        maxMemoryBytes: e.KPI_SQL_MAX_MEMORY_BYTES,
        maxResultRows: e.KPI_SQL_MAX_RESULT_ROWS,
        maxResultBytes: e.KPI_SQL_MAX_RESULT_BYTES,
        maxRowsToRead: e.KPI_SQL_MAX_ROWS_TO_READ,
      },
      maxConcurrent: e.KPI_SQL_MAX_CONCURRENT,
    },
    close: {
      idPrefix: e.KPI_WORKFLOW_ID_PREFIX,
      graceMs: e.KPI_CLOSE_GRACE_SECONDS * 1_000,
      concurrency: e.KPI_CLOSE_CONCURRENCY,
      provisionalIntervalMs: e.KPI_PROVISIONAL_INTERVAL_SECONDS * 1_000,
      restateDebounceMs: e.KPI_RESTATE_DEBOUNCE_SECONDS * 1_000,
      lateCheckMs: e.KPI_LATE_CHECK_SECONDS * 1_000,
      scorecardsFile: e.KPI_SCORECARDS_FILE === undefined ? undefined : path.resolve(root, e.KPI_SCORECARDS_FILE),
    },
    logLevel: e.LOG_LEVEL,
  };
}

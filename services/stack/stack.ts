import { embeddedStoreHolder } from '../shared/clickhouse.js';
import type { Config } from '../shared/config.js';
import { StackError, describeError } from '../shared/errors.js';
import { waitFor } from '../shared/wait.js';
import { kafkaServiceNames, kafkaServices } from './kafka.js';
import { isRunning, portOpen, readPidRecord, removePidRecord, startDetached, stopProcess, tailFile } from './processes.js';
import type { ServiceDefinition } from './service.js';
import { temporalService } from './temporal.js';

/** The services of the configured stack: its Kafka node(s) (KPI_STACK_KAFKA_NODES), then Temporal. */
export function stackServices(config: Config): ServiceDefinition[] {
  return [...kafkaServices(config), temporalService];
}

/**
 * The configured services, and the Kafka nodes of another layout that `kpi stack up`
 * started and that still run (a cluster started with --kafka-nodes 3, seen from a shell
 * without it): status shows them and down stops them.
 */
function knownServices(config: Config): ServiceDefinition[] {
  const configured = stackServices(config);
  const names = new Set(configured.map((s) => s.name));
  const others = kafkaServiceNames().filter((name) => !names.has(name) && liveRecord(config, name));
  if (others.length === 0) return configured;
  const layouts = [1, Math.max(...others.map((n) => Number(n.split('-')[1] ?? 1)), 2)].flatMap((nodes) => kafkaServices({ ...config, stack: { ...config.stack, kafkaNodes: nodes } }));
  const extra = others.map((name) => layouts.find((s) => s.name === name)).filter((s): s is ServiceDefinition => s !== undefined);
  return [...extra, ...configured];
}

function liveRecord(config: Config, name: string): boolean {
  const record = readPidRecord(config.paths.dataDir, name);
  return record !== undefined && isRunning(record);
}

export type ServiceState = 'running' | 'starting' | 'external' | 'stopped';

export interface ServiceStatus {
  name: string;
  title: string;
  state: ServiceState;
  /** Pid of the process `kpi stack up` started, when it is alive. */
  pid: number | null;
  endpoint: string;
  health: string;
  dataPath: string;
  logFile: string | null;
  extras: string[];
}

async function probe(svc: ServiceDefinition, config: Config): Promise<{ ok: true; summary: string } | { ok: false; error: string }> {
  try {
    return { ok: true, summary: await svc.healthy(config) };
  } catch (err) {
    return { ok: false, error: describeError(err) };
  }
}

/**
 * Whether a service whose port is open but which missed its health probe answers within
 * 15 s: a busy machine can make one probe time out, and only a port that keeps refusing to
 * answer as the service would is someone else's.
 */
async function answersLater(svc: ServiceDefinition, config: Config): Promise<boolean> {
  const answered = await waitFor(async () => ((await probe(svc, config)).ok ? true : undefined), { timeoutMs: 15_000, intervalMs: 1_000, what: svc.title }).catch(() => false);
  return answered;
}

export async function serviceStatus(svc: ServiceDefinition, config: Config): Promise<ServiceStatus> {
  const record = readPidRecord(config.paths.dataDir, svc.name);
  const ours = record !== undefined && isRunning(record);
  const health = await probe(svc, config);
  const state: ServiceState = ours ? (health.ok ? 'running' : 'starting') : health.ok ? 'external' : 'stopped';
  return {
    name: svc.name,
    title: svc.title,
    state,
    pid: ours ? record.pid : null,
    endpoint: svc.endpoint(config),
    health: health.ok ? health.summary : health.error,
    dataPath: svc.dataPath(config),
    logFile: ours ? record.logFile : null,
    extras: svc.extras?.(config) ?? [],
  };
}

export function clickhouseSummary(config: Config): string {
  if (config.clickhouse.mode === 'server') return `ClickHouse server at ${config.clickhouse.url} (CLICKHOUSE_URL), database ${config.clickhouse.database}`;
  const holder = embeddedStoreHolder(config.clickhouse.path);
  const held = holder === null ? 'not open' : `open in pid ${holder}`;
  return `embedded chDB at ${config.clickhouse.path}, database ${config.clickhouse.database} (${held}; opened by each kpi process, nothing to start)`;
}

export interface UpResult {
  started: string[];
  alreadyRunning: string[];
  statuses: ServiceStatus[];
}

/**
 * Installs what is missing and starts what is not running, then waits until every service
 * answers. Idempotent: running services, ours or not, are left as they are; a node of a
 * Kafka cluster that died is started again. `only` limits it to the named services.
 */
export async function stackUp(config: Config, say: (line: string) => void, only?: readonly string[]): Promise<UpResult> {
  const services = stackServices(config).filter((s) => !only || only.includes(s.name) || (only.includes('kafka') && s.name.startsWith('kafka')));
  const wanted = new Set(services.map((s) => s.name));
  const strays = kafkaServiceNames().filter((name) => !wanted.has(name) && liveRecord(config, name));
  if (strays.length > 0 && services.some((s) => s.name.startsWith('kafka'))) {
    throw new StackError(
      `Kafka already runs here as ${strays.join(', ')} (started by kpi stack up), not as the ${config.stack.kafkaNodes} node(s) asked for; run \`kpi stack down\` first. The two layouts keep separate data.`,
    );
  }
  const toStart: ServiceDefinition[] = [];
  const alreadyRunning: string[] = [];
  for (const svc of services) {
    const status = await serviceStatus(svc, config);
    if (status.state === 'running' || status.state === 'external') alreadyRunning.push(svc.name);
    else if (status.state === 'starting') toStart.push(svc);
    else {
      const port = Number(svc.endpoint(config).split(':')[1]);
      if (!(await portOpen('127.0.0.1', port))) toStart.push(svc);
      else if (await answersLater(svc, config)) alreadyRunning.push(svc.name);
      else throw new StackError(`Port ${port} is taken by a program that is not ${svc.title}; stop it or change the port (see README, KPI_STACK_* variables).`);
    }
  }
  // Every prerequisite is checked before anything is installed or started.
  for (const svc of toStart) svc.checkPrerequisites(config);
  const installed = new Set<string>();
  for (const svc of toStart) {
    // The nodes of a Kafka cluster share one installation.
    const kind = svc.name.replace(/-\d+$/, '');
    if (!installed.has(kind) && !svc.installed(config)) svc.install(config, say);
    installed.add(kind);
  }

  // Everything is started before anything is waited for: a cluster's first node has no
  // controller quorum until the others run.
  const started: string[] = [];
  const records = toStart.map((svc) => {
    let record = readPidRecord(config.paths.dataDir, svc.name);
    if (!record || !isRunning(record)) {
      const { command, args, marker } = svc.prepareStart(config);
      say(`Starting ${svc.title} on ${svc.endpoint(config)}…`);
      record = startDetached({ dataDir: config.paths.dataDir, name: svc.name, command, args, marker });
      started.push(svc.name);
    }
    return { svc, record };
  });
  for (const { svc, record } of records) {
    const t0 = Date.now();
    await waitFor(
      async () => {
        if (!isRunning(record)) {
          removePidRecord(config.paths.dataDir, svc.name);
          throw new StackError(`${svc.title} exited during start. Last lines of ${record.logFile}:\n${tailFile(record.logFile)}`);
        }
        const health = await probe(svc, config);
        return health.ok ? health.summary : undefined;
      },
      { timeoutMs: svc.startTimeoutMs, intervalMs: 300, what: `${svc.title} to answer on ${svc.endpoint(config)}` },
    ).catch((err: unknown) => {
      if (err instanceof StackError) throw err;
      throw new StackError(`${describeError(err)}. Last lines of ${record.logFile}:\n${tailFile(record.logFile)}`, { cause: err });
    });
    say(`${svc.title} answers (${((Date.now() - t0) / 1000).toFixed(1)} s).`);
  }
  const statuses = await Promise.all(services.map((svc) => serviceStatus(svc, config)));
  return { started, alreadyRunning, statuses };
}

/**
 * Stops the services that `stackUp` started (or only those named in `only`); anything
 * else is left alone.
 */
export async function stackDown(config: Config, say: (line: string) => void, only?: readonly string[]): Promise<string[]> {
  const stopped: string[] = [];
  for (const svc of [...knownServices(config)].reverse().filter((s) => !only || only.includes(s.name) || (only.includes('kafka') && s.name.startsWith('kafka')))) {
    const record = readPidRecord(config.paths.dataDir, svc.name);
    if (record && isRunning(record)) {
      const how = await stopProcess(record);
      say(`${svc.title}: ${how} (pid ${record.pid}).`);
      stopped.push(svc.name);
    } else {
      const status = await serviceStatus(svc, config);
      say(status.state === 'external' ? `${svc.title}: running, but not started by kpi; left alone.` : `${svc.title}: not running.`);
    }
    removePidRecord(config.paths.dataDir, svc.name);
  }
  return stopped;
}

export async function stackStatus(config: Config): Promise<ServiceStatus[]> {
  return Promise.all(knownServices(config).map((svc) => serviceStatus(svc, config)));
}

export function formatStatus(statuses: ServiceStatus[], config: Config): string {
  const lines: string[] = [];
  for (const s of statuses) {
    const who = s.pid !== null ? `pid ${s.pid}` : s.state === 'external' ? 'not started by kpi' : '-';
    lines.push(`${s.name.padEnd(10)} ${s.state.padEnd(9)} ${s.endpoint.padEnd(16)} ${who}`);
    lines.push(`${''.padEnd(10)} health: ${s.health}`);
    for (const extra of s.extras) lines.push(`${''.padEnd(10)} ${extra}`);
    lines.push(`${''.padEnd(10)} data: ${s.dataPath}${s.logFile ? `  log: ${s.logFile}` : ''}`);
  }
  lines.push(`${'clickhouse'.padEnd(10)} ${clickhouseSummary(config)}`);
  return lines.join('\n');
}

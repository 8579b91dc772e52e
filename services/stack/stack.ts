import { embeddedStoreHolder } from '../shared/clickhouse.js';
import type { Config } from '../shared/config.js';
import { StackError, describeError } from '../shared/errors.js';
import { waitFor } from '../shared/wait.js';
import { kafkaService } from './kafka.js';
import { isRunning, portOpen, readPidRecord, removePidRecord, startDetached, stopProcess, tailFile } from './processes.js';
import type { ServiceDefinition } from './service.js';
import { temporalService } from './temporal.js';

export const SERVICES: readonly ServiceDefinition[] = [kafkaService, temporalService];

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
 * answers. Idempotent: running services, ours or not, are left as they are.
 */
export async function stackUp(config: Config, say: (line: string) => void): Promise<UpResult> {
  const toStart: ServiceDefinition[] = [];
  const alreadyRunning: string[] = [];
  for (const svc of SERVICES) {
    const status = await serviceStatus(svc, config);
    if (status.state === 'running' || status.state === 'external') alreadyRunning.push(svc.name);
    else if (status.state === 'starting') toStart.push(svc);
    else {
      const port = Number(svc.endpoint(config).split(':')[1]);
      if (await portOpen('127.0.0.1', port)) {
        throw new StackError(`Port ${port} is taken by a program that is not ${svc.title}; stop it or change the port (see README, KPI_STACK_* variables).`);
      }
      toStart.push(svc);
    }
  }
  // Every prerequisite is checked before anything is installed or started.
  for (const svc of toStart) svc.checkPrerequisites(config);
  for (const svc of toStart) if (!svc.installed(config)) svc.install(config, say);

  const started: string[] = [];
  for (const svc of toStart) {
    let record = readPidRecord(config.paths.dataDir, svc.name);
    if (!record || !isRunning(record)) {
      const { command, args, marker } = svc.prepareStart(config);
      say(`Starting ${svc.title} on ${svc.endpoint(config)}…`);
      record = startDetached({ dataDir: config.paths.dataDir, name: svc.name, command, args, marker });
      started.push(svc.name);
    }
    const pidRecord = record;
    const t0 = Date.now();
    await waitFor(
      async () => {
        if (!isRunning(pidRecord)) {
          removePidRecord(config.paths.dataDir, svc.name);
          throw new StackError(`${svc.title} exited during start. Last lines of ${pidRecord.logFile}:\n${tailFile(pidRecord.logFile)}`);
        }
        const health = await probe(svc, config);
        return health.ok ? health.summary : undefined;
      },
      { timeoutMs: svc.startTimeoutMs, intervalMs: 300, what: `${svc.title} to answer on ${svc.endpoint(config)}` },
    ).catch((err: unknown) => {
      if (err instanceof StackError) throw err;
      throw new StackError(`${describeError(err)}. Last lines of ${pidRecord.logFile}:\n${tailFile(pidRecord.logFile)}`, { cause: err });
    });
    say(`${svc.title} answers (${((Date.now() - t0) / 1000).toFixed(1)} s).`);
  }
  const statuses = await Promise.all(SERVICES.map((svc) => serviceStatus(svc, config)));
  return { started, alreadyRunning, statuses };
}

/**
 * Stops the services that `stackUp` started (or only those named in `only`); anything
 * else is left alone.
 */
export async function stackDown(config: Config, say: (line: string) => void, only?: readonly string[]): Promise<string[]> {
  const stopped: string[] = [];
  for (const svc of [...SERVICES].reverse().filter((s) => !only || only.includes(s.name))) {
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
  return Promise.all(SERVICES.map((svc) => serviceStatus(svc, config)));
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

import { readFileSync } from 'node:fs';
import { waitFor } from '../../services/shared/wait.js';
import { tempDir, uniqueName } from './env.js';
import { exited, freePort, startKpi } from './pipeline.js';

/** A real `kpi run` (or `kpi api`) of a test's own: store, topics, group, task queue and workflow ids. */
export interface RunningKpi {
  base: string;
  /** The root ClickHouse HTTP interface (KPI_CLICKHOUSE_PORT). */
  clickhouse: string;
  env: NodeJS.ProcessEnv;
  /** The admin token the first start wrote next to the store. */
  adminToken: string;
  output: () => string;
  /** Adds a user with a role (as admin) and returns a token of theirs. */
  user(name: string, role: string, options?: { service?: boolean; scope?: string; expiresAt?: string }): Promise<string>;
  stop(): Promise<number | string | null>;
}

export async function request(base: string, path: string, init: { method?: string; token?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body !== undefined && !init.headers?.['content-type'] ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

export async function startRun(role: 'run' | 'api', extra: Record<string, string> = {}): Promise<RunningKpi> {
  const port = await freePort();
  const clickhousePort = await freePort();
  const store = tempDir(`${role}-secure`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'warn',
    CHDB_PATH: store,
    KPI_API_PORT: String(port),
    KPI_CLICKHOUSE_PORT: String(clickhousePort),
    KPI_TOPIC_PREFIX: `${uniqueName('sec')}.`,
    KPI_INGEST_GROUP: uniqueName('sec-group'),
    KPI_TASK_QUEUE: uniqueName('sec-queue'),
    KPI_WORKFLOW_ID_PREFIX: `${uniqueName('sec')}.`,
    KPI_TOKEN: '',
    ...extra,
  };
  const base = `http://127.0.0.1:${port}`;
  const kpi = startKpi([role], env);
  await waitFor(async () => ((await fetch(`${base}/health`).catch(() => undefined))?.ok ? true : undefined), { timeoutMs: 90_000, intervalMs: 200, what: `kpi ${role} to answer: ${kpi.output()}` });
  const adminToken = readFileSync(`${String(env['CHDB_PATH'])}.token`, 'utf8').trim();
  return {
    base,
    clickhouse: `http://127.0.0.1:${clickhousePort}`,
    env,
    adminToken,
    output: kpi.output,
    async user(name, userRole, options = {}) {
      const added = await request(base, '/v1/users', { method: 'POST', token: adminToken, body: JSON.stringify({ name, role: userRole, ...(options.service ? { kind: 'service' } : {}) }) });
      if (added.status !== 200) throw new Error(`adding ${name}: ${added.status} ${added.text}`);
      const made = await request(base, '/v1/tokens', { method: 'POST', token: adminToken, body: JSON.stringify({ user: name, name: 'test', ...(options.scope ? { scope: options.scope } : {}), ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}) }) });
      if (made.status !== 200) throw new Error(`token for ${name}: ${made.status} ${made.text}`);
      return (JSON.parse(made.text) as { token: string }).token;
    },
    async stop() {
      kpi.child.kill('SIGTERM');
      return exited(kpi.child);
    },
  };
}

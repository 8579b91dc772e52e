/**
 * `npm run bench:soak`: the pipeline under sustained load for minutes, run as its users run
 * it — separate `kpi` processes on one embedded store — to see whether it keeps up and stays
 * the same size. The local stack (Kafka, Temporal) must be up or is started; everything else
 * is the bench's own and is removed at the end: topics (`soak-<id>.` prefix), consumer group,
 * task queue, workflow ids and Schedules, and the folder .data/bench/soak (the store, the
 * children's logs; kept when the run fails, so the logs can be read).
 *
 * Processes, each `node bin/kpi.js …` (never npx, which does not pass signals on), in a
 * process group of its own so that Ctrl-C reaches this process alone and it stops them in
 * order with SIGTERM (SIGKILL after 60 s):
 *   - `kpi api` holds the embedded store and serves it to the others through its store door;
 *   - `--ingests` × `kpi ingest` share the topics' partitions through one consumer group;
 *   - `--workers` × `kpi worker` poll the task queue;
 *   ingest and workers join the store through the holder with a service user's token, and
 *   `kpi schedules apply` (as admin) creates the Schedules: each grain's close at its end and
 *   the provisional refresh every `--interval` s. A child that dies makes the run fail.
 *
 * This process publishes simulated events at `--rate` events/s (generated on a thread of its
 * own; each stamped with the instant it is published, so it falls in the open day and the
 * provisional values move), and every `--sample` s prints one line: seconds since publishing
 * began, events published and their rate, the group's lag (end offsets minus committed
 * offsets, summed over partitions), distinct events stored and their rate, the interval's
 * freshness p50, and the resident memory (VmRSS) of every process, this one included.
 *
 * Freshness of the k-th sale published: the first instant `/v1/values` (what `kpi values`
 * reads: the open day's `transactions` at company level, revision 0) counted at least k sales,
 * minus the instant it was stamped and published; polled every 250 ms (so figures are late by
 * up to that, plus the request's own time). Summed up as p50 and p99 over the run.
 *
 * After `--minutes` of publishing it waits up to `--drain` s for the group to commit
 * everything, the store to hold every event and the values to count every sale, then prints
 * the summary: rates published and stored against the target, lag, memory and CPU of every
 * process, freshness, the refreshes and their steps. The first fifth of the load (at most
 * 60 s) is warm-up: its samples are printed but judged by no rule. Medians, not maxima, so
 * that one refresh holding inserts up for a moment, or one collection's sawtooth, decides
 * nothing. It exits 1 when
 *   - lag grew without bound: the median lag over the second half of the samples after
 *     warm-up is above 1.5 × the median over the first half plus 5 s of events at the target
 *     rate (a steady shortfall of about 6 % of the rate over a 5-minute run fails it);
 *     judged from 2 samples a half;
 *   - memory grew without bound: a kpi process's median RSS over the last third of those
 *     samples is above its median over the middle third by more than 10 % of its RSS after
 *     warm-up or 50 MB, whichever is more (still climbing at the end rather than levelled
 *     off); judged from 3 samples a third, so not in a one-minute run at the default
 *     `--sample`; the bench's own memory is shown but not judged;
 *   - within the drain the store does not come to hold exactly the events published
 *     (distinct event ids) with everything committed, or the values do not count every sale;
 *     or the store holds dead letters (every event published is valid);
 *   - a child died or did not stop cleanly, or the run was interrupted.
 *
 * Kill it with SIGKILL and the children live on (their pids are printed at the start).
 *
 *   npm run bench:soak [-- --minutes 5 --rate 5000 --stores 100 --ingests 2 --workers 1 --interval 5 --sample 10 --drain 120 --seed 13]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { loadConfig } from '../services/shared/config.js';
import { openWarehouse, type Warehouse } from '../services/shared/clickhouse.js';
import { createKafka, deleteTopics, type Admin } from '../services/shared/kafka.js';
import { createLogger } from '../services/shared/logger.js';
import { projectRoot } from '../services/shared/paths.js';
import { connectTemporal } from '../services/shared/temporal.js';
import { DEFAULT_FLUSH_LIMITS, familyTopicSpecs, fitsInFlush, openTopicSender, type OutgoingMessage, type TopicSender } from '../services/shared/topic-sender.js';
import { storedCounts } from '../services/ingest/stats.js';
import { freePort } from '../services/stack/processes.js';
import { stackUp } from '../services/stack/stack.js';
import { periodOf } from '../schemas/calendar/index.js';
import { topicNames } from '../schemas/events/index.js';
import { activitySteps, summariseSteps, type Step } from './workflow-steps.js';
import type { SoakEvent, SoakEventsOptions, SoakEventsRequest } from './soak-events.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    rate: { type: 'string', default: '5000' },
    stores: { type: 'string', default: '100' },
    ingests: { type: 'string', default: '2' },
    workers: { type: 'string', default: '1' },
    interval: { type: 'string', default: '5' },
    sample: { type: 'string', default: '10' },
    drain: { type: 'string', default: '120' },
    seed: { type: 'string', default: '13' },
  },
});
const config = loadConfig(process.env);
const calendar = config.business;
const logger = createLogger({ level: 'error' });
const ROOT = projectRoot();
const KPI = path.join(ROOT, 'bin', 'kpi.js');
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '?');
const secs = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '?');
const mb = (kb: number): string => (Number.isFinite(kb) ? (kb / 1024).toFixed(0) : '?');
const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length === 0 ? NaN : Number.isInteger(mid) ? ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2 : (sorted[Math.floor(mid)] ?? NaN);
};

/** Warm-up: this share of the load, and at most this long. */
const WARM_UP_SHARE = 0.2;
const WARM_UP_MAX_MS = 60_000;
/** Lag rule: the second half's median ≤ this × the first half's median + this many seconds of events. */
const LAG_GROWTH = 1.5;
const LAG_SLACK_SECONDS = 5;
/** Memory rule: last third's median − middle third's median ≤ the larger of these; judged from this many samples a third. */
const MEMORY_SHARE = 0.1;
const MEMORY_FLOOR_KB = 50 * 1024;
const MEMORY_MIN_SAMPLES = 3;
/** Lag rule: judged from this many samples a half. */
const LAG_MIN_SAMPLES = 2;
/** How often the watcher reads the open day's values, in ms. */
const WATCH_MS = 250;
/** The publisher's tick, in ms: each tick sends what is due since the last one. */
const TICK_MS = 100;
/** Events kept ready ahead of the publisher, in seconds of the target rate. */
const AHEAD_SECONDS = 30;
/** How long a child may take to answer /health, and to stop after SIGTERM, in ms. */
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 60_000;
/** Refreshes whose histories are read for their steps. */
const MAX_HISTORIES = 100;
/** Linux reports process CPU time in ticks of 1/100 s (USER_HZ). */
const TICKS_PER_SECOND = 100;

interface Options {
  minutes: number;
  rate: number;
  stores: number;
  ingests: number;
  workers: number;
  interval: number;
  sampleMs: number;
  drainMs: number;
  seed: number;
}

function options(): Options {
  const o = {
    minutes: Number(args.minutes),
    rate: Number(args.rate),
    stores: Number(args.stores),
    ingests: Number(args.ingests),
    workers: Number(args.workers),
    interval: Number(args.interval),
    sampleMs: Number(args.sample) * 1000,
    drainMs: Number(args.drain) * 1000,
    seed: Number(args.seed),
  };
  const whole = (n: number, min: number, max: number): boolean => Number.isInteger(n) && n >= min && n <= max;
  if (!(o.minutes > 0) || !(o.rate > 0) || !(o.sampleMs >= 1000) || !(o.drainMs >= 0)) throw new Error('--minutes and --rate are positive numbers, --sample at least 1 (seconds), --drain at least 0 (seconds)');
  if (!whole(o.stores, 1, 1000) || !whole(o.ingests, 1, 64) || !whole(o.workers, 1, 16) || !whole(o.seed, 0, Number.MAX_SAFE_INTEGER)) throw new Error('--stores (1-1000), --ingests (1-64), --workers (1-16) and --seed are whole numbers');
  // KPI_PROVISIONAL_INTERVAL_SECONDS takes whole seconds.
  if (!whole(o.interval, 1, 86_400)) throw new Error('--interval is a whole number of seconds, at least 1');
  return o;
}

/** A `kpi` process of the run. */
interface Child {
  name: string;
  proc: ChildProcess;
  port: number;
  log: string;
  /** Set before this process stops it: its exit is then expected. */
  stopping: boolean;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function alive(c: Child): boolean {
  return c.proc.exitCode === null && c.proc.signalCode === null;
}

function lastLines(file: string, n = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).map((l) => `    ${l}`).join('\n');
  } catch {
    return '    (no log)';
  }
}

/** Resident memory of a process in kB, from /proc; NaN once it is gone. */
function rssKb(pid: number | undefined): number {
  try {
    return Number(/VmRSS:\s*(\d+)/.exec(readFileSync(`/proc/${pid ?? 'self'}/status`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** CPU time a process used so far (every thread, user and system), in seconds; NaN once it is gone. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid ?? 'self'}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is the 3rd, utime the 14th, stime the 15th.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** The p-quantile of latencies each weighing `n` sales. */
function quantile(samples: readonly { ms: number; n: number }[], q: number): number {
  const sorted = [...samples].sort((a, b) => a.ms - b.ms);
  const total = sorted.reduce((s, x) => s + x.n, 0);
  let acc = 0;
  for (const s of sorted) {
    acc += s.n;
    if (acc > q * total) return s.ms;
  }
  return sorted.at(-1)?.ms ?? NaN;
}

/** One line of figures. */
interface Sample {
  /** ms since publishing began. */
  t: number;
  phase: 'load' | 'drain';
  published: number;
  lag: number;
  stored: number;
  deadLetters: number;
  /** VmRSS in kB by process name. */
  rss: Map<string, number>;
  freshP50: number;
}

/** Work undone in reverse order of set-up, each step on its own: one failing does not skip the others. */
class Teardown {
  private readonly steps: { what: string; run: () => Promise<void> }[] = [];
  readonly problems: string[] = [];
  add(what: string, run: () => Promise<void>): void {
    this.steps.push({ what, run });
  }
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (err) {
        this.problems.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

const halt = new AbortController();
const children: Child[] = [];

/** Sleeps, or rejects as soon as the run is halted (a signal, a child's death). */
const pause = (ms: number): Promise<void> => delay(ms, undefined, { signal: halt.signal });

function startChild(name: string, kpiArgs: string[], env: NodeJS.ProcessEnv, port: number, logDir: string): Child {
  const log = path.join(logDir, `${name}.log`);
  const fd = openSync(log, 'a');
  // A process group of its own: Ctrl-C reaches the bench alone, which stops the children in order.
  const proc = spawn(process.execPath, [KPI, ...kpiArgs], { cwd: ROOT, env, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const child: Child = { name, proc, port, log, stopping: false, exit };
  proc.once('error', (err) => halt.abort(new Error(`${name} could not start: ${err.message}`)));
  void exit.then(({ code, signal }) => {
    if (!child.stopping) halt.abort(new Error(`${name} (pid ${proc.pid ?? '?'}) exited unexpectedly (${signal ?? `code ${code}`}); last lines of ${log}:\n${lastLines(log)}`));
  });
  children.push(child);
  return child;
}

/** How long each child took to stop after SIGTERM. */
const stopTimes: string[] = [];

async function stopChild(c: Child, problems: string[]): Promise<void> {
  if (!alive(c)) return;
  c.stopping = true;
  const started = performance.now();
  c.proc.kill('SIGTERM');
  const timer = delay(STOP_TIMEOUT_MS).then(() => undefined);
  const done = await Promise.race([c.exit, timer]);
  if (done === undefined) {
    c.proc.kill('SIGKILL');
    await c.exit;
    problems.push(`${c.name} did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM and was killed; see ${c.log}`);
  } else if (done.code !== 0) {
    problems.push(`${c.name} exited with ${done.signal ?? `code ${done.code}`} after SIGTERM; see ${c.log}`);
  }
  stopTimes.push(`${c.name} ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function untilHealthy(c: Child): Promise<void> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${c.port}/health`, { signal: AbortSignal.any([halt.signal, AbortSignal.timeout(5_000)]) }).catch(() => undefined);
    if (res?.ok) return;
    if (performance.now() > deadline) throw new Error(`${c.name} did not answer /health within ${START_TIMEOUT_MS / 1000} s; last lines of ${c.log}:\n${lastLines(c.log)}`);
    await pause(250);
  }
}

async function call(base: string, route: string, token: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.any([halt.signal, AbortSignal.timeout(30_000)]),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${body === undefined ? 'GET' : 'POST'} ${route}: ${res.status} ${text}`);
  return res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as unknown) : text;
}

/** A user of the store and a token of theirs, made by the admin. */
async function addUser(base: string, admin: string, name: string, role: string, kind: 'user' | 'service'): Promise<string> {
  await call(base, '/v1/users', admin, { name, role, kind });
  const made = (await call(base, '/v1/tokens', admin, { user: name, name: 'bench-soak' })) as { token: string };
  return made.token;
}

/** Messages the group has not committed yet: end offsets minus committed offsets, over every partition. */
async function groupLag(admin: Admin, groupId: string, topics: string[]): Promise<number> {
  const committed = await admin.fetchOffsets({ groupId, topics });
  let lag = 0n;
  for (const topic of topics) {
    const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
    for (const end of await admin.fetchTopicOffsets(topic)) {
      const at = BigInt(done.find((p) => p.partition === end.partition)?.offset ?? '-1');
      const from = at >= 0n ? at : BigInt(end.low);
      if (BigInt(end.high) > from) lag += BigInt(end.high) - from;
    }
  }
  return Number(lag);
}

/** Sales published into one business day, in flushes, and how many of them the values count. */
interface DayWatch {
  /** Each flush: when it was stamped (performance.now()) and the day's sales up to and including it. */
  flushes: { at: number; upTo: number }[];
  published: number;
  seen: number;
}

async function main(): Promise<number> {
  const o = options();
  const loadMs = o.minutes * 60_000;
  const warmUpMs = Math.min(WARM_UP_MAX_MS, WARM_UP_SHARE * loadMs);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (halt.signal.aborted) {
        // A second signal: stop waiting for anyone.
        for (const c of children) if (alive(c)) c.proc.kill('SIGKILL');
        process.exit(130);
      }
      say(`\n${signal}: stopping every process of the run…`);
      halt.abort(new Error(`interrupted by ${signal}`));
    });
  }
  // Whatever happens, no child outlives the bench.
  process.on('exit', () => {
    for (const c of children) if (alive(c)) c.proc.kill('SIGKILL');
  });

  await stackUp(config, (line) => say(`  ${line}`));
  const run = `soak-${Date.now().toString(36)}`;
  const prefix = `${run}.`;
  const groupId = `${run}-ingest`;
  const names = topicNames(prefix);
  const topics = Object.values(names.families);
  const dir = path.join(config.paths.dataDir, 'bench', 'soak');
  const logDir = path.join(dir, 'logs');
  const storePath = path.join(dir, 'clickhouse');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });

  const teardown = new Teardown();
  const problems: string[] = [];
  let failedRun: string | undefined;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'warn',
    // Embedded, in the bench's folder, whatever the shell says.
    CLICKHOUSE_URL: '',
    CHDB_PATH: storePath,
    KPI_TOKEN: '',
    KPI_TOKEN_FILE: '',
    KPI_BOOTSTRAP_TOKEN_FILE: '',
    KPI_CLICKHOUSE_PORT: 'off',
    KPI_TOPIC_PREFIX: prefix,
    KPI_INGEST_GROUP: groupId,
    KPI_TASK_QUEUE: run,
    KPI_WORKFLOW_ID_PREFIX: prefix,
    KPI_PROVISIONAL_INTERVAL_SECONDS: String(o.interval),
  };

  const samples: Sample[] = [];
  const freshness: { ms: number; n: number; seenAt: number }[] = [];
  // What held, for the verdict line.
  let held: string[] = [];
  try {
    // The holder of the store, and the users the others present.
    const apiPort = await freePort();
    const api = startChild('api', ['api'], { ...env, KPI_API_PORT: String(apiPort) }, apiPort, logDir);
    teardown.add('stopping api', () => stopChild(api, problems));
    await untilHealthy(api);
    const base = `http://127.0.0.1:${apiPort}`;
    const adminToken = readFileSync(`${storePath}.token`, 'utf8').trim();
    const serviceToken = await addUser(base, adminToken, 'soak-service', 'service', 'service');
    const readerToken = await addUser(base, adminToken, 'soak-reader', 'analyst', 'user');
    const store: Warehouse = await openWarehouse({ mode: 'embedded', path: storePath, database: config.clickhouse.database }, { credential: readerToken });
    teardown.add('closing the store client', () => store.close());
    // Never the bench holding the store itself: only through kpi api.
    if (!store.via) throw new Error('the store is not held by kpi api');

    const kafka = createKafka({ brokers: config.kafka.brokers, clientId: run, logger });
    const sender: TopicSender = await openTopicSender(kafka, familyTopicSpecs(prefix, config.kafka.topicPartitions));
    teardown.add('deleting the topics and the group', async () => {
      await deleteTopics(kafka, [...topics, names.deadLetters]);
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
    });
    teardown.add('disconnecting the producer', () => sender.disconnect());
    const admin = kafka.admin();
    await admin.connect();
    teardown.add('disconnecting the Kafka admin', () => admin.disconnect());

    const serviceEnv = { ...env, KPI_TOKEN: serviceToken };
    const ingests: Child[] = [];
    const workers: Child[] = [];
    for (let i = 1; i <= o.ingests; i += 1) {
      const port = await freePort();
      ingests.push(startChild(`ingest-${i}`, ['ingest'], { ...serviceEnv, KPI_API_PORT: String(port) }, port, logDir));
    }
    for (let i = 1; i <= o.workers; i += 1) {
      const port = await freePort();
      workers.push(startChild(`worker-${i}`, ['worker'], { ...serviceEnv, KPI_API_PORT: String(port) }, port, logDir));
    }
    teardown.add('stopping the ingest processes', async () => {
      for (const c of ingests) await stopChild(c, problems);
    });
    teardown.add('stopping the workers', async () => {
      for (const c of workers) await stopChild(c, problems);
    });
    for (const c of [...ingests, ...workers]) await untilHealthy(c);

    // The Schedules, as an admin applies them; deleted at the end, their running refresh ended.
    const temporal = await connectTemporal(config.temporal);
    teardown.add('closing the Temporal connection', () => temporal.connection.close());
    // Registered first: an apply cut short may have created some of them.
    teardown.add('deleting the Schedules and ending their workflows', async () => {
      for await (const schedule of temporal.client.schedule.list()) {
        if (schedule.scheduleId.startsWith(prefix)) await temporal.client.schedule.getHandle(schedule.scheduleId).delete();
      }
      for await (const wf of temporal.client.workflow.list({ query: `TaskQueue = '${run}' AND ExecutionStatus = 'Running'` })) {
        await temporal.client.workflow.getHandle(wf.workflowId, wf.runId).terminate('bench:soak ended');
      }
    });
    const applied = await promisify(execFile)(process.execPath, [KPI, 'schedules', 'apply', '--json'], { cwd: ROOT, env: { ...env, KPI_TOKEN: adminToken }, signal: halt.signal, timeout: 120_000 });
    const scheduleIds = (JSON.parse(applied.stdout) as { id: string }[]).map((s) => s.id);
    const provisionalId = scheduleIds.find((id) => id.endsWith('schedule:provisional')) ?? '';

    say(`run ${run}: kpi api pid ${api.proc.pid ?? '?'} (${base}), ${[...ingests, ...workers].map((c) => `${c.name} pid ${c.proc.pid ?? '?'}`).join(', ')}; logs in ${logDir}`);
    say(`schedules: ${scheduleIds.join(', ')} (provisional refresh every ${o.interval} s)`);

    // The event source, on its own thread.
    const source = new Worker(new URL('./soak-events-thread.js', import.meta.url), { workerData: { stores: o.stores, seed: o.seed, timeZone: calendar.timeZone } satisfies SoakEventsOptions });
    teardown.add('stopping the event source', () => source.terminate().then(() => undefined));
    source.on('error', (err) => halt.abort(new Error(`the event source failed: ${err.message}`)));
    let queue: SoakEvent[] = [];
    let head = 0;
    let asked = false;
    source.on('message', (batch: SoakEvent[]) => {
      queue = queue.slice(head).concat(batch);
      head = 0;
      asked = false;
    });
    const ahead = Math.ceil(o.rate * AHEAD_SECONDS);
    const refill = (): void => {
      if (!asked && queue.length - head < ahead) {
        asked = true;
        source.postMessage({ want: ahead } satisfies SoakEventsRequest);
      }
    };
    refill();
    while (queue.length - head < ahead) await pause(100);

    // Every process, the bench last, in a fixed order.
    const watched: { name: string; pid: number | undefined }[] = [...children.map((c) => ({ name: c.name, pid: c.proc.pid })), { name: 'bench', pid: undefined }];
    const days = new Map<string, DayWatch>();
    let published = 0;
    // The most events the publisher was ever behind the target by, at a tick (a tick's worth is normal).
    let behind = 0;
    // An object, so that the loops below read what the publisher sets later.
    const stage = { now: 'load' as 'load' | 'drain' | 'done' };

    // The watcher: the open day's transactions, as kpi values reads them.
    const watcher = (async () => {
      while (stage.now !== 'done') {
        for (const [day, w] of days) {
          if (w.seen >= w.published) continue;
          const got = (await call(base, `/v1/values?grain=day&period=${day}&level=company&kpi=transactions&revision=0`, readerToken).catch(() => undefined)) as { values?: { numerator: number | string | null }[] } | undefined;
          if (!got) continue;
          const now = performance.now();
          const n = Math.min(w.published, Number(got.values?.[0]?.numerator ?? 0));
          while (w.seen < n) {
            const f = w.flushes[0];
            if (!f) break;
            const take = Math.min(f.upTo, n) - w.seen;
            freshness.push({ ms: now - f.at, n: take, seenAt: now });
            w.seen += take;
            if (w.seen >= f.upTo) w.flushes.shift();
          }
        }
        await pause(WATCH_MS).catch(() => undefined);
        if (halt.signal.aborted) return;
      }
    })();

    const cpuAt = (): Map<string, number> => new Map(watched.map((p) => [p.name, cpuSeconds(p.pid)]));
    const t0 = performance.now();
    const cpu0 = cpuAt();
    const lagOrNaN = (): Promise<number> => groupLag(admin, groupId, topics).catch(() => NaN);
    const storedOrNaN = (): Promise<{ stored: number; dead_letters: number }> => storedCounts(store.client).catch(() => ({ stored: NaN, dead_letters: NaN }));

    // The sampler: one line every --sample seconds, through the load and the drain.
    const width = (name: string): number => Math.max(9, name.length + 2);
    const columns = ['s'.padStart(6), 'published'.padStart(11), '/s'.padStart(8), 'lag'.padStart(9), 'stored'.padStart(11), '/s'.padStart(8), 'fresh p50'.padStart(11)].join('');
    say('');
    say(`${' '.repeat(columns.length)}${'RSS MB'.padStart(width(watched[0]?.name ?? ''))}`);
    say(`${columns}${watched.map((p) => p.name.padStart(width(p.name))).join('')}`);
    const sampler = (async () => {
      let k = 1;
      let prev = { t: 0, published: 0, stored: 0 };
      while (stage.now !== 'done') {
        try {
          await pause(Math.max(0, t0 + k * o.sampleMs - performance.now()));
        } catch {
          return;
        }
        k += 1;
        const t = performance.now() - t0;
        const at = { published, phase: stage.now === 'load' ? ('load' as const) : ('drain' as const) };
        const [lag, counts] = await Promise.all([lagOrNaN(), storedOrNaN()]);
        if (halt.signal.aborted) return;
        const rss = new Map(watched.map((p) => [p.name, rssKb(p.pid)]));
        const recent = freshness.filter((f) => f.seenAt >= t0 + prev.t);
        const s: Sample = { t, phase: at.phase, published: at.published, lag, stored: counts.stored, deadLetters: counts.dead_letters, rss, freshP50: recent.length > 0 ? quantile(recent, 0.5) : NaN };
        samples.push(s);
        const dt = (t - prev.t) / 1000;
        const cells = [
          `${(t / 1000).toFixed(0)}${s.phase === 'drain' ? 'd' : ''}`.padStart(6),
          int(s.published).padStart(11),
          int((s.published - prev.published) / dt).padStart(8),
          int(lag).padStart(9),
          int(s.stored).padStart(11),
          int((s.stored - prev.stored) / dt).padStart(8),
          (Number.isFinite(s.freshP50) ? `${secs(s.freshP50)} s` : '-').padStart(11),
          ...watched.map((p) => mb(rss.get(p.name) ?? NaN).padStart(width(p.name))),
        ];
        say(cells.join(''));
        prev = { t, published: s.published, stored: Number.isFinite(s.stored) ? s.stored : prev.stored };
      }
    })();

    // The publisher: the target rate, in ticks; each tick's events stamped with one instant.
    while (performance.now() - t0 < loadMs) {
      const due = Math.round(((performance.now() - t0) / 1000) * o.rate);
      const take = Math.min(due - published, queue.length - head);
      behind = Math.max(behind, due - published);
      if (take > 0) {
        const batch = queue.slice(head, head + take);
        head += take;
        const stampedAt = performance.now();
        const stampMs = Date.now();
        const occurredAt = `"occurred_at":"${new Date(stampMs).toISOString()}"`;
        const day = periodOf('day', stampMs, calendar).id;
        const flushes: OutgoingMessage[][] = [[]];
        let bytes = 0;
        let sales = 0;
        for (const e of batch) {
          const value = Buffer.from(e.value.replace(/"occurred_at":"[^"]*"/, occurredAt));
          let flush = flushes.at(-1) ?? [];
          if (!fitsInFlush({ messages: flush.length, bytes }, value.length, DEFAULT_FLUSH_LIMITS)) {
            flush = [];
            flushes.push(flush);
            bytes = 0;
          }
          flush.push({ topic: `${prefix}${e.topic}`, key: e.key, value });
          bytes += value.length;
          if (e.sale) sales += 1;
        }
        for (const f of flushes) await sender.send(f);
        published += take;
        if (sales > 0) {
          const w = days.get(day) ?? { flushes: [], published: 0, seen: 0 };
          w.published += sales;
          w.flushes.push({ at: stampedAt, upTo: w.published });
          days.set(day, w);
        }
      }
      refill();
      await pause(TICK_MS);
    }
    const loadSeconds = (performance.now() - t0) / 1000;
    const cpu1 = cpuAt();
    const storedAtLoadEnd = (await storedOrNaN()).stored;
    stage.now = 'drain';

    // The drain: until everything is committed, stored and counted in the values.
    const drainStart = performance.now();
    let committedAfter: number | undefined;
    let countedAfter: number | undefined;
    for (;;) {
      const elapsed = (performance.now() - drainStart) / 1000;
      if (committedAfter === undefined) {
        const [lag, counts] = await Promise.all([lagOrNaN(), storedOrNaN()]);
        if (lag === 0 && counts.stored === published) committedAfter = elapsed;
      }
      if (countedAfter === undefined && [...days.values()].every((w) => w.seen >= w.published)) countedAfter = elapsed;
      if ((committedAfter !== undefined && countedAfter !== undefined) || elapsed >= o.drainMs / 1000) break;
      await pause(1_000);
    }
    const drainSeconds = (performance.now() - drainStart) / 1000;
    stage.now = 'done';
    await Promise.all([watcher, sampler]);
    const final = await storedCounts(store.client);
    const finalLag = await groupLag(admin, groupId, topics);

    // What each ingest process stored, and how its batches went, from its own metrics, before they stop.
    const perIngest = await Promise.all(
      ingests.map(async (c) => {
        const text = String(await call(`http://127.0.0.1:${c.port}`, '/metrics', readerToken).catch(() => ''));
        // Summed over every label set (family, table, topic).
        const metric = (name: string): number => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
        return {
          name: c.name,
          events: metric('kpi_ingest_events_total'),
          insertSeconds: metric('kpi_ingest_insert_seconds_sum') / metric('kpi_ingest_insert_seconds_count'),
          inserts: metric('kpi_ingest_insert_seconds_count'),
          batch: metric('kpi_ingest_batch_messages_sum') / metric('kpi_ingest_batch_messages_count'),
        };
      }),
    );
    // The refreshes the Schedule started, and their steps.
    const schedule = await temporal.client.schedule.getHandle(provisionalId).describe();
    const refreshes: number[] = [];
    const steps: Step[] = [];
    try {
      let histories = 0;
      for await (const wf of temporal.client.workflow.list({ query: `TaskQueue = '${run}' AND WorkflowType = 'refreshProvisionalWorkflow'` })) {
        if (wf.closeTime) refreshes.push(wf.closeTime.getTime() - wf.startTime.getTime());
        // The steps of the latest ones (listed newest first) are enough to see where the time goes.
        if (wf.closeTime && histories < MAX_HISTORIES) {
          histories += 1;
          steps.push(...(await activitySteps(temporal.client, wf.workflowId)));
        }
      }
    } catch {
      /* listing needs the server's visibility store; the figures are left out */
    }

    // Judging.
    const verdicts: string[] = [];
    const load = samples.filter((s) => s.phase === 'load' && s.t >= warmUpMs);
    const first = load.slice(0, Math.floor(load.length / 2));
    const second = load.slice(Math.floor(load.length / 2));
    const lags = load.map((s) => s.lag).filter(Number.isFinite);
    const lagsOf = (xs: Sample[]): number[] => xs.map((s) => s.lag).filter(Number.isFinite);
    const lagLimit = LAG_GROWTH * median(lagsOf(first)) + LAG_SLACK_SECONDS * o.rate;
    const lagBounded = lagsOf(first).length >= LAG_MIN_SAMPLES && lagsOf(second).length >= LAG_MIN_SAMPLES ? median(lagsOf(second)) <= lagLimit : undefined;
    if (lagBounded === false) verdicts.push('lag grew without bound');
    const third = Math.floor(load.length / 3);
    const memory = watched.map((p) => {
      const series = load.map((s) => s.rss.get(p.name) ?? NaN).filter(Number.isFinite);
      const start = series[0] ?? NaN;
      const end = series.at(-1) ?? NaN;
      const late = third >= MEMORY_MIN_SAMPLES ? median(series.slice(series.length - third)) - median(series.slice(series.length - 2 * third, series.length - third)) : NaN;
      const limit = Math.max(MEMORY_SHARE * start, MEMORY_FLOOR_KB);
      const growing = Number.isFinite(late) ? late > limit : undefined;
      // Least squares over the samples after warm-up, in kB per minute.
      const xs = load.map((s) => s.t / 60_000);
      const ys = load.map((s) => s.rss.get(p.name) ?? NaN);
      const mx = mean(xs);
      const my = mean(ys);
      const slope = xs.reduce((sum, x, i) => sum + (x - mx) * ((ys[i] ?? NaN) - my), 0) / xs.reduce((sum, x) => sum + (x - mx) ** 2, 0);
      return { name: p.name, start, end, late, limit, growing, slope, cores: ((cpu1.get(p.name) ?? NaN) - (cpu0.get(p.name) ?? NaN)) / loadSeconds };
    });
    // The bench's own memory is shown, not judged: it is the load, not the pipeline.
    for (const m of memory) if (m.growing && m.name !== 'bench') verdicts.push(`${m.name}'s memory grew without bound`);
    if (committedAfter === undefined) verdicts.push(`not everything stored and committed within the ${o.drainMs / 1000} s drain`);
    if (countedAfter === undefined) verdicts.push(`the values did not count every sale within the ${o.drainMs / 1000} s drain`);
    if (final.stored !== published) verdicts.push(`stored ${int(final.stored)} ≠ published ${int(published)}`);
    if (final.dead_letters !== 0) verdicts.push(`${int(final.dead_letters)} dead letters`);

    // The summary.
    {
      const sales = [...days.values()].reduce((s, w) => s + w.published, 0);
      const seenSales = freshness.reduce((s, f) => s + f.n, 0);
      const pubRate = published / loadSeconds;
      const storedRate = storedAtLoadEnd / loadSeconds;
      say('');
      say(`load: ${o.minutes} min at ${int(o.rate)} events/s target, ${o.stores} stores, ${o.ingests} kpi ingest, ${o.workers} kpi worker, refresh every ${o.interval} s; warm-up ${(warmUpMs / 1000).toFixed(0)} s`);
      say(`published ${int(published)} events in ${loadSeconds.toFixed(1)} s: ${int(pubRate)}/s (${(pubRate / o.rate).toFixed(2)}× the target)${behind > o.rate ? `; at worst ${(behind / o.rate).toFixed(1)} s of events behind it (events not generated or not acknowledged fast enough), caught up later` : ''}`);
      say(`stored ${int(storedAtLoadEnd)} by the end of publishing: ${int(storedRate)}/s (${(storedRate / o.rate).toFixed(2)}× the target); ${committedAfter !== undefined ? `all ${int(final.stored)} stored and committed ${committedAfter.toFixed(1)} s after` : `after ${drainSeconds.toFixed(1)} s of drain: ${int(final.stored)} stored, lag ${int(finalLag)}`}, every sale counted in the values ${countedAfter !== undefined ? `${countedAfter.toFixed(1)} s after` : 'NOT within the drain'}; dead letters ${int(final.dead_letters)}`);
      say(`  by each kpi ingest (its metrics): ${perIngest.map((m) => `${m.name} ${int(m.events)} events, ${int(m.inserts)} inserts of ${secs(m.insertSeconds * 1000)} s on average, ${int(m.batch)} messages a batch`).join('; ')}`);
      say(
        `lag after warm-up: min ${int(Math.min(...lags))}, max ${int(Math.max(...lags))}, last ${int(lags.at(-1) ?? NaN)}; ` +
          (lagBounded === undefined
            ? `too few samples to judge (needs ${LAG_MIN_SAMPLES * 2} after warm-up)`
            : `second half's median ${int(median(lagsOf(second)))} vs ${LAG_GROWTH} × first half's median ${int(median(lagsOf(first)))} + ${LAG_SLACK_SECONDS} s of events = ${int(lagLimit)}: ${lagBounded ? 'bounded' : 'GROWING'}`),
      );
      say(`memory (RSS MB after warm-up → end of load, growth; last third's median − middle third's, limit max(${MEMORY_SHARE * 100} % of the first, ${MEMORY_FLOOR_KB / 1024} MB), the bench not judged; trend); CPU in cores over the load:`);
      for (const m of memory) {
        const growth = m.end - m.start;
        const judged = m.growing === undefined ? `too few samples to judge (needs ${MEMORY_MIN_SAMPLES * 3} after warm-up)` : `${m.late >= 0 ? '+' : ''}${mb(m.late)} (limit ${mb(m.limit)}): ${m.growing ? 'GROWING' : 'levelled'}`;
        say(`  ${m.name.padEnd(9)} ${mb(m.start).padStart(6)} → ${mb(m.end).padStart(6)}  ${growth >= 0 ? '+' : ''}${mb(growth)} (${growth >= 0 ? '+' : ''}${((growth / m.start) * 100).toFixed(0)} %);  ${judged};  trend ${m.slope >= 0 ? '+' : ''}${mb(m.slope)} MB/min;  CPU ${m.cores.toFixed(2)}`);
      }
      say(
        `published → visible in kpi values (open day, company transactions): ${int(seenSales)} of ${int(sales)} sales; p50 ${secs(quantile(freshness, 0.5))} s, p99 ${secs(quantile(freshness, 0.99))} s, max ${secs(quantile(freshness, 1))} s (aim p99 ≤ 5 s)`,
      );
      const r = [...refreshes].sort((a, b) => a - b);
      const pct = (q: number): number => r[Math.min(r.length - 1, Math.floor(q * r.length))] ?? NaN;
      say(
        `provisional refreshes: ${schedule.info.numActionsTaken} started by the Schedule, ${schedule.info.numActionsSkippedOverlap} skipped while one still ran` +
          (r.length > 0 ? `; ${r.length} finished, each p50 ${secs(pct(0.5))} s, p99 ${secs(pct(0.99))} s` : ''),
      );
      if (steps.length > 0) say(`  their steps (activity, times run, seconds in all, from scheduled to done): ${summariseSteps(steps)}`);
    }
    const kpiMemory = memory.filter((m) => m.name !== 'bench');
    held = [
      lagBounded === undefined ? 'lag not judged (too few samples)' : 'lag bounded',
      kpiMemory.some((m) => m.growing === undefined) ? 'memory not judged (too few samples)' : 'memory levelled',
      'every event published stored once, every sale counted in the values',
    ];
    failedRun = verdicts.length > 0 ? verdicts.join('; ') : undefined;
  } catch (err) {
    const reason: unknown = halt.signal.aborted ? halt.signal.reason : err;
    failedRun = reason instanceof Error ? reason.message : String(reason);
    if (!halt.signal.aborted && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  } finally {
    const stopping = performance.now();
    await teardown.run();
    say(`stopped every process of the run (${stopTimes.join(', ')} after SIGTERM) and removed its Schedules, topics and group in ${((performance.now() - stopping) / 1000).toFixed(1)} s`);
  }
  const all = [...(failedRun ? [failedRun] : []), ...problems, ...teardown.problems];
  if (all.length === 0) rmSync(dir, { recursive: true, force: true });
  say('');
  say(all.length === 0 ? `verdict: PASS — ${[...held, 'every process stopped cleanly'].join(', ')}` : `verdict: FAIL — ${all.join('; ')}\n  (logs kept in ${logDir})`);
  return all.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runKpi } from './cli.js';
import { tempDir } from './env.js';
import { demoNames } from '../../services/cli/commands/demo.js';

/** The demo's quarter, closed, approved and restated in the fixture. */
export const DEMO_QUARTER = '2026-Q3';

/** A copy of the fixture's data folder, and the demo's task queue and workflow id prefix. */
export interface DemoFixture {
  dataDir: string;
  taskQueue: string;
  workflowPrefix: string;
}

/**
 * A data folder holding the warehouse of one real `kpi demo` run (a seeded quarter through
 * Kafka, ingest and Temporal: closed, approved, restated, with the open periods' provisional
 * values), made once per test run in the run's temporary folder and copied for each caller,
 * who may change its copy. The demo runs under a name of its own, so it never meets a demo
 * someone runs beside the tests; its quarter review waits on its own task queue.
 */
export async function demoFixture(): Promise<DemoFixture> {
  const base = path.join(tmpdir(), 'kpi-demo-fixture');
  const made = path.join(base, 'made.json');
  if (!existsSync(made)) await makeOnce(base, made);
  const names = JSON.parse(readFileSync(made, 'utf8')) as ReturnType<typeof demoNames>;
  const copy = tempDir('demo');
  cpSync(base, copy, { recursive: true });
  return { dataDir: copy, taskQueue: names.taskQueue, workflowPrefix: names.workflowPrefix };
}

/** Alive: signal 0 reaches it. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid in a lock; 0 once the lock is gone. */
function makerOf(lock: string): number {
  try {
    return Number(readFileSync(path.join(lock, 'pid'), 'utf8')) || 0;
  } catch {
    return 0;
  }
}

/** Takes the lock: a folder holding its maker's pid, made whole beside it and renamed into place. */
function tryLock(lock: string): boolean {
  const mine = `${lock}.new-${process.pid}`;
  rmSync(mine, { recursive: true, force: true });
  mkdirSync(mine);
  writeFileSync(path.join(mine, 'pid'), String(process.pid));
  try {
    renameSync(mine, lock);
    return true;
  } catch {
    rmSync(mine, { recursive: true, force: true });
    return false;
  }
}

/**
 * Makes the fixture unless another test process is making it, in which case it waits for
 * that one: jest's workers run suites side by side, and the first to ask makes it. A dead
 * maker's lock is moved aside (one waiter wins the rename) and taken over; a maker that
 * fails says why in `failed`, so its waiters fail with its reason instead of each running
 * the demo again.
 */
async function makeOnce(base: string, made: string): Promise<void> {
  const lock = `${base}.lock`;
  const failed = `${base}.failed`;
  // A failure counts when it happened while this process ran: an older one (a run before)
  // is tried again.
  const startedMs = Date.now() - process.uptime() * 1_000;
  for (;;) {
    if (existsSync(made)) return;
    if (existsSync(failed) && statSync(failed).mtimeMs >= startedMs) throw new Error(readFileSync(failed, 'utf8'));
    if (tryLock(lock)) break;
    const maker = makerOf(lock);
    const aside = `${lock}.stale-${process.pid}`;
    if (maker > 0 && !alive(maker)) {
      try {
        renameSync(lock, aside);
        rmSync(aside, { recursive: true, force: true });
      } catch {
        // Another waiter moved it first.
      }
    } else await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  try {
    if (existsSync(made)) return;
    rmSync(failed, { force: true });
    rmSync(base, { recursive: true, force: true });
    const name = `demo-t${Date.now().toString(36)}`;
    const demo = await runKpi(['demo', '--name', name, '--stores', '4', '--regions', '2', '--scale', '0.1', '--seed', '11', '--quarter', DEMO_QUARTER], { ...process.env, KPI_DATA_DIR: base, LOG_LEVEL: 'warn' }, { timeoutMs: 900_000 });
    if (demo.code !== 0) {
      const reason = `kpi demo failed (${String(demo.code)}): ${demo.stderr.slice(-3000)}`;
      writeFileSync(failed, reason);
      throw new Error(reason);
    }
    writeFileSync(`${made}.tmp`, JSON.stringify(demoNames(name)));
    renameSync(`${made}.tmp`, made);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

import { existsSync, readFileSync } from 'node:fs';
import { portOpen } from '../../services/stack/processes.js';
import { lastJsonLine, runKpi } from '../support/cli.js';
import { tempDir } from '../support/env.js';

/** Alive and not a zombie waiting to be reaped by whoever inherited it. */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  return !/^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'));
}

interface Status {
  services: { name: string; state: string; pid: number | null }[];
}

/**
 * A second local stack on other ports and its own data folder (sharing the installed
 * tools), taken through up, up again, status, down and status.
 */
describe('kpi stack up | status | down', () => {
  const env = {
    ...process.env,
    LOG_LEVEL: 'warn',
    KPI_DATA_DIR: tempDir('stack'),
    KPI_STACK_KAFKA_PORT: '19192',
    KPI_STACK_KAFKA_CONTROLLER_PORT: '19193',
    KPI_STACK_TEMPORAL_PORT: '19133',
    KPI_STACK_TEMPORAL_UI_PORT: '19134',
  };
  const states = async (): Promise<Record<string, { state: string; pid: number | null }>> => {
    const result = await runKpi(['stack', 'status', '--json'], env);
    expect(result.code).toBe(0);
    return Object.fromEntries(lastJsonLine<Status>(result.stdout).services.map((s) => [s.name, { state: s.state, pid: s.pid }]));
  };

  afterAll(async () => {
    await runKpi(['stack', 'down'], env);
  });

  it('starts once, is a no-op the second time, reports each state, and stops what it started', async () => {
    expect(await states()).toEqual({ kafka: { state: 'stopped', pid: null }, temporal: { state: 'stopped', pid: null } });

    const first = await runKpi(['stack', 'up', '--json'], env, { timeoutMs: 240_000 });
    if (first.code !== 0) throw new Error(`kpi stack up failed (${String(first.code)}):\n${first.stderr}\n${first.stdout}`);
    expect(lastJsonLine<{ started: string[] }>(first.stdout).started).toEqual(['kafka', 'temporal']);

    const running = await states();
    expect(running['kafka']?.state).toBe('running');
    expect(running['temporal']?.state).toBe('running');
    const pids = [running['kafka']?.pid, running['temporal']?.pid];
    for (const pid of pids) expect(alive(Number(pid))).toBe(true);
    expect(await portOpen('127.0.0.1', 19192)).toBe(true);
    expect(await portOpen('127.0.0.1', 19133)).toBe(true);

    const second = await runKpi(['stack', 'up', '--json'], env);
    expect(second.code).toBe(0);
    expect(lastJsonLine<{ started: string[]; alreadyRunning: string[] }>(second.stdout)).toMatchObject({ started: [], alreadyRunning: ['kafka', 'temporal'] });
    expect(await states()).toEqual(running);

    const down = await runKpi(['stack', 'down', '--json'], env);
    expect(down.code).toBe(0);
    expect(lastJsonLine<{ stopped: string[] }>(down.stdout).stopped.sort()).toEqual(['kafka', 'temporal']);
    for (const pid of pids) expect(alive(Number(pid))).toBe(false);
    expect(await portOpen('127.0.0.1', 19192)).toBe(false);
    expect(await portOpen('127.0.0.1', 19133)).toBe(false);
    expect(await states()).toEqual({ kafka: { state: 'stopped', pid: null }, temporal: { state: 'stopped', pid: null } });
  });
});

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** What `kpi stack up` records about a process it started, in `<data>/run/<name>.json`. */
export interface PidRecord {
  pid: number;
  /** A string that the process's command line contains; guards against a reused pid. */
  marker: string;
  startedAt: string;
  logFile: string;
}

export function runDir(dataDir: string): string {
  return path.join(dataDir, 'run');
}

function pidFile(dataDir: string, name: string): string {
  return path.join(runDir(dataDir), `${name}.json`);
}

export function readPidRecord(dataDir: string, name: string): PidRecord | undefined {
  const file = pidFile(dataDir, name);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

export function removePidRecord(dataDir: string, name: string): void {
  rmSync(pidFile(dataDir, name), { force: true });
}

/** True when the pid is alive and (where /proc exists) its command line has the marker. */
export function isRunning(record: PidRecord): boolean {
  try {
    process.kill(record.pid, 0);
  } catch {
    return false;
  }
  const cmdline = `/proc/${record.pid}/cmdline`;
  if (!existsSync(cmdline)) return process.platform !== 'linux';
  try {
    return readFileSync(cmdline, 'utf8').split('\0').join(' ').includes(record.marker);
  } catch {
    return false;
  }
}

/**
 * Starts a long-running program detached in its own process group, output appended to
 * `<data>/logs/<name>.log`, and records its pid. The caller then waits for it to answer.
 */
export function startDetached(options: {
  dataDir: string;
  name: string;
  command: string;
  args: string[];
  marker: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}): PidRecord {
  mkdirSync(runDir(options.dataDir), { recursive: true });
  const logDir = path.join(options.dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${options.name}.log`);
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
    child.unref();
    const record: PidRecord = { pid: child.pid, marker: options.marker, startedAt: new Date().toISOString(), logFile };
    writeFileSync(pidFile(options.dataDir, options.name), `${JSON.stringify(record, null, 2)}\n`);
    return record;
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM to the process group, then SIGKILL if it has not exited after `graceMs`. */
export async function stopProcess(record: PidRecord, graceMs = 20_000): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isRunning(record)) return 'not-running';
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-record.pid, sig);
    } catch {
      try {
        process.kill(record.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(record)) return 'stopped';
    await sleep(200);
  }
  signal('SIGKILL');
  await sleep(200);
  return 'killed';
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Resolves true when something accepts TCP connections on host:port within `timeoutMs`. */
export function portOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The last lines of a log file, for error messages when a service fails to start. */
export function tailFile(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  const text = readFileSync(file, 'utf8');
  return text.split('\n').slice(-lines - 1).join('\n').trim();
}

/** Runs a command to completion, streaming nothing; returns its exit status and output. */
export function runQuiet(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): {
  status: number | null;
  output: string;
  missing: boolean;
} {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 15 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const error: NodeJS.ErrnoException | undefined = result.error;
  const missing = error?.code === 'ENOENT';
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}`, missing };
}

import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stderr, so that stdout stays free for command output
 * (tables, `--json` lines) that users and scripts read.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({ level: options.level ?? 'info', name: options.name ?? 'kpi', base: { pid: process.pid } }, pino.destination(2));
}

import { setTimeout as sleep } from 'node:timers/promises';
import { KpiError } from '../shared/errors.js';

/** Thrown when a retry loop gives up because the service is stopping. */
export class StoppingError extends KpiError {}

/**
 * Retries `work` with exponential backoff until it succeeds, never giving up while the
 * service runs: a write that cannot be made is waited for, not dropped. Between attempts
 * `heartbeat` keeps the consumer's group membership alive.
 */
export async function retryUntilDone<T>(
  work: () => Promise<T>,
  options: {
    isStopping: () => boolean;
    onRetry: (err: unknown, attempt: number, delayMs: number) => void;
    heartbeat?: () => Promise<void>;
    /** Errors that retrying cannot cure: thrown at once. @default none */
    fatal?: (err: unknown) => boolean;
    /** First delay, ms. @default 200 */
    initialDelayMs?: number;
    /** Longest delay, ms. @default 5_000 */
    maxDelayMs?: number;
  },
): Promise<T> {
  let delay = options.initialDelayMs ?? 200;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (err) {
      if (options.fatal?.(err)) throw err;
      if (options.isStopping()) throw new StoppingError('stopping while a write was being retried; the batch is not committed and will be replayed', { cause: err });
      options.onRetry(err, attempt, delay);
      const until = Date.now() + delay;
      while (Date.now() < until && !options.isStopping()) {
        await sleep(Math.min(1_000, until - Date.now()));
        await options.heartbeat?.().catch(() => undefined);
      }
      delay = Math.min(delay * 2, options.maxDelayMs ?? 5_000);
    }
  }
}

import { approveQuarter, reopenQuarter } from '../../workflows/client.js';
import type { Config } from '../shared/config.js';
import { KpiError, describeError } from '../shared/errors.js';
import { connectTemporal, type Client } from '../shared/temporal.js';
import type { SignOff } from './operations.js';

/** How long a sign-off waits for a worker to take it. */
const WORKER_WAIT_MS = 30_000;

/** The review workflow runs only on a worker: without one, say so rather than wait forever. */
function withinWorkerWait<T>(work: Promise<T>, taskQueue: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new KpiError(`no worker took the sign-off within ${WORKER_WAIT_MS / 1_000} s: is kpi run or kpi worker running on task queue ${taskQueue}?`, { retriable: true })),
      WORKER_WAIT_MS,
    );
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Sign-off through the quarter's review workflow on a connected client. */
export function signOffWith(client: Client, idPrefix: string, taskQueue: string): SignOff {
  return {
    approve: (quarter, approval) => withinWorkerWait(approveQuarter(client, idPrefix, quarter, approval), taskQueue),
    reopen: (quarter, reopening) => withinWorkerWait(reopenQuarter(client, idPrefix, quarter, reopening), taskQueue),
  };
}

/**
 * Sign-off through the quarter's review workflow, connecting to Temporal on first use (a
 * process that serves HTTP may start before Temporal answers) and again after a failure.
 */
export function lazySignOff(temporal: Config['temporal'], idPrefix: string): { get: () => Promise<SignOff>; close: () => Promise<void> } {
  let connecting: ReturnType<typeof connectTemporal> | undefined;
  return {
    async get() {
      connecting ??= connectTemporal(temporal);
      let client;
      try {
        ({ client } = await connecting);
      } catch (err) {
        connecting = undefined;
        throw new KpiError(`Temporal at ${temporal.address} did not answer: ${describeError(err)}`, { cause: err, retriable: true });
      }
      return signOffWith(client, idPrefix, temporal.taskQueue);
    },
    async close() {
      const c = connecting;
      connecting = undefined;
      if (c) await (await c.catch(() => undefined))?.connection.close();
    },
  };
}

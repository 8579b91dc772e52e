import { approveQuarter, reopenQuarter } from '../../workflows/client.js';
import type { Config } from '../shared/config.js';
import { KpiError, describeError } from '../shared/errors.js';
import { connectTemporal, type Client } from '../shared/temporal.js';
import type { SignOff } from './operations.js';

/** Sign-off through the quarter's review workflow on a connected client. */
export function signOffWith(client: Client, idPrefix: string): SignOff {
  return {
    approve: (quarter, approval) => approveQuarter(client, idPrefix, quarter, approval),
    reopen: (quarter, reopening) => reopenQuarter(client, idPrefix, quarter, reopening),
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
      return signOffWith(client, idPrefix);
    },
    async close() {
      const c = connecting;
      connecting = undefined;
      if (c) await (await c.catch(() => undefined))?.connection.close();
    },
  };
}

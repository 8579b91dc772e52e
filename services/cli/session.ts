import { existsSync, readFileSync, statSync } from 'node:fs';
import { authorize, type Action } from '../auth/permissions.js';
import { createAuthenticator, type Caller } from '../auth/principals.js';
import type { Config } from '../shared/config.js';
import { openWarehouse, type Warehouse } from '../shared/clickhouse.js';
import { ConfigError, UnauthenticatedError } from '../shared/errors.js';
import { localOperations, type Operations } from '../operations/operations.js';
import { remoteOperations, whoami } from '../operations/remote.js';
import { lazySignOff } from '../operations/sign-off.js';

/**
 * The `kpi` command's session: its credential (KPI_TOKEN, or the 0600 file KPI_TOKEN_FILE),
 * the warehouse, and the caller that credential proves. When another kpi process holds the
 * embedded store, everything goes through that process's HTTP API, which checks the token
 * and the permissions itself; otherwise the command opens the store and checks them here.
 */
export interface Session {
  caller: Caller;
  operations: Operations;
  warehouse: Warehouse;
  close(): Promise<void>;
}

/** The credential the command presents. */
export function presentedToken(config: Config): string {
  if (config.auth.token !== undefined) return config.auth.token;
  const file = config.auth.tokenFile;
  if (!existsSync(file)) {
    throw new UnauthenticatedError(
      `no credential: set KPI_TOKEN, or KPI_TOKEN_FILE to a file holding your token (looked for ${file}). ` +
        'The first `kpi run` or `kpi migrate` on a new store writes the admin\u2019s token there; an admin makes yours with `kpi users add` and `kpi tokens create`.',
    );
  }
  // Like ssh with its keys: a credential others can read is not used.
  if ((statSync(file).mode & 0o077) !== 0) throw new ConfigError(`${file} can be read by other users: chmod 600 it`);
  const token = readFileSync(file, 'utf8').trim();
  if (!token) throw new UnauthenticatedError(`${file} is empty`);
  return token;
}

/** Opens the warehouse as the caller the credential proves, and checks `action` when given. */
export async function openSession(config: Config, action?: Action): Promise<Session> {
  const token = presentedToken(config);
  const warehouse = await openWarehouse(config.clickhouse, { credential: token });
  const signOff = lazySignOff(config.temporal, config.close.idPrefix);
  try {
    let caller: Caller;
    let operations: Operations;
    if (warehouse.via) {
      const base = warehouse.via.url.replace(/\/clickhouse\/?$/, '');
      caller = await whoami(base, token);
      operations = remoteOperations(base, token, caller);
    } else {
      caller = await createAuthenticator(warehouse.client).authenticate(token);
      operations = localOperations({ clickhouse: warehouse.client, calendar: config.business, fourEyes: config.auth.fourEyes, signOff: signOff.get }, caller);
    }
    if (action) authorize(caller, action);
    return {
      caller,
      operations,
      warehouse,
      async close() {
        await signOff.close();
        await warehouse.close();
      },
    };
  } catch (err) {
    await warehouse.close();
    throw err;
  }
}

/** Runs `work` in a session and always closes it. */
export async function withSession<T>(config: Config, action: Action | undefined, work: (session: Session) => Promise<T>): Promise<T> {
  const session = await openSession(config, action);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

/** Tells once, on a new store, where the first admin credential is and how to use it. */
export function announceAdmin(admin: { tokenFile: string; generated: boolean }): void {
  process.stderr.write(
    admin.generated
      ? `kpi: new store: created the user admin; its token is in ${admin.tokenFile} (mode 0600), where the kpi command finds it. Add people with: kpi users add <name> --role viewer|analyst|operator|finance|admin\n`
      : `kpi: new store: created the user admin with the token from ${admin.tokenFile}.\n`,
  );
}

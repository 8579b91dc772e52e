import type { Config } from '../../shared/config.js';
import { newToken } from '../../auth/tokens.js';
import { KpiError } from '../../shared/errors.js';
import { renderTable } from '../output.js';
import { withSession } from '../session.js';

/** `kpi users …`, `kpi tokens …` and `kpi audit verify`: credentials and the audit trail. */

const print = (json: boolean | undefined, value: unknown, text: () => string): void => {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text()}\n`);
};

export async function usersListCommand(config: Config, options: { json?: boolean }): Promise<void> {
  await withSession(config, 'users.manage', async ({ operations }) => {
    const users = await operations.users();
    print(options.json, users, () => renderTable(users.map((u) => ({ name: u.name, role: u.role, kind: u.kind, disabled: u.disabled ? 'yes' : '', tokens: u.tokens, created: u.created_at, by: u.created_by }))));
  });
}

export async function usersAddCommand(config: Config, name: string, options: { role: string; service?: boolean; json?: boolean }): Promise<void> {
  await withSession(config, 'users.manage', async ({ operations }) => {
    const user = await operations.addUser({ name, role: options.role, kind: options.service ? 'service' : 'user' });
    print(options.json, user, () => `Added ${user.name} (${user.role}). Give them a token: kpi tokens create ${user.name} --name laptop`);
  });
}

export async function usersDisableCommand(config: Config, name: string, options: { enable?: boolean; json?: boolean }): Promise<void> {
  await withSession(config, 'users.manage', async ({ operations }) => {
    const user = await operations.setDisabled(name, !options.enable);
    print(options.json, user, () => (user.disabled ? `${user.name} is disabled: their tokens no longer work.` : `${user.name} is enabled again.`));
  });
}

export async function tokensCreateCommand(config: Config, user: string, options: { name: string; scope?: string; expires?: string; json?: boolean }): Promise<void> {
  await withSession(config, 'users.manage', async ({ operations }) => {
    const made = await operations.createToken({ user, name: options.name, ...(options.scope ? { scope: options.scope } : {}), ...(options.expires ? { expiresAt: options.expires } : {}) });
    print(options.json, made, () =>
      [
        `Token ${made.token_id} for ${made.principal} (${made.scope}${made.expires_at ? `, expires ${made.expires_at} UTC` : ''}). It is shown once; it is stored only as a hash:`,
        '',
        `  ${made.token}`,
        '',
        'Use it as KPI_TOKEN=… for the kpi command, Authorization: Bearer … over HTTP, or as the password of ClickHouse clients (user name: the user).',
      ].join('\n'),
    );
  });
}

/** A token for KPI_BOOTSTRAP_TOKEN_FILE: random, printed once, stored nowhere. */
export async function tokensGenerateCommand(): Promise<void> {
  process.stdout.write(`${(await newToken()).token}\n`);
}

export async function tokensListCommand(config: Config, options: { user?: string; json?: boolean }): Promise<void> {
  await withSession(config, 'users.manage', async ({ operations }) => {
    const tokens = await operations.tokens(options.user);
    print(options.json, tokens, () => renderTable(tokens.map((t) => ({ id: t.token_id, user: t.principal, name: t.name, scope: t.scope, created: t.created_at, by: t.created_by, expires: t.expires_at ?? '', revoked: t.revoked_at ?? '' }))));
  });
}

export async function tokensRevokeCommand(config: Config, tokenId: string, options: { json?: boolean }): Promise<void> {
  await withSession(config, 'users.manage', async ({ operations }) => {
    const token = await operations.revokeToken(tokenId);
    print(options.json, token, () => `Token ${token.token_id} of ${token.principal} is revoked.`);
  });
}

/** Checks both audit chains; exits with 1 naming the first broken link. */
export async function auditVerifyCommand(config: Config, options: { json?: boolean }): Promise<void> {
  await withSession(config, 'audit.verify', async ({ operations }) => {
    const reports = await operations.verifyAudit();
    print(options.json, reports, () =>
      reports.map((r) => (r.ok ? `${r.table}: ${r.rows} rows, chain intact${r.legacyRows > 0 ? ` (${r.legacyRows} older rows from before the chain)` : ''}` : `${r.table}: BROKEN at row ${r.seq}: ${r.problem}`)).join('\n'),
    );
    const broken = reports.find((r) => !r.ok);
    if (broken) throw new KpiError(`the audit trail of ${broken.table} has been tampered with`);
  });
}

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { chInstant } from '../../schemas/kpis/compile.js';
import { insertRows, queryRows, type ClickHouseClient } from '../shared/clickhouse.js';
import { ConfigError, ForbiddenError, UnauthenticatedError, UsageError } from '../shared/errors.js';
import { canScopeTo, isRole, type Role, USER_ROLES } from './permissions.js';
import { newToken, parseToken, verifySecret } from './tokens.js';

/**
 * Principals (people and services) and their tokens, kept in the warehouse. Identity always
 * comes from a verified token: the name recorded for an approval or an import is the
 * principal's, never a name the caller typed.
 */

/** Letters (any script), digits and . _ @ -; 1-64 characters. */
export const PrincipalName = z
  .string()
  .trim()
  .regex(/^[\p{L}\p{N}][\p{L}\p{N}._@-]{0,63}$/u, 'a name is 1-64 letters, digits, . _ @ - (starting with a letter or digit)');

export const TokenName = z.string().trim().regex(/^[\p{L}\p{N}][\p{L}\p{N} ._@:-]{0,63}$/u, 'a token name is 1-64 letters, digits, spaces, . _ @ : -');

/** Who is calling, as proven by a token. `role` is the token's scope (at most the principal's own role). */
export interface Caller {
  name: string;
  role: Role;
  kind: 'user' | 'service';
  tokenId: string;
}

export interface PrincipalRow {
  name: string;
  role: Role;
  kind: 'user' | 'service';
  disabled: boolean;
  created_at: string;
  created_by: string;
}

export interface TokenRow {
  token_id: string;
  principal: string;
  name: string;
  scope: Role;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
}

const now = (): string => chInstant(new Date().toISOString());

async function principal(client: ClickHouseClient, name: string): Promise<PrincipalRow | undefined> {
  const [row] = await queryRows<Omit<PrincipalRow, 'disabled'> & { disabled: number }>(
    client,
    'SELECT name, role, kind, disabled, toString(created_at) AS created_at, created_by FROM principals FINAL WHERE name = {name: String}',
    { name },
  );
  return row ? { ...row, disabled: row.disabled === 1 } : undefined;
}

export async function listPrincipals(client: ClickHouseClient): Promise<(PrincipalRow & { tokens: number })[]> {
  const rows = await queryRows<Omit<PrincipalRow, 'disabled'> & { disabled: number; tokens: string }>(
    client,
    'SELECT p.name AS name, p.role AS role, p.kind AS kind, p.disabled AS disabled, toString(p.created_at) AS created_at, p.created_by AS created_by, ' +
      'toString(countIf(t.token_id != \'\' AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now64(3)))) AS tokens ' +
      'FROM principals AS p FINAL LEFT JOIN (SELECT * FROM tokens FINAL) AS t ON t.principal = p.name ' +
      'GROUP BY p.name, p.role, p.kind, p.disabled, p.created_at, p.created_by ORDER BY p.name SETTINGS join_use_nulls = 1',
  );
  return rows.map((r) => ({ ...r, disabled: r.disabled === 1, tokens: Number(r.tokens) }));
}

export async function listTokens(client: ClickHouseClient, principalName?: string): Promise<TokenRow[]> {
  return queryRows<TokenRow>(
    client,
    'SELECT token_id, principal, name, scope, toString(created_at) AS created_at, created_by, toString(expires_at) AS expires_at, toString(revoked_at) AS revoked_at ' +
      'FROM tokens FINAL WHERE {principal: String} = \'\' OR principal = {principal: String} ORDER BY principal, created_at',
    { principal: principalName ?? '' },
  );
}

async function writePrincipal(client: ClickHouseClient, row: PrincipalRow): Promise<void> {
  await insertRows(client, 'principals', [{ ...row, disabled: row.disabled ? 1 : 0, version: Date.now() }]);
}

/** Adds a person (or a service principal). Refuses a name already taken. */
export async function addPrincipal(client: ClickHouseClient, input: { name: string; role: string; kind?: 'user' | 'service' }, by: string): Promise<PrincipalRow> {
  const name = PrincipalName.safeParse(input.name);
  if (!name.success) throw new UsageError(name.error.issues[0]?.message ?? 'bad name');
  const kind = input.kind ?? 'user';
  const allowed: readonly string[] = kind === 'service' ? ['service'] : USER_ROLES;
  if (!allowed.includes(input.role) || !isRole(input.role)) throw new UsageError(`role must be one of ${allowed.join(', ')}, got ${JSON.stringify(input.role)}`);
  if (await principal(client, name.data)) throw new UsageError(`${name.data} already exists (kpi users list shows everyone)`);
  const row: PrincipalRow = { name: name.data, role: input.role, kind, disabled: false, created_at: now(), created_by: by };
  await writePrincipal(client, row);
  return row;
}

/** Disables (or enables again) a principal: its tokens stop working at once. */
export async function setDisabled(client: ClickHouseClient, name: string, disabled: boolean, by: string): Promise<PrincipalRow> {
  const row = await principal(client, name);
  if (!row) throw new UsageError(`no user ${JSON.stringify(name)}`);
  if (disabled && row.name === by) throw new ForbiddenError('you cannot disable yourself');
  const next = { ...row, disabled };
  await writePrincipal(client, next);
  return next;
}

/** Creates a token for a principal; the token itself is returned once and never stored. */
export async function createToken(
  client: ClickHouseClient,
  input: { principal: string; name: string; scope?: string; expiresAt?: string },
  by: string,
): Promise<TokenRow & { token: string }> {
  const owner = await principal(client, input.principal);
  if (!owner) throw new UsageError(`no user ${JSON.stringify(input.principal)}`);
  if (owner.disabled) throw new UsageError(`${owner.name} is disabled`);
  const tokenName = TokenName.safeParse(input.name);
  if (!tokenName.success) throw new UsageError(tokenName.error.issues[0]?.message ?? 'bad token name');
  const scope = input.scope ?? owner.role;
  if (!isRole(scope) || !canScopeTo(owner.role, scope)) {
    throw new UsageError(`a token of ${owner.name} (${owner.role}) can be scoped to ${owner.role} or a role with fewer rights, not ${JSON.stringify(scope)}`);
  }
  let expires: string | null = null;
  if (input.expiresAt !== undefined) {
    const ms = Date.parse(input.expiresAt);
    if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}/.test(input.expiresAt)) throw new UsageError(`expiry must be a date or time such as 2027-01-31 or 2027-01-31T18:00:00Z, got ${JSON.stringify(input.expiresAt)}`);
    if (ms <= Date.now()) throw new UsageError('expiry must be in the future');
    expires = chInstant(new Date(ms).toISOString());
  }
  const made = await newToken();
  const row: TokenRow = { token_id: made.tokenId, principal: owner.name, name: tokenName.data, scope, created_at: now(), created_by: by, expires_at: expires, revoked_at: null };
  await insertRows(client, 'tokens', [{ ...row, hash: made.hash, revoked_by: '', version: Date.now() }]);
  return { ...row, token: made.token };
}

export async function revokeToken(client: ClickHouseClient, tokenId: string, by: string): Promise<TokenRow> {
  const [row] = await queryRows<TokenRow & { hash: string }>(
    client,
    'SELECT token_id, principal, name, scope, hash, toString(created_at) AS created_at, created_by, toString(expires_at) AS expires_at, toString(revoked_at) AS revoked_at FROM tokens FINAL WHERE token_id = {id: String}',
    { id: tokenId },
  );
  if (!row) throw new UsageError(`no token ${JSON.stringify(tokenId)} (kpi tokens list shows them)`);
  const { hash, ...shown } = { ...row, revoked_at: row.revoked_at ?? now() };
  await insertRows(client, 'tokens', [{ ...shown, hash, revoked_by: by, version: Date.now() }]);
  return shown;
}

/**
 * Verifies presented tokens against the store. Successful checks are remembered for
 * `cacheMs` (keyed by the token's SHA-256, never the token) so a client that sends its
 * credential with every request does not pay scrypt each time; `forget()` drops them when
 * a token or user changes in this process.
 */
export function createAuthenticator(client: ClickHouseClient, options: { cacheMs?: number } = {}) {
  const cacheMs = options.cacheMs ?? 30_000;
  const cache = new Map<string, { caller: Caller; until: number }>();

  async function authenticate(token: string, expectedName?: string): Promise<Caller> {
    const key = createHash('sha256').update(token).digest('hex');
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return checkOwner(hit.caller, expectedName);
    const parts = parseToken(token);
    if (!parts) throw new UnauthenticatedError('the credential is not a kpi token (kpi_…)');
    const [row] = await queryRows<{ principal: string; scope: string; hash: string; expired: number; expires_in_ms: number | null; revoked: number; role: string; kind: string; disabled: number | null }>(
      client,
      'SELECT t.principal AS principal, t.scope AS scope, t.hash AS hash, toUInt8(t.expires_at IS NOT NULL AND t.expires_at <= now64(3)) AS expired, ' +
        'toInt64(dateDiff(\'millisecond\', now64(3), t.expires_at)) AS expires_in_ms, ' +
        'toUInt8(t.revoked_at IS NOT NULL) AS revoked, p.role AS role, p.kind AS kind, p.disabled AS disabled ' +
        'FROM (SELECT * FROM tokens FINAL WHERE token_id = {id: String}) AS t LEFT JOIN (SELECT * FROM principals FINAL) AS p ON p.name = t.principal SETTINGS join_use_nulls = 1',
      { id: parts.tokenId },
    );
    // The same answer for an unknown id and a wrong secret: nothing tells which ids exist.
    if (!row || !(await verifySecret(parts.secret, row.hash))) throw new UnauthenticatedError('unknown or wrong token');
    if (row.revoked === 1) throw new UnauthenticatedError('this token has been revoked');
    if (row.expired === 1) throw new UnauthenticatedError('this token has expired');
    if (row.disabled !== 0 || !isRole(row.role) || !isRole(row.scope)) throw new UnauthenticatedError(`${row.principal} is disabled`);
    const caller: Caller = { name: row.principal, role: canScopeTo(row.role, row.scope) ? row.scope : 'viewer', kind: row.kind === 'service' ? 'service' : 'user', tokenId: parts.tokenId };
    // Remembered no longer than the token lives.
    cache.set(key, { caller, until: Date.now() + Math.min(cacheMs, Number(row.expires_in_ms ?? cacheMs)) });
    return checkOwner(caller, expectedName);
  }

  return { authenticate, forget: () => cache.clear() };
}

/** The caller, when the user name a ClickHouse client sent with the key (if any) is the token's owner. */
export function checkOwner(caller: Caller, expectedName: string | undefined): Caller {
  if (expectedName !== undefined && expectedName !== '' && expectedName !== 'default' && expectedName !== caller.name) {
    throw new UnauthenticatedError(`the token does not belong to ${expectedName}`);
  }
  return caller;
}

export type Authenticator = ReturnType<typeof createAuthenticator>;

/** Where the first admin credential is kept, and where the CLI looks for a credential by default. */
export interface CredentialFiles {
  /** The CLI's credential file (mode 0600). */
  tokenFile: string;
  /** An operator-supplied first admin token (e.g. a Docker secret); unset: one is generated. */
  bootstrapTokenFile: string | undefined;
}

/**
 * On a store without principals, creates `admin` and its first token: generated and saved
 * to `tokenFile` with mode 0600, or read from `bootstrapTokenFile`. Returns what it did, or
 * undefined when principals already exist.
 */
export async function ensureAdmin(client: ClickHouseClient, files: CredentialFiles): Promise<{ tokenFile: string; generated: boolean } | undefined> {
  const [row] = await queryRows<{ n: string }>(client, 'SELECT toString(count()) AS n FROM principals');
  if (Number(row?.n ?? 0) > 0) return undefined;
  let given: string | undefined;
  if (files.bootstrapTokenFile !== undefined) {
    if (!existsSync(files.bootstrapTokenFile)) throw new ConfigError(`KPI_BOOTSTRAP_TOKEN_FILE: no file ${files.bootstrapTokenFile}`);
    given = readFileSync(files.bootstrapTokenFile, 'utf8').trim();
    if (!parseToken(given)) throw new ConfigError('KPI_BOOTSTRAP_TOKEN_FILE: the file must hold one token of the form kpi_<12 letters a-z, 2-7>_<43 characters of base64url> (kpi tokens generate prints one)');
  }
  const made = await newToken(given);
  const at = now();
  // In this order: the file, the token, then the principal whose existence says "done", so a
  // start that dies half-way is simply repeated by the next one.
  if (given === undefined) writeCredential(files.tokenFile, made.token);
  await insertRows(client, 'tokens', [{ token_id: made.tokenId, principal: 'admin', name: 'first start', scope: 'admin', hash: made.hash, created_at: at, created_by: 'kpi (first start)', expires_at: null, revoked_at: null, revoked_by: '', version: Date.now() }]);
  await insertRows(client, 'principals', [{ name: 'admin', role: 'admin', kind: 'user', disabled: 0, created_at: at, created_by: 'kpi (first start)', version: Date.now() }]);
  return { tokenFile: given === undefined ? files.tokenFile : (files.bootstrapTokenFile ?? files.tokenFile), generated: given === undefined };
}

/**
 * Writes a credential readable by this OS user only: a new file created 0600 (never an
 * existing one, never through a link), then renamed over the old one.
 */
export function writeCredential(file: string, token: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fresh = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(fresh, `${token}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(fresh, file);
}

import { createHash } from 'node:crypto';
import { checkOwner, type Caller } from '../auth/principals.js';
import { ForbiddenError, KpiError, UnauthenticatedError, UsageError } from '../shared/errors.js';
import type { Operations } from './operations.js';

/**
 * The same operations over HTTP, for the `kpi` command while another process (`kpi run`,
 * `kpi api`) holds the embedded store: the holder authenticates the token and asks the
 * permissions table, exactly as for any other client.
 */

async function call<T>(base: string, token: string, method: 'GET' | 'POST', path: string, body?: { type: string; text: string }, headers: Record<string, string> = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': body.type } : {}), ...headers },
      ...(body ? { body: body.text } : {}),
    });
  } catch (err) {
    throw new KpiError(`the kpi process serving the store at ${base} did not answer`, { cause: err, retriable: true });
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (res.ok) return parsed as T;
  const message = parsed !== null && typeof parsed === 'object' && 'error' in parsed && typeof parsed.error === 'string' ? parsed.error : `${res.status} ${text.slice(0, 200)}`;
  if (res.status === 401) throw new UnauthenticatedError(message);
  if (res.status === 403) throw new ForbiddenError(message);
  if (res.status === 400 || res.status === 404 || res.status === 413) throw new UsageError(message);
  throw new KpiError(message, { retriable: res.status === 503 });
}

/** Who the token belongs to, as the holder sees it. */
export function whoami(base: string, token: string): Promise<Caller> {
  return call<Caller>(base, token, 'GET', '/v1/whoami');
}

/**
 * An authenticator (as createAuthenticator's) for a process that reaches the store through
 * its holder: each presented token is checked by the holder (whoami), and a success is
 * remembered for `cacheMs`, keyed by the token's SHA-256.
 */
export function remoteAuthenticator(base: string, options: { cacheMs?: number } = {}): { authenticate(token: string, expectedName?: string): Promise<Caller>; forget(): void } {
  const cacheMs = options.cacheMs ?? 30_000;
  const cache = new Map<string, { caller: Caller; until: number }>();
  return {
    async authenticate(token, expectedName) {
      const key = createHash('sha256').update(token).digest('hex');
      const hit = cache.get(key);
      if (hit && hit.until > Date.now()) return checkOwner(hit.caller, expectedName);
      const caller = await whoami(base, token);
      cache.set(key, { caller, until: Date.now() + cacheMs });
      return checkOwner(caller, expectedName);
    },
    forget: () => cache.clear(),
  };
}

function qs(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : '';
}

const json = (value: unknown): { type: string; text: string } => ({ type: 'application/json', text: JSON.stringify(value) });
const seg = encodeURIComponent;

export function remoteOperations(base: string, token: string, caller: Caller): Operations {
  const get = <T>(path: string): Promise<T> => call<T>(base, token, 'GET', path);
  const post = <T>(path: string, body: { type: string; text: string }, headers?: Record<string, string>): Promise<T> => call<T>(base, token, 'POST', path, body, headers);
  return {
    caller,
    periods: (filter) => get(`/v1/periods${qs(filter)}`),
    periodStatus: (grain, period) => get(`/v1/periods/${seg(grain)}/${seg(period)}`),
    values: (query) => get(`/v1/values${qs(query)}`),
    scorecards: (query) => get(`/v1/scorecards${qs(query)}`),
    restatements: (query) => get(`/v1/restatements${qs(query)}`),
    stats: () => get('/v1/stats'),
    views: (view) => get(`/v1/views${qs({ view })}`),
    explain: (query) => get(`/v1/explain${qs({ ...query, late: query.late ? 'true' : undefined })}`),
    importCsv: (kind, text, source) => post(`/v1/${kind}`, { type: 'text/csv', text }, { 'x-import-source': encodeURIComponent(source) }),
    importRows: (kind, rows, _content, source) => post(`/v1/${kind}`, json({ source, rows })),
    users: () => get('/v1/users'),
    addUser: (input) => post('/v1/users', json(input)),
    setDisabled: (name, disabled) => post(`/v1/users/${seg(name)}/${disabled ? 'disable' : 'enable'}`, json({})),
    tokens: (user) => get(`/v1/tokens${qs({ user })}`),
    createToken: (input) => post('/v1/tokens', json(input)),
    revokeToken: (tokenId) => post(`/v1/tokens/${seg(tokenId)}/revoke`, json({})),
    verifyAudit: () => get('/v1/audit/verify'),
    approve: (quarter, comment) => post(`/v1/quarters/${seg(quarter)}/approve`, json({ comment })),
    reopen: (quarter, reason) => post(`/v1/quarters/${seg(quarter)}/reopen`, json({ reason })),
    periodAudit: (query) => get(`/v1/audit${qs(query)}`),
    periodImports: (query) => get(`/v1/imports${qs(query)}`),
  };
}

import type { IncomingHttpHeaders } from 'node:http';

/**
 * Reading a credential and the caller's origin from request headers. Pure, so every way a
 * client can present itself is tested without a server.
 */

/** Node hands header values over as Latin-1; clients send UTF-8. */
export function utf8Header(value: string | string[] | undefined): string | undefined {
  const one = Array.isArray(value) ? value[0] : value;
  return one === undefined ? undefined : Buffer.from(one, 'latin1').toString('utf8');
}

/**
 * The token a request presents, and the user name it claims (ClickHouse clients send one):
 * `Authorization: Bearer <token>`, `Authorization: Basic base64(user:token)`, or ClickHouse's
 * `X-ClickHouse-User` and `X-ClickHouse-Key` headers.
 */
export function credentialOf(headers: IncomingHttpHeaders): { token: string; user?: string } | undefined {
  const authorization = headers.authorization?.trim() ?? '';
  const space = authorization.indexOf(' ');
  const scheme = space > 0 ? authorization.slice(0, space).toLowerCase() : '';
  const rest = space > 0 ? authorization.slice(space + 1).trim() : '';
  if (scheme === 'bearer' && rest) return { token: rest };
  if (scheme === 'basic' && rest) {
    const decoded = Buffer.from(rest, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0 && colon < decoded.length - 1) return { token: decoded.slice(colon + 1), user: decoded.slice(0, colon) };
  }
  const key = utf8Header(headers['x-clickhouse-key']);
  if (key) {
    const user = utf8Header(headers['x-clickhouse-user']);
    return user === undefined ? { token: key } : { token: key, user };
  }
  return undefined;
}

/**
 * False for a request a browser sent from another site (CSRF): an `Origin` that is not this
 * host nor a configured CORS origin, or `Sec-Fetch-Site: cross-site`. Clients that are not
 * browsers send neither header.
 */
export function sameOrigin(headers: IncomingHttpHeaders, allowedOrigins: readonly string[]): boolean {
  const origin = headers.origin;
  if (origin !== undefined) {
    if (allowedOrigins.includes(origin)) return true;
    try {
      return new URL(origin).host.toLowerCase() === (headers.host ?? '').toLowerCase();
    } catch {
      return false;
    }
  }
  return headers['sec-fetch-site'] !== 'cross-site' && headers['sec-fetch-site'] !== 'same-site';
}

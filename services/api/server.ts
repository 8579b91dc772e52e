import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { authorize, type Action } from '../auth/permissions.js';
import type { Authenticator, Caller } from '../auth/principals.js';
import { ForbiddenError, KpiError, UnauthenticatedError, UsageError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { credentialOf, sameOrigin } from './credentials.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, proven by a credential; set before any handler that is not public. */
    caller: Caller | null;
  }
  interface FastifyContextConfig {
    /** What the route does, as the permissions table names it; `public` needs no credential. */
    action?: Action | 'public' | ((req: FastifyRequest) => Action | 'public');
  }
}

/** A feature's routes: registered on the server with the shared hooks in force. */
export type ApiPlugin = (app: FastifyInstance) => void | Promise<void>;

export interface ApiServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** Request limits that protect the process (slow clients, big bodies). */
export const HTTP_LIMITS = {
  /** A JSON or SQL body. */
  bodyBytes: 1024 * 1024,
  /** The request head must arrive within this (slowloris). */
  headersTimeoutMs: 10_000,
  /** The whole request, body included, must arrive within this. */
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
} as const;

/** The HTTP status and short reason for an error; never a stack trace or a host path. */
export function statusOf(err: unknown): { status: number; message: string } {
  if (err instanceof UnauthenticatedError) return { status: 401, message: err.message };
  if (err instanceof ForbiddenError) return { status: 403, message: err.message };
  if (err instanceof UsageError) return { status: 400, message: err.message };
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  // Fastify's own errors (body too large, unsupported media type, bad JSON, timeouts).
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 && typeof e.code === 'string' && e.code.startsWith('FST_')) {
    return { status: e.statusCode, message: typeof e.message === 'string' ? e.message : 'bad request' };
  }
  if (err instanceof KpiError && err.retriable) return { status: 503, message: 'the service is busy or a dependency is unavailable; try again' };
  return { status: 500, message: 'internal error (the server log has the details)' };
}

/** Constant-time comparison of two secrets (of any lengths: their SHA-256 digests are compared). */
function sameSecret(a: string, b: string): boolean {
  const digest = (v: string): Buffer => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * The HTTP API of a `kpi` process, on Fastify: /health (liveness, public), /metrics and the
 * routes features add. Every other route requires a credential (Bearer token, or
 * ClickHouse's basic auth / X-ClickHouse-User and -Key) and asks the permissions table for
 * its action. Requests for other Host names (DNS rebinding) and cross-site state changes
 * are refused; bodies, heads and slow requests are bounded.
 */
export async function startApiServer(options: {
  host: string;
  port: number;
  logger: Logger;
  metrics: Registry;
  authenticator: Authenticator;
  /** A token from the environment that reads /metrics alone (Prometheus), store or no store. */
  metricsToken?: string | undefined;
  allowedHosts: string[] | '*';
  corsOrigins: string[];
  plugins?: ApiPlugin[];
  /** /health, /metrics and /v1/whoami; off for a listener that is only a ClickHouse endpoint. @default true */
  standardRoutes?: boolean;
}): Promise<ApiServer> {
  const app = Fastify({
    logger: false,
    bodyLimit: HTTP_LIMITS.bodyBytes,
    return503OnClosing: true,
    // Node enforces the head and request deadlines only when it checks its connections,
    // every 30 s by default: a slow head would be cut 10 to 40 s in rather than at 10 s.
    serverFactory: (handler) => {
      const server = createServer(
        { headersTimeout: HTTP_LIMITS.headersTimeoutMs, requestTimeout: HTTP_LIMITS.requestTimeoutMs, connectionsCheckingInterval: 1_000 },
        handler,
      );
      server.keepAliveTimeout = HTTP_LIMITS.keepAliveTimeoutMs;
      return server;
    },
  });
  app.decorateRequest('caller', null);
  // JSON routes take JSON only: a text/plain body is what a cross-site form can send.
  app.removeContentTypeParser('text/plain');
  if (options.corsOrigins.length > 0) await app.register(cors, { origin: options.corsOrigins, credentials: false });

  app.addHook('onRequest', async (req) => {
    const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
    if (options.allowedHosts !== '*' && !options.allowedHosts.includes(host)) throw new ForbiddenError(`requests for host ${JSON.stringify(host.slice(0, 100))} are refused (KPI_API_ALLOWED_HOSTS)`);
    if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req.headers, options.corsOrigins)) throw new ForbiddenError('cross-site requests may not change anything');
    // An unknown path is 404 for anyone, and costs no credential check.
    if (req.is404) return;
    const configured = req.routeOptions.config.action;
    const action = typeof configured === 'function' ? configured(req) : configured;
    if (action === 'public') return;
    const credential = credentialOf(req.headers);
    if (!credential) throw new UnauthenticatedError('a credential is required: Authorization: Bearer <token> (kpi tokens create makes one)');
    if (req.routeOptions.url === '/metrics' && options.metricsToken !== undefined && sameSecret(credential.token, options.metricsToken)) return;
    req.caller = await options.authenticator.authenticate(credential.token, credential.user);
    if (action !== undefined) authorize(req.caller, action);
  });

  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const { status, message } = statusOf(err);
    if (status >= 500) options.logger.error({ err, path: req.url.split('?')[0] }, 'request failed');
    if (status === 401) void reply.header('www-authenticate', 'Bearer realm="kpi", Basic realm="kpi"');
    return reply.code(status).type('application/json').send(`${JSON.stringify({ error: message })}\n`);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const allowed = (['GET', 'POST'] as const).filter((method) => app.hasRoute({ method, url: path }));
    if (allowed.length > 0) return reply.code(405).header('allow', allowed.join(', ')).type('application/json').send(`${JSON.stringify({ error: `use ${allowed.join(' or ')}` })}\n`);
    return reply.code(404).type('application/json').send(`${JSON.stringify({ error: `no route ${req.method} ${path.slice(0, 200)}` })}\n`);
  });

  if (options.standardRoutes !== false) {
    app.get('/health', { config: { action: 'public' } }, async (_req, reply) => reply.type('application/json').send('{"status":"ok"}\n'));
    app.get('/metrics', { config: { action: 'values.read' } }, async (_req, reply) => reply.type(options.metrics.contentType).send(await options.metrics.metrics()));
    app.get('/v1/whoami', { config: { action: 'values.read' } }, (req) => {
      const caller = authorize(req.caller, 'values.read');
      return Promise.resolve({ name: caller.name, role: caller.role, kind: caller.kind, tokenId: caller.tokenId });
    });
  }
  for (const plugin of options.plugins ?? []) await app.register(async (scope) => plugin(scope));

  try {
    await app.listen({ port: options.port, host: options.host });
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  options.logger.info({ url }, 'HTTP API listening');
  return {
    app,
    url,
    // Fastify's close waits for requests in flight, so a query still running in the
    // embedded engine is never cut off by closing the store under it.
    close: () => app.close(),
  };
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../shared/logger.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

export interface ApiServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

/**
 * The HTTP API of a `kpi` process: /health, /metrics, and routes that later features add
 * (the store endpoint, KPI values, scorecards). Binds to KPI_API_HOST:KPI_API_PORT.
 */
export async function startApiServer(options: {
  host: string;
  port: number;
  logger: Logger;
  metrics: Registry;
  health: () => Promise<Record<string, unknown>>;
  routes?: Record<string, RouteHandler>;
}): Promise<ApiServer> {
  const routes: Record<string, RouteHandler> = {
    '/health': async (_req, res) => send(res, 200, `${JSON.stringify({ status: 'ok', ...(await options.health()) })}\n`),
    '/metrics': async (_req, res) => send(res, 200, await options.metrics.metrics(), options.metrics.contentType),
    ...options.routes,
  };
  // Requests in flight: closing waits for them, so a query still running in the embedded
  // engine is never cut off by closing the store under it.
  const inFlight = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routes[url.pathname];
    if (!route) {
      send(res, 404, `${JSON.stringify({ error: `no route ${url.pathname}` })}\n`);
      return;
    }
    const handled = route(req, res, url)
      .catch((err: unknown) => {
        options.logger.error({ err, path: url.pathname }, 'request failed');
        if (!res.headersSent) send(res, 500, `${JSON.stringify({ error: err instanceof Error ? err.message : 'internal error' })}\n`);
        else res.end();
      })
      .finally(() => inFlight.delete(handled));
    inFlight.add(handled);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host}:${port}`;
  options.logger.info({ url }, 'HTTP API listening');
  return {
    server,
    url,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 30_000))]);
      server.closeAllConnections();
      await closed;
    },
  };
}

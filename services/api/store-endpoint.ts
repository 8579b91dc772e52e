import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClickHouseClient } from '../shared/clickhouse.js';
import { UsageError, describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { checkStatement } from '../shared/statements.js';
import type { RouteHandler } from './server.js';

/** Undoes ClickHouse's escaping of query parameter values (the HTTP `param_` form). */
export function unescapeParam(value: string): string | null {
  if (value === '\\N') return null;
  const map: Record<string, string> = { t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', '0': '\0', "'": "'", '\\': '\\' };
  return value.replace(/\\(.)/gs, (whole, ch: string) => map[ch] ?? whole);
}

async function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new UsageError(`request body over ${limitBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function exception(res: ServerResponse, status: number, message: string, type: string): void {
  // The shape of a ClickHouse server error, which @clickhouse/client parses.
  res.writeHead(status, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-exception-code': '0' });
  res.end(`Code: 0. DB::Exception: ${message.replace(/\s+/g, ' ')} (${type})\n`);
}

/**
 * The ClickHouse HTTP interface of the process that owns the embedded store: the one way
 * every other client (CLI, analysts' tools, Grafana) reaches chDB while it is held. Each
 * statement is checked with ClickHouse's parser first: one statement only, no USE or SET
 * (they would change the owner's session), and reads only when the request is read-only
 * (a GET, or `readonly=1`). Query parameters bind as they do on a server.
 */
export function storeEndpoint(client: ClickHouseClient, logger: Logger, options: { maxBodyBytes?: number } = {}): Record<string, RouteHandler> {
  const handle: RouteHandler = async (req, res, url) => {
    if (req.method !== 'GET' && req.method !== 'POST') {
      exception(res, 405, `method ${req.method ?? '?'} not allowed`, 'BAD_REQUEST');
      return;
    }
    const sp = url.searchParams;
    const body = req.method === 'POST' ? await readBody(req, options.maxBodyBytes ?? 256 * 1024 * 1024) : '';
    const statement = sp.get('query') ?? body;
    const data = sp.get('query') !== null ? body : '';
    const params: Record<string, string | null> = {};
    for (const [key, value] of sp) if (key.startsWith('param_')) params[key.slice('param_'.length)] = unescapeParam(value);
    const readOnly = req.method === 'GET' || sp.get('readonly') === '1' || sp.get('readonly') === '2';
    try {
      await checkStatement(client, statement, { readOnly });
      const result = await client.exec({
        query: statement,
        query_params: params,
        ...(data.length > 0 ? { values: Readable.from([data]) } : {}),
      });
      res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-summary': '{}' });
      await pipeline(result.stream, res);
    } catch (err) {
      const usage = err instanceof UsageError;
      if (!usage) logger.warn({ err: describeError(err) }, 'store endpoint query failed');
      exception(res, usage ? 400 : 500, describeError(err), usage ? 'BAD_REQUEST' : 'QUERY_FAILED');
    }
  };
  return {
    '/clickhouse': handle,
    '/clickhouse/': handle,
    '/clickhouse/ping': async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('Ok.\n');
      return Promise.resolve();
    },
  };
}

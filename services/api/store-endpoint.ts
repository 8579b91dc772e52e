import { randomUUID } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { DataFormat } from '@clickhouse/client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authorize, can } from '../auth/permissions.js';
import { queryRows, type ClickHouseClient } from '../shared/clickhouse.js';
import type { QueryLimits } from '../shared/config.js';
import { ForbiddenError, UnauthenticatedError, UsageError, describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { checkStatement } from '../shared/statements.js';
import { utf8Header } from './credentials.js';
import { HTTP_LIMITS, type ApiPlugin } from './server.js';

/** Undoes ClickHouse's escaping of query parameter values (the HTTP `param_` form). */
export function unescapeParam(value: string): string | null {
  if (value === '\\N') return null;
  const map: Record<string, string> = { t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', '0': '\0', "'": "'", '\\': '\\' };
  return value.replace(/\\(.)/gs, (whole, ch: string) => map[ch] ?? whole);
}

/** A writer's body: the rows of an INSERT (ingest through this process sends batches of rows). */
const WRITER_BODY_BYTES = 256 * 1024 * 1024;

/** The body stream, failing with 413 once it passes `limit` bytes. */
function bounded(payload: NodeJS.ReadableStream, limit: number): NodeJS.ReadableStream {
  let seen = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit) done(Object.assign(new Error(`the request body is over ${limit} bytes`), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' }));
      else done(null, chunk);
    },
  });
  payload.on('error', (err: Error) => counted.destroy(err));
  return payload.pipe(counted);
}

/** ClickHouse's exception codes for refusals of the door itself, with the HTTP status a server gives them. */
const REFUSALS = {
  syntax: { code: 62, type: 'SYNTAX_ERROR', status: 400 },
  denied: { code: 497, type: 'ACCESS_DENIED', status: 403 },
  auth: { code: 516, type: 'AUTHENTICATION_FAILED', status: 401 },
  busy: { code: 202, type: 'TOO_MANY_SIMULTANEOUS_QUERIES', status: 503 },
  unknownDatabase: { code: 81, type: 'UNKNOWN_DATABASE', status: 404 },
  tooLarge: { code: 1001, type: 'BAD_REQUEST', status: 413 },
} as const;

/** HTTP statuses a ClickHouse server answers for engine errors it is asked about most. */
const STATUS_BY_CODE: Record<number, number> = { 60: 404, 81: 404, 62: 400, 47: 400, 46: 400, 36: 400, 43: 400, 6: 400, 27: 400, 26: 400, 53: 400, 497: 403, 159: 408, 160: 408, 241: 500, 396: 400, 158: 400 };

type Refusal = { code: number; type: string; status: number };

function refuse(reply: FastifyReply, refusal: Refusal, message: string): FastifyReply {
  return exception(reply, refusal.status, refusal.code, message, refusal.type);
}

function exception(reply: FastifyReply, status: number, code: number, message: string, type: string): FastifyReply {
  // The shape of a ClickHouse server error, which its clients parse.
  return reply
    .code(status)
    .header('x-clickhouse-exception-code', String(code))
    .type('text/plain; charset=UTF-8')
    .send(`Code: ${code}. DB::Exception: ${message.replace(/\s+/g, ' ').trim()} (${type})\n`);
}

/** An engine error as a server would report it: its own code, type and message. */
function engineError(err: unknown): { code: number; type: string; message: string } {
  const e = err as { code?: unknown; type?: unknown; message?: unknown };
  const code = Number(e.code);
  const message = typeof e.message === 'string' ? e.message : describeError(err);
  return { code: Number.isInteger(code) && code > 0 ? code : 1002, type: typeof e.type === 'string' && e.type ? e.type : 'UNKNOWN_EXCEPTION', message: message.replace(/^Code: \d+\. DB::Exception: /, '').replace(/ \([A-Z_]+\)\s*$/, '') };
}

/**
 * The ClickHouse HTTP interface of the process that holds the embedded store: how every
 * other client (the CLI, analysts' tools, Grafana, ingest in another process) reaches chDB
 * while it is held. A caller needs `sql.read`; its statement is checked by ClickHouse's own
 * parse tree (services/shared/statements.ts) and runs with the door's limits as its own
 * SETTINGS. Only a caller with `sql.write` may change anything, and only with a POST that
 * does not ask for readonly. At most `maxConcurrent` reads run at once.
 */
export function storeEndpoint(options: { client: ClickHouseClient; logger: Logger; database: string; limits: QueryLimits; maxConcurrent: number }): ApiPlugin {
  const { client, logger, limits } = options;
  // The engine's own time zone, asked once: clients read DateTime values in it.
  let timeZone: Promise<string> | undefined;
  const serverTimeZone = (): Promise<string> => (timeZone ??= queryRows<{ tz: string }>(client, 'SELECT timezone() AS tz').then(([row]) => row?.tz ?? 'UTC'));
  let running = 0;
  return (app) => {
    // Bodies arrive as bytes whatever their type: SQL, or rows for an INSERT.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WRITER_BODY_BYTES }, (_req, body, done) => done(null, body));
    // SQL is at most 1 MiB; only a caller that may write sends more (the rows of an INSERT).
    app.addHook('preParsing', async (req, _reply, payload) => {
      const limit = req.caller && can(req.caller.role, 'sql.write') ? WRITER_BODY_BYTES : HTTP_LIMITS.bodyBytes;
      return Promise.resolve(bounded(payload, limit));
    });
    app.setErrorHandler((err, _req, reply) => {
      if (err instanceof UnauthenticatedError) return refuse(reply.header('www-authenticate', 'Basic realm="kpi"'), REFUSALS.auth, err.message);
      if (err instanceof ForbiddenError) return refuse(reply, REFUSALS.denied, err.message);
      if (err instanceof UsageError) return refuse(reply, REFUSALS.syntax, err.message);
      const e = err as { code?: unknown; statusCode?: unknown };
      if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return refuse(reply, REFUSALS.tooLarge, err instanceof Error ? err.message : 'the request body is too large');
      if (typeof e.statusCode === 'number' && e.statusCode < 500) return exception(reply, e.statusCode, 1001, describeError(err), 'BAD_REQUEST');
      const engine = engineError(err);
      logger.warn({ err: describeError(err) }, 'store endpoint query failed');
      return exception(reply, STATUS_BY_CODE[engine.code] ?? 500, engine.code, engine.message, engine.type);
    });

    const handle = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const caller = authorize(req.caller, 'sql.read');
      const sp = new URL(req.url, 'http://localhost').searchParams;
      const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      const inUrl = sp.get('query');
      const statement = inUrl ?? body;
      const data = inUrl !== null ? body : '';
      const params: Record<string, string | null> = {};
      for (const [key, value] of sp) if (key.startsWith('param_')) params[key.slice('param_'.length)] = unescapeParam(value);
      // A server answers for one session's database; this door serves the pipeline's.
      const database = sp.get('database') ?? utf8Header(req.headers['x-clickhouse-database']);
      if (database !== undefined && database !== null && database !== '' && database !== options.database) {
        return refuse(reply, REFUSALS.unknownDatabase, `this endpoint serves the database ${options.database} only, not ${JSON.stringify(database.slice(0, 100))}`);
      }
      const queryId = sp.get('query_id') ?? randomUUID();
      if (!/^[A-Za-z0-9._:-]{1,128}$/.test(queryId)) throw new UsageError('query_id is 1-128 letters, digits, . _ : -');
      void reply.header('x-clickhouse-query-id', queryId).header('x-clickhouse-server-display-name', 'kpi-pipeline').header('x-clickhouse-timezone', await serverTimeZone());
      const asksReadOnly = req.method === 'GET' || sp.get('readonly') === '1' || sp.get('readonly') === '2';
      const access: 'read' | 'write' = !asksReadOnly && can(caller.role, 'sql.write') ? 'write' : 'read';
      // Admitted before the check: the check itself queues behind running queries in the engine.
      if (access === 'read' && running >= options.maxConcurrent) {
        return refuse(reply, REFUSALS.busy, `${running} read-only queries are running; at most ${options.maxConcurrent} run at once (KPI_SQL_MAX_CONCURRENT)`);
      }
      if (access === 'read') running += 1;
      try {
        const checked = await checkStatement(client, statement, access === 'read' ? { access, limits } : { access });
        // The engine runs the statement and the body as one text: a body is only ever the rows
        // of an INSERT, in a format that reads them as data to the end (never Values, whose
        // rows are SQL text and could carry a second statement).
        if (data.length > 0 && (checked.kind !== 'INSERT' || checked.rowsFormat === undefined || checked.rowsFormat.toLowerCase() === 'values')) {
          throw new ForbiddenError('a request body beside ?query= is taken only as the rows of an INSERT … FORMAT <format> (not Values)');
        }
        // No abort on disconnect: the embedded engine cannot interrupt a statement, and giving
        // up on one would let the next start beside it. Its time limit ends it.
        const format = checked.format ?? sp.get('default_format') ?? 'TabSeparated';
        const result = await client.exec({
          query: checked.sql,
          query_params: params,
          clickhouse_settings: { default_format: format as DataFormat },
          ...(data.length > 0 ? { values: Readable.from([data]) } : {}),
        });
        return reply
          .code(200)
          .header('x-clickhouse-format', format)
          .header('x-clickhouse-summary', JSON.stringify(result.summary ?? {}))
          .type('text/plain; charset=UTF-8')
          .send(result.stream);
      } finally {
        if (access === 'read') running -= 1;
      }
    };
    const sql = { config: { action: 'sql.read' as const } };
    for (const url of ['/clickhouse', '/clickhouse/']) {
      app.get(url, sql, handle);
      app.post(url, sql, handle);
    }
    app.get('/clickhouse/ping', { config: { action: 'public' } }, async (_req, reply) => reply.type('text/plain').send('Ok.\n'));
  };
}

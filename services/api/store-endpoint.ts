import { randomUUID } from 'node:crypto';
import { Transform } from 'node:stream';
import { createBrotliCompress, createBrotliDecompress, createDeflate, createGzip, createGunzip, createInflate } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authorize, can } from '../auth/permissions.js';
import { execWithTextParams, queryRows, type ClickHouseClient } from '../shared/clickhouse.js';
import type { QueryLimits } from '../shared/config.js';
import { ForbiddenError, UnauthenticatedError, UsageError, describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { checkStatement } from '../shared/statements.js';
import { ClickHouseRefusal, readSettings, writerSettings } from './clickhouse-settings.js';
import { compressedBlock, lz4FrameCompression, nativeCompression } from './native-compression.js';
import { utf8Header } from './credentials.js';
import { HTTP_LIMITS, type ApiPlugin } from './server.js';

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

/** Request bodies a client may compress (`Content-Encoding`), and how each is read. */
const BODY_DECODERS: Record<string, () => Transform> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate, br: createBrotliDecompress };

/** Response encodings offered with `enable_http_compression=1`, in the order a server picks them. */
const RESPONSE_ENCODERS: [string, () => Transform][] = [
  ['gzip', createGzip],
  ['deflate', createDeflate],
  ['lz4', lz4FrameCompression],
  ['br', createBrotliCompress],
];

/** The body as sent, decoded when compressed: limits count the decoded bytes (no zip bombs). */
function decoded(payload: NodeJS.ReadableStream, encoding: string | undefined): NodeJS.ReadableStream {
  const name = (encoding ?? '').trim().toLowerCase();
  if (name === '' || name === 'identity') return payload;
  const decoder = BODY_DECODERS[name];
  if (!decoder) throw new ClickHouseRefusal(89, 'UNKNOWN_COMPRESSION_METHOD', 400, `Content-Encoding ${JSON.stringify(name.slice(0, 40))} is not supported: send the body plain, or as gzip, deflate or br`);
  const stream = decoder();
  payload.on('error', (err: Error) => stream.destroy(err));
  stream.on('error', () => undefined);
  return payload.pipe(stream);
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
const STATUS_BY_CODE: Record<number, number> = { 60: 404, 81: 404, 62: 400, 47: 400, 46: 400, 36: 400, 43: 400, 6: 400, 27: 400, 26: 400, 53: 400, 73: 400, 497: 403, 159: 408, 160: 408, 241: 500, 396: 400, 158: 400, 456: 400, 457: 400, 130: 400, 72: 400 };

type Refusal = { code: number; type: string; status: number };

function refuse(reply: FastifyReply, refusal: Refusal, message: string): FastifyReply {
  return exception(reply, refusal.status, refusal.code, message, refusal.type);
}

function exception(reply: FastifyReply, status: number, code: number, message: string, type: string): FastifyReply {
  // The shape of a ClickHouse server error, which its clients parse; compressed like a result when the client asked so.
  const text = `Code: ${code}. DB::Exception: ${message.replace(/\s+/g, ' ').trim()} (${type})\n`;
  return reply
    .code(status)
    .removeHeader('content-encoding')
    .header('x-clickhouse-exception-code', String(code))
    .type('text/plain; charset=UTF-8')
    .send(asksNativeCompression(reply.request) ? compressedBlock(Buffer.from(text, 'utf8')) : text);
}

/** `compress=1`: the client reads ClickHouse's own compressed blocks (JDBC asks by default). */
function asksNativeCompression(req: FastifyRequest): boolean {
  return new URL(req.url, 'http://localhost').searchParams.get('compress') === '1';
}

/**
 * An engine error as a server would report it: its own code, type and message. Anything
 * else (a fault of this process) is reported without its text, which the log keeps.
 */
function engineError(err: unknown): { code: number; type: string; message: string } {
  const e = err as { code?: unknown; type?: unknown; message?: unknown };
  const code = Number(e.code);
  if (!Number.isInteger(code) || code <= 0) return { code: 1002, type: 'UNKNOWN_EXCEPTION', message: 'the query failed inside this endpoint (the server log has the details)' };
  const message = typeof e.message === 'string' ? e.message : describeError(err);
  return { code, type: typeof e.type === 'string' && e.type ? e.type : 'UNKNOWN_EXCEPTION', message: message.replace(/^Code: \d+\. DB::Exception: /, '').replace(/ \([A-Z_]+\)\s*$/, '') };
}

/** The content type a server gives each output format. */
export function contentTypeOf(format: string): string {
  const f = format.toLowerCase();
  if (f.startsWith('tabseparated') || f.startsWith('tsv')) return 'text/tab-separated-values; charset=UTF-8';
  if (f.startsWith('csv')) return 'text/csv; charset=UTF-8; header=absent';
  if (f === 'jsoneachrow' || f === 'jsonlines' || f === 'ndjson' || f.startsWith('jsoncompacteachrow') || f.startsWith('jsonstringseachrow')) return 'application/x-ndjson; charset=UTF-8';
  if (f.startsWith('json')) return 'application/json; charset=UTF-8';
  if (f === 'xml') return 'application/xml; charset=UTF-8';
  if (/^(rowbinary|native|parquet|arrow|orc|avro|msgpack|protobuf|capnproto|bson|npy|raw)/.test(f)) return 'application/octet-stream';
  return 'text/plain; charset=UTF-8';
}

/** The statement to check, and rows for an INSERT: `?query=` and a body are one text, as a server joins them. */
function statementOf(inUrl: string | null, body: string): { statement: string; rows: string } {
  if (inUrl === null) return { statement: body, rows: '' };
  if (body.length === 0) return { statement: inUrl, rows: '' };
  // An INSERT's rows follow its FORMAT clause; they travel beside the statement and are never parsed as SQL.
  if (/^\s*INSERT\b/i.test(inUrl)) return { statement: inUrl, rows: body };
  return { statement: `${inUrl}\n${body}`, rows: '' };
}

/** `Ok.` for /ping and for the root without a query, as a server answers a load balancer's probe. */
const OK = 'Ok.\n';

/**
 * The ClickHouse HTTP interface of the process that holds the embedded store: how every
 * other client (the CLI, analysts' tools, Grafana, ingest in another process) reaches chDB
 * while it is held. It answers as ClickHouse's own server does (TabSeparated by default,
 * its exception codes and statuses, its headers), at `prefix` on the API port and at the
 * root of its own port. A caller needs `sql.read`; its statement is checked by ClickHouse's
 * own parse tree (services/shared/statements.ts) and runs with the door's limits as its
 * own SETTINGS, lowered where the caller asks. Only a caller with `sql.write` may change
 * anything, and only with a POST that does not ask for readonly. At most `maxConcurrent`
 * reads run at once.
 */
export function storeEndpoint(options: {
  client: ClickHouseClient;
  logger: Logger;
  database: string;
  limits: QueryLimits;
  maxConcurrent: number;
  /** Where the interface is served: `/clickhouse` on the API port, `` at a port's root. */
  prefix: '' | '/clickhouse';
  /** Shared by every listener of one process: the cap holds for the process. */
  running: { count: number };
}): ApiPlugin {
  const { client, logger, limits, prefix, running } = options;
  // The engine's own time zone, asked once: clients read DateTime values in it.
  let timeZone: Promise<string> | undefined;
  const serverTimeZone = (): Promise<string> => (timeZone ??= queryRows<{ tz: string }>(client, 'SELECT timezone() AS tz').then(([row]) => row?.tz ?? 'UTC'));
  return (app) => {
    // Bodies arrive as bytes whatever their type: SQL, or rows for an INSERT.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WRITER_BODY_BYTES }, (_req, body, done) => done(null, body));
    // SQL is at most 1 MiB; only a caller that may write sends more (the rows of an INSERT).
    app.addHook('preParsing', async (req, _reply, payload) => {
      const limit = req.caller && can(req.caller.role, 'sql.write') ? WRITER_BODY_BYTES : HTTP_LIMITS.bodyBytes;
      // Fastify checks the declared Content-Length against the bytes that arrived, not the decoded ones.
      let arrived = 0;
      payload.on('data', (chunk: Buffer) => {
        arrived += chunk.length;
      });
      const body = bounded(decoded(payload, req.headers['content-encoding']), limit);
      Object.defineProperty(body, 'receivedEncodedLength', { get: () => arrived });
      return Promise.resolve(body);
    });
    app.setErrorHandler((err, _req, reply) => {
      if (err instanceof ClickHouseRefusal) return refuse(reply, err, err.message);
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
      if (sp.get('decompress') === '1') {
        throw new ClickHouseRefusal(89, 'UNKNOWN_COMPRESSION_METHOD', 400, "decompress=1 (ClickHouse's native compressed blocks) is not read here: send the body plain or with Content-Encoding: gzip");
      }
      if (sp.get('session_check') === '1') {
        throw new ClickHouseRefusal(372, 'SESSION_NOT_FOUND', 404, 'sessions are not kept here: each request stands alone (SET and temporary tables are refused); drop session_check');
      }
      // A server answers for one session's database; this door serves the pipeline's.
      // `default`, the database a client names when told none (JDBC does), is the pipeline's here.
      const database = sp.get('database') ?? utf8Header(req.headers['x-clickhouse-database']);
      if (database !== undefined && database !== null && database !== '' && database !== 'default' && database !== options.database) {
        return refuse(reply, REFUSALS.unknownDatabase, `this endpoint serves the database ${options.database} only, not ${JSON.stringify(database.slice(0, 100))}`);
      }
      const queryId = sp.get('query_id') || randomUUID();
      if (!/^[A-Za-z0-9._:-]{1,128}$/.test(queryId)) throw new UsageError('query_id is 1-128 letters, digits, . _ : -');
      void reply.header('x-clickhouse-query-id', queryId).header('x-clickhouse-server-display-name', 'kpi-pipeline').header('x-clickhouse-timezone', await serverTimeZone());
      const asksReadOnly = req.method === 'GET' || sp.get('readonly') === '1' || sp.get('readonly') === '2';
      const access: 'read' | 'write' = !asksReadOnly && can(caller.role, 'sql.write') ? 'write' : 'read';
      if (access === 'read' && sp.get('readonly') === '0') {
        throw new ClickHouseRefusal(164, 'READONLY', 403, `Cannot modify 'readonly' setting in readonly mode: ${caller.name} (${caller.role}) reads only`);
      }
      const chosen = access === 'read' ? readSettings(sp, limits) : { limits: undefined, settings: writerSettings(sp) };
      const textParams: Record<string, string> = {};
      for (const [key, value] of sp) if (key.startsWith('param_')) textParams[key.slice('param_'.length)] = value;
      const { statement, rows } = statementOf(sp.get('query'), Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '');
      // Admitted before the check: the check itself queues behind running queries in the engine.
      if (access === 'read' && running.count >= options.maxConcurrent) {
        return refuse(reply, REFUSALS.busy, `${running.count} read-only queries are running; at most ${options.maxConcurrent} run at once (KPI_SQL_MAX_CONCURRENT)`);
      }
      if (access === 'read') running.count += 1;
      try {
        const checked = await checkStatement(client, statement, { access, settings: chosen.settings, ...(chosen.limits ? { limits: chosen.limits } : {}) });
        // The engine runs the statement and its rows as one text: rows are only ever those of
        // an INSERT, in a format that reads them as data to the end (never Values, whose rows
        // are SQL text and could carry a second statement).
        if (rows.length > 0 && (checked.kind !== 'INSERT' || checked.rowsFormat === undefined || checked.rowsFormat.toLowerCase() === 'values')) {
          throw new ForbiddenError('rows beside ?query= are taken only for INSERT … FORMAT <format> (not Values)');
        }
        const format = checked.format ?? (sp.get('default_format') || utf8Header(req.headers['x-clickhouse-format']) || 'TabSeparated');
        if (!/^[A-Za-z0-9]{1,64}$/.test(format)) throw new ClickHouseRefusal(73, 'UNKNOWN_FORMAT', 400, `Unknown format ${JSON.stringify(format.slice(0, 64))}`);
        // No abort on disconnect: the embedded engine cannot interrupt a statement, and giving
        // up on one would let the next start beside it. Its time limit ends it.
        const result = await execWithTextParams(client, { query: checked.sql, textParams, format, values: rows });
        void reply
          .code(200)
          .header('x-clickhouse-format', format)
          .header('x-clickhouse-summary', JSON.stringify(result.summary ?? {}))
          .type(contentTypeOf(format));
        if (asksNativeCompression(req)) return reply.send(result.stream.pipe(nativeCompression()));
        const encoder = sp.get('enable_http_compression') === '1' ? responseEncoder(req.headers['accept-encoding']) : undefined;
        if (!encoder) return reply.send(result.stream);
        return reply.header('content-encoding', encoder[0]).header('vary', 'Accept-Encoding').send(result.stream.pipe(encoder[1]()));
      } finally {
        if (access === 'read') running.count -= 1;
      }
    };
    // The root answers a probe without a query (no credential), and SQL with one.
    const sql = { config: { action: (req: FastifyRequest) => (req.method === 'GET' && !new URL(req.url, 'http://localhost').searchParams.has('query') ? ('public' as const) : ('sql.read' as const)) } };
    const probe = async (_req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => reply.type('text/plain; charset=UTF-8').send(OK);
    for (const url of prefix === '' ? ['/'] : [prefix, `${prefix}/`]) {
      app.get(url, sql, async (req, reply) => (new URL(req.url, 'http://localhost').searchParams.has('query') ? handle(req, reply) : probe(req, reply)));
      app.post(url, { config: { action: 'sql.read' as const } }, handle);
    }
    app.get(`${prefix}/ping`, { config: { action: 'public' } }, probe);
  };
}

/** The first encoding of ours that the client accepts, by `Accept-Encoding`. */
function responseEncoder(accept: string | undefined): [string, () => Transform] | undefined {
  const offered = (accept ?? '')
    .toLowerCase()
    .split(',')
    .map((part) => part.trim().split(';'))
    .filter(([, q]) => q === undefined || !/^\s*q\s*=\s*0(\.0*)?\s*$/.test(q))
    .map(([name]) => name?.trim());
  return RESPONSE_ENCODERS.find(([name]) => offered.includes(name));
}

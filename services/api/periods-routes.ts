import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { GRAINS, InvalidPeriodError, parsePeriod, type CalendarConfig } from '../../schemas/calendar/index.js';
import { isKpiId } from '../../schemas/kpis/catalog.js';
import { LEVELS } from '../../schemas/kpis/compile.js';
import type { ClickHouseClient } from '../shared/clickhouse.js';
import { UsageError } from '../shared/errors.js';
import { parseImportCsv, storeImport, validateImport, type ImportKind } from '../periods/imports.js';
import { listPeriods, readRestatements, readScorecards, readValues } from '../periods/read.js';
import type { RouteHandler } from './server.js';

/**
 * Periods over HTTP, for dashboards and tools: what `kpi periods`, `kpi values`,
 * `kpi scorecard` and `kpi restatements` print, as JSON, and the targets and inputs imports.
 *
 *   GET  /v1/periods?grain=month
 *   GET  /v1/values?grain=quarter&period=2026-Q3[&level=store][&kpi=net_sales][&revision=1]
 *   GET  /v1/scorecards?grain=quarter&period=2026-Q3[&level=store][&scorecard=store_manager]
 *   GET  /v1/restatements?grain=month&period=2026-08
 *   POST /v1/targets, /v1/inputs   CSV (text/csv, header x-imported-by) or JSON {importedBy, rows}
 */

const MAX_BODY_BYTES = 10 * 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

const Grain = z.enum(GRAINS);
const PeriodQuery = z.object({ grain: Grain, period: z.string().min(1).max(20) });
const Level = z.enum(LEVELS).optional();
const Revision = z.coerce.number().int().min(0).optional();

function query<T extends z.ZodType>(schema: T, url: URL, calendar: CalendarConfig): z.infer<T> {
  const raw = Object.fromEntries(url.searchParams);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '));
  const value = parsed.data as Record<string, unknown>;
  if (typeof value['grain'] === 'string' && typeof value['period'] === 'string') {
    try {
      value['period'] = parsePeriod(value['grain'] as (typeof GRAINS)[number], value['period'], calendar).id;
    } catch (err) {
      if (err instanceof InvalidPeriodError) throw new UsageError(err.message);
      throw err;
    }
  }
  return value as z.infer<T>;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) throw new UsageError(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Wraps a handler: a UsageError is the caller's fault (400), anything else the server's (500). */
function handle(method: 'GET' | 'POST', work: (req: IncomingMessage, url: URL) => Promise<unknown>): RouteHandler {
  return async (req, res, url) => {
    if (req.method !== method) {
      send(res, 405, { error: `use ${method}` });
      return;
    }
    try {
      send(res, 200, await work(req, url));
    } catch (err) {
      if (err instanceof UsageError) send(res, 400, { error: err.message });
      else throw err;
    }
  };
}

const JsonImport = z.object({ importedBy: z.string().trim().min(1).max(200), source: z.string().max(500).optional(), rows: z.array(z.record(z.string(), z.unknown())) }).strict();

export function periodRoutes({ clickhouse, calendar }: { clickhouse: ClickHouseClient; calendar: CalendarConfig }): Record<string, RouteHandler> {
  const importRoute = (kind: ImportKind): RouteHandler =>
    handle('POST', async (req) => {
      const text = await body(req);
      if ((req.headers['content-type'] ?? '').startsWith('text/csv')) {
        const by = String(req.headers['x-imported-by'] ?? '').trim();
        if (!by) throw new UsageError('a CSV import names who imports it in the x-imported-by header');
        return storeImport(clickhouse, kind, parseImportCsv(kind, text, calendar), { importedBy: by, source: 'api (text/csv)', content: text });
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new UsageError('the body is neither text/csv nor JSON');
      }
      const parsed = JsonImport.safeParse(json);
      if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
      const rows = validateImport(kind, parsed.data.rows, calendar);
      return storeImport(clickhouse, kind, rows, { importedBy: parsed.data.importedBy, source: parsed.data.source ?? 'api (json)', content: text });
    });

  return {
    '/v1/periods': handle('GET', async (_req, url) => {
      const q = query(z.object({ grain: Grain.optional() }).strict(), url, calendar);
      return listPeriods(clickhouse, q.grain ? { grain: q.grain } : {});
    }),
    '/v1/values': handle('GET', async (_req, url) => {
      const q = query(PeriodQuery.extend({ level: Level, kpi: z.string().refine(isKpiId, 'unknown KPI').optional(), revision: Revision }).strict(), url, calendar);
      return readValues(clickhouse, q);
    }),
    '/v1/scorecards': handle('GET', async (_req, url) => {
      const q = query(PeriodQuery.extend({ level: Level, scorecard: z.string().max(63).optional(), revision: Revision }).strict(), url, calendar);
      return readScorecards(clickhouse, q);
    }),
    '/v1/restatements': handle('GET', async (_req, url) => readRestatements(clickhouse, query(PeriodQuery.strict(), url, calendar))),
    '/v1/targets': importRoute('targets'),
    '/v1/inputs': importRoute('inputs'),
  };
}

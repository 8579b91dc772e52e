import { z } from 'zod';
import { GRAINS, InvalidPeriodError, parsePeriod, type CalendarConfig, type Grain } from '../../schemas/calendar/index.js';
import { isKpiId } from '../../schemas/kpis/catalog.js';
import { LEVELS } from '../../schemas/kpis/compile.js';
import type { OperationsFor } from '../operations/operations.js';
import { UsageError } from '../shared/errors.js';
import { UInt32Param } from '../shared/numbers.js';
import type { ImportKind } from '../periods/imports.js';
import type { ApiPlugin } from './server.js';
import { valid, validJson } from './validate.js';

/**
 * Periods over HTTP, for dashboards and tools: what `kpi periods`, `kpi values`,
 * `kpi scorecard` and `kpi restatements` print, as JSON, and the targets and inputs imports.
 *
 *   GET  /v1/periods?grain=month
 *   GET  /v1/values?grain=quarter&period=2026-Q3[&level=store][&kpi=net_sales][&revision=1]
 *   GET  /v1/scorecards?grain=quarter&period=2026-Q3[&level=store][&scorecard=store_manager]
 *   GET  /v1/restatements?grain=month&period=2026-08
 *   GET  /v1/explain?grain=quarter&period=2026-Q3&kpi=net_sales&level=region&unit=R01[&revision=1][&page=2][&pageSize=100][&late=true]
 *   POST /v1/targets, /v1/inputs   CSV (text/csv) or JSON {rows}; who imports is the caller
 */

/** An import's body: 10 MiB of CSV or JSON. */
const MAX_IMPORT_BYTES = 10 * 1024 * 1024;

const Grain = z.enum(GRAINS);
const PeriodQuery = z.object({ grain: Grain, period: z.string().min(1).max(20) });
const Level = z.enum(LEVELS).optional();
/** A revision number: digits only, within UInt32 (never wrapped around). */
const Revision = UInt32Param.optional();

function query<T extends z.ZodType>(schema: T, url: string, calendar: CalendarConfig): z.infer<T> {
  const params = new URL(url, 'http://localhost').searchParams;
  const repeated = [...params.keys()].filter((k, i, all) => all.indexOf(k) !== i);
  if (repeated.length > 0) throw new UsageError(`${repeated[0] ?? ''}: given more than once`);
  const value = valid(schema, Object.fromEntries(params), 'query') as Record<string, unknown>;
  if (typeof value['grain'] === 'string' && typeof value['period'] === 'string') value['period'] = periodId(value['grain'] as Grain, value['period'], calendar);
  return value as z.infer<T>;
}

/** The canonical id of a period named by a request, or a 400 saying why it is not one. */
function periodId(grain: Grain, period: string, calendar: CalendarConfig): string {
  try {
    return parsePeriod(grain, period, calendar).id;
  } catch (err) {
    if (err instanceof InvalidPeriodError) throw new UsageError(err.message);
    throw err;
  }
}

const JsonImport = z
  .object({
    // A typed name is refused by name: who imports comes from the credential.
    importedBy: z.never({ message: 'who imports comes from the credential: drop "importedBy"' }).optional(),
    source: z.string().max(500).optional(),
    rows: z.array(z.record(z.string(), z.unknown())),
  })
  .strict();

/** Bodies stay text: an import records the SHA-256 of exactly what was sent. */
function keepText(app: Parameters<ApiPlugin>[0]): void {
  app.removeAllContentTypeParsers();
  for (const type of ['application/json', 'text/csv']) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: MAX_IMPORT_BYTES }, (_req, text, done) => done(null, text));
  }
}

/** Where an import came from, as the client names it (a file name), URL-encoded in a header. */
function importSource(header: string | string[] | undefined, fallback: string): string {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined) return fallback;
  let source: string;
  try {
    source = decodeURIComponent(raw);
  } catch {
    throw new UsageError('x-import-source must be URL-encoded UTF-8');
  }
  if (source.length > 500 || [...source].some((c) => c < ' ')) throw new UsageError('x-import-source is at most 500 characters, without control characters');
  return source;
}

const QuarterParam = z.object({ quarter: z.string().max(20) }).strict();
const Approval = z.object({ comment: z.string().max(2_000).default('') }).strict();
const Reopening = z.object({ reason: z.string().trim().min(1, 'a reopen gives its reason').max(2_000) }).strict();

export function periodRoutes({ operations, calendar }: { operations: OperationsFor; calendar: CalendarConfig }): ApiPlugin {
  return (app) => {
    keepText(app);
    const importRoute = (kind: ImportKind) =>
      app.post(`/v1/${kind}`, { config: { action: 'imports.write' } }, async (req) => {
        if (req.headers['x-imported-by'] !== undefined) throw new UsageError('who imports comes from the credential: drop the x-imported-by header');
        const text = typeof req.body === 'string' ? req.body : '';
        const ops = operations(req.caller);
        if ((req.headers['content-type'] ?? '').startsWith('text/csv')) return ops.importCsv(kind, text, importSource(req.headers['x-import-source'], 'api (text/csv)'));
        const body = validJson(JsonImport, text);
        return ops.importRows(kind, body.rows, text, body.source ?? 'api (json)');
      });
    importRoute('targets');
    importRoute('inputs');
    importRoute('rates');

    const read = { config: { action: 'values.read' as const } };
    // The data dictionary: the documented views and their columns' comments (kpi views).
    app.get('/v1/views', read, async (req) => {
      const q = query(z.object({ view: z.string().trim().min(1).max(200).optional() }).strict(), req.url, calendar);
      return operations(req.caller).views(q.view);
    });
    // Why a value is what it is: the value, its children, the previous period, the target, and its rows, paged (kpi explain).
    app.get('/v1/explain', read, async (req) => {
      const q = query(
        PeriodQuery.extend({
          kpi: z.string().refine(isKpiId, 'unknown KPI'),
          level: z.enum(LEVELS),
          unit: z.string().trim().min(1).max(200).optional(),
          revision: Revision,
          page: UInt32Param.optional(),
          pageSize: UInt32Param.optional(),
          late: z.enum(['true', 'false']).optional(),
        }).strict(),
        req.url,
        calendar,
      );
      return operations(req.caller).explain({ ...q, late: q.late === 'true' });
    });
    app.get('/v1/periods', read, async (req) => {
      const q = query(z.object({ grain: Grain.optional() }).strict(), req.url, calendar);
      return operations(req.caller).periods(q.grain ? { grain: q.grain } : {});
    });
    app.get('/v1/periods/:grain/:period', read, async (req) => {
      const { grain, period } = valid(PeriodQuery.strict(), req.params, 'path');
      return operations(req.caller).periodStatus(grain, periodId(grain, period, calendar));
    });
    app.get('/v1/values', read, async (req) => {
      const q = query(PeriodQuery.extend({ level: Level, kpi: z.string().refine(isKpiId, 'unknown KPI').optional(), revision: Revision }).strict(), req.url, calendar);
      return operations(req.caller).values(q);
    });
    app.get('/v1/scorecards', read, async (req) => {
      const q = query(PeriodQuery.extend({ level: Level, scorecard: z.string().max(63).optional(), revision: Revision }).strict(), req.url, calendar);
      return operations(req.caller).scorecards(q);
    });
    app.get('/v1/restatements', read, async (req) => operations(req.caller).restatements(query(PeriodQuery.strict(), req.url, calendar)));
    app.get('/v1/stats', read, async (req) => operations(req.caller).stats());
    app.get('/v1/audit/verify', { config: { action: 'audit.verify' } }, async (req) => operations(req.caller).verifyAudit());

    app.post('/v1/quarters/:quarter/approve', { config: { action: 'periods.approve' } }, async (req) => {
      const { quarter } = valid(QuarterParam, req.params, 'path');
      return operations(req.caller).approve(quarter, validJson(Approval, req.body).comment);
    });
    app.post('/v1/quarters/:quarter/reopen', { config: { action: 'periods.reopen' } }, async (req) => {
      const { quarter } = valid(QuarterParam, req.params, 'path');
      return operations(req.caller).reopen(quarter, validJson(Reopening, req.body).reason);
    });
  };
}

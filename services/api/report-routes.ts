import { z } from 'zod';
import { GRAINS, InvalidPeriodError, parsePeriod, type CalendarConfig, type Grain, type Period } from '../../schemas/calendar/index.js';
import type { OperationsFor } from '../operations/operations.js';
import { LANGS } from '../report/labels.js';
import type { FastifyReply } from 'fastify';
import { REPORT_FORMATS, reviewPack, type ReviewPackFile } from '../report/pack.js';
import type { Config } from '../shared/config.js';
import { UsageError } from '../shared/errors.js';
import { UInt32Param } from '../shared/numbers.js';
import { loadScorecards } from '../shared/scorecards.js';
import { findBrowser } from '../stack/browser.js';
import type { ApiPlugin } from './server.js';
import { valid } from './validate.js';

/**
 * The quarterly review pack over HTTP, and the paper trail it shows (also what `kpi report`
 * reads through a running kpi):
 *
 *   GET /v1/report?period=2026-Q3[&lang=zh|en][&format=html|pdf|json]
 *   GET /v1/audit?grain=quarter&period=2026-Q3            a period's transitions in period_audit
 *   GET /v1/imports?grain=quarter&period=2026-Q3[&revision=1]   targets and inputs a revision read, their imports
 *
 * A PDF is printed by the headless Chromium of this host (services/stack/browser.ts finds
 * it; a request never installs anything). The HTML page may run no script and fetch nothing.
 */

const ReportQuery = z.object({ period: z.string().min(1).max(20), lang: z.enum(LANGS).default('en'), format: z.enum(REPORT_FORMATS).default('html') }).strict();
const PeriodQuery = z.object({ grain: z.enum(GRAINS), period: z.string().min(1).max(20) }).strict();
const ImportsQuery = PeriodQuery.extend({ revision: UInt32Param.optional() }).strict();

/** The query string, each parameter once, checked against `schema`. */
function query<T extends z.ZodType>(schema: T, url: string): z.infer<T> {
  const params = new URL(url, 'http://localhost').searchParams;
  const repeated = [...params.keys()].find((k, i, all) => all.indexOf(k) !== i);
  if (repeated !== undefined) throw new UsageError(`${repeated}: given more than once`);
  return valid(schema, Object.fromEntries(params), 'query');
}

/** The period a request names, or a 400 saying why it is not one. */
function periodOf(grain: Grain, id: string, calendar: CalendarConfig): Period {
  try {
    return parsePeriod(grain, id, calendar);
  } catch (err) {
    if (err instanceof InvalidPeriodError) throw new UsageError(err.message);
    throw err;
  }
}

/** What the HTML pack may do in a browser: show itself, nothing else. */
const PACK_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * A review pack as a download (PDF) or a page (HTML, JSON), locked down like every page:
 * its filename is made of the canonical quarter id and a checked language only.
 */
export function sendPack(reply: FastifyReply, pack: ReviewPackFile): FastifyReply {
  return reply
    .type(pack.contentType)
    .header('content-disposition', `${pack.contentType === 'application/pdf' ? 'attachment' : 'inline'}; filename="${pack.filename}"`)
    .header('content-security-policy', PACK_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .send(pack.body);
}

export function reportRoutes({ operations, config }: { operations: OperationsFor; config: Pick<Config, 'business' | 'close'> }): ApiPlugin {
  const calendar = config.business;
  // Checked when the server starts, like every other reader of the scorecards.
  const scorecards = loadScorecards(config.close);
  const read = { config: { action: 'values.read' as const } };
  return (app) => {
    app.get('/v1/report', read, async (req, reply) => {
      const q = query(ReportQuery, req.url);
      const quarter = periodOf('quarter', q.period, calendar);
      const pack = await reviewPack(operations(req.caller), {
        quarter,
        lang: q.lang,
        format: q.format,
        calendar,
        scorecards,
        ...(q.format === 'pdf' ? { executablePath: findBrowser() } : {}),
      });
      return sendPack(reply, pack);
    });
    app.get('/v1/audit', read, async (req) => {
      const q = query(PeriodQuery, req.url);
      return operations(req.caller).periodAudit({ grain: q.grain, period: periodOf(q.grain, q.period, calendar).id });
    });
    app.get('/v1/imports', read, async (req) => {
      const q = query(ImportsQuery, req.url);
      return operations(req.caller).periodImports({ grain: q.grain, period: periodOf(q.grain, q.period, calendar).id, ...(q.revision !== undefined ? { revision: q.revision } : {}) });
    });
  };
}

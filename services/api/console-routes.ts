import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GRAINS, InvalidPeriodError, parsePeriod, periodOf, type CalendarConfig, type Grain } from '../../schemas/calendar/index.js';
import { KPIS } from '../../schemas/kpis/catalog.js';
import { LEVELS, type Level } from '../../schemas/kpis/compile.js';
import { headlineLines, type ScorecardConfig } from '../../schemas/scorecards/index.js';
import { can, type Action } from '../auth/permissions.js';
import type { Authenticator } from '../auth/principals.js';
import { consoleReads } from '../console/data.js';
import type { Html } from '../report/template.js';
import { explainPage, explorerPage, importNotice, loginPage, messagePage, overviewPage, periodsPage, pipelinePage, scorecardsPage, type Frame, type Lang } from '../console/pages.js';
import { SESSION_COOKIE, SESSION_MS, createSessions, sameCsrf, type ConsoleSession } from '../console/session.js';
import type { OperationsFor } from '../operations/operations.js';
import { reviewPack } from '../report/pack.js';
import { findBrowser } from '../stack/browser.js';
import type { ClickHouseClient } from '../shared/clickhouse.js';
import { ForbiddenError, KpiError, UnauthenticatedError, UsageError, describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { projectRoot } from '../shared/paths.js';
import { sendPack } from './report-routes.js';
import type { ApiPlugin } from './server.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A console page: what it needs, asked of the permissions table for the session's caller; `login` needs no session. */
    console?: Action | 'login';
  }
}

/** The console's one stylesheet, served from here: nothing comes from anywhere else. */
const STYLESHEET = readFileSync(`${projectRoot()}/services/console/console.css`, 'utf8');

/**
 * Pages may not load or send anything elsewhere, run script, or be framed. The SVG charts
 * carry their styles inline (ECharts writes them so), hence inline styles; never scripts.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** Import files: the same bound as the imports API. */
const IMPORT_BYTES = 10 * 1024 * 1024;

const oneOf = <T extends string>(value: unknown, allowed: readonly T[], fallback: T): T => (typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fallback);

/**
 * The web console at `/` of the HTTP API: server-rendered pages (overview, scorecards, KPI
 * explorer, periods with approval and imports, pipeline health) behind a login with a token.
 * The session is an HttpOnly, SameSite=Strict cookie standing for the token, which is checked
 * again on every request (a revoked token ends its session); every form carries the session's
 * CSRF token; pages may load nothing from elsewhere and run no script.
 */
export function consoleRoutes(options: { operations: OperationsFor; authenticator: Authenticator; clickhouse: ClickHouseClient; calendar: CalendarConfig; scorecards: ScorecardConfig; logger: Logger }): ApiPlugin {
  const sessions = createSessions();
  const sessionOf = new WeakMap<FastifyRequest, { id: string; session: ConsoleSession }>();
  return async (app) => {
    await app.register(cookie);
    await app.register(formbody, { bodyLimit: 64 * 1024 });
    await app.register(multipart, { limits: { fileSize: IMPORT_BYTES, files: 1, fields: 4 } });

    app.addHook('onSend', async (_req, reply, payload) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) void reply.header(name, value);
      return payload;
    });
    app.addHook('preHandler', async (req, reply) => {
      const need = req.routeOptions.config.console;
      if (need === undefined || need === 'login') return;
      const id = req.cookies[SESSION_COOKIE];
      const session = sessions.get(id);
      if (!session || id === undefined) {
        if (req.method === 'GET') return reply.redirect('/login', 303);
        throw new UnauthenticatedError('your session has ended: log in again');
      }
      try {
        req.caller = await options.authenticator.authenticate(session.token);
      } catch (err) {
        sessions.close(id);
        if (req.method === 'GET') return reply.redirect('/login', 303);
        throw err;
      }
      sessionOf.set(req, { id, session });
      if (!can(req.caller.role, need)) throw new ForbiddenError(`${req.caller.name} (${req.caller.role}) may not do this: it needs a role with ${need}`);
      // Forms carry the session's CSRF token; the one upload (/imports) is checked where its parts are read.
      if (req.method === 'POST' && req.routeOptions.url !== '/imports' && !sameCsrf(session, (req.body as Record<string, unknown> | undefined)?.['_csrf'])) {
        throw new ForbiddenError('the form has expired or did not come from this console: reload the page and try again');
      }
      return undefined;
    });
    app.setErrorHandler(async (err, req, reply) => {
      const frame = sessionFrame(req);
      if (err instanceof UnauthenticatedError) return send(reply.code(401), messagePage(undefined, 'Log in', err.message));
      if (err instanceof ForbiddenError) return send(reply.code(403), messagePage(frame, 'Not allowed', err.message));
      if (err instanceof UsageError || err instanceof InvalidPeriodError) return send(reply.code(400), messagePage(frame, 'Cannot do that', err.message));
      const status = (err as { statusCode?: unknown }).statusCode;
      if (typeof status === 'number' && status >= 400 && status < 500) return send(reply.code(status), messagePage(frame, 'Cannot do that', describeError(err)));
      options.logger.error({ err, path: req.url.split('?')[0] }, 'console page failed');
      return send(reply.code(err instanceof KpiError && err.retriable ? 503 : 500), messagePage(frame, 'Something went wrong', 'The page could not be made; the server log has the details.'));
    });

    const send = (reply: FastifyReply, page: Html): FastifyReply => reply.type('text/html; charset=utf-8').send(page.toString());
    const queryOf = (req: FastifyRequest): Record<string, string> => Object.fromEntries(Object.entries(req.query as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
    const langOf = (req: FastifyRequest): Lang => oneOf(queryOf(req)['lang'], ['zh', 'en'] as const, 'zh');
    function sessionFrame(req: FastifyRequest): Frame | undefined {
      const held = sessionOf.get(req);
      if (!held || !req.caller) return undefined;
      return { caller: req.caller, lang: langOf(req), csrf: held.session.csrf, path: req.url.split('?')[0] ?? '/', query: queryOf(req) };
    }
    const frameOf = (req: FastifyRequest): Frame => {
      const frame = sessionFrame(req);
      if (!frame) throw new UnauthenticatedError('log in first');
      return frame;
    };
    const ops = (req: FastifyRequest) => options.operations(req.caller);
    const reads = (req: FastifyRequest) => consoleReads(options.clickhouse, req.caller);
    const page = (need: Action) => ({ config: { action: 'public' as const, console: need } });

    app.get('/console.css', { config: { action: 'public', console: 'login' } }, async (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=300').send(STYLESHEET));
    app.get('/login', { config: { action: 'public', console: 'login' } }, async (_req, reply) => send(reply, loginPage()));
    app.post('/login', { config: { action: 'public', console: 'login' } }, async (req, reply) => {
      const token = (req.body as Record<string, unknown> | undefined)?.['token'];
      if (typeof token !== 'string' || token.trim() === '') return send(reply.code(400), loginPage('Paste a token.'));
      try {
        await options.authenticator.authenticate(token.trim());
      } catch {
        return send(reply.code(401), loginPage('That token is not valid (revoked, expired or mistyped).'));
      }
      const { id } = sessions.open(token.trim());
      void reply.setCookie(SESSION_COOKIE, id, { httpOnly: true, sameSite: 'strict', path: '/', secure: req.protocol === 'https', maxAge: SESSION_MS / 1_000 });
      return reply.redirect('/', 303);
    });
    app.post('/logout', page('values.read'), async (req, reply) => {
      sessions.close(req.cookies[SESSION_COOKIE]);
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.redirect('/login', 303);
    });

    app.get('/', page('values.read'), async (req, reply) => {
      const frame = frameOf(req);
      const grain = oneOf(queryOf(req)['grain'], GRAINS, 'month');
      const open = periodOf(grain, Date.now(), options.calendar).id;
      const [values, asOf] = await Promise.all([ops(req).values({ grain, period: open, level: 'company' }), reads(req).asOf(grain, open)]);
      const rows = await Promise.all(
        headlineLines(options.scorecards).map(async (line) => ({
          line,
          value: values.values.find((v) => v.kpi === line.kpi)?.value ?? null,
          trend: (await reads(req).series({ grain, kpi: line.kpi, level: 'company', unit: 'all', count: 12 })).map((s) => s.value),
        })),
      );
      return send(reply, overviewPage(frame, { grain, period: open, asOf, rows, config: options.scorecards }));
    });

    app.get('/scorecards', page('values.read'), async (req, reply) => {
      const frame = frameOf(req);
      const q = queryOf(req);
      const grain = oneOf(q['grain'], GRAINS, 'quarter');
      const periods = (await ops(req).periods({ grain })).filter((p) => p.revision !== null).map((p) => p.period).sort().reverse();
      const period = q['period'] !== undefined && periods.includes(q['period']) ? q['period'] : (periods[0] ?? '');
      const read = period ? await ops(req).scorecards({ grain, period }) : { revision: null, units: [], lines: [] };
      return send(reply, scorecardsPage(frame, { grain, period, periods, revision: read.revision, config: options.scorecards, units: read.units, lines: read.lines }));
    });

    app.get('/explorer', page('values.read'), async (req, reply) => {
      const frame = frameOf(req);
      const q = queryOf(req);
      const kpi = oneOf(q['kpi'], KPIS.map((k) => k.id), 'net_sales');
      const grain = oneOf(q['grain'], GRAINS, 'month');
      const level: Level = oneOf(q['level'], LEVELS, 'company');
      const units = await reads(req).units(level);
      const unit = q['unit'] !== undefined && units.includes(q['unit']) ? q['unit'] : (units[0] ?? 'all');
      const series = await reads(req).series({ grain, kpi, level, unit, count: 36 });
      return send(reply, explorerPage(frame, { kpi, level, unit, grain, units, series }));
    });
    const periodsView = async (req: FastifyRequest, notice?: Html): Promise<Html> => {
      const frame = frameOf(req);
      const q = queryOf(req);
      const grain: Grain = oneOf(q['grain'], GRAINS, 'quarter');
      const periods = (await ops(req).periods({ grain })).sort((a, b) => b.period.localeCompare(a.period));
      const period = q['period'] !== undefined && periods.some((p) => p.period === q['period']) ? q['period'] : undefined;
      const selected = period
        ? { status: await ops(req).periodStatus(grain, period), restatements: await ops(req).restatements({ grain, period }), audit: (await ops(req).periodAudit({ grain, period })).reverse() }
        : undefined;
      const role = frame.caller.role;
      return periodsPage(frame, { grain, periods, ...(selected ? { selected } : {}), ...(period ? { period } : {}), mayApprove: can(role, 'periods.approve'), mayImport: can(role, 'imports.write'), ...(notice ? { notice } : {}) });
    };
    app.get('/periods', page('values.read'), async (req, reply) => send(reply, await periodsView(req)));

    const review = (kind: 'approve' | 'reopen') => async (req: FastifyRequest, reply: FastifyReply) => {
      const body = req.body as Record<string, unknown>;
      const quarter = typeof body['quarter'] === 'string' ? body['quarter'] : '';
      const text = typeof body[kind === 'approve' ? 'comment' : 'reason'] === 'string' ? String(body[kind === 'approve' ? 'comment' : 'reason']) : '';
      if (kind === 'approve') await ops(req).approve(quarter, text);
      else await ops(req).reopen(quarter, text);
      return reply.redirect(`/periods?grain=quarter&period=${encodeURIComponent(quarter)}&lang=${langOf(req)}`, 303);
    };
    app.post('/periods/approve', page('periods.approve'), review('approve'));
    app.post('/periods/reopen', page('periods.reopen'), review('reopen'));

    app.post('/imports', page('imports.write'), async (req, reply) => {
      const frame = frameOf(req);
      const held = sessionOf.get(req);
      let csrf: unknown;
      let kind = 'targets';
      let file: { name: string; text: string } | undefined;
      for await (const part of req.parts()) {
        if (part.type === 'file') file = { name: part.filename, text: (await part.toBuffer()).toString('utf8') };
        else if (part.fieldname === '_csrf') csrf = part.value;
        else if (part.fieldname === 'kind') kind = String(part.value);
      }
      if (!held || !sameCsrf(held.session, csrf)) throw new ForbiddenError('the form has expired or did not come from this console: reload the page and try again');
      if ((kind !== 'targets' && kind !== 'inputs' && kind !== 'rates') || !file) throw new UsageError('choose targets, inputs or rates and a CSV file');
      let notice: Html;
      try {
        const receipt = await ops(req).importCsv(kind, file.text, `console upload ${file.name}`.slice(0, 200));
        notice = importNotice(frame.lang, { receipt });
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        notice = importNotice(frame.lang, { problems: err.message.split('\n').filter((l) => l.trim() !== '') });
        void reply.code(400);
      }
      return send(reply, await periodsView(req, notice));
    });

    // The quarterly review pack, for the session's caller (the button on a quarter's page).
    app.get('/report', page('values.read'), async (req, reply) => {
      const q = queryOf(req);
      const quarter = parsePeriod('quarter', q['period'] ?? '', options.calendar);
      const format = oneOf(q['format'], ['pdf', 'html'] as const, 'pdf');
      const pack = await reviewPack(ops(req), { quarter, lang: langOf(req), format, calendar: options.calendar, scorecards: options.scorecards, ...(format === 'pdf' ? { executablePath: findBrowser() } : {}) });
      return sendPack(reply, pack);
    });

    app.get('/pipeline', page('values.read'), async (req, reply) => {
      const frame = frameOf(req);
      const [stats, progress, deadLetters] = await Promise.all([ops(req).stats(), reads(req).ingestProgress(), reads(req).recentDeadLetters(20)]);
      return send(reply, pipelinePage(frame, { stats, progress, deadLetters }));
    });

    app.get('/explain', page('values.read'), async (req, reply) => {
      const frame = frameOf(req);
      const q = queryOf(req);
      const page = Number(q['page'] ?? '1');
      const explained = await ops(req).explain({
        grain: oneOf(q['grain'], GRAINS, 'month'),
        period: q['period'] ?? '',
        kpi: q['kpi'] ?? '',
        level: oneOf(q['level'], LEVELS, 'company'),
        ...(q['unit'] ? { unit: q['unit'] } : {}),
        page: Number.isSafeInteger(page) && page >= 1 ? page : 1,
      });
      return send(reply, explainPage(frame, explained));
    });
  };
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GRAINS, InvalidPeriodError, parsePeriod, periodOf as calendarPeriodOf, type CalendarConfig, type Grain } from '../../../schemas/calendar/index.js';
import { KPIS, isKpiId, kpiById, type KpiUnit } from '../../../schemas/kpis/catalog.js';
import { formatKpiValue } from '../../../schemas/kpis/format.js';
import { LEVELS, type Level } from '../../../schemas/kpis/compile.js';
import { loadScorecards } from '../../shared/scorecards.js';
import type { Config } from '../../shared/config.js';
import { withSession } from '../session.js';
import { KpiError, UsageError, describeError } from '../../shared/errors.js';
import { connectTemporal } from '../../shared/temporal.js';
import { parseImportCsv, type ImportKind, type StoredRate, type StoredRow } from '../../periods/imports.js';
import { closeWorkflowId, periodSettings, reportLateEvents, restateWorkflowId, reviewWorkflowId, startClose } from '../../../workflows/client.js';
import type { restatePeriodWorkflow } from '../../../workflows/definitions/restate-period.js';
import { renderTable } from '../output.js';

function grainOf(value: string): Grain {
  if (!(GRAINS as readonly string[]).includes(value)) throw new UsageError(`--grain must be one of ${GRAINS.join(', ')}, got ${JSON.stringify(value)}`);
  return value as Grain;
}

function levelOf(value: string | undefined): Level | undefined {
  if (value === undefined) return undefined;
  if (!(LEVELS as readonly string[]).includes(value)) throw new UsageError(`--level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(value)}`);
  return value as Level;
}

/** Checks the period id against the calendar; returns it in its canonical form. */
function periodOf(config: Config, grain: Grain, id: string): string {
  try {
    return parsePeriod(grain, id, config.business).id;
  } catch (err) {
    if (err instanceof InvalidPeriodError) throw new UsageError(`${err.message} (ids: day 2026-07-15, week 2026-W29, month 2026-07, quarter 2026-Q3, year 2026)`);
    throw err;
  }
}

/** How a value reads in its KPI's unit. */
export function formatValue(unit: KpiUnit, value: number | null): string {
  return formatKpiValue(unit, value, 'missing');
}

async function withTemporal<T>(config: Config, work: (client: Awaited<ReturnType<typeof connectTemporal>>['client']) => Promise<T>): Promise<T> {
  let temporal;
  try {
    temporal = await connectTemporal(config.temporal);
  } catch (err) {
    throw new KpiError(`Temporal at ${config.temporal.address} did not answer: ${describeError(err)}. Is it running (npm run stack:up)?`, { cause: err });
  }
  try {
    return await work(temporal.client);
  } finally {
    await temporal.connection.close();
  }
}

export async function closeCommand(config: Config, options: { grain: string; period: string; wait?: boolean; force?: boolean; json?: boolean }): Promise<void> {
  const grain = grainOf(options.grain);
  const period = periodOf(config, grain, options.period);
  loadScorecards(config.close);
  // Who closes is who the credential proves; the close itself runs in a worker.
  const actor = await withSession(config, 'periods.close', (s) => Promise.resolve(s.caller.name));
  await withTemporal(config, async (client) => {
    const input = { ...periodSettings(config), grain, period, force: options.force === true, graceMs: config.close.graceMs, actor };
    const { handle, started } = await startClose(client, input, { taskQueue: config.temporal.taskQueue });
    const id = closeWorkflowId(config.close.idPrefix, grain, period);
    const ui = `http://127.0.0.1:${config.stack.temporalUiPort}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(id)}`;
    process.stderr.write(`${started ? 'Started' : 'Already running:'} ${id}${options.force ? ' (forced)' : ''}; a worker runs it (kpi run or kpi worker). ${ui}\n`);
    if (!options.wait) {
      if (options.json) process.stdout.write(`${JSON.stringify({ workflowId: id, started })}\n`);
      return;
    }
    if (!options.force) process.stderr.write(`Waiting for the period to end, the grace of ${config.close.graceMs / 1_000} s and ingest to catch up, then computing…\n`);
    const result = await handle.result();
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ workflowId: id, ...result })}\n`);
      return;
    }
    process.stdout.write(
      result.alreadyClosed
        ? `${grain} ${period} was already closed: revision ${result.revision}; nothing recomputed.\n`
        : `${grain} ${period} closed as revision ${result.revision}${result.forced ? ' (forced)' : ''}: ${result.values.toLocaleString('en-US')} KPI values, ${result.scoredUnits} scorecard rows.\n`,
    );
  });
}

/**
 * Restates a closed period now, for a reason other than late events: targets, inputs or
 * exchange rates imported after it closed. A restatement that changes nothing is discarded;
 * one of an approved quarter waits for sign-off.
 */
export async function restateCommand(config: Config, options: { grain: string; period: string; reason: string; wait?: boolean; json?: boolean }): Promise<void> {
  const grain = grainOf(options.grain);
  const period = periodOf(config, grain, options.period);
  const reason = options.reason.trim();
  if (reason === '' || reason.length > 500) throw new UsageError('--reason says why the period is restated (1 to 500 characters)');
  const actor = await withSession(config, 'periods.close', async ({ caller, operations }) => {
    const status = await operations.periodStatus(grain, period);
    if (!status || status.revision === null) throw new UsageError(`${grain} ${period} has not been closed; close it (kpi close) instead of restating it`);
    return caller.name;
  });
  await withTemporal(config, async (client) => {
    const input = { ...periodSettings(config), grain, period, debounceMs: 0, lateEvents: 0, actor, reason };
    await reportLateEvents(client, input, 0, { taskQueue: config.temporal.taskQueue });
    const id = restateWorkflowId(config.close.idPrefix, grain, period);
    process.stderr.write(`Restating ${grain} ${period} (${id}); a worker runs it (kpi run or kpi worker).\n`);
    if (!options.wait) {
      if (options.json) process.stdout.write(`${JSON.stringify({ workflowId: id })}\n`);
      return;
    }
    const result = await client.workflow.getHandle<typeof restatePeriodWorkflow>(id).result();
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ workflowId: id, ...result })}\n`);
      return;
    }
    process.stdout.write(
      result.revision === null
        ? `${grain} ${period}: nothing changed; revision ${String(result.previous)} stays.\n`
        : `${grain} ${period} restated as revision ${result.revision}: ${result.changed} values changed${result.pending ? '; it waits for sign-off (kpi approve)' : ''}.\n`,
    );
  });
}

export async function periodsCommand(config: Config, options: { grain?: string; json?: boolean }): Promise<void> {
  const grain = options.grain === undefined ? undefined : grainOf(options.grain);
  await withSession(config, 'values.read', async ({ operations }) => {
    const periods = await operations.periods(grain ? { grain } : {});
    if (options.json) {
      process.stdout.write(`${JSON.stringify(periods)}\n`);
      return;
    }
    if (periods.length === 0) {
      process.stdout.write(`No period has been closed yet${grain ? ` at grain ${grain}` : ''}. Close one with: kpi close --grain month --period 2026-07 --wait\n`);
      return;
    }
    process.stdout.write(
      `${renderTable(
        periods.map((p) => ({ grain: p.grain, period: p.period, state: p.state, revision: p.revision ?? '-', revisions: p.revisions, pending: p.pendingRevision ?? '', forced: p.forced ? 'yes' : '', updated: p.updatedAt })),
      )}\n`,
    );
  });
}

/** What a value lacks, briefly: "no rate HKD 2026-03-04, HKD 2026-03-05 (+3 more)". */
function missingText(missing: readonly string[]): string {
  if (missing.length === 0) return '';
  const shown = missing.slice(0, 3).join(', ');
  return `no rate ${shown}${missing.length > 3 ? ` (+${missing.length - 3} more)` : ''}`;
}

export async function valuesCommand(config: Config, options: { grain: string; period: string; level?: string; kpi?: string; revision?: number; json?: boolean }): Promise<void> {
  const grain = grainOf(options.grain);
  const period = periodOf(config, grain, options.period);
  const level = levelOf(options.level);
  const kpi = options.kpi;
  if (kpi !== undefined && !isKpiId(kpi)) throw new UsageError(`unknown KPI ${JSON.stringify(kpi)}; kpi kpis lists them`);
  await withSession(config, 'values.read', async ({ operations }) => {
    const read = await operations.values({ grain, period, ...(level ? { level } : {}), ...(options.kpi ? { kpi: options.kpi } : {}), ...(options.revision !== undefined ? { revision: options.revision } : {}) });
    if (options.json) {
      const rows = read.values.map((v) => ({ kpi: v.kpi, level: v.level, unit: v.unit, value: v.value, numerator: v.numerator, denominator: v.denominator, missing: v.missing, as_of: v.as_of, revision: v.revision, status: v.status }));
      process.stdout.write(`${JSON.stringify(rows)}\n`);
      return;
    }
    if (read.values.length === 0) {
      const which = read.revision === 0 ? ' yet: close it (kpi close) or wait for the provisional refresh' : ` revision ${String(read.revision)}`;
      process.stdout.write(`No KPI values for ${grain} ${period}${which}.\n`);
      return;
    }
    // Texts of one format compare as the instants they name.
    const newest = read.values.reduce<string | null>((m, v) => (v.as_of !== null && (m === null || v.as_of > m) ? v.as_of : m), null);
    process.stdout.write(`${grain} ${period}, revision ${read.revision} (${read.status})${newest ? `, events up to ${newest} UTC` : ''}\n`);
    const lacking = read.values.some((v) => v.missing.length > 0);
    process.stdout.write(
      `${renderTable(
        read.values.map((v) => {
          const kpi = kpiById(v.kpi);
          return { kpi: v.kpi, level: v.level, unit: v.unit, value: formatValue(kpi.unit, v.value), numerator: v.numerator ?? '', denominator: v.denominator ?? '', ...(lacking ? { missing: missingText(v.missing) } : {}) };
        }),
      )}\n`,
    );
    if (lacking) process.stdout.write(`Values marked missing need exchange rates: import them with kpi rates import, then restate closed periods.\n`);
  });
}

const HEADERS = {
  en: { group: 'peer group', rank: 'rank', unit: 'unit', score: 'score', band: 'band', missing: 'missing' },
  zh: { group: '排名范围', rank: '排名', unit: '单位', score: '总分', band: '等级', missing: '缺失指标' },
} as const;

export async function scorecardCommand(config: Config, options: { grain: string; period: string; level?: string; scorecard?: string; format: string; lang: string }): Promise<void> {
  const grain = grainOf(options.grain);
  const period = periodOf(config, grain, options.period);
  const level = levelOf(options.level);
  if (options.format !== 'table' && options.format !== 'json') throw new UsageError(`--format must be table or json, got ${JSON.stringify(options.format)}`);
  if (options.lang !== 'en' && options.lang !== 'zh') throw new UsageError(`--lang must be en or zh, got ${JSON.stringify(options.lang)}`);
  const lang = options.lang;
  const cards = loadScorecards(config.close).scorecards;
  if (options.scorecard !== undefined && !cards.some((c) => c.id === options.scorecard)) throw new UsageError(`unknown scorecard ${JSON.stringify(options.scorecard)}; known: ${cards.map((c) => c.id).join(', ')}`);
  await withSession(config, 'values.read', async ({ operations }) => {
    const read = await operations.scorecards({ grain, period, ...(level ? { level } : {}), ...(options.scorecard ? { scorecard: options.scorecard } : {}) });
    const status = await operations.periodStatus(grain, period);
    const shown = cards.filter((c) => read.units.some((u) => u.scorecard === c.id));
    const report = shown.map((c) => ({
      id: c.id,
      label: lang === 'zh' ? c.zh : c.en,
      level: c.level,
      units: read.units
        .filter((u) => u.scorecard === c.id)
        .map((u) => ({ unit: u.unit, peerGroup: u.peer_group, rank: u.rank, peers: u.peers, score: u.score, band: u.band, missing: u.missing, lines: read.lines.filter((l) => l.scorecard === c.id && l.unit === u.unit).map(({ scorecard: _s, unit: _u, ...l }) => l) })),
    }));
    if (options.format === 'json') {
      process.stdout.write(`${JSON.stringify({ grain, period, revision: read.revision, status: status?.currentState ?? null, pendingRevision: status?.pendingRevision ?? null, scorecards: report })}\n`);
      return;
    }
    if (read.revision === null || report.length === 0) {
      process.stdout.write(`No scorecards for ${grain} ${period}: it has not been closed (kpi periods shows what has).\n`);
      return;
    }
    const h = HEADERS[lang];
    for (const card of report) {
      const pending = status?.pendingRevision ? `; revision ${status.pendingRevision} awaits approval` : '';
      process.stdout.write(`\n${card.label} (${card.id}) — ${grain} ${period}, revision ${read.revision} (${status?.currentState ?? 'closed'}${pending})\n`);
      const rows = card.units.map((u) => ({
        [h.group]: u.peerGroup,
        [h.rank]: u.rank === null ? '-' : `${u.rank}/${u.peers}`,
        [h.unit]: u.unit,
        [h.score]: u.score === null ? '-' : u.score.toFixed(2),
        [h.band]: u.band,
        [h.missing]: u.missing.map((k) => (lang === 'zh' ? kpiById(k).zh : k)).join(', '),
      }));
      process.stdout.write(`${renderTable(rows)}\n`);
    }
  });
}

export async function approveCommand(config: Config, options: { period: string; comment?: string; json?: boolean }): Promise<void> {
  const quarter = periodOf(config, 'quarter', options.period);
  await withSession(config, 'periods.approve', async ({ operations, caller }) => {
    const state = await operations.approve(quarter, options.comment ?? '');
    if (options.json) process.stdout.write(`${JSON.stringify(state)}\n`);
    else process.stdout.write(`${quarter} revision ${state.revision} approved by ${caller.name}; the quarter is locked (review: ${reviewWorkflowId(config.close.idPrefix, quarter)}).\n`);
  });
}

export async function reopenCommand(config: Config, options: { period: string; reason: string; json?: boolean }): Promise<void> {
  const quarter = periodOf(config, 'quarter', options.period);
  if (!options.reason.trim()) throw new UsageError('--reason says why the quarter is reopened');
  await withSession(config, 'periods.reopen', async ({ operations, caller }) => {
    const state = await operations.reopen(quarter, options.reason);
    if (options.json) process.stdout.write(`${JSON.stringify(state)}\n`);
    else process.stdout.write(`${quarter} reopened by ${caller.name}: ${options.reason}. It needs approval again.\n`);
  });
}

export async function restatementsCommand(config: Config, options: { grain: string; period: string; json?: boolean }): Promise<void> {
  const grain = grainOf(options.grain);
  const period = periodOf(config, grain, options.period);
  await withSession(config, 'values.read', async ({ operations }) => {
    const rows = await operations.restatements({ grain, period });
    if (options.json) {
      process.stdout.write(`${JSON.stringify(rows)}\n`);
      return;
    }
    if (rows.length === 0) {
      process.stdout.write(`${grain} ${period} has not been restated.\n`);
      return;
    }
    process.stdout.write(
      `${renderTable(
        rows.map((r) => {
          const unit = kpiById(r.kpi).unit;
          return { revision: `${r.from_revision} → ${r.to_revision}`, kpi: r.kpi, level: r.level, unit: r.unit, was: formatValue(unit, r.old_value), now: formatValue(unit, r.new_value) };
        }),
      )}\n`,
    );
  });
}

/** Whether imported rows change a period: targets and inputs of it, or rates of one of its days. */
function touches(rows: readonly StoredRow[] | readonly StoredRate[], p: { grain: Grain; period: string }, calendar: CalendarConfig): boolean {
  const rates = rows.filter((r: StoredRow | StoredRate): r is StoredRate => 'day' in r);
  if (rates.length === 0) return (rows as readonly StoredRow[]).some((r) => r.grain === p.grain && r.period === p.period);
  // Days are YYYY-MM-DD, so the period's first and last day bound them as text.
  const period = parsePeriod(p.grain, p.period, calendar);
  const first = localDayOf(period.start, calendar);
  const last = localDayOf(new Date(Date.parse(period.end) - 1).toISOString(), calendar);
  return rates.some((r) => r.day >= first && r.day <= last);
}

/** The business day (YYYY-MM-DD in the calendar's zone) of an instant. */
function localDayOf(iso: string, calendar: CalendarConfig): string {
  return calendarPeriodOf('day', Date.parse(iso), calendar).id;
}

export async function importCommand(config: Config, kind: ImportKind, file: string, options: { json?: boolean }): Promise<void> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${describeError(err)}`);
  }
  // Checked here first, so a bad file is named before any credential is needed.
  const rows = parseImportCsv(kind, text, config.business);
  await withSession(config, 'imports.write', async ({ operations, caller }) => {
    const receipt = await operations.importCsv(kind, text, path.resolve(file));
    const closed = (await operations.periods({})).filter((p) => p.revision !== null && touches(rows, p, config.business));
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ ...receipt, closedPeriods: closed.map((p) => `${p.grain} ${p.period}`) })}\n`);
      return;
    }
    process.stdout.write(`Imported ${receipt.rows} ${kind} rows from ${file} as ${receipt.importId} (by ${caller.name}, sha256 ${receipt.sha256.slice(0, 12)}…).\n`);
    if (closed.length > 0) {
      const listed = closed.map((p) => `${p.grain} ${p.period}`).join(', ');
      process.stdout.write(`Already closed, so they count from the next restatement: ${listed}. Restate now with: kpi restate --grain <grain> --period <id> --reason "${kind} imported".\n`);
    }
  });
}

export function kpisCommand(options: { json?: boolean; lang: string }): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(KPIS.map((k) => ({ id: k.id, zh: k.zh, en: k.en, unit: k.unit, direction: k.direction, kind: k.kind, definition: k.definition })))}\n`);
    return;
  }
  process.stdout.write(`${renderTable(KPIS.map((k) => ({ id: k.id, label: options.lang === 'zh' ? k.zh : k.en, unit: k.unit, better: k.direction, source: k.kind === 'manual' ? 'manual input' : 'events' })))}\n`);
  process.stdout.write('Definitions: kpi kpis --json, or the KPI catalog section of the README.\n');
}

/** The scorecards in force, as a JSON file to start editing from (KPI_SCORECARDS_FILE). */
export function scorecardsShowCommand(config: Config): void {
  process.stdout.write(`${JSON.stringify(loadScorecards(config.close), null, 2)}\n`);
}

export async function schedulesApplyCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const { applySchedules } = await import('../../../workflows/schedules.js');
  await withSession(config, 'schedules.apply', () => Promise.resolve());
  await withTemporal(config, async (client) => {
    const applied = await applySchedules(client, config);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(applied)}\n`);
      return;
    }
    process.stdout.write(`${renderTable(applied.map((a) => ({ schedule: a.id, action: a.action, what: a.what })))}\n`);
    process.stdout.write(`A worker (kpi run or kpi worker) on task queue ${config.temporal.taskQueue} runs them.\n`);
  });
}

import { GRAINS, InvalidPeriodError, parsePeriod, type Grain } from '../../../schemas/calendar/index.js';
import { isKpiId, kpiById } from '../../../schemas/kpis/catalog.js';
import { LEVELS, type Level } from '../../../schemas/kpis/compile.js';
import type { Config } from '../../shared/config.js';
import { UsageError } from '../../shared/errors.js';
import type { ExplainedRow, Explanation } from '../../periods/explain.js';
import { renderTable } from '../output.js';
import { withSession } from '../session.js';
import { formatValue } from './periods.js';

/**
 * `kpi explain`: why a KPI value is what it is. The value of the revision with its numerator
 * and denominator, the same KPI for the unit's children, the previous period and the
 * target, then the rows it is made of, a page at a time, and the late ones that restatements
 * added. Reading it takes what reading values takes (`values.read`).
 */

export interface ExplainOptions {
  grain: string;
  period: string;
  kpi: string;
  level: string;
  unit?: string;
  revision?: number;
  page?: number;
  pageSize?: number;
  late?: boolean;
  json?: boolean;
}

function checked(config: Config, options: ExplainOptions): { grain: Grain; period: string; level: Level } {
  if (!(GRAINS as readonly string[]).includes(options.grain)) throw new UsageError(`--grain must be one of ${GRAINS.join(', ')}, got ${JSON.stringify(options.grain)}`);
  const grain = options.grain as Grain;
  if (!(LEVELS as readonly string[]).includes(options.level)) throw new UsageError(`--level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(options.level)}`);
  if (!isKpiId(options.kpi)) throw new UsageError(`unknown KPI ${JSON.stringify(options.kpi)}; kpi kpis lists them`);
  try {
    return { grain, period: parsePeriod(grain, options.period, config.business).id, level: options.level as Level };
  } catch (err) {
    if (err instanceof InvalidPeriodError) throw new UsageError(`${err.message} (ids: day 2026-07-15, week 2026-W29, month 2026-07, quarter 2026-Q3, year 2026)`);
    throw err;
  }
}

export async function explainCommand(config: Config, options: ExplainOptions): Promise<void> {
  const { grain, period, level } = checked(config, options);
  await withSession(config, 'values.read', async ({ operations }) => {
    const explanation = await operations.explain({
      grain,
      period,
      kpi: options.kpi,
      level,
      ...(options.unit !== undefined ? { unit: options.unit } : {}),
      ...(options.revision !== undefined ? { revision: options.revision } : {}),
      ...(options.page !== undefined ? { page: options.page } : {}),
      ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
      late: options.late === true,
    });
    process.stdout.write(options.json ? `${JSON.stringify(explanation)}\n` : `${describeExplanation(explanation, options.late === true)}\n`);
  });
}

/** A number as stored (fen, ms, counts), or a dash for a side the KPI has not. */
const raw = (n: number | null): string => (n === null ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: 6 }));

/** The rows as a table, without the columns this KPI leaves empty. */
function rowsTable(rows: ExplainedRow[], e: Explanation): string {
  const kpi = kpiById(e.kpi);
  const percentile = kpi.kind === 'manual' || (kpi.kind === 'event' && kpi.formula.statistic !== undefined);
  const columns = ['occurred_at', 'source', 'type', 'id', 'line', ...(e.numerator !== null || rows.some((r) => r.numerator !== null) ? ['numerator'] : []), ...(rows.some((r) => r.denominator !== null) ? ['denominator'] : []), ...(percentile ? ['statistic'] : []), 'arrived_at', 'late'];
  const table = rows.map((r) => ({
    occurred_at: r.occurredAt ?? '',
    source: r.source,
    type: r.type,
    id: r.id,
    line: r.line === 0 ? '' : r.line,
    numerator: r.numerator,
    denominator: r.denominator,
    statistic: r.statistic,
    arrived_at: r.arrivedAt ?? '',
    late: r.late ? 'late' : '',
  }));
  return renderTable(table, columns);
}

/** An explanation for a person: the value and where it sits, then its rows. */
export function describeExplanation(e: Explanation, lateOnly: boolean): string {
  const kpi = kpiById(e.kpi);
  const show = (v: number | null): string => formatValue(kpi.unit, v);
  const lines = [
    `${e.kpi} (${e.zh}, ${e.en}) · ${e.grain} ${e.period} · ${e.level} ${e.unit} · revision ${e.revision} (${e.status})`,
    e.stored ? `value ${show(e.value)}   numerator ${raw(e.numerator)}   denominator ${raw(e.denominator)}` : `no stored value for ${e.level} ${e.unit} in revision ${e.revision}`,
    `  ${e.formula}`,
    `previous ${e.previous ? `${e.previous.period} (revision ${e.previous.revision}): ${show(e.previous.value)}` : 'period: no value'}`,
  ];
  if (e.target) lines.push(`target (${e.target.kpi}): ${formatValue(kpiById(e.target.kpi).unit, e.target.value)}, import ${e.target.importId} at ${e.target.importedAt}`);
  if (e.children.length > 0) {
    lines.push('', 'children');
    lines.push(renderTable(e.children.map((c) => ({ level: c.level, unit: c.unit, value: show(c.value), numerator: raw(c.numerator), denominator: raw(c.denominator) }))));
  }
  const ev = e.events;
  const first = (ev.page - 1) * ev.pageSize + 1;
  const range = ev.items.length === 0 ? 'none' : `${first.toLocaleString('en-US')}–${(first + ev.items.length - 1).toLocaleString('en-US')}`;
  const statistic = ev.statistic !== null ? `, ${kpi.kind === 'manual' ? 'imported value' : 'p90'} ${raw(ev.statistic)}` : '';
  lines.push('', `${lateOnly ? 'late rows' : 'rows'} ${range} of ${ev.rows.toLocaleString('en-US')} (page ${ev.page.toLocaleString('en-US')} of ${ev.pages.toLocaleString('en-US')}): Σ numerator ${raw(ev.numerator)}, Σ denominator ${raw(ev.denominator)}${statistic}`);
  if (ev.items.length > 0) lines.push(rowsTable(ev.items, e));
  if (e.late && !lateOnly) {
    const since = `arrived after the first close began reading at ${e.late.since}${e.late.closedAt ? ` (closed ${e.late.closedAt})` : ''}`;
    lines.push('', e.late.rows === 0 ? `late rows: none ${since}` : `late rows: ${e.late.rows.toLocaleString('en-US')} ${since}: Σ numerator ${raw(e.late.numerator)}, Σ denominator ${raw(e.late.denominator)}`);
    if (e.late.items.length > 0) lines.push(rowsTable(e.late.items, e));
    if (e.late.rows > e.late.items.length) lines.push('(all of them, page by page: --late)');
  }
  return lines.join('\n');
}

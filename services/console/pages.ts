import { GRAINS } from '../../schemas/calendar/index.js';
import { KPIS, kpiById, type Kpi } from '../../schemas/kpis/catalog.js';
import { LEVELS } from '../../schemas/kpis/compile.js';
import { formatKpiValue } from '../../schemas/kpis/format.js';
import { bandOf, lineFraction, type ScorecardConfig, type ScorecardLine } from '../../schemas/scorecards/index.js';
import type { Caller } from '../auth/principals.js';
import type { ImportReceipt } from '../periods/imports.js';
import type { PeriodStatus, RestatementRow, ScorecardRow } from '../periods/read.js';
import type { WarehouseStats } from '../ingest/stats.js';
import type { ExplainedRow, Explanation } from '../periods/explain.js';
import type { PeriodAuditEntry } from '../periods/trail.js';
import { barChart, lineChart, sparkline } from './charts.js';
import type { ConsoleReads } from './data.js';
import { html, type Html } from '../report/template.js';

/*
 * The console's pages, rendered on the server from data already read and authorised: pure
 * functions from numbers to HTML. Every chart has the table of its numbers beside it.
 */

export type Lang = 'zh' | 'en';

/** The words of the console in both languages. */
const WORDS = {
  overview: ['概览', 'Overview'],
  scorecards: ['计分卡', 'Scorecards'],
  explorer: ['指标探索', 'KPI explorer'],
  periods: ['期间', 'Periods'],
  pipeline: ['数据管道', 'Pipeline'],
  logout: ['退出', 'Log out'],
  kpi: ['指标', 'KPI'],
  value: ['数值', 'Value'],
  target: ['目标', 'Target'],
  band: ['等级', 'Band'],
  trend: ['趋势', 'Trend'],
  score: ['得分', 'Score'],
  rank: ['排名', 'Rank'],
  unit: ['单位', 'Unit'],
  peerGroup: ['同组', 'Peer group'],
  missing: ['缺失指标', 'Missing KPIs'],
  points: ['得分点', 'Points'],
  period: ['期间', 'Period'],
  grain: ['周期', 'Grain'],
  level: ['层级', 'Level'],
  show: ['显示', 'Show'],
  state: ['状态', 'State'],
  revision: ['版本', 'Revision'],
  forced: ['强制', 'Forced'],
  pending: ['待审批重述', 'Pending restatement'],
  numerator: ['分子', 'Numerator'],
  denominator: ['分母', 'Denominator'],
  asOf: ['数据截至', 'As of'],
} as const satisfies Record<string, readonly [string, string]>;

export const word = (lang: Lang, key: keyof typeof WORDS): string => WORDS[key][lang === 'zh' ? 0 : 1];
export const kpiLabel = (kpi: Pick<Kpi, 'zh' | 'en'>, lang: Lang): string => (lang === 'zh' ? kpi.zh : kpi.en);

/** A value as people read it, as the `kpi` command prints it; a dash when missing. */
export function formatNumber(kpi: Pick<Kpi, 'unit'>, value: number | null | undefined): string {
  return formatKpiValue(kpi.unit, value ?? null, '—');
}

export interface Frame {
  caller: Caller;
  lang: Lang;
  csrf: string;
  /** The current page's path, for the language switch. */
  path: string;
  query: Record<string, string>;
}

const link = (path: string, query: Record<string, string | undefined>): string => {
  const q = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  return q.size > 0 ? `${path}?${q.toString()}` : path;
};

/** The page around every view: navigation, language switch, who is logged in, log out. */
export function layout(frame: Frame, title: string, body: Html): Html {
  const { lang } = frame;
  const nav = (
    [
      ['/', 'overview'],
      ['/scorecards', 'scorecards'],
      ['/explorer', 'explorer'],
      ['/periods', 'periods'],
      ['/pipeline', 'pipeline'],
    ] as const
  ).map(([href, key]) => html`<a href="${link(href, { lang })}"${href === frame.path ? html` aria-current="page"` : ''}>${word(lang, key)}</a>`);
  const other: Lang = lang === 'zh' ? 'en' : 'zh';
  return html`<!doctype html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} · kpi-pipeline</title><link rel="stylesheet" href="/console.css"><link rel="icon" href="data:,"></head>
<body>
<header><strong>kpi-pipeline</strong><nav>${nav}</nav>
<span class="who">${frame.caller.name} (${frame.caller.role})</span>
<a class="lang" href="${link(frame.path, { ...frame.query, lang: other })}">${other === 'zh' ? '中文' : 'English'}</a>
<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${frame.csrf}"><button type="submit">${word(lang, 'logout')}</button></form>
</header>
<main><h1>${title}</h1>${body}</main>
</body></html>`;
}

export function loginPage(message?: string): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in · kpi-pipeline</title><link rel="stylesheet" href="/console.css"><link rel="icon" href="data:,"></head>
<body class="login"><main><h1>kpi-pipeline</h1>
${message ? html`<p class="problem" role="alert">${message}</p>` : ''}
<form method="post" action="/login"><label for="token">Token · 令牌</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Log in · 登录</button></form>
<p class="hint">A token from <code>kpi tokens create &lt;user&gt;</code> (the first admin's is next to the store).</p>
</main></body></html>`;
}

/** A picker of a query parameter, submitted with the rest of its form (GET). */
function select(name: string, label: string, options: readonly string[], selected: string, texts: (o: string) => string = (o) => o): Html {
  return html`<label>${label} <select name="${name}">${options.map((o) => html`<option value="${o}"${o === selected ? html` selected` : ''}>${texts(o)}</option>`)}</select></label>`;
}

function bandBadge(band: string): Html {
  return html`<span class="band band-${band.replace(/[^A-Za-z0-9]/g, '')}">${band}</span>`;
}

/** The band a value reaches on a scorecard line: its share of the line's points, as the card scores it. */
export function lineBand(line: ScorecardLine, value: number | null | undefined, config: ScorecardConfig): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'unscored';
  return bandOf(lineFraction(line, value) * 100, config.bands);
}

export interface OverviewRow {
  line: ScorecardLine;
  value: number | null;
  trend: (number | null)[];
}

export function overviewPage(frame: Frame, data: { grain: string; period: string; asOf: string | null; rows: OverviewRow[]; config: ScorecardConfig }): Html {
  const { lang } = frame;
  const body = html`<form class="pickers" method="get" action="/">${select('grain', word(lang, 'grain'), GRAINS, data.grain)}<input type="hidden" name="lang" value="${lang}"><button type="submit">${word(lang, 'show')}</button></form>
<p class="as-of">${data.period} · ${lang === 'zh' ? '本期临时值（版本 0）' : 'provisional values of the open period (revision 0)'} · ${word(lang, 'asOf')}: <time>${data.asOf ?? '—'}</time></p>
<table class="kpis"><caption>${lang === 'zh' ? '核心指标与目标' : 'Headline KPIs against target'}</caption>
<thead><tr><th scope="col">${word(lang, 'kpi')}</th><th scope="col">${word(lang, 'value')}</th><th scope="col">${word(lang, 'target')}</th><th scope="col">${word(lang, 'band')}</th><th scope="col">${word(lang, 'trend')}</th></tr></thead>
<tbody>${data.rows.map((r) => {
    const kpi = kpiById(r.line.kpi);
    const band = lineBand(r.line, r.value, data.config);
    return html`<tr data-kpi="${kpi.id}"><th scope="row"><a href="${link('/explorer', { kpi: kpi.id, level: 'company', unit: 'all', grain: data.grain, lang })}">${kpiLabel(kpi, lang)}</a></th>
<td class="num" data-value="${r.value ?? ''}">${formatNumber(kpi, r.value)}</td><td class="num">${formatNumber(kpi, r.line.target)}</td><td>${bandBadge(band)}</td>
<td><figure>${sparkline(r.trend)}<figcaption class="visually-hidden">${r.trend.map((v) => formatNumber(kpi, v)).join(', ')}</figcaption></figure></td></tr>`;
  })}</tbody></table>`;
  return layout(frame, word(lang, 'overview'), body);
}

export function scorecardsPage(frame: Frame, data: { grain: string; period: string; periods: string[]; revision: number | null; config: ScorecardConfig; units: ScorecardRow[]; lines: { scorecard: string; unit: string; kpi: string; value: number | null; target: number | null; points: number | null }[] }): Html {
  const { lang } = frame;
  const pickers = html`<form class="pickers" method="get" action="/scorecards">${select('grain', word(lang, 'grain'), GRAINS, data.grain)}${select('period', word(lang, 'period'), data.periods, data.period)}<input type="hidden" name="lang" value="${lang}"><button type="submit">${word(lang, 'show')}</button></form>`;
  if (data.revision === null || data.units.length === 0) return layout(frame, word(lang, 'scorecards'), html`${pickers}<p>${lang === 'zh' ? '该期间尚无计分卡。' : 'No scorecards for this period.'}</p>`);
  const sections = data.config.scorecards
    .filter((card) => data.units.some((u) => u.scorecard === card.id))
    .map((card) => {
      const units = data.units.filter((u) => u.scorecard === card.id).sort((a, b) => a.peer_group.localeCompare(b.peer_group) || (a.rank ?? 1e9) - (b.rank ?? 1e9) || a.unit.localeCompare(b.unit));
      return html`<section><h2>${lang === 'zh' ? card.zh : card.en}</h2>
<table class="scorecard" data-scorecard="${card.id}"><caption>${data.grain} ${data.period}, ${word(lang, 'revision')} ${data.revision}</caption>
<thead><tr><th scope="col">${word(lang, 'peerGroup')}</th><th scope="col">${word(lang, 'rank')}</th><th scope="col">${word(lang, 'unit')}</th><th scope="col">${word(lang, 'score')}</th><th scope="col">${word(lang, 'band')}</th>
${card.lines.map((l) => html`<th scope="col">${kpiLabel(kpiById(l.kpi), lang)}<br><small>${word(lang, 'target')} ${formatNumber(kpiById(l.kpi), l.target)} · ${l.weight}</small></th>`)}<th scope="col">${word(lang, 'missing')}</th></tr></thead>
<tbody>${units.map((u) => html`<tr data-unit="${u.unit}"><td>${u.peer_group}</td><td class="num">${u.rank === null ? '—' : `${u.rank}/${u.peers}`}</td><th scope="row">${u.unit}</th><td class="num" data-score="${u.score ?? ''}">${u.score === null ? '—' : u.score.toFixed(2)}</td><td>${bandBadge(u.band)}</td>
${card.lines.map((l) => {
  const line = data.lines.find((x) => x.scorecard === card.id && x.unit === u.unit && x.kpi === l.kpi);
  const kpi = kpiById(l.kpi);
  return html`<td class="num"><a href="${link('/explain', { grain: data.grain, period: data.period, kpi: kpi.id, level: card.level, unit: u.unit, lang })}">${formatNumber(kpi, line?.value)}</a><br><small>${line?.points === null || line?.points === undefined ? '—' : line.points.toFixed(2)}</small></td>`;
})}<td>${u.missing.map((m) => kpiLabel(kpiById(m), lang)).join(', ')}</td></tr>`)}</tbody></table></section>`;
    });
  return layout(frame, word(lang, 'scorecards'), html`${pickers}${sections}`);
}

export function explorerPage(frame: Frame, data: { kpi: string; level: string; unit: string; grain: string; units: string[]; series: Awaited<ReturnType<ConsoleReads['series']>> }): Html {
  const { lang } = frame;
  const kpi = kpiById(data.kpi);
  const pickers = html`<form class="pickers" method="get" action="/explorer">${select('kpi', word(lang, 'kpi'), KPIS.map((k) => k.id), data.kpi, (id) => kpiLabel(kpiById(id), lang))}${select('grain', word(lang, 'grain'), GRAINS, data.grain)}${select('level', word(lang, 'level'), LEVELS, data.level)}${select('unit', word(lang, 'unit'), data.units, data.unit)}<input type="hidden" name="lang" value="${lang}"><button type="submit">${word(lang, 'show')}</button></form>`;
  const chart = data.series.length > 0 ? lineChart(data.series.map((s) => s.period), [{ name: kpiLabel(kpi, lang), values: data.series.map((s) => s.value) }]) : html``;
  const table = html`<table class="series"><caption>${kpiLabel(kpi, lang)} · ${data.level} ${data.unit}</caption><thead><tr><th scope="col">${word(lang, 'period')}</th><th scope="col">${word(lang, 'value')}</th><th scope="col">${word(lang, 'numerator')}</th><th scope="col">${word(lang, 'denominator')}</th><th scope="col">${word(lang, 'revision')}</th><th scope="col">${word(lang, 'state')}</th></tr></thead>
<tbody>${data.series
    .slice()
    .reverse()
    .map((s) => html`<tr><th scope="row"><a href="${link('/explain', { grain: data.grain, period: s.period, kpi: kpi.id, level: data.level, unit: data.unit, lang })}">${s.period}</a></th><td class="num" data-value="${s.value ?? ''}">${formatNumber(kpi, s.value)}</td><td class="num">${s.numerator ?? '—'}</td><td class="num">${s.denominator ?? '—'}</td><td class="num">${s.revision}</td><td>${s.status}</td></tr>`)}</tbody></table>`;
  return layout(frame, word(lang, 'explorer'), html`${pickers}<figure>${chart}</figure>${table}`);
}

export function periodsPage(
  frame: Frame,
  data: { grain: string; periods: PeriodStatus[]; selected?: { status: PeriodStatus | null; restatements: RestatementRow[]; audit: PeriodAuditEntry[] }; period?: string; mayApprove: boolean; mayImport: boolean; notice?: Html },
): Html {
  const { lang } = frame;
  const list = html`<form class="pickers" method="get" action="/periods">${select('grain', word(lang, 'grain'), GRAINS, data.grain)}<input type="hidden" name="lang" value="${lang}"><button type="submit">${word(lang, 'show')}</button></form>
<table class="periods"><thead><tr><th scope="col">${word(lang, 'period')}</th><th scope="col">${word(lang, 'state')}</th><th scope="col">${word(lang, 'revision')}</th><th scope="col">${word(lang, 'forced')}</th><th scope="col">${word(lang, 'pending')}</th></tr></thead>
<tbody>${data.periods.map((p) => html`<tr><th scope="row"><a href="${link('/periods', { grain: data.grain, period: p.period, lang })}">${p.period}</a></th><td>${p.state}</td><td class="num">${p.revision ?? '—'}</td><td>${p.forced ? '✓' : ''}</td><td class="num">${p.pendingRevision ?? ''}</td></tr>`)}</tbody></table>`;
  const detail = data.selected && data.period ? periodDetail(frame, data.grain, data.period, data.selected, data.mayApprove) : html``;
  const imports = data.mayImport
    ? html`<section><h2>${lang === 'zh' ? '导入目标与人工指标' : 'Import targets and inputs'}</h2>
<form method="post" action="/imports" enctype="multipart/form-data"><input type="hidden" name="_csrf" value="${frame.csrf}">
${select('kind', lang === 'zh' ? '类型' : 'Kind', ['targets', 'inputs', 'rates'], 'targets')}<label>CSV <input type="file" name="file" accept=".csv,text/csv" required></label><button type="submit">${lang === 'zh' ? '导入' : 'Import'}</button></form></section>`
    : html``;
  return layout(frame, word(lang, 'periods'), html`${data.notice ?? ''}${list}${detail}${imports}`);
}

function periodDetail(frame: Frame, grain: string, period: string, selected: { status: PeriodStatus | null; restatements: RestatementRow[]; audit: PeriodAuditEntry[] }, mayApprove: boolean): Html {
  const { lang } = frame;
  const quarter = grain === 'quarter' && selected.status !== null;
  const actions =
    mayApprove && quarter
      ? html`<div class="actions"><form method="post" action="/periods/approve"><input type="hidden" name="_csrf" value="${frame.csrf}"><input type="hidden" name="quarter" value="${period}"><label>${lang === 'zh' ? '备注' : 'Comment'} <input name="comment" required></label><button type="submit" name="approve">${lang === 'zh' ? '批准' : 'Approve'}</button></form>
<form method="post" action="/periods/reopen"><input type="hidden" name="_csrf" value="${frame.csrf}"><input type="hidden" name="quarter" value="${period}"><label>${lang === 'zh' ? '原因' : 'Reason'} <input name="reason" required></label><button type="submit" name="reopen">${lang === 'zh' ? '重新打开' : 'Reopen'}</button></form></div>`
      : html``;
  const pack = quarter
    ? html`<p class="download"><a class="button" href="${link('/report', { period, format: 'pdf', lang })}" download>${lang === 'zh' ? '下载季度复盘报告 (PDF)' : 'Download the quarterly review pack (PDF)'}</a> <a href="${link('/report', { period, format: 'html', lang })}">HTML</a></p>`
    : html``;
  return html`<section><h2>${grain} ${period}: ${selected.status?.state ?? '—'}, ${word(lang, 'revision')} ${selected.status?.revision ?? '—'}</h2>${pack}${actions}
<h3>${lang === 'zh' ? '重述差异（原报 → 重述）' : 'Restatements (as reported → restated)'}</h3>
<table class="restatements"><thead><tr><th scope="col">${word(lang, 'kpi')}</th><th scope="col">${word(lang, 'level')}</th><th scope="col">${word(lang, 'unit')}</th><th scope="col">${word(lang, 'revision')}</th><th scope="col">${lang === 'zh' ? '原报' : 'As reported'}</th><th scope="col">${lang === 'zh' ? '重述' : 'Restated'}</th></tr></thead>
<tbody>${selected.restatements.map((r) => {
    const kpi = kpiById(r.kpi);
    return html`<tr><th scope="row">${kpiLabel(kpi, lang)}</th><td>${r.level}</td><td>${r.unit}</td><td>${r.from_revision} → ${r.to_revision}</td><td class="num">${formatNumber(kpi, r.old_value)}</td><td class="num">${formatNumber(kpi, r.new_value)}</td></tr>`;
  })}</tbody></table>
<h3>${lang === 'zh' ? '审计记录' : 'Audit trail'}</h3>
<table class="audit"><thead><tr><th scope="col">${lang === 'zh' ? '时间' : 'At'}</th><th scope="col">${word(lang, 'revision')}</th><th scope="col">${lang === 'zh' ? '操作' : 'Action'}</th><th scope="col">${lang === 'zh' ? '操作人' : 'By'}</th><th scope="col">${lang === 'zh' ? '备注' : 'Comment'}</th></tr></thead>
<tbody>${selected.audit.map((a) => html`<tr><td>${a.at}</td><td class="num">${a.revision}</td><td>${a.action}</td><td class="actor">${a.actor}</td><td>${a.comment}</td></tr>`)}</tbody></table></section>`;
}

/** The outcome of an import: how many rows were stored, or each problem by line. */
export function importNotice(lang: Lang, outcome: { receipt: ImportReceipt } | { problems: string[] }): Html {
  if ('receipt' in outcome) return html`<p class="notice" role="status">${lang === 'zh' ? '已导入' : 'Imported'} ${outcome.receipt.rows} ${lang === 'zh' ? '行' : 'rows'}.</p>`;
  return html`<div class="problem" role="alert"><p>${lang === 'zh' ? '未导入任何内容：' : 'Nothing was imported:'}</p><ul>${outcome.problems.map((p) => html`<li>${p}</li>`)}</ul></div>`;
}

export function pipelinePage(frame: Frame, data: { stats: WarehouseStats; progress: Awaited<ReturnType<ConsoleReads['ingestProgress']>>; deadLetters: Awaited<ReturnType<ConsoleReads['recentDeadLetters']>> }): Html {
  const { lang } = frame;
  const reasons = Object.entries(data.stats.deadLettersByReason).sort((a, b) => b[1] - a[1]);
  return layout(
    frame,
    word(lang, 'pipeline'),
    html`<section><h2>${lang === 'zh' ? '各分区摄取进度' : 'Ingest progress per partition'}</h2>
<table class="progress"><thead><tr><th scope="col">Topic</th><th scope="col">Partition</th><th scope="col">${lang === 'zh' ? '下一偏移' : 'Next offset'}</th><th scope="col">${lang === 'zh' ? '最新事件时间' : 'Newest event time'}</th><th scope="col">${lang === 'zh' ? '最近写入' : 'Last written'}</th></tr></thead>
<tbody>${data.progress.map((p) => html`<tr><th scope="row">${p.topic}</th><td class="num">${p.partition}</td><td class="num">${p.next_offset}</td><td>${p.max_event_time}</td><td>${p.updated_at}</td></tr>`)}</tbody></table></section>
<section><h2>${lang === 'zh' ? '死信（按原因）' : 'Dead letters by reason'}</h2>
<figure>${reasons.length > 0 ? barChart(reasons.map(([r]) => r), reasons.map(([, n]) => n), { height: 200 }) : html``}</figure>
<table class="reasons"><thead><tr><th scope="col">${lang === 'zh' ? '原因' : 'Reason'}</th><th scope="col">${lang === 'zh' ? '条数' : 'Messages'}</th></tr></thead>
<tbody>${reasons.map(([reason, n]) => html`<tr><th scope="row">${reason}</th><td class="num">${n}</td></tr>`)}</tbody></table>
<h3>${lang === 'zh' ? '最近的死信' : 'Recent dead letters'}</h3>
<table class="dead-letters"><thead><tr><th scope="col">${lang === 'zh' ? '接收时间' : 'Received'}</th><th scope="col">Topic</th><th scope="col">Offset</th><th scope="col">${lang === 'zh' ? '原因' : 'Reason'}</th><th scope="col">${lang === 'zh' ? '开头字节' : 'First bytes'}</th></tr></thead>
<tbody>${data.deadLetters.map((d) => html`<tr><td>${d.received_at}</td><td>${d.topic}/${d.partition}</td><td class="num">${d.offset}</td><td>${d.reason_code}: ${d.reason}</td><td><code>${d.first_bytes}</code></td></tr>`)}</tbody></table></section>
<p>${lang === 'zh' ? '已存事件' : 'Events stored'}: ${data.stats.stored.toLocaleString('en-US')} · ${lang === 'zh' ? '死信' : 'dead letters'}: ${data.stats.dead_letters.toLocaleString('en-US')}</p>`,
  );
}

/** A plain page for a refusal or a problem, in the layout when someone is logged in. */
export function messagePage(frame: Frame | undefined, title: string, message: string): Html {
  const body = html`<p class="problem" role="alert">${message}</p>`;
  if (!frame) return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title><link rel="stylesheet" href="/console.css"><link rel="icon" href="data:,"></head><body><main><h1>${title}</h1>${body}<p><a href="/login">Log in</a></p></main></body></html>`;
  return layout(frame, title, body);
}

/** Where a value comes from: numerator, denominator, the units below, the previous period, the target, and the rows it is made of, page by page. */
export function explainPage(frame: Frame, e: Explanation): Html {
  const { lang } = frame;
  const kpi = kpiById(e.kpi);
  const here = { grain: e.grain, period: e.period, kpi: e.kpi, level: e.level, unit: e.unit, lang };
  const rows = (items: ExplainedRow[]): Html =>
    html`<tbody>${items.map((r) => html`<tr${r.late ? html` class="late"` : ''}><td>${r.occurredAt ?? '—'}</td><td>${r.source}</td><td>${r.type}</td><td><code>${r.id}</code></td><td class="num">${r.line || ''}</td><td class="num">${r.numerator ?? '—'}</td><td class="num">${r.denominator ?? '—'}</td><td class="num">${r.statistic ?? ''}</td><td>${r.arrivedAt ?? '—'}</td></tr>`)}</tbody>`;
  const head = html`<thead><tr><th scope="col">${lang === 'zh' ? '发生时间' : 'Occurred'}</th><th scope="col">${lang === 'zh' ? '来源' : 'Source'}</th><th scope="col">${lang === 'zh' ? '类型' : 'Type'}</th><th scope="col">ID</th><th scope="col">${lang === 'zh' ? '行' : 'Line'}</th><th scope="col">${word(lang, 'numerator')}</th><th scope="col">${word(lang, 'denominator')}</th><th scope="col">${lang === 'zh' ? '统计值' : 'Statistic'}</th><th scope="col">${lang === 'zh' ? '到达时间' : 'Arrived'}</th></tr></thead>`;
  const pager = html`<p class="pager">${e.events.page > 1 ? html`<a rel="prev" href="${link('/explain', { ...here, page: String(e.events.page - 1) })}">←</a> ` : ''}${lang === 'zh' ? '第' : 'page'} ${e.events.page} / ${e.events.pages}${e.events.page < e.events.pages ? html` <a rel="next" href="${link('/explain', { ...here, page: String(e.events.page + 1) })}">→</a>` : ''}</p>`;
  const body = html`<dl class="explained" data-value="${e.value ?? ''}" data-numerator="${e.numerator ?? ''}" data-denominator="${e.denominator ?? ''}">
<dt>${kpiLabel(kpi, lang)}</dt><dd>${e.grain} ${e.period} · ${e.level} ${e.unit} · ${word(lang, 'revision')} ${e.revision} (${e.status})</dd>
<dt>${word(lang, 'value')}</dt><dd class="num">${formatNumber(kpi, e.value)}</dd>
${e.missing.length > 0 ? html`<dt>${lang === 'zh' ? '缺少汇率' : 'Missing exchange rates'}</dt><dd class="missing">${e.missing.join(', ')}</dd>` : ''}
<dt>${word(lang, 'numerator')}</dt><dd class="num">${e.numerator ?? '—'}</dd><dt>${word(lang, 'denominator')}</dt><dd class="num">${e.denominator ?? '—'}</dd>
<dt>${lang === 'zh' ? '公式' : 'Formula'}</dt><dd>${e.formula}</dd>
<dt>${lang === 'zh' ? '上期' : 'Previous period'}</dt><dd>${e.previous ? html`<a href="${link('/explain', { ...here, period: e.previous.period })}">${e.previous.period}</a>: ${formatNumber(kpi, e.previous.value)}` : '—'}</dd>
<dt>${word(lang, 'target')}</dt><dd>${e.target ? `${e.target.value} (${e.target.kpi})` : '—'}</dd></dl>
<h2>${lang === 'zh' ? '下级单位' : 'Units below'}</h2>
<table class="children"><thead><tr><th scope="col">${word(lang, 'level')}</th><th scope="col">${word(lang, 'unit')}</th><th scope="col">${word(lang, 'value')}</th><th scope="col">${word(lang, 'numerator')}</th><th scope="col">${word(lang, 'denominator')}</th></tr></thead>
<tbody>${e.children.map((c) => html`<tr><td>${c.level}</td><th scope="row"><a href="${link('/explain', { ...here, level: c.level, unit: c.unit, page: undefined })}">${c.unit}</a></th><td class="num">${formatNumber(kpi, c.value)}</td><td class="num">${c.numerator ?? '—'}</td><td class="num">${c.denominator ?? '—'}</td></tr>`)}</tbody></table>
<h2>${lang === 'zh' ? '构成此数值的记录' : 'The rows it is made of'}</h2>
<p class="sums" data-rows="${e.events.rows}" data-sum-numerator="${e.events.numerator ?? ''}" data-sum-denominator="${e.events.denominator ?? ''}">${e.events.rows.toLocaleString('en-US')} ${lang === 'zh' ? '条；合计分子' : 'rows; Σ numerator'} ${e.events.numerator ?? '—'}, ${lang === 'zh' ? '合计分母' : 'Σ denominator'} ${e.events.denominator ?? '—'}</p>
${pager}<table class="events">${head}${rows(e.events.items)}</table>
${e.late ? html`<h2>${lang === 'zh' ? '结账后到达（重述）' : 'Arrived after the close (restated)'}</h2><p>${e.late.rows} ${lang === 'zh' ? '条，自' : 'rows since'} ${e.late.since}</p><table class="late-events">${head}${rows(e.late.items)}</table>` : ''}`;
  return layout(frame, lang === 'zh' ? '数值溯源' : 'Why this number', body);
}

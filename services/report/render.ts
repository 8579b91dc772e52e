import { KPI_IDS, isKpiId, kpiById, type KpiUnit } from '../../schemas/kpis/catalog.js';
import { COMPANY_UNIT } from '../../schemas/kpis/compile.js';
import type { RestatementRow } from '../periods/read.js';
import type { ImportRecord } from '../periods/trail.js';
import { kpiChart, type ChartSeries } from './charts.js';
import type { HeadlineTarget, HeadlineUnit, ReviewPackData, ScorecardPage } from './data.js';
import { WORDS, formatChange, formatInstant, formatValue, type Lang } from './labels.js';
import { html, trusted, type Html } from './template.js';

/**
 * The review pack as one self-contained HTML document: one stylesheet in the head, charts as
 * inline SVG, no script and nothing fetched (its Content-Security-Policy forbids both). Each
 * section is one printed page. Every string from the warehouse goes through `html`, which
 * escapes it. The generation time is in one marked place on the cover
 * (`<p class="generated" data-generated>`), the only text that differs between two packs
 * of the same revision.
 */

export interface RenderOptions {
  lang: Lang;
  /** Business time zone: instants read as local time there. */
  timeZone: string;
  /** ISO instant the pack was made; shown on the cover only. */
  generatedAt: string;
}

interface Ctx {
  data: ReviewPackData;
  lang: Lang;
  w: (typeof WORDS)[Lang];
  timeZone: string;
}

const STYLE = `
@page { size: A4 landscape; margin: 10mm 12mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; font-family: "Noto Sans CJK SC", "Noto Sans SC", sans-serif; font-size: 8.5pt; line-height: 1.35; color: #1d2733; }
section.page { break-after: page; page-break-after: always; }
section.page:last-of-type { break-after: auto; page-break-after: auto; }
@media screen { body { background: #eef1f4; } section.page { max-width: 297mm; margin: 12px auto; padding: 10mm 12mm; background: #fff; box-shadow: 0 1px 4px rgba(0,0,0,.15); } }
h1 { font-size: 24pt; margin: 30mm 0 4mm; color: #2f5d8a; }
h2 { font-size: 14pt; margin: 0 0 2mm; padding-bottom: 1mm; border-bottom: 2px solid #2f5d8a; color: #2f5d8a; }
h3 { font-size: 10pt; margin: 3mm 0 1mm; }
.note { color: #5a6675; font-size: 7.5pt; margin: 0 0 2mm; }
table { border-collapse: collapse; width: 100%; }
table + table, .note + table { margin-top: 2mm; }
th, td { border-bottom: 1px solid #dfe4ea; padding: 1.5pt 4pt; text-align: left; vertical-align: top; }
th { background: #f3f6f9; font-weight: bold; font-size: 7.5pt; overflow-wrap: anywhere; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num, .key { white-space: nowrap; }
td.missing { font-size: 7pt; min-width: 30mm; }
.pts { color: #5a6675; font-size: 7pt; }
.miss { color: #c62828; }
.mono { font-family: monospace; font-size: 7pt; word-break: break-all; }
.band { display: inline-block; min-width: 14pt; padding: 0 3pt; border-radius: 3pt; color: #fff; font-weight: bold; text-align: center; }
.band-0 { background: #2e7d32; } .band-1 { background: #9e9d24; } .band-2 { background: #ef6c00; } .band-3 { background: #c62828; }
.cover dl { display: grid; grid-template-columns: 45mm auto; gap: 1.5mm 4mm; font-size: 11pt; margin: 6mm 0; }
.cover dt { color: #5a6675; } .cover dd { margin: 0; font-weight: bold; }
.cover ol { font-size: 10pt; }
.warn { color: #ef6c00; font-weight: bold; }
.charts { display: grid; grid-template-columns: repeat(4, 1fr); gap: 2mm 3mm; margin-top: 3mm; }
.charts svg { display: block; }
.generated { margin-top: 10mm; padding: 2mm 3mm; border: 1px dashed #9aa5b1; color: #5a6675; font-size: 8pt; display: inline-block; }
`;

const kpiLabel = (kpi: string, lang: Lang): string => (isKpiId(kpi) ? kpiById(kpi)[lang] : kpi);
const kpiUnit = (kpi: string): KpiUnit => (isKpiId(kpi) ? kpiById(kpi).unit : 'score');
const unitLabel = (unit: string, ctx: Ctx): string => (unit === COMPANY_UNIT ? ctx.w.company : unit);
const levelLabel = (level: string, ctx: Ctx): string => ctx.w.levels[level] ?? level;
const LEVEL_ORDER = ['company', 'region', 'store', 'department', 'channel'];
const byLevel = (a: string, b: string): number => LEVEL_ORDER.indexOf(a) - LEVEL_ORDER.indexOf(b);
const cardLabel = (card: Pick<ScorecardPage, 'zh' | 'en'>, lang: Lang): string => (lang === 'zh' ? card.zh : card.en);

/** The local calendar day of an instant in the business zone. */
function localDay(iso: string, timeZone: string): string {
  return formatInstant(new Date(Date.parse(iso)).toISOString().replace('T', ' ').replace('Z', ''), timeZone).slice(0, 10);
}

/** A section: one printed page, named for tests and bookmarks. */
function page(id: string, title: string, body: Html): Html {
  return html`<section class="page" id="${id}" data-section="${id}"><h2>${title}</h2>${body}</section>`;
}

/** Index of a band from the best down, for its colour. */
function bandClass(name: string, ctx: Ctx): string {
  const i = [...ctx.data.bands].sort((a, b) => b.min - a.min).findIndex((b) => b.name === name);
  return i < 0 ? '' : `band band-${Math.min(i, 3)}`;
}

function cover(ctx: Ctx, sections: { id: string; title: string }[], generatedAt: string): Html {
  const { data, w } = ctx;
  const approval = data.approval;
  const state = w.states[data.pendingRevision !== null && data.revisionState === 'approved' ? 'pending' : data.revisionState] ?? data.revisionState;
  const end = new Date(Date.parse(data.quarter.end) - 1).toISOString();
  return html`<section class="page cover" id="cover" data-section="cover">
<h1>${w.title} · ${data.quarter.id}</h1>
<dl>
<dt>${w.quarter}</dt><dd>${data.quarter.id}</dd>
<dt>${w.dates}</dt><dd>${localDay(data.quarter.start, ctx.timeZone)} – ${localDay(end, ctx.timeZone)} (${ctx.timeZone})</dd>
<dt>${w.revisionShown}</dt><dd data-revision="${data.revision}">${w.revision} ${data.revision}</dd>
<dt>${w.state}</dt><dd data-state="${data.revisionState}">${state}</dd>
<dt>${w.approvedBy}</dt><dd>${approval ? approval.actor : w.notApproved}</dd>
${approval ? html`<dt>${w.approvedAt}</dt><dd>${formatInstant(approval.at, ctx.timeZone)}</dd><dt>${w.approvalComment}</dt><dd>${approval.comment || '—'}</dd>` : ''}
</dl>
${data.pendingRevision !== null ? html`<p class="warn">${w.pending(data.pendingRevision)}</p>` : ''}
${data.forced ? html`<p class="warn">${w.forced}</p>` : ''}
<h3>${w.contents}</h3>
<ol>${sections.map((s) => html`<li>${s.title}</li>`)}</ol>
<p class="generated" data-generated="${generatedAt}">${w.generated}: ${generatedAt} — ${w.generatedNote}</p>
</section>`;
}

function targetText(target: HeadlineTarget | null, unit: KpiUnit, ctx: Ctx): Html {
  if (!target) return html`—`;
  return html`${formatValue(unit, target.value, ctx.lang)} <span class="pts">(${ctx.w.targetFrom[target.from] ?? target.from})</span>`;
}

/** Value against target as a scorecard's achievement reads it: v ÷ t, or t ÷ v when lower is better. */
function attainment(kpi: string, u: HeadlineUnit): string {
  if (u.value === null || !u.target || u.target.value === 0) return '—';
  const lower = isKpiId(kpi) && kpiById(kpi).direction === 'lower';
  if (lower && u.value === 0) return '—';
  return `${((lower ? u.target.value / u.value : u.value / u.target.value) * 100).toFixed(1)}%`;
}

function headline(ctx: Ctx): Html {
  const { data, w, lang } = ctx;
  const prev = data.previous.revision === null ? w.notClosed(data.previous.quarter) : `${data.previous.quarter} (${w.revision} ${data.previous.revision})`;
  const rows = data.headline.map((h) => {
    const unit = kpiUnit(h.kpi);
    const c = h.company;
    return html`<tr data-kpi="${h.kpi}"><td>${kpiLabel(h.kpi, lang)}</td><td class="num" data-value>${formatValue(unit, c.value, lang)}</td><td class="num">${targetText(c.target, unit, ctx)}</td><td class="num">${attainment(h.kpi, c)}</td><td class="num">${data.previous.revision === null ? '—' : formatValue(unit, c.previous, lang)}</td><td class="num">${formatChange(unit, c.previous, c.value)}</td></tr>`;
  });
  const charts = data.headline.map((h, i) => {
    const series: ChartSeries[] = [{ name: w.thisQuarter, role: 'current', values: h.regions.map((r) => r.value) }];
    if (h.regions.some((r) => r.previous !== null)) series.push({ name: `${w.previous} ${data.previous.quarter}`, role: 'previous', values: h.regions.map((r) => r.previous) });
    if (h.regions.some((r) => r.target !== null)) series.push({ name: w.target, role: 'target', values: h.regions.map((r) => r.target?.value ?? null) });
    return kpiChart({ id: `chart${i + 1}`, title: kpiLabel(h.kpi, lang), unit: kpiUnit(h.kpi), categories: h.regions.map((r) => r.unit), series, width: 250, height: 165 });
  });
  return page(
    'headline',
    w.headline,
    html`<p class="note">${w.headlineNote(prev)}</p>
<table><thead><tr><th>${w.kpi}</th><th class="num">${w.value}</th><th class="num">${w.target}</th><th class="num">${w.attainment}</th><th class="num">${w.previous}</th><th class="num">${w.change}</th></tr></thead><tbody>${rows}</tbody></table>
<div class="charts">${charts.map((c) => html`<div>${c}</div>`)}</div>`,
  );
}

function scorecard(card: ScorecardPage, ctx: Ctx): Html {
  const { w, lang } = ctx;
  const bands = [...ctx.data.bands].sort((a, b) => b.min - a.min).map((b) => `${b.name} ≥ ${b.min}`).join(' · ');
  const legend = card.lines.map((l) => {
    const target = l.target === null ? '—' : formatValue(kpiUnit(l.kpi), l.target, lang);
    return html`<li>${kpiLabel(l.kpi, lang)}: ${w.weight} ${l.weight}, ${w.target} ${target}${l.rule ? html`, ${w.rule[l.rule] ?? l.rule}` : ''}</li>`;
  });
  const rows = card.units.map((u) => {
    const cells = card.lines.map((l) => {
      const line = u.lines.find((x) => x.kpi === l.kpi);
      if (!line || line.missing) return html`<td class="num miss">${w.missingValue}</td>`;
      return html`<td class="num">${formatValue(kpiUnit(l.kpi), line.value, lang)}<div class="pts">${line.points === null ? '—' : line.points.toFixed(2)}</div></td>`;
    });
    return html`<tr data-card="${card.id}" data-unit="${u.unit}"><td>${unitLabel(u.peer_group, ctx)}</td><td class="num">${u.rank === null ? '—' : `${u.rank}/${u.peers}`}</td><td>${unitLabel(u.unit, ctx)}</td><td class="num" data-score>${u.score === null ? '—' : u.score.toFixed(2)}</td><td><span class="${bandClass(u.band, ctx)}">${u.band}</span></td>${cells}<td class="miss missing">${u.missing.map((k) => kpiLabel(k, lang)).join(', ')}</td></tr>`;
  });
  return page(
    `scorecard-${card.id}`,
    `${w.scorecard}: ${cardLabel(card, lang)} (${card.id})`,
    html`<p class="note">${w.level}: ${levelLabel(card.level, ctx)}; ${w.rankedWithin[card.peerGroup] ?? card.peerGroup}. ${w.bands}: ${bands}. ${w.linesNote}</p>
<ul class="note">${legend}</ul>
<table><thead><tr><th class="key">${w.peerGroup}</th><th class="num key">${w.rank}</th><th class="key">${w.unit}</th><th class="num key">${w.score}</th><th class="key">${w.band}</th>${card.lines.map((l) => html`<th class="num">${kpiLabel(l.kpi, lang)}<div class="pts">${w.weight} ${l.weight}</div></th>`)}<th>${w.missing}</th></tr></thead>
<tbody>${rows}</tbody></table>`,
  );
}

function restatements(ctx: Ctx): Html {
  const { data, w, lang } = ctx;
  const rows = data.restatements;
  const more = `kpi restatements --grain quarter --period ${data.quarter.id}`;
  if (rows.length === 0) return page('restatements', w.restatements, html`<p class="note">${w.restatementsNone}</p>`);
  const revisions = [...new Set(rows.map((r) => r.to_revision))].sort((a, b) => a - b);
  const stateOf = (rev: number): string =>
    rev === data.pendingRevision ? 'pending' : rev === data.revision ? data.revisionState : rev < data.revision ? 'superseded' : 'discarded';
  const byRevision = revisions.map((rev) => {
    const audit = data.audit.filter((a) => a.grain === 'quarter' && a.period === data.quarter.id && a.revision === rev && a.action.startsWith('restate')).at(-1);
    const changed = rows.filter((r) => r.to_revision === rev).length;
    return html`<tr><td class="num">${rev}</td><td>${w.revisionState[stateOf(rev)] ?? stateOf(rev)}</td><td>${audit ? formatInstant(audit.at, ctx.timeZone) : '—'}</td><td>${audit?.actor ?? '—'}</td><td class="num">${changed}</td></tr>`;
  });
  const kpis = [...new Set(rows.map((r) => r.kpi))].sort(byCatalog);
  const company = (r: RestatementRow): boolean => r.level === 'company';
  const table = kpis.map((kpi) => {
    const mine = rows.filter((r) => r.kpi === kpi);
    const first = mine.filter(company).sort((a, b) => a.from_revision - b.from_revision)[0];
    const unit = kpiUnit(kpi);
    const levels = [...new Set(mine.map((r) => r.level as string))]
      .sort(byLevel)
      .map((level) => `${levelLabel(level, ctx)} ${new Set(mine.filter((r) => r.level === level).map((r) => r.unit)).size}`)
      .join(' · ');
    const cells = revisions.map((rev) => {
      const row = mine.find((r) => company(r) && r.to_revision === rev);
      return html`<td class="num">${row ? formatValue(unit, row.new_value, lang) : '='}</td>`;
    });
    return html`<tr data-kpi="${kpi}"><td>${kpiLabel(kpi, lang)}</td><td class="num">${first ? formatValue(unit, first.old_value, lang) : '='}</td>${cells}<td>${levels}</td></tr>`;
  });
  return page(
    'restatements',
    w.restatements,
    html`<table><thead><tr><th class="num">${w.revision}</th><th>${w.state}</th><th>${w.at}</th><th>${w.actor}</th><th class="num">${w.valuesChanged}</th></tr></thead><tbody>${byRevision}</tbody></table>
<p class="note">${w.restatementsNote(more)}</p>
<table><thead><tr><th>${w.kpi}</th><th class="num">${w.asReported} (${w.company})</th>${revisions.map((rev) => html`<th class="num">${w.revision} ${rev} (${w.revisionState[stateOf(rev)] ?? stateOf(rev)})</th>`)}<th>${w.unitsChanged}</th></tr></thead><tbody>${table}</tbody></table>`,
  );
}

/** Catalog order: the order people know the KPIs in; unknown ids last, by name. */
function byCatalog(a: string, b: string): number {
  const rank = (id: string): number => (isKpiId(id) ? KPI_IDS.indexOf(id) : KPI_IDS.length);
  return rank(a) - rank(b) || a.localeCompare(b);
}

function importTable(records: readonly ImportRecord[], refs: Map<string, string>, ctx: Ctx): Html {
  const { w } = ctx;
  return html`<table><thead><tr><th>${w.importId}</th><th>${w.kind}</th><th>${w.importedBy}</th><th>${w.importedAt}</th><th>${w.source}</th><th>SHA-256</th><th class="num">${w.rows}</th></tr></thead><tbody>${records.map(
    (r) =>
      html`<tr data-import="${r.importId}"><td>${refs.get(r.importId) ?? ''} <span class="mono">${r.importId}</span></td><td>${w.kinds[r.kind] ?? r.kind}</td><td>${r.importedBy}</td><td>${formatInstant(r.importedAt, ctx.timeZone)}</td><td class="mono">${r.source}</td><td class="mono">${r.sha256}</td><td class="num">${r.rows}</td></tr>`,
  )}</tbody></table>`;
}

function inputs(ctx: Ctx): Html {
  const { data, w, lang } = ctx;
  const { used, imports, later } = data.imports;
  const refs = new Map([...imports, ...later].map((r, i) => [r.importId, `[${String.fromCharCode(65 + (i % 26))}${i >= 26 ? Math.floor(i / 26) : ''}]`]));
  const laterTable = later.length > 0 ? html`<h3>${w.later}</h3>${importTable(later, refs, ctx)}` : '';
  if (used.length === 0) return page('inputs', w.inputs, html`<p class="note">${w.inputsNone}</p>${laterTable}`);
  // Targets first, then manual inputs, each in catalog order.
  const columns = [...new Map(used.map((r) => [`${r.kind}:${r.kpi}`, r])).values()].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'targets' ? -1 : 1) || byCatalog(a.kpi, b.kpi));
  const units = [...new Map(used.map((r) => [`${r.level}:${r.unit}`, r])).values()].sort((a, b) => byLevel(a.level, b.level) || a.unit.localeCompare(b.unit));
  const rows = units.map((u) => {
    const cells = columns.map((c) => {
      const row = used.find((r) => r.kind === c.kind && r.kpi === c.kpi && r.level === u.level && r.unit === u.unit);
      if (!row) return html`<td></td>`;
      const parts = row.numerator !== null && row.denominator !== null ? ` (${row.numerator}/${row.denominator})` : '';
      return html`<td class="num">${formatValue(kpiUnit(row.kpi), row.value, lang)}${parts} <span class="pts">${refs.get(row.importId) ?? ''}</span></td>`;
    });
    return html`<tr data-unit="${u.unit}"><td>${levelLabel(u.level, ctx)}</td><td>${unitLabel(u.unit, ctx)}</td>${cells}</tr>`;
  });
  return page(
    'inputs',
    w.inputs,
    html`<p class="note">${w.inputsNote(data.revision)}</p>${importTable(imports, refs, ctx)}
<table><thead><tr><th>${w.level}</th><th>${w.unit}</th>${columns.map((c) => html`<th class="num">${kpiLabel(c.kpi, lang)}<div class="pts">${w.kinds[c.kind] ?? c.kind}</div></th>`)}</tr></thead><tbody>${rows}</tbody></table>
${laterTable}`,
  );
}

function audit(ctx: Ctx): Html {
  const { data, w } = ctx;
  const rows = data.audit.map(
    (a) =>
      html`<tr><td class="num">${a.seq}</td><td>${formatInstant(a.at, ctx.timeZone)}</td><td>${a.grain} ${a.period}</td><td class="num">${a.revision}</td><td>${a.action}</td><td>${a.actor}</td><td>${a.comment}</td><td class="mono">${a.details === '{}' ? '' : a.details}</td></tr>`,
  );
  return page(
    'audit',
    w.audit,
    html`<p class="note">${w.auditNote}</p>
<table><thead><tr><th class="num">${w.seq}</th><th>${w.at}</th><th>${w.period}</th><th class="num">${w.revision}</th><th>${w.action}</th><th>${w.actor}</th><th>${w.comment}</th><th></th></tr></thead><tbody>${rows}</tbody></table>`,
  );
}

/** The pack as an HTML document: cover, headline KPIs, one page per scorecard, restatements, targets and inputs, audit trail. */
export function renderReviewPack(data: ReviewPackData, options: RenderOptions): string {
  const ctx: Ctx = { data, lang: options.lang, w: WORDS[options.lang], timeZone: options.timeZone };
  const { w, lang } = ctx;
  const sections: { id: string; title: string; body: () => Html }[] = [
    { id: 'headline', title: w.headline, body: () => headline(ctx) },
    ...data.scorecards.map((card) => ({ id: `scorecard-${card.id}`, title: `${w.scorecard}: ${cardLabel(card, lang)}`, body: () => scorecard(card, ctx) })),
    { id: 'restatements', title: w.restatements, body: () => restatements(ctx) },
    { id: 'inputs', title: w.inputs, body: () => inputs(ctx) },
    { id: 'audit', title: w.audit, body: () => audit(ctx) },
  ];
  const doc = html`<!DOCTYPE html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${w.title} ${data.quarter.id} · ${w.revision} ${data.revision}</title>
<style>${trusted(STYLE)}</style>
</head>
<body>
${cover(ctx, sections, options.generatedAt)}
${sections.map((s) => s.body())}
</body>
</html>
`;
  return doc.toString();
}

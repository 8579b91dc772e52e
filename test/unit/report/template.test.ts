import { parsePeriod } from '../../../schemas/calendar/index.js';
import { DEFAULT_SCORECARDS } from '../../../schemas/scorecards/defaults.js';
import { parseScorecardConfig } from '../../../schemas/scorecards/index.js';
import { kpiChart } from '../../../services/report/charts.js';
import type { ReviewPackData } from '../../../services/report/data.js';
import { formatChange, formatInstant, formatValue } from '../../../services/report/labels.js';
import { renderReviewPack } from '../../../services/report/render.js';
import { escapeHtml, html, trusted } from '../../../services/report/template.js';

const HOSTILE = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>&amp;`;
const CALENDAR = { timeZone: 'Asia/Shanghai', fiscalYearStartMonth: 1 };

describe('html templates', () => {
  it('escapes every interpolated string, in text and in attributes', () => {
    const out = html`<p title="${HOSTILE}">${HOSTILE}</p>`.toString();
    expect(out).toBe(
      '<p title="&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;&amp;amp;">' +
        '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;&amp;amp;</p>',
    );
  });

  it('escapes arrays item by item and inserts nested templates once, not escaped twice', () => {
    const items = ['<a>', 'b&c'].map((t) => html`<li>${t}</li>`);
    expect(html`<ul>${items}${['<raw>', 3]}</ul>`.toString()).toBe('<ul><li>&lt;a&gt;</li><li>b&amp;c</li>&lt;raw&gt;3</ul>');
  });

  it('renders null, undefined and false as nothing, and 0 as 0', () => {
    expect(html`[${null}${undefined}${false}${0}]`.toString()).toBe('[0]');
  });

  it('drops control characters that HTML does not allow', () => {
    expect(escapeHtml('a\u0000b\u0007c\td\ne\u007f')).toBe('abc\td\ne');
  });

  it('inserts trusted markup as is', () => {
    expect(html`<div>${trusted('<svg></svg>')}</div>`.toString()).toBe('<div><svg></svg></div>');
  });
});

describe('labels', () => {
  it('formats values the way kpi values prints them', () => {
    expect(formatValue('ratio', 0.84104, 'en')).toBe('84.10%');
    expect(formatValue('money', 2557209.99, 'zh')).toBe('2,557,209.99');
    expect(formatValue('hours', 5.2, 'en')).toBe('5.20 h');
    expect(formatValue('count', 7518, 'en')).toBe('7,518');
    expect(formatValue('score', null, 'zh')).toBe('缺失');
  });

  it('gives changes in percentage points for ratios, relative otherwise', () => {
    expect(formatChange('ratio', 0.8, 0.8123)).toBe('+1.23 pp');
    expect(formatChange('money', 200, 150)).toBe('−25.0%');
    expect(formatChange('money', null, 150)).toBe('—');
  });

  it('reads a stored UTC instant as local time of the business zone', () => {
    expect(formatInstant('2026-12-02 07:59:46.247', 'Asia/Shanghai')).toBe('2026-12-02 15:59:46 Asia/Shanghai');
  });
});

describe('charts', () => {
  it('draws the same SVG for the same data, however many charts the process drew before', () => {
    const chart = (): string =>
      kpiChart({ id: 'c1', title: '销售额', unit: 'money', categories: ['R01', 'R02'], series: [{ name: '本季度', role: 'current', values: [1, 2] }, { name: '目标', role: 'target', values: [2, null] }], width: 200, height: 120 }).toString();
    const first = chart();
    expect(chart()).toBe(first);
    expect(first).toMatch(/^<svg /);
    expect(first).toContain('销售额');
    expect(first).not.toContain('<style');
    expect(first).not.toMatch(/\bzr\d+-/);
  });
});

/** A small pack whose every string from outside is hostile. */
function hostilePack(): ReviewPackData {
  const scorecards = parseScorecardConfig(DEFAULT_SCORECARDS);
  const record = { importId: 'imp-1', kind: 'targets' as const, importedBy: HOSTILE, importedAt: '2026-10-02 01:00:00.000', source: HOSTILE, sha256: 'ab'.repeat(32), rows: 1 };
  return {
    quarter: parsePeriod('quarter', '2026-Q3', CALENDAR),
    revision: 1,
    revisionState: 'approved',
    pendingRevision: null,
    forced: false,
    approval: { actor: HOSTILE, at: '2026-10-03 02:00:00.000', comment: HOSTILE },
    previous: { quarter: '2026-Q2', revision: null },
    headline: [{ kpi: 'net_sales', company: { unit: 'all', value: 10, previous: null, target: null }, regions: [{ unit: HOSTILE, value: 5, previous: null, target: { value: 6, from: 'import', ref: 'imp-1' } }] }],
    bands: scorecards.bands,
    scorecards: [
      {
        id: 'store_manager',
        zh: '店长',
        en: 'Store manager',
        level: 'store',
        peerGroup: 'parent',
        lines: [{ kpi: 'sales_attainment', weight: 100, target: 1, rule: 'achievement' }],
        units: [{ level: 'store', unit: HOSTILE, peer_group: HOSTILE, score: 91.5, rank: 1, peers: 1, band: HOSTILE, missing: [HOSTILE], lines: [{ kpi: 'sales_attainment', weight: 100, value: 0.915, target: 1, achievement: 0.915, points: 91.5, missing: false }] }],
      },
    ],
    restatements: [{ kpi: 'net_sales', level: 'store', unit: HOSTILE, from_revision: 1, to_revision: 2, old_value: 1, new_value: 2 }],
    imports: { readAt: '2026-10-01 00:00:00.000', used: [{ kind: 'targets', kpi: 'net_sales', level: 'store', unit: HOSTILE, value: 6, numerator: null, denominator: null, importId: 'imp-1' }], imports: [record], later: [{ ...record, importId: 'imp-2' }] },
    audit: [{ at: '2026-10-01 00:00:00.000', grain: 'quarter', period: '2026-Q3', revision: 1, action: HOSTILE, actor: HOSTILE, comment: HOSTILE, details: HOSTILE, seq: 1 }],
  };
}

describe('renderReviewPack', () => {
  it.each(['zh', 'en'] as const)('escapes every hostile string and carries no script (%s)', (lang) => {
    const page = renderReviewPack(hostilePack(), { lang, timeZone: CALENDAR.timeZone, generatedAt: '2026-12-01T00:00:00.000Z' });
    expect(page).not.toMatch(/<script|<img/i);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    // Attribute values are quoted with " and a " inside is escaped, so without them what is
    // left of each tag is its names: no handler, no source, no link.
    const tags = page.replace(/"[^"]*"/g, '""').match(/<[a-z][^>]*>/gi) ?? [];
    expect(tags.filter((t) => /\s(on[a-z]+|src|href)\s*=/i.test(t))).toEqual([]);
    // One stylesheet.
    expect(page.match(/<style>/g)).toHaveLength(1);
    expect(page).toContain(`default-src 'none'`);
  });

  it('makes one section per page and marks the generation time in one place', () => {
    const render = (generatedAt: string): string => renderReviewPack(hostilePack(), { lang: 'zh', timeZone: CALENDAR.timeZone, generatedAt });
    const a = render('2026-12-01T00:00:00.000Z');
    const b = render('2026-12-02T00:00:00.000Z');
    expect(a.match(/data-section="/g)).toHaveLength(6);
    expect(a.match(/data-generated=/g)).toHaveLength(1);
    const marked = /<p class="generated"[^>]*>[^<]*<\/p>/;
    expect(a.replace(marked, '')).toBe(b.replace(marked, ''));
    expect(a).not.toBe(b);
  });
});

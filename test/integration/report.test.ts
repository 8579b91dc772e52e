import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { runKpi, type CliResult } from '../support/cli.js';
import { DEMO_QUARTER, demoFixture } from '../support/demo-fixture.js';
import { ROOT, tempDir } from '../support/env.js';
import { request, startRun, type RunningKpi } from '../support/kpi-run.js';

const QUARTER = DEMO_QUARTER;
/** Where the packs and their pages are left for a person to look at. */
const ARTIFACTS = path.join(ROOT, '.data', 'test-artifacts', 'report');
/** A target import's source as an attacker would name it. */
const HOSTILE = '<script>alert(1)</script>';
/** The one place of a pack that differs between two packs of the same revision. */
const GENERATED = /<p class="generated"[^>]*>[^<]*<\/p>/;

interface CardJson {
  id: string;
  units: { unit: string; rank: number | null; peers: number; score: number | null; band: string; lines: { kpi: string; points: number | null; missing: boolean }[] }[];
}

/** What `kpi scorecard --format json` prints for the quarter. */
interface QuarterCards {
  revision: number;
  status: string;
  pendingRevision: number | null;
  scorecards: CardJson[];
}

/** Runs a poppler tool; its stdout, or the test fails with what it said. */
function poppler(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.error?.message ?? result.stderr}`);
  return result.stdout;
}

/**
 * Share of a page's pixels that are not near white, from a binary PGM (P5, 8 bits) as
 * pdftoppm -gray writes it; `topRows` (0–1) looks at that top part of the page only.
 */
function inkShare(pgm: Buffer, topRows = 1): number {
  // Header: P5, width, height, maxval, separated by whitespace, then one byte per pixel.
  const header = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(pgm.subarray(0, 64).toString('latin1'));
  if (!header) throw new Error('not a binary PGM');
  const width = Number(header[1]);
  const rows = Math.floor(Number(header[2]) * topRows);
  const pixels = pgm.subarray(header[0].length, header[0].length + width * rows);
  let ink = 0;
  for (const p of pixels) if (p < 200) ink += 1;
  return ink / pixels.length;
}

/** The HTML of one section of a pack, by its id. */
function section(page: string, id: string): string {
  const start = page.indexOf(`data-section="${id}"`);
  if (start < 0) throw new Error(`no section ${id}`);
  const end = page.indexOf('</section>', start);
  return page.slice(start, end);
}

/** The title of each section in order, as a person reads it (entities decoded, spaces collapsed). */
function sectionTitles(page: string): string[] {
  const decode = (t: string): string => t.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  return [...page.matchAll(/data-section="[^"]*">\s*<h[12]>([^<]*)<\/h[12]>/g)].map((m) => decode(m[1] ?? '').replace(/\s+/g, ' ').trim());
}

const squash = (text: string): string => text.replace(/\s+/g, ' ');

/**
 * The quarterly review pack of a real quarter: a copy of the demo's warehouse (simulated,
 * ingested, closed through Temporal, approved, restated with a pending revision), held by a
 * `kpi api`, so `kpi report` reads through the running process as a viewer.
 * The pack's numbers are those `kpi scorecard` and `kpi values` give, it reads the same twice
 * but for its marked generation time, a hostile import source stays text, and the PDF has one
 * page per section, none blank, Chinese included. The packs and their pages are left in
 * .data/test-artifacts/report.
 *
 * The cases only read the store, each writing files of its own names, and mostly wait on
 * `kpi` processes and Chromium: they run side by side.
 */
describe('quarterly review pack', () => {
  let kpi: RunningKpi;
  let viewer: string;
  let env: NodeJS.ProcessEnv;
  const html: Record<string, string> = {};
  /** `kpi scorecard` of the quarter, asked once for the cases that read it. */
  let quarterCards: Promise<QuarterCards> | undefined;

  const kpiAs = (args: string[]): Promise<CliResult> => runKpi(args, env, { timeoutMs: 180_000 });
  const ok = (result: CliResult): CliResult => {
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
    return result;
  };
  /** `kpi report` into the artifacts folder; the path it prints is the file it wrote. */
  const report = async (lang: 'zh' | 'en', format: 'html' | 'pdf' | 'json', name: string): Promise<string> => {
    const out = path.join(ARTIFACTS, name);
    const result = ok(await kpiAs(['report', '--period', QUARTER, '--lang', lang, '--format', format, '--out', out]));
    expect(result.stdout.trim()).toBe(out);
    return out;
  };

  beforeAll(async () => {
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    const { dataDir } = await demoFixture();
    kpi = await startRun('api', { CHDB_PATH: path.join(dataDir, 'demo', 'clickhouse'), KPI_DATA_DIR: dataDir });
    viewer = await kpi.user('reviewer', 'viewer');
    const operator = await kpi.user('importer', 'operator');
    // A later target import of the quarter, named by its importer as an attacker would.
    const imported = await request(kpi.base, '/v1/targets', {
      method: 'POST',
      token: operator,
      body: `kpi,grain,period,level,unit,value\nnet_sales,quarter,${QUARTER},store,S001,123456\n`,
      headers: { 'content-type': 'text/csv', 'x-import-source': encodeURIComponent(HOSTILE) },
    });
    expect({ status: imported.status, body: imported.status === 200 ? '' : imported.text }).toEqual({ status: 200, body: '' });
    env = { ...kpi.env, KPI_TOKEN: viewer };
    await Promise.all((['zh', 'en'] as const).map(async (lang) => (html[lang] = readFileSync(await report(lang, 'html', `kpi-review-${QUARTER}-${lang}.html`), 'utf8'))));
  }, 1_200_000);

  afterAll(async () => {
    if (kpi) expect(await kpi.stop()).toBe(0);
  });

  const scorecards = (): Promise<QuarterCards> => (quarterCards ??= kpiAs(['scorecard', '--grain', 'quarter', '--period', QUARTER, '--format', 'json']).then((result) => JSON.parse(ok(result).stdout) as QuarterCards));

  it.concurrent('names the revision it shows, its approval and the restatement awaiting approval', async () => {
    const cards = await scorecards();
    expect(cards).toMatchObject({ revision: 1, status: 'approved', pendingRevision: 2 });
    const cover = section(html['zh'] ?? '', 'cover');
    expect(cover).toContain(`data-revision="${cards.revision}"`);
    expect(cover).toContain('data-state="approved"');
    expect(cover).toContain('demo-finance');
    expect(cover).toContain('quarterly review');
    expect(cover).toContain('重述版本 2 待批准');
    const json = JSON.parse(readFileSync(await report('en', 'json', `kpi-review-${QUARTER}-en.json`), 'utf8')) as { revision: number; pendingRevision: number; approval: { actor: string } };
    expect(json).toMatchObject({ revision: 1, pendingRevision: 2, approval: { actor: 'demo-finance' } });
  });

  it.concurrent('shows every scorecard and the numbers kpi scorecard and kpi values give', async () => {
    const cards = (await scorecards()).scorecards;
    expect(cards.length).toBeGreaterThan(0);
    for (const lang of ['zh', 'en'] as const) {
      const page = html[lang] ?? '';
      for (const card of cards) {
        const body = section(page, `scorecard-${card.id}`);
        for (const u of card.units) {
          const row = new RegExp(`<tr data-card="${card.id}" data-unit="${u.unit}">([\\s\\S]*?)</tr>`).exec(body)?.[1] ?? '';
          const shown = { card: card.id, unit: u.unit, score: row.includes(`data-score>${u.score === null ? '—' : u.score.toFixed(2)}<`), rank: row.includes(u.rank === null ? '>—<' : `>${u.rank}/${u.peers}<`), band: row.includes(`>${u.band}</span>`) };
          expect(shown).toEqual({ card: card.id, unit: u.unit, score: true, rank: true, band: true });
          for (const line of u.lines.filter((l) => !l.missing && l.points !== null)) expect({ kpi: line.kpi, shown: row.includes(`<div class="pts">${line.points?.toFixed(2) ?? ''}</div>`) }).toEqual({ kpi: line.kpi, shown: true });
        }
      }
    }
    const values = JSON.parse(ok(await kpiAs(['values', '--grain', 'quarter', '--period', QUARTER, '--level', 'company', '--json'])).stdout) as { kpi: string; value: number | null }[];
    const valueOf = (kpi: string): number => values.find((v) => v.kpi === kpi)?.value ?? Number.NaN;
    const headline = section(html['en'] ?? '', 'headline');
    const cell = (kpi: string): string => new RegExp(`<tr data-kpi="${kpi}">[\\s\\S]*?data-value>([^<]*)<`).exec(headline)?.[1] ?? '';
    expect(cell('net_sales')).toBe(valueOf('net_sales').toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
    expect(cell('on_time_delivery_rate')).toBe(`${(valueOf('on_time_delivery_rate') * 100).toFixed(2)}%`);
    expect(cell('csat')).toBe(valueOf('csat').toFixed(2));
    // Charts are inline SVG drawn on the server, one per headline KPI.
    expect(headline.match(/<svg /g)).toHaveLength(7);
  });

  it.concurrent('reads the same when made twice, but for the marked generation time', async () => {
    const again = readFileSync(await report('zh', 'html', `kpi-review-${QUARTER}-zh.again.html`), 'utf8');
    const first = html['zh'] ?? '';
    expect(first.match(/data-generated=/g)).toHaveLength(1);
    expect(again.replace(GENERATED, '')).toBe(first.replace(GENERATED, ''));
  });

  it('keeps a hostile import source as text, with no script in the page', () => {
    for (const page of Object.values(html)) {
      expect(section(page, 'inputs')).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(page).not.toMatch(/<script/i);
      expect(page.match(/<style>/g)).toHaveLength(1);
    }
  });

  it.concurrent.each(['zh', 'en'] as const)('prints one page per section, none blank (%s)', async (lang) => {
    const pdf = await report(lang, 'pdf', `kpi-review-${QUARTER}-${lang}.pdf`);
    const titles = sectionTitles(html[lang] ?? '');
    expect(titles.length).toBe((html[lang] ?? '').match(/data-section="/g)?.length);
    const pages = Number(/Pages:\s+(\d+)/.exec(poppler('pdfinfo', [pdf]))?.[1]);
    expect(pages).toBe(titles.length);

    // Pages as PNG for a person; as grey PGM, small, for the ink check.
    poppler('pdftoppm', ['-png', '-r', '60', pdf, path.join(ARTIFACTS, `${lang}-page`)]);
    const grey = tempDir(`report-pgm-${lang}`);
    poppler('pdftoppm', ['-gray', '-r', '30', pdf, path.join(grey, 'p')]);
    const inks = readdirSync(grey).sort().map((f) => inkShare(readFileSync(path.join(grey, f))));
    expect(inks).toHaveLength(pages);
    expect(inks.filter((share) => share < 0.003)).toEqual([]);

    // Each page starts with its section's title, as text in the PDF.
    const texts = titles.map((_, i) => squash(poppler('pdftotext', ['-f', String(i + 1), '-l', String(i + 1), '-layout', pdf, '-'])));
    expect(titles.filter((title, i) => !(texts[i] ?? '').includes(title))).toEqual([]);
    if (lang === 'zh') {
      expect(texts[0]).toContain('季度经营评审报告');
      expect(texts.join(' ')).toContain('店长');
      // The cover's Chinese title, drawn: ink in the top third of page 1.
      expect(inkShare(readFileSync(path.join(grey, readdirSync(grey).sort()[0] ?? '')), 1 / 3)).toBeGreaterThan(0.005);
    }
  });

  it.concurrent('answers GET /v1/report with a PDF for a viewer, and 401 without a credential', async () => {
    const res = await fetch(`${kpi.base}/v1/report?period=${QUARTER}&lang=zh&format=pdf`, { headers: { authorization: `Bearer ${viewer}` } });
    const body = Buffer.from(await res.arrayBuffer());
    expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({ status: 200, type: 'application/pdf' });
    expect(body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const anonymous = await request(kpi.base, `/v1/report?period=${QUARTER}&lang=zh&format=pdf`);
    expect(anonymous.status).toBe(401);
    const page = await request(kpi.base, `/v1/report?period=${QUARTER}&lang=en`, { token: viewer });
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.text.replace(GENERATED, '')).toBe((html['en'] ?? '').replace(GENERATED, ''));
  });
});

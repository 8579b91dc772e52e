import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../../services/report/browser.js';
import { ROOT, tempDir } from '../support/env.js';
import { lastJsonLine, runKpi } from '../support/cli.js';
import { DEMO_QUARTER, demoFixture } from '../support/demo-fixture.js';
import { startRun, type RunningKpi } from '../support/kpi-run.js';

const QUARTER = DEMO_QUARTER;
/** Where screenshots go, for a person to look at. */
const ARTIFACTS = path.join(ROOT, '.data', 'test-artifacts', 'console');

/**
 * The web console in a real browser (Debian's headless Chromium) against a real `kpi run`
 * on the warehouse of a demo run: a closed, approved and restated quarter. People log in
 * with their tokens; what each page shows is what the CLI gives; roles decide what each
 * can do, and forged requests are refused.
 */
describe('the web console in a browser', () => {
  let dataDir: string;
  const tokenOf = (who: 'finance' | 'operator'): string => readFileSync(path.join(dataDir, 'demo', `demo-${who}.token`), 'utf8').trim();
  let kpi: RunningKpi;
  let browser: Browser;
  let viewer: string;

  /** A browser context logged in with `token`, and the problems its pages report. */
  const loggedIn = async (token: string): Promise<{ context: BrowserContext; page: Page; problems: string[] }> => {
    const context = await browser.newContext({ baseURL: kpi.base, locale: 'zh-CN' });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
    });
    await page.goto('/login');
    await page.fill('#token', token);
    await Promise.all([page.waitForURL(`${kpi.base}/`), page.click('button[type=submit]')]);
    return { context, page, problems };
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const fixture = await demoFixture();
    dataDir = fixture.dataDir;
    // The demo's task queue and workflow ids: its quarter's review waits there for approval.
    kpi = await startRun('run', { CHDB_PATH: path.join(dataDir, 'demo', 'clickhouse'), KPI_DATA_DIR: dataDir, KPI_TASK_QUEUE: fixture.taskQueue, KPI_WORKFLOW_ID_PREFIX: fixture.workflowPrefix });
    viewer = await kpi.user('vera', 'viewer');
    browser = await launchBrowser();
  }, 1_200_000);

  afterAll(async () => {
    await browser?.close();
    if (kpi) expect(await kpi.stop()).toBe(0);
  });

  it('a token logs in; every page loads with no console error and no failed request, in Chinese and English', async () => {
    const { context, page, problems } = await loggedIn(kpi.adminToken);
    const pages = ['/?grain=year', `/scorecards?grain=quarter&period=${QUARTER}`, '/explorer?kpi=net_sales&level=region&grain=month', `/periods?grain=quarter&period=${QUARTER}`, '/pipeline'];
    for (const lang of ['zh', 'en'] as const) {
      for (const [i, url] of pages.entries()) {
        const response = await page.goto(`${url}${url.includes('?') ? '&' : '?'}lang=${lang}`);
        expect({ url, status: response?.status() }).toEqual({ url, status: 200 });
        expect(await page.locator('main h1').count()).toBe(1);
        await page.screenshot({ path: path.join(ARTIFACTS, `${String(i + 1).padStart(2, '0')}-${url.slice(1).split('?')[0] || 'overview'}-${lang}.png`), fullPage: true });
      }
    }
    expect(problems).toEqual([]);
    // No script, no asset from elsewhere: the policy says so and the page has none.
    expect(await page.locator('script').count()).toBe(0);
    await context.close();
  });

  it('shows the numbers kpi scorecard and kpi values give', async () => {
    const { context, page } = await loggedIn(viewer);
    const cards = await runKpi(['scorecard', '--grain', 'quarter', '--period', QUARTER, '--format', 'json'], { ...kpi.env, KPI_TOKEN: viewer });
    type Unit = { unit: string; score: number | null; band: string };
    const expected = lastJsonLine<{ scorecards: { id: string; units: Unit[] }[] }>(cards.stdout).scorecards;
    await page.goto(`/scorecards?grain=quarter&period=${QUARTER}&lang=en`);
    for (const card of expected) {
      for (const unit of card.units) {
        const row = page.locator(`table[data-scorecard="${card.id}"] tr[data-unit="${unit.unit}"]`);
        expect({ card: card.id, unit: unit.unit, score: await row.locator('td[data-score]').getAttribute('data-score'), band: await row.locator('.band').textContent() }).toEqual({
          card: card.id,
          unit: unit.unit,
          score: unit.score === null ? '' : String(unit.score),
          band: unit.band,
        });
      }
    }
    const values = await runKpi(['values', '--grain', 'month', '--period', '2026-08', '--level', 'region', '--kpi', 'net_sales', '--json'], { ...kpi.env, KPI_TOKEN: viewer });
    const [region] = lastJsonLine<{ unit: string; value: number }[]>(values.stdout);
    await page.goto(`/explorer?kpi=net_sales&level=region&unit=${region?.unit ?? ''}&grain=month&lang=en`);
    const cell = page.locator('table.series tr', { has: page.locator('th', { hasText: '2026-08' }) }).locator('td[data-value]');
    expect(Number(await cell.getAttribute('data-value'))).toBe(region?.value);
    await context.close();
  });

  it("drills a scorecard cell down to its rows, which sum to the cell's value", async () => {
    const { context, page, problems } = await loggedIn(viewer);
    const values = await runKpi(['values', '--grain', 'month', '--period', '2026-08', '--level', 'region', '--kpi', 'net_sales', '--json'], { ...kpi.env, KPI_TOKEN: viewer });
    const [region] = lastJsonLine<{ unit: string; value: number; numerator: number }[]>(values.stdout);
    await page.goto(`/explorer?kpi=net_sales&level=region&unit=${region?.unit ?? ''}&grain=month&lang=zh`);
    await page.locator('table.series tr', { has: page.locator('th', { hasText: '2026-08' }) }).locator('a').click();
    await page.waitForURL(/\/explain\?/);
    const explained = page.locator('dl.explained');
    expect(Number(await explained.getAttribute('data-value'))).toBe(region?.value);
    const sums = page.locator('p.sums');
    // Net sales is Σ numerator in fen ÷ 100: the rows listed add up to the stored numerator.
    expect(Number(await sums.getAttribute('data-sum-numerator'))).toBe(Number(await explained.getAttribute('data-numerator')));
    expect(Number(await sums.getAttribute('data-sum-numerator')) / 100).toBeCloseTo(region?.value ?? NaN, 6);
    expect(Number(await sums.getAttribute('data-rows'))).toBeGreaterThan(0);
    expect(await page.locator('table.events tbody tr').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'explain-zh.png'), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  });

  it("downloads a quarter's review pack from its page", async () => {
    const { context, page } = await loggedIn(viewer);
    await page.goto(`/periods?grain=quarter&period=${QUARTER}&lang=zh`);
    const href = await page.locator('p.download a.button').getAttribute('href');
    const pdf = await context.request.get(href ?? '');
    expect([pdf.status(), pdf.headers()['content-type']]).toEqual([200, 'application/pdf']);
    expect((await pdf.body()).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    await context.close();
  });

  it('renders Chinese with a CJK font, not blank boxes', async () => {
    const { context, page } = await loggedIn(viewer);
    await page.goto(`/scorecards?grain=quarter&period=${QUARTER}&lang=zh`);
    const heading = page.locator('main h1');
    expect(await heading.textContent()).toBe('计分卡');
    // Evaluated in the page, where the fonts are.
    expect(await page.evaluate('document.fonts.ready.then(() => document.fonts.check(\'16px "Noto Sans CJK SC"\', "计分卡"))')).toBe(true);
    // The glyphs take the width of real characters: a missing font draws nothing or narrow boxes.
    const box = await heading.boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(40);
    const shot = await heading.screenshot({ path: path.join(ARTIFACTS, 'chinese-heading.png') });
    expect(shot.length).toBeGreaterThan(500);
    await context.close();
  });

  it('finance approves from the console and the audit names that person; a viewer has no button and a forged POST is refused', async () => {
    const finance = await loggedIn(tokenOf('finance'));
    await finance.page.goto(`/periods?grain=quarter&period=${QUARTER}&lang=en`);
    await finance.page.fill('form[action="/periods/approve"] input[name=comment]', 'reviewed in the console');
    await Promise.all([finance.page.waitForURL(/\/periods\?grain=quarter/), finance.page.click('button[name=approve]')]);
    const audit = await finance.page.locator('table.audit tbody tr').allTextContents();
    const actors = await finance.page.locator('table.audit tr', { hasText: 'approve' }).locator('td.actor').allTextContents();
    expect({ newest: actors[0], audit }).toMatchObject({ newest: 'demo-finance' });
    await finance.page.screenshot({ path: path.join(ARTIFACTS, 'approved.png'), fullPage: true });
    // Without the session's form token, even finance's own browser is refused.
    const forgedByFinance = await finance.context.request.post('/periods/approve', { form: { quarter: QUARTER, comment: 'x', _csrf: 'not-the-token' } });
    expect(forgedByFinance.status()).toBe(403);
    await finance.context.close();

    const reader = await loggedIn(viewer);
    await reader.page.goto(`/periods?grain=quarter&period=${QUARTER}&lang=en`);
    expect(await reader.page.locator('button[name=approve]').count()).toBe(0);
    const csrf = await reader.page.locator('input[name=_csrf]').first().getAttribute('value');
    const forged = await reader.context.request.post('/periods/approve', { form: { quarter: QUARTER, comment: 'x', _csrf: csrf ?? '' } });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toMatch(/vera \(viewer\) may not do this/);
    await reader.context.close();
  });

  it('an upload with a bad row shows the problem by line and stores nothing', async () => {
    const count = async (): Promise<number> => Number(lastJsonLine<{ n: string }[]>((await runKpi(['sql', 'SELECT toString(count()) AS n FROM kpi_targets', '--format', 'json'], { ...kpi.env, KPI_TOKEN: kpi.adminToken })).stdout)[0]?.n);
    const before = await count();
    const operator = await loggedIn(tokenOf('operator'));
    await operator.page.goto('/periods?grain=quarter&lang=en');
    const csv = path.join(tempDir('console-upload'), 'targets.csv');
    writeFileSync(csv, 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q4,store,S001,100000\nhappiness,quarter,2026-Q4,store,S002,1\n');
    await operator.page.setInputFiles('input[type=file]', csv);
    await operator.page.click('form[action="/imports"] button[type=submit]');
    await operator.page.waitForSelector('.problem');
    expect(await operator.page.locator('.problem').textContent()).toMatch(/line 3: kpi/);
    await operator.page.screenshot({ path: path.join(ARTIFACTS, 'upload-problem.png'), fullPage: true });
    expect(await count()).toBe(before);
    await operator.context.close();
  });
});

import { createKafka, deleteTopics } from '../../services/shared/kafka.js';
import { loadConfig } from '../../services/shared/config.js';
import { waitFor } from '../../services/shared/wait.js';
import { generateEvents } from '../../services/simulator/generate.js';
import { publish } from '../../services/simulator/produce.js';
import type { Explanation, ExplainedRow } from '../../services/periods/explain.js';
import type { KpiValueRow } from '../../services/periods/read.js';
import { parsePeriod, previousPeriod } from '../../schemas/calendar/index.js';
import { topicNames, type BusinessEvent } from '../../schemas/events/index.js';
import { KPIS, type Kpi } from '../../schemas/kpis/catalog.js';
import { lastJsonLine, runKpi } from '../support/cli.js';
import { uniqueName } from '../support/env.js';
import { distinctEvents, oracleKpis } from '../support/kpi-oracle.js';
import { request, startRun, type RunningKpi } from '../support/kpi-run.js';
import { untilCaughtUp } from '../support/pipeline.js';

/**
 * `kpi explain` over a real `kpi run`: simulated events go through Kafka and ingest, July and
 * August are closed through Temporal, a late day of August arrives and restates it. Then,
 * for every event KPI at the company, a region and a store, the rows explain gives sum (or
 * give the quantile) to the stored value exactly, the late rows are exactly the late events,
 * and the net-sales numerator matches an independent computation over the events.
 */
const MONTH = '2026-08';
const PAGE = 5_000;

describe('kpi explain: every KPI value down to the rows it is made of', () => {
  let kpi: RunningKpi;
  let viewer: string;
  let operator: string;
  let events: BusinessEvent[];
  let lateEvents: BusinessEvent[];
  let kafka: ReturnType<typeof createKafka>;
  let topics: string[] = [];
  const config = loadConfig({ ...process.env, KPI_TIME_ZONE: 'Asia/Shanghai', KPI_FISCAL_YEAR_START_MONTH: '1' });
  const calendar = config.business;
  const august = parsePeriod('month', MONTH, calendar);

  const get = async <T>(path: string, token = viewer): Promise<{ status: number; body: T }> => {
    const r = await request(kpi.base, path, { token });
    return { status: r.status, body: JSON.parse(r.text) as T };
  };
  const explain = async (q: Record<string, string | number>): Promise<Explanation> => {
    const r = await get<Explanation>(`/v1/explain?${new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)])).toString()}`);
    if (r.status !== 200) throw new Error(`explain ${JSON.stringify(q)}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  /** Every row, page by page. */
  const allRows = async (q: Record<string, string | number>): Promise<{ first: Explanation; rows: ExplainedRow[] }> => {
    const first = await explain({ ...q, pageSize: PAGE });
    const rows = [...first.events.items];
    for (let page = 2; page <= first.events.pages; page += 1) rows.push(...(await explain({ ...q, pageSize: PAGE, page })).events.items);
    return { first, rows };
  };
  const values = async (period: string, revision?: number): Promise<KpiValueRow[]> =>
    (await get<{ values: KpiValueRow[] }>(`/v1/values?grain=month&period=${period}${revision !== undefined ? `&revision=${revision}` : ''}`)).body.values;

  beforeAll(async () => {
    kpi = await startRun('run', { KPI_TIME_ZONE: 'Asia/Shanghai', KPI_FISCAL_YEAR_START_MONTH: '1', KPI_LATE_CHECK_SECONDS: '1', KPI_RESTATE_DEBOUNCE_SECONDS: '1' });
    viewer = await kpi.user('vera', 'viewer');
    operator = await kpi.user('otto', 'operator');
    const prefix = String(kpi.env['KPI_TOPIC_PREFIX']);
    const group = String(kpi.env['KPI_INGEST_GROUP']);
    topics = Object.values(topicNames(prefix).families);
    kafka = createKafka({ brokers: config.kafka.brokers, clientId: uniqueName('explain-test') });
    // July too: August's member churn and customer growth look back one period. Duplicates exercise dedup.
    const sim = generateEvents({ from: '2026-07-01', to: '2026-08-31', stores: 6, regions: 2, seed: 37, scale: 0.15, timeZone: calendar.timeZone, duplicates: 0.03, notAfterMs: Date.now() });
    await publish(kafka, sim.messages, { topicPrefix: prefix });
    await untilCaughtUp(kafka, group, topics, { what: 'ingest of July and August' });
    const targets = 'kpi,grain,period,level,unit,value\nnet_sales,month,2026-08,region,R01,150000.5\ngross_profit,month,2026-08,company,all,40000\n';
    const inputs = 'kpi,grain,period,level,unit,value,numerator,denominator\nstaff_turnover_rate,month,2026-08,store,S001,,1,40\n';
    for (const [kind, body] of [['targets', targets], ['inputs', inputs]] as const) {
      const r = await request(kpi.base, `/v1/${kind}`, { method: 'POST', token: operator, body, headers: { 'content-type': 'text/csv' } });
      expect(r.status).toBe(200);
    }
    for (const period of ['2026-07', MONTH]) {
      const closed = await runKpi(['close', '--grain', 'month', '--period', period, '--force', '--wait', '--json'], { ...kpi.env, KPI_TOKEN: operator });
      expect(closed.code).toBe(0);
    }
    // A day of August that ingest sees only now: the running kpi restates August as revision 2.
    const late = generateEvents({ from: '2026-08-12', to: '2026-08-12', stores: 6, regions: 2, seed: 91, scale: 0.15, timeZone: calendar.timeZone, notAfterMs: Date.parse(august.end) - 1 });
    lateEvents = distinctEvents(late.messages.map((m) => m.event));
    events = distinctEvents([...sim.messages, ...late.messages].map((m) => m.event));
    await publish(kafka, late.messages, { topicPrefix: prefix });
    await untilCaughtUp(kafka, group, topics, { what: 'ingest of the late day' });
    await waitFor(async () => ((await get<{ revision: number | null }>(`/v1/periods/month/${MONTH}`)).body.revision === 2 ? true : undefined), { timeoutMs: 120_000, intervalMs: 500, what: 'the restatement of August' });
  });

  afterAll(async () => {
    expect(await kpi.stop()).toBe(0);
    await deleteTopics(kafka, topics).catch(() => undefined);
  });

  const eventKpis = KPIS.filter((k): k is Extract<Kpi, { kind: 'event' }> => k.kind === 'event');
  const UNITS = [
    { level: 'company', unit: 'all' },
    { level: 'region', unit: 'R01' },
    { level: 'store', unit: 'S002' },
  ] as const;

  it.each(UNITS)('every event KPI of $level $unit is exactly the rows explain lists', async ({ level, unit }) => {
    const stored = new Map((await values(MONTH)).filter((v) => v.level === level && v.unit === unit).map((v) => [v.kpi, v]));
    const wrong: string[] = [];
    const kinds = new Set<string>();
    for (const k of eventKpis) {
      const { first, rows } = await allRows({ grain: 'month', period: MONTH, kpi: k.id, level, unit });
      const v = stored.get(k.id);
      const sum = (side: 'numerator' | 'denominator'): number | null => (rows.length > 0 && rows.every((r) => r[side] === null) ? null : rows.reduce((s, r) => s + (r[side] ?? 0), 0));
      const f = k.formula;
      const num = f.numerator.length > 0 ? sum('numerator') : null;
      const den = f.denominator ? sum('denominator') : null;
      let value: number | null;
      if (f.statistic) {
        // quantileExact(0.9): the element at ⌊0.9·n⌋ of the sorted statistics.
        const sorted = rows.map((r) => r.statistic ?? NaN).sort((a, b) => a - b);
        value = sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.floor(0.9 * sorted.length))] ?? null);
        kinds.add('percentile');
      } else if (f.denominator) {
        value = den === 0 || den === null || num === null ? null : (num / den) * (f.scale ?? 1);
        kinds.add(rows.some((r) => r.type.startsWith('distinct ')) ? 'distinct count' : (f.scale ?? 1) === 1 ? 'ratio' : 'mean');
      } else {
        value = num === null ? null : num * (f.scale ?? 1);
        kinds.add(rows.some((r) => r.type.startsWith('distinct ')) ? 'distinct count' : 'sum');
      }
      if (k.id === 'active_customers') kinds.add('distinct count');
      // A distinct key is listed once.
      const distinctIds = rows.filter((r) => r.type.startsWith('distinct ')).map((r) => r.id);
      if (new Set(distinctIds).size !== distinctIds.length) wrong.push(`${k.id}: a distinct key listed twice`);
      const close = (a: number | null, b: number | null): boolean => (a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)));
      if (!v) {
        if (rows.length > 0) wrong.push(`${k.id}: ${rows.length} rows but no stored value`);
        continue;
      }
      // Counts and sums are whole numbers: exactly equal; the value within 1e-9.
      if (num !== (v.numerator ?? (f.numerator.length > 0 ? 0 : null)) || den !== (v.denominator ?? (f.denominator ? 0 : null)) || !close(value, v.value)) {
        wrong.push(`${k.id}: rows give ${num}/${den}=${value}, stored ${v.numerator}/${v.denominator}=${v.value}`);
      }
      if (first.events.rows !== rows.length || first.events.numerator !== (f.numerator.length > 0 ? (num ?? 0) : null) || (f.statistic && first.events.statistic !== v.value)) {
        wrong.push(`${k.id}: totals ${JSON.stringify({ rows: first.events.rows, numerator: first.events.numerator, statistic: first.events.statistic })} disagree with the rows`);
      }
      if (first.value !== v.value || first.revision !== 2) wrong.push(`${k.id}: explain says ${first.value} at revision ${first.revision}`);
    }
    expect(wrong).toEqual([]);
    expect([...kinds].sort()).toEqual(['distinct count', 'mean', 'percentile', 'ratio', 'sum']);
  });

  it('gives the net-sales numerator an independent computation over the events gives', async () => {
    const expected = oracleKpis(events, { startMs: Date.parse(august.start), endMs: Date.parse(august.end), previousStartMs: Date.parse(previousPeriod(august, calendar).start) });
    for (const [level, unit] of [['company', 'all'], ['region', 'R01']] as const) {
      const { first, rows } = await allRows({ grain: 'month', period: MONTH, kpi: 'net_sales', level, unit });
      const want = expected.get(`${level}|${unit}|net_sales`)?.numerator;
      expect(rows.reduce((s, r) => s + (r.numerator ?? 0), 0)).toBe(want);
      expect(first.numerator).toBe(want);
    }
  });

  it('marks exactly the late events, which are what the restatement added', async () => {
    const { first, rows } = await allRows({ grain: 'month', period: MONTH, kpi: 'net_sales', level: 'company', unit: 'all' });
    const late = first.late;
    if (!late) throw new Error('August has been closed: explain must name its late rows');
    const inAugust = (e: BusinessEvent): boolean => Date.parse(e.occurred_at) >= Date.parse(august.start) && Date.parse(e.occurred_at) < Date.parse(august.end);
    const lateIds = new Set(lateEvents.filter((e) => inAugust(e) && (e.type === 'sale.completed' || e.type === 'refund.issued')).map((e) => e.event_id));
    expect(late.rows).toBeGreaterThan(0);
    expect(new Set(rows.filter((r) => r.late).map((r) => r.id))).toEqual(lateIds);
    expect(rows.filter((r) => r.late).length).toBe(late.rows);
    for (const r of rows) expect(r.late).toBe(r.arrivedAt !== null && r.arrivedAt > late.since);
    // Revision 1 read everything but the late rows; the restatement added exactly them.
    const [asReported] = (await values(MONTH, 1)).filter((v) => v.kpi === 'net_sales' && v.level === 'company');
    expect((first.numerator ?? 0) - (asReported?.numerator ?? 0)).toBe(late.numerator);
    expect(late.closedAt).not.toBeNull();
    // --late pages through them alone.
    const only = await explain({ grain: 'month', period: MONTH, kpi: 'net_sales', level: 'company', late: 'true', pageSize: 10 });
    expect(only.events.rows).toBe(late.rows);
    expect(only.events.items.every((r) => r.late)).toBe(true);
    expect(only.events.numerator).toBe(late.numerator);
  });

  it('pages: page 2 continues page 1, without overlap, and the total counts every row', async () => {
    const q = { grain: 'month', period: MONTH, kpi: 'average_order_value', level: 'region', unit: 'R01' };
    const [one, two, both] = await Promise.all([explain({ ...q, pageSize: 50 }), explain({ ...q, pageSize: 50, page: 2 }), explain({ ...q, pageSize: 100 })]);
    const key = (r: ExplainedRow): string => `${r.source}|${r.type}|${r.id}|${r.line}`;
    expect(one.events.items).toHaveLength(50);
    expect(two.events.items).toHaveLength(50);
    expect([...one.events.items, ...two.events.items].map(key)).toEqual(both.events.items.map(key));
    expect(new Set([...one.events.items, ...two.events.items].map(key)).size).toBe(100);
    expect(one.events.rows).toBeGreaterThan(100);
    expect(one.events.pages).toBe(Math.ceil(one.events.rows / 50));
    const beyond = await explain({ ...q, pageSize: 50, page: one.events.pages + 1 });
    expect(beyond.events.items).toEqual([]);
    expect(beyond.events.rows).toBe(one.events.rows);
  });

  it('places a value among its children, its previous period and its target', async () => {
    const august2 = await values(MONTH);
    const company = await explain({ grain: 'month', period: MONTH, kpi: 'net_sales', level: 'company' });
    const children = august2.filter((v) => v.kpi === 'net_sales' && ['region', 'department', 'channel'].includes(v.level));
    expect(company.children.map((c) => `${c.level}|${c.unit}|${c.value}`).sort()).toEqual(children.map((c) => `${c.level}|${c.unit}|${c.value}`).sort());
    const july = (await values('2026-07')).find((v) => v.kpi === 'net_sales' && v.level === 'company');
    expect(company.previous).toMatchObject({ period: '2026-07', revision: 1, value: july?.value });
    const region = await explain({ grain: 'month', period: MONTH, kpi: 'net_sales', level: 'region', unit: 'R01' });
    expect(region.children.map((c) => c.level)).toEqual(region.children.map(() => 'store'));
    expect(region.children.length).toBeGreaterThan(0);
    expect(region.children.map((c) => c.unit).sort()).toEqual(august2.filter((v) => v.kpi === 'net_sales' && v.level === 'store' && v.parent === 'R01').map((v) => v.unit).sort());
    expect(region.target).toMatchObject({ kpi: 'net_sales', value: 150000.5 });
    // Attainment divides by that target: its one denominator row is the import in force.
    const attainment = await explain({ grain: 'month', period: MONTH, kpi: 'sales_attainment', level: 'region', unit: 'R01', pageSize: PAGE });
    expect(attainment.target).toMatchObject({ kpi: 'net_sales', value: 150000.5 });
    expect(attainment.events.items.filter((r) => r.source === 'targets')).toEqual([expect.objectContaining({ type: 'target', id: region.target?.importId, denominator: 15_000_050 })]);
    const store = await explain({ grain: 'month', period: MONTH, kpi: 'staff_turnover_rate', level: 'store', unit: 'S001' });
    expect(store).toMatchObject({ value: 0.025, numerator: 1, denominator: 40, children: [] });
    expect(store.events.items).toEqual([expect.objectContaining({ source: 'inputs', type: 'input', numerator: 1, denominator: 40, statistic: 0.025 })]);
  });

  it('refuses what cannot be explained with a 400 naming the problem, and a caller without a credential with a 401', async () => {
    const bad: [string, RegExp][] = [
      ['grain=month&period=2026-08&kpi=revenue&level=company', /unknown KPI/],
      ['grain=fortnight&period=2026-08&kpi=net_sales&level=company', /grain/],
      ['grain=month&period=2026-13&kpi=net_sales&level=company', /2026-13/],
      ['grain=month&period=2026-08&kpi=net_sales&level=region', /unit/],
      ['grain=month&period=2026-08&kpi=net_sales&level=company&pageSize=0', /page size/],
      ['grain=month&period=2026-08&kpi=net_sales', /level/],
    ];
    for (const [q, message] of bad) {
      const r = await get<{ error: string }>(`/v1/explain?${q}`);
      expect([q, r.status, r.body.error]).toEqual([q, 400, expect.stringMatching(message)]);
    }
    expect((await request(kpi.base, '/v1/explain?grain=month&period=2026-08&kpi=net_sales&level=company')).status).toBe(401);
  });

  it('kpi explain prints the same for a viewer, and refuses bad arguments (exit 2) and a missing credential (exit 3)', async () => {
    const env = { ...kpi.env, KPI_TOKEN: viewer };
    const args = ['explain', '--grain', 'month', '--period', MONTH, '--kpi', 'net_sales', '--level', 'region', '--unit', 'R01', '--page-size', '5'];
    const [text, json] = await Promise.all([runKpi(args, env), runKpi([...args, '--page', '2', '--json'], env)]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^net_sales \(销售额, Net sales\) · month 2026-08 · region R01 · revision 2 \(closed\)/);
    expect(text.stdout).toMatch(/rows 1–5 of [\d,]+ \(page 1 of [\d,]+\)/);
    expect(text.stdout).toContain('late rows:');
    const parsed = lastJsonLine<Explanation>(json.stdout);
    expect(parsed.events.page).toBe(2);
    expect(parsed.events.items).toEqual((await explain({ grain: 'month', period: MONTH, kpi: 'net_sales', level: 'region', unit: 'R01', pageSize: 5, page: 2 })).events.items);
    const refused = await Promise.all([
      runKpi(['explain', '--grain', 'month', '--period', MONTH, '--kpi', 'revenue', '--level', 'company'], env),
      runKpi(['explain', '--grain', 'fortnight', '--period', MONTH, '--kpi', 'net_sales', '--level', 'company'], env),
      runKpi(['explain', '--grain', 'month', '--period', '2026-13', '--kpi', 'net_sales', '--level', 'company'], env),
      runKpi(['explain', '--grain', 'month', '--period', MONTH, '--kpi', 'net_sales', '--level', 'company', '--page-size', '9999'], env),
    ]);
    expect(refused.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(refused.map((r) => r.stderr)).toEqual([expect.stringMatching(/unknown KPI "revenue"/), expect.stringMatching(/--grain/), expect.stringMatching(/2026-13/), expect.stringMatching(/page size/)]);
    const anonymous = await runKpi(['explain', '--grain', 'month', '--period', MONTH, '--kpi', 'net_sales', '--level', 'company'], { ...kpi.env, KPI_TOKEN: '', KPI_TOKEN_FILE: '/nonexistent/kpi-token' });
    expect(anonymous.code).toBe(3);
  });
});

import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Grain } from '../../schemas/calendar/index.js';
import { KPIS } from '../../schemas/kpis/catalog.js';
import { insertRows, openWarehouse, queryRows, type Warehouse } from '../../services/shared/clickhouse.js';
import { loadConfig } from '../../services/shared/config.js';
import { migrate } from '../../services/shared/migrations.js';
import { READABLE_TABLES } from '../../services/shared/statements.js';
import { writeKpiCatalog } from '../../services/shared/views.js';
import { listPeriods, readValues } from '../../services/periods/read.js';
import { lastJsonLine, runKpi } from '../support/cli.js';
import { tempDir } from '../support/env.js';

// The documented views against rows written straight into the tables under them, with
// not-yet-merged duplicates and every state a period revision can be in. Each expectation
// is computed here, in plain TypeScript over the rows inserted, from the rules in words:
// the newest write of a key wins; a period's current revision is its latest closed or
// approved one, else 0 (provisional); an event counts once however often it was stored.

const VIEWS = ['v_events_by_family', 'v_kpi_values', 'v_periods', 'v_restatements', 'v_scorecard_lines', 'v_scorecards'];
const SLICE_MS = 15 * 60_000;
const ZONE = 'Asia/Shanghai';

/** `2026-08-01 00:07:00.000` for minute 7 of a day in August: the time of a write. */
const at = (minute: number): string => `2026-08-01 ${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}:00.000`;
const chTime = (ms: number, digits: 0 | 3 = 3): string => new Date(ms).toISOString().replace('T', ' ').slice(0, digits === 3 ? 23 : 19);

/** Keeps the newest row of each key, as ReplacingMergeTree(version) does once merged. */
function newest<T>(rows: T[], key: (r: T) => string, version: (r: T) => string): T[] {
  const kept = new Map<string, T>();
  for (const r of rows) {
    const seen = kept.get(key(r));
    if (!seen || version(r) >= version(seen)) kept.set(key(r), r);
  }
  return [...kept.values()];
}

/** Rows in one order whatever the order of their keys, to compare sets of rows. */
function sorted<T extends object>(rows: T[]): T[] {
  const text = (r: T): string => JSON.stringify(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
  return [...rows].sort((a, b) => text(a).localeCompare(text(b)));
}

// ---------------------------------------------------------------------------------------
// The rows.

const BOUNDS: Record<string, { period_start: string; period_end: string }> = {
  '2026-03': { period_start: '2026-02-28 16:00:00.000', period_end: '2026-03-31 16:00:00.000' },
  '2026-04': { period_start: '2026-03-31 16:00:00.000', period_end: '2026-04-30 16:00:00.000' },
  '2026-05': { period_start: '2026-04-30 16:00:00.000', period_end: '2026-05-31 16:00:00.000' },
  '2026-06': { period_start: '2026-05-31 16:00:00.000', period_end: '2026-06-30 16:00:00.000' },
  '2026-Q2': { period_start: '2026-03-31 16:00:00.000', period_end: '2026-06-30 16:00:00.000' },
};
const grainOf = (period: string): Grain => (period.includes('Q') ? 'quarter' : 'month');
const bounds = (period: string): { period_start: string; period_end: string } => BOUNDS[period] ?? { period_start: '', period_end: '' };

type Revision = {
  grain: string;
  period: string;
  revision: number;
  state: string;
  forced: boolean;
  updated_at: string;
};
const revision = (period: string, rev: number, state: string, minute: number, forced = false): Revision => ({ grain: grainOf(period), period, revision: rev, state, forced, updated_at: at(minute) });

const REVISIONS: Revision[] = [
  // Closed with --force; its restatement changed nothing and was discarded.
  revision('2026-03', 1, 'computing', 1, true),
  revision('2026-03', 1, 'closed', 2, true),
  revision('2026-03', 2, 'computing', 3),
  revision('2026-03', 2, 'discarded', 4),
  // Closed, then restated: revision 2 is current.
  revision('2026-05', 1, 'computing', 1),
  revision('2026-05', 1, 'closed', 2),
  revision('2026-05', 2, 'computing', 5),
  revision('2026-05', 2, 'closed', 6),
  // Approved, then restated: the restatement awaits approval, revision 1 stays current.
  revision('2026-Q2', 1, 'computing', 1),
  revision('2026-Q2', 1, 'closed', 2),
  revision('2026-Q2', 1, 'approved', 3),
  revision('2026-Q2', 2, 'computing', 7),
  revision('2026-Q2', 2, 'pending', 8),
  // Its first close is still computing. (2026-04 has provisional values only.)
  revision('2026-06', 1, 'computing', 9),
];

type Value = {
  grain: string;
  period: string;
  revision: number;
  kpi: string;
  level: string;
  unit: string;
  parent: string;
  numerator: number | null;
  denominator: number | null;
  value: number | null;
  computed_at: string;
};
const value = (period: string, rev: number, kpi: string, unit: string, v: number | null, minute: number, fraction?: [number, number]): Value => ({
  grain: grainOf(period),
  period,
  revision: rev,
  kpi,
  level: unit === 'all' ? 'company' : 'store',
  unit,
  parent: unit === 'all' ? '' : 'R1',
  numerator: fraction ? fraction[0] : v,
  denominator: fraction ? fraction[1] : null,
  value: v,
  computed_at: at(minute),
});

const VALUES: Value[] = [
  value('2026-04', 0, 'net_sales', 'all', 100, 1),
  value('2026-04', 0, 'net_sales', 'S1', 60, 1),
  value('2026-04', 0, 'on_time_delivery_rate', 'all', 0.8, 1, [8, 10]),
  value('2026-04', 0, 'retired_kpi', 'all', 7, 1),
  value('2026-05', 0, 'net_sales', 'all', 1, 1),
  value('2026-05', 1, 'net_sales', 'all', 200, 2),
  value('2026-05', 2, 'net_sales', 'all', 210, 5),
  // A retried step rewrote the key: the newer write is the value.
  value('2026-05', 2, 'net_sales', 'all', 215, 6),
  value('2026-05', 2, 'return_rate', 'all', null, 5, [0, 0]),
  value('2026-Q2', 1, 'net_sales', 'all', 900, 2),
  value('2026-Q2', 2, 'net_sales', 'all', 950, 7),
  value('2026-06', 0, 'net_sales', 'all', 50, 1),
  value('2026-06', 1, 'net_sales', 'all', 55, 9),
  value('2026-03', 1, 'net_sales', 'all', 300, 2),
  value('2026-03', 2, 'net_sales', 'all', 300, 3),
];

type Scorecard = {
  grain: string;
  period: string;
  revision: number;
  scorecard: string;
  level: string;
  unit: string;
  peer_group: string;
  score: number | null;
  rank: number | null;
  peers: number;
  band: string;
  missing: string[];
  computed_at: string;
};
const scorecard = (period: string, rev: number, unit: string, score: number | null, rank: number | null, minute: number): Scorecard => ({
  grain: grainOf(period),
  period,
  revision: rev,
  scorecard: 'store_manager',
  level: 'store',
  unit,
  peer_group: 'R1',
  score,
  rank,
  peers: 2,
  band: score === null ? 'unscored' : score >= 90 ? 'A' : 'B',
  missing: score === null ? ['return_rate'] : [],
  computed_at: at(minute),
});
const SCORECARDS: Scorecard[] = [
  scorecard('2026-05', 1, 'S1', 95, 1, 2),
  scorecard('2026-05', 1, 'S2', 80, 2, 2),
  scorecard('2026-05', 2, 'S1', 70, 2, 5),
  scorecard('2026-05', 2, 'S1', 85, 2, 6),
  scorecard('2026-05', 2, 'S2', 91, 1, 5),
  scorecard('2026-Q2', 1, 'S1', null, null, 2),
  scorecard('2026-Q2', 2, 'S1', 88, 1, 7),
  scorecard('2026-06', 1, 'S1', 99, 1, 9),
];

type Line = {
  grain: string;
  period: string;
  revision: number;
  scorecard: string;
  level: string;
  unit: string;
  kpi: string;
  weight: number;
  value: number | null;
  target: number | null;
  achievement: number | null;
  points: number | null;
  missing: boolean;
  computed_at: string;
};
const line = (period: string, rev: number, kpi: string, v: number | null, minute: number): Line => ({
  grain: grainOf(period),
  period,
  revision: rev,
  scorecard: 'store_manager',
  level: 'store',
  unit: 'S1',
  kpi,
  weight: 50,
  value: v,
  target: 100,
  achievement: v === null ? null : Math.min(1, v / 100),
  points: v === null ? null : Math.min(1, v / 100) * 50,
  missing: v === null,
  computed_at: at(minute),
});
const LINES: Line[] = [
  line('2026-05', 1, 'net_sales', 90, 2),
  line('2026-05', 2, 'net_sales', 70, 5),
  line('2026-05', 2, 'net_sales', 80, 6),
  line('2026-05', 2, 'return_rate', 40, 6),
  line('2026-Q2', 1, 'return_rate', null, 2),
  line('2026-Q2', 2, 'return_rate', 30, 7),
];

type Restatement = {
  grain: string;
  period: string;
  from_revision: number;
  to_revision: number;
  kpi: string;
  level: string;
  unit: string;
  old_value: number | null;
  new_value: number | null;
  old_numerator: number | null;
  new_numerator: number | null;
  old_denominator: number | null;
  new_denominator: number | null;
  computed_at: string;
};
const restatement = (period: string, kpi: string, oldValue: number | null, newValue: number | null, minute: number): Restatement => ({
  grain: grainOf(period),
  period,
  from_revision: 1,
  to_revision: 2,
  kpi,
  level: 'company',
  unit: 'all',
  old_value: oldValue,
  new_value: newValue,
  old_numerator: oldValue,
  new_numerator: newValue,
  old_denominator: null,
  new_denominator: null,
  computed_at: at(minute),
});
const RESTATEMENTS: Restatement[] = [
  restatement('2026-05', 'net_sales', 200, 210, 5),
  restatement('2026-05', 'net_sales', 200, 215, 6),
  restatement('2026-05', 'return_rate', 0.1, null, 6),
  restatement('2026-Q2', 'net_sales', 900, 950, 8),
];

/** Raw events: the family, its table, and the columns that matter here (the rest take their defaults). */
type RawEvent = {
  family: string;
  table: string;
  event_id: string;
  occurred_at: string;
  line_no?: number;
  source_offset: number;
};
const event = (family: string, table: string, eventId: string, occurredIso: string, offset: number, lineNo?: number): RawEvent => ({
  family,
  table,
  event_id: eventId,
  occurred_at: chTime(Date.parse(occurredIso)),
  source_offset: offset,
  ...(lineNo === undefined ? {} : { line_no: lineNo }),
});
// Around midnight in Shanghai (16:00 UTC): the last instant of one business day, the first of the next.
const EVENTS: RawEvent[] = [
  event('sales', 'sale_lines', 's1', '2026-07-14T15:59:59.999Z', 1, 1),
  event('sales', 'sale_lines', 's1', '2026-07-14T15:59:59.999Z', 1, 2),
  event('sales', 'sale_lines', 's2', '2026-07-14T16:00:00.000Z', 2, 1),
  event('sales', 'sale_lines', 's3', '2026-07-14T16:14:59.999Z', 3, 1),
  event('orders', 'order_events', 'o1', '2026-07-14T16:05:00.000Z', 1),
  event('orders', 'order_events', 'o2', '2026-07-14T16:20:00.000Z', 2),
  event('returns', 'return_events', 'r1', '2026-07-14T10:00:00.000Z', 1),
];
/** Stored again later (a replayed batch, a producer duplicate), not merged yet. */
const REPLAYED: RawEvent[] = [
  event('sales', 'sale_lines', 's1', '2026-07-14T15:59:59.999Z', 11, 1),
  event('sales', 'sale_lines', 's1', '2026-07-14T15:59:59.999Z', 11, 2),
  event('orders', 'order_events', 'o1', '2026-07-14T16:05:00.000Z', 12),
];

// ---------------------------------------------------------------------------------------
// What the views must show, computed from the rows above.

/** Each period's revisions, the newest write of each kept. */
function revisionsByPeriod(): Map<string, Revision[]> {
  const byPeriod = new Map<string, Revision[]>();
  for (const r of newest(REVISIONS, (x) => `${x.grain}|${x.period}|${x.revision}`, (x) => x.updated_at)) {
    byPeriod.set(`${r.grain}|${r.period}`, [...(byPeriod.get(`${r.grain}|${r.period}`) ?? []), r].sort((a, b) => a.revision - b.revision));
  }
  return byPeriod;
}

/** The current revision: the latest closed or approved one. */
function currentOf(revs: Revision[]): Revision | undefined {
  return revs.filter((r) => r.state === 'closed' || r.state === 'approved').at(-1);
}

function expectedPeriods(): Record<string, unknown>[] {
  return [...revisionsByPeriod().values()].map((revs) => {
    const current = currentOf(revs);
    const latest = revs.at(-1) as Revision;
    const pending = revs.filter((r) => r.state === 'pending' && r.revision > (current?.revision ?? 0)).at(-1);
    const state = pending ? 'pending' : (current?.state ?? (revs.some((r) => r.state === 'computing') ? 'computing' : latest.state));
    return {
      grain: latest.grain,
      period: latest.period,
      ...bounds(latest.period),
      state,
      revision: current?.revision ?? null,
      current_state: current?.state ?? null,
      pending_revision: pending?.revision ?? null,
      revisions: revs.filter((r) => r.state !== 'discarded').length,
      forced: (current ?? latest).forced,
      updated_at: latest.updated_at,
    };
  });
}

/** Revision in force per period and its state: the current one, else 0 (provisional). */
function inForce(grain: string, period: string): { revision: number; status: string } {
  const current = currentOf(revisionsByPeriod().get(`${grain}|${period}`) ?? []);
  return current ? { revision: current.revision, status: current.state } : { revision: 0, status: 'provisional' };
}

const label = (kpi: string): { label_zh: string; label_en: string } => {
  const k = KPIS.find((x) => x.id === kpi);
  return { label_zh: k?.zh ?? '', label_en: k?.en ?? '' };
};

function expectedValues(): Record<string, unknown>[] {
  return newest(VALUES, (v) => `${v.grain}|${v.period}|${v.revision}|${v.kpi}|${v.level}|${v.unit}`, (v) => v.computed_at)
    .filter((v) => v.revision === inForce(v.grain, v.period).revision)
    .map((v) => ({
      grain: v.grain,
      period: v.period,
      ...bounds(v.period),
      revision: v.revision,
      status: inForce(v.grain, v.period).status,
      kpi: v.kpi,
      ...label(v.kpi),
      value_unit: KPIS.find((k) => k.id === v.kpi)?.unit ?? '',
      level: v.level,
      unit: v.unit,
      parent: v.parent,
      value: v.value,
      numerator: v.numerator,
      denominator: v.denominator,
      computed_at: v.computed_at,
    }));
}

/** Scorecards and lines of the current revision only: a period without one shows none. */
const scored = (r: { grain: string; period: string; revision: number }): boolean => {
  const current = currentOf(revisionsByPeriod().get(`${r.grain}|${r.period}`) ?? []);
  return current !== undefined && current.revision === r.revision;
};

function expectedScorecards(): Record<string, unknown>[] {
  return newest(SCORECARDS, (s) => `${s.grain}|${s.period}|${s.revision}|${s.scorecard}|${s.level}|${s.unit}`, (s) => s.computed_at)
    .filter(scored)
    .map((s) => ({ ...s, status: inForce(s.grain, s.period).status }));
}

function expectedLines(): Record<string, unknown>[] {
  return newest(LINES, (l) => `${l.grain}|${l.period}|${l.revision}|${l.scorecard}|${l.level}|${l.unit}|${l.kpi}`, (l) => l.computed_at)
    .filter(scored)
    .map((l) => ({ ...l, ...label(l.kpi) }));
}

function expectedRestatements(): Record<string, unknown>[] {
  const revs = revisionsByPeriod();
  return newest(RESTATEMENTS, (r) => `${r.grain}|${r.period}|${r.to_revision}|${r.kpi}|${r.level}|${r.unit}`, (r) => r.computed_at).map((r) => ({
    ...r,
    to_state: revs.get(`${r.grain}|${r.period}`)?.find((x) => x.revision === r.to_revision)?.state ?? '',
    ...label(r.kpi),
  }));
}

/** Distinct event ids per family and bucket of event time (the UTC instant, in ms). */
function countEvents(bucketOf: (occurredMs: number) => string): { family: string; bucket: string; events: number }[] {
  const ids = new Map<string, Set<string>>();
  for (const e of [...EVENTS, ...REPLAYED]) {
    const key = `${e.family}|${bucketOf(Date.parse(`${e.occurred_at.replace(' ', 'T')}Z`))}`;
    ids.set(key, (ids.get(key) ?? new Set()).add(e.event_id));
  }
  return [...ids].map(([key, set]) => {
    const [family = '', bucket = ''] = key.split('|');
    return { family, bucket, events: set.size };
  });
}

const expectedSlices = (): Record<string, unknown>[] =>
  countEvents((ms) => chTime(Math.floor(ms / SLICE_MS) * SLICE_MS, 0)).map(({ family, bucket, events }) => ({ family, slice: bucket, events }));

const expectedBusinessDays = (): Record<string, unknown>[] => {
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });
  return countEvents((ms) => day.format(ms)).map(({ family, bucket, events }) => ({ family, day: bucket, events }));
};

// ---------------------------------------------------------------------------------------

describe('the documented views (v_…)', () => {
  const dir = tempDir('views');
  let warehouse: Warehouse;
  const read = <T = Record<string, unknown>>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> => queryRows<T>(warehouse.client, sql, params);

  beforeAll(async () => {
    warehouse = await openWarehouse(loadConfig({ ...process.env, CLICKHOUSE_URL: undefined, CHDB_PATH: path.join(dir, 'store') }).clickhouse);
    await migrate(warehouse.client);
    const withBounds = <T extends { period: string }>(rows: T[]): (T & { period_start: string; period_end: string })[] => rows.map((r) => ({ ...r, ...bounds(r.period) }));
    // One insert per row, so that rows of one key are separate parts, as retries and replays leave them.
    for (const r of withBounds(REVISIONS)) await insertRows(warehouse.client, 'period_revisions', [{ ...r, reason: '', workflow_id: 'w', late_events: 0 }]);
    for (const v of withBounds(VALUES)) await insertRows(warehouse.client, 'kpi_values', [{ ...v, status: v.revision === 0 ? 'provisional' : 'closed' }]);
    for (const s of SCORECARDS) await insertRows(warehouse.client, 'scorecards', [s]);
    for (const l of LINES) await insertRows(warehouse.client, 'scorecard_lines', [l]);
    for (const r of RESTATEMENTS) await insertRows(warehouse.client, 'restatements', [r]);
    for (const batch of [EVENTS, REPLAYED]) {
      for (const table of new Set(batch.map((e) => e.table))) {
        await insertRows(warehouse.client, table, batch.filter((e) => e.table === table).map(({ family: _family, table: _table, ...row }) => row));
      }
    }
  });

  afterAll(async () => {
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('documents every view and every column with a comment, and lets the SQL door read each', async () => {
    const views = await read<{ name: string; comment: string }>("SELECT name, comment FROM system.tables WHERE database = currentDatabase() AND engine = 'View' AND startsWith(name, 'v_') ORDER BY name");
    expect(views.map((v) => v.name)).toEqual(VIEWS);
    for (const v of views) expect({ view: v.name, documented: v.comment.trim().length > 0 }).toEqual({ view: v.name, documented: true });
    const columns = await read<{ table: string; name: string; comment: string }>('SELECT table, name, comment FROM system.columns WHERE database = currentDatabase() AND table IN {views: Array(String)}', { views: VIEWS });
    expect(new Set(columns.map((c) => c.table))).toEqual(new Set(VIEWS));
    for (const c of columns) expect({ column: `${c.table}.${c.name}`, documented: c.comment.trim().length > 0 }).toEqual({ column: `${c.table}.${c.name}`, documented: true });
    for (const v of VIEWS) expect(READABLE_TABLES).toContain(v);
  });

  it('copies the KPI catalog for the labels on every migrate, and writes nothing when nothing changed', async () => {
    const catalog = async (): Promise<Record<string, unknown>[]> => sorted(await read('SELECT kpi, label_zh, label_en, value_unit, direction FROM kpi_catalog FINAL'));
    const expected = sorted(KPIS.map((k) => ({ kpi: k.id, label_zh: k.zh, label_en: k.en, value_unit: k.unit, direction: k.direction })));
    expect(await catalog()).toEqual(expected);
    expect(await writeKpiCatalog(warehouse.client)).toBe(0);

    // A label changed by hand (or left by an older catalog) is put back by the next run.
    await insertRows(warehouse.client, 'kpi_catalog', [{ kpi: 'net_sales', label_zh: '旧', label_en: 'Old', value_unit: 'money', direction: 'higher' }]);
    await migrate(warehouse.client);
    expect(await catalog()).toEqual(expected);
    expect(await writeKpiCatalog(warehouse.client)).toBe(0);
  });

  it('v_periods: current revision, state, pending restatement and forced, as the rule says', async () => {
    const rows = await read(
      'SELECT grain, period, toString(period_start) AS period_start, toString(period_end) AS period_end, state, revision, current_state, pending_revision, toUInt32(revisions) AS revisions, forced, toString(updated_at) AS updated_at FROM v_periods',
    );
    expect(sorted(rows)).toEqual(sorted(expectedPeriods()));
  });

  it('v_kpi_values: the values of the revision in force, the newest write of each, labelled', async () => {
    const rows = await read(
      'SELECT grain, period, toString(period_start) AS period_start, toString(period_end) AS period_end, revision, status, kpi, label_zh, label_en, value_unit, level, unit, parent, value, numerator, denominator, toString(computed_at) AS computed_at FROM v_kpi_values',
    );
    expect(sorted(rows)).toEqual(sorted(expectedValues()));
  });

  it('v_scorecards and v_scorecard_lines: the current revision only, the newest write of each', async () => {
    const units = await read('SELECT grain, period, revision, status, scorecard, level, unit, peer_group, score, rank, peers, band, missing, toString(computed_at) AS computed_at FROM v_scorecards');
    expect(sorted(units)).toEqual(sorted(expectedScorecards()));
    const lines = await read('SELECT grain, period, revision, scorecard, level, unit, kpi, label_zh, label_en, weight, value, target, achievement, points, missing, toString(computed_at) AS computed_at FROM v_scorecard_lines');
    expect(sorted(lines)).toEqual(sorted(expectedLines()));
  });

  it('v_restatements: what each restatement changed, with the state of the revision it made', async () => {
    const rows = await read(
      'SELECT grain, period, from_revision, to_revision, to_state, kpi, label_zh, label_en, level, unit, old_value, new_value, old_numerator, new_numerator, old_denominator, new_denominator, toString(computed_at) AS computed_at FROM v_restatements',
    );
    expect(sorted(rows)).toEqual(sorted(expectedRestatements()));
  });

  it('v_events_by_family: each event id once per 15-minute slice, and business days as runs of slices', async () => {
    const rows = await read('SELECT family, toString(slice) AS slice, toUInt32(events) AS events FROM v_events_by_family');
    expect(sorted(rows)).toEqual(sorted(expectedSlices()));
    const days = await read('SELECT family, toString(toDate(slice, {zone: String})) AS day, toUInt32(sum(events)) AS events FROM v_events_by_family GROUP BY family, day', { zone: ZONE });
    expect(sorted(days)).toEqual(sorted(expectedBusinessDays()));
  });

  it('agree with kpi periods and kpi values', async () => {
    const periods = await listPeriods(warehouse.client);
    const view = await read<{ grain: string; period: string; revision: number | null; state: string; pending_revision: number | null; forced: boolean }>(
      'SELECT grain, period, revision, state, pending_revision, forced FROM v_periods',
    );
    expect(sorted(view)).toEqual(sorted(periods.map((p) => ({ grain: p.grain, period: p.period, revision: p.revision, state: p.state, pending_revision: p.pendingRevision, forced: p.forced }))));
    for (const period of Object.keys(BOUNDS)) {
      const grain = grainOf(period);
      const cli = await readValues(warehouse.client, { grain, period });
      const rows = await read('SELECT kpi, level, unit, value, revision, status FROM v_kpi_values WHERE grain = {grain: String} AND period = {period: String}', { grain, period });
      expect(sorted(rows)).toEqual(sorted(cli.values.map((v) => ({ kpi: v.kpi, level: v.level, unit: v.unit, value: v.value, revision: v.revision, status: v.status }))));
    }
  });
});

describe('kpi views', () => {
  const dir = tempDir('views-cli');
  const env: NodeJS.ProcessEnv = { ...process.env, CHDB_PATH: path.join(dir, 'store'), LOG_LEVEL: 'warn' };

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints every view and column with its comment, as a table and as JSON; an unknown view is a usage error', async () => {
    expect((await runKpi(['migrate'], env)).code).toBe(0);

    const json = await runKpi(['views', '--json'], env);
    expect(json.code).toBe(0);
    const views = lastJsonLine<{ name: string; comment: string; columns: { name: string; type: string; comment: string }[] }[]>(json.stdout);
    expect(views.map((v) => v.name)).toEqual(VIEWS);
    for (const v of views) {
      expect(v.comment).not.toBe('');
      for (const c of v.columns) expect({ column: `${v.name}.${c.name}`, type: c.type.length > 0, comment: c.comment.length > 0 }).toEqual({ column: `${v.name}.${c.name}`, type: true, comment: true });
    }
    const periods = views.find((v) => v.name === 'v_periods');
    expect(periods?.columns.map((c) => c.name)).toEqual(['grain', 'period', 'period_start', 'period_end', 'state', 'revision', 'current_state', 'pending_revision', 'revisions', 'forced', 'updated_at']);
    expect(periods?.columns.find((c) => c.name === 'revision')).toEqual({ name: 'revision', type: 'Nullable(UInt32)', comment: expect.stringContaining('latest closed or approved') as unknown });

    const table = await runKpi(['views'], env);
    expect(table.code).toBe(0);
    for (const v of views) {
      expect(table.stdout).toContain(`${v.name}: ${v.comment}\n`);
      // Every comment whole, never cut to a column width.
      for (const c of v.columns) expect(table.stdout).toMatch(new RegExp(`\\n  ${c.name} +${c.type.replace(/[()]/g, '\\$&')} +${c.comment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
    }

    const one = await runKpi(['views', 'v_kpi_values', '--json'], env);
    expect(lastJsonLine<{ name: string }[]>(one.stdout).map((v) => v.name)).toEqual(['v_kpi_values']);

    const unknown = await runKpi(['views', 'v_nope'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown view "v_nope"; the store has v_events_by_family, v_kpi_values');
  });

  it('is open to a viewer, who may read values but not run SQL', async () => {
    expect((await runKpi(['users', 'add', 'vera', '--role', 'viewer'], env)).code).toBe(0);
    const made = await runKpi(['tokens', 'create', 'vera', '--name', 'test', '--json'], env);
    const viewer = { ...env, KPI_TOKEN: lastJsonLine<{ token: string }>(made.stdout).token };
    const views = await runKpi(['views', 'v_periods'], viewer);
    expect(views.code).toBe(0);
    expect(views.stdout).toMatch(/^v_periods: /);
    expect((await runKpi(['sql', 'SELECT 1'], viewer)).code).toBe(3);
  });
});

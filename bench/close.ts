/**
 * `npm run bench:close`: closes a quarter of at least 5,000,000 events — every KPI at every
 * level, through the real Temporal workflow — and prints its time against a ceiling
 * measured in the same run on the same rows: one raw ClickHouse scan of the quarter
 * (`SELECT count(), sum(…)` over each event table). Two closes: cold (no day partials yet,
 * so the close computes every day's from the events, then merges them) and warm (the days
 * already computed and nothing arrived since, as after the quarter's day closes: the close
 * merges partials only). It also times each KPI query alone, from the events and from the
 * partials, which shows what bounds each. Figures are ratios, since the machine is shared
 * and absolute times drift.
 *
 * The simulated quarter is stored once under .data/bench and reused by later runs with the
 * same arguments (generating and storing it takes several minutes).
 *
 *   npm run bench:close [-- --stores 275 --quarter 2026-Q2 --seed 9 --scale 1]
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, moneySettings } from '../services/shared/config.js';
import { insertRows, openWarehouse, queryRows, type ClickHouseClient } from '../services/shared/clickhouse.js';
import { migrate } from '../services/shared/migrations.js';
import { loadScorecards } from '../services/shared/scorecards.js';
import { connectTemporal } from '../services/shared/temporal.js';
import { FAMILY_TABLES, eventRows } from '../services/ingest/rows.js';
import { generateEvents } from '../services/simulator/generate.js';
import { stackUp } from '../services/stack/stack.js';
import { parsePeriod, periodOf, periodsBetween, previousPeriod } from '../schemas/calendar/index.js';
import { EVENT_SCHEMAS } from '../schemas/events/index.js';
import { KPI_IDS } from '../schemas/kpis/catalog.js';
import { LEVELS, chInstant, compileKpis, kpiGroups } from '../schemas/kpis/compile.js';
import { periodSettings, startClose } from '../workflows/client.js';
import { activitySteps, summariseSteps, type Step } from './workflow-steps.js';
import { startWorker } from '../workflows/worker.js';

const { values: args } = parseArgs({
  options: {
    stores: { type: 'string', default: '275' },
    quarter: { type: 'string', default: '2026-Q2' },
    seed: { type: 'string', default: '9' },
    scale: { type: 'string', default: '1' },
  },
});
const config = loadConfig(process.env);
const calendar = config.business;
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const BATCH_ROWS = 200_000;
const MIN_EVENTS = 5_000_000;

/** Simulates the quarter week by week (bounded memory) and stores every event. */
async function fill(client: ClickHouseClient, from: number, to: number, stores: number, seed: number, scale: number): Promise<number> {
  let events = 0;
  const weeks = periodsBetween('week', from, to, calendar);
  for (const [i, week] of weeks.entries()) {
    const first = Math.max(from, Date.parse(week.start));
    const last = Math.min(to, Date.parse(week.end)) - 1;
    const day = (ms: number): string => periodOf('day', ms, calendar).id;
    const sim = generateEvents({ from: day(first), to: day(last), stores, regions: Math.ceil(stores / 10), seed, scale, timeZone: calendar.timeZone, notAfterMs: Date.now() });
    const byTable = new Map<string, Record<string, unknown>[]>();
    let offset = 0;
    for (const m of sim.messages) {
      if (m.kind !== 'valid' || !m.event) continue;
      const table = FAMILY_TABLES[EVENT_SCHEMAS[m.event.type].family];
      let rows = byTable.get(table);
      if (!rows) byTable.set(table, (rows = []));
      for (const r of eventRows(m.event, { partition: 0, offset: String(offset++) })) rows.push(r);
      if (rows.length >= BATCH_ROWS) {
        await insertRows(client, table, rows);
        byTable.set(table, []);
      }
    }
    for (const [table, rows] of byTable) await insertRows(client, table, rows);
    events += sim.ledger.valid;
    say(`  week ${i + 1}/${weeks.length} (${week.id}): ${sim.ledger.valid.toLocaleString('en-US')} events stored, ${events.toLocaleString('en-US')} in all`);
  }
  return events;
}

async function main(): Promise<void> {
  const quarter = parsePeriod('quarter', String(args.quarter), calendar);
  const stores = Number(args.stores);
  const seed = Number(args.seed);
  const scale = Number(args.scale);
  if (!Number.isInteger(stores) || stores < 1 || !Number.isInteger(seed) || !(scale > 0)) throw new Error('--stores and --seed are whole numbers, --scale is above 0');
  const from = Date.parse(quarter.start);
  const to = Date.parse(quarter.end);
  const dir = path.join(config.paths.dataDir, 'bench', `close-${quarter.id}-${stores}-${seed}-${scale}`);
  const marker = path.join(dir, 'complete.json');
  const store = path.join(dir, 'clickhouse');
  await stackUp(config, (line) => say(`  ${line}`));

  const benchConfig = { ...config, clickhouse: { mode: 'embedded' as const, path: store, database: config.clickhouse.database } };
  if (!existsSync(marker)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  const warehouse = await openWarehouse(benchConfig.clickhouse);
  try {
    await migrate(warehouse.client);
    if (!existsSync(marker)) {
      say(`simulating and storing ${quarter.id} for ${stores} stores (once; kept in ${path.relative(process.cwd(), dir)})`);
      const t0 = performance.now();
      const events = await fill(warehouse.client, from, to, stores, seed, scale);
      writeFileSync(marker, JSON.stringify({ events, seconds: (performance.now() - t0) / 1000 }));
      say(`stored in ${seconds(performance.now() - t0)}`);
    } else {
      say(`reusing the stored quarter in ${path.relative(process.cwd(), dir)} (${String((JSON.parse(readFileSync(marker, 'utf8')) as { events: number }).events)} events)`);
    }

    const range = { start: chInstant(quarter.start), end: chInstant(quarter.end) };
    const inQuarter = "occurred_at >= {start: DateTime64(3, 'UTC')} AND occurred_at < {end: DateTime64(3, 'UTC')}";
    const [counts] = await queryRows<{ events: string; lines: string }>(
      warehouse.client,
      `SELECT toString((SELECT uniqExact(event_id) FROM sale_lines WHERE ${inQuarter}) + (SELECT count() FROM order_events WHERE ${inQuarter}) + ` +
        `(SELECT count() FROM return_events WHERE ${inQuarter}) + (SELECT count() FROM ticket_events WHERE ${inQuarter})) AS events, ` +
        `toString((SELECT count() FROM sale_lines WHERE ${inQuarter})) AS lines`,
      range,
    );
    const events = Number(counts?.events ?? 0);
    say(`quarter ${quarter.id}: ${events.toLocaleString('en-US')} events with occurred_at in it (${Number(counts?.lines).toLocaleString('en-US')} sale lines), ${stores} stores`);
    if (events < MIN_EVENTS) say(`  note: fewer than ${MIN_EVENTS.toLocaleString('en-US')} events; raise --stores or --scale`);

    // Ceiling: one raw scan of the quarter's rows in every event table; best of three.
    const scanSql =
      `SELECT (SELECT (count(), sum(net_minor)) FROM sale_lines WHERE ${inQuarter}) AS s, (SELECT (count(), sum(item_count)) FROM order_events WHERE ${inQuarter}) AS o, ` +
      `(SELECT (count(), sum(amount_minor)) FROM return_events WHERE ${inQuarter}) AS r, (SELECT (count(), sum(rating)) FROM ticket_events WHERE ${inQuarter}) AS t`;
    let scanMs = Infinity;
    for (let i = 0; i < 3; i += 1) {
      const t = performance.now();
      await queryRows(warehouse.client, scanSql, range);
      scanMs = Math.min(scanMs, performance.now() - t);
    }
    say(`raw scan (count and sum of every event table over the quarter), best of 3: ${seconds(scanMs)}`);

    // Each KPI query of the close alone: what bounds it.
    const previous = previousPeriod(quarter, calendar);
    const groups: { kpis: string; ms: number; rows: number }[] = [];
    for (const kpis of kpiGroups(KPI_IDS)) {
      const q = compileKpis({ kpis, period: quarter, previous, levels: LEVELS, money: moneySettings(config.business) });
      const t = performance.now();
      const rows = await queryRows(warehouse.client, q.sql, q.params);
      groups.push({ kpis: `${kpis.slice(0, 3).join(', ')}${kpis.length > 3 ? `, … (${kpis.length})` : ''}`, ms: performance.now() - t, rows: rows.length });
    }
    say('KPI queries computed from the events (no partials), each alone:');
    for (const g of groups.sort((a, b) => b.ms - a.ms)) say(`  ${seconds(g.ms).padStart(8)}  ${(g.ms / scanMs).toFixed(1).padStart(6)}× scan  ${String(g.rows).padStart(6)} rows  ${g.kpis}`);

    // The close itself: the real workflow on the real worker, forced (the data is all in).
    // Cold: no day partials yet (the close computes every day's, then merges them). Warm:
    // the quarter's days already computed (as after its day closes), nothing arrived since.
    const clearResults = async (): Promise<void> => {
      for (const table of ['kpi_values', 'period_revisions', 'period_audit', 'scorecards', 'scorecard_lines', 'restatements']) {
        await warehouse.client.command({ query: `TRUNCATE TABLE IF EXISTS ${table}` });
      }
    };
    await clearResults();
    for (const table of ['kpi_day_partials', 'kpi_partial_days']) await warehouse.client.command({ query: `TRUNCATE TABLE IF EXISTS ${table}` });
    const taskQueue = `bench-close-${Date.now().toString(36)}`;
    const worker = await startWorker(config.temporal, { clickhouse: warehouse.client, scorecards: loadScorecards(config.close), money: moneySettings(config.business) }, { taskQueue });
    const temporal = await connectTemporal(config.temporal);
    try {
      const steps = (workflowId: string): Promise<Step[]> => activitySteps(temporal.client, workflowId);
      const closeOnce = async (run: string): Promise<{ ms: number; values: number; scoredUnits: number; revision: number; steps: Step[] }> => {
        const settings = { ...periodSettings(config), idPrefix: `${taskQueue}-${run}.` };
        const t = performance.now();
        const { handle } = await startClose(temporal.client, { ...settings, grain: 'quarter', period: quarter.id, force: true, graceMs: 0 }, { taskQueue });
        const result = await handle.result();
        const ms = performance.now() - t;
        await temporal.client.workflow.getHandle(`${settings.idPrefix}review:quarter:${quarter.id}`).terminate('benchmark done').catch(() => undefined);
        return { ms, ...result, steps: await steps(handle.workflowId) };
      };
      const cold = await closeOnce('cold');
      await clearResults();
      const warm = await closeOnce('warm');
      say('');
      say(`close of ${quarter.id}: ${warm.values.toLocaleString('en-US')} KPI values (${KPI_IDS.length} KPIs × ${LEVELS.length} levels), ${warm.scoredUnits} scorecard rows, revision ${warm.revision}`);
      say(`  raw scan ceiling:                    ${seconds(scanMs)}`);
      say(`  cold close (computes day partials):  ${seconds(cold.ms)}  ${(cold.ms / scanMs).toFixed(1)}× scan  (aim ≤ 20×)`);
      say(`  warm close (merges day partials):    ${seconds(warm.ms)}  ${(warm.ms / scanMs).toFixed(1)}× scan  (aim ≤ 2×)`);
      say(`  events per second, cold / warm:      ${Math.round(events / (cold.ms / 1000)).toLocaleString('en-US')} / ${Math.round(events / (warm.ms / 1000)).toLocaleString('en-US')}`);
      for (const [name, close] of [['cold', cold], ['warm', warm]] as const) {
        say(`  ${name} close's steps (activity, times run, seconds in all): ${summariseSteps(close.steps)}`);
      }

      // What bounds the warm close: each KPI group's merge of the partials alone.
      const merges: { kpis: string; ms: number }[] = [];
      for (const kpis of kpiGroups(KPI_IDS)) {
        const q = compileKpis({ kpis, period: quarter, previous, levels: LEVELS, money: moneySettings(config.business), from: 'partials' });
        const t = performance.now();
        await queryRows(warehouse.client, q.sql, q.params);
        merges.push({ kpis: `${kpis.slice(0, 3).join(', ')}${kpis.length > 3 ? `, … (${kpis.length})` : ''}`, ms: performance.now() - t });
      }
      say('KPI queries of the warm close (merging day partials), each alone:');
      for (const g of merges.sort((a, b) => b.ms - a.ms)) say(`  ${seconds(g.ms).padStart(8)}  ${(g.ms / scanMs).toFixed(1).padStart(6)}× scan  ${g.kpis}`);
    } finally {
      await worker.shutdown();
      await temporal.connection.close();
    }
  } finally {
    await warehouse.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:close failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

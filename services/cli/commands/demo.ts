import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadScorecards } from '../../shared/scorecards.js';
import { moneySettings, type Config } from '../../shared/config.js';
import { openWarehouse } from '../../shared/clickhouse.js';
import { deleteTopics, kafkaFromConfig } from '../../shared/kafka.js';
import type { Logger } from '../../shared/logger.js';
import { migrate } from '../../shared/migrations.js';
import { connectTemporal } from '../../shared/temporal.js';
import { waitFor } from '../../shared/wait.js';
import { startIngest } from '../../ingest/consumer.js';
import { createIngestMetrics } from '../../ingest/metrics.js';
import { storedCounts, warehouseStats, type WarehouseStats } from '../../ingest/stats.js';
import { generateEvents, type Simulation } from '../../simulator/generate.js';
import { Rng } from '../../simulator/rng.js';
import { addPrincipal, createAuthenticator, createToken, ensureAdmin, writeCredential } from '../../auth/principals.js';
import { localOperations, type Operations } from '../../operations/operations.js';
import { signOffWith } from '../../operations/sign-off.js';
import { startLateEventWatcher } from '../../periods/late-events.js';
import { periodStatus, readRestatements, readScorecards } from '../../periods/read.js';
import { UsageError, describeError } from '../../shared/errors.js';
import { parsePeriod, periodOf, periodsBetween, previousPeriod, type CalendarConfig, type Period } from '../../../schemas/calendar/index.js';
import { kpiById } from '../../../schemas/kpis/catalog.js';
import { formatValue } from './periods.js';
import { publish } from '../../simulator/produce.js';
import { stackUp } from '../../stack/stack.js';
import { FAMILIES, EVENT_SCHEMAS, topicNames, type Family } from '../../../schemas/events/index.js';
import { saleNetMicros } from '../../../schemas/events/money.js';
import { startWorker } from '../../../workflows/worker.js';
import { periodSettings, refreshProvisional, reportLateEvents, restateWorkflowId, reviewWorkflowId, startClose } from '../../../workflows/client.js';
import { formatMs, renderTable } from '../output.js';
import { DASHBOARDS_DIR, grafanaFiles } from '../../../dashboards/index.js';
import { defaultGrafanaDir, writeGrafanaFiles } from './dashboards.js';

/**
 * The demo's own environment, reset on every run: topics, consumer group, task queue and
 * workflow ids, all named after `name` (`demo` by default), so two demos with different
 * names can run beside each other on one Kafka and Temporal.
 */
export function demoNames(name: string): { topicPrefix: string; group: string; taskQueue: string; workflowPrefix: string } {
  return { topicPrefix: `${name}.`, group: `kpi-${name}`, taskQueue: `kpi-${name}.v1`, workflowPrefix: `${name}.` };
}

export interface DemoOptions {
  /** The quarter to simulate and close, e.g. 2026-Q3; the month before it is simulated too (look-back). */
  quarter: string;
  stores: number;
  regions: number;
  seed: number;
  /** Volume multiplier of the simulator. */
  scale: number;
  /** Names the demo's topics, consumer group, task queue and workflow ids. @default 'demo' */
  name?: string;
}

/** Closes this many periods at once; each close runs its own KPI queries. */
const CLOSES_IN_FLIGHT = 6;

/**
 * The quarter demo: simulates a quarter of business events (with duplicates, malformed and
 * out-of-order messages), publishes them to Kafka, ingests them, checks the warehouse
 * against the simulator's record, imports targets and manual inputs, closes every day,
 * week and month and the quarter through Temporal, has finance approve the quarter, sends
 * late events into a closed month and shows the restatement, and prints the quarter's
 * ranked scorecards.
 */
export async function demoCommand(config: Config, baseLogger: Logger, options: DemoOptions): Promise<void> {
  const { topicPrefix: DEMO_TOPIC_PREFIX, group: DEMO_GROUP, taskQueue: DEMO_TASK_QUEUE, workflowPrefix: DEMO_WORKFLOW_PREFIX } = demoNames(options.name ?? 'demo');
  // The demo speaks through its own output; client warnings only at LOG_LEVEL=debug or below.
  const logger = config.logLevel === 'info' ? baseLogger.child({}, { level: 'error' }) : baseLogger;
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const timings: { step: string; time: string }[] = [];
  const step = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    out(`… ${label}`);
    const t0 = performance.now();
    const value = await work();
    const ms = performance.now() - t0;
    timings.push({ step: label, time: formatMs(ms) });
    out(`✓ ${label} (${formatMs(ms)})`);
    return value;
  };

  const calendar = config.business;
  let quarter: Period;
  try {
    quarter = parsePeriod('quarter', options.quarter, calendar);
  } catch (err) {
    throw new UsageError(`--quarter: ${describeError(err)}`);
  }
  if (Date.parse(quarter.end) + 10 * DAY_MS > Date.now()) throw new UsageError(`--quarter ${quarter.id} has not ended (with ten days for follow-ups) yet; pick one in the past`);
  if (options.regions > options.stores) throw new UsageError('--regions must not exceed --stores');
  const lookBack = previousPeriod(parsePeriod('month', localDay(quarter.start, calendar).slice(0, 7), calendar), calendar);
  const from = localDay(lookBack.start, calendar);
  const to = localDay(new Date(Date.parse(quarter.end) - 1).toISOString(), calendar);

  await step('local stack up (Kafka, Temporal)', () => stackUp(config, (line) => out(`  ${line}`)));

  const storePath = path.join(config.paths.dataDir, 'demo', 'clickhouse');
  const demoConfig: Config = {
    ...config,
    clickhouse: { mode: 'embedded', path: storePath, database: config.clickhouse.database },
    temporal: { ...config.temporal, taskQueue: DEMO_TASK_QUEUE },
    close: { ...config.close, idPrefix: DEMO_WORKFLOW_PREFIX, graceMs: 0 },
  };
  const names = topicNames(DEMO_TOPIC_PREFIX);
  const kafka = kafkaFromConfig(config, logger);
  const { connection, client } = await connectTemporal(config.temporal);
  await step('reset the demo topics, store and workflows', async () => {
    await deleteTopics(kafka, [...Object.values(names.families), names.deadLetters]).catch(() => undefined);
    rmSync(storePath, { recursive: true, force: true });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([DEMO_GROUP]).catch(() => undefined);
    await admin.disconnect();
    // A previous run's quarter review would otherwise answer for this run's quarter.
    await client.workflow.getHandle(reviewWorkflowId(DEMO_WORKFLOW_PREFIX, quarter.id)).terminate('demo reset').catch(() => undefined);
  });

  const warehouse = await openWarehouse(demoConfig.clickhouse);
  const settings = periodSettings(demoConfig);
  const scorecards = loadScorecards(config.close);
  const months = periodsBetween('month', Date.parse(quarter.start), Date.parse(quarter.end), calendar);
  // Late events go into the quarter's middle month.
  const lateMonth = months[1] ?? quarter;
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
  try {
    await step('apply migrations', () => migrate(warehouse.client));
    // The people of the demo: the store's admin adds an operator, who imports and closes,
    // and a finance approver; each acts through a token, as anyone would.
    const people = await step('users: admin adds an operator and a finance approver, each with a token', async () => {
      await ensureAdmin(warehouse.client, { tokenFile: `${storePath}.token`, bootstrapTokenFile: undefined });
      const authenticator = createAuthenticator(warehouse.client);
      const as = async (name: string, role: 'operator' | 'finance'): Promise<Operations> => {
        await addPrincipal(warehouse.client, { name, role }, 'admin');
        const { token } = await createToken(warehouse.client, { principal: name, name: 'demo' }, 'admin');
        writeCredential(path.join(config.paths.dataDir, 'demo', `${name}.token`), token);
        return localOperations({ clickhouse: warehouse.client, calendar, fourEyes: true, signOff: () => Promise.resolve(signOffWith(client, DEMO_WORKFLOW_PREFIX, DEMO_TASK_QUEUE)) }, await authenticator.authenticate(token));
      };
      return { operator: await as('demo-operator', 'operator'), finance: await as('demo-finance', 'finance') };
    });
    const sim = await step(`simulate ${from} … ${to} (${quarter.id} and the month before), ${options.stores} stores in ${options.regions} regions`, () =>
      Promise.resolve(
        generateEvents({
          from,
          to,
          stores: options.stores,
          regions: options.regions,
          seed: options.seed,
          scale: options.scale,
          timeZone: calendar.timeZone,
          // The stores sell in the reporting currency, so the demo needs no exchange rate.
          reportingCurrency: calendar.reportingCurrency,
          duplicates: 0.01,
          malformed: 0.005,
          outOfOrder: 0.01,
          notAfterMs: Date.now(),
        }),
      ),
    );
    const { ledger } = sim;
    out(`  ${ledger.valid.toLocaleString('en-US')} valid events, ${ledger.duplicates} duplicates, ${ledger.malformed} malformed, ${ledger.outOfOrder} out of order`);

    await step(`publish ${sim.messages.length.toLocaleString('en-US')} messages to Kafka`, () =>
      publish(kafka, sim.messages, {
        topicPrefix: DEMO_TOPIC_PREFIX,
        onProgress: (p) => process.stderr.write(`  sent ${p.sent.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')} (${Math.round(p.ratePerSecond).toLocaleString('en-US')}/s)\n`),
      }),
    );

    const ingest = await startIngest(
      { kafka, clickhouse: await warehouse.session(), logger, metrics: createIngestMetrics() },
      { topics: names.families, deadLetterTopic: names.deadLetters, groupId: DEMO_GROUP, decodeThreads: demoConfig.kafka.decodeThreads },
    );
    try {
      const stats = await step('ingest: consumer group → validate → ClickHouse, dead letters aside', async () => {
        let last = 0;
        // Polled on counts alone; the money is summed once, when everything is in.
        await waitFor(
          async () => {
            const s = await storedCounts(warehouse.client);
            if (s.stored !== last) process.stderr.write(`  stored ${s.stored.toLocaleString('en-US')}/${ledger.valid.toLocaleString('en-US')}\n`);
            last = s.stored;
            return s.stored >= ledger.valid && s.dead_letters >= ledger.malformed ? s : undefined;
          },
          { timeoutMs: 20 * 60_000, intervalMs: 500, what: 'ingest to store every valid event' },
        );
        return warehouseStats(warehouse.client, calendar.reportingCurrency);
      });
      printReport(out, ledger, stats);
      const ok =
        stats.stored === ledger.valid &&
        stats.dead_letters === ledger.malformed &&
        stats.money.saleLinesNetMinor === ledger.money.saleLinesNetMinor &&
        JSON.stringify(stats.moneyByCurrency) === JSON.stringify(ledger.moneyByCurrency);
      if (!ok) throw new Error('The warehouse does not match the simulator: see the table above');

      await step('import targets and manual inputs (CSV, audited)', async () => {
        const files = demoImports(sim, quarter, calendar, options.seed);
        for (const kind of ['targets', 'inputs'] as const) {
          const file = path.join(config.paths.dataDir, 'demo', `${kind}.csv`);
          writeFileSync(file, files[kind]);
          const receipt = await people.operator.importCsv(kind, files[kind], file);
          out(`  ${receipt.rows} ${kind} rows from ${path.relative(process.cwd(), file)}, imported by ${receipt.importedBy}`);
        }
      });

      worker = await startWorker(demoConfig.temporal, { clickhouse: warehouse.client, scorecards, money: moneySettings(demoConfig.business), ingest: { kafka, topics: Object.values(names.families) } });
      const periods = [
        ...periodsBetween('day', Date.parse(quarter.start), Date.parse(quarter.end), calendar),
        ...periodsBetween('week', Date.parse(quarter.start), Date.parse(quarter.end), calendar),
        ...months,
        quarter,
      ];
      await step(`close ${periods.length} periods through Temporal (every day, week and month, and ${quarter.id})`, async () => {
        let done = 0;
        let next = 0;
        const lane = async (): Promise<void> => {
          while (next < periods.length) {
            const p = periods[next++];
            if (!p) return;
            const { handle } = await startClose(client, { ...settings, grain: p.grain, period: p.id, graceMs: 0, pollMs: 1_000, actor: people.operator.caller.name }, { taskQueue: DEMO_TASK_QUEUE });
            await handle.result();
            done += 1;
            if (done % 10 === 0 || done === periods.length) process.stderr.write(`  closed ${done}/${periods.length}\n`);
          }
        };
        await Promise.all(Array.from({ length: CLOSES_IN_FLIGHT }, lane));
      });
      await step(`finance approves ${quarter.id} (four eyes: not the operator who imported its targets)`, () => people.finance.approve(quarter.id, 'quarterly review'));

      // Late events: a day of the quarter's middle month that ingest only sees now.
      const lateDay = localDay(new Date(Date.parse(lateMonth.start) + 13 * DAY_MS).toISOString(), calendar);
      const late = generateEvents({ from: lateDay, to: lateDay, stores: options.stores, regions: options.regions, seed: options.seed + 1_000, scale: options.scale, timeZone: calendar.timeZone, reportingCurrency: calendar.reportingCurrency, notAfterMs: Date.parse(lateMonth.end) - 1 });
      const restated = await step(`late events: ${late.ledger.valid.toLocaleString('en-US')} events of ${lateDay} arrive after ${lateMonth.id} closed`, async () => {
        await publish(kafka, late.messages, { topicPrefix: DEMO_TOPIC_PREFIX });
        const target = ledger.valid + late.ledger.valid;
        await waitFor(async () => ((await storedCounts(warehouse.client)).stored >= target ? true : undefined), { timeoutMs: 5 * 60_000, intervalMs: 500, what: 'ingest of the late events' });
        const watcher = startLateEventWatcher({
          clickhouse: warehouse.client,
          calendar,
          intervalMs: 3_600_000,
          logger,
          report: (l) => reportLateEvents(client, { ...settings, grain: l.grain, period: l.period, debounceMs: 2_000 }, l.events, { taskQueue: DEMO_TASK_QUEUE }),
        });
        const found = await watcher.check();
        await watcher.stop();
        for (const l of found) await client.workflow.getHandle(restateWorkflowId(DEMO_WORKFLOW_PREFIX, l.grain, l.period)).result();
        return found;
      });
      out(`  restated: ${restated.map((r) => `${r.grain} ${r.period}`).join(', ')}`);
      // The open periods (today, this week … this year) as operations watch them: revision 0.
      const open = await step("provisional values of today's open periods (day, week, month, quarter, year)", () =>
        refreshProvisional(client, settings, `${DEMO_WORKFLOW_PREFIX}provisional:${Date.now()}`, { taskQueue: DEMO_TASK_QUEUE }),
      );
      out(`  ${open.values.toLocaleString('en-US')} provisional values of ${open.periods.join(', ')}`);
    } finally {
      await ingest.stop();
    }

    const diff = (await readRestatements(warehouse.client, { grain: lateMonth.grain, period: lateMonth.id })).filter(
      (d) => (d.level === 'company' || d.level === 'region') && ['net_sales', 'units_sold', 'transactions', 'return_rate', 'complaint_rate', 'csat'].includes(d.kpi),
    );
    out('');
    out('Restatement of the closed month (company and regions; as reported → restated)');
    out(renderTable(diff.map((d) => ({ kpi: d.kpi, level: d.level, unit: d.unit, revision: `${d.from_revision} → ${d.to_revision}`, was: formatValue(kpiById(d.kpi).unit, d.old_value), now: formatValue(kpiById(d.kpi).unit, d.new_value) }))));
    const status = await periodStatus(warehouse.client, 'quarter', quarter.id);
    const financeToken = path.relative(process.cwd(), path.join(config.paths.dataDir, 'demo', 'demo-finance.token'));
    out(`${quarter.id}: revision ${status?.revision ?? '?'} approved; restatement revision ${status?.pendingRevision ?? '-'} waits for sign-off by finance (with a worker on the demo's task queue: KPI_TOKEN=$(cat ${financeToken}) kpi approve --period ${quarter.id}).`);

    const cards = await readScorecards(warehouse.client, { grain: 'quarter', period: quarter.id });
    for (const id of ['regional_manager', 'store_manager']) {
      const card = scorecards.scorecards.find((c) => c.id === id);
      const units = cards.units.filter((u) => u.scorecard === id);
      out('');
      out(`${card?.zh ?? id} ${card?.en ?? ''}: ${quarter.id}, revision ${cards.revision ?? '?'}, ranked within ${card?.level === 'store' ? 'each region' : 'the company'}`);
      out(renderTable(units.map((u) => ({ 'peer group': u.peer_group, rank: u.rank === null ? '-' : `${u.rank}/${u.peers}`, unit: u.unit, score: u.score === null ? '-' : u.score.toFixed(2), band: u.band, missing: u.missing.join(', ') }))));
    }

    const grafanaDir = defaultGrafanaDir();
    const grafana = grafanaFiles(scorecards, { timeZone: calendar.timeZone, reportingCurrency: calendar.reportingCurrency });
    await step('write the Grafana dashboards', () => writeGrafanaFiles(grafanaDir, grafana));

    out('');
    out('Timings');
    out(renderTable(timings));
    out('');
    const env = `CHDB_PATH=${path.relative(process.cwd(), storePath) || storePath} KPI_WORKFLOW_ID_PREFIX=${DEMO_WORKFLOW_PREFIX} KPI_TASK_QUEUE=${DEMO_TASK_QUEUE}`;
    out('Where to look');
    out(`  Temporal UI:  http://127.0.0.1:${config.stack.temporalUiPort}/namespaces/${config.temporal.namespace}/workflows   (close:…, restate:…, review:… of ${DEMO_WORKFLOW_PREFIX})`);
    out(`  Periods:      ${env} npx kpi periods --grain month`);
    out(`  Values:       ${env} npx kpi values --grain quarter --period ${quarter.id} --level region`);
    out(`  Scorecards:   ${env} npx kpi scorecard --grain quarter --period ${quarter.id} --lang zh`);
    out(`  Restated:     ${env} npx kpi restatements --grain ${lateMonth.grain} --period ${lateMonth.id}`);
    out(`  SQL:          ${env} npx kpi sql "SELECT level, unit, value FROM v_kpi_values WHERE grain = 'quarter' AND period = '${quarter.id}' AND kpi = 'net_sales' ORDER BY value DESC LIMIT 5"`);
    out(`  Views:        ${env} npx kpi views v_kpi_values   (the data dictionary: every column's comment)`);
    const adminToken = path.relative(process.cwd(), `${storePath}.token`) || `${storePath}.token`;
    out(`  Console:      ${env} npx kpi run, then open http://127.0.0.1:${config.api.port}/ and log in with the token in ${adminToken} (admin), ${path.relative(process.cwd(), path.join(config.paths.dataDir, 'demo', 'demo-finance.token'))} (finance: approve) or ${path.relative(process.cwd(), path.join(config.paths.dataDir, 'demo', 'demo-operator.token'))} (operator: imports)`);
    out(`  pandas, DBeaver: the same kpi run is a ClickHouse endpoint at http://127.0.0.1:${config.api.clickhousePort ?? 8123}: user admin, password the token in ${adminToken}   (README: Analysts)`);
    out(`  Grafana:      ${path.relative(process.cwd(), path.join(grafanaDir, DASHBOARDS_DIR))}: ${grafana.size} files (dashboards and alert rules) built from the catalog and scorecards (npx kpi dashboards build). With Docker: docker compose up -d --build, then http://127.0.0.1:3000, folder KPI (README: Dashboards)`);
    out('  Stack:        npm run stack:status   (npm run stack:down stops it)');
  } finally {
    await worker?.shutdown();
    await connection.close();
    await warehouse.close();
  }
}

const DAY_MS = 86_400_000;

/** The local calendar date (YYYY-MM-DD) of an instant in the business time zone. */
function localDay(iso: string, calendar: CalendarConfig): string {
  return periodOf('day', Date.parse(iso), calendar).id;
}

/**
 * The demo's CSV files: net-sales targets per store and region for the quarter and its
 * months (each within ±15% of what the unit went on to sell), and the store managers' and
 * regions' manual KPIs for the quarter.
 */
function demoImports(sim: Simulation, quarter: Period, calendar: CalendarConfig, seed: number): { targets: string; inputs: string } {
  const start = Date.parse(quarter.start);
  const end = Date.parse(quarter.end);
  const months = periodsBetween('month', start, end, calendar);
  const sold = new Map<string, number>();
  for (const m of sim.messages) {
    if (m.kind !== 'valid' || m.event?.type !== 'sale.completed') continue;
    const t = Date.parse(m.event.occurred_at);
    if (t < start || t >= end) continue;
    const month = months.find((p) => t >= Date.parse(p.start) && t < Date.parse(p.end))?.id ?? '';
    // Micros → yuan: the demo's stores all sell in CNY.
    const net = Number(saleNetMicros(m.event)) / 1_000_000;
    for (const key of [`store|${m.event.org.store}`, `region|${m.event.org.region}`]) {
      for (const period of [`quarter|${quarter.id}`, `month|${month}`]) sold.set(`${period}|${key}`, (sold.get(`${period}|${key}`) ?? 0) + net);
    }
  }
  const rng = new Rng(seed, 'demo-targets', 0);
  const targets = ['kpi,grain,period,level,unit,value', ...[...sold].sort(([a], [b]) => a.localeCompare(b)).map(([key, net]) => `net_sales,${key.split('|').join(',')},${Math.round(net * rng.range(0.85, 1.15))}`)];
  const inputs = ['kpi,grain,period,level,unit,value,numerator,denominator'];
  for (const s of sim.org.stores) {
    const r = new Rng(seed, 'demo-inputs', s.number);
    const headcount = 20 + Math.floor(r.range(0, 30));
    inputs.push(`staff_turnover_rate,quarter,${quarter.id},store,${s.id},,${Math.floor(r.range(0, 3))},${headcount}`);
    inputs.push(`account_accuracy,quarter,${quarter.id},store,${s.id},${r.range(0.95, 1).toFixed(4)},,`);
    inputs.push(`product_knowledge,quarter,${quarter.id},store,${s.id},${r.range(0.7, 1).toFixed(4)},,`);
  }
  for (const region of sim.org.regions) {
    const r = new Rng(seed, 'demo-region-inputs', Number(region.id.slice(1)));
    inputs.push(`expansion_attainment,quarter,${quarter.id},region,${region.id},${r.range(0.5, 1.2).toFixed(4)},,`);
    inputs.push(`operating_cost_ratio,quarter,${quarter.id},region,${region.id},${r.range(0.9, 1.1).toFixed(4)},,`);
    inputs.push(`project_delivery_delay,quarter,${quarter.id},region,${region.id},${r.range(0, 8).toFixed(1)},,`);
  }
  return { targets: `${targets.join('\n')}\n`, inputs: `${inputs.join('\n')}\n` };
}

function printReport(out: (line: string) => void, ledger: ReturnType<typeof generateEvents>['ledger'], stats: WarehouseStats): void {
  const simulated: Record<Family, number> = { sales: 0, orders: 0, returns: 0, tickets: 0 };
  for (const [type, n] of Object.entries(ledger.byType)) {
    const entry = EVENT_SCHEMAS[type as keyof typeof EVENT_SCHEMAS];
    if (entry) simulated[entry.family] += n;
  }
  const verdict = (a: string | number, b: string | number): string => (String(a) === String(b) ? 'OK' : 'MISMATCH');
  const rows = FAMILIES.map((f) => ({ what: `${f} events`, simulated: simulated[f], stored: stats.byFamily[f], check: verdict(simulated[f], stats.byFamily[f]) }));
  rows.push({ what: 'all valid events', simulated: ledger.valid, stored: stats.stored, check: verdict(ledger.valid, stats.stored) });
  rows.push({ what: 'dead letters', simulated: ledger.malformed, stored: stats.dead_letters, check: verdict(ledger.malformed, stats.dead_letters) });
  const money = [
    ['net sale lines (minor units)', ledger.money.saleLinesNetMinor, stats.money.saleLinesNetMinor],
    ['returns received (minor units)', ledger.money.returnsAmountMinor, stats.money.returnsAmountMinor],
    ['refunds issued (minor units)', ledger.money.refundsMinor, stats.money.refundsMinor],
    ...Object.entries(ledger.moneyByCurrency).flatMap(([currency, m]) => [
      [`net sale lines, ${currency} (micros, exact)`, m.saleLinesNetMicros, stats.moneyByCurrency[currency]?.saleLinesNetMicros ?? '0'],
      [`refunds issued, ${currency} (micros, exact)`, m.refundsMicros, stats.moneyByCurrency[currency]?.refundsMicros ?? '0'],
    ]),
  ] as const;
  out('');
  out(`Warehouse against the simulator's record (duplicates collapsed: ${ledger.duplicates})`);
  out(renderTable([...rows, ...money.map(([what, a, b]) => ({ what, simulated: a, stored: b, check: verdict(a, b) }))]));
  out('');
  out('Dead letters by reason');
  out(renderTable(Object.entries(stats.deadLettersByReason).map(([reason, messages]) => ({ reason, messages }))));
}

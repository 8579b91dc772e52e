import { spawn } from 'node:child_process';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { loadConfig } from '../../services/shared/config.js';
import { createKafka } from '../../services/shared/kafka.js';
import { ensureJdbcClient, ensurePythonClient, PYTHON_ANALYST_SCRIPT } from '../../services/stack/analyst-clients.js';
import { generateEvents } from '../../services/simulator/generate.js';
import { publish } from '../../services/simulator/produce.js';
import { topicNames } from '../../schemas/events/index.js';
import { lastJsonLine, runKpi } from '../support/cli.js';
import { uniqueName } from '../support/env.js';
import { startRun, type RunningKpi } from '../support/kpi-run.js';
import { untilCaughtUp } from '../support/pipeline.js';

/** One line a client harness prints per step (test/clients): rows, or ClickHouse's error. */
interface StepResult {
  name: string;
  columns?: string[];
  rows?: unknown[][];
  error?: { code: number | null; serverCode?: number | null; message: string };
}

/** Runs a harness with a JSON plan on stdin and returns its lines by step name. */
function runHarness(command: string, args: string[], plan: object[]): Promise<Map<string, StepResult>> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${command} exited ${String(code)}: ${out.slice(-2000)} ${err.slice(-2000)}`));
      const lines = out.trim().split('\n').map((l) => JSON.parse(l) as StepResult);
      resolve(new Map(lines.map((l) => [l.name, l])));
    });
    child.stdin.end(JSON.stringify(plan));
  });
}

const DAY = '2026-07-01';
/** The README's first example query: a period's KPI values, with the period as parameters. */
const VALUES_SQL = 'SELECT kpi, level, unit, value FROM v_kpi_values WHERE grain = {grain:String} AND period = {period:String} ORDER BY level, unit, kpi';
/** The README's other examples: the company's net sales day by day, and ranked scorecards. */
const TREND_SQL = "SELECT period, value FROM v_kpi_values WHERE grain = 'day' AND kpi = 'net_sales' AND level = 'company' ORDER BY period";
const RANKED_SQL = 'SELECT scorecard, peer_group, rank, unit, score, band FROM v_scorecards WHERE grain = {grain:String} AND period = {period:String} ORDER BY scorecard, peer_group, rank, unit';
/** Strings a hostile or careless analyst sends: quotes, tabs, newlines, backslashes, Chinese. */
const AWKWARD = ["it's", 'tab\there', 'two\nlines', 'back\\slash', '门店 S001'];

const sortRows = (rows: unknown[][]): unknown[][] => [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/**
 * The clients analysts use, real and unmodified, against a real `kpi run` with a read-only
 * analyst's credential at the root ClickHouse listener: clickhouse-connect with pandas
 * (Python), the JDBC driver DBeaver uses (Java), and @clickhouse/client with a plain URL.
 * Every one reads the same KPI values `kpi values` prints.
 */
describe("analysts' own tools read the store through the ClickHouse interface", () => {
  let kpi: RunningKpi;
  let analyst: string;
  let expected: unknown[][];
  let ranked: unknown[][];
  const config = loadConfig(process.env);

  beforeAll(async () => {
    // Installed first: the first run fetches them from PyPI and Maven Central.
    ensurePythonClient(config);
    ensureJdbcClient(config);
    kpi = await startRun('run', { KPI_SQL_MAX_RESULT_ROWS: '100000' });
    analyst = await kpi.user('ada', 'analyst');
    const operator = await kpi.user('olga', 'operator');
    const prefix = String(kpi.env['KPI_TOPIC_PREFIX']);
    const kafka = createKafka({ brokers: config.kafka.brokers, clientId: uniqueName('analyst-clients') });
    const sim = generateEvents({ from: DAY, to: DAY, stores: 3, regions: 1, seed: 41, scale: 0.5, timeZone: config.business.timeZone, notAfterMs: Date.now() });
    await publish(kafka, sim.messages, { topicPrefix: prefix });
    await untilCaughtUp(kafka, String(kpi.env['KPI_INGEST_GROUP']), Object.values(topicNames(prefix).families), { what: 'ingest of the simulated day' });
    const closed = await runKpi(['close', '--grain', 'day', '--period', DAY, '--force', '--wait', '--json'], { ...kpi.env, KPI_TOKEN: operator });
    expect(closed.code).toBe(0);
    const values = await runKpi(['values', '--grain', 'day', '--period', DAY, '--json'], { ...kpi.env, KPI_TOKEN: analyst });
    expect(values.code).toBe(0);
    expected = sortRows(lastJsonLine<{ kpi: string; level: string; unit: string; value: number | null }[]>(values.stdout).map((v) => [v.kpi, v.level, v.unit, v.value]));
    expect(expected.length).toBeGreaterThan(50);
    const cards = await runKpi(['scorecard', '--grain', 'day', '--period', DAY, '--format', 'json'], { ...kpi.env, KPI_TOKEN: analyst });
    expect(cards.code).toBe(0);
    type Card = { id: string; units: { unit: string; peerGroup: string; rank: number | null; score: number | null; band: string }[] };
    ranked = sortRows(lastJsonLine<{ scorecards: Card[] }>(cards.stdout).scorecards.flatMap((c) => c.units.map((u) => [c.id, u.peerGroup, u.rank, u.unit, u.score, u.band])));
    expect(ranked.length).toBeGreaterThan(0);
  });

  afterAll(async () => {
    expect(await kpi.stop()).toBe(0);
  });

  it('clickhouse-connect (Python, pandas): the documented queries, awkward parameters, limits and errors', async () => {
    const python = ensurePythonClient(config);
    const results = await runHarness(python, [PYTHON_ANALYST_SCRIPT, '--url', kpi.clickhouse, '--user', 'ada', '--password', analyst], [
      { name: 'values', kind: 'query', sql: VALUES_SQL, parameters: { grain: 'day', period: DAY } },
      { name: 'frame', kind: 'df', sql: VALUES_SQL, parameters: { grain: 'day', period: DAY } },
      { name: 'trend', kind: 'df', sql: TREND_SQL },
      { name: 'ranked', kind: 'query', sql: RANKED_SQL, parameters: { grain: 'day', period: DAY } },
      { name: 'awkward', kind: 'query', sql: 'SELECT {s:String} AS s, {a:Array(String)} AS a', parameters: { s: AWKWARD.join('|'), a: AWKWARD } },
      { name: 'limit', kind: 'query', sql: 'SELECT number FROM numbers(1000)', settings: { max_result_rows: 10 } },
      { name: 'unknown', kind: 'query', sql: 'SELECT * FROM no_such_table' },
      { name: 'syntax', kind: 'query', sql: 'SELECT FROM WHERE' },
      { name: 'write', kind: 'command', sql: 'DROP TABLE kpi_values' },
    ]);
    expect(results.get('connect')).toMatchObject({ server_version: expect.stringMatching(/^\d+\.\d+/) as unknown });
    expect(sortRows(results.get('values')?.rows ?? [])).toEqual(expected);
    expect(sortRows(results.get('frame')?.rows ?? [])).toEqual(expected);
    const netSales = expected.find(([kpi, level]) => kpi === 'net_sales' && level === 'company');
    expect(results.get('trend')?.rows).toEqual([[DAY, netSales?.[3]]]);
    expect(sortRows(results.get('ranked')?.rows ?? [])).toEqual(ranked);
    expect(results.get('awkward')?.rows).toEqual([[AWKWARD.join('|'), AWKWARD]]);
    expect(results.get('limit')?.error?.code).toBe(396);
    expect(results.get('limit')?.error?.message).toMatch(/Limit for result exceeded, max rows: 10/);
    expect(results.get('unknown')?.error?.code).toBe(60);
    expect(results.get('syntax')?.error?.code).toBe(62);
    expect(results.get('write')?.error?.code).toBe(497);
  });

  it('JDBC (DBeaver’s driver): getTables, the documented query, a PreparedStatement with awkward strings, limits and errors', async () => {
    const [java, ...jar] = ensureJdbcClient(config);
    const url = `jdbc:clickhouse://${kpi.clickhouse.replace(/^http:\/\//, '')}`;
    const results = await runHarness(java ?? 'java', [...jar, '--url', url, '--user', 'ada', '--password', analyst], [
      { name: 'tables', kind: 'tables' },
      { name: 'values', kind: 'prepared', sql: VALUES_SQL.replace('{grain:String}', '?').replace('{period:String}', '?'), parameters: [{ type: 'string', value: 'day' }, { type: 'string', value: DAY }] },
      { name: 'awkward', kind: 'prepared', sql: 'SELECT ? AS s, has(?, ?) AS found', parameters: [{ type: 'string', value: AWKWARD.join('|') }, { type: 'array', elementType: 'String', value: AWKWARD }, { type: 'string', value: "it's" }] },
      { name: 'limit', kind: 'query', sql: 'SELECT number FROM numbers(200000)' },
      { name: 'unknown', kind: 'query', sql: 'SELECT * FROM no_such_table' },
      { name: 'syntax', kind: 'query', sql: 'SELECT FROM WHERE' },
    ]);
    expect(results.get('connect')?.error).toBeUndefined();
    const tables = (results.get('tables')?.rows ?? []).map(([schema, name]) => `${String(schema)}.${String(name)}`);
    expect(tables).toEqual(expect.arrayContaining(['kpi.v_kpi_values', 'kpi.v_scorecards', 'kpi.kpi_values']));
    expect(sortRows(results.get('values')?.rows ?? [])).toEqual(expected);
    expect(results.get('awkward')?.rows).toEqual([[AWKWARD.join('|'), 1]]);
    expect(results.get('limit')?.error?.code).toBe(396);
    expect(results.get('unknown')?.error?.code).toBe(60);
    expect(results.get('syntax')?.error?.code).toBe(62);
  });

  it('@clickhouse/client with a plain URL, compressed both ways', async () => {
    const client = createClient({ url: kpi.clickhouse, username: 'ada', password: analyst, compression: { request: true, response: true }, log: { level: ClickHouseLogLevel.OFF } });
    try {
      expect((await client.ping()).success).toBe(true);
      const values = await client.query({ query: VALUES_SQL, query_params: { grain: 'day', period: DAY }, format: 'JSONCompactEachRow' });
      expect(sortRows(await values.json<unknown[]>())).toEqual(expected);
      const awkward = await client.query({ query: 'SELECT {s:String} AS s, {a:Array(String)} AS a', query_params: { s: AWKWARD.join('|'), a: AWKWARD }, format: 'JSONEachRow' });
      expect(await awkward.json()).toEqual([{ s: AWKWARD.join('|'), a: AWKWARD }]);
      await expect(client.query({ query: 'SELECT number FROM numbers(1000)', clickhouse_settings: { max_result_rows: '10' }, format: 'JSONEachRow' }).then((r) => r.json())).rejects.toMatchObject({ code: '396' });
      await expect(client.query({ query: 'SELECT * FROM no_such_table' })).rejects.toMatchObject({ code: '60' });
      await expect(client.query({ query: 'SELECT FROM WHERE' })).rejects.toMatchObject({ code: '62' });
      await expect(client.command({ query: 'DROP TABLE kpi_values' })).rejects.toMatchObject({ code: '497' });
    } finally {
      await client.close();
    }
  });
});

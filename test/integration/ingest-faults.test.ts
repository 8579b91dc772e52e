import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { openWarehouse } from '../../services/shared/clickhouse.js';
import { createKafka, deleteTopics } from '../../services/shared/kafka.js';
import { waitFor } from '../../services/shared/wait.js';
import { generateEvents, type Simulation } from '../../services/simulator/generate.js';
import { publish } from '../../services/simulator/produce.js';
import { storedCounts, warehouseStats } from '../../services/ingest/stats.js';
import { loadConfig } from '../../services/shared/config.js';
import { topicNames } from '../../schemas/events/index.js';
import { lastJsonLine, runKpi } from '../support/cli.js';
import { tempDir, uniqueName } from '../support/env.js';
import { exited, expectedFrom, freePort, freeSteadyPorts, startKpi, untilCaughtUp } from '../support/pipeline.js';

interface Stats {
  stored: number;
  dead_letters: number;
  byFamily: Record<string, number>;
  money: Record<string, string>;
}

/** A fresh environment of its own: topics, group, store and API port. */
async function environment(extra: Record<string, string> = {}) {
  const prefix = `${uniqueName('f')}.`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'warn',
    KPI_TOPIC_PREFIX: prefix,
    KPI_INGEST_GROUP: uniqueName('group'),
    CHDB_PATH: tempDir('faults-chdb'),
    KPI_API_PORT: String(await freePort()),
    ...extra,
  };
  const config = loadConfig(env);
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: uniqueName('faults') });
  return { env, config, kafka, names: topicNames(config.kafka.topicPrefix), prefix: config.kafka.topicPrefix };
}

function simulate(seed: number): Simulation {
  return generateEvents({ from: '2026-06-01', to: '2026-06-21', stores: 8, seed, duplicates: 0.02, malformed: 0.01, outOfOrder: 0.01, late: 0.01, notAfterMs: Date.now() });
}

function expectStats(stats: Stats, sim: Simulation): void {
  const expected = expectedFrom(sim.messages);
  expect({ stored: stats.stored, dead_letters: stats.dead_letters, money: stats.money }).toEqual({
    stored: expected.valid,
    dead_letters: expected.malformed.length,
    money: expected.money,
  });
}

/** What Prometheus would present for /metrics (KPI_METRICS_TOKEN). */
const METRICS_TOKEN = randomBytes(24).toString('base64url');

/**
 * The two runs share nothing (topics, group, store, ports) and spend most of their time
 * waiting: on Kafka to give a killed consumer's partitions to the next one, and on a store
 * that is away. They run side by side.
 */
describe('ingest under faults', () => {
  it.concurrent('gives identical counts and sums after being killed with SIGKILL at five random moments', async () => {
    const { env, kafka, names, prefix } = await environment();
    const sim = simulate(21);
    await publish(kafka, sim.messages, { topicPrefix: prefix });
    try {
      const kills: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const run = startKpi(['ingest'], env);
        // Some kills land while it starts, most while batches are in flight.
        const after = 500 + Math.floor(Math.random() * 3_500);
        await sleep(after);
        run.child.kill('SIGKILL');
        await exited(run.child);
        kills.push(after);
      }
      const final = startKpi(['ingest'], env);
      try {
        await untilCaughtUp(kafka, String(env['KPI_INGEST_GROUP']), Object.values(names.families), { timeoutMs: 5 * 60_000, what: `ingest to catch up after kills at ${kills.join(', ')} ms` });
        // While `kpi ingest` holds the store, `kpi stats` reaches it through that process.
        const live = await runKpi(['stats', '--json'], env);
        expect(live.stderr).toBe('');
        expect(live.code).toBe(0);
        expectStats(lastJsonLine<Stats>(live.stdout), sim);
      } finally {
        final.child.kill('SIGTERM');
        expect(await exited(final.child)).toBe(0);
      }

      // And with nothing running, straight from the store.
      const warehouse = await openWarehouse(loadConfig(env).clickhouse);
      try {
        expectStats(await warehouseStats(warehouse.client, 'CNY'), sim);
      } finally {
        await warehouse.close();
      }
    } finally {
      await deleteTopics(kafka, [...Object.values(names.families), names.deadLetters]).catch(() => undefined);
    }
  });

  it.concurrent('pauses while ClickHouse is unavailable for 30 s, then recovers with nothing lost', async () => {
    // The store is served over ClickHouse's HTTP interface by `kpi api`; ingest runs in
    // server mode against it. Stopping `kpi api` makes ClickHouse unavailable.
    // The store comes back on its port after the outage: one no client takes meanwhile.
    const storePort = await freeSteadyPorts(1);
    const store = await environment({ KPI_API_PORT: String(storePort) });
    const { env: ingestEnv, kafka, names, prefix } = await environment({
      KPI_TOPIC_PREFIX: store.prefix,
      CLICKHOUSE_URL: `http://127.0.0.1:${storePort}/clickhouse`,
      KPI_METRICS_TOKEN: METRICS_TOKEN,
      KPI_API_PORT: String(await freePort()),
    });
    const sim = simulate(31);
    let api = startKpi(['api'], store.env);
    const health = (port: string | undefined) => async () => {
      const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      return res?.ok ? true : undefined;
    };
    await waitFor(health(String(storePort)), { timeoutMs: 60_000, what: 'kpi api to serve the store' });
    // Ingest presents a credential that may write: here the admin token the first start wrote.
    const adminToken = readFileSync(`${String(store.env['CHDB_PATH'])}.token`, 'utf8').trim();
    ingestEnv['CLICKHOUSE_PASSWORD'] = adminToken;
    const ingest = startKpi(['ingest'], ingestEnv);
    try {
      await waitFor(health(ingestEnv['KPI_API_PORT']), { timeoutMs: 60_000, what: 'kpi ingest to start' });
      const publishing = publish(kafka, sim.messages, { topicPrefix: prefix });
      // Let some batches land, then take ClickHouse away for 30 s. The counts are read through
      // `kpi api`, which holds the store: one HTTP query per look, not one process.
      const reader = await openWarehouse(store.config.clickhouse, { credential: adminToken });
      let lastCount = '';
      try {
        await waitFor(
          async () => {
            const counts = await storedCounts(reader.client);
            lastCount = `${counts.stored} stored, ${counts.dead_letters} dead letters`;
            return counts.stored > 1_000 ? true : undefined;
          },
          { timeoutMs: 120_000, intervalMs: 200, what: 'the first batches to be stored' },
        ).catch((err: unknown) => {
          throw new Error(`${String(err)}\n--- last count: ${lastCount}\n--- kpi ingest:\n${ingest.output()}\n--- kpi api:\n${api.output()}`);
        });
      } finally {
        await reader.close();
      }
      api.child.kill('SIGTERM');
      expect(await exited(api.child)).toBe(0);
      // The outage is timed from the moment the store went away; the rest of the run is sent meanwhile.
      const outage = sleep(30_000);
      await publishing;
      await outage;
      expect(ingest.child.exitCode).toBeNull();
      // The store is down, so only the environment's metrics token can read /metrics now.
      expect((await fetch(`http://127.0.0.1:${ingestEnv['KPI_API_PORT']}/metrics`)).status).toBe(401);
      const metrics = await (await fetch(`http://127.0.0.1:${ingestEnv['KPI_API_PORT']}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
      expect(metrics).toMatch(/kpi_ingest_paused 1/);
      expect(Number(/kpi_ingest_retries_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);

      api = startKpi(['api'], store.env);
      await untilCaughtUp(kafka, String(ingestEnv['KPI_INGEST_GROUP']), Object.values(names.families), { timeoutMs: 100_000, what: 'ingest to recover and catch up' }).catch((err: unknown) => {
        throw new Error(`${String(err)}\n--- kpi ingest:\n${ingest.output()}\n--- kpi api:\n${api.output()}`);
      });
      const stats = await runKpi(['stats', '--json'], store.env);
      expectStats(lastJsonLine<Stats>(stats.stdout), sim);
    } finally {
      ingest.child.kill('SIGTERM');
      await exited(ingest.child);
      api.child.kill('SIGTERM');
      await exited(api.child);
      await deleteTopics(kafka, [...Object.values(names.families), names.deadLetters]).catch(() => undefined);
    }
  });
});

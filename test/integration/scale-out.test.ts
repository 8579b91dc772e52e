import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { topicNames } from '../../schemas/events/index.js';
import { loadConfig } from '../../services/shared/config.js';
import { createKafka, deleteTopics, type Kafka } from '../../services/shared/kafka.js';
import { waitFor } from '../../services/shared/wait.js';
import { generateEvents, type Simulation } from '../../services/simulator/generate.js';
import { publish } from '../../services/simulator/produce.js';
import { lastJsonLine, runKpi } from '../support/cli.js';
import { tempDir, uniqueName } from '../support/env.js';
import { startTestCluster, type TestCluster } from '../support/kafka-cluster.js';
import { exited, expectedFrom, freePort, groupCaughtUp, startKpi, stop, untilCaughtUp } from '../support/pipeline.js';

interface Stats {
  stored: number;
  dead_letters: number;
  money: Record<string, string>;
}

type Running = ReturnType<typeof startKpi>;

/**
 * The distributed mode on one machine: a three-broker KRaft cluster (RF 3, two in sync),
 * one `kpi api` holding an embedded store, and several `kpi ingest` processes reaching the
 * store through it and sharing the topics' partitions in one consumer group. The two cases
 * run side by side: brokers die on the cluster while ingest processes die on the local
 * stack's broker, each case with topics, group and store of its own.
 */
describe('scale-out: a three-broker cluster, several ingest processes', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster();
  }, 240_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  /**
   * A store of its own held by `kpi api`, and what `kpi ingest` processes need to join it,
   * on the suite's three-broker cluster or, with `brokers`, on other brokers.
   */
  async function environment(brokers: string[] = cluster.brokers) {
    const prefix = `${uniqueName('so')}.`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: brokers.join(','),
      KPI_TOPIC_PREFIX: prefix,
      KPI_INGEST_GROUP: uniqueName('so-group'),
      CHDB_PATH: tempDir('so-chdb'),
      KPI_API_PORT: String(await freePort()),
    };
    const names = topicNames(loadConfig(env).kafka.topicPrefix);
    const api = startKpi(['api'], env);
    const health = (port: string | undefined) => async () => ((await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok ? true : undefined);
    let token = '';
    try {
      await waitFor(health(env['KPI_API_PORT']), { timeoutMs: 60_000, what: 'kpi api to hold the store' });
      // Ingest writes, so it presents a token that may: the admin's, which the first start wrote.
      token = readFileSync(`${String(env['CHDB_PATH'])}.token`, 'utf8').trim();
    } catch (err) {
      await stop(api.child);
      throw err;
    }
    const ingestEnv = async (): Promise<NodeJS.ProcessEnv> => ({ ...env, KPI_TOKEN: token, KPI_API_PORT: String(await freePort()) });
    const kafka = createKafka({ brokers, clientId: uniqueName('so-test') });
    const topics = Object.values(names.families);
    return { env, api, ingestEnv, kafka, names, topics, prefix, health };
  }

  async function expectExact(env: NodeJS.ProcessEnv, sim: Simulation): Promise<void> {
    const expected = expectedFrom(sim.messages);
    const result = await runKpi(['stats', '--json'], env);
    expect(result.code).toBe(0);
    const stats = lastJsonLine<Stats>(result.stdout);
    expect({ stored: stats.stored, dead_letters: stats.dead_letters, money: stats.money }).toEqual({ stored: expected.valid, dead_letters: expected.malformed.length, money: expected.money });
  }

  async function stopAll(processes: Running[], kafka: Kafka, topics: string[]): Promise<void> {
    for (const p of processes) p.child.kill('SIGTERM');
    for (const p of processes) await exited(p.child);
    await deleteTopics(kafka, topics).catch(() => undefined);
  }

  it.concurrent('stores exactly the valid events when brokers are killed while publishing and ingesting, and after a whole-cluster restart', async () => {
    const { env, api, ingestEnv, kafka, names, topics, prefix } = await environment();
    const sim = generateEvents({ from: '2026-06-01', to: '2026-06-10', stores: 6, seed: 41, duplicates: 0.02, malformed: 0.01, outOfOrder: 0.01, notAfterMs: Date.now() });
    const ingests = [startKpi(['ingest'], await ingestEnv()), startKpi(['ingest'], await ingestEnv())];
    const log: string[] = [];
    const output = (): string => `${log.join('\n')}\n--- kpi api:\n${api.output()}\n${ingests.map((p, i) => `--- kpi ingest ${i + 1}:\n${p.output()}`).join('\n')}`;
    try {
      const sales = names.families.sales;
      const group = String(env['KPI_INGEST_GROUP']);
      /** Publishes `messages`, SIGKILLing the leader of most sales partitions once `at` of them are sent. */
      const publishKilling = async (messages: typeof sim.messages, at: number, during: () => Promise<string>): Promise<void> => {
        let killed: Promise<void> | undefined;
        await publish(kafka, messages, {
          topicPrefix: prefix,
          batchSize: 500,
          progressIntervalMs: 50,
          onProgress: (p) => {
            if (killed || p.sent < p.total * at) return;
            killed = (async () => {
              const id = await cluster.busiestLeader(sales);
              const what = await during();
              await cluster.kill(id);
              log.push(`killed broker ${id} after ${p.sent} of ${p.total} messages were sent (${what})`);
            })();
          },
        });
        expect(killed).toBeDefined();
        await killed;
        log.push(`restarted ${(await cluster.start()).join(', ')}`);
      };
      const firstPart = sim.messages.slice(0, Math.floor(sim.messages.length * 0.6));

      // 1. The leader of most sales partitions dies a third of the way through publishing.
      await publishKilling(firstPart, 1 / 3, () => Promise.resolve('while publishing'));

      // 2. Another dies while the two ingest processes are at work: events still arrive and
      // the group has not committed them all.
      let caughtUpAtKill: boolean | undefined;
      await publishKilling(sim.messages.slice(firstPart.length), 1 / 2, async () => {
        caughtUpAtKill = await groupCaughtUp(kafka, group, topics);
        return `while ingesting; group caught up: ${caughtUpAtKill}`;
      });
      expect(caughtUpAtKill).toBe(false);

      // 3. Every broker dies at once, and the cluster comes back.
      for (const id of [1, 2, 3]) await cluster.kill(id);
      log.push('killed every broker');
      await sleep(2_000);
      log.push(`restarted ${(await cluster.start()).join(', ')}`);

      await untilCaughtUp(kafka, group, topics, { timeoutMs: 240_000, what: 'ingest to catch up after the broker failures' }).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${output()}`);
      });
      for (const p of ingests) expect({ exit: p.child.exitCode, output: p.child.exitCode === null ? '' : p.output() }).toEqual({ exit: null, output: '' });
      await expectExact(env, sim);
    } finally {
      await stopAll([...ingests, api], kafka, [...topics, names.deadLetters]);
    }
  }, 600_000);

  // On the local stack's own broker, beside the cluster's faults: churn is about the group.
  it.concurrent('stays exact with three ingest processes while one is SIGKILLed every few seconds, 20 times', async () => {
    const { env, api, ingestEnv, kafka, names, topics, prefix } = await environment(loadConfig(process.env).kafka.brokers);
    const sim = generateEvents({ from: '2026-06-01', to: '2026-06-10', stores: 6, seed: 43, duplicates: 0.02, malformed: 0.01, outOfOrder: 0.01, notAfterMs: Date.now() });
    const ingests: Running[] = [];
    for (let i = 0; i < 3; i += 1) ingests.push(startKpi(['ingest'], await ingestEnv()));
    const group = String(env['KPI_INGEST_GROUP']);
    /** Per kill: whether the group had committed everything sent so far at that moment. */
    const caughtUpAtKills: boolean[] = [];
    // The events arrive in parts, each sent while the next kills happen, so batches are in flight.
    const parts = 10;
    const size = Math.ceil(sim.messages.length / parts);
    try {
      let sent = 0;
      let sending: Promise<unknown> = Promise.resolve();
      for (let kill = 0; kill < 20; kill += 1) {
        if (sent < sim.messages.length && kill % 2 === 0) {
          await sending;
          sending = publish(kafka, sim.messages.slice(sent, sent + size), { topicPrefix: prefix });
          sent += size;
        }
        await sleep(1_500 + Math.floor(Math.random() * 2_000));
        const victim = Math.floor(Math.random() * ingests.length);
        const [gone] = ingests.splice(victim, 1, startKpi(['ingest'], await ingestEnv()));
        if (!gone) throw new Error('no ingest process to kill');
        caughtUpAtKills.push(await groupCaughtUp(kafka, group, topics));
        gone.child.kill('SIGKILL');
        expect(await exited(gone.child)).toBe('SIGKILL');
      }
      await sending;
      if (sent < sim.messages.length) await publish(kafka, sim.messages.slice(sent), { topicPrefix: prefix });
      // Kills met work in flight: the group had not committed all that was sent.
      expect({ kills: caughtUpAtKills.length, behind: caughtUpAtKills.some((c) => !c) }).toEqual({ kills: 20, behind: true });
      await untilCaughtUp(kafka, group, topics, { timeoutMs: 240_000, what: 'ingest to catch up after 20 kills' }).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${ingests.map((p, i) => `--- kpi ingest ${i + 1}:\n${p.output()}`).join('\n')}`);
      });
      await expectExact(env, sim);
    } finally {
      await stopAll([...ingests, api], kafka, [...topics, names.deadLetters]);
    }
  }, 600_000);
});

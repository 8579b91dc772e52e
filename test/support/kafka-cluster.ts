import { loadConfig, type Config } from '../../services/shared/config.js';
import { createKafka, type Kafka } from '../../services/shared/kafka.js';
import { isRunning, readPidRecord } from '../../services/stack/processes.js';
import { stackDown, stackUp } from '../../services/stack/stack.js';
import { tempDir } from './env.js';
import { freeSteadyPorts } from './pipeline.js';

/**
 * A three-node KRaft cluster of a test's own, started by the same code as
 * `kpi stack up --kafka-nodes 3`, on free ports and in a temporary data folder; its nodes
 * can be killed and started again one by one.
 */
export interface TestCluster {
  config: Config;
  /** host:port of every node, for KAFKA_BROKERS. */
  brokers: string[];
  kafka(clientId: string): Kafka;
  /** SIGKILL node `id` (1-based); resolves once it is gone. */
  kill(id: number): Promise<void>;
  /** Starts every node that is not running and waits until each answers. */
  start(): Promise<string[]>;
  /** The node leading most partitions of `topic`. */
  busiestLeader(topic: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startTestCluster(): Promise<TestCluster> {
  const base = await freeSteadyPorts(6);
  const config = loadConfig({
    ...process.env,
    KPI_DATA_DIR: tempDir('kafka-cluster'),
    KPI_STACK_KAFKA_NODES: '3',
    KPI_STACK_KAFKA_PORT: String(base),
    KPI_STACK_KAFKA_CONTROLLER_PORT: String(base + 1),
    KAFKA_BROKERS: '',
  });
  const quiet = (): void => undefined;
  const pidOf = (id: number): number | undefined => {
    const record = readPidRecord(config.paths.dataDir, `kafka-${id}`);
    return record && isRunning(record) ? record.pid : undefined;
  };
  const cluster: TestCluster = {
    config,
    brokers: config.kafka.brokers,
    kafka: (clientId) => createKafka({ brokers: config.kafka.brokers, clientId }),
    async kill(id) {
      const pid = pidOf(id);
      if (pid === undefined) return;
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && pidOf(id) !== undefined; i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    },
    async start() {
      return (await stackUp(config, quiet, ['kafka'])).started;
    },
    async busiestLeader(topic) {
      const admin = cluster.kafka('kpi-test-leaders').admin();
      await admin.connect();
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const led = new Map<number, number>();
        for (const p of topics[0]?.partitions ?? []) led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
        const [leader] = [...led].filter(([id]) => id > 0).sort((a, b) => b[1] - a[1])[0] ?? [];
        if (leader === undefined) throw new Error(`no partition of ${topic} has a leader`);
        return leader;
      } finally {
        await admin.disconnect();
      }
    },
    async stop() {
      await stackDown(config, quiet, ['kafka']);
    },
  };
  await cluster.start();
  return cluster;
}

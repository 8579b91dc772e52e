import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MAX_KAFKA_NODES, localKafkaNodes, type Config } from '../shared/config.js';
import { StackError } from '../shared/errors.js';
import { createKafka, describeCluster, topicReplication } from '../shared/kafka.js';
import { projectRoot } from '../shared/paths.js';
import { requireCommand, requireJava } from './prerequisites.js';
import { runQuiet } from './processes.js';
import type { ServiceDefinition } from './service.js';

const POM = path.join(projectRoot(), 'infra', 'local', 'kafka', 'pom.xml');
const LOG4J = path.join(projectRoot(), 'infra', 'local', 'kafka', 'log4j2.properties');

/** The Kafka version pinned in the pom, which names the install folder. */
export function kafkaVersion(): string {
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(POM, 'utf8'));
  if (!match?.[1]) throw new StackError(`${POM} does not pin <kafka.version>`);
  return match[1];
}

function libsDir(config: Config): string {
  return path.join(config.paths.toolsDir, `kafka-${kafkaVersion()}`, 'libs');
}

function dataDir(config: Config): string {
  return path.join(config.paths.dataDir, 'kafka');
}

/** One KRaft node of the local cluster: its id, its ports, where it keeps its log. */
export interface KafkaNode {
  /** 1-based node.id. */
  id: number;
  port: number;
  controllerPort: number;
}

/**
 * The nodes `kpi stack up` runs: node n listens on KPI_STACK_KAFKA_PORT + 2(n-1), its
 * controller on KPI_STACK_KAFKA_CONTROLLER_PORT + 2(n-1) (one node: 9092/9093; three:
 * 9092/9093, 9094/9095, 9096/9097).
 */
export function kafkaNodes(stack: Config['stack']): KafkaNode[] {
  return localKafkaNodes(stack);
}

/**
 * One KRaft node, broker and controller at once, of a cluster of `nodes` (all on
 * 127.0.0.1). One node: internal topics get replication factor 1, or consumer groups never
 * find a coordinator. Several: every topic, internal ones included, gets topicReplication(),
 * and a dead broker is fenced within 3 s so its partitions' leadership moves on quickly.
 */
export function serverProperties(options: { node: KafkaNode; nodes: readonly KafkaNode[]; logDir: string }): string {
  const { node, nodes } = options;
  const { factor, minInSync } = topicReplication(nodes.length);
  const cluster = nodes.length > 1;
  return [
    '# Written by `kpi stack up`; edits are overwritten at the next start.',
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',')}`,
    `listeners=PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${node.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${options.logDir}`,
    'num.partitions=4',
    'auto.create.topics.enable=false',
    `default.replication.factor=${factor}`,
    `min.insync.replicas=${minInSync}`,
    'unclean.leader.election.enable=false',
    `offsets.topic.replication.factor=${factor}`,
    'offsets.topic.num.partitions=8',
    `transaction.state.log.replication.factor=${factor}`,
    `transaction.state.log.min.isr=${minInSync}`,
    `share.coordinator.state.topic.replication.factor=${factor}`,
    `share.coordinator.state.topic.min.isr=${minInSync}`,
    'group.initial.rebalance.delay.ms=0',
    ...(cluster ? ['broker.heartbeat.interval.ms=500', 'broker.session.timeout.ms=3000'] : []),
    'log.retention.hours=168',
    '',
  ].join('\n');
}

/** The cluster's id, made once and shared by every node's storage format. */
function clusterId(dir: string): string {
  const file = path.join(dir, 'cluster-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const id = randomBytes(16).toString('base64url');
  writeFileSync(file, `${id}\n`);
  return id;
}

/**
 * The services that run the configured nodes. One node is `kafka`, with its data in
 * `<data>/kafka` as always; a cluster's nodes are `kafka-1` … `kafka-N`, in
 * `<data>/kafka-cluster/node-<n>`, so the two layouts never share a log.
 */
export function kafkaServices(config: Config): ServiceDefinition[] {
  const nodes = kafkaNodes(config.stack);
  if (nodes.length === 1) return [kafkaNodeService(nodes[0] as KafkaNode, nodes, dataDir(config))];
  return nodes.map((node) => kafkaNodeService(node, nodes, path.join(config.paths.dataDir, 'kafka-cluster')));
}

/** Every name a Kafka node of the local stack can have, whatever the configured count: so `stack down` finds them all. */
export function kafkaServiceNames(): string[] {
  return ['kafka', ...Array.from({ length: MAX_KAFKA_NODES }, (_, i) => `kafka-${i + 1}`)];
}

function kafkaNodeService(node: KafkaNode, nodes: readonly KafkaNode[], dir: string): ServiceDefinition {
  const single = nodes.length === 1;
  const nodeDir = single ? dir : path.join(dir, `node-${node.id}`);
  return {
    name: single ? 'kafka' : `kafka-${node.id}`,
    title: single ? 'Kafka (KRaft, one node)' : `Kafka node ${node.id} (KRaft cluster)`,

    endpoint: () => `127.0.0.1:${node.port}`,
    dataPath: () => nodeDir,

    installed: (config) => existsSync(path.join(libsDir(config), '..', '.complete')),

    checkPrerequisites(config) {
      requireJava(config.stack.javaHome);
      if (!this.installed(config)) requireCommand('mvn', 'Installing the Kafka broker from Maven Central');
    },

    install: installKafka,

    prepareStart(config) {
      const java = requireJava(config.stack.javaHome);
      const logDir = path.join(nodeDir, 'data');
      mkdirSync(logDir, { recursive: true });
      const props = path.join(nodeDir, 'server.properties');
      writeFileSync(props, serverProperties({ node, nodes, logDir }));
      const classpath = path.join(libsDir(config), '*');
      const jvm = ['-Xms256m', single ? '-Xmx1g' : '-Xmx768m', '-XX:+UseG1GC', `-Dlog4j2.configurationFile=${LOG4J}`, '-cp', classpath];
      // KRaft storage is formatted once; meta.properties marks a formatted log dir.
      if (!existsSync(path.join(logDir, 'meta.properties'))) {
        const id = single ? randomBytes(16).toString('base64url') : clusterId(dir);
        // `--cluster-id=…` in one argument: an id may begin with "-", which as a separate argument reads as an option.
        const format = runQuiet(java, [...jvm, 'kafka.tools.StorageTool', 'format', `--cluster-id=${id}`, '-c', props], { timeoutMs: 120_000 });
        if (format.status !== 0) throw new StackError(`Formatting Kafka storage in ${logDir} failed:\n${format.output.slice(-3000)}`);
      }
      return { command: java, args: [...jvm, 'kafka.Kafka', props], marker: props };
    },

    // Healthy once this node answers a metadata request and the cluster has elected a controller.
    async healthy() {
      const kafka = createKafka({ brokers: [`127.0.0.1:${node.port}`], clientId: 'kpi-stack', connectionTimeoutMs: 1_000, retries: 0 });
      const cluster = await describeCluster(kafka);
      if (cluster.controller === null) throw new StackError('no controller elected yet');
      return `${cluster.brokers} broker${cluster.brokers === 1 ? '' : 's'}, controller ${cluster.controller}`;
    },

    startTimeoutMs: 90_000,
  };
}

function installKafka(config: Config, say: (line: string) => void): void {
  const libs = libsDir(config);
  mkdirSync(libs, { recursive: true });
  say(`Installing Kafka ${kafkaVersion()} from Maven Central into ${path.dirname(libs)} (first run only; cached in ~/.m2)…`);
  const result = runQuiet('mvn', ['-B', '-q', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime']);
  if (result.status !== 0) {
    throw new StackError(`Installing Kafka with Maven failed (exit ${result.status}):\n${result.output.slice(-3000)}`);
  }
  if (!readdirSync(libs).some((f) => f.startsWith('kafka_2.13-'))) {
    throw new StackError(`Maven finished, but ${libs} holds no kafka_2.13 jar`);
  }
  writeFileSync(path.join(libs, '..', '.complete'), `${new Date().toISOString()}\n`);
}

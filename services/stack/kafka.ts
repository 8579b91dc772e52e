import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../shared/config.js';
import { StackError } from '../shared/errors.js';
import { createKafka, describeCluster } from '../shared/kafka.js';
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

/**
 * A one-node KRaft cluster: the node is broker and controller. Internal topics get
 * replication factor 1, or consumer groups never find a coordinator on one node.
 */
export function serverProperties(options: { port: number; controllerPort: number; logDir: string }): string {
  return [
    '# Written by `kpi stack up`; edits are overwritten at the next start.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${options.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${options.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${options.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${options.logDir}`,
    'num.partitions=4',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=8',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=168',
    '',
  ].join('\n');
}

export const kafkaService: ServiceDefinition = {
  name: 'kafka',
  title: 'Kafka (KRaft, one node)',

  endpoint: (config) => `127.0.0.1:${config.stack.kafkaPort}`,
  dataPath: (config) => dataDir(config),

  installed: (config) => existsSync(path.join(libsDir(config), '..', '.complete')),

  checkPrerequisites(config) {
    requireJava(config.stack.javaHome);
    if (!this.installed(config)) requireCommand('mvn', 'Installing the Kafka broker from Maven Central');
  },

  install(config, say) {
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
  },

  prepareStart(config) {
    const java = requireJava(config.stack.javaHome);
    const dir = dataDir(config);
    const logDir = path.join(dir, 'data');
    mkdirSync(logDir, { recursive: true });
    const props = path.join(dir, 'server.properties');
    writeFileSync(props, serverProperties({ port: config.stack.kafkaPort, controllerPort: config.stack.kafkaControllerPort, logDir }));
    const classpath = path.join(libsDir(config), '*');
    const jvm = ['-Xms256m', '-Xmx1g', '-XX:+UseG1GC', `-Dlog4j2.configurationFile=${LOG4J}`, '-cp', classpath];
    // KRaft storage is formatted once; meta.properties marks a formatted log dir.
    if (!existsSync(path.join(logDir, 'meta.properties'))) {
      const clusterId = randomBytes(16).toString('base64url');
      // `--cluster-id=…` in one argument: an id may begin with "-", which as a separate argument reads as an option.
      const format = runQuiet(java, [...jvm, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', props], { timeoutMs: 120_000 });
      if (format.status !== 0) throw new StackError(`Formatting Kafka storage in ${logDir} failed:\n${format.output.slice(-3000)}`);
    }
    return { command: java, args: [...jvm, 'kafka.Kafka', props], marker: props };
  },

  async healthy(config) {
    const kafka = createKafka({ brokers: [`127.0.0.1:${config.stack.kafkaPort}`], clientId: 'kpi-stack', connectionTimeoutMs: 1_000, retries: 0 });
    const cluster = await describeCluster(kafka);
    return `${cluster.brokers} broker, controller ${cluster.controller ?? 'none'}`;
  },

  startTimeoutMs: 90_000,
};

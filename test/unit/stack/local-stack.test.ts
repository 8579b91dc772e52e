import { parseJavaMajor } from '../../../services/stack/prerequisites.js';
import { kafkaNodes, serverProperties } from '../../../services/stack/kafka.js';
import { topicReplication } from '../../../services/shared/kafka.js';
import { loadConfig } from '../../../services/shared/config.js';

describe('parseJavaMajor', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['openjdk version "25" 2025-09-16', 25],
    ['java version "1.8.0_392"', 8],
    ['openjdk version "21.0.2-ea" 2024-01-16', 21],
  ])('reads %j as %i', (output, major) => {
    expect(parseJavaMajor(output)).toBe(major);
  });

  it('returns undefined for output it does not understand', () => {
    expect(parseJavaMajor('command not found')).toBeUndefined();
  });
});

function parse(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter((l) => l.includes('=') && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
  );
}

describe('serverProperties', () => {
  const one = { id: 1, port: 19092, controllerPort: 19093 };
  const props = parse(serverProperties({ node: one, nodes: [one], logDir: '/data/kafka' }));

  it('runs one KRaft node as broker and controller on the given ports', () => {
    expect(props.get('process.roles')).toBe('broker,controller');
    expect(props.get('controller.quorum.voters')).toBe(`${props.get('node.id')}@127.0.0.1:19093`);
    expect(props.get('listeners')).toBe('PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
    expect(props.get('log.dirs')).toBe('/data/kafka');
  });

  it('gives every internal topic replication factor 1, or groups never find a coordinator', () => {
    for (const key of ['offsets.topic.replication.factor', 'transaction.state.log.replication.factor', 'share.coordinator.state.topic.replication.factor']) {
      expect(props.get(key)).toBe('1');
    }
  });
});

describe('a local Kafka cluster', () => {
  const config = loadConfig({ KPI_STACK_KAFKA_NODES: '3', KPI_STACK_KAFKA_PORT: '19092', KPI_STACK_KAFKA_CONTROLLER_PORT: '19093' });
  const nodes = kafkaNodes(config.stack);

  it('puts node n on the configured ports plus 2(n-1), and lists every node as a bootstrap broker', () => {
    expect(nodes).toEqual([
      { id: 1, port: 19092, controllerPort: 19093 },
      { id: 2, port: 19094, controllerPort: 19095 },
      { id: 3, port: 19096, controllerPort: 19097 },
    ]);
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19092', '127.0.0.1:19094', '127.0.0.1:19096']);
  });

  it('makes every node a voter and gives every topic 3 replicas, 2 in sync', () => {
    for (const node of nodes) {
      const props = parse(serverProperties({ node, nodes, logDir: `/data/node-${node.id}` }));
      expect(props.get('node.id')).toBe(String(node.id));
      expect(props.get('controller.quorum.voters')).toBe('1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097');
      expect(props.get('listeners')).toBe(`PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`);
      for (const key of ['default.replication.factor', 'offsets.topic.replication.factor', 'transaction.state.log.replication.factor']) expect(props.get(key)).toBe('3');
      for (const key of ['min.insync.replicas', 'transaction.state.log.min.isr']) expect(props.get(key)).toBe('2');
      expect(props.get('unclean.leader.election.enable')).toBe('false');
    }
  });

  it.each([
    [1, 1, 1],
    [2, 2, 1],
    [3, 3, 2],
    [5, 3, 2],
  ])('replicates over %i broker(s) with factor %i and %i in sync', (brokers, factor, minInSync) => {
    expect(topicReplication(brokers)).toEqual({ factor, minInSync });
  });

  it('refuses ports that would clash, naming both users', () => {
    expect(() => loadConfig({ KPI_STACK_KAFKA_NODES: '3', KPI_STACK_KAFKA_PORT: '9092', KPI_STACK_KAFKA_CONTROLLER_PORT: '9094' })).toThrow(/node 2's broker and Kafka node 1's controller would both use port 9094/);
    expect(() => loadConfig({ KPI_STACK_KAFKA_NODES: '3', KPI_STACK_KAFKA_PORT: '7229' })).toThrow(/Temporal \(KPI_STACK_TEMPORAL_PORT\).*port 7233|port 7233/);
    expect(() => loadConfig({ KPI_STACK_KAFKA_NODES: '3', KPI_STACK_KAFKA_PORT: '65534' })).toThrow(/above 65535/);
    expect(() => loadConfig({ KPI_STACK_KAFKA_NODES: '10' })).toThrow(/KPI_STACK_KAFKA_NODES/);
  });
});

import { parseJavaMajor } from '../../../services/stack/prerequisites.js';
import { serverProperties } from '../../../services/stack/kafka.js';

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

describe('serverProperties', () => {
  const text = serverProperties({ port: 19092, controllerPort: 19093, logDir: '/data/kafka' });
  const props = new Map(
    text
      .split('\n')
      .filter((l) => l.includes('=') && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
  );

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

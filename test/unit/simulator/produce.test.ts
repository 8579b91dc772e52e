import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generateEvents } from '../../../services/simulator/generate.js';
import { readNdjson, writeNdjson } from '../../../services/simulator/produce.js';
import { tempDir } from '../../support/env.js';

describe('writeNdjson', () => {
  it('writes every message exactly as sent, one per line, values in base64', async () => {
    const { messages } = generateEvents({ from: '2026-03-02', to: '2026-03-03', stores: 2, seed: 5, malformed: 0.2, duplicates: 0.05 });
    const file = path.join(tempDir('sim'), 'messages.ndjson');
    const written = await writeNdjson(file, messages);
    expect(written.lines).toBe(messages.length);

    const text = readFileSync(file, 'utf8');
    expect(Buffer.byteLength(text)).toBe(written.bytes);
    const lines = text.split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines).toHaveLength(messages.length + 1);
    expect(Object.keys(JSON.parse(lines[0] ?? '{}') as object)).toEqual(['topic', 'key', 'value_base64']);

    const back = await readNdjson(file);
    expect(back).toHaveLength(messages.length);
    back.forEach((m, i) => {
      const sent = messages[i];
      expect(m.topic).toBe(sent?.topic);
      expect(m.key).toBe(sent?.key);
      expect(m.value.equals(sent?.value ?? Buffer.alloc(1))).toBe(true);
    });
    // Values that are not UTF-8 survive the round trip.
    expect(messages.some((m) => m.malformedKind === 'non_utf8')).toBe(true);
  });

  it('writes an empty file for no messages', async () => {
    const file = path.join(tempDir('sim'), 'empty.ndjson');
    expect(await writeNdjson(file, [])).toEqual({ lines: 0, bytes: 0 });
    expect(readFileSync(file, 'utf8')).toBe('');
  });
});

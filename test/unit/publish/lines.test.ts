import { Readable } from 'node:stream';
import { readLines, type InputLine } from '../../../services/publish/lines.js';

/** The input cut into chunks at the given offsets, as a stream hands it over. */
function chunks(data: Buffer, cuts: number[]): Readable {
  const bounds = [0, ...cuts, data.length];
  return Readable.from(bounds.slice(1).map((end, i) => data.subarray(bounds[i], end)));
}

async function collect(data: Buffer | string, options: { cuts?: number[]; fromLine?: number; maxLineBytes?: number; headBytes?: number } = {}): Promise<InputLine[]> {
  const buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const out: InputLine[] = [];
  const { cuts = [], maxLineBytes = 1_000, ...rest } = options;
  for await (const line of readLines(chunks(buffer, cuts), { maxLineBytes, ...rest })) out.push(line);
  return out;
}

const texts = (lines: InputLine[]): string[] => lines.map((l) => l.bytes.toString('utf8'));

describe('readLines', () => {
  it('splits at LF, numbers lines from 1 and keeps blank lines', async () => {
    const lines = await collect('{"a":1}\n\n{"b":2}\n');
    expect(texts(lines)).toEqual(['{"a":1}', '', '{"b":2}']);
    expect(lines.map((l) => l.number)).toEqual([1, 2, 3]);
    expect(lines.map((l) => l.length)).toEqual([7, 0, 7]);
  });

  it('reads a last line without LF, and no empty line after a final LF', async () => {
    expect(texts(await collect('a\nb'))).toEqual(['a', 'b']);
    expect(texts(await collect('a\nb\n'))).toEqual(['a', 'b']);
    expect(await collect('')).toEqual([]);
    expect(texts(await collect('\n'))).toEqual(['']);
  });

  it('drops the CR of CRLF endings and a byte-order mark at the start, nothing else', async () => {
    const lines = await collect('\ufeff{"a":1}\r\n{"b":"\r"}\r\n \r\n');
    expect(texts(lines)).toEqual(['{"a":1}', '{"b":"\r"}', ' ']);
    expect(lines[0]?.length).toBe(7);
    // A mark further in is data, and stays.
    expect(texts(await collect('a\n\ufeffb'))).toEqual(['a', '\ufeffb']);
  });

  it('gives the same lines, byte for byte, however the input is cut into chunks', async () => {
    // Invalid UTF-8 and multi-byte characters on purpose: nothing is decoded.
    const data = Buffer.concat([Buffer.from('{"x":"华东"}\r\n\n'), Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from('\ufefflast')]);
    const whole = await collect(data);
    for (let a = 0; a <= data.length; a += 1) {
      for (let b = a; b <= data.length; b += 3) {
        const cut = await collect(data, { cuts: [a, b] });
        expect(cut).toEqual(whole);
      }
    }
    expect(whole[2]?.bytes).toEqual(Buffer.from([0xff, 0xfe]));
  });

  it('keeps only the head of a line longer than the limit, and its full length', async () => {
    const long = 'x'.repeat(5_000);
    const lines = await collect(`ok\n${long}\nnext\n`, { maxLineBytes: 1_000, headBytes: 10, cuts: [100, 2_000, 4_000] });
    expect(texts(lines)).toEqual(['ok', 'x'.repeat(10), 'next']);
    expect(lines[1]?.length).toBe(5_000);
    // A line exactly at the limit is whole.
    const exact = await collect(`${'y'.repeat(1_000)}\n`, { maxLineBytes: 1_000 });
    expect(exact[0]?.bytes.length).toBe(1_000);
    expect(exact[0]?.length).toBe(1_000);
  });

  it('from line n: skips the earlier lines but keeps their numbers', async () => {
    const lines = await collect('a\nb\nc\nd', { fromLine: 3, cuts: [1, 3] });
    expect(lines.map((l) => [l.number, l.bytes.toString()])).toEqual([
      [3, 'c'],
      [4, 'd'],
    ]);
    expect(await collect('a\nb\n', { fromLine: 5 })).toEqual([]);
  });

  it('returns lines that do not share memory with the chunks they came from', async () => {
    const data = Buffer.from('abc\ndef\n');
    const lines = await collect(data, { cuts: [2] });
    data.fill(0x21);
    expect(texts(lines)).toEqual(['abc', 'def']);
  });
});

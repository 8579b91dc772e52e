import { Readable } from 'node:stream';
import { readLines } from '../../../services/publish/lines.js';
import { publishLines, type BadLine, type PublishLinesOptions } from '../../../services/publish/publish-lines.js';
import type { OutgoingMessage } from '../../../services/shared/topic-sender.js';
import { KpiError } from '../../../services/shared/errors.js';
import { sample } from '../events/sample-events.js';

const TOPICS = { sales: 'p.kpi.sales.v1', orders: 'p.kpi.orders.v1', returns: 'p.kpi.returns.v1', tickets: 'p.kpi.support-tickets.v1' };
const NOW = Date.UTC(2026, 6, 15, 1, 40);

/** An order.placed line with its own event and order ids. */
const order = (i: number): string => JSON.stringify({ ...sample('order.placed').event, event_id: `o-${i}`, payload: { ...sample('order.placed').event['payload'] as object, order_id: `O-${i}` } });
const ticket = (i: number): string => JSON.stringify({ ...sample('ticket.opened').event, event_id: `t-${i}`, payload: { ...sample('ticket.opened').event['payload'] as object, ticket_id: `T-${i}` } });

const source = (text: string): Readable => Readable.from([Buffer.from(text, 'utf8')]);

/** A sender that records each flush. */
function recorder(): { flushes: OutgoingMessage[][]; send: (flush: readonly OutgoingMessage[]) => Promise<void> } {
  const flushes: OutgoingMessage[][] = [];
  return { flushes, send: (flush) => Promise.resolve(void flushes.push([...flush])) };
}

function run(text: string, options: Partial<PublishLinesOptions> & { fromLine?: number } = {}) {
  const { fromLine, ...rest } = options;
  return publishLines({ lines: readLines(source(text), { maxLineBytes: 1_000_000, ...(fromLine ? { fromLine } : {}) }), topics: TOPICS, now: () => NOW, ...rest });
}

describe('publishLines', () => {
  it('sends the valid lines in order, reports the bad ones with their numbers, counts the blank ones', async () => {
    const text = [order(1), '{broken', '', ticket(1), JSON.stringify({ ...sample('order.placed').event, type: 'order.lost' }), order(2), '   '].join('\n');
    const { flushes, send } = recorder();
    const bad: BadLine[] = [];
    const result = await run(text, { send, onBad: (b) => void bad.push(b) });
    expect(flushes.flat().map((m) => [m.topic, m.key, m.value.toString()])).toEqual([
      [TOPICS.orders, 'O-1', order(1)],
      [TOPICS.tickets, 'T-1', ticket(1)],
      [TOPICS.orders, 'O-2', order(2)],
    ]);
    expect(bad.map((b) => [b.line, b.code, b.bytes.toString()])).toEqual([
      [2, 'invalid_json', '{broken'],
      [5, 'unknown_type', JSON.stringify({ ...sample('order.placed').event, type: 'order.lost' })],
    ]);
    expect(result).toMatchObject({ read: 7, valid: 3, sent: 3, bad: 2, skipped: 2, lastLine: 7, stopped: false });
    expect(result.byFamily).toEqual({ sales: 0, orders: 2, returns: 0, tickets: 1 });
    expect(result.badByCode).toEqual({ invalid_json: 1, unknown_type: 1 });
  });

  it('sends in flushes within the limits, a message larger than the byte limit alone', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => order(i));
    const size = Buffer.byteLength(lines[0] ?? '');
    const { flushes, send } = recorder();
    await run(lines.join('\n'), { send, limits: { maxMessages: 4, maxBytes: 1_000_000 } });
    expect(flushes.map((f) => f.length)).toEqual([4, 4, 2]);

    const bytes = recorder();
    await run(lines.join('\n'), { send: bytes.send, limits: { maxMessages: 100, maxBytes: size * 3 } });
    expect(bytes.flushes.map((f) => f.length)).toEqual([3, 3, 3, 1]);

    const alone = recorder();
    await run(lines.slice(0, 3).join('\n'), { send: alone.send, limits: { maxMessages: 100, maxBytes: size - 1 } });
    expect(alone.flushes.map((f) => f.length)).toEqual([1, 1, 1]);
  });

  it('counts a line as done once its flush is acknowledged', async () => {
    const seen: { lastLine: number; done: number }[] = [];
    const { send } = recorder();
    const lines = [order(1), order(2), '{', order(4), order(5)];
    const result = await run(lines.join('\n'), {
      send,
      fromLine: 2,
      limits: { maxMessages: 2, maxBytes: 1_000_000 },
      // Progress after every line.
      progressIntervalMs: 0,
      onProgress: (counts) => void seen.push({ lastLine: counts.lastLine, done: counts.done }),
    });
    expect(seen).toEqual([
      { lastLine: 2, done: 1 },
      { lastLine: 3, done: 1 },
      { lastLine: 4, done: 1 },
      // Line 5 did not fit: lines 2 and 4 were sent first.
      { lastLine: 5, done: 4 },
    ]);
    expect(result).toMatchObject({ lastLine: 5, done: 5 });
  });

  it('a dry run checks every line and sends nothing', async () => {
    const result = await run([order(1), '{', order(2)].join('\n'));
    expect(result).toMatchObject({ read: 3, valid: 2, sent: 0, bad: 1, lastLine: 3 });
  });

  it('from line n: the earlier lines are neither checked nor sent', async () => {
    const { flushes, send } = recorder();
    const bad: number[] = [];
    const result = await run([order(1), '{', order(3), order(4)].join('\n'), { send, fromLine: 3, onBad: (b) => void bad.push(b.line) });
    expect(flushes.flat().map((m) => m.key)).toEqual(['O-3', 'O-4']);
    expect(bad).toEqual([]);
    expect(result).toMatchObject({ read: 2, sent: 2, lastLine: 4 });
  });

  it('stops after the current line when the signal is aborted, and still sends what it checked', async () => {
    const stop = new AbortController();
    const { flushes, send } = recorder();
    const lines = Array.from({ length: 10 }, (_, i) => order(i + 1));
    let checks = 0;
    const now = (): number => {
      // The signal comes while line 4 is checked.
      checks += 1;
      if (checks === 4) stop.abort();
      return NOW;
    };
    const result = await run(lines.join('\n'), { send, signal: stop.signal, now });
    expect(result).toMatchObject({ stopped: true, read: 4, sent: 4, lastLine: 4 });
    expect(flushes.flat().map((m) => m.key)).toEqual(['O-1', 'O-2', 'O-3', 'O-4']);
  });

  it('ends a read waiting on an idle input when the signal is aborted', async () => {
    const stop = new AbortController();
    async function* idle(): AsyncGenerator<Buffer> {
      yield Buffer.from(`${order(1)}\n`);
      await new Promise((_, reject) => stop.signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))));
    }
    const { flushes, send } = recorder();
    const running = publishLines({ lines: readLines(idle(), { maxLineBytes: 1_000 }), topics: TOPICS, send, signal: stop.signal, now: () => NOW });
    setTimeout(() => stop.abort(), 50);
    expect(await running).toMatchObject({ stopped: true, read: 1, sent: 1, lastLine: 1 });
    expect(flushes.flat()).toHaveLength(1);
  });

  it('names the line to resume from when a flush fails', async () => {
    let calls = 0;
    const send = (): Promise<void> => (++calls === 2 ? Promise.reject(new Error('broker gone')) : Promise.resolve());
    // Lines 1 and 2 go out; line 3 is bad; the failing flush begins at line 4.
    const text = [order(1), order(2), '{', order(4), order(5)].join('\n');
    const err: unknown = await run(text, { send, limits: { maxMessages: 2, maxBytes: 1_000_000 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KpiError);
    expect((err as Error).message).toMatch(/^sending to Kafka failed: broker gone\. Every line before line 4 is done; resume with --from-line 4 /);
  });

  it('with a rate, sends small flushes and keeps to the rate', async () => {
    const { flushes, send } = recorder();
    const lines = Array.from({ length: 60 }, (_, i) => order(i));
    const started = performance.now();
    const result = await run(lines.join('\n'), { send, ratePerSecond: 200 });
    const seconds = (performance.now() - started) / 1_000;
    // 20 per flush (a tenth of a second's worth); the first flush goes at once, then 200/s.
    expect(flushes.map((f) => f.length)).toEqual([20, 20, 20]);
    expect(result.sent).toBe(60);
    expect(seconds).toBeGreaterThanOrEqual(0.19);
  });
});

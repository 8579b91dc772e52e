import { createLineChecker, type LineVerdict } from '../../../services/publish/check-line.js';
import { MAX_EVENT_BYTES, decodeEvent } from '../../../schemas/events/decode.js';
import { envelope, sample, saleLine, salePayloadV2, type Json } from '../events/sample-events.js';

/** Topic names as an environment with the prefix "env." has them. */
const TOPICS = { sales: 'env.kpi.sales.v1', orders: 'env.kpi.orders.v1', returns: 'env.kpi.returns.v1', tickets: 'env.kpi.support-tickets.v1' };

/** Ten minutes after the samples' occurred_at. */
const NOW = Date.UTC(2026, 6, 15, 1, 40);

const line = (text: string | Buffer, number = 1) => {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  return { number, bytes, length: bytes.length };
};

function valid(verdict: LineVerdict) {
  if (verdict.kind !== 'valid') throw new Error(`expected a valid line, got ${JSON.stringify(verdict)}`);
  return verdict;
}

describe('createLineChecker', () => {
  it('sends each valid event to its family topic, keyed by its entity id, the line byte for byte', () => {
    const check = createLineChecker(TOPICS);
    const cases: [Json, string, string][] = [
      [sample('sale.completed', 1).event, TOPICS.sales, 'S-20260715-0042'],
      [sample('sale.completed', 2).event, TOPICS.sales, 'S-20260715-0042'],
      [sample('order.shipped').event, TOPICS.orders, 'O-9001'],
      [sample('return.requested').event, TOPICS.returns, 'R-31'],
      [sample('refund.issued').event, TOPICS.returns, 'R-31'],
      [sample('ticket.rated').event, TOPICS.tickets, 'T-501'],
      [sample('sale.completed', 1).event, TOPICS.sales, 'S-20260715-0042'],
    ];
    for (const [event, topic, key] of cases) {
      // Spacing the contract allows but a re-serialisation would lose: the bytes go as they are.
      const text = JSON.stringify(event, null, 1).replace(/\n/g, ' ');
      const verdict = valid(check(line(text), NOW));
      expect(verdict.message.topic).toBe(topic);
      expect(verdict.message.key).toBe(key);
      expect(verdict.message.value.toString('utf8')).toBe(text);
    }
  });

  it('skips blank lines', () => {
    const check = createLineChecker(TOPICS);
    for (const text of ['', ' ', '\t  \r']) expect(check(line(text), NOW)).toEqual({ kind: 'blank' });
  });

  // Each case with the topic its producer would have sent it to, where ingest's reason is read.
  it.each<[string, string | Buffer, string, keyof typeof TOPICS]>([
    ['broken JSON', '{"event_id": "e-1", ', 'invalid_json', 'sales'],
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"type":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), 'invalid_utf8', 'sales'],
    ['an array', '[1, 2]', 'not_an_object', 'orders'],
    ['an unknown type', JSON.stringify(envelope('sale.voided', 1, {})), 'unknown_type', 'sales'],
    ['an unknown version', JSON.stringify({ ...sample('ticket.opened').event, version: 99 }), 'unknown_version', 'tickets'],
    ['a schema violation', JSON.stringify(envelope('sale.completed', 2, salePayloadV2({ lines: [saleLine({ quantity: 0 })] }))), 'schema_violation', 'sales'],
    ['an event from the far future', JSON.stringify({ ...sample('order.delivered').event, occurred_at: '2027-01-01T00:00:00+08:00' }), 'timestamp_out_of_range', 'orders'],
  ])('reports %s with the code and reason ingest gives', (_, text, code, family) => {
    const check = createLineChecker(TOPICS);
    const verdict = check(line(text), NOW);
    const bytes = typeof text === 'string' ? Buffer.from(text) : text;
    const ingest = decodeEvent(bytes, { topic: TOPICS[family], timestampMs: NOW, family });
    if (ingest.ok) throw new Error('the case must be a bad one');
    expect(ingest.code).toBe(code);
    expect(verdict).toEqual({ kind: 'bad', code, reason: ingest.reason });
  });

  it('checks each line against its own family, whatever family came before', () => {
    const check = createLineChecker(TOPICS);
    const order = (id: string): string => JSON.stringify({ ...sample('order.placed').event, event_id: id });
    const ticket = JSON.stringify(sample('ticket.opened').event);
    expect(valid(check(line(order('o-1')), NOW)).family).toBe('orders');
    expect(valid(check(line(ticket), NOW)).family).toBe('tickets');
    expect(valid(check(line(order('o-2')), NOW)).family).toBe('orders');
    // A bad line of another family than the last valid one gets its own reason, not wrong_topic.
    const badTicket = JSON.stringify({ ...sample('ticket.rated').event, payload: { ticket_id: 'T-1', rating: 9 } });
    const verdict = check(line(badTicket), NOW);
    expect(verdict).toMatchObject({ kind: 'bad', code: 'schema_violation' });
    expect(verdict.kind === 'bad' && verdict.reason).toMatch(/payload\.rating/);
  });

  it('reports an oversized line from its length alone, as ingest words it', () => {
    const check = createLineChecker(TOPICS);
    const verdict = check({ number: 4, bytes: Buffer.from('{"event_id":'), length: MAX_EVENT_BYTES + 1 }, NOW);
    const ingest = decodeEvent(Buffer.alloc(MAX_EVENT_BYTES + 1, 0x20), { topic: TOPICS.sales, timestampMs: NOW, family: 'sales' });
    expect(ingest).toMatchObject({ ok: false, code: 'oversized' });
    expect(verdict).toEqual({ kind: 'bad', code: 'oversized', reason: ingest.ok ? '' : ingest.reason });
  });
});

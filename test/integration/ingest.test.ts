import { insertRows, openWarehouse, queryRows, type Warehouse } from '../../services/shared/clickhouse.js';
import { createKafka, deleteTopics } from '../../services/shared/kafka.js';
import { migrate } from '../../services/shared/migrations.js';
import { startIngest, type IngestHandle } from '../../services/ingest/consumer.js';
import { createIngestMetrics } from '../../services/ingest/metrics.js';
import { generateEvents, type Simulation } from '../../services/simulator/generate.js';
import { MALFORMED_CATALOG } from '../../services/simulator/malformed.js';
import { publish } from '../../services/simulator/produce.js';
import { createLogger } from '../../services/shared/logger.js';
import { REJECT_REASONS, topicNames } from '../../schemas/events/index.js';
import { testConfig, uniqueName } from '../support/env.js';
import { expectedFrom, untilCaughtUp } from '../support/pipeline.js';

/**
 * Over 200,000 simulated events with 2% duplicates, 1% malformed (every kind), 1% out of
 * order and 1% late: the warehouse holds exactly the distinct valid events, the dead letters
 * exactly the malformed messages, and nothing else.
 */
describe('ingest: Kafka → validate → ClickHouse, dead letters aside', () => {
  const config = testConfig();
  const prefix = `${uniqueName('t')}.`;
  const names = topicNames(prefix);
  const groupId = uniqueName('ingest-test');
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: uniqueName('ingest-test') });
  const logger = createLogger({ level: 'warn' });
  let warehouse: Warehouse;
  let ingest: IngestHandle | undefined;
  let sim: Simulation;
  /** Computed once from the messages, independently of the pipeline. */
  let expected: ReturnType<typeof expectedFrom>;

  beforeAll(async () => {
    warehouse = await openWarehouse(config.clickhouse);
    await migrate(warehouse.client);
    sim = generateEvents({
      from: '2026-05-04',
      to: '2026-06-21',
      stores: 20,
      seed: 11,
      timeZone: config.business.timeZone,
      duplicates: 0.02,
      malformed: 0.01,
      outOfOrder: 0.01,
      late: 0.01,
      notAfterMs: Date.now(),
    });
    expected = expectedFrom(sim.messages);
    await publish(kafka, sim.messages, { topicPrefix: prefix });
    ingest = await startIngest(
      { kafka, clickhouse: warehouse.client, logger, metrics: createIngestMetrics() },
      { topics: names.families, deadLetterTopic: names.deadLetters, groupId },
    );
    await untilCaughtUp(kafka, groupId, Object.values(names.families));
  });

  afterAll(async () => {
    await ingest?.stop();
    await warehouse.close();
    await deleteTopics(kafka, [...Object.values(names.families), names.deadLetters]).catch(() => undefined);
  });

  it('was given a run of the size and faults the contract asks for', () => {
    expect(expected.valid).toBeGreaterThanOrEqual(200_000);
    const kinds = new Set(sim.messages.filter((m) => m.kind === 'malformed').map((m) => m.malformedKind));
    expect(kinds).toEqual(new Set(MALFORMED_CATALOG.map((k) => k.kind)));
    expect(sim.messages.filter((m) => m.kind === 'duplicate').length).toBeGreaterThanOrEqual(Math.floor(expected.valid * 0.02));
    expect(sim.messages.filter((m) => m.outOfOrder).length).toBeGreaterThan(0);
    expect(sim.messages.filter((m) => m.late).length).toBeGreaterThan(0);
  });

  it('stores exactly the distinct valid events, family by family, id by id', async () => {
    for (const [family, table] of [['sales', 'sale_lines'], ['orders', 'order_events'], ['returns', 'return_events'], ['tickets', 'ticket_events']] as const) {
      const rows = await queryRows<{ event_id: string }>(warehouse.client, `SELECT DISTINCT event_id FROM ${table}`);
      const stored = new Set(rows.map((r) => r.event_id));
      expect(stored.size).toBe(expected.ids[family].size);
      for (const id of expected.ids[family]) if (!stored.has(id)) throw new Error(`${family} event ${id} is missing`);
    }
    // Before any merge: FINAL and distinct ids agree on the row count of sale lines.
    const [lines] = await queryRows<{ n: string; d: string }>(warehouse.client, 'SELECT (SELECT count() FROM sale_lines FINAL) AS n, (SELECT uniqExact(event_id, line_no) FROM sale_lines) AS d');
    expect(Number(lines?.n)).toBe(Number(lines?.d));
    expect(sim.ledger.valid).toBe(expected.valid);
  });

  it('sums money exactly, in integer minor units', async () => {
    const [row] = await queryRows<Record<string, string>>(
      warehouse.client,
      `SELECT (SELECT toString(sum(net_minor)) FROM sale_lines FINAL) AS sales,
              (SELECT toString(sumIf(amount_minor, type = 'refund.issued')) FROM return_events FINAL) AS refunds,
              (SELECT toString(sumIf(amount_minor, type = 'return.received')) FROM return_events FINAL) AS returns`,
    );
    expect(row).toEqual({ sales: expected.money.saleLinesNetMinor, refunds: expected.money.refundsMinor, returns: expected.money.returnsAmountMinor });
    expect(sim.ledger.money).toEqual(expected.money);
  });

  it('sets aside exactly the malformed messages, byte for byte, each with a reason', async () => {
    const rows = await queryRows<{ payload_base64: string; reason_code: string; reason: string; topic: string }>(
      warehouse.client,
      'SELECT payload_base64, reason_code, reason, topic FROM dead_letters FINAL',
    );
    expect(rows.map((r) => r.payload_base64).sort()).toEqual(expected.malformed);
    const kindOf = new Map(sim.messages.filter((m) => m.kind === 'malformed').map((m) => [m.value.toString('base64'), m.malformedKind]));
    for (const r of rows) {
      expect(REJECT_REASONS).toContain(r.reason_code);
      expect(r.reason.length).toBeGreaterThan(5);
      const spec = MALFORMED_CATALOG.find((k) => k.kind === kindOf.get(r.payload_base64));
      expect(spec?.rejectedAs).toContain(r.reason_code);
      expect(Object.values(names.families)).toContain(r.topic);
    }
  });

  it('sends the malformed messages to the dead-letter topic untouched, with the reason in headers', async () => {
    const consumer = kafka.consumer({ groupId: uniqueName('dlq-reader') });
    await consumer.connect();
    await consumer.subscribe({ topic: names.deadLetters, fromBeginning: true });
    const seen: { value: string; headers: Record<string, string> }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${seen.length} dead letters`)), 120_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
            seen.push({ value: (message.value ?? Buffer.alloc(0)).toString('base64'), headers });
            if (seen.length >= expected.malformed.length) {
              clearTimeout(timer);
              resolve();
            }
            await Promise.resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    // No crash in this run and an idempotent producer: each exactly once.
    expect(seen.map((s) => s.value).sort()).toEqual(expected.malformed);
    for (const s of seen) {
      expect(REJECT_REASONS).toContain(s.headers['x-reject-code']);
      expect(Object.values(names.families)).toContain(s.headers['x-source-topic']);
      expect(Number(s.headers['x-source-offset'])).toBeGreaterThanOrEqual(0);
    }
  });

  it('keeps order state right under duplicates and out-of-order delivery', async () => {
    const expected = new Map<string, { placed?: number; delivered?: number; cancelled?: number }>();
    for (const m of sim.messages) {
      const e = m.event;
      if (m.kind !== 'valid' || !e || !e.type.startsWith('order.')) continue;
      const id = (e.payload as { order_id: string }).order_id;
      const state = expected.get(id) ?? {};
      const at = Date.parse(e.occurred_at);
      if (e.type === 'order.placed') state.placed = at;
      if (e.type === 'order.delivered') state.delivered = at;
      if (e.type === 'order.cancelled') state.cancelled = at;
      expected.set(id, state);
    }
    const rows = await queryRows<{ order_id: string; placed: string | null; delivered: string | null; cancelled: string | null }>(
      warehouse.client,
      `SELECT order_id, toUnixTimestamp64Milli(min(placed_at)) AS placed, toUnixTimestamp64Milli(min(delivered_at)) AS delivered,
              toUnixTimestamp64Milli(min(cancelled_at)) AS cancelled FROM order_state GROUP BY order_id`,
    );
    expect(rows.length).toBe(expected.size);
    for (const r of rows) {
      const e = expected.get(r.order_id);
      const ms = (v: string | null): number | undefined => (v === null ? undefined : Number(v));
      expect({ placed: ms(r.placed), delivered: ms(r.delivered), cancelled: ms(r.cancelled) }).toEqual({ placed: e?.placed, delivered: e?.delivered, cancelled: e?.cancelled });
    }
  });

  it('records progress per partition: next offset and the newest event time stored', async () => {
    const rows = await queryRows<{ topic: string; partition: number; next_offset: string }>(
      warehouse.client,
      'SELECT topic, partition, toString(max(next_offset)) AS next_offset FROM ingest_progress GROUP BY topic, partition',
    );
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const topic of Object.values(names.families)) {
        for (const end of await admin.fetchTopicOffsets(topic)) {
          const row = rows.find((r) => r.topic === topic && Number(r.partition) === end.partition);
          if (BigInt(end.high) > 0n) expect(row?.next_offset).toBe(end.high);
        }
      }
    } finally {
      await admin.disconnect();
    }
  });

  it('skips a replayed insert whose token it has seen, and collapses a replayed event id', async () => {
    const before = await queryRows<{ n: string }>(warehouse.client, 'SELECT count() AS n FROM order_events');
    const row = { event_id: 'replay-1', type: 'order.placed', event_version: 1, occurred_at: '2026-06-01 00:00:00.000', order_id: 'replay-order', region: 'R', store: 'S', department: 'd', channel: 'store', producer: 'p', source_partition: 0, source_offset: 0 };
    await insertRows(warehouse.client, 'order_events', [row], { dedupToken: 'replay:0:0-0' });
    await insertRows(warehouse.client, 'order_events', [row], { dedupToken: 'replay:0:0-0' });
    const after = await queryRows<{ n: string }>(warehouse.client, 'SELECT count() AS n FROM order_events');
    expect(Number(after[0]?.n) - Number(before[0]?.n)).toBe(1);
    await insertRows(warehouse.client, 'order_events', [row], { dedupToken: 'replay:0:0-1' });
    const distinct = await queryRows<{ n: string }>(warehouse.client, "SELECT count() AS n FROM order_events FINAL WHERE event_id = 'replay-1'");
    expect(Number(distinct[0]?.n)).toBe(1);
  });
});

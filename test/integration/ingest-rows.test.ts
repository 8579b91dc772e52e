import { rmSync } from 'node:fs';
import { insertRows, insertTabSeparated, openWarehouse, queryRows, type Warehouse } from '../../services/shared/clickhouse.js';
import { loadConfig } from '../../services/shared/config.js';
import { migrate } from '../../services/shared/migrations.js';
import { decodeBatch } from '../../services/ingest/decode-batch.js';
import { createDecoder } from '../../services/ingest/decode-pool.js';
import { FAMILY_COLUMNS, FAMILY_TABLES, eventRows } from '../../services/ingest/rows.js';
import { FAMILIES, decodeEvent, type Family } from '../../schemas/events/index.js';
import { SENT_AT_MS, TOPIC, samples, type Json } from '../unit/events/sample-events.js';
import { tempDir } from '../support/env.js';
import { startRun } from '../support/kpi-run.js';

/**
 * Ingest writes its rows as TabSeparated text, decoded on threads of their own, and the
 * embedded engine reads them from a staged file. What lands must be exactly what the rows
 * say (the same as inserting them as JSON objects, column by column), whatever the strings
 * hold, and a replayed insert must be skipped.
 */
describe('ingest rows as TabSeparated', () => {
  const dir = tempDir('rows');
  let warehouse: Warehouse;

  beforeAll(async () => {
    warehouse = await openWarehouse(loadConfig({ ...process.env, CHDB_PATH: dir }).clickhouse);
    await migrate(warehouse.client);
  });

  afterAll(async () => {
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every sample, and copies whose free text holds what TabSeparated must escape or could mistake. */
  function events(): { topic: string; value: Buffer; family: Family }[] {
    const hostile = ['back\\slash', '\\N', "quote ' and \"", '中文 😀', '\\t not a tab', 'ends with \\'];
    const out: { topic: string; value: Buffer; family: Family }[] = [];
    const familyOf: Record<string, Family> = { [TOPIC.sales]: 'sales', [TOPIC.orders]: 'orders', [TOPIC.returns]: 'returns', [TOPIC.tickets]: 'tickets' };
    samples().forEach((s, i) => {
      out.push({ topic: s.topic, value: Buffer.from(JSON.stringify(s.event)), family: familyOf[s.topic] as Family });
      hostile.forEach((text, j) => {
        const doc = structuredClone(s.event);
        doc['event_id'] = `hostile-${i}-${j}`;
        const payload = doc['payload'] as Json;
        for (const key of ['reason', 'carrier', 'category']) if (typeof payload[key] === 'string') payload[key] = text;
        for (const line of (payload['lines'] as Json[] | undefined) ?? []) line['category'] = text;
        out.push({ topic: s.topic, value: Buffer.from(JSON.stringify(doc)), family: familyOf[s.topic] as Family });
      });
    });
    return out;
  }

  async function stored(table: string): Promise<Record<string, unknown>[]> {
    return queryRows(warehouse.client, `SELECT * EXCEPT ingested_at FROM ${table} ORDER BY event_id, ${table === 'sale_lines' ? 'line_no' : 'type'}`);
  }

  it('stores exactly what the same rows inserted as JSON objects store', async () => {
    const all = events();
    for (const family of FAMILIES) {
      const messages = all.filter((e) => e.family === family).map((e, i) => ({ value: e.value, offset: String(i), timestampMs: SENT_AT_MS }));
      const topic = all.find((e) => e.family === family)?.topic as string;
      const batch = decodeBatch({ topic, partition: 3, messages });
      expect(batch.rejected.map((r) => r.reason)).toEqual([]);
      const table = FAMILY_TABLES[family];
      await insertTabSeparated(warehouse.client, table, FAMILY_COLUMNS[family], Buffer.from(batch.body), { dedupToken: `tsv-${family}` });
      const viaText = await stored(table);
      await warehouse.client.command({ query: `TRUNCATE TABLE ${table}` });
      const rows = messages.flatMap((m) => {
        const r = decodeEvent(m.value, { topic, timestampMs: SENT_AT_MS });
        if (!r.ok) throw new Error(r.reason);
        return eventRows(r.event, { partition: 3, offset: m.offset });
      });
      await insertRows(warehouse.client, table, rows);
      const viaJson = await stored(table);
      expect(viaText.length).toBe(batch.rows);
      expect(viaText).toEqual(viaJson);
      // The hostile texts came back as they were sent.
      if (family === 'returns') expect(viaText.map((r) => r['reason'])).toEqual(expect.arrayContaining(['\\N', 'ends with \\', '中文 😀']));
    }
  });

  it('skips an insert whose token it has seen, and stages nothing once done', async () => {
    await warehouse.client.command({ query: 'TRUNCATE TABLE order_events' });
    const messages = events().filter((e) => e.family === 'orders').map((e, i) => ({ value: e.value, offset: String(i), timestampMs: SENT_AT_MS }));
    const batch = decodeBatch({ topic: TOPIC.orders, partition: 0, messages });
    const body = Buffer.from(batch.body);
    await insertTabSeparated(warehouse.client, 'order_events', FAMILY_COLUMNS.orders, body, { dedupToken: 'orders:0:0-27' });
    await insertTabSeparated(warehouse.client, 'order_events', FAMILY_COLUMNS.orders, body, { dedupToken: 'orders:0:0-27' });
    expect(await queryRows(warehouse.client, 'SELECT toUInt32(count()) AS n FROM order_events')).toEqual([{ n: batch.rows }]);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(`${dir}.staging`)).toEqual([]);
  });

  it('refuses names that are not identifiers, before anything reaches the store', async () => {
    await expect(insertTabSeparated(warehouse.client, 'order_events; DROP TABLE x', ['event_id'], Buffer.from('a\n'))).rejects.toThrow('not a column or table name');
    await expect(insertTabSeparated(warehouse.client, 'order_events', ['event_id) SELECT 1 --'], Buffer.from('a\n'))).rejects.toThrow('not a column or table name');
    await expect(insertTabSeparated(warehouse.client, 'order_events', ['event_id'], Buffer.from('a\n'), { dedupToken: "x' OR '1" })).rejects.toThrow('invalid insert deduplication token');
  });

  it('decodes on threads exactly as on the calling thread', async () => {
    const all = events();
    const broken = [Buffer.from('{"type":"order.placed"'), Buffer.from([0xff, 0xfe]), Buffer.from('[]')];
    const messages = [...all.filter((e) => e.family === 'orders').map((e) => e.value), ...broken, null].map((value, i) => ({ value, offset: String(100 + i), timestampMs: SENT_AT_MS }));
    const input = { topic: TOPIC.orders, partition: 2, messages };
    const threaded = createDecoder({ threads: 2 });
    const inline = createDecoder({ threads: 0 });
    try {
      const results = await Promise.all([threaded.decode(input), threaded.decode(input), threaded.decode(input)]);
      const expected = await inline.decode(input);
      expect(expected.rejected.map((r) => r.code)).toEqual(['invalid_json', 'invalid_utf8', 'not_an_object', 'invalid_json']);
      for (const r of results) {
        expect({ ...r, body: r.body.toString('utf8') }).toEqual({ ...expected, body: expected.body.toString('utf8') });
      }
      // The messages handed over are the caller's still.
      expect(messages[0]?.value?.length).toBeGreaterThan(0);
    } finally {
      await threaded.close();
      await inline.close();
    }
    await expect(threaded.decode(input)).rejects.toThrow('closed');
  });

  it("gives ingest a session of its own: an insert does not wait for another session's long query", async () => {
    const session = await warehouse.session();
    const started = Date.now();
    const long = queryRows(warehouse.client, 'SELECT sum(sleepEachRow(0.5)) AS s FROM numbers(8) SETTINGS max_block_size = 1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await insertRows(session, 'arrivals', [{ slice: '2026-07-15 01:30:00', events: 1 }]);
    const insertedAfter = Date.now() - started;
    await long;
    const longTook = Date.now() - started;
    expect(longTook).toBeGreaterThanOrEqual(3_900);
    expect(insertedAfter).toBeLessThan(longTook - 1_000);
  });

  it("sends the rows as an HTTP insert's body to a store held by another kpi process, with its token", async () => {
    const kpi = await startRun('api');
    try {
      const service = await kpi.user('ingest-bot', 'service', { service: true });
      const via = await openWarehouse(loadConfig(kpi.env).clickhouse, { credential: service });
      const messages = events().filter((e) => e.family === 'tickets').map((e, i) => ({ value: e.value, offset: String(i), timestampMs: SENT_AT_MS }));
      const batch = decodeBatch({ topic: TOPIC.tickets, partition: 1, messages });
      try {
        expect(via.via).toBeDefined();
        await insertTabSeparated(via.client, 'ticket_events', FAMILY_COLUMNS.tickets, Buffer.from(batch.body), { dedupToken: 'tickets:1:0-41' });
        await insertTabSeparated(via.client, 'ticket_events', FAMILY_COLUMNS.tickets, Buffer.from(batch.body), { dedupToken: 'tickets:1:0-41' });
        const rows = await queryRows<{ n: number; hostile: string[] }>(via.client, "SELECT toUInt32(count()) AS n, arraySort(groupUniqArrayIf(category, event_id LIKE 'hostile-%')) AS hostile FROM ticket_events");
        expect(rows).toEqual([{ n: batch.rows, hostile: ["\\N", "\\t not a tab", "back\\slash", 'ends with \\', "quote ' and \"", '中文 😀'].sort() }]);
      } finally {
        await via.close();
      }
      // A reader may not write.
      const analyst = await kpi.user('ada', 'analyst');
      const reader = await openWarehouse(loadConfig(kpi.env).clickhouse, { credential: analyst });
      try {
        await expect(insertTabSeparated(reader.client, 'ticket_events', FAMILY_COLUMNS.tickets, Buffer.from(batch.body))).rejects.toThrow();
      } finally {
        await reader.close();
      }
    } finally {
      expect(await kpi.stop()).toBe(0);
    }
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { topicNames } from '../../schemas/events/registry.js';
import { loadConfig } from '../../services/shared/config.js';
import { createKafka, deleteTopics, topicEndOffsets } from '../../services/shared/kafka.js';
import { waitFor } from '../../services/shared/wait.js';
import { lastJsonLine, type CliResult } from '../support/cli.js';
import { ROOT, tempDir, uniqueName } from '../support/env.js';
import { envelope, sample, saleLine, salePayloadV2, type Json } from '../unit/events/sample-events.js';

/**
 * `kpi publish` as a user runs it, against the real broker: a history file of good and bad
 * lines; exactly the good events arrive on their family topics, keyed by entity id, byte for
 * byte; each bad line is reported with its number and reason. Every run uses topics of its
 * own (KPI_TOPIC_PREFIX), deleted at the end.
 */

const ENTITY_FIELD: Record<string, string> = { sales: 'sale_id', orders: 'order_id', returns: 'return_id', tickets: 'ticket_id' };

/** A valid event of the sample `type`/`version` with ids of its own: event id and entity id (or `key`). */
function event(type: string, version: number, n: number, tag: string, entity?: string): { family: string; key: string; text: string } {
  const base = sample(type, version).event;
  const family = type.startsWith('sale.') ? 'sales' : type.startsWith('order.') ? 'orders' : type.startsWith('ticket.') ? 'tickets' : 'returns';
  const field = ENTITY_FIELD[family] ?? '';
  const key = entity ?? `${tag}-${field}-${n}`;
  const payload = { ...(base['payload'] as Json), [field]: key };
  return { family, key, text: JSON.stringify({ ...base, event_id: `${tag}-evt-${n}`, payload }) };
}

/** The good events, in file order, and the whole file: good lines with every kind of bad one among them. */
function history(tag: string): { good: { line: number; family: string; key: string; text: string }[]; bad: { line: number; code: string; pattern: RegExp }[]; file: Buffer } {
  const kinds: [string, number, string?][] = [
    ['sale.completed', 1],
    ['order.placed', 1],
    ['sale.completed', 2],
    ['ticket.opened', 1],
    ['return.requested', 1],
    ['order.shipped', 1],
    ['refund.issued', 1],
    ['ticket.rated', 1],
  ];
  const lines: Buffer[] = [];
  const good: { line: number; family: string; key: string; text: string }[] = [];
  const bad: { line: number; code: string; pattern: RegExp }[] = [];
  const addGood = (n: number, typed?: [string, number, string]): void => {
    const [type, version, entity] = typed ?? kinds[n % kinds.length] ?? ['order.placed', 1];
    const e = event(type, version, n, tag, entity);
    lines.push(Buffer.from(e.text));
    good.push({ line: lines.length, ...e });
  };
  const addBad = (bytes: string | Buffer, code: string, pattern: RegExp): void => {
    lines.push(typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
    bad.push({ line: lines.length, code, pattern });
  };
  for (let n = 0; n < 6; n += 1) addGood(n);
  addBad('{"event_id": "broken", "type": "order.placed"', 'invalid_json', /not JSON/);
  addGood(6);
  lines.push(Buffer.from(''));
  addBad(JSON.stringify(envelope('sale.voided', 1, { sale_id: 'S-1' })), 'unknown_type', /unknown event type "sale\.voided"/);
  addGood(7);
  addBad(JSON.stringify({ ...envelope('sale.completed', 2, salePayloadV2({ lines: [saleLine({ quantity: 0 })] })), event_id: `${tag}-bad-qty` }), 'schema_violation', /payload\.lines\.0\.quantity/);
  addBad(JSON.stringify({ ...sample('order.placed').event, event_id: `${tag}-bad-version`, version: 7 }), 'unknown_version', /order\.placed has no version 7/);
  addBad(Buffer.concat([Buffer.from('{"type":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), 'invalid_utf8', /not valid UTF-8/);
  lines.push(Buffer.from('   '));
  for (let n = 8; n < 14; n += 1) addGood(n);
  // One order's life: its events must reach their partition in this order.
  addGood(14, ['order.placed', 1, `${tag}-order-life`]);
  addGood(15, ['order.shipped', 1, `${tag}-order-life`]);
  addGood(16, ['order.delivered', 1, `${tag}-order-life`]);
  return { good, bad, file: Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])) };
}

describe('kpi publish: NDJSON history → the family topics', () => {
  const config = loadConfig(process.env);
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: uniqueName('publish-test') });
  const dir = tempDir('publish');
  const prefixes: string[] = [];
  const groups: string[] = [];
  const children = new Set<ChildProcess>();

  /** The environment of a run with topics of its own; the children's temporary files stay in the test's folder. */
  function environment(): { env: NodeJS.ProcessEnv; prefix: string } {
    const prefix = `${uniqueName('pub')}.`;
    prefixes.push(prefix);
    const tmp = path.join(dir, 'tmp');
    mkdirSync(tmp, { recursive: true });
    return { prefix, env: { ...process.env, KPI_TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn', CHDB_PATH: path.join(dir, 'no-store'), TMPDIR: tmp } };
  }

  /** Starts `kpi publish …` with standard input as a pipe. */
  function start(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; result: Promise<CliResult>; stderr: () => string } {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'kpi.js'), 'publish', ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const result = new Promise<CliResult>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        children.delete(child);
        resolve({ code, stdout, stderr });
      });
    });
    return { child, result, stderr: () => stderr };
  }

  function publish(args: string[], env: NodeJS.ProcessEnv, stdin?: Buffer): Promise<CliResult> {
    const run = start(args, env);
    run.child.stdin?.end(stdin);
    return run.result;
  }

  /** Every message on the prefix's family topics: topic family, key, value. */
  async function readBack(prefix: string): Promise<{ family: string; key: string; value: Buffer }[]> {
    const families = topicNames(prefix).families;
    const familyOf = new Map(Object.entries(families).map(([f, t]) => [t, f]));
    const total = (await topicEndOffsets(kafka, Object.values(families))).reduce((sum, p) => sum + Number(p.high), 0);
    if (total === 0) return [];
    const groupId = uniqueName('publish-reader');
    groups.push(groupId);
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    const seen: { family: string; key: string; value: Buffer }[] = [];
    try {
      await consumer.subscribe({ topics: Object.values(families), fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ topic, message }) => {
          // One partition's messages come in offset order: for one key, its send order.
          seen.push({ family: familyOf.get(topic) ?? topic, key: message.key?.toString('utf8') ?? '', value: message.value ?? Buffer.alloc(0) });
          await Promise.resolve();
        },
      });
      await waitFor(() => Promise.resolve(seen.length >= total ? true : undefined), { timeoutMs: 60_000, what: `${total} messages on ${prefix}*` });
    } finally {
      await consumer.disconnect();
    }
    return seen;
  }

  const asSet = (messages: { family: string; key: string; value: Buffer }[]): string[] => messages.map((m) => `${m.family} ${m.key} ${m.value.toString('base64')}`).sort();
  const expected = (good: { family: string; key: string; text: string }[]): string[] => asSet(good.map((g) => ({ family: g.family, key: g.key, value: Buffer.from(g.text) })));

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    const topics = prefixes.flatMap((p) => Object.values(topicNames(p).families));
    const existing = new Set((await topicEndOffsets(kafka, topics)).map((p) => p.topic));
    if (existing.size > 0) await deleteTopics(kafka, [...existing]);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups(groups).finally(() => admin.disconnect());
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends exactly the good lines to their topics, keyed by entity id and byte for byte; reports each bad line; exits 1', async () => {
    const { env, prefix } = environment();
    const h = history('file');
    const file = path.join(dir, 'history.ndjson');
    writeFileSync(file, h.file);
    const badFile = path.join(dir, 'bad.ndjson');
    const result = await publish([file, '--json', '--bad', badFile], env);

    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    for (const b of h.bad) expect(result.stderr).toMatch(new RegExp(`^line ${b.line}: ${b.code}: .*${b.pattern.source}`, 'm'));
    expect(result.stderr).toContain(`kpi: ${h.bad.length} bad lines, not sent (the first: line ${h.bad[0]?.line}, invalid_json)`);

    const summary = lastJsonLine<{ read: number; valid: number; sent: number; bad: number; skipped: number; lastLine: number; badByCode: Record<string, number>; stoppedBy: string | null }>(result.stdout);
    expect(summary).toMatchObject({ read: h.good.length + h.bad.length + 2, valid: h.good.length, sent: h.good.length, bad: h.bad.length, skipped: 2, lastLine: h.good.length + h.bad.length + 2, stoppedBy: null });
    expect(summary.badByCode).toEqual(Object.fromEntries(h.bad.map((b) => [b.code, 1])));

    const arrived = await readBack(prefix);
    expect(asSet(arrived)).toEqual(expected(h.good));
    const life = arrived.filter((m) => m.key === 'file-order-life').map((m) => (JSON.parse(m.value.toString('utf8')) as { type: string }).type);
    expect(life).toEqual(['order.placed', 'order.shipped', 'order.delivered']);

    const written = readFileSync(badFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { line: number; code: string; text: string });
    expect(written.map((w) => [w.line, w.code])).toEqual(h.bad.map((b) => [b.line, b.code]));
    expect(written[0]?.text).toBe('{"event_id": "broken", "type": "order.placed"');
  });

  it('sends a sale larger than a flush, and than the broker default of 1 MiB, alone and whole', async () => {
    const { env, prefix } = environment();
    const lines = Array.from({ length: 10_000 }, (_, i) => saleLine({ line_no: i + 1, sku: `SKU-${String(i).padStart(5, '0')}` }));
    const big = { family: 'sales', key: 'big-sale', text: JSON.stringify({ ...envelope('sale.completed', 2, salePayloadV2({ sale_id: 'big-sale', lines })), event_id: 'big-evt' }) };
    expect(Buffer.byteLength(big.text)).toBeGreaterThan(1024 * 1024);
    const small = [event('order.placed', 1, 1, 'big'), event('ticket.opened', 1, 2, 'big')];
    const result = await publish(['-', '--json'], env, Buffer.from(`${small[0]?.text}\n${big.text}\n${small[1]?.text}\n`));
    expect(result.code).toBe(0);
    expect(lastJsonLine(result.stdout)).toMatchObject({ sent: 3, bad: 0 });
    expect(asSet(await readBack(prefix))).toEqual(expected([...small, big]));
  });

  // --dry-run, SIGINT and bad arguments run side by side; of them only SIGINT creates topics.
  // The other cases run one at a time: a `kpi publish` that creates its topics while another
  // does can be told a new topic is not on the broker yet.
  it.concurrent('--dry-run checks every line and sends nothing (no topic is even created)', async () => {
    const { env, prefix } = environment();
    const h = history('dry');
    const file = path.join(dir, 'dry.ndjson');
    writeFileSync(file, h.file);
    const result = await publish([file, '--dry-run'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Checked (dry run, nothing sent)');
    expect(result.stdout).toContain(`valid    ${h.good.length} events`);
    for (const b of h.bad) expect(result.stderr).toContain(`line ${b.line}: ${b.code}: `);
    expect(await topicEndOffsets(kafka, Object.values(topicNames(prefix).families))).toEqual([]);

    const clean = path.join(dir, 'clean.ndjson');
    writeFileSync(clean, `${h.good.map((g) => g.text).join('\n')}\n`);
    const ok = await publish([clean, '--dry-run', '--json'], env);
    expect(ok.code).toBe(0);
    expect(lastJsonLine(ok.stdout)).toMatchObject({ valid: h.good.length, sent: 0, bad: 0, dryRun: true });
  });

  it('--from-line skips the earlier lines; standard input (-) works', async () => {
    const { env, prefix } = environment();
    const h = history('stdin');
    const from = (h.bad.at(-1)?.line ?? 0) + 1;
    const result = await publish(['-', '--from-line', String(from), '--json'], env, h.file);
    expect(result.code).toBe(0);
    expect(lastJsonLine(result.stdout)).toMatchObject({ input: '-', fromLine: from, bad: 0 });
    expect(asSet(await readBack(prefix))).toEqual(expected(h.good.filter((g) => g.line >= from)));
  });

  it.concurrent('on SIGINT: stops, sends what it checked, names the line to resume from; resuming completes the history exactly', async () => {
    const { env, prefix } = environment();
    const good = Array.from({ length: 300 }, (_, n) => event('order.placed', 1, n, 'sigint'));
    const run = start(['-', '--json'], env);
    // Lines go in one at a time until a progress line shows they are being read.
    let written = 0;
    await waitFor(
      async () => {
        if (written >= good.length) throw new Error('all lines written before any progress was shown');
        run.child.stdin?.write(`${good[written]?.text}\n`);
        written += 1;
        await new Promise((resolve) => setTimeout(resolve, 200));
        return run.stderr().includes('publish: read') ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 0, what: 'a progress line' },
    );
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code).toBe(1);
    const summary = lastJsonLine<{ lastLine: number; resumeFromLine: number; stoppedBy: string; sent: number }>(result.stdout);
    expect(summary.stoppedBy).toBe('SIGINT');
    expect(summary.lastLine).toBeGreaterThan(0);
    expect(summary.lastLine).toBeLessThanOrEqual(written);
    expect(summary.sent).toBe(summary.lastLine);
    expect(summary.resumeFromLine).toBe(summary.lastLine + 1);
    expect(result.stderr).toContain(`kpi: stopped by SIGINT after line ${summary.lastLine}; resume with --from-line ${summary.lastLine + 1}`);
    expect(asSet(await readBack(prefix))).toEqual(expected(good.slice(0, summary.lastLine)));

    const file = path.join(dir, 'sigint.ndjson');
    writeFileSync(file, `${good.map((g) => g.text).join('\n')}\n`);
    const resumed = await publish([file, '--from-line', String(summary.resumeFromLine)], env);
    expect(resumed.code).toBe(0);
    expect(asSet(await readBack(prefix))).toEqual(expected(good));
  });

  it('--rate paces sending', async () => {
    const { env, prefix } = environment();
    const good = Array.from({ length: 30 }, (_, n) => event('ticket.opened', 1, n, 'rate'));
    const started = Date.now();
    const result = await publish(['-', '--rate', '20', '--json'], env, Buffer.from(`${good.map((g) => g.text).join('\n')}\n`));
    expect(result.code).toBe(0);
    // 30 events at 20/s, in flushes of 2 with the first at once: at least 1.4 s of sending.
    expect(lastJsonLine<{ seconds: number }>(result.stdout).seconds).toBeGreaterThanOrEqual(1.4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(asSet(await readBack(prefix))).toEqual(expected(good));
  });

  it.concurrent('bad arguments: a clear message, exit code 2, no stack trace', async () => {
    const { env } = environment();
    const cases: [string[], string][] = [
      [[path.join(dir, 'missing.ndjson')], `cannot read ${path.join(dir, 'missing.ndjson')}: no such file`],
      [[dir], `cannot read ${dir}: it is a folder`],
      [['-', '--rate', '0'], '--rate: expected a number of events per second above 0'],
      [['-', '--from-line', 'abc'], '--from-line: expected a line number from 1'],
    ];
    for (const [args, message] of cases) {
      const result = await publish(args, env);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    const file = path.join(dir, 'same.ndjson');
    writeFileSync(file, '\n');
    const same = await publish([file, '--bad', file], env);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('is the input file');
    expect(readFileSync(file, 'utf8')).toBe('\n');
  });
});

import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import path from 'node:path';
import { asyncApiDocument, eventJsonSchemas, type JsonObject, type JsonValue } from '../../../schemas/events/export.js';
import { EVENT_SCHEMAS } from '../../../schemas/events/registry.js';
import { contractDrift, renderContractFiles, schemasExportCommand } from '../../../services/cli/commands/schemas.js';
import { UsageError } from '../../../services/shared/errors.js';
import { ROOT, tempDir } from '../../support/env.js';
import { REJECT_CODES, TOPIC, envelope, saleLine, saleLineV3, salePayloadV2, salePayloadV3, samples, type Json } from './sample-events.js';

const GENERATED = path.join(ROOT, 'schemas', 'generated');
const DEAD_LETTER_TOPIC = 'kpi.dead-letters.v1';
/** `max.message.bytes` of every family topic: 10 MiB. */
const FAMILY_TOPIC_MAX_BYTES = 10_485_760;
/** `<type>.v<version>` of every event type and version of the registry, in registry order. */
const REGISTERED = Object.entries(EVENT_SCHEMAS).flatMap(([type, entry]) => Object.keys(entry.versions).map((v) => `${type}.v${v}`));
const ENVELOPE_FIELDS = ['event_id', 'type', 'version', 'occurred_at', 'producer', 'org', 'payload'];
// ajv 8 (a dev dependency) validates draft 2020-12 and compiles patterns with the `u` flag
// (`\p{Cc}` in labels).
/** Compiles with a fresh instance: one instance refuses a second schema with the same $id. */
function compile(schema: object): ValidateFunction {
  return new Ajv2020({ strict: true, allErrors: true }).compile(schema);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a JSON path of plain keys; fails the test when a step is missing. */
function at(value: JsonValue | undefined, ...keys: string[]): JsonValue {
  let current: JsonValue | undefined = value;
  for (const key of keys) {
    if (!isObject(current) || !(key in current)) throw new Error(`no ${keys.join('.')} (missing at ${key})`);
    current = current[key];
  }
  if (current === undefined) throw new Error(`no ${keys.join('.')}`);
  return current;
}

function obj(value: JsonValue): JsonObject {
  if (!isObject(value)) throw new Error(`expected an object, got ${JSON.stringify(value)}`);
  return value;
}

/** Follows a local `$ref` (`#/a/b`), decoding JSON Pointer escapes. */
function resolveRef(doc: JsonObject, ref: string): JsonValue {
  if (!ref.startsWith('#/')) throw new Error(`not a local reference: ${ref}`);
  return at(doc, ...ref.slice(2).split('/').map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~')));
}

function str(value: JsonValue): string {
  if (typeof value !== 'string') throw new Error(`expected a string, got ${JSON.stringify(value)}`);
  return value;
}

function refOf(value: JsonValue): string {
  return str(at(value, '$ref'));
}

function collectRefs(value: JsonValue, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) collectRefs(v, out);
  else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else collectRefs(v, out);
    }
  }
  return out;
}

/** Runs a command with its progress lines on stdout silenced. */
async function quietly<T>(run: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = () => true;
  try {
    return await run();
  } finally {
    process.stdout.write = write;
  }
}

describe('checked-in contracts in schemas/generated', () => {
  it('equal what the zod schemas generate now', async () => {
    const drift = await contractDrift(GENERATED);
    const stale = [...drift.differs.map((f) => `${f} differs`), ...drift.missing.map((f) => `${f} is missing`), ...drift.extra.map((f) => `${f} is no longer generated`)];
    if (stale.length > 0) {
      throw new Error(`schemas/generated is out of date with schemas/events (${stale.join('; ')}). Run \`npx kpi schemas export\` and commit the result.`);
    }
  });

  it('hold one schema file per event type and version, and the AsyncAPI document', async () => {
    const files = (await readdir(path.join(GENERATED, 'events'))).sort();
    const expected = REGISTERED.map((name) => `${name}.schema.json`);
    expect(files).toEqual(expected.sort());
    expect(JSON.parse(await readFile(path.join(GENERATED, 'asyncapi.json'), 'utf8'))).toEqual(asyncApiDocument());
  });

  it('are generated the same way every time: pretty JSON, two spaces, trailing newline', () => {
    const first = renderContractFiles();
    const second = renderContractFiles();
    expect([...second.entries()]).toEqual([...first.entries()]);
    for (const [file, text] of first) {
      expect(text.endsWith('}\n')).toBe(true);
      expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
      expect(file).toMatch(/^(events\/[a-z_.]+\.v\d+\.schema\.json|asyncapi\.json)$/);
    }
  });
});

describe('kpi schemas export', () => {
  it('writes every file, then --check passes and a second export changes nothing', async () => {
    const out = tempDir('schemas');
    await quietly(() => schemasExportCommand({ out }));
    for (const [file, text] of renderContractFiles()) expect(await readFile(path.join(out, file), 'utf8')).toBe(text);
    await expect(quietly(() => schemasExportCommand({ out, check: true }))).resolves.toBeUndefined();
    await quietly(() => schemasExportCommand({ out }));
    expect(await contractDrift(out)).toEqual({ differs: [], missing: [], extra: [] });
  });

  it('--check writes nothing and names each changed, missing and extra file', async () => {
    const out = tempDir('schemas');
    await quietly(() => schemasExportCommand({ out }));
    await writeFile(path.join(out, 'asyncapi.json'), '{}\n');
    await rm(path.join(out, 'events', 'ticket.rated.v1.schema.json'));
    await writeFile(path.join(out, 'events', 'ticket.closed.v1.schema.json'), '{}\n');

    const error = await quietly(() => schemasExportCommand({ out, check: true })).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as UsageError).message;
    expect(message).toContain('differs: asyncapi.json');
    expect(message).toContain('missing: events/ticket.rated.v1.schema.json');
    expect(message).toContain('extra:   events/ticket.closed.v1.schema.json');
    expect(message).toContain('npx kpi schemas export');
    expect(await readFile(path.join(out, 'asyncapi.json'), 'utf8')).toBe('{}\n');

    await quietly(() => schemasExportCommand({ out }));
    expect(await contractDrift(out)).toEqual({ differs: [], missing: [], extra: [] });
    await expect(readFile(path.join(out, 'events', 'ticket.closed.v1.schema.json'))).rejects.toThrow(/ENOENT/);
  });

  it('--check on a folder that does not exist lists every file as missing', async () => {
    const out = path.join(tempDir('schemas'), 'nowhere');
    const message = await quietly(() => schemasExportCommand({ out, check: true })).then(
      () => '',
      (err: unknown) => String(err),
    );
    for (const file of renderContractFiles().keys()) expect(message).toContain(`missing: ${file}`);
  });

  it('leaves files it does not generate alone', async () => {
    const out = tempDir('schemas');
    await mkdir(path.join(out, 'events'), { recursive: true });
    await writeFile(path.join(out, 'README.md'), 'hand-written\n');
    await writeFile(path.join(out, 'events', 'notes.txt'), 'hand-written\n');
    await quietly(() => schemasExportCommand({ out }));
    await expect(quietly(() => schemasExportCommand({ out, check: true }))).resolves.toBeUndefined();
    expect(await readFile(path.join(out, 'README.md'), 'utf8')).toBe('hand-written\n');
    expect(await readFile(path.join(out, 'events', 'notes.txt'), 'utf8')).toBe('hand-written\n');
  });
});

describe('AsyncAPI document', () => {
  const doc = asyncApiDocument();
  const channels = obj(at(doc, 'channels'));
  const familyChannels = Object.entries(channels).filter(([, c]) => at(c, 'address') !== DEAD_LETTER_TOPIC);

  it('is AsyncAPI 3.0.0 and states the conventions every producer must follow', () => {
    expect(doc['asyncapi']).toBe('3.0.0');
    expect(at(doc, 'info', 'title')).toBe('kpi-pipeline events');
    expect(at(doc, 'info', 'version')).toMatch(/^\d+\.\d+\.\d+$/);
    const description = str(at(doc, 'info', 'description'));
    for (const phrase of ['integer minor units', 'decimal strings', 'up to 6 decimals', 'ISO 4217', 'reporting currency', 'ISO-8601', 'offset', 'UTC', 'event_id', 'deduplication', 'keyed by the id of the entity', 'in order']) {
      expect(description).toContain(phrase);
    }
    expect(description).toContain('at most 8388608 bytes');
  });

  it('gives every family topic a max.message.bytes above the largest message', () => {
    for (const [, channel] of familyChannels) {
      expect(at(channel, 'bindings', 'kafka', 'topicConfiguration', 'max.message.bytes')).toBe(FAMILY_TOPIC_MAX_BYTES);
    }
  });

  it('has one channel per topic, addressed by the topic name', () => {
    const addresses = Object.values(channels).map((c) => at(c, 'address'));
    expect(addresses.sort()).toEqual([...Object.values(TOPIC), DEAD_LETTER_TOPIC].sort());
  });

  it('lists every event type and version in exactly one channel: the one of its topic', () => {
    for (const s of samples()) {
      const name = `${s.type}.v${s.version}`;
      const holders = familyChannels.filter(([, c]) => name in obj(at(c, 'messages')));
      expect(holders.map(([, c]) => at(c, 'address'))).toEqual([s.topic]);
    }
    const listed = familyChannels.flatMap(([, c]) => Object.keys(obj(at(c, 'messages'))));
    expect(listed.sort()).toEqual([...REGISTERED].sort());
  });

  it('describes each event message: JSON, its schema, and the entity id as Kafka key', () => {
    const schemas = new Map(eventJsonSchemas().map((e) => [e.name, e.schema]));
    for (const [, channel] of familyChannels) {
      for (const ref of Object.values(obj(at(channel, 'messages')))) {
        const message = obj(resolveRef(doc, refOf(ref)));
        const name = str(at(message, 'name'));
        expect(message['title']).toEqual(expect.any(String));
        expect(message['contentType']).toBe('application/json');
        const payload = obj(resolveRef(doc, refOf(at(message, 'payload'))));
        expect(payload['schemaFormat']).toBe('application/schema+json;version=draft-2020-12');
        expect(payload['schema']).toEqual(schemas.get(name));
        expect(at(message, 'bindings', 'kafka', 'key', 'type')).toBe('string');
      }
    }
  });

  it('has the ingest service receive from every family channel and send to the dead-letter channel', () => {
    const operations = Object.values(obj(at(doc, 'operations'))).map(obj);
    const byChannel = new Map(operations.map((op) => [refOf(at(op, 'channel')), op]));
    for (const [id] of familyChannels) {
      const op = byChannel.get(`#/channels/${id}`);
      expect(op?.['action']).toBe('receive');
      // An operation may only carry messages of its own channel.
      const refs = (op?.['messages'] ?? []) as JsonValue[];
      expect(refs.map(refOf).sort()).toEqual(Object.keys(obj(at(channels, id, 'messages'))).map((m) => `#/channels/${id}/messages/${m}`).sort());
    }
    const deadLetterId = Object.entries(channels).find(([, c]) => at(c, 'address') === DEAD_LETTER_TOPIC)?.[0];
    expect(byChannel.get(`#/channels/${deadLetterId}`)?.['action']).toBe('send');
    expect(operations).toHaveLength(familyChannels.length + 1);
  });

  it('describes a dead letter: the original bytes, and why and where it was rejected in headers', () => {
    const [deadLetterRef] = Object.values(obj(at(Object.values(channels).find((c) => at(c, 'address') === DEAD_LETTER_TOPIC), 'messages')));
    const message = obj(resolveRef(doc, refOf(deadLetterRef ?? null)));
    expect(message['contentType']).toBe('application/octet-stream');
    const headers = obj(at(message, 'headers'));
    expect(at(headers, 'properties', 'x-reject-code', 'enum')).toEqual(REJECT_CODES);
    expect(at(headers, 'required')).toEqual(['x-reject-code', 'x-reject-reason', 'x-source-topic', 'x-source-partition', 'x-source-offset']);

    const validate = compile(headers);
    const good = { 'x-reject-code': 'schema_violation', 'x-reject-reason': 'payload.rating: Too big', 'x-source-topic': TOPIC.tickets, 'x-source-partition': '3', 'x-source-offset': '18446744' };
    expect(validate(good)).toBe(true);
    expect(validate({ ...good, 'x-reject-code': 'bad_vibes' })).toBe(false);
    expect(validate({ ...good, 'x-source-offset': '-1' })).toBe(false);
    expect(validate({ ...good, 'x-source-topic': undefined })).toBe(false);
  });

  it('has no dangling references', () => {
    for (const ref of collectRefs(doc)) expect(() => resolveRef(doc, ref)).not.toThrow();
  });
});

describe('event JSON Schemas', () => {
  const all = eventJsonSchemas();

  it('cover every event type and version of the registry, in registry order', () => {
    expect(all.map((e) => e.name)).toEqual(REGISTERED);
  });

  it('state the money rules the ingest service enforces beyond the schema', () => {
    const description = (name: string): string => str(at(all.find((e) => e.name === name)?.schema, 'description'));
    for (const name of ['sale.completed.v1', 'sale.completed.v2', 'sale.completed.v3', 'return.received.v2', 'refund.issued.v2']) expect(description(name)).toContain('ISO 4217');
    expect(description('sale.completed.v2')).toContain('10^15 minor units');
    expect(description('sale.completed.v3')).toContain('10^13 currency units');
    for (const name of ['sale.completed.v3', 'return.received.v2', 'refund.issued.v2']) expect(description(name)).toContain('read exactly');
    for (const name of ['return.received.v1', 'refund.issued.v1']) expect(description(name)).toContain('reporting currency');
    expect(description('ticket.rated.v1')).not.toContain('currency');
  });

  it.each(all.map((e) => [e.name, e] as const))('%s is a closed draft 2020-12 schema of the envelope', (name, e) => {
    const s = e.schema;
    expect(s['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s['$id']).toBe(`https://kpi-pipeline.dev/schemas/events/${name}.json`);
    expect(s['title']).toEqual(expect.any(String));
    expect(s['type']).toBe('object');
    expect(s['additionalProperties']).toBe(false);
    expect(s['required']).toEqual(ENVELOPE_FIELDS);
    expect(at(s, 'properties', 'type', 'const')).toBe(e.type);
    expect(at(s, 'properties', 'version', 'const')).toBe(e.version);
    expect(at(s, 'properties', 'org', 'additionalProperties')).toBe(false);
    expect(at(s, 'properties', 'payload', 'additionalProperties')).toBe(false);
    expect(at(s, 'properties', 'payload', 'required')).toContain(e.key);
  });

  it('take the input side: a defaulted field is optional', () => {
    const sale = all.find((e) => e.name === 'sale.completed.v2');
    const line = at(sale?.schema, 'properties', 'payload', 'properties', 'lines', 'items');
    expect(at(line, 'required')).not.toContain('discount_minor');
    expect(at(line, 'properties', 'discount_minor', 'default')).toBe(0);
    const v3 = all.find((e) => e.name === 'sale.completed.v3');
    const lineV3 = at(v3?.schema, 'properties', 'payload', 'properties', 'lines', 'items');
    expect(at(lineV3, 'required')).not.toContain('discount');
    expect(at(lineV3, 'properties', 'discount', 'default')).toBe('0');
    expect(at(v3?.schema, 'properties', 'payload', 'required')).not.toContain('payment_method');
  });

  describe.each(samples().map((s) => [`${s.type}.v${s.version}`, s] as const))('%s', (name, s) => {
    const entry = all.find((e) => e.name === name);
    const validate = compile(entry?.schema ?? {});
    const payload = s.event['payload'] as Json;

    it('accepts the sample event', () => {
      const ok = validate(s.event);
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    });

    it('rejects an extra field in the envelope, the org and the payload', () => {
      expect(validate({ ...s.event, trace_id: 'abc' })).toBe(false);
      expect(validate({ ...s.event, org: { ...(s.event['org'] as Json), city: 'Shanghai' } })).toBe(false);
      expect(validate({ ...s.event, payload: { ...payload, note: 'x' } })).toBe(false);
    });

    it('rejects a missing envelope field, a wrong type or version, and a missing entity id', () => {
      for (const field of ENVELOPE_FIELDS) {
        const copy: Json = { ...s.event };
        delete copy[field];
        expect(validate(copy)).toBe(false);
      }
      expect(validate({ ...s.event, type: 'something.else' })).toBe(false);
      expect(validate({ ...s.event, version: s.version + 1 })).toBe(false);
      const key = Object.keys(payload).find((k) => k.endsWith('_id'));
      const copy: Json = { ...payload };
      if (key) delete copy[key];
      expect(validate({ ...s.event, payload: copy })).toBe(false);
    });
  });

  it('carry the field rules that JSON Schema can express', () => {
    const validate = compile(all.find((e) => e.name === 'sale.completed.v2')?.schema ?? {});
    const withLine = (line: Json): Json => envelope('sale.completed', 2, salePayloadV2({ lines: [saleLine(line)] }));
    expect(validate(withLine({}))).toBe(true);
    expect(validate(withLine({ unit_price_minor: 12.5 }))).toBe(false);
    expect(validate(withLine({ quantity: -1 }))).toBe(false);
    expect(validate(withLine({ category: 'Snacks\n' }))).toBe(false);
    expect(validate(withLine({ category: '零食' }))).toBe(true);
    expect(validate(envelope('sale.completed', 2, salePayloadV2(), { event_id: "x'; DROP TABLE sales; --" }))).toBe(false);
    expect(validate(envelope('sale.completed', 2, salePayloadV2(), { occurred_at: '2026-07-15T09:30:00' }))).toBe(false);
  });

  it('carry the form of a decimal amount: a string of digits with up to 6 decimals', () => {
    const validate = compile(all.find((e) => e.name === 'sale.completed.v3')?.schema ?? {});
    const withLine = (line: Json): Json => envelope('sale.completed', 3, salePayloadV3({ lines: [saleLineV3(line)] }));
    for (const price of ['0.001', '12', '12.345678', '0']) expect(validate(withLine({ unit_price: price }))).toBe(true);
    for (const price of ['0.0000001', '-1.5', '1e-3', '01.5', '.5', '1.', '1,5', ' 1.5', '']) expect(validate(withLine({ unit_price: price }))).toBe(false);
    expect(validate(withLine({ unit_price: 12.5 }))).toBe(false);
    expect(validate(withLine({ discount: 2.5 }))).toBe(false);
    expect(validate(withLine({ unit_price_minor: 1_250 }))).toBe(false);
  });
});

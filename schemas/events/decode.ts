import { MAX_CLOCK_SKEW_MS } from './common.js';
import { compileFastCheck, type FastCheck } from './fast-check.js';
import { EVENT_SCHEMAS, familyOfTopic, isEventType, type BusinessEvent, type Family } from './registry.js';

/** Largest message accepted, in bytes (a sale of 10,000 lines fits); anything larger is set aside, not parsed. */
export const MAX_EVENT_BYTES = 8 * 1024 * 1024;

/** Why a message was set aside. Stable codes: dashboards and alerts count by them. */
export const REJECT_REASONS = [
  'oversized',
  'invalid_utf8',
  'invalid_json',
  'not_an_object',
  'unknown_topic',
  'unknown_type',
  'unknown_version',
  'wrong_topic',
  'schema_violation',
  'timestamp_out_of_range',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type DecodeResult =
  | { ok: true; family: Family; event: BusinessEvent }
  | { ok: false; code: RejectReason; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Each contract compiled once, on first use (undefined: that contract is checked by zod alone). */
const fastChecks = new Map<object, FastCheck | undefined>();
function fastCheckOf(schema: Parameters<typeof compileFastCheck>[0]): FastCheck | undefined {
  if (!fastChecks.has(schema)) fastChecks.set(schema, compileFastCheck(schema));
  return fastChecks.get(schema);
}

function reject(code: RejectReason, reason: string): DecodeResult {
  // Reasons quote input (unknown keys, values): escape control characters so a reason is
  // always one readable line in headers, logs and tables.
  const safe = reason.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return { ok: false, code, reason: safe.length > 1_000 ? `${safe.slice(0, 1_000)}…` : safe };
}

/**
 * Turns one message into a valid event or a reason to set it aside. Deterministic: the
 * reference time is the message's own (broker) timestamp, so a replay decides the same.
 */
export function decodeEvent(value: Uint8Array | null, context: { topic: string; timestampMs: number; family?: Family }): DecodeResult {
  // `family` is given when topic names carry an environment prefix.
  const family = context.family ?? familyOfTopic(context.topic);
  if (!family) return reject('unknown_topic', `topic ${context.topic} carries no event family`);
  if (value === null || value.length === 0) return reject('invalid_json', 'empty message');
  if (value.length > MAX_EVENT_BYTES) return reject('oversized', `${value.length} bytes, more than the ${MAX_EVENT_BYTES} allowed`);

  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return reject('invalid_utf8', 'the message is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return reject('invalid_json', `not JSON: ${err instanceof Error ? err.message : 'parse error'}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return reject('not_an_object', 'the message is not a JSON object');

  const record = parsed as Record<string, unknown>;
  const type = record['type'];
  if (typeof type !== 'string' || !isEventType(type)) return reject('unknown_type', `unknown event type ${JSON.stringify(type)?.slice(0, 80)}`);
  const entry = EVENT_SCHEMAS[type];
  if (entry.family !== family) return reject('wrong_topic', `${type} belongs on the ${entry.family} topic, not ${context.topic}`);
  const version = record['version'];
  const schema = typeof version === 'number' ? (entry.versions as Record<number, (typeof entry.versions)[keyof typeof entry.versions]>)[version] : undefined;
  if (!schema) {
    return reject('unknown_version', `${type} has no version ${JSON.stringify(version)?.slice(0, 40)}; known: ${Object.keys(entry.versions).join(', ')}`);
  }

  // Valid events, nearly all of them, pass the compiled contract; the rest are parsed by zod
  // itself, which either accepts them too or says why not.
  let event: BusinessEvent;
  if (fastCheckOf(schema)?.(parsed) === true) {
    event = parsed as BusinessEvent;
  } else {
    let result: ReturnType<typeof schema.safeParse>;
    try {
      result = schema.safeParse(parsed);
    } catch (err) {
      // A rule that throws on some input must set that message aside, not stop the partition.
      return reject('schema_violation', `the event could not be checked: ${err instanceof Error ? err.message : 'check failed'}`);
    }
    if (!result.success) {
      const issues = result.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`);
      return reject('schema_violation', issues.join('; '));
    }
    event = result.data;
  }
  // Every Kafka record (format v2) carries a timestamp; without one there is no reference
  // for "too far in the future", so the event cannot be judged.
  if (!Number.isFinite(context.timestampMs) || context.timestampMs <= 0) {
    return reject('timestamp_out_of_range', `the message has no usable timestamp (${context.timestampMs}) to judge occurred_at against`);
  }
  if (Date.parse(event.occurred_at) > context.timestampMs + MAX_CLOCK_SKEW_MS) {
    return reject('timestamp_out_of_range', `occurred_at ${event.occurred_at} is more than a day after the message was sent`);
  }
  return { ok: true, family, event };
}

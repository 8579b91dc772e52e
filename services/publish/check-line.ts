import { MAX_EVENT_BYTES, decodeEvent, type RejectReason } from '../../schemas/events/decode.js';
import { EVENT_SCHEMAS, entityKey, isEventType, type Family } from '../../schemas/events/registry.js';
import type { OutgoingMessage } from '../shared/topic-sender.js';
import type { InputLine } from './lines.js';

/**
 * What becomes of one line: skipped (blank), sent to its family's topic, or set aside with
 * the reason ingest would give. The checks are ingest's own (decodeEvent), so a line that
 * passes here is stored, and one that fails would have been a dead letter.
 */
export type LineVerdict =
  | { kind: 'blank' }
  | { kind: 'valid'; family: Family; message: OutgoingMessage }
  | { kind: 'bad'; code: RejectReason; reason: string };

/** Spaces, tabs and CRs only (or nothing). */
function isBlank(bytes: Buffer): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}

/** The family of the line's `type`, when the line is a JSON object with a known one. */
function familyOfLine(bytes: Buffer): Family | undefined {
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    const type = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['type'] : undefined;
    return typeof type === 'string' && isEventType(type) ? EVENT_SCHEMAS[type].family : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A checker of lines for the topics `topics` (family → full topic name).
 *
 * decodeEvent checks an event against the family of the topic it arrived on; a line has no
 * topic, so its `type` names it. Histories are mostly exported one system at a time, so a
 * line is usually of the previous valid line's family: it is decoded with that family first
 * and parsed once. Only when decodeEvent answers `wrong_topic` is the type looked up and
 * the line decoded again for its own family. Every other reason does not depend on the
 * family, so it is the reason ingest gives.
 */
export function createLineChecker(topics: Readonly<Record<Family, string>>): (line: InputLine, timestampMs: number) => LineVerdict {
  let guess: Family = 'sales';
  const decodeAs = (bytes: Buffer, family: Family, timestampMs: number) => decodeEvent(bytes, { topic: topics[family], timestampMs, family });

  return (line, timestampMs) => {
    if (line.length > MAX_EVENT_BYTES) {
      // Only the head of the line was kept (readLines); ingest's words for it.
      return { kind: 'bad', code: 'oversized', reason: `${line.length} bytes, more than the ${MAX_EVENT_BYTES} allowed` };
    }
    if (isBlank(line.bytes)) return { kind: 'blank' };
    let result = decodeAs(line.bytes, guess, timestampMs);
    if (!result.ok && result.code === 'wrong_topic') {
      const family = familyOfLine(line.bytes);
      if (family) result = decodeAs(line.bytes, family, timestampMs);
    }
    if (!result.ok) return { kind: 'bad', code: result.code, reason: result.reason };
    guess = result.family;
    return { kind: 'valid', family: result.family, message: { topic: topics[result.family], key: entityKey(result.event), value: line.bytes } };
  };
}

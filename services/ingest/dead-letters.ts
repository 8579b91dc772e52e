import type { RejectReason } from '../../schemas/events/index.js';

/** A message set aside: where it came from, why, and its bytes untouched. */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  code: RejectReason;
  reason: string;
}

/** Header names on the dead-letter topic. */
export const DEAD_LETTER_HEADERS = {
  code: 'x-reject-code',
  reason: 'x-reject-reason',
  topic: 'x-source-topic',
  partition: 'x-source-partition',
  offset: 'x-source-offset',
} as const;

/** The message for the dead-letter topic: original key and value bytes, reason in headers. */
export function deadLetterMessage(d: DeadLetter): { key: Buffer | null; value: Buffer | null; headers: Record<string, string> } {
  return {
    key: d.key,
    value: d.value,
    headers: {
      [DEAD_LETTER_HEADERS.code]: d.code,
      [DEAD_LETTER_HEADERS.reason]: d.reason,
      [DEAD_LETTER_HEADERS.topic]: d.topic,
      [DEAD_LETTER_HEADERS.partition]: String(d.partition),
      [DEAD_LETTER_HEADERS.offset]: d.offset,
    },
  };
}

/** The dead_letters row: readable text where the bytes are UTF-8, and the exact bytes in base64. */
export function deadLetterRow(d: DeadLetter): Record<string, unknown> {
  const bytes = d.value ?? Buffer.alloc(0);
  return {
    topic: d.topic,
    partition: d.partition,
    offset: d.offset,
    reason_code: d.code,
    reason: d.reason,
    message_key: d.key === null ? null : d.key.toString('utf8'),
    payload: bytes.toString('utf8'),
    payload_base64: bytes.toString('base64'),
  };
}

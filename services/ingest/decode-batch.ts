import { decodeEvent, type Family, type RejectReason } from '../../schemas/events/index.js';
import { tabSeparated } from '../shared/tab-separated.js';
import { FAMILY_COLUMNS, eventRows } from './rows.js';

/** Arrivals are counted per slice of this length; every zone's midnight is on a slice boundary. */
export const SLICE_MS = 15 * 60_000;

/** One fetched batch of one partition, as the decoding threads receive it. */
export interface BatchInput {
  topic: string;
  partition: number;
  /** Given when topic names carry an environment prefix. */
  family?: Family;
  /** Each message's value (null for a tombstone), offset (decimal text) and broker timestamp (epoch ms). */
  messages: readonly { value: Uint8Array | null; offset: string; timestampMs: number }[];
}

/** What a batch becomes: the rows for its family's table, and what ingest records beside them. */
export interface DecodedBatch {
  /** Valid events. */
  valid: number;
  /** Rows of the family table: one per event, one per line for sales. */
  rows: number;
  /** The rows as TabSeparated text in FAMILY_COLUMNS order ('' when none). */
  body: string;
  /** Newest occurred_at among the valid events, epoch ms; 0 when none. */
  newestEventMs: number;
  /** Valid events per 15-minute slice of occurred_at: [slice start epoch ms, events]. */
  slices: [number, number][];
  /** Messages set aside: their index in the batch, and why. */
  rejected: { index: number; code: RejectReason; reason: string }[];
}

/**
 * Decodes and validates every message of a batch and turns the valid ones into their
 * table's rows, as TabSeparated text ready to insert. Pure: the same batch gives the same
 * result on any thread, which is what lets a replay skip an insert already made.
 */
export function decodeBatch(input: BatchInput): DecodedBatch {
  const { topic, partition, family } = input;
  const rows: Record<string, unknown>[] = [];
  const rejected: DecodedBatch['rejected'] = [];
  const slices = new Map<number, number>();
  let valid = 0;
  let newestEventMs = 0;
  let tableFamily: Family | undefined = family;
  input.messages.forEach((message, index) => {
    const result = decodeEvent(message.value, { topic, timestampMs: message.timestampMs, ...(family ? { family } : {}) });
    if (!result.ok) {
      rejected.push({ index, code: result.code, reason: result.reason });
      return;
    }
    valid += 1;
    tableFamily = result.family;
    for (const row of eventRows(result.event, { partition, offset: message.offset })) rows.push(row);
    const occurredMs = Date.parse(result.event.occurred_at);
    newestEventMs = Math.max(newestEventMs, occurredMs);
    const slice = occurredMs - (((occurredMs % SLICE_MS) + SLICE_MS) % SLICE_MS);
    slices.set(slice, (slices.get(slice) ?? 0) + 1);
  });
  return {
    valid,
    rows: rows.length,
    body: tableFamily && rows.length > 0 ? tabSeparated(rows, FAMILY_COLUMNS[tableFamily]) : '',
    newestEventMs,
    slices: [...slices],
    rejected,
  };
}

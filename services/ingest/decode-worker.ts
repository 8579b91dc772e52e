import { parentPort } from 'node:worker_threads';
import type { Family } from '../../schemas/events/index.js';
import { decodeBatch } from './decode-batch.js';

/** What the pool sends a decoding thread: a batch's values packed in one transferred buffer. */
export interface DecodeRequest {
  id: number;
  topic: string;
  partition: number;
  family?: Family;
  /** Every value, end to end. */
  values: Uint8Array;
  /** Each value's length in bytes; -1 for a null value. */
  lengths: Int32Array;
  offsets: string[];
  timestamps: Float64Array;
}

export type DecodeReply =
  | { id: number; ok: true; batch: Omit<ReturnType<typeof decodeBatch>, 'body'>; body: Uint8Array }
  | { id: number; ok: false; error: string };

const encoder = new TextEncoder();

function decode(request: DecodeRequest): DecodeReply {
  const { values, lengths, offsets, timestamps } = request;
  const messages: { value: Uint8Array | null; offset: string; timestampMs: number }[] = [];
  let at = 0;
  for (let i = 0; i < lengths.length; i += 1) {
    const length = lengths[i] as number;
    messages.push({ value: length < 0 ? null : values.subarray(at, at + length), offset: offsets[i] as string, timestampMs: timestamps[i] as number });
    if (length > 0) at += length;
  }
  const { body, ...batch } = decodeBatch({ topic: request.topic, partition: request.partition, ...(request.family ? { family: request.family } : {}), messages });
  // An encoder's array owns its buffer, so it can be handed over without copying.
  return { id: request.id, ok: true, batch, body: encoder.encode(body) };
}

parentPort?.on('message', (request: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    reply = decode(request);
  } catch (err) {
    reply = { id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(reply, reply.ok ? [reply.body.buffer as ArrayBuffer] : []);
});

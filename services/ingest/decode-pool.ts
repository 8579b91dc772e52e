import { Worker } from 'node:worker_threads';
import { KpiError } from '../shared/errors.js';
import { decodeBatch, type BatchInput, type DecodedBatch } from './decode-batch.js';
import type { DecodeReply, DecodeRequest } from './decode-worker.js';

/** How long a dead decoding thread's replacement waits before starting. */
const RESTART_DELAY_MS = 1_000;

/** A decoded batch with its table's rows as bytes. */
export type DecodedBytes = Omit<DecodedBatch, 'body'> & { body: Buffer };

export interface Decoder {
  decode(input: BatchInput): Promise<DecodedBytes>;
  /** Stops the threads; batches in flight are refused. */
  close(): Promise<void>;
}

export interface DecoderOptions {
  /** Decoding threads beside the consumer's; 0 decodes on the calling thread. @default 1 */
  threads?: number;
}

/**
 * Decodes batches off the consumer's thread. Validation (JSON and the event contracts) and
 * row building cost several times what kafkajs spends fetching the same messages, so on
 * the consumer's own thread they bound ingest; on their own threads they run beside
 * fetching and inserting. Each batch goes to the thread with the fewest batches in hand; a
 * thread that dies fails its batches (ingest retries them) and is replaced.
 */
export function createDecoder(options: DecoderOptions = {}): Decoder {
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 0 || threads > 64) throw new KpiError(`decoding threads must be a whole number from 0 to 64, not ${threads}`);
  if (threads === 0) {
    return {
      decode: (input) => {
        const { body, ...rest } = decodeBatch(input);
        return Promise.resolve({ ...rest, body: Buffer.from(body, 'utf8') });
      },
      close: () => Promise.resolve(),
    };
  }

  interface Lane {
    worker: Worker;
    pending: Map<number, { resolve: (d: DecodedBytes) => void; reject: (e: Error) => void }>;
    /** Set once the thread died and a new one is on its way. */
    replaced?: boolean;
  }
  let nextId = 1;
  let closed = false;
  const lanes: Lane[] = [];

  function start(slot: number): Lane {
    const worker = new Worker(new URL('./decode-thread.js', import.meta.url));
    // The threads never keep the process alive on their own.
    worker.unref();
    const lane: Lane = { worker, pending: new Map() };
    worker.on('message', (reply: DecodeReply) => {
      const waiting = lane.pending.get(reply.id);
      if (!waiting) return;
      lane.pending.delete(reply.id);
      if (reply.ok) waiting.resolve({ ...reply.batch, body: Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength) });
      else waiting.reject(new KpiError(`decoding a batch failed: ${reply.error}`));
    });
    const fail = (why: string): void => {
      for (const waiting of lane.pending.values()) waiting.reject(new KpiError(why, { retriable: true }));
      lane.pending.clear();
      if (closed || lanes[slot] !== lane || lane.replaced) return;
      lane.replaced = true;
      // Replaced a second later, not at once: a thread that cannot start at all must not
      // be restarted in a loop. Meanwhile its batches go to the other threads, or wait.
      setTimeout(() => {
        if (!closed && lanes[slot] === lane) lanes[slot] = start(slot);
      }, RESTART_DELAY_MS).unref();
    };
    worker.on('error', (err) => fail(`a decoding thread failed: ${err.message}`));
    worker.on('exit', (code) => fail(`a decoding thread exited (code ${code})`));
    return lane;
  }
  for (let i = 0; i < threads; i += 1) lanes.push(start(i));

  return {
    decode(input) {
      if (closed) return Promise.reject(new KpiError('the decoder is closed'));
      // The live thread with the fewest batches in hand (a dead one's batches would fail).
      const lane = lanes.reduce((best, l) => (best.replaced || (!l.replaced && l.pending.size < best.pending.size) ? l : best));
      if (lane.replaced) return Promise.reject(new KpiError('no decoding thread is running; a new one starts in a second', { retriable: true }));
      // One buffer of every value, owned by this batch, handed to the thread without a copy.
      let total = 0;
      for (const m of input.messages) total += m.value?.length ?? 0;
      const values = new Uint8Array(new ArrayBuffer(total));
      const lengths = new Int32Array(input.messages.length);
      const timestamps = new Float64Array(input.messages.length);
      const offsets: string[] = [];
      let at = 0;
      input.messages.forEach((m, i) => {
        lengths[i] = m.value === null ? -1 : m.value.length;
        if (m.value) {
          values.set(m.value, at);
          at += m.value.length;
        }
        timestamps[i] = m.timestampMs;
        offsets.push(m.offset);
      });
      const id = nextId++;
      const request: DecodeRequest = { id, topic: input.topic, partition: input.partition, values, lengths, offsets, timestamps, ...(input.family ? { family: input.family } : {}) };
      return new Promise<DecodedBytes>((resolve, reject) => {
        lane.pending.set(id, { resolve, reject });
        lane.worker.postMessage(request, [values.buffer, lengths.buffer, timestamps.buffer]);
      });
    },
    async close() {
      closed = true;
      await Promise.all(lanes.map((l) => l.worker.terminate()));
    },
  };
}

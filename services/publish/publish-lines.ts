import { setTimeout as sleep } from 'node:timers/promises';
import type { RejectReason } from '../../schemas/events/decode.js';
import { FAMILIES, type Family } from '../../schemas/events/registry.js';
import { KpiError, describeError } from '../shared/errors.js';
import { DEFAULT_FLUSH_LIMITS, fitsInFlush, type FlushLimits, type OutgoingMessage } from '../shared/topic-sender.js';
import { createLineChecker } from './check-line.js';
import type { InputLine } from './lines.js';
import { TokenBucket, pacedFlushSize } from './token-bucket.js';

/** A line that was not sent, and why: ingest's reject code and reason. */
export interface BadLine {
  line: number;
  code: RejectReason;
  reason: string;
  /** The line's bytes; only its head when `truncated` (an oversized line). */
  bytes: Buffer;
  truncated: boolean;
}

/** What a run has done so far; every line read is exactly one of valid, bad or skipped. */
export interface PublishCounts {
  /** Lines read, from the first line asked for on (blank ones included). */
  read: number;
  /** Lines that passed ingest's checks (all sent, unless a dry run). */
  valid: number;
  /** Valid lines the broker acknowledged. */
  sent: number;
  bad: number;
  /** Blank lines. */
  skipped: number;
  /** The number of the last line read; when the run ends, every line up to it is done. 0: none. */
  lastLine: number;
  /**
   * Every line up to this one is done: sent and acknowledged, reported bad or skipped. Lines
   * after it wait in the flush being filled or sent; `--from-line done+1` resumes safely.
   */
  done: number;
  /** Valid lines by family. */
  byFamily: Record<Family, number>;
  /** Bad lines by reject code. */
  badByCode: Partial<Record<RejectReason, number>>;
}

export interface PublishLinesOptions {
  lines: AsyncIterable<InputLine>;
  /** Full name of each family's topic (topicNames(prefix).families). */
  topics: Readonly<Record<Family, string>>;
  /** Sends one flush; absent for a dry run, which checks every line and sends nothing. */
  send?: (flush: readonly OutgoingMessage[]) => Promise<void>;
  /** @default DEFAULT_FLUSH_LIMITS */
  limits?: FlushLimits;
  /** Most events sent per second, on average; unset: as fast as the broker acknowledges. */
  ratePerSecond?: number;
  /** Aborted: stop after the current line, send what was checked, return. */
  signal?: AbortSignal;
  /** Called for each bad line, in order, and awaited. */
  onBad?: (bad: BadLine) => void | Promise<void>;
  /** Called about every `progressIntervalMs` while lines are read. */
  onProgress?: (counts: Readonly<PublishCounts>, elapsedMs: number) => void;
  /** Time between progress reports, in ms. @default 1_000 */
  progressIntervalMs?: number;
  /** The reference time ingest judges `occurred_at` by, in ms since the epoch. @default Date.now */
  now?: () => number;
}

export interface PublishLinesResult extends PublishCounts {
  elapsedMs: number;
  /** True when the signal was aborted: the input may not have been read to its end. */
  stopped: boolean;
}

/**
 * Checks each line as ingest would and sends the valid ones, exactly as read, in flushes.
 *
 * A line is checked against the current time: its message is stamped when it is sent, a
 * little later, and ingest judges `occurred_at` against that stamp, so a line valid here is
 * valid there. Flushes are sent one at a time, in line order; at most one flush of
 * valid lines is held in memory.
 */
export async function publishLines(options: PublishLinesOptions): Promise<PublishLinesResult> {
  const { lines, topics, send, signal, onBad, onProgress, progressIntervalMs = 1_000, now = Date.now } = options;
  const rate = options.ratePerSecond;
  const baseLimits = options.limits ?? DEFAULT_FLUSH_LIMITS;
  const limits = rate === undefined ? baseLimits : { ...baseLimits, maxMessages: pacedFlushSize(rate, baseLimits.maxMessages) };
  const started = performance.now();
  const bucket = rate === undefined ? undefined : new TokenBucket(rate, limits.maxMessages, started);
  const check = createLineChecker(topics);
  const counts: PublishCounts = {
    read: 0,
    valid: 0,
    sent: 0,
    bad: 0,
    skipped: 0,
    lastLine: 0,
    done: 0,
    byFamily: Object.fromEntries(FAMILIES.map((f) => [f, 0])) as Record<Family, number>,
    badByCode: {},
  };

  const flush: OutgoingMessage[] = [];
  let flushBytes = 0;
  const sendFlush = async (): Promise<void> => {
    if (!send || flush.length === 0) return;
    const waitMs = bucket?.take(flush.length, performance.now()) ?? 0;
    // A stop cuts the wait short: what was checked goes out at once.
    if (waitMs > 0) await sleep(waitMs, undefined, signal ? { signal } : {}).catch(() => undefined);
    try {
      await send(flush);
    } catch (err) {
      throw new KpiError(
        `sending to Kafka failed: ${describeError(err)}. Every line before line ${counts.done + 1} is done; resume with --from-line ${counts.done + 1} (events sent twice are stored once)`,
        { cause: err },
      );
    }
    counts.sent += flush.length;
    counts.done = counts.lastLine;
    flush.length = 0;
    flushBytes = 0;
  };

  let lastReport = started;
  try {
    for await (const line of lines) {
      if (signal?.aborted) break;
      // Lines before the first one asked for (--from-line) count as done.
      if (counts.read === 0) counts.done = line.number - 1;
      counts.read += 1;
      const verdict = check(line, now());
      if (verdict.kind === 'blank') {
        counts.skipped += 1;
      } else if (verdict.kind === 'bad') {
        counts.bad += 1;
        counts.badByCode[verdict.code] = (counts.badByCode[verdict.code] ?? 0) + 1;
        await onBad?.({ line: line.number, code: verdict.code, reason: verdict.reason, bytes: line.bytes, truncated: line.bytes.length < line.length });
      } else {
        counts.valid += 1;
        counts.byFamily[verdict.family] += 1;
        if (send) {
          const size = verdict.message.value.length;
          if (!fitsInFlush({ messages: flush.length, bytes: flushBytes }, size, limits)) await sendFlush();
          flush.push(verdict.message);
          flushBytes += size;
        }
      }
      counts.lastLine = line.number;
      if (flush.length === 0) counts.done = line.number;
      if (onProgress && performance.now() - lastReport >= progressIntervalMs) {
        lastReport = performance.now();
        onProgress(counts, lastReport - started);
      }
    }
  } catch (err) {
    // The input is destroyed on a stop so that a read waiting on an idle pipe ends too.
    if (!(signal?.aborted && err instanceof Error && err.name === 'AbortError')) throw err;
  }
  await sendFlush();
  counts.done = counts.lastLine;
  return { ...counts, elapsedMs: performance.now() - started, stopped: signal?.aborted === true };
}

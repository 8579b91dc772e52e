/**
 * Paces sending to at most `ratePerSecond` messages per second on average, in bursts of at
 * most `capacity`. Pure: the caller passes the time, so the arithmetic is testable.
 *
 * A take may borrow: the tokens go below zero and the answer is how long to wait until the
 * debt is paid. A pause (a slow input) refills the bucket only up to `capacity`, so a
 * backlog is never sent all at once to make up for lost time.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    nowMs: number,
  ) {
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
    if (!(Number.isFinite(capacity) && capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${capacity}`);
    this.tokens = capacity;
    this.lastMs = nowMs;
  }

  /** Takes `n` tokens at `nowMs`; returns the ms to wait before sending them (0: now). */
  take(n: number, nowMs: number): number {
    const elapsedMs = Math.max(0, nowMs - this.lastMs);
    this.lastMs = nowMs;
    this.tokens = Math.min(this.capacity, this.tokens + (elapsedMs * this.ratePerSecond) / 1_000);
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1_000) / this.ratePerSecond;
  }
}

/** Flushes per second a paced run aims at: small enough steps that the rate holds within a second. */
const PACED_FLUSHES_PER_SECOND = 10;

/**
 * Most messages per flush at `ratePerSecond`: a tenth of a second's worth (at least one, at
 * most `maxMessages`), so sending is smooth rather than one large burst per flush.
 */
export function pacedFlushSize(ratePerSecond: number, maxMessages: number): number {
  return Math.max(1, Math.min(maxMessages, Math.floor(ratePerSecond / PACED_FLUSHES_PER_SECOND)));
}

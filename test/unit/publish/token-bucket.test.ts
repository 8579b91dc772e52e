import { TokenBucket, pacedFlushSize } from '../../../services/publish/token-bucket.js';

describe('TokenBucket', () => {
  it('lets a first burst of its capacity through at once, then paces at the rate', () => {
    const bucket = new TokenBucket(100, 10, 0);
    expect(bucket.take(10, 0)).toBe(0);
    // 10 more at 100/s: 100 ms.
    expect(bucket.take(10, 0)).toBeCloseTo(100);
    // Sent at 100 ms as told: the next 10 are due at 200 ms.
    expect(bucket.take(10, 100)).toBeCloseTo(100);
    expect(bucket.take(10, 200)).toBeCloseTo(100);
  });

  it('holds the average rate over a long run', () => {
    const bucket = new TokenBucket(250, 25, 0);
    let now = 0;
    for (let i = 0; i < 1_000; i += 1) now += bucket.take(25, now);
    // 25,000 messages at 250/s: 100 s, less the first burst.
    expect(now / 1_000).toBeCloseTo((25_000 - 25) / 250, 6);
  });

  it('refills during a pause only up to its capacity: no backlog goes out at once', () => {
    const bucket = new TokenBucket(10, 5, 0);
    expect(bucket.take(5, 0)).toBe(0);
    // An hour idle: 5 tokens, not 36,000.
    expect(bucket.take(5, 3_600_000)).toBe(0);
    expect(bucket.take(5, 3_600_000)).toBeCloseTo(500);
  });

  it('allows rates below one per second', () => {
    const bucket = new TokenBucket(0.5, 1, 0);
    expect(bucket.take(1, 0)).toBe(0);
    expect(bucket.take(1, 0)).toBeCloseTo(2_000);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses the rate %p', (rate) => {
    expect(() => new TokenBucket(rate, 1, 0)).toThrow(RangeError);
  });
});

describe('pacedFlushSize', () => {
  it.each([
    [0.5, 2_000, 1],
    [5, 2_000, 1],
    [100, 2_000, 10],
    [1_234, 2_000, 123],
    [1_000_000, 2_000, 2_000],
  ])('at %p/s with flushes of at most %p: %p', (rate, max, size) => {
    expect(pacedFlushSize(rate, max)).toBe(size);
  });
});

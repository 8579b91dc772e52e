/**
 * Seeded randomness for the simulator: sfc32 (Small Fast Counter, 128-bit state) seeded by
 * cyrb128 over a list of parts. Same parts → same stream on every platform, so a seed
 * reproduces a run byte for byte. Not for anything secret.
 */

/** cyrb128: four 32-bit words hashed from a string; seeds sfc32. */
function cyrb128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i += 1) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** sfc32 by Chris Doty-Humphrey: uniform floats in [0, 1) with 32 bits of resolution. */
function sfc32(seed: [number, number, number, number]): () => number {
  let [a, b, c, d] = seed;
  return () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4_294_967_296;
  };
}

/** Items with cumulative weights, built once so that drawing is a binary search. */
export interface WeightedTable<T> {
  items: readonly T[];
  cumulative: Float64Array;
  total: number;
}

export function weights<T>(pairs: readonly (readonly [T, number])[]): WeightedTable<T> {
  if (pairs.length === 0) throw new RangeError('a weighted table needs at least one item');
  const cumulative = new Float64Array(pairs.length);
  let total = 0;
  pairs.forEach(([, w], i) => {
    if (!(w >= 0)) throw new RangeError(`weights must be non-negative, got ${w}`);
    total += w;
    cumulative[i] = total;
  });
  return { items: pairs.map(([item]) => item), cumulative, total };
}

export class Rng {
  private readonly next: () => number;

  /** A stream named by its parts, e.g. `new Rng(seed, 'store', 3, 'day', 20_300)`. */
  constructor(...parts: (string | number)[]) {
    this.next = sfc32(cyrb128(parts.join('\u001f')));
    // The first outputs of a fresh sfc32 state are weakly mixed.
    for (let i = 0; i < 12; i += 1) this.next();
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }

  /** Uniform in [min, max). */
  range(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** One of a table's items, with probability proportional to its weight. */
  weighted<T>(table: WeightedTable<T>): T {
    const { cumulative, items } = table;
    const r = this.next() * table.total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) > r) hi = mid;
      else lo = mid + 1;
    }
    return items[lo] as T;
  }

  /** Normal deviate (Box–Muller). */
  normal(mean: number, sd: number): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Exponential deviate with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Poisson count: exact (Knuth) for small means, rounded normal for large ones. */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 40) return Math.max(0, Math.round(this.normal(mean, Math.sqrt(mean))));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k += 1;
      p *= this.next();
    }
    return k;
  }

  /** `count` distinct integers of [0, n), in random order (partial Fisher–Yates). */
  sample(n: number, count: number): number[] {
    const take = Math.max(0, Math.min(count, n));
    const out: number[] = [];
    if (take * 8 >= n) {
      const all = new Int32Array(n);
      for (let i = 0; i < n; i += 1) all[i] = i;
      for (let i = 0; i < take; i += 1) {
        const j = i + Math.floor(this.next() * (n - i));
        const picked = all[j] ?? j;
        all[j] = all[i] ?? i;
        out.push(picked);
      }
      return out;
    }
    // Sparse form for small samples of large ranges: only swapped slots are stored.
    const swapped = new Map<number, number>();
    for (let i = 0; i < take; i += 1) {
      const j = i + Math.floor(this.next() * (n - i));
      const picked = swapped.get(j) ?? j;
      swapped.set(j, swapped.get(i) ?? i);
      out.push(picked);
    }
    return out;
  }
}

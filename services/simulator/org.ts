import { CHANNELS } from '../../schemas/events/common.js';
import { Rng } from './rng.js';

/**
 * The simulated organisation: regions, stores with their own operating traits, departments
 * and channels. A store's traits depend only on the seed and its number, so store S007 is the
 * same store whatever the store count; its region is store number modulo the region count.
 */

export const DEPARTMENTS = ['sales', 'fulfilment', 'service'] as const;
export type Department = (typeof DEPARTMENTS)[number];
export type Channel = (typeof CHANNELS)[number];

export interface Region {
  id: string;
  /** Multiplies store volumes of the region (0.85–1.15): some regions are busier. */
  volumeFactor: number;
  /** Added to store on-time probabilities (±0.03): logistics differ by region. */
  onTimeShift: number;
}

export interface StoreTraits {
  /** Multiplies the store's transaction volume; 0.47–1.84, mean near 1. */
  volumeScale: number;
  /** Share of transactions that are remote orders (online, phone, marketplace), 0.12–0.35. */
  orderShare: number;
  /** Probability an order is delivered by its promised time, 0.80–0.98. */
  onTimeProbability: number;
  /** Probability an order is cancelled before it ships, 0.02–0.06. */
  cancelProbability: number;
  /** Mean hours from order placed to shipped, 4–20. */
  handlingMeanHours: number;
  /** Probability a sale is (partly) returned, 0.02–0.10. */
  returnProbability: number;
  /** Probability a transaction leads to a complaint ticket, 0.004–0.025. */
  complaintProbability: number;
  /** Probability a transaction leads to a non-complaint ticket (question), 0.03–0.06. */
  inquiryProbability: number;
  /** Mean CSAT rating on a 1–5 scale before complaint and reopen penalties, 3.3–4.7. */
  csatMean: number;
  /** Mean hours from ticket opened to first response, 0.5–8. */
  firstResponseMeanHours: number;
  /** Share of in-store sales still sent by v1 point-of-sale terminals: 0–0.08, or 0.3–0.7 in a quarter of the stores. */
  posV1Share: number;
}

export interface Store {
  id: string;
  /** 1-based store number. */
  number: number;
  region: string;
  traits: StoreTraits;
}

export interface Org {
  regions: readonly Region[];
  stores: readonly Store[];
  departments: readonly Department[];
  channels: readonly Channel[];
}

export function regionId(n: number): string {
  return `R${String(n).padStart(2, '0')}`;
}

export function storeId(n: number): string {
  return `S${String(n).padStart(3, '0')}`;
}

export function buildOrg(options: { regions: number; stores: number; seed: number }): Org {
  const { regions: regionCount, stores: storeCount, seed } = options;
  if (!Number.isInteger(storeCount) || storeCount < 1) throw new RangeError(`stores must be a positive whole number, got ${storeCount}`);
  if (!Number.isInteger(regionCount) || regionCount < 1 || regionCount > storeCount) {
    throw new RangeError(`regions must be a whole number from 1 to the store count (${storeCount}), got ${regionCount}`);
  }
  const regions: Region[] = [];
  for (let n = 1; n <= regionCount; n += 1) {
    const rng = new Rng(seed, 'region', n);
    regions.push({ id: regionId(n), volumeFactor: rng.range(0.85, 1.15), onTimeShift: rng.range(-0.03, 0.03) });
  }
  const stores: Store[] = [];
  for (let n = 1; n <= storeCount; n += 1) {
    const region = regions[(n - 1) % regionCount] as Region;
    const rng = new Rng(seed, 'store', n);
    const traits: StoreTraits = {
      // Log-uniform: as many small stores as large ones around a mean near 1.
      volumeScale: Math.exp(rng.range(Math.log(0.55), Math.log(1.6))) * region.volumeFactor,
      orderShare: rng.range(0.12, 0.35),
      // 0.83–0.95 plus the region's ±0.03 keeps every store within 0.80–0.98.
      onTimeProbability: rng.range(0.83, 0.95) + region.onTimeShift,
      cancelProbability: rng.range(0.02, 0.06),
      handlingMeanHours: rng.range(4, 20),
      returnProbability: rng.range(0.02, 0.1),
      complaintProbability: rng.range(0.004, 0.025),
      inquiryProbability: rng.range(0.03, 0.06),
      csatMean: rng.range(3.3, 4.7),
      firstResponseMeanHours: Math.exp(rng.range(Math.log(0.5), Math.log(8))),
      // A quarter of the stores still run old terminals at most tills; the rest have a few left.
      posV1Share: rng.chance(0.25) ? rng.range(0.3, 0.7) : rng.range(0, 0.08),
    };
    stores.push({ id: storeId(n), number: n, region: region.id, traits });
  }
  return { regions, stores, departments: DEPARTMENTS, channels: CHANNELS };
}

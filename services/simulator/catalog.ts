import { Rng, weights } from './rng.js';

/**
 * The simulated assortment: categories with price bands, and SKUs with a fixed price and
 * unit cost drawn from the seed. Money is integer minor units (fen).
 */

export interface Category {
  /** Two letters, used in SKU ids. */
  code: string;
  /** Label carried on sale lines. */
  label: string;
  /** Price band of one unit, in fen. */
  priceMinMinor: number;
  priceMaxMinor: number;
  /** Unit cost as a share of the price. */
  costShareMin: number;
  costShareMax: number;
  /** Relative share of sale lines. */
  weight: number;
  /** Most units of one SKU on one line. */
  maxQuantity: number;
}

export const CATEGORIES: readonly Category[] = [
  { code: 'FD', label: '食品', priceMinMinor: 390, priceMaxMinor: 12_900, costShareMin: 0.6, costShareMax: 0.8, weight: 25, maxQuantity: 6 },
  { code: 'DH', label: '日用品', priceMinMinor: 590, priceMaxMinor: 9_900, costShareMin: 0.5, costShareMax: 0.7, weight: 20, maxQuantity: 4 },
  { code: 'AP', label: '服装', priceMinMinor: 4_900, priceMaxMinor: 59_900, costShareMin: 0.35, costShareMax: 0.55, weight: 18, maxQuantity: 3 },
  { code: 'BT', label: '美妆', priceMinMinor: 3_900, priceMaxMinor: 69_900, costShareMin: 0.3, costShareMax: 0.5, weight: 10, maxQuantity: 2 },
  { code: 'HF', label: '家居', priceMinMinor: 2_900, priceMaxMinor: 199_900, costShareMin: 0.5, costShareMax: 0.7, weight: 8, maxQuantity: 2 },
  { code: 'HA', label: '家电', priceMinMinor: 19_900, priceMaxMinor: 899_900, costShareMin: 0.65, costShareMax: 0.82, weight: 7, maxQuantity: 1 },
  { code: 'DG', label: '数码', priceMinMinor: 9_900, priceMaxMinor: 999_900, costShareMin: 0.75, costShareMax: 0.9, weight: 6, maxQuantity: 1 },
  { code: 'MB', label: '母婴', priceMinMinor: 1_900, priceMaxMinor: 39_900, costShareMin: 0.5, costShareMax: 0.7, weight: 6, maxQuantity: 3 },
];

export interface Product {
  sku: string;
  category: Category;
  unitPriceMinor: number;
  unitCostMinor: number;
}

export interface Catalog {
  products: readonly Product[];
  /** Draws a product: categories by weight, SKUs within a category by popularity (Zipf). */
  draw(rng: Rng): Product;
}

const SKUS_PER_CATEGORY = 30;

export function buildCatalog(seed: number): Catalog {
  const rng = new Rng(seed, 'catalog');
  const products: Product[] = [];
  const byCategory: { category: Category; cumulative: number[]; items: Product[] }[] = [];
  for (const category of CATEGORIES) {
    const items: Product[] = [];
    const cumulative: number[] = [];
    let total = 0;
    for (let i = 1; i <= SKUS_PER_CATEGORY; i += 1) {
      // Log-uniform prices, rounded to whole yuan (to 0.10 yuan below 10 yuan).
      const raw = Math.exp(rng.range(Math.log(category.priceMinMinor), Math.log(category.priceMaxMinor)));
      const step = raw < 1_000 ? 10 : 100;
      const unitPriceMinor = Math.max(step, Math.round(raw / step) * step - (rng.chance(0.5) ? step / 10 : 0));
      const unitCostMinor = Math.round(unitPriceMinor * rng.range(category.costShareMin, category.costShareMax));
      const product = { sku: `SKU-${category.code}-${String(i).padStart(3, '0')}`, category, unitPriceMinor, unitCostMinor };
      items.push(product);
      products.push(product);
      total += 1 / i;
      cumulative.push(total);
    }
    byCategory.push({ category, cumulative, items });
  }
  const categoryWeights = weights(byCategory.map((c, i) => [i, c.category.weight] as const));
  return {
    products,
    draw(r: Rng): Product {
      const entry = byCategory[r.weighted(categoryWeights)];
      if (!entry) throw new RangeError('empty catalog');
      const target = r.float() * (entry.cumulative.at(-1) ?? 0);
      let lo = 0;
      let hi = entry.cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((entry.cumulative[mid] ?? 0) > target) hi = mid;
        else lo = mid + 1;
      }
      return entry.items[lo] ?? (entry.items[0] as Product);
    },
  };
}

import { AMOUNT_DECIMALS, toMicros } from '../../schemas/events/common.js';
import { minorDigits } from '../../schemas/events/currencies.js';
import type { SaleLine, SaleLineV3 } from '../../schemas/events/sales.js';
import type { Catalog } from './catalog.js';
import { microsToDecimal } from './currency-plan.js';
import type { Rng } from './rng.js';

/**
 * Sales of the shapes real money takes beyond a till receipt: wholesale invoices of
 * thousands of lines, and prices finer than the currency's minor unit (goods weighed and
 * priced by the gram, prices after a rebate worked out to four decimals), sent as
 * sale.completed v3. Each draws from the stream it is given, so the store-day's own stream,
 * and every other event of the day, stay as they are without these shapes.
 */

/** Fewest lines of a wholesale invoice. */
export const LARGE_SALE_MIN_LINES = 1_000;

/**
 * Most lines of a wholesale invoice: about 700 KB of JSON (v3), well under the 8 MiB an
 * event may take, and few enough units for the order it may fulfil (12 a line at most).
 */
export const LARGE_SALE_MAX_LINES = 5_000;

/** Most units of one SKU on a wholesale line (cases of a product). */
const LARGE_SALE_MAX_QUANTITY = 12;

/** A line of any sale version. */
export type AnySaleLine = SaleLine | SaleLineV3;

/** Category of goods sold by weight. */
const WEIGHED_CATEGORY = '生鲜称重';

/** Grams in one jin (斤), the unit Chinese shelves price loose goods in. */
const GRAMS_PER_JIN = 500;

/**
 * Loose goods priced per jin (in fen, as the shelf shows them) and sold by the gram, so the
 * price of one unit is a fraction of a fen: salt at 0.50/斤 is 0.001 a gram.
 */
const WEIGHED_GOODS: readonly { sku: string; fenPerJin: number }[] = [
  { sku: 'SKU-WG-001', fenPerJin: 50 },
  { sku: 'SKU-WG-002', fenPerJin: 300 },
  { sku: 'SKU-WG-003', fenPerJin: 198 },
  { sku: 'SKU-WG-004', fenPerJin: 750 },
  { sku: 'SKU-WG-005', fenPerJin: 1_680 },
  { sku: 'SKU-WG-006', fenPerJin: 4_990 },
  { sku: 'SKU-WG-007', fenPerJin: 4_500 },
  { sku: 'SKU-WG-008', fenPerJin: 6_980 },
];

/** Micros in one minor unit of the currency. */
function microsPerMinor(currency: string): bigint {
  return 10n ** BigInt(AMOUNT_DECIMALS - minorDigits(currency));
}

/** Categories sold wholesale: goods bought several at a time (food, daily goods, clothes, baby goods), not appliances. */
const WHOLESALE_MIN_CATEGORY_QUANTITY = 3;

/**
 * A wholesale invoice: 1,000–5,000 lines of everyday catalog goods, up to a dozen units a
 * line, with a trade discount of 8–20 % and the unit cost known (the wholesaler's system
 * has it). SKUs repeat across lines, as on a real invoice of several deliveries.
 */
export function wholesaleLines(rng: Rng, catalog: Catalog, toMinor: (fen: number) => number): SaleLine[] {
  const goods = catalog.products.filter((p) => p.category.maxQuantity >= WHOLESALE_MIN_CATEGORY_QUANTITY);
  const count = rng.int(LARGE_SALE_MIN_LINES, LARGE_SALE_MAX_LINES);
  const lines: SaleLine[] = [];
  for (let lineNo = 1; lineNo <= count; lineNo += 1) {
    const product = rng.pick(goods);
    const quantity = rng.int(1, LARGE_SALE_MAX_QUANTITY);
    const unitPrice = toMinor(product.unitPriceMinor);
    lines.push({
      line_no: lineNo,
      sku: product.sku,
      category: product.category.label,
      quantity,
      unit_price_minor: unitPrice,
      discount_minor: Math.round(quantity * unitPrice * rng.range(0.08, 0.2)),
      unit_cost_minor: toMinor(product.unitCostMinor),
    });
  }
  return lines;
}

/**
 * The lines of a sale as v3 sends them: decimal prices of up to six places in `currency`.
 * About 40 % keep their shelf price ("12.90"), about 35 % carry a rebated price to four
 * decimals ("12.3456"); the rest become goods weighed by the gram ("0.001", "0.015") unless
 * `weighed` is false (wholesale invoices, whose lines stay whole units).
 */
export function finePriceLines(rng: Rng, lines: readonly SaleLine[], currency: string, toMinor: (fen: number) => number, weighed: boolean): SaleLineV3[] {
  const perMinor = microsPerMinor(currency);
  return lines.map((line) => {
    const draw = rng.float();
    const cost = line.unit_cost_minor === undefined ? undefined : BigInt(line.unit_cost_minor) * perMinor;
    if (draw < 0.4) return v3Line(line, line.quantity, BigInt(line.unit_price_minor) * perMinor, BigInt(line.discount_minor) * perMinor, cost, currency);
    if (draw < 0.75 || !weighed) {
      // A rebate of 0.5–8 % off the unit price, to a ten-thousandth: no longer whole fen.
      const price = BigInt(line.unit_price_minor) * perMinor;
      const rebated = bigMax(100n, (BigInt(Math.round(Number(price) * (1 - rng.range(0.005, 0.08)))) / 100n) * 100n);
      const discount = bigMin(BigInt(line.discount_minor) * perMinor, BigInt(line.quantity) * rebated);
      return v3Line(line, line.quantity, rebated, discount, cost, currency);
    }
    const good = rng.pick(WEIGHED_GOODS);
    const grams = rng.int(100, 2_500);
    const perGram = bigMax(1n, (BigInt(toMinor(good.fenPerJin)) * perMinor) / BigInt(GRAMS_PER_JIN));
    const gramCost = cost === undefined ? undefined : bigMax(1n, BigInt(Math.round(Number(perGram) * rng.range(0.6, 0.75))));
    return v3Line({ ...line, sku: good.sku, category: WEIGHED_CATEGORY }, grams, perGram, 0n, gramCost, currency);
  });
}

function v3Line(line: SaleLine, quantity: number, unitPrice: bigint, discount: bigint, unitCost: bigint | undefined, currency: string): SaleLineV3 {
  return {
    line_no: line.line_no,
    sku: line.sku,
    category: line.category,
    quantity,
    unit_price: microsToDecimal(unitPrice, currency),
    discount: microsToDecimal(discount, currency),
    ...(unitCost === undefined ? {} : { unit_cost: microsToDecimal(unitCost, currency) }),
  };
}

/** A line's amount, quantity × unit price − discount, in micros of the sale's currency. */
export function lineNetMicros(line: AnySaleLine, currency: string): bigint {
  if ('unit_price' in line) return BigInt(line.quantity) * toMicros(line.unit_price) - toMicros(line.discount);
  return (BigInt(line.quantity) * BigInt(line.unit_price_minor) - BigInt(line.discount_minor)) * microsPerMinor(currency);
}

/**
 * What goes back for `quantity` units of a line: its share of the line's amount, rounded
 * down to whole minor units (a refund is paid in money that exists).
 */
export function returnedMinor(line: AnySaleLine, quantity: number, currency: string): number {
  return Number((lineNetMicros(line, currency) * BigInt(quantity)) / BigInt(line.quantity) / microsPerMinor(currency));
}

const bigMax = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const bigMin = (a: bigint, b: bigint): bigint => (a < b ? a : b);

import { z } from 'zod';
import { Currency, DecimalAmount, EntityId, Label, MAX_AMOUNT_UNITS, MAX_SALE_LINES, MinorUnits, envelope, toMicros } from './common.js';

/** Line numbers fit the warehouse's UInt16 column. */
const LineNo = z.number().int().min(1).max(65_535);
const Quantity = z.number().int('quantity is a whole number').min(1).max(100_000);

/** One line of a sale. Its amount is quantity × unit price − discount, never negative. */
export const SaleLine = z
  .object({
    line_no: LineNo,
    sku: EntityId,
    category: Label,
    quantity: Quantity,
    unit_price_minor: MinorUnits,
    discount_minor: MinorUnits.default(0),
    /** Cost of one unit, when the point of sale knows it (gross margin needs it). */
    unit_cost_minor: MinorUnits.optional(),
  })
  .strict()
  // 10^15 minor units keeps every line amount, and sums of millions of lines in Int64,
  // exact in both JavaScript numbers and ClickHouse.
  .refine((l) => l.quantity * l.unit_price_minor <= 1e15, { message: 'line amount exceeds 10^15 minor units', path: ['unit_price_minor'] })
  .refine((l) => l.discount_minor <= l.quantity * l.unit_price_minor, { message: 'discount exceeds the line amount', path: ['discount_minor'] });
export type SaleLine = z.infer<typeof SaleLine>;

const uniqueLineNumbers = (p: { lines: { line_no: number }[] }): boolean => new Set(p.lines.map((l) => l.line_no)).size === p.lines.length;

/** The sale and who bought, in every version. */
const saleParties = { sale_id: EntityId, customer_id: EntityId.optional(), member_id: EntityId.optional() };

const saleV1Payload = z
  .object({
    ...saleParties,
    currency: Currency,
    lines: z.array(SaleLine).min(1).max(MAX_SALE_LINES),
  })
  .strict()
  .refine(uniqueLineNumbers, { message: 'line numbers repeat', path: ['lines'] });

/** v1: a completed sale with its lines. */
export const SaleCompletedV1 = envelope('sale.completed', 1, saleV1Payload);
export type SaleCompletedV1 = z.infer<typeof SaleCompletedV1>;

export const PAYMENT_METHODS = ['cash', 'card', 'wallet', 'transfer', 'other'] as const;

/** v2 adds the order a sale fulfils and the payment method. */
export const SaleCompletedV2 = envelope(
  'sale.completed',
  2,
  z
    .object({
      ...saleParties,
      order_id: EntityId.optional(),
      payment_method: z.enum(PAYMENT_METHODS),
      currency: Currency,
      lines: z.array(SaleLine).min(1).max(MAX_SALE_LINES),
    })
    .strict()
    .refine(uniqueLineNumbers, { message: 'line numbers repeat', path: ['lines'] }),
);
export type SaleCompletedV2 = z.infer<typeof SaleCompletedV2>;

/**
 * A line of a v3 sale: prices as decimal strings of up to six decimals, so a unit price of
 * 0.001 in a two-decimal currency is what it is. The line's amount, quantity × unit price −
 * discount, is exact in millionths of the currency unit; nothing is rounded per line.
 */
export const SaleLineV3 = z
  .object({
    line_no: LineNo,
    sku: EntityId,
    category: Label,
    quantity: Quantity,
    unit_price: DecimalAmount,
    /** Off the line's amount (not per unit). */
    discount: DecimalAmount.default('0'),
    unit_cost: DecimalAmount.optional(),
  })
  .strict()
  .refine((l) => BigInt(l.quantity) * toMicros(l.unit_price) <= MAX_AMOUNT_UNITS * 1_000_000n, { message: 'line amount exceeds 10^13', path: ['unit_price'] })
  .refine((l) => toMicros(l.discount) <= BigInt(l.quantity) * toMicros(l.unit_price), { message: 'discount exceeds the line amount', path: ['discount'] });
export type SaleLineV3 = z.infer<typeof SaleLineV3>;

/**
 * v3: prices with up to six decimals (`unit_price`, `discount`, `unit_cost` as decimal
 * strings), and the payment method optional (history often lacks it). Up to 10,000 lines.
 */
export const SaleCompletedV3 = envelope(
  'sale.completed',
  3,
  z
    .object({
      ...saleParties,
      order_id: EntityId.optional(),
      payment_method: z.enum(PAYMENT_METHODS).optional(),
      currency: Currency,
      lines: z.array(SaleLineV3).min(1).max(MAX_SALE_LINES),
    })
    .strict()
    .refine(uniqueLineNumbers, { message: 'line numbers repeat', path: ['lines'] }),
);
export type SaleCompletedV3 = z.infer<typeof SaleCompletedV3>;

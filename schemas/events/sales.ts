import { z } from 'zod';
import { Currency, EntityId, Label, MinorUnits, envelope } from './common.js';

/** One line of a sale. Its amount is quantity × unit price − discount, never negative. */
export const SaleLine = z
  .object({
    line_no: z.number().int().min(1).max(1_000),
    sku: EntityId,
    category: Label,
    quantity: z.number().int('quantity is a whole number').min(1).max(100_000),
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

const saleV1Payload = z
  .object({
    sale_id: EntityId,
    customer_id: EntityId.optional(),
    member_id: EntityId.optional(),
    currency: Currency,
    lines: z.array(SaleLine).min(1).max(500),
  })
  .strict()
  .refine((p) => new Set(p.lines.map((l) => l.line_no)).size === p.lines.length, { message: 'line numbers repeat', path: ['lines'] });

/** v1: a completed sale with its lines. */
export const SaleCompletedV1 = envelope('sale.completed', 1, saleV1Payload);
export type SaleCompletedV1 = z.infer<typeof SaleCompletedV1>;

/** v2 adds the order a sale fulfils and the payment method. */
export const SaleCompletedV2 = envelope(
  'sale.completed',
  2,
  z
    .object({
      sale_id: EntityId,
      customer_id: EntityId.optional(),
      member_id: EntityId.optional(),
      order_id: EntityId.optional(),
      payment_method: z.enum(['cash', 'card', 'wallet', 'transfer', 'other']),
      currency: Currency,
      lines: z.array(SaleLine).min(1).max(500),
    })
    .strict()
    .refine((p) => new Set(p.lines.map((l) => l.line_no)).size === p.lines.length, { message: 'line numbers repeat', path: ['lines'] }),
);
export type SaleCompletedV2 = z.infer<typeof SaleCompletedV2>;

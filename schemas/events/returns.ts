import { z } from 'zod';
import { EntityId, Label, MinorUnits, envelope } from './common.js';

export const ReturnRequestedV1 = envelope(
  'return.requested',
  1,
  z.object({ return_id: EntityId, sale_id: EntityId.optional(), order_id: EntityId.optional(), reason: Label }).strict(),
);
export type ReturnRequestedV1 = z.infer<typeof ReturnRequestedV1>;

/** Goods came back: units and their value count toward the return rate. */
export const ReturnReceivedV1 = envelope(
  'return.received',
  1,
  z
    .object({
      return_id: EntityId,
      sku: EntityId,
      quantity: z.number().int('quantity is a whole number').min(1).max(100_000),
      amount_minor: MinorUnits,
      reason: Label,
    })
    .strict(),
);
export type ReturnReceivedV1 = z.infer<typeof ReturnReceivedV1>;

/** Money went back to the customer; net sales subtract it in the period it was issued. */
export const RefundIssuedV1 = envelope('refund.issued', 1, z.object({ return_id: EntityId, amount_minor: MinorUnits }).strict());
export type RefundIssuedV1 = z.infer<typeof RefundIssuedV1>;

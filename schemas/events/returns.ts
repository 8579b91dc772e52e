import { z } from 'zod';
import { Currency, DecimalAmount, EntityId, Label, MinorUnits, envelope } from './common.js';

export const ReturnRequestedV1 = envelope(
  'return.requested',
  1,
  z.object({ return_id: EntityId, sale_id: EntityId.optional(), order_id: EntityId.optional(), reason: Label }).strict(),
);
export type ReturnRequestedV1 = z.infer<typeof ReturnRequestedV1>;

const Quantity = z.number().int('quantity is a whole number').min(1).max(100_000);

/** Goods came back: units and their value count toward the return rate. v1's amount is in minor units of the reporting currency. */
export const ReturnReceivedV1 = envelope(
  'return.received',
  1,
  z.object({ return_id: EntityId, sku: EntityId, quantity: Quantity, amount_minor: MinorUnits, reason: Label }).strict(),
);
export type ReturnReceivedV1 = z.infer<typeof ReturnReceivedV1>;

/** v2: the value received back as a decimal amount in the currency it names. */
export const ReturnReceivedV2 = envelope(
  'return.received',
  2,
  z.object({ return_id: EntityId, sku: EntityId, quantity: Quantity, amount: DecimalAmount, currency: Currency, reason: Label }).strict(),
);
export type ReturnReceivedV2 = z.infer<typeof ReturnReceivedV2>;

/** Money went back to the customer; net sales subtract it in the period it was issued. v1's amount is in minor units of the reporting currency. */
export const RefundIssuedV1 = envelope('refund.issued', 1, z.object({ return_id: EntityId, amount_minor: MinorUnits }).strict());
export type RefundIssuedV1 = z.infer<typeof RefundIssuedV1>;

/** v2: the refund as a decimal amount in the currency it was paid in. */
export const RefundIssuedV2 = envelope('refund.issued', 2, z.object({ return_id: EntityId, amount: DecimalAmount, currency: Currency }).strict());
export type RefundIssuedV2 = z.infer<typeof RefundIssuedV2>;

import { z } from 'zod';
import { EntityId, Instant, Label, envelope } from './common.js';

/** An order is placed with a promised delivery time; `occurred_at` is when it was placed. */
export const OrderPlacedV1 = envelope(
  'order.placed',
  1,
  z
    .object({
      order_id: EntityId,
      customer_id: EntityId.optional(),
      item_count: z.number().int().min(1).max(100_000),
      promised_delivery_at: Instant,
    })
    .strict(),
);
export type OrderPlacedV1 = z.infer<typeof OrderPlacedV1>;

/** `occurred_at` is when the order left the warehouse. */
export const OrderShippedV1 = envelope('order.shipped', 1, z.object({ order_id: EntityId, carrier: Label.optional() }).strict());
export type OrderShippedV1 = z.infer<typeof OrderShippedV1>;

/** `occurred_at` is when the customer received the order. */
export const OrderDeliveredV1 = envelope('order.delivered', 1, z.object({ order_id: EntityId }).strict());
export type OrderDeliveredV1 = z.infer<typeof OrderDeliveredV1>;

export const OrderCancelledV1 = envelope('order.cancelled', 1, z.object({ order_id: EntityId, reason: Label }).strict());
export type OrderCancelledV1 = z.infer<typeof OrderCancelledV1>;

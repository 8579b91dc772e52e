import { z } from 'zod';
import { EntityId, Label, envelope } from './common.js';

export const TICKET_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;

/** A support ticket; complaints (投诉) count toward the complaint rate. */
export const TicketOpenedV1 = envelope(
  'ticket.opened',
  1,
  z
    .object({
      ticket_id: EntityId,
      category: Label,
      is_complaint: z.boolean(),
      priority: z.enum(TICKET_PRIORITIES),
      order_id: EntityId.optional(),
      customer_id: EntityId.optional(),
    })
    .strict(),
);
export type TicketOpenedV1 = z.infer<typeof TicketOpenedV1>;

/** The first answer to the customer; `occurred_at` is when it was sent. */
export const TicketFirstResponseV1 = envelope('ticket.first_response', 1, z.object({ ticket_id: EntityId }).strict());
export type TicketFirstResponseV1 = z.infer<typeof TicketFirstResponseV1>;

export const TicketResolvedV1 = envelope('ticket.resolved', 1, z.object({ ticket_id: EntityId }).strict());
export type TicketResolvedV1 = z.infer<typeof TicketResolvedV1>;

export const TicketReopenedV1 = envelope('ticket.reopened', 1, z.object({ ticket_id: EntityId }).strict());
export type TicketReopenedV1 = z.infer<typeof TicketReopenedV1>;

/** Customer satisfaction (CSAT) rating, 1 (worst) to 5 (best). */
export const TicketRatedV1 = envelope('ticket.rated', 1, z.object({ ticket_id: EntityId, rating: z.number().int().min(1).max(5) }).strict());
export type TicketRatedV1 = z.infer<typeof TicketRatedV1>;

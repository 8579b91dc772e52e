import type { OrgUnit } from '../../schemas/events/common.js';
import type { BusinessEvent } from '../../schemas/events/registry.js';
import type { PAYMENT_METHODS, SaleLine, SaleLineV3 } from '../../schemas/events/sales.js';
import type { TICKET_PRIORITIES } from '../../schemas/events/tickets.js';
import type { Catalog } from './catalog.js';
import type { Channel, Department, Store } from './org.js';
import { minorToDecimal } from './currency-plan.js';
import { Rng, weights, type WeightedTable } from './rng.js';
import { finePriceLines, returnedMinor, wholesaleLines, type AnySaleLine } from './sale-shapes.js';
import { compactDay, dayFields, type ZoneClock } from './zone-clock.js';

/**
 * What happens in one store on one local day: walk-in sales, remote orders with their
 * shipping, delivery and cancellation, returns and refunds of those sales, and the support
 * tickets they cause. Follow-up events (a delivery, a refund, a CSAT rating) are generated
 * with the transaction that causes them, so they may fall on later days.
 *
 * Determinism: every draw comes from a stream named by (seed, store, day) and every chain is
 * drawn in full before the horizon filter, so ids and contents of a store-day do not depend
 * on the simulated range: overlapping runs with the same seed agree on every shared event.
 * Wholesale invoices and fine prices draw from streams of their own, so turning them on
 * changes the sales they pick (with the order and the returns of those sales) and nothing
 * else of the day.
 */

/** Where a store-day's events go: occurred_at as UTC ms (whole seconds) and the event. */
export interface EventSink {
  add(t: number, event: BusinessEvent): void;
}

export interface StoreDayContext {
  seed: number;
  store: Store;
  catalog: Catalog;
  clock: ZoneClock;
  /** Local day number (days since 1970-01-01 in the business zone's calendar). */
  day: number;
  /** Volume multiplier. */
  scale: number;
  /** Events at or after this instant (UTC ms) have not happened yet and are left out. */
  horizonMs: number;
  money: StoreMoney;
}

/** The money of a store's sales: its currency, and how many sales take the rarer shapes. */
export interface StoreMoney {
  /** ISO 4217 code the store sells and refunds in. */
  currency: string;
  /** The currency KPIs report in. Returns of the store's v1/v2 sales in it go as v1, which names no currency. */
  reportingCurrency: string;
  /** The assortment's prices (fen) in minor units of `currency`. */
  toMinor: (fen: number) => number;
  /** Share of sales that are wholesale invoices of thousands of lines, 0–1. */
  largeSales: number;
  /** Share of sales sent as sale.completed v3 with decimal prices, 0–1. */
  finePrices: number;
}

/** The lines a sale goes out with, once its shape is decided. */
interface ShapedSale {
  /** Lines in minor units: the lines sent by v1/v2, and the base of v3 lines. */
  lines: SaleLine[];
  /** Present when the sale goes out as v3, with these lines. */
  v3Lines?: SaleLineV3[];
  /** A wholesale invoice. */
  large: boolean;
}

type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** Transactions (sales + orders) of an average store on an average day at scale 1. */
export const BASE_TRANSACTIONS_PER_DAY = 92;

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Sunday first. Walk-in stores are busiest at weekends; remote orders are flatter. */
const STORE_WEEKDAY = [1.3, 0.85, 0.85, 0.9, 0.95, 1.1, 1.35];
const ORDER_WEEKDAY = [1.1, 1.05, 0.95, 0.95, 0.95, 1.0, 1.1];
/** January first: Spring Festival shopping, 618 in June, Double 11 in November, year end. */
const MONTH_FACTOR = [1.1, 0.9, 0.95, 0.95, 1.0, 1.15, 0.95, 0.95, 1.0, 1.05, 1.25, 1.15];

/** Opening hours 09:00–22:00 with lunch and evening peaks: [hour, weight]. */
const STORE_HOURS = weights([
  [9, 3], [10, 5], [11, 7], [12, 9], [13, 8], [14, 6], [15, 6], [16, 6], [17, 7], [18, 9], [19, 10], [20, 8], [21, 4],
]);
/** Remote orders around the clock, evening peak. */
const ORDER_HOURS = weights([2, 1, 0.5, 0.3, 0.3, 0.5, 1, 2, 3, 4, 5, 5, 6, 5, 5, 5, 5, 5, 6, 7, 9, 10, 9, 5].map((w, hour) => [hour, w] as const));

const LINE_COUNTS = weights([[1, 40], [2, 27], [3, 17], [4, 10], [5, 6]] as const);
const ORDER_CHANNELS = weights([['online', 55], ['marketplace', 35], ['phone', 10]] as const);
const STORE_PAYMENTS = weights([['wallet', 58], ['card', 24], ['cash', 12], ['transfer', 2], ['other', 4]] as const);
const ORDER_PAYMENTS = weights([['wallet', 70], ['card', 25], ['transfer', 3], ['other', 2]] as const);
const PROMISE_DAYS = weights([[1, 30], [2, 35], [3, 20], [4, 10], [5, 5]] as const);
const CARRIERS = ['顺丰速运', '京东物流', '中通快递', '圆通速递', 'EMS'] as const;
const CANCEL_REASONS = ['客户取消', '缺货', '地址无法送达', '支付超时', '重复下单'] as const;
const RETURN_REASONS = weights([['质量问题', 3], ['尺码不合适', 3], ['不想要了', 3], ['与描述不符', 2], ['商品损坏', 1], ['发错货', 1]] as const);
const COMPLAINT_CATEGORIES = weights([['商品质量', 4], ['服务态度', 3], ['退款进度', 1], ['价格争议', 1]] as const);
const INQUIRY_CATEGORIES = weights([['售后咨询', 4], ['商品咨询', 3], ['发票开具', 2], ['会员积分', 2]] as const);
const COMPLAINT_PRIORITIES = weights([['normal', 30], ['high', 50], ['urgent', 20]] as const);
const INQUIRY_PRIORITIES = weights([['low', 50], ['normal', 45], ['high', 5]] as const);
const TICKET_CHANNELS_AFTER_STORE_SALE = weights([['phone', 50], ['store', 30], ['online', 20]] as const);

type Priority = (typeof TICKET_PRIORITIES)[number];

/** A sale or order the follow-ups refer to. */
interface Transaction {
  channel: Channel;
  /** When the sale completed or the order was placed (UTC ms). */
  t: number;
  saleId?: string;
  orderId?: string;
  customer?: Customer;
  /** Promised delivery time of an order delivered late. */
  latePromiseT?: number;
}

interface Customer {
  customerId: string;
  memberId?: string;
}

/** Adds the store-day's events to `out`, in no particular order. */
export function generateStoreDay(ctx: StoreDayContext, out: EventSink): void {
  new StoreDay(ctx, out).run();
}

class StoreDay {
  private readonly rng: Rng;
  /** Streams of the rarer sale shapes; absent while their share is 0, so nothing is drawn. */
  private readonly largeRng: Rng | undefined;
  private readonly fineRng: Rng | undefined;
  private readonly tag: string;
  private readonly orgs = new Map<string, OrgUnit>();
  private eventSeq = 0;
  private entitySeq = 0;

  constructor(
    private readonly ctx: StoreDayContext,
    private readonly out: EventSink,
  ) {
    this.rng = new Rng(ctx.seed, 'store-day', ctx.store.number, ctx.day);
    this.tag = `${ctx.seed}-${ctx.store.id}-${compactDay(ctx.day)}`;
    this.largeRng = ctx.money.largeSales > 0 ? new Rng(ctx.seed, 'large-sales', ctx.store.number, ctx.day) : undefined;
    this.fineRng = ctx.money.finePrices > 0 ? new Rng(ctx.seed, 'fine-prices', ctx.store.number, ctx.day) : undefined;
  }

  run(): void {
    const { store, scale, day } = this.ctx;
    const { traits } = store;
    const f = dayFields(day);
    const season = (MONTH_FACTOR[f.month - 1] ?? 1) * (f.date > f.daysInMonth - 3 ? 1.15 : 1);
    const festival = (f.month === 6 && f.date === 18) || (f.month === 11 && f.date === 11) ? 2.5 : 1;
    const noise = this.rng.range(0.9, 1.1);
    const base = BASE_TRANSACTIONS_PER_DAY * traits.volumeScale * season * noise * scale;
    const walkIns = this.rng.poisson(base * (1 - traits.orderShare) * (STORE_WEEKDAY[f.weekday] ?? 1));
    const orders = this.rng.poisson(base * traits.orderShare * (ORDER_WEEKDAY[f.weekday] ?? 1) * festival);
    for (let i = 0; i < walkIns; i += 1) this.walkInSale();
    for (let i = 0; i < orders; i += 1) this.order();
  }

  private walkInSale(): void {
    const { rng } = this;
    const t = this.timeOfDay(STORE_HOURS);
    const customer = rng.chance(0.45) ? this.customer() : undefined;
    const saleId = this.entityId('SA');
    const sale = this.shape(this.lines(), saleId);
    const org = this.org('sales', 'store');
    const producer = `pos-${this.ctx.store.id}`;
    const who = { ...(customer ? { customer_id: customer.customerId } : {}), ...(customer?.memberId ? { member_id: customer.memberId } : {}) };
    // Old terminals send v1, which has no payment method.
    const payment = rng.chance(this.ctx.store.traits.posV1Share) ? undefined : rng.weighted(STORE_PAYMENTS);
    this.emitSale(t, producer, org, { sale_id: saleId, ...who }, payment, sale);
    const txn: Transaction = { channel: 'store', t, saleId, ...(customer ? { customer } : {}) };
    this.maybeReturn(txn, sale);
    this.maybeTickets(txn);
  }

  private order(): void {
    const { rng, ctx } = this;
    const { traits } = ctx.store;
    const placedT = this.timeOfDay(ORDER_HOURS);
    const channel: Channel = rng.weighted(ORDER_CHANNELS);
    const orderId = this.entityId('OR');
    const customer = this.customer();
    const sale = this.shape(this.lines(), orderId);
    const itemCount = (sale.v3Lines ?? sale.lines).reduce((sum, l) => sum + l.quantity, 0);
    const promiseDays = Math.min(5, rng.weighted(PROMISE_DAYS) + (channel === 'marketplace' ? 1 : 0));
    const promisedT = ctx.clock.toUtc(ctx.clock.localDay(placedT) + promiseDays, 21 * HOUR);
    const fulfilment = this.org('fulfilment', channel);
    this.emit(placedT, {
      event_id: this.eventId(),
      type: 'order.placed',
      version: 1,
      occurred_at: this.iso(placedT),
      producer: 'oms',
      org: fulfilment,
      payload: { order_id: orderId, customer_id: customer.customerId, item_count: itemCount, promised_delivery_at: this.iso(promisedT) },
    });
    const txn: Transaction = { channel, t: placedT, orderId, customer };

    if (rng.chance(traits.cancelProbability)) {
      const cancelT = after(placedT, rng.range(0.2 * HOUR, 20 * HOUR));
      this.emit(cancelT, { event_id: this.eventId(), type: 'order.cancelled', version: 1, occurred_at: this.iso(cancelT), producer: 'oms', org: fulfilment, payload: { order_id: orderId, reason: rng.pick(CANCEL_REASONS) } });
      this.maybeTickets(txn);
      return;
    }

    const onTime = rng.chance(traits.onTimeProbability);
    const handling = Math.max(0.5 * HOUR, rng.exponential(traits.handlingMeanHours * HOUR));
    let shippedT: number;
    let deliveredT: number;
    if (onTime) {
      shippedT = after(placedT, Math.min(handling, (promisedT - placedT) * 0.5));
      deliveredT = after(shippedT, (promisedT - shippedT) * rng.range(0.3, 0.98));
    } else {
      shippedT = after(placedT, handling);
      deliveredT = after(Math.max(promisedT, shippedT + 2 * HOUR), Math.max(10 * MINUTE, rng.exponential(24 * HOUR)));
      txn.latePromiseT = promisedT;
    }
    const carrier = rng.chance(0.9) ? { carrier: rng.pick(CARRIERS) } : {};
    this.emit(shippedT, { event_id: this.eventId(), type: 'order.shipped', version: 1, occurred_at: this.iso(shippedT), producer: `wms-${ctx.store.id}`, org: fulfilment, payload: { order_id: orderId, ...carrier } });
    this.emit(deliveredT, { event_id: this.eventId(), type: 'order.delivered', version: 1, occurred_at: this.iso(deliveredT), producer: 'carrier-gateway', org: fulfilment, payload: { order_id: orderId } });

    // Revenue of a remote order is recognised when the customer receives the goods.
    const saleT = after(deliveredT, rng.range(1_000, 120_000));
    const saleId = this.entityId('SA');
    const head = { sale_id: saleId, customer_id: customer.customerId, ...(customer.memberId ? { member_id: customer.memberId } : {}), order_id: orderId };
    this.emitSale(saleT, 'oms', this.org('sales', channel), head, rng.weighted(ORDER_PAYMENTS), sale);
    this.maybeReturn({ ...txn, t: saleT, saleId }, sale);
    this.maybeTickets(txn);
  }

  /**
   * Decides a sale's shape from the lines drawn for it: a wholesale invoice replaces them,
   * and a fine-price sale re-prices them for v3. `entity` (the sale or order id) names the
   * stream of the re-pricing, so a sale's v3 lines do not depend on the other sales.
   */
  private shape(drawn: SaleLine[], entity: string): ShapedSale {
    const { seed, catalog, money } = this.ctx;
    const large = this.largeRng?.chance(money.largeSales) ?? false;
    const lines = large && this.largeRng ? wholesaleLines(this.largeRng, catalog, money.toMinor) : drawn;
    if (!(this.fineRng?.chance(money.finePrices) ?? false)) return { lines, large };
    // Goods by the gram only on ordinary receipts: a wholesale invoice stays in whole units.
    return { lines, large, v3Lines: finePriceLines(new Rng(seed, 'fine-price-lines', entity), lines, money.currency, money.toMinor, !large) };
  }

  /**
   * Emits a sale: v3 when its shape says so, else v2 with a payment method and v1 without.
   * Payload keys keep one order (ids, payment, currency, lines), so the bytes are stable.
   */
  private emitSale(t: number, producer: string, org: OrgUnit, head: { sale_id: string; customer_id?: string; member_id?: string; order_id?: string }, payment: PaymentMethod | undefined, sale: ShapedSale): void {
    const { currency } = this.ctx.money;
    // A wholesale invoice is paid by bank transfer.
    const method = payment !== undefined && sale.large ? 'transfer' : payment;
    const event_id = this.eventId();
    const type = 'sale.completed';
    const occurred_at = this.iso(t);
    if (sale.v3Lines) {
      this.emit(t, { event_id, type, version: 3, occurred_at, producer, org, payload: { ...head, ...(method === undefined ? {} : { payment_method: method }), currency, lines: sale.v3Lines } });
    } else if (method === undefined) {
      this.emit(t, { event_id, type, version: 1, occurred_at, producer, org, payload: { ...head, currency, lines: sale.lines } });
    } else {
      this.emit(t, { event_id, type, version: 2, occurred_at, producer, org, payload: { ...head, payment_method: method, currency, lines: sale.lines } });
    }
  }

  /**
   * Maybe a return of one line of the sale, its goods received and refunded. In the
   * reporting currency, returns of v1/v2 sales go as v1 (amounts in minor units, no
   * currency); in another currency, or of a v3 sale, as v2 with a decimal amount and the
   * currency named.
   */
  private maybeReturn(txn: Transaction, sale: ShapedSale): void {
    const { rng } = this;
    if (!rng.chance(this.ctx.store.traits.returnProbability)) return;
    const { currency, reportingCurrency } = this.ctx.money;
    const modern = currency !== reportingCurrency || sale.v3Lines !== undefined;
    const lines: readonly AnySaleLine[] = sale.v3Lines ?? sale.lines;
    const returnId = this.entityId('RT');
    const org = this.org('service', txn.channel);
    const reason = rng.weighted(RETURN_REASONS);
    const requestedT = after(txn.t, Math.min(10 * DAY, Math.max(HOUR, rng.exponential(2.5 * DAY))));
    this.emit(requestedT, {
      event_id: this.eventId(),
      type: 'return.requested',
      version: 1,
      occurred_at: this.iso(requestedT),
      producer: 'rma',
      org,
      payload: { return_id: returnId, ...(txn.saleId ? { sale_id: txn.saleId } : {}), ...(txn.orderId ? { order_id: txn.orderId } : {}), reason },
    });
    // Some requests are refused or abandoned: no goods come back.
    if (!rng.chance(0.88)) return;
    const receivedT = after(requestedT, txn.channel === 'store' ? rng.range(10 * MINUTE, 90 * MINUTE) : rng.range(DAY, 4 * DAY));
    const line = rng.pick(lines);
    const quantity = rng.chance(0.8) ? line.quantity : rng.int(1, line.quantity);
    const amount = returnedMinor(line, quantity, currency);
    const receivedId = this.eventId();
    const receivedAt = this.iso(receivedT);
    if (modern) {
      const payload = { return_id: returnId, sku: line.sku, quantity, amount: minorToDecimal(amount, currency), currency, reason };
      this.emit(receivedT, { event_id: receivedId, type: 'return.received', version: 2, occurred_at: receivedAt, producer: 'rma', org, payload });
    } else {
      const payload = { return_id: returnId, sku: line.sku, quantity, amount_minor: amount, reason };
      this.emit(receivedT, { event_id: receivedId, type: 'return.received', version: 1, occurred_at: receivedAt, producer: 'rma', org, payload });
    }
    if (!rng.chance(0.96)) return;
    const refundT = after(receivedT, rng.range(30 * MINUTE, 48 * HOUR));
    // One refund in ten keeps a restocking fee of 10 %.
    const refund = rng.chance(0.9) ? amount : Math.round(amount * 0.9);
    const refundId = this.eventId();
    const refundAt = this.iso(refundT);
    if (modern) {
      this.emit(refundT, { event_id: refundId, type: 'refund.issued', version: 2, occurred_at: refundAt, producer: 'payments', org, payload: { return_id: returnId, amount: minorToDecimal(refund, currency), currency } });
    } else {
      this.emit(refundT, { event_id: refundId, type: 'refund.issued', version: 1, occurred_at: refundAt, producer: 'payments', org, payload: { return_id: returnId, amount_minor: refund } });
    }
  }

  private maybeTickets(txn: Transaction): void {
    const { rng } = this;
    const { traits } = this.ctx.store;
    // A late delivery makes a complaint far more likely.
    if (rng.chance(traits.complaintProbability + (txn.latePromiseT !== undefined ? 0.12 : 0))) {
      const late = txn.latePromiseT;
      const openedT = late !== undefined ? after(late, rng.range(HOUR, 30 * HOUR)) : after(txn.t, rng.range(HOUR, 96 * HOUR));
      const category = late !== undefined ? '物流延迟' : rng.weighted(COMPLAINT_CATEGORIES);
      this.ticket(txn, openedT, category, true, rng.weighted(COMPLAINT_PRIORITIES));
    }
    if (rng.chance(traits.inquiryProbability)) {
      const openedT = after(txn.t, rng.range(30 * MINUTE, 72 * HOUR));
      const category = txn.orderId && rng.chance(0.4) ? '订单查询' : rng.weighted(INQUIRY_CATEGORIES);
      this.ticket(txn, openedT, category, false, rng.weighted(INQUIRY_PRIORITIES));
    }
  }

  private ticket(txn: Transaction, openedT: number, category: string, complaint: boolean, priority: Priority): void {
    const { rng } = this;
    const { traits } = this.ctx.store;
    const ticketId = this.entityId('TK');
    const channel: Channel = txn.orderId ? txn.channel : rng.weighted(TICKET_CHANNELS_AFTER_STORE_SALE);
    const org = this.org('service', channel);
    const producer = 'helpdesk';
    this.emit(openedT, {
      event_id: this.eventId(),
      type: 'ticket.opened',
      version: 1,
      occurred_at: this.iso(openedT),
      producer,
      org,
      payload: {
        ticket_id: ticketId,
        category,
        is_complaint: complaint,
        priority,
        ...(txn.orderId ? { order_id: txn.orderId } : {}),
        ...(txn.customer ? { customer_id: txn.customer.customerId } : {}),
      },
    });
    const urgency = priority === 'urgent' ? 0.4 : priority === 'high' ? 0.7 : priority === 'low' ? 1.5 : 1;
    const respondedT = after(openedT, Math.max(2 * MINUTE, rng.exponential(traits.firstResponseMeanHours * HOUR * urgency)));
    this.emit(respondedT, { event_id: this.eventId(), type: 'ticket.first_response', version: 1, occurred_at: this.iso(respondedT), producer, org, payload: { ticket_id: ticketId } });
    let resolvedT = after(respondedT, Math.max(10 * MINUTE, rng.exponential((complaint ? 20 : 5) * HOUR)));
    this.emit(resolvedT, { event_id: this.eventId(), type: 'ticket.resolved', version: 1, occurred_at: this.iso(resolvedT), producer, org, payload: { ticket_id: ticketId } });
    const reopened = rng.chance(complaint ? 0.15 : 0.05);
    if (reopened) {
      const reopenedT = after(resolvedT, rng.range(2 * HOUR, 72 * HOUR));
      this.emit(reopenedT, { event_id: this.eventId(), type: 'ticket.reopened', version: 1, occurred_at: this.iso(reopenedT), producer, org, payload: { ticket_id: ticketId } });
      resolvedT = after(reopenedT, Math.max(10 * MINUTE, rng.exponential(8 * HOUR)));
      this.emit(resolvedT, { event_id: this.eventId(), type: 'ticket.resolved', version: 1, occurred_at: this.iso(resolvedT), producer, org, payload: { ticket_id: ticketId } });
    }
    if (!rng.chance(0.6)) return;
    const ratedT = after(resolvedT, rng.range(10 * MINUTE, 24 * HOUR));
    const mean = traits.csatMean - (complaint ? 0.8 : 0) - (reopened ? 0.6 : 0);
    const rating = Math.min(5, Math.max(1, Math.round(rng.normal(mean, 0.8))));
    this.emit(ratedT, { event_id: this.eventId(), type: 'ticket.rated', version: 1, occurred_at: this.iso(ratedT), producer, org, payload: { ticket_id: ticketId, rating } });
  }

  /** 1–5 lines of distinct SKUs, priced in the store's currency; some discounted; unit cost on most sales. */
  private lines(): SaleLine[] {
    const { rng, ctx } = this;
    const { toMinor } = ctx.money;
    const count = rng.weighted(LINE_COUNTS);
    const withCost = rng.chance(0.92);
    const lines: SaleLine[] = [];
    const skus = new Set<string>();
    for (let lineNo = 1; lineNo <= count; lineNo += 1) {
      let product = ctx.catalog.draw(rng);
      for (let retry = 0; retry < 3 && skus.has(product.sku); retry += 1) product = ctx.catalog.draw(rng);
      skus.add(product.sku);
      const quantity = rng.chance(0.7) ? 1 : rng.int(1, product.category.maxQuantity);
      const unitPrice = toMinor(product.unitPriceMinor);
      const amount = quantity * unitPrice;
      const discount = rng.chance(0.25) ? Math.round(amount * rng.range(0.05, 0.2)) : 0;
      lines.push({
        line_no: lineNo,
        sku: product.sku,
        category: product.category.label,
        quantity,
        unit_price_minor: unitPrice,
        discount_minor: discount,
        ...(withCost ? { unit_cost_minor: toMinor(product.unitCostMinor) } : {}),
      });
    }
    return lines;
  }

  /** Customers of a store: a fixed pool, so the same people come back; the first 40 % are members. */
  private customer(): Customer {
    const pool = Math.max(200, Math.round(4_000 * this.ctx.store.traits.volumeScale));
    const n = this.rng.int(1, pool);
    const suffix = `${this.ctx.seed}-${this.ctx.store.id}-${n}`;
    return n <= pool * 0.4 ? { customerId: `C-${suffix}`, memberId: `M-${suffix}` } : { customerId: `C-${suffix}` };
  }

  /** An instant on this local day, hour drawn by weight, to the second. */
  private timeOfDay(hours: WeightedTable<number>): number {
    const hour = this.rng.weighted(hours);
    return this.ctx.clock.toUtc(this.ctx.day, hour * HOUR + this.rng.int(0, 3_599) * 1_000);
  }

  private org(department: Department, channel: Channel): OrgUnit {
    const key = `${department}|${channel}`;
    let org = this.orgs.get(key);
    if (!org) {
      // Shared by the store-day's events; frozen so that no consumer of one event edits another.
      org = Object.freeze({ region: this.ctx.store.region, store: this.ctx.store.id, department, channel });
      this.orgs.set(key, org);
    }
    return org;
  }

  private eventId(): string {
    this.eventSeq += 1;
    return `ev-${this.tag}-${this.eventSeq}`;
  }

  private entityId(prefix: string): string {
    this.entitySeq += 1;
    return `${prefix}-${this.tag}-${this.entitySeq}`;
  }

  private iso(t: number): string {
    return this.ctx.clock.format(t);
  }

  private emit(t: number, event: BusinessEvent): void {
    if (t < this.ctx.horizonMs) this.out.add(t, event);
  }
}

/** `from` plus a delay, rounded to whole seconds and at least one second later. */
function after(from: number, delayMs: number): number {
  return from + Math.max(1_000, Math.round(delayMs / 1_000) * 1_000);
}

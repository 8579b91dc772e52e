import type { BusinessEvent } from '../../schemas/events/index.js';
import { MICRO_DECIMALS, RATE_DECIMALS, decimalMicros, divideRoundingHalfAway, minorMicros, scaledDecimal } from './oracle-money.js';

/**
 * An independent computation of every event KPI, in plain TypeScript over the events the
 * simulator emitted: the test's expectation, written from the KPI definitions in words,
 * sharing no code with the SQL compiler nor with the pipeline's money helpers. Durations
 * are milliseconds.
 *
 * Money follows the pipeline's rule, reproduced here from its statement: every amount is
 * exact in micros of its currency (minor units × 10^(6 − ISO digits), or a decimal string
 * read exactly); each is valued at its (currency, business day) rate, scaled to an integer
 * (rate × 10^10), so a unit's total of each money measure is an exact count of 10^-16 of
 * the reporting currency, rounded once to hundredths, half away from zero. The KPIs then
 * use those hundredths. A total that needs a rate not given is missing, and names it.
 */

export interface OracleValue {
  numerator: number | null;
  denominator: number | null;
  value: number | null;
  /** Exchange rates a money KPI lacks, "HKD 2026-03-04" (distinct, sorted); absent when none is missing. */
  missing?: string[];
}

/** How the oracle values money in other currencies; the defaults give today's results for CNY-only events. */
export interface OracleMoneyOptions {
  /** Money KPIs are in this currency; its amounts have rate 1, and v1 returns and refunds count in it. @default 'CNY' */
  reportingCurrency?: string;
  /** Zone of the business day a rate is looked up for (the day of occurred_at). @default 'Asia/Shanghai' */
  timeZone?: string;
  /** `"HKD|2026-03-04"` → value of one unit in the reporting currency, a decimal string of at most 10 decimals. @default none */
  rates?: ReadonlyMap<string, string>;
}

export interface OraclePeriod {
  startMs: number;
  endMs: number;
  /** Start of the previous period of the same grain. */
  previousStartMs: number;
}

type Org = { region: string; store: string; department: string; channel: string };

const LEVELS = ['company', 'region', 'store', 'department', 'channel'] as const;

function unitsOf(org: Org): string[] {
  return LEVELS.map((level) => `${level}|${level === 'company' ? 'all' : org[level]}`);
}

/** The org of an entity: each field's greatest value over its events (in practice they agree). */
function mergeOrg(a: Org | undefined, b: Org): Org {
  if (!a) return { ...b };
  const max = (x: string, y: string): string => (x > y ? x : y);
  return { region: max(a.region, b.region), store: max(a.store, b.store), department: max(a.department, b.department), channel: max(a.channel, b.channel) };
}

const HOUR_MS = 3_600_000;

/** ClickHouse's quantileExact(0.9): the element at index ⌊0.9·n⌋ of the sorted values (capped at n − 1). */
function p90(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(0.9 * sorted.length))] ?? null;
}

class Counter {
  readonly m = new Map<string, number>();
  add(unit: string, v: number): void {
    this.m.set(unit, (this.m.get(unit) ?? 0) + v);
  }
  get(unit: string): number {
    return this.m.get(unit) ?? 0;
  }
}

/** A unit's total of one money measure: hundredths of the reporting currency (0 while missing), and the rates it lacks. */
interface MoneyTotal {
  hundredths: number;
  missing: string[];
}

/** 10^-16 of the reporting currency (micros × rate scaled by 10^10) in one hundredth. */
const SUB_UNITS_PER_HUNDREDTH = 10n ** BigInt(MICRO_DECIMALS + RATE_DECIMALS - 2);

/**
 * Exact sums of a money measure per unit, in 10^-16 of the reporting currency, with the
 * rates each unit's rows lacked. Rounded only when read.
 */
class MoneyCounter {
  private readonly sums = new Map<string, bigint>();
  private readonly lacking = new Map<string, Set<string>>();

  /** Adds `value` (micros × scaled rate) to the unit, or records the rate it lacks. */
  add(unit: string, value: bigint | { missing: string }): void {
    if (typeof value === 'bigint') {
      this.sums.set(unit, (this.sums.get(unit) ?? 0n) + value);
      return;
    }
    const set = this.lacking.get(unit) ?? new Set<string>();
    this.lacking.set(unit, set.add(value.missing));
  }

  get(unit: string): MoneyTotal {
    const missing = [...(this.lacking.get(unit) ?? [])].sort();
    if (missing.length > 0) return { hundredths: 0, missing };
    return { hundredths: Number(divideRoundingHalfAway(this.sums.get(unit) ?? 0n, SUB_UNITS_PER_HUNDREDTH)), missing };
  }
}

/** The value of an amount in the reporting currency, in 10^-16 of it, or the rate it lacks. */
type Valuer = (micros: bigint, currency: string, atMs: number) => bigint | { missing: string };

function valuer(options: OracleMoneyOptions): Valuer {
  const reporting = options.reportingCurrency ?? 'CNY';
  const rates = options.rates ?? new Map<string, string>();
  const one = 10n ** BigInt(RATE_DECIMALS);
  const dayOf = businessDay(options.timeZone ?? 'Asia/Shanghai');
  return (micros, currency, atMs) => {
    if (currency === reporting) return micros * one;
    const day = dayOf(atMs);
    const rate = rates.get(`${currency}|${day}`);
    return rate === undefined ? { missing: `${currency} ${day}` } : micros * scaledDecimal(rate, RATE_DECIMALS);
  };
}

/** YYYY-MM-DD of an instant in a time zone, by Intl (nothing of the pipeline's calendar). */
function businessDay(timeZone: string): (ms: number) => string {
  const format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  return (ms) => {
    const parts = Object.fromEntries(format.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
    return `${parts['year']}-${parts['month']}-${parts['day']}`;
  };
}

/** The amounts of one sale line in micros of the sale's currency. */
function lineMicros(line: BusinessEventLine, currency: string): { gross: bigint; net: bigint; cost: bigint | null } {
  const q = BigInt(line.quantity);
  if ('unit_price' in line) {
    const gross = q * decimalMicros(line.unit_price);
    return { gross, net: gross - decimalMicros(line.discount), cost: line.unit_cost === undefined ? null : q * decimalMicros(line.unit_cost) };
  }
  const gross = q * minorMicros(line.unit_price_minor, currency);
  return { gross, net: gross - minorMicros(line.discount_minor ?? 0, currency), cost: line.unit_cost_minor === undefined ? null : q * minorMicros(line.unit_cost_minor, currency) };
}

type BusinessEventLine = Extract<BusinessEvent, { type: 'sale.completed' }>['payload']['lines'][number];

/** Distinct valid events (first copy of each event id). */
export function distinctEvents(events: Iterable<BusinessEvent | undefined>): BusinessEvent[] {
  const seen = new Set<string>();
  const out: BusinessEvent[] = [];
  for (const e of events) {
    if (!e || seen.has(e.event_id)) continue;
    seen.add(e.event_id);
    out.push(e);
  }
  return out;
}

/**
 * Every event KPI for every unit with any activity in the period's scans, keyed
 * `level|unit|kpi`. `targets` are net-sales targets in units of the reporting currency
 * (yuan) keyed `level|unit`; `money` says how amounts in other currencies are valued.
 */
export function oracleKpis(
  events: readonly BusinessEvent[],
  p: OraclePeriod,
  targets: ReadonlyMap<string, number> = new Map(),
  money: OracleMoneyOptions = {},
): Map<string, OracleValue> {
  const reportingCurrency = money.reportingCurrency ?? 'CNY';
  const value = valuer(money);
  const mc = (): MoneyCounter => new MoneyCounter();
  const cash = { gross: mc(), net: mc(), costedNet: mc(), costedCost: mc(), refund: mc(), retAmount: mc() };
  const inP = (ms: number | null | undefined): boolean => ms != null && ms >= p.startMs && ms < p.endMs;
  const inPrev = (ms: number): boolean => ms >= p.previousStartMs && ms < p.startMs;
  const at = (e: BusinessEvent): number => Date.parse(e.occurred_at);
  const c = (): Counter => new Counter();
  const m = {
    units: c(), retRequests: c(), retUnits: c(),
    opened: c(), complaints: c(), ratings: c(), ratingSum: c(), ratingsGood: c(), resolutions: c(), reopens: c(),
    placed: c(), cancelled: c(), delivered: c(), onTime: c(), processed: c(), processingMs: c(), cycled: c(), cycleMs: c(),
    answered: c(), responseMs: c(), inSla: c(), resolved: c(), resolutionMs: c(),
  };
  const transactions = new Map<string, Set<string>>();
  const durations = { processing: new Map<string, number[]>(), cycle: new Map<string, number[]>(), response: new Map<string, number[]>(), resolution: new Map<string, number[]>() };
  const push = (map: Map<string, number[]>, unit: string, v: number): void => void map.set(unit, [...(map.get(unit) ?? []), v]);
  /** Units each kind of data saw: a unit has a KPI when one of the KPI's kinds saw it. */
  const seen = { sales: new Set<string>(), customers: new Set<string>(), members: new Set<string>(), returns: new Set<string>(), ticketEvents: new Set<string>(), orders: new Set<string>(), tickets: new Set<string>(), targets: new Set<string>() };
  const seenUnits = new Set<string>();

  type OrderAcc = { org?: Org; placed?: number; promised?: number; shipped?: number; delivered?: number; cancelled?: number; touched: boolean };
  type TicketAcc = { org?: Org; opened?: number; priority?: string; firstResponse?: number; resolved?: number; touched: boolean };
  const orders = new Map<string, OrderAcc>();
  const tickets = new Map<string, TicketAcc>();
  // (unit, customer) → sale ids now / before, first purchase
  type Buyer = { current: Set<string>; previous: Set<string>; first: number };
  const customers = new Map<string, Map<string, Buyer>>();
  const members = new Map<string, Map<string, Buyer>>();
  const buyer = (byUnit: Map<string, Map<string, Buyer>>, unit: string, id: string): Buyer => {
    let u = byUnit.get(unit);
    if (!u) byUnit.set(unit, (u = new Map<string, Buyer>()));
    let b = u.get(id);
    if (!b) u.set(id, (b = { current: new Set(), previous: new Set(), first: Infinity }));
    return b;
  };
  const minOf = (a: number | undefined, b: number): number => (a === undefined ? b : Math.min(a, b));
  const maxOf = (a: number | undefined, b: number): number => (a === undefined ? b : Math.max(a, b));

  // A v1 return or refund names no currency: it counts in the reporting currency.
  const returnValue = (payload: { amount_minor: number } | { amount: string; currency: string }, atMs: number): bigint | { missing: string } =>
    'amount' in payload ? value(decimalMicros(payload.amount), payload.currency, atMs) : value(minorMicros(payload.amount_minor, reportingCurrency), reportingCurrency, atMs);

  for (const e of events) {
    const t = at(e);
    const units = unitsOf(e.org);
    switch (e.type) {
      case 'sale.completed': {
        const p2 = e.payload;
        if (inP(t)) {
          for (const u of units) seen.sales.add(u);
          // The lines of one sale share a currency and a day, hence a rate: sum, then value once.
          const sums = { gross: 0n, net: 0n, costedNet: 0n, costedCost: 0n, costed: false, units: 0 };
          for (const l of p2.lines) {
            const amounts = lineMicros(l, p2.currency);
            sums.gross += amounts.gross;
            sums.net += amounts.net;
            sums.units += l.quantity;
            if (amounts.cost !== null) {
              sums.costed = true;
              sums.costedNet += amounts.net;
              sums.costedCost += amounts.cost;
            }
          }
          const valued = { gross: value(sums.gross, p2.currency, t), net: value(sums.net, p2.currency, t), costedNet: value(sums.costedNet, p2.currency, t), costedCost: value(sums.costedCost, p2.currency, t) };
          for (const u of units) {
            cash.gross.add(u, valued.gross);
            cash.net.add(u, valued.net);
            m.units.add(u, sums.units);
            // Only costed lines are counted by the costed measures: a sale without costs needs no rate for them.
            if (sums.costed) {
              cash.costedNet.add(u, valued.costedNet);
              cash.costedCost.add(u, valued.costedCost);
            }
            transactions.set(u, (transactions.get(u) ?? new Set()).add(p2.sale_id));
          }
        }
        if (t < p.endMs) {
          for (const u of units) {
            if (p2.customer_id !== undefined) {
              const b = buyer(customers, u, p2.customer_id);
              b.first = Math.min(b.first, t);
              if (inP(t)) b.current.add(p2.sale_id);
              else if (inPrev(t)) b.previous.add(p2.sale_id);
            }
            if (p2.member_id !== undefined && t >= p.previousStartMs) {
              seen.members.add(u);
              const b = buyer(members, u, p2.member_id);
              if (inP(t)) b.current.add(p2.sale_id);
              else if (inPrev(t)) b.previous.add(p2.sale_id);
            }
          }
        }
        break;
      }
      case 'return.requested':
      case 'return.received':
      case 'refund.issued':
        if (!inP(t)) break;
        for (const u of units) seen.returns.add(u);
        if (e.type === 'return.requested') {
          for (const u of units) m.retRequests.add(u, 1);
        } else if (e.type === 'return.received') {
          const amount = returnValue(e.payload, t);
          for (const u of units) {
            m.retUnits.add(u, e.payload.quantity);
            cash.retAmount.add(u, amount);
          }
        } else {
          const amount = returnValue(e.payload, t);
          for (const u of units) cash.refund.add(u, amount);
        }
        break;
      case 'order.placed':
      case 'order.shipped':
      case 'order.delivered':
      case 'order.cancelled': {
        const o = orders.get(e.payload.order_id) ?? { touched: false };
        orders.set(e.payload.order_id, o);
        o.org = mergeOrg(o.org, e.org);
        if (inP(t)) o.touched = true;
        if (e.type === 'order.placed') {
          o.placed = minOf(o.placed, t);
          o.promised = maxOf(o.promised, Date.parse(e.payload.promised_delivery_at));
        } else if (e.type === 'order.shipped') o.shipped = minOf(o.shipped, t);
        else if (e.type === 'order.delivered') o.delivered = minOf(o.delivered, t);
        else o.cancelled = minOf(o.cancelled, t);
        break;
      }
      case 'ticket.opened':
      case 'ticket.first_response':
      case 'ticket.resolved':
      case 'ticket.reopened':
      case 'ticket.rated': {
        const k = tickets.get(e.payload.ticket_id) ?? { touched: false };
        tickets.set(e.payload.ticket_id, k);
        k.org = mergeOrg(k.org, e.org);
        if (inP(t)) k.touched = true;
        if (e.type === 'ticket.opened') {
          k.opened = minOf(k.opened, t);
          k.priority = k.priority === undefined || e.payload.priority > k.priority ? e.payload.priority : k.priority;
        } else if (e.type === 'ticket.first_response') k.firstResponse = minOf(k.firstResponse, t);
        else if (e.type === 'ticket.resolved') k.resolved = maxOf(k.resolved, t);
        if (inP(t)) {
          for (const u of units) {
            seen.ticketEvents.add(u);
            if (e.type === 'ticket.opened') {
              m.opened.add(u, 1);
              if (e.payload.is_complaint) m.complaints.add(u, 1);
            } else if (e.type === 'ticket.rated') {
              m.ratings.add(u, 1);
              m.ratingSum.add(u, e.payload.rating);
              if (e.payload.rating >= 4) m.ratingsGood.add(u, 1);
            } else if (e.type === 'ticket.resolved') m.resolutions.add(u, 1);
            else if (e.type === 'ticket.reopened') m.reopens.add(u, 1);
          }
        }
        break;
      }
    }
  }

  for (const o of orders.values()) {
    if (!o.touched || !o.org) continue;
    for (const u of unitsOf(o.org)) {
      seen.orders.add(u);
      if (inP(o.placed)) m.placed.add(u, 1);
      if (inP(o.cancelled)) m.cancelled.add(u, 1);
      if (inP(o.delivered)) {
        m.delivered.add(u, 1);
        if (o.promised !== undefined && (o.delivered ?? Infinity) <= o.promised) m.onTime.add(u, 1);
        if (o.placed !== undefined) {
          m.cycled.add(u, 1);
          m.cycleMs.add(u, (o.delivered ?? 0) - o.placed);
          push(durations.cycle, u, ((o.delivered ?? 0) - o.placed) / HOUR_MS);
        }
      }
      if (inP(o.shipped) && o.placed !== undefined) {
        m.processed.add(u, 1);
        m.processingMs.add(u, (o.shipped ?? 0) - o.placed);
        push(durations.processing, u, ((o.shipped ?? 0) - o.placed) / HOUR_MS);
      }
    }
  }
  const SLA_HOURS: Record<string, number> = { urgent: 1, high: 4, normal: 8, low: 24 };
  for (const k of tickets.values()) {
    if (!k.touched || !k.org) continue;
    for (const u of unitsOf(k.org)) {
      seen.tickets.add(u);
      if (inP(k.firstResponse) && k.opened !== undefined) {
        const ms = (k.firstResponse ?? 0) - k.opened;
        m.answered.add(u, 1);
        m.responseMs.add(u, ms);
        push(durations.response, u, ms / HOUR_MS);
        if (ms <= (SLA_HOURS[k.priority ?? 'normal'] ?? 8) * HOUR_MS) m.inSla.add(u, 1);
      }
      if (inP(k.resolved) && k.opened !== undefined) {
        const ms = (k.resolved ?? 0) - k.opened;
        m.resolved.add(u, 1);
        m.resolutionMs.add(u, ms);
        push(durations.resolution, u, ms / HOUR_MS);
      }
    }
  }
  for (const key of targets.keys()) seen.targets.add(key);
  // Customers see a unit where someone bought in this period or the one before.
  for (const [u, buyers] of customers) if ([...buyers.values()].some((b) => b.current.size > 0 || b.previous.size > 0)) seen.customers.add(u);
  for (const set of Object.values(seen)) for (const u of set) seenUnits.add(u);
  // What each KPI draws on, from its definition.
  const S = seen;
  const drawsOn: Record<string, Set<string>[]> = {
    gross_sales: [S.sales], net_sales: [S.sales, S.returns], sales_attainment: [S.sales, S.returns, S.targets], units_sold: [S.sales], transactions: [S.sales],
    average_order_value: [S.sales], gross_profit: [S.sales], gross_margin_rate: [S.sales], profit_attainment: [S.sales, S.targets],
    active_customers: [S.customers], repeat_purchase_rate: [S.customers], new_customer_growth: [S.customers], member_churn_rate: [S.members],
    orders_placed: [S.orders], on_time_delivery_rate: [S.orders], cancellation_rate: [S.orders], order_processing_time: [S.orders], order_processing_time_p90: [S.orders],
    order_cycle_time: [S.orders], order_cycle_time_p90: [S.orders], return_rate: [S.returns, S.sales], return_amount_rate: [S.returns, S.sales], refunds: [S.returns], return_requests: [S.returns],
    tickets_opened: [S.ticketEvents], complaint_rate: [S.ticketEvents, S.orders], csat: [S.ticketEvents], csat_satisfied_share: [S.ticketEvents],
    first_response_time: [S.tickets], first_response_time_p90: [S.tickets], sla_attainment: [S.tickets], resolution_time: [S.tickets], resolution_time_p90: [S.tickets], reopen_rate: [S.ticketEvents],
  };

  const out = new Map<string, OracleValue>();
  const ratio = (num: number, den: number, scale = 1): OracleValue => ({ numerator: num, denominator: den, value: den === 0 ? null : scale === 1 ? num / den : (num / den) * scale });
  const total = (num: number, scale = 1): OracleValue => ({ numerator: num, denominator: null, value: scale === 1 ? num : num * scale });
  const stat = (values: number[] | undefined): OracleValue => ({ numerator: null, denominator: values?.length ?? 0, value: p90(values ?? []) });
  /** A money KPI: missing, with the rates it lacks, when any total it uses is missing. */
  const priced = (v: OracleValue, ...uses: MoneyTotal[]): OracleValue => {
    const missing = [...new Set(uses.flatMap((x) => x.missing))].sort();
    return missing.length === 0 ? v : { numerator: null, denominator: null, value: null, missing };
  };
  for (const u of seenUnits) {
    const custs = [...(customers.get(u)?.values() ?? [])];
    const mems = [...(members.get(u)?.values() ?? [])];
    const gross = cash.gross.get(u);
    const sales = cash.net.get(u);
    const refunds = cash.refund.get(u);
    const costedNet = cash.costedNet.get(u);
    const costedCost = cash.costedCost.get(u);
    const returned = cash.retAmount.get(u);
    const net = sales.hundredths - refunds.hundredths;
    const profit = costedNet.hundredths - costedCost.hundredths;
    const target = targets.get(u);
    const kpis: Record<string, OracleValue> = {
      gross_sales: priced(total(gross.hundredths, 0.01), gross),
      net_sales: priced(total(net, 0.01), sales, refunds),
      sales_attainment: priced(ratio(net, target === undefined ? 0 : Math.round(target * 100)), sales, refunds),
      units_sold: total(m.units.get(u)),
      transactions: total(transactions.get(u)?.size ?? 0),
      average_order_value: priced(ratio(sales.hundredths, transactions.get(u)?.size ?? 0, 0.01), sales),
      gross_profit: priced(total(profit, 0.01), costedNet, costedCost),
      gross_margin_rate: priced(ratio(profit, costedNet.hundredths), costedNet, costedCost),
      // No gross-profit targets in these runs: never a value.
      profit_attainment: priced(ratio(profit, 0), costedNet, costedCost),
      active_customers: total(custs.filter((b) => b.current.size > 0).length),
      repeat_purchase_rate: ratio(custs.filter((b) => b.current.size >= 2).length, custs.filter((b) => b.current.size > 0).length),
      new_customer_growth: ratio(custs.filter((b) => inP(b.first)).length, custs.filter((b) => b.previous.size > 0).length),
      member_churn_rate: ratio(mems.filter((b) => b.previous.size > 0 && b.current.size === 0).length, mems.filter((b) => b.previous.size > 0).length),
      orders_placed: total(m.placed.get(u)),
      on_time_delivery_rate: ratio(m.onTime.get(u), m.delivered.get(u)),
      cancellation_rate: ratio(m.cancelled.get(u), m.placed.get(u)),
      order_processing_time: ratio(m.processingMs.get(u), m.processed.get(u), 1 / HOUR_MS),
      order_processing_time_p90: stat(durations.processing.get(u)),
      order_cycle_time: ratio(m.cycleMs.get(u), m.cycled.get(u), 1 / HOUR_MS),
      order_cycle_time_p90: stat(durations.cycle.get(u)),
      return_rate: ratio(m.retUnits.get(u), m.units.get(u)),
      return_amount_rate: priced(ratio(returned.hundredths, sales.hundredths), returned, sales),
      refunds: priced(total(refunds.hundredths, 0.01), refunds),
      return_requests: total(m.retRequests.get(u)),
      tickets_opened: total(m.opened.get(u)),
      complaint_rate: ratio(m.complaints.get(u), m.placed.get(u)),
      csat: ratio(m.ratingSum.get(u), m.ratings.get(u)),
      csat_satisfied_share: ratio(m.ratingsGood.get(u), m.ratings.get(u)),
      first_response_time: ratio(m.responseMs.get(u), m.answered.get(u), 1 / HOUR_MS),
      first_response_time_p90: stat(durations.response.get(u)),
      sla_attainment: ratio(m.inSla.get(u), m.answered.get(u)),
      resolution_time: ratio(m.resolutionMs.get(u), m.resolved.get(u), 1 / HOUR_MS),
      resolution_time_p90: stat(durations.resolution.get(u)),
      reopen_rate: ratio(m.reopens.get(u), m.resolutions.get(u)),
    };
    for (const [kpi, v] of Object.entries(kpis)) {
      const sets = drawsOn[kpi];
      if (!sets) throw new Error(`the oracle does not know what ${kpi} draws on`);
      if (sets.some((set) => set.has(u))) out.set(`${u}|${kpi}`, v);
    }
  }
  return out;
}

import { returnMoney, roundMicrosToMinor, saleLineMoney } from '../../schemas/events/money.js';
import { EVENT_SCHEMAS, TOPICS, entityKey, type BusinessEvent, type EventType } from '../../schemas/events/registry.js';
import { buildCatalog } from './catalog.js';
import { currencyPlanProblem, fenConverter, storeCurrency, type CurrencyPlan } from './currency-plan.js';
import { MALFORMED_CATALOG, type MalformedKindSpec } from './malformed.js';
import { buildOrg, type Org } from './org.js';
import { Rng } from './rng.js';
import { LARGE_SALE_MIN_LINES } from './sale-shapes.js';
import { generateStoreDay, type StoreMoney } from './store-day.js';
import { ZoneClock, parseDay } from './zone-clock.js';

/**
 * The simulator's generator: a realistic, seeded stream of business events for a range of
 * local days, with the faults a real pipeline meets (duplicates, malformed input, late and
 * out-of-order arrival), in the order it should be sent. Pure: no I/O, no clock, no global
 * randomness; the same options give the same bytes.
 *
 * Fault fractions are relative to the number of distinct valid events (outOfOrder: to the
 * follow-up events that can be swapped). Faults draw from their own stream, so the valid
 * events of a run do not depend on them.
 *
 * Money beyond the ordinary (wholesale invoices, prices finer than a fen, stores selling in a
 * second currency) is off unless asked for; without those options the bytes are those of
 * runs before they existed.
 */

export interface GenerateOptions {
  /** First local business day, `YYYY-MM-DD`. */
  from: string;
  /** Last local business day, `YYYY-MM-DD`, inclusive. */
  to: string;
  /** Number of stores, S001…; at least 1. */
  stores: number;
  /** Number of regions, R01…; at most `stores`. @default ceil(stores / 5) */
  regions?: number;
  /** Names the run: ids and contents derive from it. A non-negative whole number. */
  seed: number;
  /** IANA zone of the business calendar and of the offsets in occurred_at. @default 'Asia/Shanghai' */
  timeZone?: string;
  /** Volume multiplier; 1 is about 1,500 events per store per week. @default 1 */
  scale?: number;
  /** Extra byte-identical copies of valid messages, re-sent later. @default 0 */
  duplicates?: number;
  /** Malformed messages, kinds taken round-robin from the catalog (some kinds capped per run). @default 0 */
  malformed?: number;
  /** Valid messages held back and sent after everything else. @default 0 */
  late?: number;
  /** Follow-up events sent before the event of the same entity that precedes them. @default 0 */
  outOfOrder?: number;
  /**
   * Instant (UTC ms) up to which events have happened; later follow-ups are left out, as the
   * ingest would refuse events stamped in its future. @default no limit beyond the horizon
   */
  notAfterMs?: number;
  /** Share of sales that are wholesale invoices of 1,000–5,000 lines (LARGE_SALE_MIN_LINES…). @default 0 */
  largeSales?: number;
  /**
   * Share of sales sent as sale.completed v3 with decimal prices, many finer than the
   * currency's minor unit ("0.001" a gram, "12.3456" after a rebate). @default 0
   */
  finePrices?: number;
  /**
   * Currencies besides the reporting one (ISO 4217, e.g. ['HKD', 'MOP']): every fourth store
   * (S004, S008, …) sells in them in turn, at plausible local prices, and its returns and
   * refunds go as v2 naming the currency. @default none
   */
  currencies?: readonly string[];
  /** The currency money KPIs report in, and the one every other store sells in. @default 'CNY' */
  reportingCurrency?: string;
}

export interface SimMessage {
  topic: string;
  /** The entity key of the event (sale, order, return or ticket id), so one entity keeps one partition. */
  key: string | null;
  /** Exact bytes to send. Read-only: values share slabs, and a duplicate shares its original's bytes. */
  value: Buffer;
  kind: 'valid' | 'duplicate' | 'malformed';
  malformedKind?: string;
  /** The event a valid message or a duplicate carries. */
  event?: BusinessEvent;
  /** A valid message held back to the end of the run. */
  late?: boolean;
  /** A valid follow-up sent before the previous event of its entity. */
  outOfOrder?: boolean;
}

export interface Ledger {
  /** Distinct valid events. */
  valid: number;
  /** Extra copies sent. */
  duplicates: number;
  malformed: number;
  late: number;
  outOfOrder: number;
  byMalformedKind: Record<string, number>;
  /** Distinct valid events by type. */
  byType: Record<string, number>;
  /**
   * Sums over distinct valid events, in minor units, as decimal strings of integers: what
   * the warehouse's minor-unit columns add up to. A v3 line or a v2 amount counts rounded
   * half away from zero to its currency's minor unit, as those columns hold it. Like those
   * columns' sums, they add every currency together; the exact money of each currency is in
   * `moneyByCurrency`.
   */
  money: {
    /** Σ quantity × unit_price_minor − discount_minor over sale lines. */
    saleLinesNetMinor: string;
    /** Σ amount_minor of refund.issued. */
    refundsMinor: string;
    /** Σ amount_minor of return.received. */
    returnsAmountMinor: string;
  };
  /**
   * Exact sums by currency (ISO code, in code order), in micros (millionths of the currency
   * unit) as decimal strings of integers. v1 returns and refunds name no currency and count
   * in the reporting currency.
   */
  moneyByCurrency: Record<string, CurrencyMoney>;
  /** Distinct valid sales of the rarer shapes. */
  sales: {
    /** Wholesale invoices (at least LARGE_SALE_MIN_LINES lines). */
    large: number;
    /** Sent as v3, with decimal prices. */
    v3: number;
  };
}

export interface CurrencyMoney {
  /** Distinct valid sales in the currency. */
  sales: number;
  /** Σ quantity × unit price − discount over sale lines. */
  saleLinesNetMicros: string;
  /** Σ amount of return.received. */
  returnsAmountMicros: string;
  /** Σ amount of refund.issued. */
  refundsMicros: string;
}

export interface Simulation {
  /** In send order. */
  messages: SimMessage[];
  ledger: Ledger;
  org: Org;
}

/** Follow-up events may fall this many days after `to`, and no later. */
export const FOLLOW_UP_HORIZON_DAYS = 10;

/** About how many valid events one store makes per day at scale 1; for sizing a run up front. */
export const APPROX_EVENTS_PER_STORE_DAY = 220;

const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

const DEFAULT_REPORTING_CURRENCY = 'CNY';

function fraction(name: string, value: number | undefined): number {
  const v = value ?? 0;
  if (!Number.isFinite(v) || v < 0 || v > 1) throw new RangeError(`${name} must be a fraction from 0 to 1, got ${v}`);
  return v;
}

export function generateEvents(options: GenerateOptions): Simulation {
  const fromDay = parseDay(options.from);
  const toDay = parseDay(options.to);
  if (fromDay === undefined) throw new RangeError(`from must be a real date YYYY-MM-DD, got ${JSON.stringify(options.from)}`);
  if (toDay === undefined) throw new RangeError(`to must be a real date YYYY-MM-DD, got ${JSON.stringify(options.to)}`);
  if (fromDay > toDay) throw new RangeError(`from (${options.from}) is after to (${options.to})`);
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) throw new RangeError(`seed must be a non-negative whole number, got ${options.seed}`);
  const scale = options.scale ?? 1;
  if (!Number.isFinite(scale) || scale <= 0) throw new RangeError(`scale must be a positive number, got ${scale}`);
  const faults = {
    duplicates: fraction('duplicates', options.duplicates),
    malformed: fraction('malformed', options.malformed),
    late: fraction('late', options.late),
    outOfOrder: fraction('outOfOrder', options.outOfOrder),
  };
  const shapes = { largeSales: fraction('largeSales', options.largeSales), finePrices: fraction('finePrices', options.finePrices) };
  const plan: CurrencyPlan = { reporting: options.reportingCurrency ?? DEFAULT_REPORTING_CURRENCY, foreign: options.currencies ?? [] };
  const problem = currencyPlanProblem(plan, options.stores);
  if (problem !== undefined) throw new RangeError(`currencies: ${problem}`);
  const { seed } = options;
  const org = buildOrg({ stores: options.stores, regions: options.regions ?? Math.ceil(options.stores / 5), seed });
  const moneyOf = new Map<number, StoreMoney>();
  for (const store of org.stores) {
    const currency = storeCurrency(store.number, plan);
    moneyOf.set(store.number, { currency, reportingCurrency: plan.reporting, toMinor: fenConverter(currency), ...shapes });
  }
  const clock = new ZoneClock(options.timeZone ?? DEFAULT_TIME_ZONE);
  const catalog = buildCatalog(seed);
  const horizonMs = Math.min(clock.toUtc(toDay + FOLLOW_UP_HORIZON_DAYS + 1, 0), options.notAfterMs ?? Number.POSITIVE_INFINITY);

  const times: number[] = [];
  const events: BusinessEvent[] = [];
  const sink = {
    add(t: number, event: BusinessEvent): void {
      times.push(t);
      events.push(event);
    },
  };
  for (let day = fromDay; day <= toDay; day += 1) {
    for (const store of org.stores) {
      const money = moneyOf.get(store.number);
      if (money) generateStoreDay({ seed, store, catalog, clock, day, scale, horizonMs, money }, sink);
    }
  }

  const encoder = new SlabEncoder();
  const valid: SimMessage[] = [];
  for (const i of chronological(times)) {
    const event = events[i] as BusinessEvent;
    valid.push({ topic: TOPICS[EVENT_SCHEMAS[event.type].family], key: entityKey(event), value: encoder.encode(JSON.stringify(event)), kind: 'valid', event });
  }
  const { sequence, late, outOfOrder } = reorder(valid, faults, new Rng(seed, 'faults', 'order'));
  const { messages, duplicates, malformed, byMalformedKind } = injectCopiesAndGarbage(sequence, valid, faults, new Rng(seed, 'faults', 'inject'));

  return {
    messages,
    ledger: { valid: valid.length, duplicates, malformed, late, outOfOrder, byMalformedKind, byType: countTypes(valid), ...sumMoney(valid, plan.reporting) },
    org,
  };
}

/**
 * Indexes of `times` in time order; equal times keep index (generation) order, so the events
 * of one entity, generated in order and at least a second apart, stay in order. Sorting
 * packed (seconds, index) keys in a Float64Array is much cheaper than sorting objects.
 */
function chronological(times: number[]): Iterable<number> {
  const n = times.length;
  if (n === 0) return [];
  let base = Number.POSITIVE_INFINITY;
  let top = Number.NEGATIVE_INFINITY;
  for (const t of times) {
    if (t < base) base = t;
    if (t > top) top = t;
  }
  const indexBits = Math.ceil(Math.log2(n + 1));
  const span = Math.floor((top - base) / 1_000) + 1;
  if (span * 2 ** indexBits > Number.MAX_SAFE_INTEGER) {
    return Array.from(times.keys()).sort((a, b) => (times[a] as number) - (times[b] as number) || a - b);
  }
  const factor = 2 ** indexBits;
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i += 1) keys[i] = Math.floor(((times[i] as number) - base) / 1_000) * factor + i;
  keys.sort();
  const order = new Array<number>(n);
  for (let i = 0; i < n; i += 1) order[i] = (keys[i] as number) % factor;
  return order;
}

/**
 * UTF-8 encodes many small strings into shared 1 MiB slabs: one allocation per slab instead
 * of one per message keeps the garbage collector out of the way. Values are views into the
 * slab and are never written after encoding.
 */
class SlabEncoder {
  private static readonly SLAB_BYTES = 1 << 20;
  private slab = Buffer.allocUnsafe(SlabEncoder.SLAB_BYTES);
  private used = 0;

  encode(text: string): Buffer {
    // Three bytes per UTF-16 unit is the most UTF-8 can need.
    const worst = text.length * 3;
    if (worst > SlabEncoder.SLAB_BYTES) return Buffer.from(text, 'utf8');
    if (this.used + worst > this.slab.length) {
      this.slab = Buffer.allocUnsafe(SlabEncoder.SLAB_BYTES);
      this.used = 0;
    }
    const written = this.slab.write(text, this.used, 'utf8');
    const value = this.slab.subarray(this.used, this.used + written);
    this.used += written;
    return value;
  }
}

/** Holds back the late fraction to the end, then swaps follow-ups with their predecessors. */
function reorder(valid: SimMessage[], faults: { late: number; outOfOrder: number }, rng: Rng): { sequence: SimMessage[]; late: number; outOfOrder: number } {
  const lateCount = Math.round(faults.late * valid.length);
  const isLate = new Uint8Array(valid.length);
  for (const i of rng.sample(valid.length, lateCount)) isLate[i] = 1;
  const main: SimMessage[] = [];
  const tail: SimMessage[] = [];
  valid.forEach((m, i) => {
    if (isLate[i]) {
      m.late = true;
      tail.push(m);
    } else {
      main.push(m);
    }
  });

  // Position of the previous event of the same entity (topic + key), among on-time messages.
  const previous = new Int32Array(main.length).fill(-1);
  const last = new Map<string, number>();
  const candidates: number[] = [];
  main.forEach((m, pos) => {
    const entity = `${m.topic}\u0000${m.key ?? ''}`;
    const prev = last.get(entity);
    if (prev !== undefined) {
      previous[pos] = prev;
      candidates.push(pos);
    }
    last.set(entity, pos);
  });
  const wanted = Math.round(faults.outOfOrder * candidates.length);
  const touched = new Uint8Array(main.length);
  let swapped = 0;
  // Each message takes part in at most one swap, so a swapped pair stays a plain inversion.
  for (const c of rng.sample(candidates.length, wanted === 0 ? 0 : candidates.length)) {
    if (swapped >= wanted) break;
    const pos = candidates[c] ?? -1;
    const prev = previous[pos] ?? -1;
    if (pos < 0 || prev < 0 || touched[pos] || touched[prev]) continue;
    const followUp = main[pos] as SimMessage;
    main[pos] = main[prev] as SimMessage;
    main[prev] = followUp;
    followUp.outOfOrder = true;
    touched[pos] = 1;
    touched[prev] = 1;
    swapped += 1;
  }
  return { sequence: [...main, ...tail], late: lateCount, outOfOrder: swapped };
}

/** Adds duplicates after their originals and malformed messages anywhere, round-robin by kind. */
function injectCopiesAndGarbage(
  sequence: SimMessage[],
  valid: SimMessage[],
  faults: { duplicates: number; malformed: number },
  rng: Rng,
): { messages: SimMessage[]; duplicates: number; malformed: number; byMalformedKind: Record<string, number> } {
  const n = sequence.length;
  const after: (SimMessage[] | undefined)[] = new Array<SimMessage[] | undefined>(n);
  const insertAfter = (pos: number, m: SimMessage): void => {
    const slot = after[pos];
    if (slot) slot.push(m);
    else after[pos] = [m];
  };

  const duplicateCount = Math.round(faults.duplicates * valid.length);
  for (const src of rng.sample(n, duplicateCount)) {
    const original = sequence[src] as SimMessage;
    // Most copies are retries soon after; some are replays much later.
    const gap = rng.chance(0.7) ? rng.int(0, 50) : rng.int(0, n - 1 - src);
    const copy: SimMessage = { topic: original.topic, key: original.key, value: original.value, kind: 'duplicate' };
    if (original.event) copy.event = original.event;
    insertAfter(Math.min(n - 1, src + gap), copy);
  }

  const byType = new Map<EventType, SimMessage[]>();
  for (const m of valid) {
    if (!m.event) continue;
    const list = byType.get(m.event.type);
    if (list) list.push(m);
    else byType.set(m.event.type, [m]);
  }
  const malformedCount = n === 0 ? 0 : Math.round(faults.malformed * valid.length);
  const byMalformedKind: Record<string, number> = {};
  let cursor = 0;
  const nextSpec = (): MalformedKindSpec | undefined => {
    // Round-robin, passing over kinds that reached their cap (some kinds have none).
    for (let tries = 0; tries < MALFORMED_CATALOG.length; tries += 1) {
      const spec = MALFORMED_CATALOG[cursor % MALFORMED_CATALOG.length];
      cursor += 1;
      if (spec && (spec.maxPerRun === undefined || (byMalformedKind[spec.kind] ?? 0) < spec.maxPerRun)) return spec;
    }
    return undefined;
  };
  for (let i = 0; i < malformedCount; i += 1) {
    const spec = nextSpec();
    if (!spec) break;
    const preferred = spec.prefers === undefined ? undefined : byType.get(spec.prefers);
    const pool = preferred ?? valid;
    const base = rng.pick(pool).event;
    if (!base) continue;
    // A fresh id: a broken producer's message is a new event, never a copy of a good one.
    const raw = spec.make(rng, { ...base, event_id: `${base.event_id}-x${i + 1}` });
    insertAfter(rng.int(0, n - 1), { ...raw, kind: 'malformed', malformedKind: spec.kind });
    byMalformedKind[spec.kind] = (byMalformedKind[spec.kind] ?? 0) + 1;
  }

  const messages: SimMessage[] = [];
  for (let pos = 0; pos < n; pos += 1) {
    messages.push(sequence[pos] as SimMessage);
    const extra = after[pos];
    if (extra) for (const m of extra) messages.push(m);
  }
  const malformed = Object.values(byMalformedKind).reduce((a, b) => a + b, 0);
  return { messages, duplicates: duplicateCount, malformed, byMalformedKind };
}

function countTypes(valid: SimMessage[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of valid) if (m.event) counts[m.event.type] = (counts[m.event.type] ?? 0) + 1;
  return counts;
}

/**
 * The ledger's money, exactly: every amount in micros of its currency (BigInt), summed per
 * currency, and the minor-unit totals as the warehouse's minor-unit columns hold them.
 */
function sumMoney(valid: SimMessage[], reportingCurrency: string): Pick<Ledger, 'money' | 'moneyByCurrency' | 'sales'> {
  const minor = { lines: 0n, refunds: 0n, returns: 0n };
  const byCurrency = new Map<string, { sales: number; lines: bigint; returns: bigint; refunds: bigint }>();
  const of = (currency: string) => {
    let sums = byCurrency.get(currency);
    if (!sums) byCurrency.set(currency, (sums = { sales: 0, lines: 0n, returns: 0n, refunds: 0n }));
    return sums;
  };
  const sales = { large: 0, v3: 0 };
  for (const m of valid) {
    const e = m.event;
    if (!e) continue;
    if (e.type === 'sale.completed') {
      const { currency } = e.payload;
      const sums = of(currency);
      sums.sales += 1;
      for (const line of e.payload.lines) {
        const net = saleLineMoney(e, line).net;
        sums.lines += net;
        minor.lines += roundMicrosToMinor(net, currency);
      }
      if (e.payload.lines.length >= LARGE_SALE_MIN_LINES) sales.large += 1;
      if (e.version === 3) sales.v3 += 1;
    } else if (e.type === 'refund.issued' || e.type === 'return.received') {
      const { currency, micros } = returnMoney(e, reportingCurrency);
      const counted = currency ?? reportingCurrency;
      const inMinor = roundMicrosToMinor(micros, counted);
      if (e.type === 'refund.issued') {
        of(counted).refunds += micros;
        minor.refunds += inMinor;
      } else {
        of(counted).returns += micros;
        minor.returns += inMinor;
      }
    }
  }
  const moneyByCurrency: Record<string, CurrencyMoney> = {};
  for (const code of [...byCurrency.keys()].sort()) {
    const sums = of(code);
    moneyByCurrency[code] = { sales: sums.sales, saleLinesNetMicros: sums.lines.toString(), returnsAmountMicros: sums.returns.toString(), refundsMicros: sums.refunds.toString() };
  }
  return {
    money: { saleLinesNetMinor: minor.lines.toString(), refundsMinor: minor.refunds.toString(), returnsAmountMinor: minor.returns.toString() },
    moneyByCurrency,
    sales,
  };
}

import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { decodeEvent } from '../../../schemas/events/decode.js';
import type { BusinessEvent } from '../../../schemas/events/registry.js';
import { FOREIGN_STORE_EVERY, currencyPlanProblem, exchangeRates, exchangeRatesCsv, rateDays, storeCurrency } from '../../../services/simulator/currency-plan.js';
import { generateEvents, type GenerateOptions, type SimMessage } from '../../../services/simulator/generate.js';
import { LARGE_SALE_MAX_LINES, LARGE_SALE_MIN_LINES } from '../../../services/simulator/sale-shapes.js';
import { ZoneClock } from '../../../services/simulator/zone-clock.js';
import { decimalMicros, divideRoundingHalfAway, isoDigits, minorMicros } from '../../support/oracle-money.js';

const NOW = Date.now();
const BASE: GenerateOptions = { from: '2026-03-02', to: '2026-03-04', stores: 8, seed: 21 };

type Sale = Extract<BusinessEvent, { type: 'sale.completed' }>;
const eventsOf = (messages: SimMessage[]): BusinessEvent[] => messages.filter((m) => m.kind === 'valid').map((m) => m.event as BusinessEvent);
const salesOf = (messages: SimMessage[]): Sale[] => eventsOf(messages).filter((e): e is Sale => e.type === 'sale.completed');
const decimalsOf = (amount: string): number => (amount.split('.')[1] ?? '').length;
const bytesKey = (m: SimMessage): string => `${m.kind}\n${m.topic}\n${m.key ?? ''}\n${m.value.toString('base64')}`;

/** Every valid message decodes, to exactly the object it was made from. */
function expectAllDecode(messages: SimMessage[]): void {
  const rejected: string[] = [];
  for (const m of messages) {
    if (m.kind !== 'valid') continue;
    const result = decodeEvent(m.value, { topic: m.topic, timestampMs: NOW });
    if (!result.ok) rejected.push(`${result.code}: ${result.reason} in ${m.value.toString('utf8').slice(0, 200)}`);
    else if (!isDeepStrictEqual(result.event, m.event)) rejected.push(`decoded differently: ${m.event?.event_id ?? '?'}`);
  }
  expect(rejected).toEqual([]);
}

describe('generateEvents: money options off', () => {
  it('makes the same bytes as before the options existed', () => {
    // Digest of a run recorded with the generator as it was before large sales, fine prices
    // and second currencies: a change here changes every existing run and what tests expect.
    const sim = generateEvents({ from: '2026-03-02', to: '2026-03-04', stores: 6, seed: 11, duplicates: 0.02, late: 0.01, outOfOrder: 0.02 });
    const hash = createHash('sha256');
    for (const m of sim.messages) hash.update(`${m.kind}\n${m.topic}\n${m.key ?? ''}\n`).update(m.value).update('\n');
    expect(sim.messages).toHaveLength(2_714);
    expect(hash.digest('hex')).toBe('bbdc58857107bc84de292f3c19d34f7107548218fc780fee7dd22024ae5bc6d4');
    expect(sim.ledger.money).toEqual({ saleLinesNetMinor: '124636216', refundsMinor: '2779817', returnsAmountMinor: '2803165' });
    expect(Object.keys(sim.ledger.moneyByCurrency)).toEqual(['CNY']);
    expect(sim.ledger.sales).toEqual({ large: 0, v3: 0 });
  });

  it('makes the same bytes when the options are given as zero or empty', () => {
    const plain = generateEvents(BASE).messages.map(bytesKey);
    const zero = generateEvents({ ...BASE, largeSales: 0, finePrices: 0, currencies: [], reportingCurrency: 'CNY' }).messages.map(bytesKey);
    expect(zero).toEqual(plain);
  });
});

describe.each<[string, Partial<GenerateOptions>]>([
  ['large sales', { largeSales: 0.01 }],
  ['fine prices', { finePrices: 0.2 }],
  ['second currencies', { currencies: ['HKD', 'MOP'] }],
  ['all money options', { largeSales: 0.01, finePrices: 0.2, currencies: ['HKD', 'MOP'], duplicates: 0.02, malformed: 0.02 }],
])('generateEvents with %s', (_label, options) => {
  const sim = generateEvents({ ...BASE, ...options });
  const plain = generateEvents(BASE);

  it('makes events that every schema accepts', () => {
    expectAllDecode(sim.messages);
  });

  it('is deterministic', () => {
    expect(generateEvents({ ...BASE, ...options }).messages.map(bytesKey)).toEqual(sim.messages.map(bytesKey));
  });

  it('leaves every event it does not reshape as it was: orders shipped, delivered and cancelled, return requests, tickets', () => {
    const untouched = (messages: SimMessage[]) =>
      messages
        .filter((m) => m.kind === 'valid' && m.event && !['sale.completed', 'order.placed', 'return.received', 'refund.issued'].includes(m.event.type))
        .map(bytesKey)
        .sort();
    expect(untouched(sim.messages)).toEqual(untouched(plain.messages));
  });

  it('keeps an exact ledger, per currency and in minor units, recomputed from the bytes', () => {
    const byCurrency = new Map<string, { sales: number; lines: bigint; returns: bigint; refunds: bigint }>();
    const of = (c: string) => byCurrency.get(c) ?? byCurrency.set(c, { sales: 0, lines: 0n, returns: 0n, refunds: 0n }).get(c) ?? { sales: 0, lines: 0n, returns: 0n, refunds: 0n };
    const minor = { lines: 0n, returns: 0n, refunds: 0n };
    const toMinor = (micros: bigint, c: string) => divideRoundingHalfAway(micros, 10n ** BigInt(6 - isoDigits(c)));
    for (const m of sim.messages) {
      if (m.kind !== 'valid') continue;
      const e = JSON.parse(m.value.toString('utf8')) as { type: string; payload: Record<string, unknown> };
      const p = e.payload;
      if (e.type === 'sale.completed') {
        const currency = String(p['currency']);
        of(currency).sales += 1;
        for (const l of p['lines'] as Record<string, string | number>[]) {
          const q = BigInt(Number(l['quantity']));
          const net =
            typeof l['unit_price'] === 'string'
              ? q * decimalMicros(l['unit_price']) - decimalMicros(String(l['discount']))
              : q * minorMicros(Number(l['unit_price_minor']), currency) - minorMicros(Number(l['discount_minor']), currency);
          of(currency).lines += net;
          minor.lines += toMinor(net, currency);
        }
      } else if (e.type === 'return.received' || e.type === 'refund.issued') {
        const currency = typeof p['currency'] === 'string' ? p['currency'] : 'CNY';
        const micros = typeof p['amount'] === 'string' ? decimalMicros(p['amount']) : minorMicros(Number(p['amount_minor']), 'CNY');
        if (e.type === 'return.received') of(currency).returns += micros;
        else of(currency).refunds += micros;
        minor[e.type === 'return.received' ? 'returns' : 'refunds'] += toMinor(micros, currency);
      }
    }
    const expected = Object.fromEntries(
      [...byCurrency.keys()].sort().map((c) => {
        const s = of(c);
        return [c, { sales: s.sales, saleLinesNetMicros: String(s.lines), returnsAmountMicros: String(s.returns), refundsMicros: String(s.refunds) }];
      }),
    );
    expect(sim.ledger.moneyByCurrency).toEqual(expected);
    expect(sim.ledger.money).toEqual({ saleLinesNetMinor: String(minor.lines), refundsMinor: String(minor.refunds), returnsAmountMinor: String(minor.returns) });
  });
});

describe('generateEvents: large sales', () => {
  const sim = generateEvents({ ...BASE, stores: 4, largeSales: 0.01 });
  const large = salesOf(sim.messages).filter((s) => s.payload.lines.length >= LARGE_SALE_MIN_LINES);

  it('makes about the asked share of sales wholesale invoices of 1,000-5,000 lines', () => {
    const sales = salesOf(sim.messages);
    expect(large.length).toBe(sim.ledger.sales.large);
    expect(large.length).toBeGreaterThanOrEqual(3);
    expect(large.length / sales.length).toBeGreaterThan(0.004);
    expect(large.length / sales.length).toBeLessThan(0.02);
    for (const sale of large) {
      expect(sale.payload.lines.length).toBeLessThanOrEqual(LARGE_SALE_MAX_LINES);
      expect(new Set(sale.payload.lines.map((l) => l.line_no)).size).toBe(sale.payload.lines.length);
    }
  });

  it('keeps each message well under 2 MiB', () => {
    const sizes = sim.messages.filter((m) => m.event?.type === 'sale.completed' && m.event.payload.lines.length >= LARGE_SALE_MIN_LINES).map((m) => m.value.length);
    expect(Math.max(...sizes)).toBeLessThan(2 * 1024 * 1024);
    expect(Math.min(...sizes)).toBeGreaterThan(100_000);
  });

  it('counts their units in the order they fulfil', () => {
    const placed = new Map(eventsOf(sim.messages).flatMap((e) => (e.type === 'order.placed' ? [[e.payload.order_id, e.payload.item_count] as const] : [])));
    const orders = large.filter((s) => s.version !== 1 && s.payload.order_id !== undefined);
    expect(orders.length).toBeGreaterThan(0);
    for (const sale of orders) {
      const orderId = sale.version === 1 ? '' : (sale.payload.order_id ?? '');
      const units = (sale.payload.lines as { quantity: number }[]).reduce((n, l) => n + l.quantity, 0);
      expect(placed.get(orderId)).toBe(units);
    }
  });
});

describe('generateEvents: fine prices', () => {
  const sim = generateEvents({ ...BASE, finePrices: 0.25 });
  const v3 = salesOf(sim.messages).filter((s) => s.version === 3);
  const lines = v3.flatMap((s) => (s.version === 3 ? s.payload.lines : []));

  it('sends about the asked share of sales as v3', () => {
    const share = v3.length / salesOf(sim.messages).length;
    expect(v3.length).toBe(sim.ledger.sales.v3);
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.3);
  });

  it('prices with up to six decimals, many finer than a fen, some below a fen altogether', () => {
    expect(lines.every((l) => decimalsOf(l.unit_price) <= 6 && decimalsOf(l.discount) <= 6)).toBe(true);
    const subFen = lines.filter((l) => decimalsOf(l.unit_price) > 2);
    expect(subFen.length / lines.length).toBeGreaterThan(0.3);
    // Goods by the gram: a unit price below one fen, such as 0.001 or 0.015.
    expect(lines.some((l) => decimalMicros(l.unit_price) < 10_000n)).toBe(true);
    expect(lines.some((l) => l.unit_price === '0.001' || l.unit_price === '0.015')).toBe(true);
    // Ordinary prices go as v3 too, with two decimals.
    expect(lines.some((l) => decimalsOf(l.unit_price) === 2)).toBe(true);
  });

  it('sends the returns and refunds of v3 sales as v2, with decimal amounts in whole fen', () => {
    const v3Sales = new Set(v3.map((s) => s.payload.sale_id));
    const requested = new Map(eventsOf(sim.messages).flatMap((e) => (e.type === 'return.requested' && e.payload.sale_id ? [[e.payload.return_id, e.payload.sale_id] as const] : [])));
    const returns = eventsOf(sim.messages).filter((e) => e.type === 'return.received' || e.type === 'refund.issued');
    const ofV3 = returns.filter((e) => v3Sales.has(requested.get(e.payload.return_id) ?? ''));
    expect(ofV3.length).toBeGreaterThan(0);
    for (const e of ofV3) {
      expect(e.version).toBe(2);
      if ('amount' in e.payload) {
        expect(e.payload.currency).toBe('CNY');
        expect(decimalsOf(e.payload.amount)).toBeLessThanOrEqual(2);
      }
    }
    // Returns of v1/v2 sales in the reporting currency stay v1.
    expect(returns.some((e) => e.version === 1)).toBe(true);
  });
});

describe('generateEvents: second currencies', () => {
  const sim = generateEvents({ ...BASE, currencies: ['HKD', 'MOP'] });
  const events = eventsOf(sim.messages);

  it('has every fourth store sell, return and refund in the second currencies, in turn', () => {
    const currencyOfStore = new Map<string, Set<string>>();
    const note = (store: string, currency: string) => currencyOfStore.set(store, (currencyOfStore.get(store) ?? new Set()).add(currency));
    for (const e of events) {
      if (e.type === 'sale.completed') note(e.org.store, e.payload.currency);
      if ((e.type === 'return.received' || e.type === 'refund.issued') && 'currency' in e.payload) note(e.org.store, e.payload.currency);
    }
    expect(Object.fromEntries([...currencyOfStore].map(([s, c]) => [s, [...c]]))).toEqual({
      S001: ['CNY'], S002: ['CNY'], S003: ['CNY'], S004: ['HKD'], S005: ['CNY'], S006: ['CNY'], S007: ['CNY'], S008: ['MOP'],
    });
  });

  it('sends returns and refunds of those stores as v2 naming the currency, and of the others as v1', () => {
    for (const type of ['return.received', 'refund.issued'] as const) {
      const ofType = events.filter((e) => e.type === type);
      const foreign = ofType.filter((e) => e.org.store === 'S004' || e.org.store === 'S008');
      expect(foreign.length).toBeGreaterThan(0);
      expect(foreign.every((e) => e.version === 2 && 'currency' in e.payload && e.payload.currency === (e.org.store === 'S004' ? 'HKD' : 'MOP'))).toBe(true);
      expect(ofType.filter((e) => !foreign.includes(e)).every((e) => e.version === 1)).toBe(true);
    }
  });

  it('prices goods plausibly in that currency: the same goods cost about 1/0.92 as many HKD as CNY', () => {
    const priceOf = (currency: string) => {
      const prices = new Map<string, number>();
      for (const e of events) {
        if (e.type !== 'sale.completed' || e.payload.currency !== currency || e.version === 3) continue;
        for (const l of e.payload.lines) prices.set(l.sku, l.unit_price_minor);
      }
      return prices;
    };
    const cny = priceOf('CNY');
    const hkd = priceOf('HKD');
    const ratios = [...hkd].flatMap(([sku, p]) => (cny.has(sku) ? [p / (cny.get(sku) ?? 1)] : []));
    expect(ratios.length).toBeGreaterThan(10);
    for (const r of ratios) expect(Math.abs(r - 1 / 0.92)).toBeLessThan(0.01);
  });

  it('keeps money by currency in the ledger', () => {
    expect(Object.keys(sim.ledger.moneyByCurrency)).toEqual(['CNY', 'HKD', 'MOP']);
    for (const money of Object.values(sim.ledger.moneyByCurrency)) {
      expect(money.sales).toBeGreaterThan(0);
      expect(BigInt(money.saleLinesNetMicros)).toBeGreaterThan(0n);
      expect(BigInt(money.refundsMicros)).toBeGreaterThan(0n);
    }
  });

  it('follows the reporting currency: with HKD reporting, the other stores sell in HKD', () => {
    const hk = generateEvents({ ...BASE, stores: 4, reportingCurrency: 'HKD', currencies: ['CNY'] });
    const currencies = new Set(salesOf(hk.messages).map((s) => `${s.org.store} ${s.payload.currency}`));
    expect([...currencies].sort()).toEqual(['S001 HKD', 'S002 HKD', 'S003 HKD', 'S004 CNY']);
    expectAllDecode(hk.messages);
  });
});

describe('generateEvents: money options are checked', () => {
  it.each<[string, Partial<GenerateOptions>, RegExp]>([
    ['a large-sales fraction above 1', { largeSales: 1.5 }, /largeSales must be a fraction from 0 to 1/],
    ['a negative fine-prices fraction', { finePrices: -0.1 }, /finePrices must be a fraction from 0 to 1/],
    ['an unknown currency', { currencies: ['HKX'] }, /HKX is not an ISO 4217 currency code/],
    ['the reporting currency', { currencies: ['CNY'] }, /CNY is the reporting currency/],
    ['a currency listed twice', { currencies: ['HKD', 'HKD'] }, /HKD is listed twice/],
    ['a currency the simulator cannot price', { currencies: ['ZAR'] }, /no reference value for ZAR/],
    ['too few stores for the currencies', { stores: 7, currencies: ['HKD', 'MOP'] }, /2 currencies need at least 8 stores, got 7/],
    ['an unknown reporting currency', { reportingCurrency: 'XYZ' }, /reporting currency XYZ is not an ISO 4217 currency code/],
  ])('rejects %s', (_label, override, message) => {
    expect(() => generateEvents({ ...BASE, ...override })).toThrow(RangeError);
    expect(() => generateEvents({ ...BASE, ...override })).toThrow(message);
  });
});

describe('currency plan', () => {
  const plan = { reporting: 'CNY', foreign: ['HKD', 'MOP'] };

  it('hands every fourth store a second currency, in turn', () => {
    expect(Array.from({ length: 16 }, (_, i) => storeCurrency(i + 1, plan)).join(' ')).toBe('CNY CNY CNY HKD CNY CNY CNY MOP CNY CNY CNY HKD CNY CNY CNY MOP');
    expect(storeCurrency(FOREIGN_STORE_EVERY, { reporting: 'CNY', foreign: [] })).toBe('CNY');
    expect(currencyPlanProblem(plan, 8)).toBeUndefined();
  });
});

describe('exchangeRates', () => {
  const plan = { reporting: 'CNY', foreign: ['MOP', 'HKD', 'KRW'] };
  const rates = exchangeRates({ from: '2026-03-02', to: '2026-03-31', seed: 21, plan });

  it('gives one rate a day per second currency, days in order, currencies in code order', () => {
    expect(rates).toHaveLength(30 * 3);
    expect(rates.slice(0, 3).map((r) => `${r.day} ${r.currency}`)).toEqual(['2026-03-02 HKD', '2026-03-02 KRW', '2026-03-02 MOP']);
    expect(rates.at(-1)?.day).toBe('2026-03-31');
  });

  it('writes decimal rates of at most 10 decimals near the reference value, drifting a little from day to day', () => {
    for (const r of rates) expect(r.rate).toMatch(/^(0|[1-9][0-9]*)\.[0-9]{1,10}$/);
    const hkd = rates.filter((r) => r.currency === 'HKD').map((r) => Number(r.rate));
    for (const v of hkd) expect(Math.abs(v / 0.92 - 1)).toBeLessThan(0.03);
    expect(new Set(hkd).size).toBeGreaterThan(25);
    const krw = rates.filter((r) => r.currency === 'KRW').map((r) => Number(r.rate));
    for (const v of krw) expect(Math.abs(v / 0.0052 - 1)).toBeLessThan(0.03);
  });

  it('depends only on the seed, the currency and the day: overlapping ranges agree', () => {
    const week = exchangeRates({ from: '2026-03-09', to: '2026-03-15', seed: 21, plan });
    const all = new Set(rates.map((r) => JSON.stringify(r)));
    expect(week.every((r) => all.has(JSON.stringify(r)))).toBe(true);
    expect(exchangeRates({ from: '2026-03-09', to: '2026-03-09', seed: 22, plan }).map((r) => r.rate)).not.toEqual(week.slice(0, 3).map((r) => r.rate));
  });

  it('values currencies against another reporting currency', () => {
    const [usd] = exchangeRates({ from: '2026-03-02', to: '2026-03-02', seed: 1, plan: { reporting: 'HKD', foreign: ['USD'] } });
    expect(Math.abs(Number(usd?.rate) / (7.2 / 0.92) - 1)).toBeLessThan(0.03);
  });

  it('writes CSV with a day,currency,rate header', () => {
    const csv = exchangeRatesCsv(rates.slice(0, 2));
    expect(csv).toBe(`day,currency,rate\n2026-03-02,HKD,${rates[0]?.rate}\n2026-03-02,KRW,${rates[1]?.rate}\n`);
  });

  it('covers every day an event can fall on: follow-ups to ten days after the last, not after now', () => {
    const clock = new ZoneClock('Asia/Shanghai');
    expect(rateDays({ from: '2026-03-02', to: '2026-03-08', followUpDays: 10, clock })).toEqual({ from: '2026-03-02', to: '2026-03-18' });
    expect(rateDays({ from: '2026-03-02', to: '2026-03-08', followUpDays: 10, clock, notAfterMs: Date.parse('2026-03-10T12:00:00+08:00') })).toEqual({ from: '2026-03-02', to: '2026-03-10' });
    const sim = generateEvents({ ...BASE, currencies: ['HKD', 'MOP'] });
    const days = new Set(exchangeRates({ ...rateDays({ from: BASE.from, to: BASE.to, followUpDays: 10, clock }), seed: 21, plan: { reporting: 'CNY', foreign: ['HKD', 'MOP'] } }).map((r) => `${r.currency} ${r.day}`));
    const needed = eventsOf(sim.messages).flatMap((e) => {
      const currency = e.type === 'sale.completed' ? e.payload.currency : 'currency' in e.payload && typeof e.payload.currency === 'string' ? e.payload.currency : 'CNY';
      return currency === 'CNY' ? [] : [`${currency} ${e.occurred_at.slice(0, 10)}`];
    });
    expect(needed.length).toBeGreaterThan(0);
    expect(needed.filter((n) => !days.has(n))).toEqual([]);
  });
});

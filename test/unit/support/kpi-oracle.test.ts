import type { BusinessEvent } from '../../../schemas/events/index.js';
import { oracleKpis, type OracleMoneyOptions, type OracleValue } from '../../support/kpi-oracle.js';
import { decimalMicros, divideRoundingHalfAway, isoDigits, minorMicros, scaledDecimal } from '../../support/oracle-money.js';

/**
 * The oracle's money rules on cases small enough to work out by hand: amounts exact in
 * micros, each converted at its day's rate, a unit's total rounded once to hundredths half
 * away from zero, and a missing rate making every money KPI that needs it missing.
 */

const MARCH = { startMs: Date.parse('2026-03-01T00:00:00+08:00'), endMs: Date.parse('2026-04-01T00:00:00+08:00'), previousStartMs: Date.parse('2026-02-01T00:00:00+08:00') };

let seq = 0;
const envelope = (store: string, at: string) => {
  seq += 1;
  return { event_id: `ev-${seq}`, occurred_at: at, producer: 'test', org: { region: 'R01', store, department: 'sales', channel: 'store' as const } };
};

type V3Line = { quantity: number; unit_price: string; discount?: string; unit_cost?: string };
function saleV3(store: string, at: string, currency: string, lines: V3Line[]): BusinessEvent {
  return {
    ...envelope(store, at),
    type: 'sale.completed',
    version: 3,
    payload: {
      sale_id: `SA-${seq}`,
      currency,
      lines: lines.map((l, i) => ({ line_no: i + 1, sku: `SKU-${i}`, category: '食品', quantity: l.quantity, unit_price: l.unit_price, discount: l.discount ?? '0', ...(l.unit_cost ? { unit_cost: l.unit_cost } : {}) })),
    },
  };
}

type V2Line = { quantity: number; unit_price_minor: number; discount_minor?: number; unit_cost_minor?: number };
function saleV2(store: string, at: string, currency: string, lines: V2Line[]): BusinessEvent {
  return {
    ...envelope(store, at),
    type: 'sale.completed',
    version: 2,
    payload: {
      sale_id: `SA-${seq}`,
      payment_method: 'card',
      currency,
      lines: lines.map((l, i) => ({ line_no: i + 1, sku: `SKU-${i}`, category: '食品', quantity: l.quantity, unit_price_minor: l.unit_price_minor, discount_minor: l.discount_minor ?? 0, ...(l.unit_cost_minor ? { unit_cost_minor: l.unit_cost_minor } : {}) })),
    },
  };
}

const refundV1 = (store: string, at: string, amount_minor: number): BusinessEvent => ({ ...envelope(store, at), type: 'refund.issued', version: 1, payload: { return_id: `RT-${seq}`, amount_minor } });
const refundV2 = (store: string, at: string, amount: string, currency: string): BusinessEvent => ({ ...envelope(store, at), type: 'refund.issued', version: 2, payload: { return_id: `RT-${seq}`, amount, currency } });
const receivedV2 = (store: string, at: string, amount: string, currency: string): BusinessEvent => ({
  ...envelope(store, at),
  type: 'return.received',
  version: 2,
  payload: { return_id: `RT-${seq}`, sku: 'SKU-0', quantity: 1, amount, currency, reason: '不想要了' },
});

function kpis(events: BusinessEvent[], money?: OracleMoneyOptions): (key: string) => OracleValue | undefined {
  const out = oracleKpis(events, MARCH, new Map([['store|S001', 100]]), money);
  return (key) => out.get(key);
}

describe('the oracle’s own money arithmetic', () => {
  it('reads decimal strings exactly and refuses what is not one', () => {
    expect(decimalMicros('0.001')).toBe(1_000n);
    expect(decimalMicros('12.3456')).toBe(12_345_600n);
    expect(decimalMicros('7')).toBe(7_000_000n);
    expect(scaledDecimal('0.9212345678', 10)).toBe(9_212_345_678n);
    expect(() => decimalMicros('0.0000001')).toThrow(/more than 6 decimals/);
    expect(() => decimalMicros('1e3')).toThrow(/not a decimal/);
    expect(() => decimalMicros('-1')).toThrow(/not a decimal/);
  });

  it('turns minor units into micros by the ISO digits of the currency', () => {
    expect(isoDigits('CNY')).toBe(2);
    expect(isoDigits('JPY')).toBe(0);
    expect(isoDigits('KWD')).toBe(3);
    expect(minorMicros(1, 'CNY')).toBe(10_000n);
    expect(minorMicros(1, 'JPY')).toBe(1_000_000n);
    expect(minorMicros(1, 'KWD')).toBe(1_000n);
  });

  it('rounds a half away from zero, both ways', () => {
    expect(divideRoundingHalfAway(25n, 10n)).toBe(3n);
    expect(divideRoundingHalfAway(-25n, 10n)).toBe(-3n);
    expect(divideRoundingHalfAway(24n, 10n)).toBe(2n);
    expect(divideRoundingHalfAway(-24n, 10n)).toBe(-2n);
  });
});

describe('oracleKpis: money', () => {
  it('adds prices below a fen exactly and rounds each unit’s total once, a half away from zero', () => {
    // Two sales of 5 × 0.001 = 0.005 CNY each: 0.01 together. Rounding each first would give 0.02.
    const tiny = [saleV3('S001', '2026-03-04T10:00:00+08:00', 'CNY', [{ quantity: 5, unit_price: '0.001' }]), saleV3('S001', '2026-03-04T11:00:00+08:00', 'CNY', [{ quantity: 5, unit_price: '0.001' }])];
    expect(kpis(tiny)('store|S001|gross_sales')).toEqual({ numerator: 1, denominator: null, value: 0.01 });

    // 12.3456 + 3 × 0.001 − 0.0001 = 12.3485 → 12.35 (half away; a half to even would give 12.34).
    const half = [saleV3('S001', '2026-03-04T10:00:00+08:00', 'CNY', [{ quantity: 1, unit_price: '12.3456' }, { quantity: 3, unit_price: '0.001', discount: '0.0001' }])];
    const get = kpis(half);
    expect(get('store|S001|net_sales')).toEqual({ numerator: 1235, denominator: null, value: 12.35 });
    // Gross 12.3486 → 12.35 as well; the average order value divides the rounded net.
    expect(get('store|S001|gross_sales')?.numerator).toBe(1235);
    expect(get('store|S001|average_order_value')).toEqual({ numerator: 1235, denominator: 1, value: 12.35 });
    // The target is 100 yuan: 10,000 hundredths.
    expect(get('store|S001|sales_attainment')).toEqual({ numerator: 1235, denominator: 10_000, value: 0.1235 });
  });

  it('converts each amount at the rate of its currency and business day, then adds exactly', () => {
    const rates = new Map([
      ['HKD|2026-03-04', '0.9212345678'],
      ['HKD|2026-03-05', '0.93'],
    ]);
    const events = [
      // HKD 20.00 on 4 March: 20 × 0.9212345678 = 18.424691356 CNY.
      saleV2('S002', '2026-03-04T23:30:00+08:00', 'HKD', [{ quantity: 2, unit_price_minor: 1_000 }]),
      // 16:30 UTC is 00:30 on 5 March in Shanghai: HKD 10.00 × 0.93 = 9.30 CNY.
      saleV2('S002', '2026-03-04T16:30:00Z', 'HKD', [{ quantity: 1, unit_price_minor: 1_000 }]),
      // CNY 0.005: rate 1.
      saleV3('S001', '2026-03-04T10:00:00+08:00', 'CNY', [{ quantity: 5, unit_price: '0.001' }]),
    ];
    const get = kpis(events, { rates });
    // 18.424691356 + 9.30 = 27.724691356 → 27.72
    expect(get('store|S002|gross_sales')).toEqual({ numerator: 2772, denominator: null, value: 27.72 });
    // 27.724691356 + 0.005 = 27.729691356 → 27.73: the company rounds its own exact total.
    expect(get('company|all|gross_sales')?.numerator).toBe(2773);
    expect(get('store|S001|gross_sales')?.numerator).toBe(1);
    expect(get('company|all|gross_sales')?.missing).toBeUndefined();
    // The day is the business day in the zone asked for: in UTC both sales fall on 4 March.
    const utc = kpis(events, { rates, timeZone: 'UTC' });
    expect(utc('store|S002|gross_sales')?.numerator).toBe(Number(divideRoundingHalfAway(30_000_000n * 9_212_345_678n, 10n ** 14n)));
  });

  it('counts v1 refunds in the reporting currency and v2 ones in the currency they name', () => {
    const rates = new Map([['HKD|2026-03-04', '0.92']]);
    const events = [
      saleV2('S001', '2026-03-04T10:00:00+08:00', 'CNY', [{ quantity: 1, unit_price_minor: 10_000 }]),
      refundV1('S001', '2026-03-04T12:00:00+08:00', 1_234),
      // HKD 10.005 × 0.92 = 9.2046 CNY.
      refundV2('S001', '2026-03-04T13:00:00+08:00', '10.005', 'HKD'),
      receivedV2('S001', '2026-03-04T13:00:00+08:00', '10.005', 'HKD'),
    ];
    const get = kpis(events, { rates });
    // 12.34 + 9.2046 = 21.5446 → 21.54; net sales 100.00 − 21.54.
    expect(get('store|S001|refunds')).toEqual({ numerator: 2154, denominator: null, value: 21.54 });
    expect(get('store|S001|net_sales')?.numerator).toBe(10_000 - 2154);
    expect(get('store|S001|return_amount_rate')).toEqual({ numerator: 920, denominator: 10_000, value: 0.092 });
    // With HKD as the reporting currency, the v1 refund is HKD 12.34 and the v2 one needs no rate.
    const hk = kpis(events, { reportingCurrency: 'HKD', rates: new Map([['CNY|2026-03-04', '1.1']]) });
    // 12.34 + 10.005 = 22.345 → 22.35 (half away).
    expect(hk('store|S001|refunds')?.numerator).toBe(2235);
    expect(hk('store|S001|gross_sales')?.numerator).toBe(11_000);
  });

  it('reads minor units by the digits of their currency: yen have none', () => {
    const events = [saleV2('S001', '2026-03-04T10:00:00+08:00', 'JPY', [{ quantity: 3, unit_price_minor: 100, unit_cost_minor: 70 }])];
    const get = kpis(events, { rates: new Map([['JPY|2026-03-04', '0.048']]) });
    // 300 yen × 0.048 = 14.40 CNY; cost 210 × 0.048 = 10.08.
    expect(get('store|S001|gross_sales')?.numerator).toBe(1_440);
    expect(get('store|S001|gross_profit')).toEqual({ numerator: 1_440 - 1_008, denominator: null, value: 4.32 });
    expect(get('store|S001|gross_margin_rate')).toEqual({ numerator: 432, denominator: 1_440, value: 0.3 });
  });

  it('makes every money KPI that needs a missing rate missing, and names the rates', () => {
    const rates = new Map([['HKD|2026-03-04', '0.92']]);
    const events = [
      saleV2('S001', '2026-03-04T10:00:00+08:00', 'CNY', [{ quantity: 1, unit_price_minor: 10_000, unit_cost_minor: 6_000 }]),
      // Two HKD sales without a rate (5 and 6 March), one with; none has a cost.
      saleV2('S002', '2026-03-05T10:00:00+08:00', 'HKD', [{ quantity: 1, unit_price_minor: 1_000 }]),
      saleV2('S002', '2026-03-06T10:00:00+08:00', 'HKD', [{ quantity: 1, unit_price_minor: 1_000 }]),
      saleV2('S002', '2026-03-04T10:00:00+08:00', 'HKD', [{ quantity: 1, unit_price_minor: 1_000 }]),
      refundV2('S003', '2026-03-07T10:00:00+08:00', '5.00', 'MOP'),
    ];
    const get = kpis(events, { rates });
    const missing = (...m: string[]): OracleValue => ({ numerator: null, denominator: null, value: null, missing: m });
    for (const kpi of ['gross_sales', 'net_sales', 'average_order_value', 'sales_attainment', 'return_amount_rate']) {
      expect([kpi, get(`store|S002|${kpi}`)]).toEqual([kpi, missing('HKD 2026-03-05', 'HKD 2026-03-06')]);
    }
    // The company needs every rate its rows need.
    expect(get('company|all|net_sales')).toEqual(missing('HKD 2026-03-05', 'HKD 2026-03-06', 'MOP 2026-03-07'));
    expect(get('company|all|gross_sales')).toEqual(missing('HKD 2026-03-05', 'HKD 2026-03-06'));
    expect(get('store|S003|refunds')).toEqual(missing('MOP 2026-03-07'));
    // What needs no missing rate keeps its value: counts, CNY stores, costed measures of costless sales.
    expect(get('store|S002|transactions')).toEqual({ numerator: 3, denominator: null, value: 3 });
    expect(get('store|S002|units_sold')?.value).toBe(3);
    expect(get('store|S001|net_sales')).toEqual({ numerator: 10_000, denominator: null, value: 100 });
    expect(get('company|all|gross_profit')).toEqual({ numerator: 4_000, denominator: null, value: 40 });
    expect(get('company|all|gross_margin_rate')).toEqual({ numerator: 4_000, denominator: 10_000, value: 0.4 });
  });

  it('gives today’s results for events in minor units of the reporting currency', () => {
    const events = [
      saleV2('S001', '2026-03-04T10:00:00+08:00', 'CNY', [{ quantity: 2, unit_price_minor: 1_290, discount_minor: 190, unit_cost_minor: 800 }, { quantity: 1, unit_price_minor: 5 }]),
      refundV1('S001', '2026-03-05T10:00:00+08:00', 1_000),
    ];
    const get = kpis(events);
    // Values are numerator × 0.01 as before, float for float.
    expect(get('store|S001|gross_sales')).toEqual({ numerator: 2_585, denominator: null, value: 2_585 * 0.01 });
    expect(get('store|S001|net_sales')).toEqual({ numerator: 1_395, denominator: null, value: 1_395 * 0.01 });
    expect(get('store|S001|gross_profit')).toEqual({ numerator: 2_390 - 1_600, denominator: null, value: 790 * 0.01 });
    expect(get('store|S001|refunds')).toEqual({ numerator: 1_000, denominator: null, value: 1_000 * 0.01 });
  });
});

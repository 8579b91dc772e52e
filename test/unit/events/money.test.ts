import { toMicros } from '../../../schemas/events/common.js';
import { microsPerMinor, minorToMicros, returnMoney, roundHalfAwayFromZero, roundMicrosToMinor, saleLineMoney, saleNetMicros, type LineMoney, type SaleEvent } from '../../../schemas/events/money.js';
import { RefundIssuedV1, RefundIssuedV2, ReturnReceivedV1, ReturnReceivedV2 } from '../../../schemas/events/returns.js';
import { SaleCompletedV1, SaleCompletedV2, SaleCompletedV3 } from '../../../schemas/events/sales.js';
import { envelope, sample, saleLine, saleLineV3, salePayloadV1, salePayloadV3 } from './sample-events.js';

// Amounts below are written out by hand in micros (millionths of a currency unit):
// 1 CNY = 1,000,000; 1 fen = 10,000; 1 yen = 1,000,000; 1 fils (KWD) = 1,000.

/** Every line of a sale with its money. */
function linesOf(event: SaleEvent): LineMoney[] {
  return event.payload.lines.map((line) => saleLineMoney(event, line));
}

describe('toMicros', () => {
  it.each([
    ['0', 0n],
    ['0.001', 1_000n],
    ['0.000001', 1n],
    ['12.5', 12_500_000n],
    ['12.50', 12_500_000n],
    ['12.500000', 12_500_000n],
    ['12', 12_000_000n],
    ['12.345678', 12_345_678n],
    ['1.000001', 1_000_001n],
    // 10^13 units: far beyond 2^53, exact as a BigInt.
    ['10000000000000', 10_000_000_000_000_000_000n],
    ['9999999999999.999999', 9_999_999_999_999_999_999n],
  ])('"%s" → %p micros', (text, micros) => {
    expect(toMicros(text)).toBe(micros);
  });
});

describe('minor units and micros', () => {
  it.each([
    ['CNY', 2, 10_000n],
    ['HKD', 2, 10_000n],
    ['USD', 2, 10_000n],
    ['JPY', 0, 1_000_000n],
    ['KWD', 3, 1_000n],
  ])('%s has %i minor digits: one minor unit is %p micros', (currency, _digits, micros) => {
    expect(microsPerMinor(currency)).toBe(micros);
  });

  it('converts minor units exactly', () => {
    expect(minorToMicros(1_250, 'CNY')).toBe(12_500_000n);
    expect(minorToMicros(1_250, 'JPY')).toBe(1_250_000_000n);
    expect(minorToMicros(1_250, 'KWD')).toBe(1_250_000n);
    expect(minorToMicros(0, 'CNY')).toBe(0n);
    // The largest v1 line amount, 10^15 fen, stays exact.
    expect(minorToMicros(1e15, 'CNY')).toBe(10_000_000_000_000_000_000n);
  });

  it('refuses a code that is not a currency of a country', () => {
    expect(() => microsPerMinor('XYZ')).toThrow(/XYZ/);
    expect(() => minorToMicros(1, 'XAU')).toThrow(/XAU/);
  });
});

describe('roundHalfAwayFromZero', () => {
  it.each([
    [14n, 10n, 1n],
    [15n, 10n, 2n],
    [16n, 10n, 2n],
    // A half always goes away from zero, never to even.
    [25n, 10n, 3n],
    [5n, 10n, 1n],
    [4n, 10n, 0n],
    [0n, 10n, 0n],
    [20n, 10n, 2n],
    [-14n, 10n, -1n],
    [-15n, 10n, -2n],
    [-25n, 10n, -3n],
    [-5n, 10n, -1n],
    [-4n, 10n, 0n],
    [-20n, 10n, -2n],
  ])('%p ÷ %p → %p', (value, unit, expected) => {
    expect(roundHalfAwayFromZero(value, unit)).toBe(expected);
  });

  it('rounds micros to hundredths (四舍五入)', () => {
    const hundredth = 10_000n;
    expect(roundHalfAwayFromZero(12_345_000n, hundredth)).toBe(1_235n); // 12.345 → 12.35
    expect(roundHalfAwayFromZero(12_344_999n, hundredth)).toBe(1_234n); // 12.344999 → 12.34
    expect(roundHalfAwayFromZero(-12_345_000n, hundredth)).toBe(-1_235n); // −12.345 → −12.35
    expect(roundHalfAwayFromZero(5_000n, hundredth)).toBe(1n); // 0.005 → 0.01
    expect(roundHalfAwayFromZero(4_999n, hundredth)).toBe(0n); // 0.004999 → 0.00
    expect(roundHalfAwayFromZero(-5_000n, hundredth)).toBe(-1n); // −0.005 → −0.01
  });

  it('stays exact beyond 2^53', () => {
    expect(roundHalfAwayFromZero(10_000_000_000_000_000_005_000n, 10_000n)).toBe(1_000_000_000_000_000_001n);
  });
});

describe('roundMicrosToMinor', () => {
  it('rounds to the minor unit of each currency', () => {
    expect(roundMicrosToMinor(12_345_000n, 'CNY')).toBe(1_235n); // fen
    expect(roundMicrosToMinor(12_500_000n, 'JPY')).toBe(13n); // 12.5 yen → 13
    expect(roundMicrosToMinor(12_499_999n, 'JPY')).toBe(12n);
    expect(roundMicrosToMinor(-500_000n, 'JPY')).toBe(-1n);
    expect(roundMicrosToMinor(1_234_500n, 'KWD')).toBe(1_235n); // 1.2345 KWD → 1.235 (fils)
    expect(roundMicrosToMinor(1_234_499n, 'KWD')).toBe(1_234n);
  });
});

describe('saleLineMoney', () => {
  it('reads a v1 line in minor units of the sale currency', () => {
    const event = SaleCompletedV1.parse(sample('sale.completed', 1).event);
    expect(linesOf(event)).toEqual([
      // 2 × 12.50 CNY − 2.50, cost 8.00 a unit.
      { gross: 25_000_000n, discount: 2_500_000n, net: 22_500_000n, unitPrice: 12_500_000n, unitCost: 8_000_000n, cost: 16_000_000n },
      // 1 × 5.99 CNY, no discount, no cost.
      { gross: 5_990_000n, discount: 0n, net: 5_990_000n, unitPrice: 5_990_000n, unitCost: null, cost: null },
    ]);
  });

  it('reads v2 lines like v1', () => {
    const v1 = SaleCompletedV1.parse(sample('sale.completed', 1).event);
    const v2 = SaleCompletedV2.parse(sample('sale.completed', 2).event);
    expect(linesOf(v2)).toEqual(linesOf(v1));
  });

  it('reads minor units by the digits of the currency', () => {
    const line = saleLine({ quantity: 3, unit_price_minor: 1_250, discount_minor: 50, unit_cost_minor: 1_000 });
    const yen = SaleCompletedV1.parse(envelope('sale.completed', 1, salePayloadV1({ currency: 'JPY', lines: [line] })));
    expect(linesOf(yen)).toEqual([{ gross: 3_750_000_000n, discount: 50_000_000n, net: 3_700_000_000n, unitPrice: 1_250_000_000n, unitCost: 1_000_000_000n, cost: 3_000_000_000n }]);
    const dinar = SaleCompletedV1.parse(envelope('sale.completed', 1, salePayloadV1({ currency: 'KWD', lines: [line] })));
    expect(linesOf(dinar)).toEqual([{ gross: 3_750_000n, discount: 50_000n, net: 3_700_000n, unitPrice: 1_250_000n, unitCost: 1_000_000n, cost: 3_000_000n }]);
  });

  it('reads a v3 line as decimal strings, whatever the currency', () => {
    const event = SaleCompletedV3.parse(sample('sale.completed', 3).event);
    expect(linesOf(event)).toEqual([
      // The same 2 × 12.50 − 2.50 as the v1 sample: versions agree.
      { gross: 25_000_000n, discount: 2_500_000n, net: 22_500_000n, unitPrice: 12_500_000n, unitCost: 8_000_000n, cost: 16_000_000n },
      // 1,000 × 0.001 CNY: one yuan, with no rounding of the unit price to a fen.
      { gross: 1_000_000n, discount: 0n, net: 1_000_000n, unitPrice: 1_000n, unitCost: null, cost: null },
    ]);
    const yen = SaleCompletedV3.parse(envelope('sale.completed', 3, salePayloadV3({ currency: 'JPY', lines: [saleLineV3({ quantity: 1, unit_price: '0.5', discount: '0' })] })));
    expect(linesOf(yen)[0]?.net).toBe(500_000n);
  });

  it('rounds nothing per line', () => {
    const lines = [1, 2, 3].map((n) => saleLineV3({ line_no: n, quantity: 1, unit_price: '0.004', discount: '0', unit_cost: '0.003333' }));
    const event = SaleCompletedV3.parse(envelope('sale.completed', 3, salePayloadV3({ lines })));
    for (const line of linesOf(event)) expect(line).toMatchObject({ net: 4_000n, cost: 3_333n });
    // 3 × 0.004 = 0.012 CNY, rounded once: 0.01. Rounding each line first would give 0.00.
    expect(saleNetMicros(event)).toBe(12_000n);
    expect(roundMicrosToMinor(saleNetMicros(event), 'CNY')).toBe(1n);
  });

  it('keeps a unit price of millionths exact across a large quantity', () => {
    const event = SaleCompletedV3.parse(envelope('sale.completed', 3, salePayloadV3({ lines: [saleLineV3({ quantity: 3, unit_price: '0.333333', discount: '0.000001' })] })));
    expect(linesOf(event)).toEqual([{ gross: 999_999n, discount: 1n, net: 999_998n, unitPrice: 333_333n, unitCost: 8_000_000n, cost: 24_000_000n }]);
  });
});

describe('saleNetMicros', () => {
  it('sums the net of every line', () => {
    expect(saleNetMicros(SaleCompletedV1.parse(sample('sale.completed', 1).event))).toBe(28_490_000n);
    expect(saleNetMicros(SaleCompletedV3.parse(sample('sale.completed', 3).event))).toBe(23_500_000n);
  });
});

describe('returnMoney', () => {
  it('counts a v1 return or refund in minor units of the reporting currency, naming no currency', () => {
    const received = ReturnReceivedV1.parse(sample('return.received', 1).event);
    expect(returnMoney(received, 'CNY')).toEqual({ currency: null, micros: 11_250_000n });
    const refund = RefundIssuedV1.parse(sample('refund.issued', 1).event);
    expect(returnMoney(refund, 'CNY')).toEqual({ currency: null, micros: 11_250_000n });
    // The same 1,125 minor units are yen or fils when the reporting currency says so.
    expect(returnMoney(refund, 'JPY')).toEqual({ currency: null, micros: 1_125_000_000n });
    expect(returnMoney(refund, 'KWD')).toEqual({ currency: null, micros: 1_125_000n });
  });

  it('reads a v2 return or refund as its decimal amount in its own currency', () => {
    const received = ReturnReceivedV2.parse(sample('return.received', 2).event);
    expect(returnMoney(received, 'CNY')).toEqual({ currency: 'CNY', micros: 500_000n });
    const refund = RefundIssuedV2.parse(sample('refund.issued', 2).event);
    // The reporting currency does not change a v2 amount.
    expect(returnMoney(refund, 'CNY')).toEqual({ currency: 'HKD', micros: 88_800_000n });
    expect(returnMoney(refund, 'JPY')).toEqual({ currency: 'HKD', micros: 88_800_000n });
  });
});

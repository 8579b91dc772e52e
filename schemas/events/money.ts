import { AMOUNT_DECIMALS, toMicros } from './common.js';
import { minorDigits } from './currencies.js';
import type { ReturnReceivedV1, ReturnReceivedV2, RefundIssuedV1, RefundIssuedV2 } from './returns.js';
import type { SaleCompletedV1, SaleCompletedV2, SaleCompletedV3 } from './sales.js';

/**
 * The money of an event, exactly, whatever version carried it: amounts in millionths of the
 * currency unit ("micros") as BigInt. A first-version amount in minor units becomes micros
 * by appending zeros (1 fen = 10,000 micros; 1 yen = 1,000,000), so versions mix in one sum
 * without a rounding. Pure.
 */

export type SaleEvent = SaleCompletedV1 | SaleCompletedV2 | SaleCompletedV3;
type SaleLineOf<E extends SaleEvent> = E['payload']['lines'][number];

/** Micros in one minor unit of the currency: 10^(6 − digits). */
export function microsPerMinor(currency: string): bigint {
  return 10n ** BigInt(AMOUNT_DECIMALS - minorDigits(currency));
}

/** Minor units → micros, exactly. */
export function minorToMicros(minor: number, currency: string): bigint {
  return BigInt(minor) * microsPerMinor(currency);
}

/**
 * Micros → whole minor units of the currency, rounded half away from zero (四舍五入, the
 * rule of Chinese invoices and most tills): the one rounding rule of the pipeline.
 */
export function roundMicrosToMinor(micros: bigint, currency: string): bigint {
  return roundHalfAwayFromZero(micros, microsPerMinor(currency));
}

/** `value ÷ unit` to a whole number, a half rounded away from zero. */
export function roundHalfAwayFromZero(value: bigint, unit: bigint): bigint {
  const half = unit / 2n;
  return value >= 0n ? (value + half) / unit : -((-value + half) / unit);
}

export interface LineMoney {
  /** quantity × unit price */
  gross: bigint;
  discount: bigint;
  /** gross − discount */
  net: bigint;
  unitPrice: bigint;
  /** Cost of one unit, when known. */
  unitCost: bigint | null;
  /** quantity × unit cost, when known. */
  cost: bigint | null;
}

/** One line's amounts in micros of the sale's currency. */
export function saleLineMoney(event: SaleEvent, line: SaleLineOf<SaleEvent>): LineMoney {
  const q = BigInt(line.quantity);
  if ('unit_price' in line) {
    const unitPrice = toMicros(line.unit_price);
    const discount = toMicros(line.discount);
    const unitCost = line.unit_cost === undefined ? null : toMicros(line.unit_cost);
    return { gross: q * unitPrice, discount, net: q * unitPrice - discount, unitPrice, unitCost, cost: unitCost === null ? null : q * unitCost };
  }
  const c = event.payload.currency;
  const unitPrice = minorToMicros(line.unit_price_minor, c);
  const discount = minorToMicros(line.discount_minor, c);
  const unitCost = line.unit_cost_minor === undefined ? null : minorToMicros(line.unit_cost_minor, c);
  return { gross: q * unitPrice, discount, net: q * unitPrice - discount, unitPrice, unitCost, cost: unitCost === null ? null : q * unitCost };
}

/** A sale's net amount (Σ lines) in micros of its currency. */
export function saleNetMicros(event: SaleEvent): bigint {
  let net = 0n;
  for (const line of event.payload.lines) net += saleLineMoney(event, line).net;
  return net;
}

export type ReturnMoneyEvent = ReturnReceivedV1 | ReturnReceivedV2 | RefundIssuedV1 | RefundIssuedV2;

/**
 * The amount of a goods return or refund in micros, and its currency; a first version names
 * none and counts in the reporting currency (`currency` null).
 */
export function returnMoney(event: ReturnMoneyEvent, reportingCurrency: string): { currency: string | null; micros: bigint } {
  const p = event.payload;
  if ('amount' in p) return { currency: p.currency, micros: toMicros(p.amount) };
  return { currency: null, micros: minorToMicros(p.amount_minor, reportingCurrency) };
}

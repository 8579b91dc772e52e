import currencyCodes from 'currency-codes';

/**
 * The tests' own money arithmetic, written apart from the pipeline's (schemas/events/money.ts
 * and the SQL compiler) so that an expectation never repeats the code it checks: decimal
 * strings read into scaled BigInts, minor units into micros by the ISO digits that the
 * currency-codes package lists, and the one rounding rule (half away from zero).
 */

/** Decimals of an amount in micros: millionths of a currency unit. */
export const MICRO_DECIMALS = 6;

/** Decimals of a rate scaled to an integer: 10^-10 of the reporting currency per unit. */
export const RATE_DECIMALS = 10;

/** Digits of the currency's minor unit, as ISO 4217 lists them (2 for CNY, 0 for JPY, 3 for KWD). */
export function isoDigits(currency: string): number {
  const record = currencyCodes.code(currency);
  if (!record) throw new Error(`the oracle knows no currency ${currency}`);
  return record.digits;
}

/**
 * A non-negative decimal string as an integer count of 10^-decimals: `("0.015", 6)` →
 * 15000n. Refuses anything but digits with an optional point, and more decimals than asked.
 */
export function scaledDecimal(text: string, decimals: number): bigint {
  const match = /^([0-9]+)(?:\.([0-9]+))?$/.exec(text);
  if (!match) throw new Error(`not a decimal amount: ${JSON.stringify(text)}`);
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  if (fraction.length > decimals) throw new Error(`${text} has more than ${decimals} decimals`);
  return BigInt(whole) * 10n ** BigInt(decimals) + (fraction === '' ? 0n : BigInt(fraction) * 10n ** BigInt(decimals - fraction.length));
}

/** A decimal amount in micros of its currency. */
export function decimalMicros(text: string): bigint {
  return scaledDecimal(text, MICRO_DECIMALS);
}

/** Minor units of a currency in micros: 1 fen = 10,000 micros, 1 yen = 1,000,000. */
export function minorMicros(minor: number, currency: string): bigint {
  return BigInt(minor) * 10n ** BigInt(MICRO_DECIMALS - isoDigits(currency));
}

/** `value / unit` to a whole number, an exact half going away from zero. */
export function divideRoundingHalfAway(value: bigint, unit: bigint): bigint {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  let quotient = magnitude / unit;
  if ((magnitude % unit) * 2n >= unit) quotient += 1n;
  return negative ? -quotient : quotient;
}

import currencyCodes from 'currency-codes';

/**
 * ISO 4217 currencies, from the `currency-codes` package (the ISO list with each code's
 * minor-unit digits). The one place that package is read.
 *
 * Only currencies of countries count: codes for precious metals, testing and "no currency"
 * (XAU, XTS, XXX, …, listed by ISO without a country) and funds (FUNDS) are not money a sale
 * is paid in.
 */

/**
 * Codes ISO 4217 lists as funds or units of account (its IsFund mark, which the package does
 * not carry): not money a sale is paid in, although they name a country.
 */
const FUNDS = new Set(['BOV', 'CHE', 'CHW', 'CLF', 'COU', 'MXV', 'USN', 'UYI', 'UYW', 'XDR', 'XSU', 'XUA']);

const KNOWN = new Map<string, number>(
  currencyCodes
    .data.filter((c) => c.countries.length > 0 && !c.countries.every((country) => country.startsWith('Zz')) && !FUNDS.has(c.code))
    .map((c) => [c.code, c.digits]),
);

/** True for an ISO 4217 code of a country's currency, such as CNY, HKD or MOP. */
export function isCurrency(code: string): boolean {
  return KNOWN.has(code);
}

/** Digits of the currency's minor unit: 2 for CNY (fen), 0 for JPY, 3 for KWD. */
export function minorDigits(code: string): number {
  const digits = KNOWN.get(code);
  if (digits === undefined) throw new RangeError(`unknown ISO 4217 currency ${code}`);
  return digits;
}

/** Every known currency whose minor unit is not a hundredth, with its digits. */
export function currenciesNotInHundredths(): { code: string; digits: number }[] {
  return [...KNOWN].filter(([, digits]) => digits !== 2).map(([code, digits]) => ({ code, digits })).sort((a, b) => a.code.localeCompare(b.code));
}

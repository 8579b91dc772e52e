import { parseImportCsv, validateImport, validateRates } from '../../../services/periods/imports.js';
import { UsageError } from '../../../services/shared/errors.js';

const calendar = { timeZone: 'Asia/Shanghai', fiscalYearStartMonth: 1 };
const problems = (run: () => unknown): string => {
  try {
    run();
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  return '';
};

describe('targets and inputs imports', () => {
  it('accepts good rows, canonical periods and values from numerator ÷ denominator', () => {
    const targets = parseImportCsv('targets', 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q3,store,S001,1250000\nnet_sales,month,2026-07,company,all,9000000.5\n', calendar);
    expect(targets).toEqual([
      { kpi: 'net_sales', grain: 'quarter', period: '2026-Q3', level: 'store', unit: 'S001', value: 1250000, numerator: null, denominator: null },
      { kpi: 'net_sales', grain: 'month', period: '2026-07', level: 'company', unit: 'all', value: 9000000.5, numerator: null, denominator: null },
    ]);
    const inputs = validateImport('inputs', [{ kpi: 'staff_turnover_rate', grain: 'quarter', period: '2026-Q3', level: 'store', unit: 'S001', numerator: '1', denominator: '40' }], calendar);
    expect(inputs[0]).toMatchObject({ value: 0.025, numerator: 1, denominator: 40 });
  });

  it('names every bad row by line and stores nothing', () => {
    const csv = [
      'kpi,grain,period,level,unit,value',
      'net_sales,quarter,2026-Q3,store,S001,100',
      'net_sales,quarter,2026-Q5,store,S002,100',
      'net_sales,month,2026-07,store,S003,-5',
      'revenue,month,2026-07,store,S004,5',
      "net_sales,month,2026-07,store,S0'; DROP TABLE x,5",
      'net_sales,month,2026-07,company,S001,5',
      'net_sales,quarter,2026-Q3,store,S001,200',
      'net_sales,fortnight,2026-07,store,S005,5',
    ].join('\n');
    const text = problems(() => parseImportCsv('targets', csv, calendar));
    expect(text).toMatch(/^targets import refused, nothing stored \(7 problems\)/);
    expect(text).toContain('line 3: period: invalid quarter period "2026-Q5"');
    expect(text).toContain('line 4: value: a target must be above 0');
    expect(text).toMatch(/line 5: kpi: /);
    expect(text).toContain('line 6: unit: expected a unit id');
    expect(text).toContain('line 7: unit: the company unit is "all"');
    expect(text).toContain('line 8: the same KPI, period and unit as line 2');
    expect(text).toMatch(/line 9: grain: /);
  });

  it('refuses inputs without a value, with half a fraction, or with a value that is not the fraction', () => {
    const base = { kpi: 'account_accuracy', grain: 'month', period: '2026-07', level: 'store', unit: 'S001' };
    expect(problems(() => validateImport('inputs', [base], calendar))).toContain('give a value, or a numerator and a denominator');
    expect(problems(() => validateImport('inputs', [{ ...base, numerator: 3 }], calendar))).toContain('numerator and denominator go together');
    expect(problems(() => validateImport('inputs', [{ ...base, numerator: 3, denominator: 0 }], calendar))).toContain('the denominator must not be 0');
    expect(problems(() => validateImport('inputs', [{ ...base, value: 0.5, numerator: 1, denominator: 4 }], calendar))).toContain('0.5 is not numerator ÷ denominator (0.25)');
    expect(problems(() => validateImport('inputs', [{ ...base, kpi: 'net_sales', value: 1 }], calendar))).toMatch(/line 1: kpi: /);
  });

  it('refuses unknown columns, unreadable CSV and empty files', () => {
    expect(problems(() => parseImportCsv('targets', 'kpi,grain,period,level,unit,value,colour\nnet_sales,month,2026-07,store,S001,1,red\n', calendar))).toContain('unknown column colour');
    expect(problems(() => parseImportCsv('targets', 'kpi,grain\n"unterminated,month\n', calendar))).toMatch(/not readable as CSV/);
    expect(problems(() => parseImportCsv('targets', 'kpi,grain,period,level,unit,value\n', calendar))).toContain('no targets rows to import');
  });
});

describe('numbers in imports are read strictly', () => {
  const target = { kpi: 'net_sales', grain: 'month', period: '2026-07', level: 'store', unit: 'S001' };
  const input = { kpi: 'account_accuracy', grain: 'month', period: '2026-07', level: 'store', unit: 'S001' };

  it.each([
    [null, 'expected a number, got null'],
    [' ', 'expected a number, got a blank string'],
    ['', 'expected a number, got an empty string'],
    [[], 'expected a number, got an array'],
    [false, 'expected a number, got false'],
    [true, 'expected a number, got true'],
    [{}, 'expected a number, got an object'],
    ['0x10', 'expected a number, got "0x10"'],
    ['Infinity', 'expected a number, got "Infinity"'],
    ['NaN', 'expected a number, got "NaN"'],
    ['1_000', 'expected a number, got "1_000"'],
    ['1e309', 'expected a finite number, got "1e309" (too large)'],
  ])('refuses a JSON target value %j: %s', (value, message) => {
    const text = problems(() => validateImport('targets', [{ ...target, value }], calendar));
    expect(text).toMatch(/^targets import refused, nothing stored \(1 problem\)/);
    expect(text).toContain(`line 1: value: ${message}`);
  });

  it('refuses the same forms in inputs: null is not "no value", and an empty field is not 0', () => {
    expect(problems(() => validateImport('inputs', [{ ...input, value: null }], calendar))).toContain('line 1: value: expected a number, got null (leave the field out when there is no value)');
    expect(problems(() => validateImport('inputs', [{ ...input, numerator: true, denominator: 4 }], calendar))).toContain('line 1: numerator: expected a number, got true');
    expect(problems(() => validateImport('inputs', [{ ...input, numerator: 1, denominator: [] }], calendar))).toContain('line 1: denominator: expected a number, got an array');
    expect(problems(() => validateImport('inputs', [{ ...input, value: ' ' }], calendar))).toContain('line 1: value: expected a number, got a blank string');
  });

  it('refuses hex, Infinity and 1_000 in CSV, naming the line', () => {
    const csv = ['kpi,grain,period,level,unit,value', 'net_sales,month,2026-07,store,S001,0x10', 'net_sales,month,2026-07,store,S002,Infinity', 'net_sales,month,2026-07,store,S003,1_000'].join('\n');
    const text = problems(() => parseImportCsv('targets', csv, calendar));
    expect(text).toContain('line 2: value: expected a number, got "0x10"');
    expect(text).toContain('line 3: value: expected a number, got "Infinity"');
    expect(text).toContain('line 4: value: expected a number, got "1_000"');
  });

  it('refuses a value from numerator ÷ denominator that is not finite, given or derived', () => {
    const derived = problems(() => parseImportCsv('inputs', 'kpi,grain,period,level,unit,value,numerator,denominator\naccount_accuracy,month,2026-07,store,S001,,1e308,1e-308\n', calendar));
    expect(derived).toContain('line 2: value: numerator ÷ denominator is not a finite number');
    const given = problems(() => validateImport('inputs', [{ ...input, value: 1, numerator: 1e308, denominator: 1e-308 }], calendar));
    expect(given).toContain('line 1: value: numerator ÷ denominator is not a finite number');
  });

  it('accepts decimal forms: 1e3, -0.5, .5, 12. and an empty CSV cell as no value', () => {
    const csv = 'kpi,grain,period,level,unit,value\nnet_sales,month,2026-07,store,S001,1e3\nnet_sales,month,2026-07,store,S002,.5\nnet_sales,month,2026-07,store,S003,12.\n';
    expect(parseImportCsv('targets', csv, calendar).map((r) => r.value)).toEqual([1000, 0.5, 12]);
    const inputs = parseImportCsv('inputs', 'kpi,grain,period,level,unit,value,numerator,denominator\naccount_accuracy,month,2026-07,store,S001,-0.5,,\naccount_accuracy,month,2026-07,store,S002,,3,12.\n', calendar);
    expect(inputs).toEqual([
      { ...input, unit: 'S001', value: -0.5, numerator: null, denominator: null },
      { ...input, unit: 'S002', value: 0.25, numerator: 3, denominator: 12 },
    ]);
  });
});

describe('exchange rate imports', () => {
  const business = { ...calendar, reportingCurrency: 'CNY' };

  it('keeps rates exactly as written, into the reporting currency unless the file names another', () => {
    const rates = parseImportCsv('rates', 'day,currency,rate,to\n2026-05-04,HKD,0.9213456789,\n2026-05-04,MOP,0.8944,CNY\n', business);
    expect(rates).toEqual([
      { day: '2026-05-04', currency: 'HKD', to_currency: 'CNY', rate: '0.9213456789' },
      { day: '2026-05-04', currency: 'MOP', to_currency: 'CNY', rate: '0.8944' },
    ]);
    // A file made for another reporting currency would never be read: refused by name.
    expect(problems(() => parseImportCsv('rates', 'day,currency,rate,to\n2026-05-04,USD,7.1,HKD\n', business))).toContain('line 2: to: rates convert into the reporting currency CNY, not HKD');
    // Funds and units of account are not money a sale is paid in.
    expect(problems(() => parseImportCsv('rates', 'day,currency,rate\n2026-05-04,XDR,9.5\n2026-05-04,CLF,280\n', business))).toMatch(/line 2: currency: XDR is not an ISO 4217 currency code[\s\S]*line 3: currency: CLF is not/);
    // JSON rows may give the rate as a number; it is read as its decimal text.
    expect(validateRates([{ day: '2026-05-05', currency: 'HKD', rate: 0.92 }], 'CNY')).toEqual([{ day: '2026-05-05', currency: 'HKD', to_currency: 'CNY', rate: '0.92' }]);
  });

  it('refuses a whole file for one bad row, naming every problem by line', () => {
    const csv = [
      'day,currency,rate',
      '2026-02-30,HKD,0.92', // no such day
      '2026-05-04,XYZ,0.92', // not a currency
      '2026-05-04,HKD,1e-1', // exponent
      '2026-05-04,HKD,0', // not above 0
      '2026-05-04,HKD,0.12345678901', // eleven decimals
      '2026-05-04,CNY,1', // itself
      '2026-05-05,HKD,0.92',
      '2026-05-05,HKD,0.93', // the same day twice
      '2026-05-06,HKD,-0.9',
    ].join('\n');
    const message = problems(() => parseImportCsv('rates', csv, business));
    expect(message).toMatch(/^rates import refused, nothing stored \(8 problems\)/);
    expect(message).toContain('line 2: day: not a real calendar day');
    expect(message).toContain('line 3: currency: XYZ is not an ISO 4217 currency code');
    expect(message).toMatch(/line 4: rate: expected a decimal rate/);
    expect(message).toContain('line 5: rate: a rate must be above 0');
    expect(message).toMatch(/line 6: rate: expected a decimal rate/);
    expect(message).toContain('line 7: currency: CNY converts into itself');
    expect(message).toContain('line 9: the same day and currencies as line 8');
    expect(message).toMatch(/line 10: rate: expected a decimal rate/);
    expect(problems(() => parseImportCsv('rates', 'day,currency,price\n2026-05-04,HKD,1\n', business))).toMatch(/unknown column price; a rates file has day, currency, rate, to/);
    expect(problems(() => parseImportCsv('rates', 'day,currency,rate\n', business))).toBe('no rates rows to import');
  });
});

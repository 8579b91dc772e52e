import { parseImportCsv, validateImport } from '../../../services/periods/imports.js';
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

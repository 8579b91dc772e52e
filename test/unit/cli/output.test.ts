import { UsageError } from '../../../services/shared/errors.js';
import { parseParams } from '../../../services/cli/commands/sql.js';
import { displayWidth, formatMs, renderTable } from '../../../services/cli/output.js';

describe('parseParams', () => {
  it('reads name=value pairs, keeping = and quotes in values', () => {
    expect(parseParams(['store=S-01', "note=a=b'; DROP TABLE x"])).toEqual({ store: 'S-01', note: "a=b'; DROP TABLE x" });
  });

  it.each(['novalue', '=x', '1a=x', 'a-b=x'])('rejects %j', (pair) => {
    expect(() => parseParams([pair])).toThrow(UsageError);
  });
});

describe('renderTable', () => {
  it('aligns columns and counts rows', () => {
    const text = renderTable([
      { kpi: 'net_sales', value: 12.5 },
      { kpi: 'csat', value: null },
    ]);
    expect(text.split('\n')).toEqual(['kpi        value', '---------  -----', 'net_sales  12.5', 'csat       NULL', '(2 rows)']);
  });

  it('aligns Chinese labels by the two columns each character takes', () => {
    const text = renderTable([
      { 单位: 'S001', 等级: 'A' },
      { 单位: '华东区', 等级: 'B' },
    ]);
    expect(text.split('\n').slice(0, 4)).toEqual(['单位    等级', '------  ----', 'S001    A', '华东区  B']);
    expect(displayWidth('客户满意度 csat')).toBe(15);
  });

  it('prints the column names even without rows', () => {
    expect(renderTable([], ['a', 'b']).split('\n')[0]).toBe('a  b');
  });
});

describe('formatMs', () => {
  it.each([
    [12, '12 ms'],
    [1_500, '1.5 s'],
    [125_000, '2 min 05 s'],
  ])('%i ms reads %s', (ms, text) => {
    expect(formatMs(ms)).toBe(text);
  });
});

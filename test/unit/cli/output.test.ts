import { UsageError } from '../../../services/shared/errors.js';
import { parseParams } from '../../../services/cli/commands/sql.js';
import { formatMs, renderTable } from '../../../services/cli/output.js';

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

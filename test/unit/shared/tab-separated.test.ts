import { tabSeparated } from '../../../services/shared/tab-separated.js';

// ClickHouse's TabSeparated rules, stated by example: \N is NULL, and a backslash, tab, line
// feed, carriage return or NUL inside a string is written as a backslash sequence.

describe('tabSeparated', () => {
  it('writes one line per row, the columns in the order given, missing and null as \\N', () => {
    const rows = [
      { b: 2, a: 'x', c: true },
      { a: 'y', c: false, b: null },
    ];
    expect(tabSeparated(rows, ['a', 'b', 'c', 'd'])).toBe('x\t2\ttrue\t\\N\ny\t\\N\tfalse\t\\N\n');
  });

  it('escapes what would end a field or a row, and the escape character itself', () => {
    expect(tabSeparated([{ s: 'a\tb\nc\rd\\e\u0000f' }], ['s'])).toBe('a\\tb\\nc\\rd\\\\e\\0f\n');
    // The text "\N" is a string, not NULL.
    expect(tabSeparated([{ s: '\\N' }], ['s'])).toBe('\\\\N\n');
    expect(tabSeparated([{ s: '中文 ‮ 😀' }], ['s'])).toBe('中文 ‮ 😀\n');
  });

  it('writes numbers and bigints as decimal text', () => {
    expect(tabSeparated([{ n: -12, f: 0.5, big: 10n ** 30n }], ['n', 'f', 'big'])).toBe('-12\t0.5\t1000000000000000000000000000000\n');
  });

  it('writes nothing for no rows', () => {
    expect(tabSeparated([], ['a'])).toBe('');
  });

  it('refuses what has no TabSeparated form', () => {
    expect(() => tabSeparated([{ n: Number.NaN }], ['n'])).toThrow('finite');
    expect(() => tabSeparated([{ o: { a: 1 } }], ['o'])).toThrow('object');
  });
});

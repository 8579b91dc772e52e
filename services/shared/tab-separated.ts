/**
 * Rows as ClickHouse's TabSeparated text: one line per row, the columns in the order given,
 * `\N` for NULL (or a missing value), booleans as `true`/`false`, numbers and bigints as
 * decimal text, strings with backslash, tab, line feed, carriage return and NUL escaped —
 * so any string, hostile or not, is read back exactly. Pure and dependency-free: it runs on
 * ingest's decoding threads.
 *
 * The engine parses this several times faster than JSONEachRow (no key per value, no JSON
 * string rules), and a missing column means NULL rather than the column's default, so the
 * columns named must be ones whose default is NULL or that every row fills.
 */
export function tabSeparated(rows: readonly Readonly<Record<string, unknown>>[], columns: readonly string[]): string {
  const lines: string[] = new Array<string>(rows.length);
  for (let r = 0; r < rows.length; r += 1) {
    const row = rows[r] as Readonly<Record<string, unknown>>;
    let line = '';
    for (let c = 0; c < columns.length; c += 1) {
      if (c > 0) line += '\t';
      line += field(row[columns[c] as string]);
    }
    lines[r] = line;
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };
const NEEDS_ESCAPE = /[\\\t\n\r\0]/;

function field(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  switch (typeof value) {
    case 'string':
      return NEEDS_ESCAPE.test(value) ? value.replace(/[\\\t\n\r\0]/g, (c) => ESCAPES[c] as string) : value;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`a TabSeparated number must be finite, not ${value}`);
      return String(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      throw new TypeError(`a TabSeparated field must be a string, number, bigint, boolean or null, not ${typeof value}`);
  }
}

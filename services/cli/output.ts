/** Columns a terminal gives the text: Chinese, Japanese and Korean characters and fullwidth forms take two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(ch) ? 2 : 1;
  return width;
}

/** Renders rows as an aligned text table; values are shown as JSON scalars would read. */
export function renderTable(rows: Record<string, unknown>[], columns?: string[]): string {
  const cols = columns ?? Object.keys(rows[0] ?? {});
  if (cols.length === 0) return '(no rows)';
  const cell = (v: unknown): string => (v === null || v === undefined ? 'NULL' : typeof v === 'string' ? v : JSON.stringify(v));
  const cells = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.min(60, Math.max(displayWidth(c), ...cells.map((row) => displayWidth(row[i] ?? '')))));
  const fit = (text: string, width: number): string => {
    if (displayWidth(text) <= width) return text + ' '.repeat(width - displayWidth(text));
    let out = '';
    for (const ch of text) {
      if (displayWidth(out + ch) > width - 1) break;
      out += ch;
    }
    return `${out}…${' '.repeat(Math.max(0, width - 1 - displayWidth(out)))}`;
  };
  const line = (values: string[]): string => values.map((v, i) => fit(v, widths[i] ?? v.length)).join('  ').trimEnd();
  const out = [line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out.join('\n');
}

/** Human-readable duration: 850 ms, 12.3 s, 4 min 05 s. */
export function formatMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${String(Math.round((ms % 60_000) / 1_000)).padStart(2, '0')} s`;
}

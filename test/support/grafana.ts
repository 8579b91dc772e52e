/**
 * What Grafana and its ClickHouse plugin do to a query before ClickHouse sees it, for tests
 * that run every panel's SQL without a Grafana: variables are interpolated by Grafana's
 * template rules, then the plugin expands its macros. F and T are the dashboard's time range
 * in Unix seconds.
 *
 * - `$__conditionalAll(cond, $v)`: `1=1` when `v` is All, else `cond`;
 * - `${v:sqlstring}`: each value quoted, quotes doubled, joined with commas;
 * - `${v}` / `$v`: a multi-value (or All) variable as `'a','b'`, a single value pasted raw;
 * - `$__timeFilter(c)` → `c >= toDateTime(F) AND c <= toDateTime(T)`;
 *   `$__fromTime`/`$__toTime` → `toDateTime(F)`/`toDateTime(T)`;
 *   `$__timeInterval(c)` → `toStartOfInterval(toDateTime(c), INTERVAL N second)`.
 */

export interface VariableValue {
  values: string[];
  /** All is selected: `$__conditionalAll` drops its condition. */
  all: boolean;
  multi: boolean;
}

export interface TimeRange {
  from: number;
  to: number;
  intervalSeconds: number;
}

const quote = (v: string): string => `'${v.replace(/'/g, "''")}'`;

/** The arguments of a macro call starting at `open` (the index of its `(`), and the index after its `)`. */
function macroArguments(text: string, open: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  let inString = false;
  for (let i = open; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === "'") inString = false;
      continue;
    }
    if (c === "'") inString = true;
    else if (c === '(') depth += 1;
    else if (c === ')') {
      depth -= 1;
      if (depth === 0) {
        args.push(text.slice(start, i).trim());
        return { args, end: i + 1 };
      }
    } else if (c === ',' && depth === 1) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  throw new Error(`unbalanced macro call at ${open}: ${text.slice(open - 20, open + 40)}`);
}

/** Replaces every call of `name(…)` with what `expand` makes of its arguments. */
function replaceCalls(text: string, name: string, expand: (args: string[]) => string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const found = text.indexOf(`${name}(`, at);
    if (found < 0) return out + text.slice(at);
    const { args, end } = macroArguments(text, found + name.length);
    out += text.slice(at, found) + expand(args);
    at = end;
  }
}

function variableOf(vars: ReadonlyMap<string, VariableValue>, name: string): VariableValue {
  const v = vars.get(name);
  if (!v) throw new Error(`the query uses $${name}, which the dashboard does not define`);
  return v;
}

/** Grafana's interpolation of the dashboard's variables. */
export function interpolateVariables(sql: string, vars: ReadonlyMap<string, VariableValue>): string {
  const conditional = replaceCalls(sql, '$__conditionalAll', ([condition, variable]) => {
    const name = /^\$\{?(\w+)\}?$/.exec(variable ?? '')?.[1];
    if (!name || condition === undefined) throw new Error(`$__conditionalAll needs (condition, $variable): ${sql}`);
    return variableOf(vars, name).all ? '1=1' : condition;
  });
  return conditional.replace(/\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g, (whole, braced: string | undefined, format: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    if (name.startsWith('__')) return whole;
    const v = variableOf(vars, name);
    if (format === 'sqlstring' || v.multi || v.all) return v.values.map(quote).join(',');
    if (format !== undefined) throw new Error(`format :${format} of $${name} is not one the dashboards use`);
    return v.values[0] ?? '';
  });
}

/** The ClickHouse plugin's macros. */
export function expandMacros(sql: string, range: TimeRange): string {
  if (/\$__time(From|Group)\b/.test(sql)) throw new Error(`$__timeFrom and $__timeGroup are not used: ${sql}`);
  let out = replaceCalls(sql, '$__timeFilter', ([column]) => `${column ?? ''} >= toDateTime(${range.from}) AND ${column ?? ''} <= toDateTime(${range.to})`);
  out = replaceCalls(out, '$__timeInterval', ([column]) => `toStartOfInterval(toDateTime(${column ?? ''}), INTERVAL ${range.intervalSeconds} second)`);
  out = out.replace(/\$__fromTime\b/g, `toDateTime(${range.from})`).replace(/\$__toTime\b/g, `toDateTime(${range.to})`);
  if (out.includes('$')) throw new Error(`something is left unexpanded: ${out}`);
  return out;
}

/** Both steps, in Grafana's order. */
export function grafanaSql(sql: string, vars: ReadonlyMap<string, VariableValue>, range: TimeRange): string {
  return expandMacros(interpolateVariables(sql, vars), range);
}

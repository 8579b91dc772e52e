import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from './clickhouse.js';
import type { QueryLimits } from './config.js';
import { ForbiddenError, KpiError, UsageError } from './errors.js';

/**
 * The SQL door: decides whether one statement from outside (an analyst, Grafana, the CLI,
 * another kpi process) may run on the shared engine, and gives back the text to run.
 *
 * Nothing here reads SQL with patterns of our own. ClickHouse's formatter proves the text
 * is exactly one statement and prints it canonically; `EXPLAIN AST` of that canonical text
 * gives the engine's own parse tree, which is what is checked. The canonical text is also
 * what runs, so what was checked is what runs. A few clauses the tree hides (SETTINGS
 * values, the source table of `CREATE TABLE … AS`) are checked on the canonical text's
 * tokens as well.
 */

export type { QueryLimits };

export type StatementAccess = 'read' | 'write';

export interface CheckedStatement {
  /** What the statement does, e.g. SELECT, SHOW, DESCRIBE, EXISTS, INSERT, ALTER. */
  kind: string;
  /**
   * What to run: ClickHouse's single-line formatting of the statement, without its FORMAT
   * clause; for reads with the door's SETTINGS appended. An INSERT's rows are never part of
   * it: they travel beside the statement, as a request body does.
   */
  sql: string;
  /** The statement's own FORMAT clause, if any (e.g. 'JSON'), so the caller can ask for it. */
  format: string | undefined;
  /** For an INSERT whose rows travel beside it: their format (e.g. 'JSONEachRow'); the statement keeps its FORMAT clause. */
  rowsFormat?: string;
}

/**
 * Documented tables of the pipeline's database that read-only SQL may name: every table
 * the migrations create, except the credential tables (principals, tokens). The same list
 * as the reader role's grants in infra/clickhouse/access.sql, so both doors agree.
 */
export const READABLE_TABLES: readonly string[] = Object.freeze([
  'ingest_progress',
  'dead_letters',
  'sale_lines',
  'order_events',
  'return_events',
  'ticket_events',
  'order_state',
  'ticket_state',
  'kpi_targets',
  'kpi_inputs',
  'fx_rates',
  'imports',
  'kpi_values',
  'period_revisions',
  'period_audit',
  'restatements',
  'scorecards',
  'scorecard_lines',
  'arrivals',
  'customer_first_purchases',
  'kpi_day_partials',
  'kpi_partial_days',
  'kpi_catalog',
  'v_periods',
  'v_kpi_values',
  'v_scorecards',
  'v_scorecard_lines',
  'v_restatements',
  'v_events_by_family',
]);

/** System tables a read may name: row generators and the catalog, never settings, users or logs. */
export const READABLE_SYSTEM_TABLES: readonly string[] = Object.freeze([
  'one',
  'numbers',
  'numbers_mt',
  'zeros',
  'zeros_mt',
  'tables',
  'columns',
  'databases',
  'functions',
  'table_functions',
  'data_type_families',
  'formats',
  'time_zones',
  'settings',
]);

/** The database the pipeline's tables live in by default; the session's current one is accepted too. */
const PIPELINE_DATABASE = 'kpi';

/** Tables that hold credentials: no statement, read or write, may name them. */
const SECRET_TABLES: ReadonlySet<string> = new Set(['principals', 'tokens']);

/** The longest statement the door reads, in bytes of UTF-8 (the engine's parser stops at 256 KiB anyway). */
const MAX_STATEMENT_BYTES = 1024 * 1024;

/** The longest engine sentence handed back to the caller, in characters. */
const MAX_REASON_CHARS = 300;

/** Table functions a read may call: they make rows from their arguments alone. */
const READABLE_TABLE_FUNCTIONS: ReadonlySet<string> = new Set([
  'numbers',
  'numbers_mt',
  'zeros',
  'zeros_mt',
  'values',
  'sqlstandardvalues',
  'generateseries',
  'generate_series',
  'null',
  'view',
]);

const READ_KINDS = ['SELECT', 'SHOW', 'DESCRIBE', 'EXISTS'];
const WRITE_KINDS = [...READ_KINDS, 'INSERT', 'ALTER', 'CREATE', 'DROP', 'TRUNCATE', 'OPTIMIZE', 'RENAME', 'DELETE', 'UPDATE'];

/** Kinds that return rows: the only ones whose FORMAT clause is an output format. */
const OUTPUT_KINDS: ReadonlySet<string> = new Set(READ_KINDS);

/** The statement kind of each root node of `EXPLAIN AST` that some access may run. */
const KIND_OF_ROOT: ReadonlyMap<string, string> = new Map([
  ['SelectWithUnionQuery', 'SELECT'],
  ['ShowTables', 'SHOW'],
  ['ShowColumns', 'SHOW'],
  ['ShowCreateTableQuery', 'SHOW'],
  ['DescribeQuery', 'DESCRIBE'],
  ['ExistsTableQuery', 'EXISTS'],
  ['ExistsDatabaseQuery', 'EXISTS'],
  ['ExistsViewQuery', 'EXISTS'],
  ['ExistsDictionaryQuery', 'EXISTS'],
  ['InsertQuery', 'INSERT'],
  ['AlterQuery', 'ALTER'],
  ['CreateQuery', 'CREATE'],
  ['DropQuery', 'DROP'],
  ['TruncateQuery', 'TRUNCATE'],
  ['OptimizeQuery', 'OPTIMIZE'],
  ['Rename', 'RENAME'],
  ['DeleteQuery', 'DELETE'],
  ['UpdateQuery', 'UPDATE'],
]);

/** Roots refused for every access, with the reason a person is told. */
const REFUSED_ROOTS: ReadonlyMap<string, { kind: string; reason: string }> = new Map([
  ['SYSTEM', { kind: 'SYSTEM', reason: 'they act on the whole engine, not on data' }],
  ['KillQueryQuery', { kind: 'KILL', reason: 'they stop queries of everyone sharing the engine' }],
  ['UseQuery', { kind: 'USE', reason: "they would change the shared session's current database for everyone" }],
  ['Set', { kind: 'SET', reason: 'they would stay on the shared session; the door applies its own limits' }],
]);

/** Functions, table functions and engines that reach beyond the pipeline's tables, by what they reach. */
const REFUSED_FUNCTIONS: readonly { reason: string; names: readonly string[]; prefixes: readonly string[] }[] = [
  { reason: 'it reaches files of the host', names: ['sqlite', 'arrowstream', 'disk', 'backup', 'embeddedrocksdb'], prefixes: ['file'] },
  {
    reason: 'it reaches URLs and object storage',
    names: ['url', 'urlcluster', 'gcs', 'oss', 'cosn', 'hive', 'datalakecatalog', 'arrowflight', 'ytsaurus'],
    prefixes: ['s3', 'azure', 'hdfs', 'iceberg', 'deltalake', 'hudi', 'paimon', 'prometheus'],
  },
  { reason: 'it runs processes of the host', names: [], prefixes: ['executable'] },
  {
    reason: 'it reaches other servers',
    names: ['mysql', 'materializedmysql', 'mongodb', 'redis', 'jdbc', 'odbc', 'distributed', 'kafka', 'rabbitmq', 'nats', 'keepermap'],
    prefixes: ['remote', 'cluster', 'postgresql', 'materializedpostgresql'],
  },
  {
    reason: 'it reads tables by a name the check cannot see',
    names: ['merge', 'loop', 'dictionary', 'buffer', 'alias', 'dicthas', 'dictisin', 'mergetreeindex', 'mergetreeanalyzeindexes', 'mergetreeanalyzeindexesuuid', 'mergetreeprojection', 'mergetreetextindex'],
    prefixes: ['dictget', 'joinget'],
  },
  { reason: 'it runs a query built at run time, which the check cannot see', names: ['eval', 'queryrunner'], prefixes: [] },
  { reason: 'it reads the data stream of the request', names: ['input'], prefixes: [] },
  { reason: "it reads the request's HTTP headers", names: ['getclienthttpheader'], prefixes: [] },
  { reason: "it reads the engine's own binary", names: [], prefixes: ['addressto'] },
  { reason: 'it loads model files of the host', names: ['catboostevaluate'], prefixes: ['naivebayesclassifier'] },
];

/**
 * `format()` is refused only as a table function: it parses inline data with any input
 * format, and some formats read schema files of the host. The scalar `format()` only
 * formats strings.
 */
const FORMAT_TABLE_FUNCTION_REASON = 'it parses data with input formats that read schema files of the host';

/** `x IN t` and its variants: the right-hand identifier names a table. */
const IN_FUNCTIONS: ReadonlySet<string> = new Set(['in', 'notin', 'globalin', 'globalnotin', 'nullin', 'notnullin', 'globalnullin', 'globalnotnullin']);

/** Values rows may hold expressions (file(), subqueries) that the check never sees; these keep them literal. */
const LITERAL_VALUES_SETTINGS = 'input_format_values_interpret_expressions = 0, input_format_values_deduce_templates_of_expressions = 0';

/** Engine errors that mean the statement itself cannot be read: syntax, too deep, too big. */
const STATEMENT_ERROR_CODES: ReadonlySet<string> = new Set(['62', '167', '168', '306']);

/**
 * Checks one SQL statement with ClickHouse's own parser and parse tree, and returns what to
 * run. A statement that does not parse, is empty or is more than one → UsageError (HTTP
 * 400) with the parser's own sentence. A statement that parses but is not allowed →
 * ForbiddenError (HTTP 403) naming what is refused and why.
 */
export async function checkStatement(
  client: ClickHouseClient,
  sql: string,
  /** `settings`: `name = value` pairs the door already checked (services/api/clickhouse-settings.ts), added to a read's SETTINGS. */
  options: { access: StatementAccess; limits?: QueryLimits; settings?: string[] },
): Promise<CheckedStatement> {
  const { access, limits } = options;
  if (limits) assertLimits(limits);
  const canonical = await canonicalText(client, sql);
  const tokens = lex(canonical);
  refuseByText(canonical, tokens);

  // One nonce per check: parameter stand-ins must read the same in every tree compared.
  const nonce = randomBytes(8).toString('hex');
  const explain = (text: string): Promise<AstNode> => explainAst(client, text, nonce);
  const tree = await explain(canonical);
  const kind = kindOf(tree, tokens, access);
  refuseByTree(tree, access);
  // The tree without FORMAT is the same tree less one node (separateFormat proves it).
  const { text, format, tree: checked } = OUTPUT_KINDS.has(kind) ? await separateFormat(canonical, tree, explain) : { text: canonical, format: undefined, tree };

  if (access === 'write') {
    refuseSecretNames(lex(text));
    // A writer's choices of output settings apply to what returns rows, and to nothing else.
    const chosen = options.settings ?? [];
    if (chosen.length > 0 && nodesOf(checked).some((n) => n.type === 'Set')) {
      throw new UsageError('the statement has a SETTINGS clause of its own: put every setting there, or send them all as URL parameters');
    }
    if (OUTPUT_KINDS.has(kind) && chosen.length > 0) return { kind, sql: withSettings(text, checked, chosen), format };
    if (chosen.length > 0) throw new ForbiddenError(`settings (${chosen.map((c) => c.split(' ')[0]).join(', ')}) apply to statements that return rows only; a ${kind} runs with the pipeline's settings`);
    if (kind !== 'INSERT') return { kind, sql: text, format };
    const rowsFormat = rowsFormatOf(text);
    return { kind, sql: insertText(sql, text), format, ...(rowsFormat === undefined ? {} : { rowsFormat }) };
  }
  const references = tableReferences(checked, lex(text));
  await refuseUnreadableTables(client, references);
  // system.settings tells a client which settings it may send (its readonly column): at
  // readonly = 1 every one reads as fixed, at 2 as a reader's to choose, and the door checks
  // each one sent (services/api/clickhouse-settings.ts). The statement itself can change none:
  // SETTINGS clauses and SET are refused above.
  const listsSettings = references.some((r) => r.readings.some((x) => x.database?.toLowerCase() === 'system' && x.table.toLowerCase() === 'settings'));
  return { kind, sql: withReadSettings(text, checked, limits, options.settings ?? [], listsSettings ? 2 : 1), format };
}

// ---------------------------------------------------------------------------------------
// Step 1: one statement, in canonical text.

/** The formatter's single-line text of the statement; the text travels as a bound parameter. */
async function canonicalText(client: ClickHouseClient, sql: string): Promise<string> {
  const bytes = Buffer.byteLength(sql, 'utf8');
  if (bytes > MAX_STATEMENT_BYTES) throw new UsageError(`The statement is ${bytes} bytes; the SQL door reads at most ${MAX_STATEMENT_BYTES} (1 MiB)`);
  let rows: unknown[];
  try {
    rows = await askEngine(client, 'SELECT formatQuerySingleLine({q: String}) AS f', { q: sql });
  } catch (err) {
    throw statementError(err, 'The statement does not parse');
  }
  const [row, ...more] = rows;
  const text = isRecord(row) ? row['f'] : undefined;
  if (typeof text !== 'string' || more.length > 0 || text.length === 0) throw new KpiError('The engine answered the formatting of the statement with something else than one text');
  return text;
}

/**
 * A UsageError with the engine's own sentence when the error is about the statement's text;
 * anything else (the engine down, busy) is passed on unchanged.
 */
function statementError(err: unknown, prefix: string): unknown {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  if (!STATEMENT_ERROR_CODES.has(code)) return err;
  // No cause attached: its message echoes the whole statement, which the sentence leaves out.
  return new UsageError(`${prefix}: ${engineSentence(err)}`);
}

/**
 * The engine's sentence, short: without the echo of our wrapping query ("In scope SELECT
 * formatQuerySingleLine(…)"), which repeats the whole statement. indexOf and slice only: a
 * backtracking pattern over a message that holds a hostile statement could run for minutes.
 */
function engineSentence(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  const exception = message.indexOf('DB::Exception: ');
  if (message.startsWith('Code: ') && exception >= 0) message = message.slice(exception + 'DB::Exception: '.length);
  const scope = message.indexOf(' In scope ');
  if (scope >= 0) message = message.slice(0, scope);
  // Bounded before any pattern runs on it.
  let sentence = message.slice(0, MAX_REASON_CHARS * 2).replace(/\s+/g, ' ');
  let end = sentence.length;
  while (end > 0 && ' :.'.includes(sentence.charAt(end - 1))) end -= 1;
  sentence = sentence.slice(0, end);
  return sentence.length > MAX_REASON_CHARS ? `${sentence.slice(0, MAX_REASON_CHARS - 1)}…` : sentence;
}

// ---------------------------------------------------------------------------------------
// Tokens of the canonical text. The formatter prints strings in single quotes with
// backslash escapes, identifiers bare or in backquotes, no comments and query parameters as
// {name:Type}; the lexer reads that, linearly.

type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'param' | 'symbol';

interface Token {
  kind: TokenKind;
  /** A word as written; a quoted identifier or string decoded; a parameter's `name:Type`. */
  text: string;
  start: number;
  end: number;
  /** Brackets open around the token. */
  depth: number;
}

const ESCAPES: ReadonlyMap<string, string> = new Map([
  ['n', '\n'],
  ['t', '\t'],
  ['r', '\r'],
  ['0', '\0'],
  ['b', '\b'],
  ['f', '\f'],
  ['a', '\x07'],
  ['v', '\v'],
  ['e', '\x1b'],
]);

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  // Where the next `}` is: searched once per stretch of text, never again for every `{`.
  let close = -1;
  const closingBrace = (from: number): number => {
    if (close < from) close = text.indexOf('}', from);
    if (close < 0) close = Infinity;
    return close;
  };
  while (i < text.length) {
    const c = text.charAt(i);
    const start = i;
    if (c.trim() === '') {
      i += 1;
    } else if (c === "'" || c === '`' || c === '"') {
      const quoted = readQuoted(text, i);
      tokens.push({ kind: c === "'" ? 'string' : 'quoted', text: quoted.value, start, end: quoted.end, depth });
      i = quoted.end;
    } else if (isWordStart(c)) {
      while (i < text.length && isWordPart(text.charAt(i))) i += 1;
      tokens.push({ kind: 'word', text: text.slice(start, i), start, end: i, depth });
    } else if (c >= '0' && c <= '9') {
      while (i < text.length && (isWordPart(text.charAt(i)) || text.charAt(i) === '.')) i += 1;
      tokens.push({ kind: 'number', text: text.slice(start, i), start, end: i, depth });
    } else if (c === '{' && closingBrace(i) !== Infinity) {
      i = closingBrace(i) + 1;
      tokens.push({ kind: 'param', text: text.slice(start + 1, i - 1), start, end: i, depth });
    } else {
      if (c === ')' || c === ']') depth = Math.max(0, depth - 1);
      tokens.push({ kind: 'symbol', text: c, start, end: i + 1, depth });
      if (c === '(' || c === '[') depth += 1;
      i += 1;
    }
  }
  return tokens;
}

/** A quoted string or identifier from its opening quote: its decoded value and where it ends. */
function readQuoted(text: string, from: number): { value: string; end: number } {
  const quote = text.charAt(from);
  let value = '';
  let i = from + 1;
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === '\\' && i + 1 < text.length) {
      const next = text.charAt(i + 1);
      if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
        value += String.fromCharCode(parseInt(text.slice(i + 2, i + 4), 16));
        i += 4;
      } else {
        value += ESCAPES.get(next) ?? next;
        i += 2;
      }
    } else if (c === quote && text.charAt(i + 1) === quote) {
      value += quote;
      i += 2;
    } else if (c === quote) {
      return { value, end: i + 1 };
    } else {
      value += c;
      i += 1;
    }
  }
  return { value, end: text.length };
}

function isWordStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isWordPart(c: string): boolean {
  return isWordStart(c) || (c >= '0' && c <= '9') || c === '$';
}

function isWord(token: Token | undefined, word: string): boolean {
  return token?.kind === 'word' && token.text.toUpperCase() === word;
}

/** A word or quoted identifier: the name it stands for. */
function nameOf(token: Token | undefined): string | undefined {
  return token?.kind === 'word' || token?.kind === 'quoted' ? token.text : undefined;
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * Refusals read from the canonical text's tokens: a second check of what the tree shows
 * (INTO OUTFILE), and what the tree hides (SETTINGS values, the types of parameters).
 */
function refuseByText(canonical: string, tokens: Token[]): void {
  // EXPLAIN AST prints names raw, one node a line: a line break inside a name would forge nodes.
  if (hasControlCharacter(canonical) || tokens.some((t) => t.kind === 'quoted' && hasControlCharacter(t.text))) {
    throw new ForbiddenError('identifiers holding control characters (line breaks, tabs) are refused: they would blur the parse tree the door checks');
  }
  tokens.forEach((token, i) => {
    const next = tokens[i + 1];
    const afterNext = tokens[i + 2];
    if (isWord(token, 'INTO') && isWord(next, 'OUTFILE') && afterNext?.kind === 'string') throw new ForbiddenError('INTO OUTFILE is refused: the SQL door never writes files');
    if (isWord(token, 'FROM') && isWord(next, 'INFILE') && afterNext?.kind === 'string') throw new ForbiddenError('FROM INFILE is refused: the SQL door never reads files of the host');
    if (isWord(token, 'DISK') && next?.kind === 'symbol' && next.text === '(') throw new ForbiddenError('disk() is refused: it reaches files of the host and object storage');
    const lower = token.kind === 'word' ? token.text.toLowerCase() : '';
    if (lower.startsWith('format_schema') || lower.startsWith('format_template_')) {
      throw new ForbiddenError(`setting ${token.text} is refused: it names schema or template files of the host`);
    }
    if (token.kind === 'param' && token.text.slice(token.text.indexOf(':') + 1).trim().toLowerCase() === 'identifier') {
      throw new ForbiddenError(`query parameter {${token.text}} is refused: a table named by a parameter would be hidden from the check`);
    }
  });
}

// ---------------------------------------------------------------------------------------
// Step 2: the engine's parse tree.

/** One node of `EXPLAIN AST`: one line, its depth the count of leading spaces. */
interface AstNode {
  /** The node's first word: Function, TableIdentifier, SelectWithUnionQuery, … */
  type: string;
  /** The line without its indentation and its `(children N)`. */
  label: string;
  depth: number;
  parent: AstNode | undefined;
  children: AstNode[];
}

/**
 * `EXPLAIN AST` of canonical text: safe to embed, since it is the formatter's own output of
 * exactly one statement, and EXPLAIN AST only parses. Query parameters stand in as unique
 * string literals (the caller binds their values only when it runs the statement); each must
 * come back as a literal of its own, or the stand-ins changed what the statement is.
 */
async function explainAst(client: ClickHouseClient, text: string, nonce: string): Promise<AstNode> {
  const markers: string[] = [];
  let substituted = '';
  let copied = 0;
  for (const token of lex(text)) {
    if (token.kind !== 'param') continue;
    const marker = `kpi-door-parameter-${nonce}-${markers.length}`;
    markers.push(marker);
    substituted += `${text.slice(copied, token.start)}'${marker}'`;
    copied = token.end;
  }
  substituted += text.slice(copied);

  let rows: unknown[];
  try {
    rows = await askEngine(client, `EXPLAIN AST ${substituted}`, {});
  } catch (err) {
    throw statementError(err, markers.length > 0 ? 'The statement cannot be checked (its query parameters stand in as strings)' : 'The statement cannot be checked');
  }
  const lines = rows.map((row) => (isRecord(row) && typeof row['explain'] === 'string' ? row['explain'] : undefined));
  const tree = parseTree(lines);
  // A literal with a name (`{s:String} AS s`) reads `Literal '…' (alias s)`.
  const literals = new Set(nodesOf(tree).flatMap((n) => (n.type === 'Literal' ? [n.label.replace(/ \(alias [^()]*\)$/, '')] : [])));
  if (markers.some((m) => !literals.has(`Literal '${m}'`))) {
    throw new ForbiddenError('a query parameter stands where only a value may be checked: put parameters where values go');
  }
  return tree;
}

/**
 * The tree of EXPLAIN AST's lines. Every line must sit under the one before it or one of its
 * ancestors, and every node must have the number of children it announces; otherwise the
 * tree is not what the engine meant and is refused.
 */
function parseTree(lines: (string | undefined)[]): AstNode {
  const unreadable = (why: string): ForbiddenError => new ForbiddenError(`the statement's parse tree cannot be read unambiguously (${why}): it is refused`);
  const stack: AstNode[] = [];
  const announced = new Map<AstNode, number>();
  let root: AstNode | undefined;
  for (const line of lines) {
    if (line === undefined) throw unreadable('a line is missing');
    let depth = 0;
    while (line.charAt(depth) === ' ') depth += 1;
    let label = line.slice(depth);
    if (label.length === 0 || depth > stack.length || (depth === 0 && root !== undefined)) throw unreadable('a line out of place');
    let children = 0;
    const suffix = / \(children (\d+)\)$/.exec(label);
    if (suffix) {
      children = Number(suffix[1]);
      label = label.slice(0, suffix.index);
    }
    const parent = depth === 0 ? undefined : stack[depth - 1];
    const space = label.indexOf(' ');
    const node: AstNode = { type: space < 0 ? label : label.slice(0, space), label, depth, parent, children: [] };
    parent?.children.push(node);
    root ??= node;
    announced.set(node, children);
    stack.length = depth;
    stack.push(node);
  }
  if (!root) throw unreadable('it is empty');
  for (const [node, count] of announced) if (node.children.length !== count) throw unreadable(`${node.type} announces ${count} children`);
  return root;
}

function nodesOf(root: AstNode): AstNode[] {
  const all: AstNode[] = [];
  const visit = (node: AstNode): void => {
    all.push(node);
    node.children.forEach(visit);
  };
  visit(root);
  return all;
}

/** A node's lines as text, children counts aside: what two trees are compared by. */
function linesOf(root: AstNode, without?: AstNode): string[] {
  return nodesOf(root)
    .filter((n) => n !== without)
    .map((n) => `${' '.repeat(n.depth)}${n.label}`);
}

// ---------------------------------------------------------------------------------------
// Step 3: what kind of statement, and whether this access may run it.

function kindOf(tree: AstNode, tokens: Token[], access: StatementAccess): string {
  const refused = REFUSED_ROOTS.get(tree.type);
  if (refused) throw new ForbiddenError(`${refused.kind} statements are refused: ${refused.reason}`);
  const first = (tokens[0]?.text ?? '').toUpperCase();
  const kind = KIND_OF_ROOT.get(tree.type);
  const allowed = access === 'read' ? READ_KINDS : WRITE_KINDS;
  if (kind === undefined && tree.type.startsWith('Show')) refuseShow(tokens);
  if (kind === undefined || !allowed.includes(kind)) {
    const label = kind ?? (first || tree.type);
    const only = access === 'read' ? 'read access runs only SELECT, SHOW, DESCRIBE and EXISTS' : `the SQL door runs only ${WRITE_KINDS.join(', ')}`;
    throw new ForbiddenError(`${label} statements are refused: ${only}`);
  }
  if (kind === 'SHOW') checkShow(tree, tokens);
  if (kind === 'CREATE' || kind === 'DROP') {
    const temporary = tokens.slice(0, 4).findIndex((t) => isWord(t, 'TEMPORARY'));
    if (temporary >= 0) throw new ForbiddenError(`${first} TEMPORARY TABLE is refused: a temporary table would live on the shared session`);
  }
  // A dictionary's source (FILE, HTTP, EXECUTABLE, MYSQL, …) is hidden in key-value arguments.
  if (nodesOf(tree).some((n) => n.type === 'FunctionWithKeyValueArguments' || n.label === 'Dictionary definition')) {
    throw new ForbiddenError('dictionaries are refused: their sources reach files, URLs, processes and other servers');
  }
  return kind;
}

const SHOW_ALLOWED = 'the SQL door shows only TABLES, DATABASES, COLUMNS and CREATE TABLE';

function refuseShow(tokens: Token[]): never {
  const what = tokens.slice(1, isWord(tokens[1], 'CREATE') ? 3 : 2).map((t) => t.text.toUpperCase());
  throw new ForbiddenError(`SHOW ${what.join(' ')} is refused: ${SHOW_ALLOWED}`);
}

/** SHOW TABLES, SETTINGS and DICTIONARIES share one node: the canonical words tell them apart. */
function checkShow(tree: AstNode, tokens: Token[]): void {
  const words = tokens.slice(1).filter((t) => !isWord(t, 'FULL') && !isWord(t, 'EXTENDED') && !isWord(t, 'TEMPORARY'));
  const what = (words[0]?.text ?? '').toUpperCase();
  if (tree.type === 'ShowTables' && what !== 'TABLES' && what !== 'DATABASES') refuseShow(tokens);
  if (tree.type === 'ShowCreateTableQuery' && !(isWord(tokens[1], 'CREATE') && isWord(tokens[2], 'TABLE'))) refuseShow(tokens);
}

// ---------------------------------------------------------------------------------------
// Step 4: the statement's FORMAT clause, told apart by the tree and cut from the text.

/**
 * Removes the statement's own FORMAT clause, so the caller can ask for the format itself and
 * the door's SETTINGS can follow the statement. The tree says whether there is one (an
 * Identifier child of the root); the text's last top-level `FORMAT <name>` is cut; the cut
 * text's tree must be the same tree without that child.
 */
async function separateFormat(
  canonical: string,
  tree: AstNode,
  explain: (text: string) => Promise<AstNode>,
): Promise<{ text: string; format: string | undefined; tree: AstNode }> {
  const identifiers = tree.children.filter((n) => n.type === 'Identifier');
  const candidate = identifiers.at(-1);
  if (!candidate) return { text: canonical, format: undefined, tree };
  const name = candidate.label.slice('Identifier '.length);
  const tokens = lex(canonical);
  let at = -1;
  tokens.forEach((token, i) => {
    if (token.depth === 0 && isWord(token, 'FORMAT') && nameOf(tokens[i + 1]) === name) at = i;
  });
  const clause = tokens[at];
  const formatName = tokens[at + 1];
  // Other roots have Identifier children of their own (a database, a table): no FORMAT then.
  if (!clause || !formatName) {
    if (tree.type !== 'SelectWithUnionQuery') return { text: canonical, format: undefined, tree };
    throw new UsageError('The statement\'s FORMAT clause cannot be told apart from it: put FORMAT last');
  }
  const text = `${canonical.slice(0, clause.start).trimEnd()}${canonical.slice(formatName.end)}`;
  const cut = await explain(text);
  if (linesOf(cut).join('\n') !== linesOf(tree, candidate).join('\n')) {
    throw new UsageError('The statement\'s FORMAT clause cannot be told apart from it: put FORMAT last, after SETTINGS');
  }
  return { text, format: name, tree: cut };
}

// ---------------------------------------------------------------------------------------
// Step 5: what the tree reaches.

function refusedFunction(lowerName: string): string | undefined {
  return REFUSED_FUNCTIONS.find((group) => group.names.includes(lowerName) || group.prefixes.some((p) => lowerName.startsWith(p)))?.reason;
}

/** Function, table function and engine names; INTO OUTFILE and FROM INFILE; SETTINGS of reads. */
function refuseByTree(tree: AstNode, access: StatementAccess): void {
  for (const node of nodesOf(tree)) {
    const parent = node.parent?.type;
    if (node.type === 'Literal' && parent === 'SelectWithUnionQuery') throw new ForbiddenError('INTO OUTFILE is refused: the SQL door never writes files');
    if (node.type === 'Literal' && parent === 'InsertQuery') throw new ForbiddenError('FROM INFILE is refused: the SQL door never reads files of the host');
    if (node.type === 'Set' && access === 'read') throw new ForbiddenError('SETTINGS clauses are refused: the door applies its own limits');
    if (node.type !== 'Function') continue;
    // Function names have no spaces; what follows the first one is an alias.
    const name = node.label.split(' ')[1] ?? '';
    const lower = name.toLowerCase();
    const role = parent === 'TableExpression' ? 'table function' : node.parent?.label === 'Storage definition' ? 'engine' : 'function';
    const reason = refusedFunction(lower) ?? (role === 'table function' && lower === 'format' ? FORMAT_TABLE_FUNCTION_REASON : undefined);
    if (reason) throw new ForbiddenError(role === 'engine' ? `engine ${name} is refused: ${reason}` : `${role} ${name}() is refused: ${reason}`);
    if (role === 'table function' && access === 'read' && !READABLE_TABLE_FUNCTIONS.has(lower)) {
      throw new ForbiddenError(`table function ${name}() is refused for read access: only numbers(), numbers_mt(), zeros(), zeros_mt(), values(), generateSeries(), null() and view()`);
    }
  }
}

/**
 * A write may name any table but the credential tables. Their names are looked for in the
 * tokens, not the tree: `CREATE TABLE t AS tokens` shows no trace of `tokens` in the tree,
 * and an engine's arguments may name a table in a string.
 */
function refuseSecretNames(tokens: Token[]): void {
  const secret = tokens.find((t) => (t.kind === 'word' || t.kind === 'quoted' || t.kind === 'string') && SECRET_TABLES.has(t.text));
  if (secret) throw new ForbiddenError(`table ${secret.text} is not reachable through the SQL door: it holds credentials`);
}

// ---------------------------------------------------------------------------------------
// Step 6: which tables a read names.

interface TableReading {
  database: string | undefined;
  table: string;
}

/**
 * Tables a read names, each as the readings its printed name allows. The first reading is the
 * natural one; the others exist because EXPLAIN AST prints `db.table (alias a)` without
 * quotes, so a quoted name holding a dot or ` (alias ` reads more than one way.
 */
interface TableReference {
  readings: TableReading[];
}

function tableReferences(tree: AstNode, tokens: Token[]): TableReference[] {
  const references: TableReference[] = [];
  for (const node of nodesOf(tree)) {
    if (node.type === 'TableIdentifier') references.push({ readings: readingsOf(node.label.slice('TableIdentifier '.length)) });
    const rightOfIn = node.type === 'Function' && IN_FUNCTIONS.has((node.label.split(' ')[1] ?? '').toLowerCase()) ? node.children[0]?.children[1] : undefined;
    if (rightOfIn?.type === 'Identifier') references.push({ readings: readingsOf(rightOfIn.label.slice('Identifier '.length)) });
  }
  // EXISTS and SHOW CREATE name their table as Identifier children: [database,] table.
  if (['ExistsTableQuery', 'ExistsViewQuery', 'ExistsDictionaryQuery', 'ShowCreateTableQuery'].includes(tree.type)) {
    const names = tree.children.filter((n) => n.type === 'Identifier').map((n) => n.label.slice('Identifier '.length));
    const [first, second] = names;
    if (first === undefined || names.length > 2) throw new ForbiddenError(`the table of ${tree.type} cannot be told from its parse tree: it is refused`);
    references.push({ readings: [second === undefined ? { database: undefined, table: first } : { database: first, table: second }] });
  }
  // SHOW COLUMNS keeps its table out of the tree: `SHOW COLUMNS FROM <table> [FROM <database>]`.
  if (tree.type === 'ShowColumns') {
    const from = tokens.findIndex((t) => isWord(t, 'FROM') || isWord(t, 'IN'));
    const table = nameOf(tokens[from + 1]);
    const database = isWord(tokens[from + 2], 'FROM') || isWord(tokens[from + 2], 'IN') ? nameOf(tokens[from + 3]) : undefined;
    if (from < 0 || table === undefined) throw new ForbiddenError('the table of SHOW COLUMNS cannot be told from the statement: it is refused');
    references.push({ readings: [{ database, table }] });
  }
  return references;
}

/** Every way `name (alias a)` or `db.table` can be read; the natural reading first. */
function readingsOf(label: string): TableReading[] {
  const names: string[] = [];
  for (let at = label.indexOf(' (alias '); at >= 0; at = label.indexOf(' (alias ', at + 1)) names.push(label.slice(0, at));
  names.push(label);
  const readings = names.flatMap((name) => {
    const out: TableReading[] = [];
    for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) out.push({ database: name.slice(0, dot), table: name.slice(dot + 1) });
    out.push({ database: undefined, table: name });
    return out;
  });
  return readings;
}

/**
 * Every table reference must be a documented table of the pipeline's database, an allowed
 * system table, or an unqualified name that is no table of the current database (so a CTE,
 * which EXPLAIN AST does not name, or an error of the engine). A reading other than the
 * natural one is refused only when it names an existing table a read may not see.
 */
async function refuseUnreadableTables(client: ClickHouseClient, references: TableReference[]): Promise<void> {
  if (references.length === 0) return;
  const readings = references.flatMap((r) => r.readings);
  const catalog = await existingTables(client, readings);
  for (const { readings: [natural, ...others] } of references) {
    if (natural) {
      const refusal = readRefusal(natural, catalog, true);
      if (refusal) throw new ForbiddenError(refusal);
    }
    for (const reading of others) {
      const refusal = readRefusal(reading, catalog, false);
      if (refusal) throw new ForbiddenError(refusal);
    }
  }
}

interface Catalog {
  current: string;
  /** `database.table` of every table found; temporary tables under the database ''. */
  tables: Set<string>;
}

/** The current database, and which of the named tables exist: one question to the engine. */
async function existingTables(client: ClickHouseClient, readings: TableReading[]): Promise<Catalog> {
  const names = [...new Set(readings.map((r) => r.table))];
  const databases = [...new Set(readings.flatMap((r) => (r.database === undefined ? [] : [r.database])))];
  const [row] = await askEngine(
    client,
    `SELECT currentDatabase() AS current,
       (SELECT groupArray([database, name]) FROM system.tables
         WHERE name IN {names: Array(String)} AND (database IN {databases: Array(String)} OR database = currentDatabase() OR is_temporary)) AS found`,
    { names, databases },
  );
  const current = isRecord(row) ? row['current'] : undefined;
  const found = isRecord(row) ? row['found'] : undefined;
  if (typeof current !== 'string' || !Array.isArray(found)) throw new KpiError('The engine answered the question for existing tables with something else');
  const tables = new Set(found.map((pair) => (Array.isArray(pair) ? `${String(pair[0])}.${String(pair[1])}` : '')));
  return { current, tables };
}

function readRefusal(reading: TableReading, catalog: Catalog, natural: boolean): string | undefined {
  const { database, table } = reading;
  const exists = database === undefined ? catalog.tables.has(`${catalog.current}.${table}`) || catalog.tables.has(`.${table}`) : catalog.tables.has(`${database}.${table}`);
  const shown = database === undefined ? table : `${database}.${table}`;
  const notReadable = `table ${shown} is not readable through the SQL door; readable tables: ${READABLE_TABLES.join(', ')}`;
  if (database === undefined) return READABLE_TABLES.includes(table) || !exists ? undefined : notReadable;
  if (!natural && !exists) return undefined;
  if (database === 'system') {
    return READABLE_SYSTEM_TABLES.includes(table) ? undefined : `${shown} is not readable through the SQL door; readable system tables: ${READABLE_SYSTEM_TABLES.join(', ')}`;
  }
  if (database === catalog.current || database === PIPELINE_DATABASE) return READABLE_TABLES.includes(table) ? undefined : notReadable;
  return `table ${shown} is not readable through the SQL door: reads reach only the pipeline database's documented tables and some system tables`;
}

// ---------------------------------------------------------------------------------------
// Step 7: the text to run.

function assertLimits(limits: QueryLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new KpiError(`query limit ${name} must be a positive whole number, got ${String(value)}`);
  }
}

/**
 * The door's SETTINGS as the statement's own clause, never SET: the embedded engine would
 * keep a SET on its shared session. A UNION takes trailing SETTINGS as its last SELECT's,
 * and chDB then bounds its result rows unreliably, so a UNION is wrapped in one SELECT.
 */
function withReadSettings(text: string, tree: AstNode, limits: QueryLimits | undefined, chosen: string[], readonly: 1 | 2): string {
  // The caller's choices first: where one names a setting again, the door's value stands.
  const settings = [...chosen, `readonly = ${readonly}`];
  if (limits) {
    settings.push(
      `max_execution_time = ${limits.maxExecutionSeconds}`,
      `max_memory_usage = ${limits.maxMemoryBytes}`,
      `max_result_rows = ${limits.maxResultRows}`,
      `max_result_bytes = ${limits.maxResultBytes}`,
      "result_overflow_mode = 'throw'",
      `max_rows_to_read = ${limits.maxRowsToRead}`,
      "read_overflow_mode = 'throw'",
    );
  }
  return withSettings(text, tree, settings);
}

/** `text` with a SETTINGS clause of its own (the statement has none: the check refuses them in reads). */
function withSettings(text: string, tree: AstNode, settings: string[]): string {
  // Trailing SETTINGS bind to the last SELECT of a UNION, EXCEPT or INTERSECT, and chDB then
  // does not hold the whole result to the row limit: anything but one plain SELECT is wrapped.
  const selects = tree.type === 'SelectWithUnionQuery' ? (tree.children[0]?.children ?? []) : [];
  const compound = tree.type === 'SelectWithUnionQuery' && (selects.length !== 1 || selects[0]?.type !== 'SelectQuery');
  return `${compound ? `SELECT * FROM (${text})` : text} SETTINGS ${settings.join(', ')}`;
}

/**
 * An INSERT runs without rows of its own: the formatter drops them, and they were never
 * checked (VALUES rows may call file() or read other tables through subqueries). Rows travel
 * beside the statement, and VALUES rows are read as literals only.
 */
function insertText(original: string, text: string): string {
  const tokens = lex(text);
  const last = tokens.length - 1;
  const clause = tokens[last - 1];
  const format = nameOf(tokens[last]);
  if (!clause || format === undefined || clause.depth !== 0 || !isWord(clause, 'FORMAT')) return text; // INSERT … SELECT
  if (!endsWithWord(original, format)) {
    throw new ForbiddenError(`INSERT with its rows inside the statement is refused: the door cannot check them; send the rows beside the statement (e.g. as the request body of INSERT … FORMAT ${format}) or use INSERT … SELECT`);
  }
  if (format.toLowerCase() !== 'values') return text;
  const hasSettings = tokens.some((t) => t.depth === 0 && isWord(t, 'SETTINGS'));
  const head = text.slice(0, clause.start).trimEnd();
  return `${head}${hasSettings ? ', ' : ' SETTINGS '}${LITERAL_VALUES_SETTINGS} ${text.slice(clause.start)}`;
}

/** The format named by an INSERT's trailing FORMAT clause, or undefined (INSERT … SELECT). */
function rowsFormatOf(text: string): string | undefined {
  const tokens = lex(text);
  const clause = tokens[tokens.length - 2];
  return clause && clause.depth === 0 && isWord(clause, 'FORMAT') ? nameOf(tokens[tokens.length - 1]) : undefined;
}

/** Whether `text` ends with `word` (any case), trailing blanks and semicolons aside. No pattern: the text is the caller's. */
function endsWithWord(text: string, word: string): boolean {
  let end = text.length;
  while (end > 0 && (text.charAt(end - 1).trim() === '' || text.charAt(end - 1) === ';')) end -= 1;
  const start = end - word.length;
  return start > 0 && text.slice(start, end).toLowerCase() === word.toLowerCase() && !isWordPart(text.charAt(start - 1));
}

// ---------------------------------------------------------------------------------------
// Asking the engine.

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isList(value: unknown): value is unknown[] {
  return Array.isArray(value);
}

/**
 * Rows of one query, read as one JSON document. (The embedded connection drains what a
 * failed statement leaves on the session before the next one runs: services/shared/clickhouse.ts.)
 */
async function askEngine(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<unknown[]> {
  // exec, not query: query appends FORMAT to the text, where EXPLAIN would give it to the statement.
  const result = await client.exec({ query, query_params: params, clickhouse_settings: { default_format: 'JSON' } });
  const chunks: Buffer[] = [];
  for await (const chunk of result.stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const data = isRecord(body) ? body['data'] : undefined;
  if (!isList(data)) throw new KpiError('The engine answered the statement check with something other than rows');
  return data;
}

import { KpiError, MigrationError } from './errors.js';

/**
 * The pipeline's SQL for a ClickHouse cluster (CLICKHOUSE_CLUSTER; docs/clickhouse-cluster.md).
 *
 * Every table becomes two: `<name>_local` on every node, a Replicated* MergeTree whose
 * replicas meet in Keeper per shard, and `<name>`, a Distributed table over them, so every
 * query the project issues keeps its names. Rows are spread over shards by a hash of the
 * table's sorting key (ORDER BY):
 *
 * - ReplacingMergeTree tables (raw events, KPI values, revisions, audit, principals, tokens,
 *   progress, dead letters, the catalog): rows replace one another only when their whole
 *   sorting key is equal, and FINAL and merges work inside one shard. A hash of the sorting
 *   key sends equal keys to one shard, so each shard's FINAL sees every row of its keys and
 *   FINAL through the Distributed table is exactly FINAL on one server.
 * - Raw event tables, whose key begins with event_id: only event_id is hashed, so every line
 *   and every duplicate of one event lands on one shard (a coarser key, still a function of
 *   the sorting key, so replacement stays exact).
 * - AggregatingMergeTree tables kept by materialized views (order_state, ticket_state,
 *   customer_first_purchases): each shard's view aggregates the rows its shard received and
 *   writes to the local target, so one entity may have partial rows on several shards.
 *   They are read with GROUP BY and the columns' own functions (min, max), which the
 *   Distributed table merges across shards exactly; their key only places rows inserted
 *   directly (a backfill).
 * - Plain MergeTree tables (targets, inputs, rates, imports, arrivals, day partials): no row
 *   replaces another; readers group and pick the newest themselves, across shards.
 *
 * A hash, never rand(): an insert retried with its deduplication token must send the same
 * rows to the same shard, where the token is remembered.
 *
 * Names in the statements are qualified with the database: a node replaying an ON CLUSTER
 * statement runs it in its own default database, not the initiator's (ClickHouse resolves
 * the tables of a view's SELECT, and a materialized view's TO, on the replaying node).
 */

export interface ClusterTarget {
  /** A cluster of the servers' remote_servers (CLICKHOUSE_CLUSTER). */
  readonly cluster: string;
  /** The pipeline's database (CLICKHOUSE_DATABASE). */
  readonly database: string;
}

/** Suffix of the replicated table on every node; the plain name is its Distributed table. */
export const LOCAL_SUFFIX = '_local';

/** A name ClickHouse reads unquoted: what config.ts accepts for a database or a cluster. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function localTable(name: string): string {
  return `${name}${LOCAL_SUFFIX}`;
}

/** Where a local table's replicas meet in Keeper: one path per shard, database and table. */
export function keeperPath(name: string): string {
  return `/clickhouse/tables/{shard}/{database}/${localTable(name)}`;
}

/** The statement that creates the pipeline's database, on every node when a cluster is named. */
export function databaseStatement(database: string, cluster?: string): string {
  return `CREATE DATABASE IF NOT EXISTS ${database}${cluster === undefined ? '' : ` ON CLUSTER ${cluster}`}`;
}

function checkTarget(target: ClusterTarget): void {
  for (const [what, name] of [['cluster', target.cluster], ['database', target.database]] as const) {
    if (!IDENTIFIER.test(name)) throw new KpiError(`The ${what} name ${JSON.stringify(name)} is not an identifier`);
  }
}

// ---------------------------------------------------------------------------------------
// Tokens.

type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'symbol' | 'blank' | 'comment';

interface Token {
  kind: TokenKind;
  text: string;
  start: number;
  end: number;
  /** Brackets ( [ { open around the token; a bracket itself counts as outside. */
  depth: number;
  /** Whether the innermost parenthesis around the token holds a query (true outside any). */
  inQuery: boolean;
}

const LEXEMES: readonly (readonly [TokenKind, RegExp])[] = [
  ['blank', /\s+/y],
  ['comment', /--[^\n]*|\/\*[\s\S]*?\*\//y],
  ['string', /'(?:[^'\\]|\\[\s\S]|'')*'/y],
  ['quoted', /`(?:[^`\\]|\\[\s\S]|``)*`|"(?:[^"\\]|\\[\s\S]|"")*"/y],
  ['number', /\d[\w.]*/y],
  ['word', /[A-Za-z_][A-Za-z0-9_$]*/y],
  ['symbol', /[\s\S]/y],
];

function lexOne(sql: string, at: number): Token {
  for (const [kind, pattern] of LEXEMES) {
    pattern.lastIndex = at;
    const match = pattern.exec(sql);
    if (match === null) continue;
    const text = match[0];
    if (kind === 'symbol' && ["'", '`', '"'].includes(text)) throw new KpiError(`An unterminated ${text}…${text} at character ${at + 1}`);
    return { kind, text, start: at, end: at + text.length, depth: 0, inQuery: true };
  }
  throw new KpiError(`Unreadable SQL at character ${at + 1}`);
}

/** The significant tokens (no blanks, no comments), with their parenthesis depth. */
function tokenize(sql: string): Token[] {
  const all: Token[] = [];
  for (let at = 0; at < sql.length; ) {
    const token = lexOne(sql, at);
    if (token.kind !== 'blank' && token.kind !== 'comment') all.push(token);
    at = token.end;
  }
  // Square brackets (arrays) and braces (maps, query parameters) nest like parentheses, so
  // their commas are not mistaken for a statement's own; only a parenthesis holds a query.
  const open: boolean[] = [];
  all.forEach((token, i) => {
    const symbol = token.kind === 'symbol' ? token.text : '';
    if (')]}'.includes(symbol) && symbol !== '') {
      if (open.pop() === undefined) throw new KpiError(`An unmatched ${symbol} at character ${token.start + 1}`);
    }
    token.depth = open.length;
    token.inQuery = open.at(-1) ?? true;
    if ('([{'.includes(symbol) && symbol !== '') open.push(symbol === '(' && ['SELECT', 'WITH'].includes(upper(all[i + 1])));
  });
  if (open.length > 0) throw new KpiError('An unclosed bracket in the statement');
  return all;
}

function upper(token: Token | undefined): string {
  return token?.kind === 'word' ? token.text.toUpperCase() : '';
}

/** A statement's significant tokens and the text between them, kept as written. */
class Statement {
  readonly tokens: Token[];

  constructor(readonly sql: string) {
    this.tokens = tokenize(sql);
  }

  word(i: number): string {
    return upper(this.tokens[i]);
  }

  /** Whether the tokens from `i` are these keywords. */
  words(i: number, ...expected: string[]): boolean {
    return expected.every((w, k) => this.word(i + k) === w);
  }

  /** Text from token `from` up to (not including) token `to`, or to the end. */
  slice(from: number, to: number = this.tokens.length): string {
    const first = this.tokens[from];
    const last = this.tokens[to - 1];
    return first === undefined || last === undefined || to <= from ? '' : this.sql.slice(first.start, last.end);
  }

  /** The `)` that closes the `(` at `i`. */
  closing(i: number): number {
    const depth = this.tokens[i]?.depth;
    const at = this.tokens.findIndex((t, k) => k > i && t.text === ')' && t.depth === depth);
    if (at < 0) throw new KpiError('An unclosed ( in the statement');
    return at;
  }

  /** Indexes of depth-0 tokens from `from` where `test` holds. */
  find(from: number, test: (i: number) => boolean): number {
    for (let i = from; i < this.tokens.length; i += 1) if (this.tokens[i]?.depth === 0 && test(i)) return i;
    return -1;
  }

  /** What a statement sends ON CLUSTER by itself: the runner adds the clause, never a file. */
  hasOnCluster(): boolean {
    return this.find(0, (i) => this.words(i, 'ON', 'CLUSTER')) >= 0;
  }
}

/** The unqualified table name at token `i`, or an error naming what was found. */
function nameAt(st: Statement, i: number, what: string): string {
  const token = st.tokens[i];
  const name = token?.kind === 'quoted' ? token.text.slice(1, -1) : token?.kind === 'word' ? token.text : '';
  if (!IDENTIFIER.test(name)) throw new KpiError(`Expected ${what} at ${JSON.stringify(st.slice(i, i + 3))}`);
  if (st.tokens[i + 1]?.text === '.') throw new KpiError(`${what} ${st.slice(i, i + 3)} names its database: CLICKHOUSE_DATABASE decides it`);
  return name;
}

/** Skips `IF NOT EXISTS` / `IF EXISTS` at `i`; returns the clause text and the next index. */
function ifClause(st: Statement, i: number): { text: string; next: number } {
  if (st.words(i, 'IF', 'NOT', 'EXISTS')) return { text: 'IF NOT EXISTS ', next: i + 3 };
  if (st.words(i, 'IF', 'EXISTS')) return { text: 'IF EXISTS ', next: i + 2 };
  return { text: '', next: i };
}

// ---------------------------------------------------------------------------------------
// Tables read by a query.

/** Words after a table that end its reference (anything else there is an alias). */
const CLAUSE_WORDS = new Set([
  'WHERE', 'PREWHERE', 'GROUP', 'ORDER', 'LIMIT', 'HAVING', 'UNION', 'EXCEPT', 'INTERSECT', 'SETTINGS', 'FORMAT', 'WINDOW', 'QUALIFY',
  'LEFT', 'RIGHT', 'INNER', 'OUTER', 'FULL', 'CROSS', 'JOIN', 'ANY', 'ALL', 'ARRAY', 'SEMI', 'ANTI', 'ASOF', 'GLOBAL', 'PASTE', 'ON', 'USING', 'SAMPLE',
]);

/** Names a WITH clause defines as subqueries (`name AS (SELECT …)`): they are no tables. */
function subqueryNames(st: Statement): Set<string> {
  const names = new Set<string>();
  st.tokens.forEach((t, i) => {
    const open = st.tokens[i + 2];
    if (t.kind === 'word' && st.word(i + 1) === 'AS' && open?.text === '(' && ['SELECT', 'WITH'].includes(st.word(i + 3))) names.add(t.text);
  });
  return names;
}

/**
 * `FROM a, b` reads b as well, which a reader of table positions would miss: refused, so no
 * table of a cluster's view goes unqualified. (CROSS JOIN says the same.)
 */
function refuseCommaJoin(st: Statement, table: number): void {
  const depth = st.tokens[table]?.depth;
  let i = table + 1;
  for (let steps = 0; steps < 3; steps += 1, i += 1) {
    const t = st.tokens[i];
    if (t?.kind !== 'word' || t.depth !== depth || CLAUSE_WORDS.has(st.word(i))) break;
  }
  const next = st.tokens[i];
  if (next?.text === ',' && next.depth === depth) throw new KpiError(`${st.slice(table - 1, i + 2)}: a comma join; write CROSS JOIN`);
}

/**
 * The statement from token `from` on, with each table it reads (after FROM or JOIN, in a
 * query) replaced by `resolve(name)`. Qualified names, table functions and WITH subqueries
 * are left as written; a name `resolve` does not know is an error.
 */
function withTables(st: Statement, from: number, resolve: (name: string) => string | undefined, unknown: (name: string) => string): string {
  const local = subqueryNames(st);
  let out = '';
  let copied = st.tokens[from]?.start ?? st.sql.length;
  for (let i = from; i < st.tokens.length; i += 1) {
    const keyword = st.word(i);
    const token = st.tokens[i];
    if (!token?.inQuery || !(keyword === 'FROM' || (keyword === 'JOIN' && st.word(i - 1) !== 'ARRAY'))) continue;
    const target = st.tokens[i + 1];
    const after = st.tokens[i + 2]?.text;
    if (target === undefined || target.text === '(' || after === '.' || after === '(') continue;
    const name = nameAt(st, i + 1, 'a table');
    if (local.has(name)) continue;
    const replacement = resolve(name);
    if (replacement === undefined) throw new KpiError(unknown(name));
    refuseCommaJoin(st, i + 1);
    out += st.sql.slice(copied, target.start) + replacement;
    copied = target.end;
  }
  return out + st.sql.slice(copied);
}

// ---------------------------------------------------------------------------------------
// Statements that change a table in place: mutations, OPTIMIZE, TRUNCATE.

export interface InPlaceStatement {
  /** The statement, against `<table>_local ON CLUSTER`. */
  query: string;
  /** Settings it needs beyond the client's. */
  settings: { allow_nondeterministic_mutations?: 1 };
}

/** Mutation commands of ALTER TABLE: they change rows, which live in the local tables only. */
const MUTATIONS = ['UPDATE', 'DELETE'];

/** The table an in-place statement changes, its head and what follows the name. */
function inPlaceParts(st: Statement): { head: string; name: string; rest: number; mutation: boolean } {
  if (st.words(0, 'DELETE', 'FROM')) return { head: 'DELETE FROM', name: nameAt(st, 2, 'a table'), rest: 3, mutation: true };
  if (st.words(0, 'OPTIMIZE', 'TABLE')) return { head: 'OPTIMIZE TABLE', name: nameAt(st, 2, 'a table'), rest: 3, mutation: false };
  if (st.words(0, 'TRUNCATE')) {
    const { text, next } = ifClause(st, st.words(1, 'TABLE') ? 2 : 1);
    return { head: `TRUNCATE TABLE ${text}`.trimEnd(), name: nameAt(st, next, 'a table'), rest: next + 1, mutation: false };
  }
  if (st.words(0, 'ALTER', 'TABLE')) {
    const commands = alterCommands(st, 3);
    const other = commands.find((c) => !MUTATIONS.includes(st.word(c.from)));
    if (other !== undefined) throw new KpiError(`ALTER … ${st.slice(other.from, other.from + 2)} is not a mutation (UPDATE or DELETE)`);
    return { head: 'ALTER TABLE', name: nameAt(st, 2, 'a table'), rest: 3, mutation: true };
  }
  throw new KpiError(`Not a statement that changes a table in place (DELETE FROM, ALTER TABLE … UPDATE/DELETE, OPTIMIZE TABLE, TRUNCATE TABLE): ${st.slice(0, 4)}`);
}

/**
 * A statement that rewrites one table's rows or parts in place, for a cluster: such a
 * statement cannot go through a Distributed table, so it runs ON CLUSTER against the local
 * table, on one replica of each shard (Keeper passes it to the others). Tables it reads in
 * subqueries are the Distributed ones, qualified, so each shard decides from all the rows.
 *
 * Such a subquery is evaluated by each replica for itself, which ClickHouse refuses on
 * replicated tables unless allow_nondeterministic_mutations is set: it is set for those, and
 * callers keep their subqueries stable (they select rows older than a fixed instant).
 */
export function inPlaceStatement(sql: string, target: ClusterTarget): InPlaceStatement {
  checkTarget(target);
  const st = new Statement(sql);
  if (st.hasOnCluster()) throw new KpiError('The statement already names ON CLUSTER; it is added from CLICKHOUSE_CLUSTER');
  const { head, name, rest, mutation } = inPlaceParts(st);
  const reads = withTables(st, rest, (t) => `${target.database}.${t}`, (t) => `${t} is not a table`);
  const tail = st.tokens[rest] === undefined ? '' : ` ${reads}`;
  const subquery = st.tokens.some((_, i) => i >= rest && st.word(i) === 'SELECT');
  return {
    query: `${head} ${target.database}.${localTable(name)} ON CLUSTER ${target.cluster}${tail}`,
    settings: mutation && subquery ? { allow_nondeterministic_mutations: 1 } : {},
  };
}

// ---------------------------------------------------------------------------------------
// ALTER TABLE commands.

/** Column and comment changes: both the local tables and the Distributed one carry them. */
const SCHEMA_COMMANDS = ['ADD COLUMN', 'DROP COLUMN', 'MODIFY COLUMN', 'COMMENT COLUMN', 'RENAME COLUMN', 'MODIFY COMMENT'];

/** Changes of the stored data or its storage: the local tables alone have them. */
const LOCAL_COMMANDS = [
  'UPDATE', 'DELETE', 'MODIFY SETTING', 'RESET SETTING', 'MODIFY TTL', 'REMOVE TTL', 'MATERIALIZE TTL', 'MATERIALIZE COLUMN',
  'ADD INDEX', 'DROP INDEX', 'MATERIALIZE INDEX', 'CLEAR INDEX', 'ADD PROJECTION', 'DROP PROJECTION', 'MATERIALIZE PROJECTION', 'CLEAR PROJECTION',
];

/**
 * The commands of an ALTER TABLE from token `from`: ranges split at depth-0 commas, except
 * the commas between the assignments of one UPDATE (`UPDATE a = 1, b = 2 WHERE …`).
 */
function alterCommands(st: Statement, from: number): { from: number; to: number }[] {
  const commands: { from: number; to: number }[] = [];
  let start = from;
  for (let i = from; i <= st.tokens.length; i += 1) {
    const t = st.tokens[i];
    if (t !== undefined && !(t.text === ',' && t.depth === 0)) continue;
    const assignment = st.word(start) === 'UPDATE' && st.tokens[i + 2]?.text === '=' && st.find(start, (k) => k < i && st.words(k, 'WHERE')) < 0;
    if (t !== undefined && assignment) continue;
    if (i === start) throw new KpiError(`An ALTER TABLE without a command at ${JSON.stringify(st.slice(from - 1, from + 2))}`);
    commands.push({ from: start, to: i });
    start = i + 1;
  }
  return commands;
}

/** `ADD COLUMN`, `UPDATE`, … : the first words that name a command. */
function commandName(st: Statement, at: number): string {
  const one = st.word(at);
  const two = `${one} ${st.word(at + 1)}`;
  return [...SCHEMA_COMMANDS, ...LOCAL_COMMANDS].find((c) => c === two) ?? (LOCAL_COMMANDS.includes(one) ? one : two);
}

// ---------------------------------------------------------------------------------------
// Migrations.

type Defined = 'table' | 'view';

/** The clauses that may follow ORDER BY in CREATE TABLE. */
const TABLE_CLAUSES = [['PARTITION', 'BY'], ['PRIMARY', 'KEY'], ['SAMPLE', 'BY'], ['TTL'], ['SETTINGS'], ['COMMENT']];

/** ENGINE = <name>MergeTree: those with a Replicated variant. */
const MERGE_TREE = /^[A-Za-z]*MergeTree$/;

/** Splits `a, f(b, c), d` at its depth-`depth` commas. */
function topLevelList(st: Statement, from: number, to: number, depth: number): string[] {
  const items: string[] = [];
  let start = from;
  for (let i = from; i <= to; i += 1) {
    const t = st.tokens[i];
    if (i < to && !(t?.text === ',' && t.depth === depth)) continue;
    items.push(st.slice(start, i));
    start = i + 1;
  }
  return items.filter((item) => item.length > 0);
}

/** The expressions of the table's sorting key: ORDER BY x or ORDER BY (x, y). */
function sortingKey(st: Statement, from: number): string[] {
  const at = st.find(from, (i) => st.words(i, 'ORDER', 'BY'));
  if (at < 0) throw new MigrationError('A table of a cluster needs ORDER BY: its sharding key is derived from it');
  const start = at + 2;
  const end = st.find(start, (i) => TABLE_CLAUSES.some((c) => st.words(i, ...c)));
  const to = end < 0 ? st.tokens.length : end;
  const whole = st.tokens[start]?.text === '(' && st.closing(start) === to - 1;
  const key = whole ? topLevelList(st, start + 1, to - 1, 1) : [st.slice(start, to)];
  if (key.length === 0 || key.some((k) => /^tuple\(\s*\)$/i.test(k))) {
    throw new MigrationError('A table of a cluster needs a sorting key (ORDER BY tuple() gives none to derive a sharding key from)');
  }
  return key;
}

/** The statement from token `from` on, with every `word` token (a setting's name) spelled `instead`. */
function withWord(st: Statement, from: number, word: string, instead: string): string {
  let out = '';
  let copied = st.tokens[from]?.start ?? st.sql.length;
  st.tokens.forEach((t, i) => {
    if (i < from || t.kind !== 'word' || t.text !== word) return;
    out += st.sql.slice(copied, t.start) + instead;
    copied = t.end;
  });
  return out + st.sql.slice(copied);
}

/**
 * The tables that `statements` (as written, for one server) become on a cluster with a
 * replicated `<name>_local` under a Distributed `<name>`, by name.
 */
export function replicatedTableNames(statements: readonly string[], target: ClusterTarget): Set<string> {
  const rewrite = clusterRewriter(target);
  const pattern = new RegExp(`^CREATE TABLE IF NOT EXISTS ${target.database}\\.(\\w+)${LOCAL_SUFFIX}\\s`);
  return new Set(statements.flatMap(rewrite).flatMap((s) => pattern.exec(s)?.[1] ?? []));
}

/**
 * The sharding key: a hash of the sorting key, so rows that replace or aggregate one another
 * share a shard. A key that begins with event_id hashes only event_id: every line and every
 * duplicate of one event on one shard.
 */
export function shardingKey(sortingColumns: readonly string[]): string {
  const columns = sortingColumns[0] === 'event_id' ? ['event_id'] : sortingColumns;
  return `cityHash64(${columns.join(', ')})`;
}

/**
 * Turns one migration statement, written for one server, into the statements that do the
 * same on every node of a cluster. Stateful: it learns which names are tables and which are
 * views as the statements of every file, in order, pass through it. A statement form it does
 * not know is refused with a MigrationError, so no migration goes unclustered unnoticed.
 */
export function clusterRewriter(target: ClusterTarget): (statement: string) => string[] {
  checkTarget(target);
  const defined = new Map<string, Defined>();
  const { cluster, database } = target;
  const on = `ON CLUSTER ${cluster}`;

  const table = (st: Statement, i: number, what: string): string => {
    const name = nameAt(st, i, what);
    if (defined.get(name) !== 'table') throw new MigrationError(`${name} is not a table created by an earlier migration`);
    return name;
  };

  const createTable = (st: Statement): string[] => {
    const { text: ifNot, next } = ifClause(st, 2);
    const name = nameAt(st, next, 'a table name');
    const open = next + 1;
    if (st.tokens[open]?.text !== '(') throw new MigrationError(`CREATE TABLE ${name} must list its columns (CREATE TABLE … AS is not supported on a cluster)`);
    const close = st.closing(open);
    let at = close + 1;
    if (!st.words(at, 'ENGINE')) throw new MigrationError(`CREATE TABLE ${name} must name its ENGINE right after its columns`);
    at += st.tokens[at + 1]?.text === '=' ? 2 : 1;
    const engine = st.tokens[at]?.text ?? '';
    if (/^(Replicated|Shared)/.test(engine)) throw new MigrationError(`CREATE TABLE ${name}: a migration names the plain engine, not ${engine}; the runner makes it Replicated on a cluster`);
    if (!MERGE_TREE.test(engine)) throw new MigrationError(`CREATE TABLE ${name}: ENGINE ${engine} has no Replicated variant; a table of a cluster is a MergeTree of some kind`);
    const args = st.tokens[at + 1]?.text === '(' ? topLevelList(st, at + 2, st.closing(at + 1), 1) : [];
    const after = st.tokens[at + 1]?.text === '(' ? st.closing(at + 1) + 1 : at + 1;
    const key = shardingKey(sortingKey(st, after));
    const comment = st.find(after, (i) => st.words(i, 'COMMENT') && st.tokens[i + 1]?.kind === 'string');
    // A replicated table remembers insert tokens in Keeper, over replicated_deduplication_window.
    const rest = withWord(st, after, 'non_replicated_deduplication_window', 'replicated_deduplication_window');
    const replicated = [`'${keeperPath(name)}'`, "'{replica}'", ...args].join(', ');
    defined.set(name, 'table');
    return [
      `CREATE TABLE ${ifNot}${database}.${localTable(name)} ${on}\n${st.slice(open, close + 1)}\nENGINE = Replicated${engine}(${replicated})\n${rest}`,
      `CREATE TABLE ${ifNot}${database}.${name} ${on}\nAS ${database}.${localTable(name)}\n` +
        `ENGINE = Distributed('${cluster}', '${database}', '${localTable(name)}', ${key})${comment < 0 ? '' : `\nCOMMENT ${st.slice(comment + 1, comment + 2)}`}`,
    ];
  };

  const createMaterializedView = (st: Statement): string[] => {
    const { text: ifNot, next } = ifClause(st, 3);
    const name = nameAt(st, next, 'a view name');
    if (!st.words(next + 1, 'TO')) throw new MigrationError(`Materialized view ${name} must write TO a table of its own: its inner table would not be replicated`);
    if (st.find(0, (i) => st.words(i, 'POPULATE')) >= 0) throw new MigrationError(`Materialized view ${name}: POPULATE is not supported on a cluster; backfill with INSERT … SELECT`);
    const to = table(st, next + 2, 'the table it writes to');
    const body = withTables(
      st,
      next + 3,
      (t) => (defined.get(t) === 'table' ? `${database}.${localTable(t)}` : undefined),
      (t) => `Materialized view ${name} reads ${t}, which is not a table created by an earlier migration (a view of a cluster reads each shard's local table)`,
    );
    defined.set(name, 'view');
    return [`CREATE MATERIALIZED VIEW ${ifNot}${database}.${name} ${on} TO ${database}.${localTable(to)}\n${body}`];
  };

  const createView = (st: Statement, head: string, from: number): string[] => {
    const { text: ifNot, next } = ifClause(st, from);
    const name = nameAt(st, next, 'a view name');
    const as = st.find(next + 1, (i) => st.words(i, 'AS'));
    if (as < 0) throw new MigrationError(`View ${name} has no AS SELECT`);
    const body = withTables(
      st,
      as,
      (t) => (defined.has(t) ? `${database}.${t}` : undefined),
      (t) => `View ${name} reads ${t}, which no earlier migration creates`,
    );
    defined.set(name, 'view');
    const columns = st.slice(next + 1, as);
    return [`${head} ${ifNot}${database}.${name} ${on}${columns === '' ? '' : `\n${columns}`}\n${body}`];
  };

  const alterTable = (st: Statement): string[] => {
    const name = table(st, 2, 'a table');
    const commands = alterCommands(st, 3);
    const schema: string[] = [];
    for (const c of commands) {
      const command = commandName(st, c.from);
      if (SCHEMA_COMMANDS.includes(command)) schema.push(st.slice(c.from, c.to));
      else if (!LOCAL_COMMANDS.includes(command)) throw new MigrationError(`ALTER TABLE ${name} ${st.slice(c.from, c.from + 2)}: not a command known to run on a cluster`);
      if (MUTATIONS.includes(command) && st.tokens.some((_, i) => i >= c.from && i < c.to && st.word(i) === 'SELECT')) {
        throw new MigrationError(`ALTER TABLE ${name} ${command} with a subquery: each replica would evaluate it by itself; name the rows without one`);
      }
    }
    const local = `ALTER TABLE ${database}.${localTable(name)} ${on}\n    ${st.slice(3)}`;
    return schema.length === 0 ? [local] : [local, `ALTER TABLE ${database}.${name} ${on}\n    ${schema.join(',\n    ')}`];
  };

  const inPlace = (st: Statement): string[] => {
    const { name } = inPlaceParts(st);
    if (defined.get(name) !== 'table') throw new MigrationError(`${name} is not a table created by an earlier migration`);
    const statement = inPlaceStatement(st.sql, target);
    if (statement.settings.allow_nondeterministic_mutations !== undefined) {
      throw new MigrationError(`${st.slice(0, 3)} with a subquery: each replica would evaluate it by itself; name the rows without one`);
    }
    return [statement.query];
  };

  /** INSERT … SELECT writes through the Distributed table, which shards the rows: unchanged. */
  const insert = (st: Statement): string[] => {
    table(st, 2, 'a table');
    return [st.sql];
  };

  return (statement: string): string[] => {
    const st = new Statement(statement);
    if (st.hasOnCluster()) throw new MigrationError('A migration never names ON CLUSTER: the runner adds it from CLICKHOUSE_CLUSTER');
    if (st.words(0, 'CREATE', 'TABLE')) return createTable(st);
    if (st.words(0, 'CREATE', 'MATERIALIZED', 'VIEW')) return createMaterializedView(st);
    if (st.words(0, 'CREATE', 'VIEW')) return createView(st, 'CREATE VIEW', 2);
    if (st.words(0, 'CREATE', 'OR', 'REPLACE', 'VIEW')) return createView(st, 'CREATE OR REPLACE VIEW', 4);
    if (st.words(0, 'ALTER', 'TABLE')) return alterTable(st);
    if (st.words(0, 'INSERT', 'INTO')) return insert(st);
    if (['DELETE', 'OPTIMIZE', 'TRUNCATE'].includes(st.word(0))) return inPlace(st);
    throw new MigrationError(`${st.slice(0, 3)} …: a statement form not known to run on a cluster (CREATE TABLE, CREATE [MATERIALIZED] VIEW, ALTER TABLE, INSERT, DELETE, OPTIMIZE, TRUNCATE)`);
  };
}

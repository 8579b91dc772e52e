import { createHash } from 'node:crypto';
import { insertRows, queryRows, type ClickHouseClient } from '../shared/clickhouse.js';
import { KpiError } from '../shared/errors.js';

/**
 * A hash chain over the audit trails (`period_audit`, `imports`), so a row changed or
 * removed after it was written can be told. Each table is its own chain: rows carry
 * `seq` 1, 2, 3, …, `prev_hash` (the hash of row seq − 1, '' for row 1) and `hash`, the
 * SHA-256 hex of prev_hash and the row's own columns. Changing a row breaks its hash;
 * recomputing that hash breaks the next row's prev_hash; removing a row leaves a gap.
 *
 * Not covered: removing the newest rows (nothing follows them), rows written around this
 * module (they read as legacy rows, seq 0), and anyone able to rewrite the whole chain.
 * Anchoring the head elsewhere would cover the first and the last.
 */

export const CHAINED_TABLES = ['period_audit', 'imports'] as const;
export type ChainedTable = (typeof CHAINED_TABLES)[number];

/** A `period_audit` row as written (DateTime64 as `2026-07-01 00:00:00.000`, UTC). */
export interface PeriodAuditRow {
  at: string;
  grain: string;
  period: string;
  revision: number;
  action: string;
  actor: string;
  comment: string;
  details: string;
}

/** An `imports` row as written. */
export interface ImportRecordRow {
  import_id: string;
  kind: string;
  imported_by: string;
  imported_at: string;
  source: string;
  sha256: string;
  rows: number;
}

interface RowOf {
  period_audit: PeriodAuditRow;
  imports: ImportRecordRow;
}

export type ChainedRow<R> = R & { seq: number; prev_hash: string; hash: string };

type ColumnType = 'String' | 'UInt32' | 'DateTime64(3)';
type Value = string | number;

/**
 * Every column of each table besides the chain's own, in the order they are hashed. A
 * column added to a table later must be added here too, or it is written unhashed.
 */
const COLUMNS: { [T in ChainedTable]: readonly (readonly [keyof RowOf[T] & string, ColumnType])[] } = {
  period_audit: [
    ['at', 'DateTime64(3)'],
    ['grain', 'String'],
    ['period', 'String'],
    ['revision', 'UInt32'],
    ['action', 'String'],
    ['actor', 'String'],
    ['comment', 'String'],
    ['details', 'String'],
  ],
  imports: [
    ['import_id', 'String'],
    ['kind', 'String'],
    ['imported_by', 'String'],
    ['imported_at', 'DateTime64(3)'],
    ['source', 'String'],
    ['sha256', 'String'],
    ['rows', 'UInt32'],
  ],
};

/** `period_audit` is a ReplacingMergeTree: read what its readers see, one row per key. */
const FINAL: Record<ChainedTable, string> = { period_audit: ' FINAL', imports: '' };

/** period_audit's sorting key: two rows with one key collapse into one on merge. */
const AUDIT_KEY = ['grain', 'period', 'revision', 'action', 'at'] as const;

const DATETIME64 = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,3}))?Z?$/;

/**
 * The value exactly as ClickHouse will give it back, so the hash written is the hash read:
 * DateTime64(3) as `YYYY-MM-DD hh:mm:ss.mmm` (UTC), UInt32 as a whole number in range,
 * String as well-formed UTF-8 (a lone surrogate is stored as U+FFFD). Anything the table
 * would store differently from what was given is refused.
 */
function canonicalValue(table: ChainedTable, column: string, type: ColumnType, v: unknown): Value {
  const refuse = (what: string): never => {
    throw new KpiError(`${table}.${column}: expected ${what}, got ${JSON.stringify(v) ?? String(v)}`);
  };
  switch (type) {
    case 'String':
      return typeof v === 'string' ? Buffer.from(v, 'utf8').toString('utf8') : refuse('a string');
    case 'UInt32':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 4_294_967_295 ? v : refuse('a whole number from 0 to 4294967295');
    case 'DateTime64(3)': {
      const m = typeof v === 'string' ? DATETIME64.exec(v) : null;
      if (!m) return refuse('an instant like 2026-07-01 00:00:00.000 (UTC)');
      const ms = Date.parse(`${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0')}Z`);
      const text = Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').replace('Z', '') : '';
      // Date.parse rolls 2026-02-30 over to March; DateTime64 holds 1900 … 2299.
      const year = Number(text.slice(0, 4));
      return text.startsWith(`${m[1]} ${m[2]}`) && year >= 1900 && year <= 2299 ? text : refuse('an instant between 1900 and 2299');
    }
  }
}

function canonicalRow<T extends ChainedTable>(table: T, row: RowOf[T]): RowOf[T] {
  const given = row as unknown as Record<string, unknown>;
  const columns = COLUMNS[table] as readonly (readonly [string, ColumnType])[];
  const extra = Object.keys(given).filter((k) => !columns.some(([name]) => name === k));
  if (extra.length > 0) throw new KpiError(`${table} has no chained column ${extra.join(', ')}; seq, prev_hash and hash are set by the chain`);
  const out: Record<string, Value> = {};
  for (const [name, type] of columns) out[name] = canonicalValue(table, name, type, given[name]);
  return out as unknown as RowOf[T];
}

/** SHA-256 hex of prev_hash, a newline, and JSON of seq then the columns in their fixed order. */
function rowHash(table: ChainedTable, prevHash: string, seq: number, row: Record<string, unknown>): string {
  const content: Record<string, unknown> = { seq };
  for (const [name] of COLUMNS[table]) content[name] = row[name];
  return createHash('sha256').update(`${prevHash}\n${JSON.stringify(content)}`).digest('hex');
}

/**
 * One append at a time per client and table, within this process: each append reads the
 * chain's last row, and two reading it at once would both take the same seq (a fork).
 * Writers in other processes are out of its reach; run one writer per store, or verify
 * and expect a fork to be named.
 */
const queues = new WeakMap<ClickHouseClient, Map<ChainedTable, Promise<unknown>>>();

function oneAtATime<T>(client: ClickHouseClient, table: ChainedTable, work: () => Promise<T>): Promise<T> {
  let tables = queues.get(client);
  if (!tables) queues.set(client, (tables = new Map<ChainedTable, Promise<unknown>>()));
  const run = (tables.get(table) ?? Promise.resolve()).then(work);
  // The queue waits for the outcome but does not carry a failure into the next append.
  tables.set(table, run.catch(() => undefined));
  return run;
}

/** The chain's last link: its seq and hash, or seq 0 and '' before the first chained row. */
async function lastLink(client: ClickHouseClient, table: ChainedTable): Promise<{ seq: number; hash: string }> {
  // UInt64 comes as a JSON string or number, by server setting; Number() reads both.
  const [last] = await queryRows<{ seq: string | number; hash: string }>(
    client,
    `SELECT seq, hash FROM ${table}${FINAL[table]} WHERE seq > 0 ORDER BY seq DESC LIMIT 1`,
  );
  return last ? { seq: Number(last.seq), hash: last.hash } : { seq: 0, hash: '' };
}

const auditKey = (r: PeriodAuditRow): string => JSON.stringify(AUDIT_KEY.map((k) => r[k]));
const auditContent = (r: PeriodAuditRow): string => JSON.stringify(COLUMNS.period_audit.map(([k]) => r[k]));

/**
 * period_audit rows not stored yet. A retried activity writes the very same row again;
 * appended, it would take a new seq, and the table would collapse the two into one on
 * merge, leaving a gap. A different row under a stored key would silently replace it.
 */
async function unstoredAuditRows(client: ClickHouseClient, rows: readonly PeriodAuditRow[]): Promise<PeriodAuditRow[]> {
  const stored = await queryRows<PeriodAuditRow>(
    client,
    'SELECT toString(at) AS at, grain, period, revision, action, actor, comment, details FROM period_audit FINAL ' +
      'WHERE grain IN {grains: Array(String)} AND period IN {periods: Array(String)}',
    { grains: rows.map((r) => r.grain), periods: rows.map((r) => r.period) },
  );
  const byKey = new Map(stored.map((r) => [auditKey({ ...r, revision: Number(r.revision) }), auditContent({ ...r, revision: Number(r.revision) })]));
  const fresh: PeriodAuditRow[] = [];
  for (const row of rows) {
    const key = auditKey(row);
    const existing = byKey.get(key);
    if (existing === undefined) {
      byKey.set(key, auditContent(row));
      fresh.push(row);
    } else if (existing !== auditContent(row)) {
      throw new KpiError(
        `period_audit already holds a different ${row.action} of ${row.grain} ${row.period} revision ${row.revision} at ${row.at}; ` +
          'the table keeps one row per (grain, period, revision, action, at), so writing this one would replace it',
      );
    }
  }
  return fresh;
}

/**
 * Appends rows to a chained table in one insert, each with the next seq, the previous
 * row's hash and its own. Values are written as the table stores them (see canonicalValue),
 * and a period_audit row already stored is not written twice. Returns the rows written.
 */
export async function appendChained<T extends ChainedTable>(client: ClickHouseClient, table: T, rows: readonly RowOf[T][]): Promise<ChainedRow<RowOf[T]>[]> {
  const canonical = rows.map((r) => canonicalRow(table, r));
  if (canonical.length === 0) return [];
  return oneAtATime(client, table, async () => {
    const fresh = table === 'period_audit' ? ((await unstoredAuditRows(client, canonical as PeriodAuditRow[])) as RowOf[T][]) : canonical;
    if (fresh.length === 0) return [];
    let { seq, hash } = await lastLink(client, table);
    const chained = fresh.map((row) => {
      seq += 1;
      const own = rowHash(table, hash, seq, row as unknown as Record<string, unknown>);
      const out = { ...row, seq, prev_hash: hash, hash: own };
      hash = own;
      return out;
    });
    await insertRows(client, table, chained as unknown as Record<string, unknown>[]);
    return chained;
  });
}

export type ChainReport =
  | { table: ChainedTable; rows: number; legacyRows: number; ok: true }
  | { table: ChainedTable; rows: number; legacyRows: number; ok: false; seq: number; problem: string };

/** Rows read per query while verifying; a page never splits rows of one seq. */
const PAGE_ROWS = 10_000;

type StoredRow = Record<string, unknown> & { seq: string | number; prev_hash: string; hash: string };

function describeRow(table: ChainedTable, r: Record<string, unknown>): string {
  const s = (k: string): string => String(r[k]);
  return table === 'period_audit'
    ? `${s('action')} of ${s('grain')} ${s('period')} revision ${s('revision')} by ${s('actor')} at ${s('at')}`
    : `${s('kind')} import ${s('import_id')} by ${s('imported_by')} at ${s('imported_at')}`;
}

/**
 * Walks a table's chain in seq order and names the first broken link: a missing row, a
 * seq taken twice, a row whose content no longer matches its hash, or a row whose
 * prev_hash is not its predecessor's hash. Legacy rows (seq 0) are counted, not verified.
 */
export async function verifyChain(client: ClickHouseClient, table: ChainedTable): Promise<ChainReport> {
  const final = FINAL[table];
  const [counts] = await queryRows<{ chained: string; legacy: string }>(
    client,
    `SELECT toString(countIf(seq > 0)) AS chained, toString(countIf(seq = 0)) AS legacy FROM ${table}${final}`,
  );
  const rows = Number(counts?.chained ?? 0);
  const legacyRows = Number(counts?.legacy ?? 0);
  const broken = (seq: number, problem: string): ChainReport => ({ table, rows, legacyRows, ok: false, seq, problem });
  const columns = COLUMNS[table].map(([name, type]) => (type === 'DateTime64(3)' ? `toString(${name}) AS ${name}` : name)).join(', ');

  let previous: { seq: number; hash: string } | undefined;
  for (;;) {
    const page = await queryRows<StoredRow>(
      client,
      `SELECT seq, prev_hash, hash, ${columns} FROM ${table}${final} WHERE seq > {after: UInt64} ORDER BY seq LIMIT ${PAGE_ROWS} WITH TIES`,
      { after: previous?.seq ?? 0 },
    );
    for (const stored of page) {
      const seq = Number(stored.seq);
      const expected = (previous?.seq ?? 0) + 1;
      if (seq < expected) return broken(seq, `row ${seq} appears twice (${describeRow(table, stored)}): two writers appended at once`);
      if (seq > expected) return broken(expected, seq - expected === 1 ? `row ${expected} is missing` : `rows ${expected} to ${seq - 1} are missing`);
      const content: Record<string, unknown> = {};
      for (const [name, type] of COLUMNS[table]) content[name] = type === 'UInt32' ? Number(stored[name]) : stored[name];
      if (rowHash(table, stored.prev_hash, seq, content) !== stored.hash) {
        return broken(seq, `row ${seq} (${describeRow(table, content)}) was changed after it was written`);
      }
      const before = previous?.hash ?? '';
      if (stored.prev_hash !== before) {
        return broken(
          seq,
          previous
            ? `row ${seq} (${describeRow(table, content)}) does not follow row ${previous.seq}: its prev_hash is not row ${previous.seq}'s hash`
            : `row 1 (${describeRow(table, content)}) does not start the chain: its prev_hash is not empty`,
        );
      }
      previous = { seq, hash: stored.hash };
    }
    if (page.length < PAGE_ROWS) break;
  }
  return { table, rows, legacyRows, ok: true };
}

/** Verifies every chained table. */
export async function verifyAudit(client: ClickHouseClient): Promise<ChainReport[]> {
  const reports: ChainReport[] = [];
  for (const table of CHAINED_TABLES) reports.push(await verifyChain(client, table));
  return reports;
}

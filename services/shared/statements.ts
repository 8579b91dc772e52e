import type { ClickHouseClient } from './clickhouse.js';
import { queryRows } from './clickhouse.js';
import { UsageError, describeError } from './errors.js';

/** Statement kinds that only read. */
const READ_KINDS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'EXPLAIN', 'EXISTS']);

/**
 * Statements that would change the state of a shared session (current database, settings)
 * for everyone else using the same embedded store.
 */
const SESSION_KINDS = new Set(['USE', 'SET']);

/**
 * Classifies one SQL statement with ClickHouse's own parser (`formatQuerySingleLine`, the
 * text passed as a bound parameter), and refuses what the caller may not run: more than one
 * statement, statements that change the shared session, and anything but reads when
 * `readOnly`. Returns the statement's kind, e.g. SELECT or INSERT.
 */
export async function checkStatement(client: ClickHouseClient, sql: string, options: { readOnly: boolean }): Promise<string> {
  let formatted: string;
  try {
    const [row] = await queryRows<{ f: string }>(client, 'SELECT formatQuerySingleLine({q: String}) AS f', { q: sql });
    formatted = row?.f ?? '';
  } catch (err) {
    // Keep the parser's own sentence; drop the echo of our wrapping query.
    const reason = describeError(err).split(/\.?\s*:?\s*In scope /)[0] ?? 'syntax error';
    throw new UsageError(`The statement does not parse: ${reason}`);
  }
  const kind = (/^[A-Z]+/.exec(formatted)?.[0] ?? '').toUpperCase();
  if (SESSION_KINDS.has(kind)) {
    throw new UsageError(`${kind} statements are refused: they would change the shared session; use a SETTINGS clause or qualified table names instead`);
  }
  if (options.readOnly && !READ_KINDS.has(kind)) {
    throw new UsageError(`Read-only access: ${kind || 'this'} statements are refused (only ${[...READ_KINDS].join(', ')})`);
  }
  return kind;
}

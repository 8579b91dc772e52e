import type { Grain } from '../../schemas/calendar/index.js';
import type { PeriodAuditRow } from './audit-chain.js';
import type { Level } from '../../schemas/kpis/compile.js';
import { queryRows, type ClickHouseClient } from '../shared/clickhouse.js';
import type { ImportKind } from './imports.js';

/**
 * Reading a period's paper trail back: its transitions in `period_audit`, and the targets and
 * manual inputs a revision read, with the import each came from. Both are what a reviewer
 * checks a number against; both are stable for a revision once it is written.
 */

/** One transition of a period: a close, a restatement, an approval, a reopen. Instants in UTC, `YYYY-MM-DD hh:mm:ss.mmm`. */
export interface PeriodAuditEntry extends Omit<PeriodAuditRow, 'grain'> {
  grain: Grain;
  /** Place in the audit hash chain; 0 for rows written before the chain. */
  seq: number;
}

/** The audit trail of a period, oldest first. */
export async function readPeriodAudit(client: ClickHouseClient, query: { grain: Grain; period: string }): Promise<PeriodAuditEntry[]> {
  return queryRows<PeriodAuditEntry>(
    client,
    'SELECT toString(at) AS at, grain, period, revision, action, actor, comment, details, toUInt32(seq) AS seq FROM period_audit FINAL ' +
      'WHERE grain = {grain: String} AND period = {period: String} ORDER BY at, seq',
    query,
  );
}

/** An import's record (table `imports`): who imported what, when, from where. */
export interface ImportRecord {
  importId: string;
  kind: ImportKind;
  importedBy: string;
  /** UTC, `YYYY-MM-DD hh:mm:ss.mmm`. */
  importedAt: string;
  /** Where the import came from, as its importer named it (a file name, "api (json)"). */
  source: string;
  sha256: string;
  /** Rows of the whole import, of any period. */
  rows: number;
}

/** A target or manual input row of a period, and the import it came from. */
export interface InputRow {
  kind: ImportKind;
  kpi: string;
  level: Level;
  unit: string;
  value: number;
  numerator: number | null;
  denominator: number | null;
  importId: string;
}

export interface PeriodImports {
  /** When the revision began reading the warehouse (UTC), or null: no revision asked, or none written. */
  readAt: string | null;
  /** Of each KPI and unit, the row the revision read (without one: the row in force now). */
  used: InputRow[];
  /** The records of the imports `used` came from, oldest first. */
  imports: ImportRecord[];
  /** Imports for the period recorded after the revision began reading: they count from the next restatement. */
  later: ImportRecord[];
}

const RECORD_COLUMNS = 'import_id AS importId, kind, imported_by AS importedBy, toString(imported_at) AS importedAt, source, sha256, rows';

/** The import ids that hold rows of the period, targets and inputs alike. */
const PERIOD_IMPORT_IDS =
  '(SELECT import_id FROM kpi_targets WHERE grain = {grain: String} AND period = {period: String} ' +
  'UNION ALL SELECT import_id FROM kpi_inputs WHERE grain = {grain: String} AND period = {period: String})';

/**
 * The targets and inputs of a period as `revision` read them: of each KPI and unit, the
 * latest import (by import time, then id, as the KPI compiler picks it) recorded before the
 * revision began reading, with the imports' records; and the imports recorded since, which
 * count only from the next restatement. Rows whose import has no record were never in
 * force and are not shown. For a revision once written the answer no longer changes but
 * for `later`.
 */
export async function readPeriodImports(client: ClickHouseClient, query: { grain: Grain; period: string; revision?: number }): Promise<PeriodImports> {
  const params = { grain: query.grain, period: query.period };
  const [revision] =
    query.revision === undefined
      ? []
      : await queryRows<{ read_at: string }>(
          client,
          'SELECT toString(read_at) AS read_at FROM period_revisions FINAL WHERE grain = {grain: String} AND period = {period: String} AND revision = {revision: UInt32}',
          { ...params, revision: query.revision },
        );
  const readAt = revision?.read_at ?? null;
  // An empty read time cuts nothing: the rows in force now.
  const cut = { ...params, read_at: readAt ?? '' };
  const beforeRead = "({read_at: String} = '' OR imported_at <= parseDateTime64BestEffortOrNull({read_at: String}, 3, 'UTC'))";
  const used = await queryRows<InputRow>(
    client,
    'SELECT kind, kpi, level, unit, value, numerator, denominator, import_id AS importId FROM (' +
      "SELECT 'targets' AS kind, kpi, level, unit, value, CAST(NULL, 'Nullable(Float64)') AS numerator, CAST(NULL, 'Nullable(Float64)') AS denominator, import_id, imported_at " +
      'FROM kpi_targets WHERE grain = {grain: String} AND period = {period: String} ' +
      "UNION ALL SELECT 'inputs' AS kind, kpi, level, unit, value, numerator, denominator, import_id, imported_at " +
      'FROM kpi_inputs WHERE grain = {grain: String} AND period = {period: String}' +
      `) WHERE import_id IN (SELECT import_id FROM imports) AND ${beforeRead} ` +
      'ORDER BY kind, kpi, level, unit, imported_at DESC, import_id DESC LIMIT 1 BY kind, kpi, level, unit',
    cut,
  );
  const imports = await queryRows<ImportRecord>(
    client,
    `SELECT ${RECORD_COLUMNS} FROM imports WHERE import_id IN {ids: Array(String)} ORDER BY imported_at, import_id`,
    { ids: [...new Set(used.map((r) => r.importId))] },
  );
  const later =
    readAt === null
      ? []
      : await queryRows<ImportRecord>(
          client,
          `SELECT ${RECORD_COLUMNS} FROM imports WHERE import_id IN ${PERIOD_IMPORT_IDS} AND imported_at > parseDateTime64BestEffort({read_at: String}, 3, 'UTC') ORDER BY imported_at, import_id`,
          cut,
        );
  return { readAt, used, imports, later };
}
